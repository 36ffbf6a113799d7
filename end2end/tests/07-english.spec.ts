import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { AdminDashboard, AdminTimeline } from './pages/admin';
import { CARDS, CheckoutPage, paidEcheance } from './pages/checkout';
import { LandingPage, login } from './pages/landing';
import { EN, ENGLISH_WORDS, FR, FRENCH_WORDS, Texts } from './pages/texts';
import { Account, Customer, peerConfig, peerPaymentIntents, seedAdmin, seedCustomer, wordsShown } from './support';

/** Switches the browser to English with the header's link, then logs `who` in through the English form. */
async function loginInEnglish(page: Page, who: Account): Promise<void> {
  const landing = new LandingPage(page);
  await landing.goto();
  await landing.switchLanguage(EN);
  await new LandingPage(page, EN).login(who);
}

/**
 * Runs a reconcile from the dashboard, then opens every admin page and `customer`'s timelines:
 * each answers 200, is a page of the logged-in face (its `logOut` button), and shows none of `words`.
 */
async function walkAdminPages(
  page: Page,
  tx: Texts,
  admin: Customer,
  customer: Customer,
  logOut: string,
  words: readonly string[],
): Promise<void> {
  const dashboard = new AdminDashboard(page, tx);
  await dashboard.goto();
  await dashboard.reconcile(admin);
  expect(await wordsShown(page, words)).toEqual([]);
  const pages = ['/admin/plans', '/admin/plans/new', '/admin/integration', '/admin/admins', '/admin/security'];
  for (const e of customer.echeances) pages.push(`/admin/echeances/${e.id}`);
  for (const path of pages) {
    expect((await page.goto(path))?.status(), path).toBe(200);
    await expect(page.getByRole('button', { name: logOut }).or(page.getByRole('link', { name: logOut }))).toBeVisible();
    expect(await wordsShown(page, words), path).toEqual([]);
  }
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
    await walkAdminPages(page, EN, admin, customer, 'Log out', FRENCH_WORDS);
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

  test('an admin reads a dispute moving at the bank in English, on the page already open', async ({ browser, page }) => {
    const id = await paidEcheance(browser, 'english-disputed');
    await loginInEnglish(page, seedAdmin('english-dispute-admin'));
    const timeline = new AdminTimeline(page, EN);
    await timeline.gotoPaid(id);
    // The page hears of changes once its WASM runs (the live feed is the browser's).
    await expect(page.getByRole('heading', { level: 1 })).toHaveAttribute('data-hydrated', 'true');
    const [paid] = (await peerPaymentIntents(id)).filter((pi) => pi.status === 'succeeded');

    // The cardholder's bank opens a chargeback; later the merchant's evidence reaches it.
    const dispute = await peerConfig(`/_config/payment_intents/${paid.id}/dispute`);
    const disputes = timeline.entries('dispute');
    await expect(disputes.filter({ hasText: 'reported by the bank: response needed' })).toHaveCount(1);
    await expect(timeline.audit('payee', 'contestee')).toContainText('Paid → Disputed');
    await peerConfig(`/_config/disputes/${dispute.id}/review`);
    await expect(disputes.filter({ hasText: 'response needed → under review' })).toHaveCount(1);
    await expect(page.getByRole('row').filter({ hasText: dispute.id })).toContainText('Under review');
    await expect(disputes.first()).toContainText(dispute.id);
    await expect(timeline.badge).toHaveAttribute('data-status', 'contestee');
    expect(await wordsShown(page, FRENCH_WORDS)).toEqual([]);
  });
});

test.describe('in French', () => {
  test('no admin page shows English interface text, the reconcile report included', async ({ page }) => {
    // The reverse of the English walk: the report's problems (the test peer lists neither undelivered
    // events nor refunds by date) are worded in French around Stripe's own words.
    const customer = seedCustomer('french-pages', [{ cents: 10_000 }, { cents: 2_000, status: 'payee' }], {
      name: 'Jeanne Dupont',
    });
    const admin = seedAdmin('french-pages-admin');
    await login(page, admin, FR);
    await walkAdminPages(page, FR, admin, customer, 'Se déconnecter', ENGLISH_WORDS);
  });
});
