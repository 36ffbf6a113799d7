import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { AdminTimeline } from './pages/admin';
import { CARDS, CheckoutPage, paidEcheance } from './pages/checkout';
import { LandingPage } from './pages/landing';
import { EN, FRENCH_WORDS } from './pages/texts';
import { Account, seedAdmin, seedCustomer, wordsShown } from './support';

/** Switches the browser to English with the header's link, then logs `who` in through the English form. */
async function loginInEnglish(page: Page, who: Account): Promise<void> {
  const landing = new LandingPage(page);
  await landing.goto();
  await landing.switchLanguage(EN);
  await new LandingPage(page, EN).login(who);
}

test.describe('in English', () => {
  test('a declined payment is told in English, with no French on the page', async ({ page }) => {
    // Names and labels are data; the customer's name is kept free of French words.
    const customer = seedCustomer('english-declined', [{ cents: 30_000 }], { locale: 'en', name: 'Jane Doe' });
    const [echeance] = customer.echeances;
    await loginInEnglish(page, customer);
    const checkout = new CheckoutPage(page, EN);
    await checkout.saveCard(CARDS.declined);

    await checkout.payButton(echeance.label).click();

    await expect(checkout.alert).toContainText('Your bank declined the payment');
    await expect(checkout.row(echeance.label)).not.toHaveAttribute('data-status', 'a_payer');
    expect(await wordsShown(page, FRENCH_WORDS)).toEqual([]);
  });

  test('an admin reads a timeline in English', async ({ browser, page }) => {
    const id = await paidEcheance(browser, 'english-paid');
    await loginInEnglish(page, seedAdmin('english-admin'));
    const timeline = new AdminTimeline(page, EN);
    await timeline.gotoPaid(id);

    await expect(timeline.heading).toHaveText('Timeline');
    await expect(timeline.entries('tentative').filter({ hasText: 'Attempt 1' })).toHaveCount(1);
    await expect(timeline.audit('en_cours', 'payee')).toContainText('Processing → Paid');
    expect(await wordsShown(page, FRENCH_WORDS)).toEqual([]);
  });
});
