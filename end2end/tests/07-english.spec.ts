import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { AdminDashboard, AdminTimeline } from './pages/admin';
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

  test('every admin page reads in English, the reconcile report included', async ({ page }) => {
    // Its own data, names free of French words: échéances in three statuses.
    const customer = seedCustomer(
      'english-pages',
      [{ cents: 10_000 }, { cents: 2_000, status: 'payee' }, { cents: 2_000, status: 'annulee' }],
      { locale: 'en', name: 'Jane Doe' },
    );
    const admin = seedAdmin('english-pages-admin');
    await loginInEnglish(page, admin);
    const dashboard = new AdminDashboard(page, EN);
    await dashboard.goto();
    await dashboard.reconcile(admin);
    expect(await wordsShown(page, FRENCH_WORDS)).toEqual([]);

    const pages = ['/admin/plans', '/admin/plans/new', '/admin/integration', '/admin/admins', '/admin/security'];
    for (const e of customer.echeances) pages.push(`/admin/echeances/${e.id}`);
    for (const path of pages) {
      expect((await page.goto(path))?.status(), path).toBe(200);
      await expect(page.getByRole('link', { name: 'Log out' }).or(page.getByRole('button', { name: 'Log out' }))).toBeVisible();
      expect(await wordsShown(page, FRENCH_WORDS), path).toEqual([]);
    }
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
    // Statuses are worded, in the webhooks' entries too, never shown as their stored codes.
    expect(await page.locator('body').innerText()).not.toMatch(/(?<![\w-])(a_payer|en_cours|en_attente|payee)(?![\w-])/);
  });
});
