import { expect, test } from '../fixtures';
import { CARDS, CheckoutPage, customerWithCard } from '../pages/checkout';
import { peerPaymentIntents, withJavaScript } from '../support';

// The no-js project runs this file with JavaScript off; the card is saved beforehand with
// JavaScript on (Stripe Elements needs it).
test.describe('checkout without JavaScript', () => {
  test('renders the échéances and the saved card, and « Payer » still pays', async ({ browser, page }) => {
    const echeances = [{ cents: 30_000, due: -30, status: 'payee' as const }, { cents: 30_000 }];
    const { customer } = await withJavaScript(browser, (js) => customerWithCard(js, 'nojs-checkout', CARDS.succeeds, echeances), page);
    const [paid, due] = customer.echeances;

    const checkout = new CheckoutPage(page);
    await checkout.goto(false);
    await expect(checkout.heading).toHaveAttribute('data-hydrated', 'false');
    await expect(checkout.savedCard('4242')).toBeVisible();
    await expect(checkout.row(paid.label)).toHaveAttribute('data-status', 'payee');
    await expect(checkout.payButton(due.label)).toBeVisible();

    await checkout.pay(due.label, 'payee');
    expect(await peerPaymentIntents(due.id)).toHaveLength(1);
  });
});
