import { expect, test } from './fixtures';
import { AdminTimeline } from './pages/admin';
import { CARDS, CheckoutPage, paidEcheance } from './pages/checkout';
import { login } from './pages/landing';
import { mailbox, seedAdmin, seedCustomer, withJavaScript } from './support';

test.describe('money back and second chances', () => {
  test('a declined payment emails why and a link with which the customer pays it with another card', async ({ browser, page }) => {
    const customer = seedCustomer('declined-link', [{ cents: 12_300 }]);
    const [echeance] = customer.echeances;
    await login(page, customer);
    const checkout = new CheckoutPage(page);
    await checkout.saveCard(CARDS.declined);
    await checkout.payButton(echeance.label).click();
    await expect(checkout.row(echeance.label)).toHaveAttribute('data-status', /echouee/);

    const failed = async () => (await mailbox(customer.email)).filter((m) => m.subject.includes("n'a pas abouti"));
    await expect.poll(async () => (await failed()).length, { timeout: 20_000 }).toBe(1);
    const [email] = await failed();
    expect(email.subject).toContain('123,00');
    expect(email.text).toContain('n’a pas abouti : votre banque');
    const link = /https?:\/\/\S+\/login\/link\?token=\S+/.exec(email.text)?.[0] ?? '';
    expect(link).not.toBe('');

    // Another browser, nobody logged in: the link is the way in; then another card pays it.
    const context = await browser.newContext();
    const other = await context.newPage();
    await other.goto(link);
    await expect(other.locator('[data-hydrated="true"]')).toBeVisible();
    await other.getByRole('button', { name: 'Me connecter' }).click();
    const portal = new CheckoutPage(other);
    await expect(portal.heading).toBeVisible();
    await portal.saveCard(CARDS.succeeds);
    await portal.pay(echeance.label, 'payee');

    // Its receipt, listed under « Mes reçus », prints on its own.
    await other.getByRole('region', { name: 'Mes reçus' }).getByRole('link').click();
    await expect(other.getByRole('heading', { name: `Reçu n° ${echeance.id}` })).toBeVisible();
    await expect(other.getByTestId('receipt-amount')).toHaveText('123,00\u00a0€');
    await expect(other.getByTestId('receipt')).toContainText('Visa •••• 4242');
    await context.close();

    // The link worked once.
    const again = await browser.newContext();
    const used = await again.newPage();
    await used.goto(link);
    await expect(used.locator('[data-hydrated="true"]')).toBeVisible();
    await used.getByRole('button', { name: 'Me connecter' }).click();
    await expect(used.getByRole('alert')).toBeVisible();
    await again.close();
  });

  test('an admin refunds part of a payment, then the rest, and watches the échéance move when Stripe confirms', async ({ browser, page }) => {
    const id = await paidEcheance(browser, 'refunded');
    await login(page, seedAdmin('refunder'));
    const timeline = new AdminTimeline(page);
    await timeline.gotoPaid(id);
    const refunds = page.getByRole('region', { name: 'Remboursements' });
    await expect(refunds.getByTestId('refund-totals')).toContainText('Remboursé : 0,00');

    const amount = refunds.getByLabel('Montant à rembourser');
    const confirm = refunds.getByRole('checkbox');
    const refund = refunds.getByRole('button', { name: 'Rembourser', exact: true });
    await expect(amount).toHaveValue('300,00');
    await amount.fill('100');
    await confirm.check();
    await refund.click();
    await expect(refunds.getByRole('row').filter({ hasText: '100,00' })).toHaveAttribute('data-status', 'succeeded');
    await expect(refunds.getByTestId('refund-totals')).toContainText('Conservé : 200,00');
    await expect(timeline.badge).toHaveAttribute('data-status', 'payee');

    // More than what is left is refused with the most that can go back.
    await amount.fill('250');
    await confirm.check();
    await refund.click();
    await expect(page.getByRole('alert')).toContainText('200,00');

    await amount.fill('200');
    await confirm.check();
    await refund.click();
    await expect(timeline.badge).toHaveAttribute('data-status', 'remboursee', { timeout: 20_000 });
    await expect(refunds.getByTestId('refund-totals')).toContainText('Remboursé : 300,00');
    await expect(refund).toHaveCount(0);
  });

  test('a refund another admin makes meanwhile appears live, and what the first admin was typing stays', async ({ browser, page }) => {
    const id = await paidEcheance(browser, 'refunded-meanwhile');
    await login(page, seedAdmin('first-refunder'));
    const timeline = new AdminTimeline(page);
    await timeline.gotoPaid(id);
    const refunds = page.getByRole('region', { name: 'Remboursements' });
    const amount = refunds.getByLabel('Montant à rembourser');
    const confirm = refunds.getByRole('checkbox');
    await amount.fill('20');
    await confirm.check();

    // Another admin, on another screen, refunds 50 € of it.
    await withJavaScript(browser, async (other) => {
      await login(other, seedAdmin('second-refunder'));
      await new AdminTimeline(other).gotoPaid(id);
      const theirs = other.getByRole('region', { name: 'Remboursements' });
      await theirs.getByLabel('Montant à rembourser').fill('50');
      await theirs.getByRole('checkbox').check();
      await theirs.getByRole('button', { name: 'Rembourser', exact: true }).click();
      await expect(theirs.getByRole('row').filter({ hasText: '50,00' })).toHaveAttribute('data-status', 'succeeded');
    });

    // The first screen hears of it without a reload of the page, and keeps what was typed.
    await expect(refunds.getByRole('row').filter({ hasText: '50,00' })).toHaveAttribute('data-status', 'succeeded');
    await expect(refunds.getByTestId('refund-totals')).toContainText('Remboursé : 50,00');
    await expect(amount).toHaveValue('20');
    await expect(confirm).toBeChecked();
    await refunds.getByRole('button', { name: 'Rembourser', exact: true }).click();
    await expect(refunds.getByRole('row').filter({ hasText: '20,00' })).toHaveAttribute('data-status', 'succeeded');
    await expect(refunds.getByTestId('refund-totals')).toContainText('Remboursé : 70,00');

    // The history says it in words: each refund asked, then done, and by whom.
    const second = timeline.entries('refund').filter({ hasText: 'Remboursement n°2 de 20,00' });
    await expect(second.filter({ hasText: 'demandé à Stripe → effectué' })).toHaveCount(1);
    await expect(second).toHaveCount(2);
    await expect(second.filter({ hasText: 'par Test first-refunder' }).first()).toBeVisible();
    await expect(timeline.entries('refund').filter({ hasText: 'Remboursement n°1 de 50,00' })).toHaveCount(2);
  });
});
