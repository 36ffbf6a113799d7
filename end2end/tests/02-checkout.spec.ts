import { expect, test } from './fixtures';
import { CARDS, CheckoutPage, customerWithCard } from './pages/checkout';
import { login } from './pages/landing';
import { callServerFn, peerPaymentIntents, screenshot, seedCustomer } from './support';

test.describe('customer checkout', () => {
  test('saves a card with Stripe Elements, pays a 4242 échéance and sees it turn payée without reloading', async ({ page }) => {
    const customer = seedCustomer('checkout', [{ cents: 30_000 }, { cents: 30_000, due: 30 }]);
    const [echeance] = customer.echeances;
    await login(page, customer);
    const checkout = new CheckoutPage(page);
    await checkout.saveCard(CARDS.succeeds);
    await expect(checkout.row(echeance.label)).toHaveAttribute('data-status', 'a_payer');
    await page.evaluate(() => ((window as any).__sameDocument = true));

    await checkout.payButton(echeance.label).click();

    await expect(checkout.row(echeance.label)).toHaveAttribute('data-status', 'payee');
    await expect(checkout.row(echeance.label).getByText('Payée')).toBeVisible();
    await expect(checkout.status).toHaveText('Paiement reçu, merci !');
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    expect(await peerPaymentIntents(echeance.id)).toHaveLength(1);
    await screenshot(page, 'checkout');
  });

  test('a double click on « Payer » makes one PaymentIntent', async ({ page }) => {
    const { customer, checkout } = await customerWithCard(page, 'double-click', CARDS.succeeds);
    const [echeance] = customer.echeances;
    await checkout.payButton(echeance.label).dblclick();
    await expect(checkout.row(echeance.label)).toHaveAttribute('data-status', 'payee');
    expect(await peerPaymentIntents(echeance.id)).toHaveLength(1);
  });

  test('repeated fast clicks and a replayed form post still make one PaymentIntent', async ({ page }) => {
    const { customer, checkout } = await customerWithCard(page, 'fast-clicks', CARDS.succeeds);
    const [echeance] = customer.echeances;
    // Three clicks in a row on the same button, as fast as the browser dispatches them.
    await checkout.payButton(echeance.label).click({ clickCount: 3, delay: 0 });
    await expect(checkout.row(echeance.label)).toHaveAttribute('data-status', 'payee');
    // The browser retries the same request (a resubmitted form): refused, nothing charged.
    const replay = await callServerFn(page, '/api/pay', { echeance_id: echeance.id });
    expect(replay.status()).toBe(409);
    expect(await peerPaymentIntents(echeance.id)).toHaveLength(1);
  });
});
