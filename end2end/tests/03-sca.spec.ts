import { spawnSync } from 'node:child_process';
import { Page, request } from '@playwright/test';
import { expect, test } from './fixtures';
import { AuthenticatePage } from './pages/authenticate';
import { CARDS, CheckoutPage, customerWithCard } from './pages/checkout';
import { peerPaymentIntents, screenshot } from './support';

/** Runs `arrange` while the Stripe peer sends its webhooks nowhere (a port nobody listens on).
 *  The peer's webhook setting is shared: safe because the specs run one at a time (`workers: 1`). */
async function withoutWebhooks(arrange: () => Promise<void>): Promise<void> {
  const peer = await request.newContext({ baseURL: process.env.STRIPE_PEER });
  const point = async (url: string) =>
    expect(
      (await peer.post('/_config/webhooks/e2e', { form: { url, secret: process.env.STRIPE_WEBHOOK_SECRET ?? '' } })).ok(),
    ).toBe(true);
  await point('http://127.0.0.1:9/nobody-listens');
  try {
    await arrange();
  } finally {
    await point(`${process.env.BASE_URL}/stripe/webhook`);
    await peer.dispose();
  }
}

/** The bank says yes to the 3D Secure of `paymentIntent`, as the peer's Stripe.js would, without the page. */
async function authenticateAtStripe(paymentIntent: string): Promise<void> {
  const peer = await request.newContext({
    baseURL: process.env.STRIPE_PEER,
    extraHTTPHeaders: { authorization: 'Bearer sk_test_e2e' },
  });
  const pi = await (await peer.get(`/v1/payment_intents/${paymentIntent}`)).json();
  const done = await peer.post(`/v1/payment_intents/${paymentIntent}/_authenticate?success=true`, {
    data: { key: 'pk_test_e2e', client_secret: pi.client_secret },
  });
  expect((await done.json()).status).toBe('succeeded');
  await peer.dispose();
}

/** The calls the page makes to Stripe.js to take a PaymentIntent through 3D Secure, in order (the
 *  peer's fake Stripe.js logs each one it runs: `localstripe: Stripe().name()`). Listening from now. */
function paymentCallsOf(page: Page): string[] {
  const calls: string[] = [];
  page.on('console', (message) => {
    const call = /^localstripe: Stripe\(\)\.(confirmCardPayment|handleNextAction)\(\)/.exec(message.text());
    if (call) calls.push(call[1]);
  });
  return calls;
}

test.describe('3D Secure', () => {
  /** A customer of the test's own with a 3DS card presses « Payer » on a 125,50 € échéance: the bank
   *  asks for 3D Secure, and the page goes straight to the 3DS page of that PaymentIntent. */
  async function waitingForAuthentication(page: Page, who: string) {
    const { customer, checkout } = await customerWithCard(page, who, CARDS.threeDS, [{ cents: 12_550 }]);
    const [echeance] = customer.echeances;
    await checkout.payIntoAuthentication(echeance.label);
    return { echeance, checkout, authenticate: new AuthenticatePage(page) };
  }

  test('a 3DS échéance left for later waits on the checkout page with its link', async ({ page }) => {
    const { echeance, checkout } = await waitingForAuthentication(page, 'sca-later');
    await checkout.goto();
    await expect(checkout.row(echeance.label)).toHaveAttribute('data-status', 'en_attente');
    await expect(checkout.row(echeance.label).getByText('Action requise')).toBeVisible();
    await checkout.authenticateLink(echeance.label).click();
    await expect(page).toHaveURL(/\/payment\/authenticate\/pi_/);
  });

  test('pays with 4000 0027 6000 3184: action requise, the 3DS page, the modal, then payée', async ({ page }) => {
    const calls = paymentCallsOf(page);
    const { echeance, checkout, authenticate } = await waitingForAuthentication(page, 'sca');
    await expect(authenticate.amount).toHaveText('125,50\u00a0€');
    await expect(authenticate.noscript).toHaveCount(0);
    await screenshot(page, 'authenticate');

    await authenticate.complete();
    // « Payer » confirmed it on the server: the page runs the bank's step only, never a second confirmation.
    expect(calls).toEqual(['handleNextAction']);
    await checkout.goto();
    await expect(checkout.row(echeance.label)).toHaveAttribute('data-status', 'payee');
    expect(await peerPaymentIntents(echeance.id)).toHaveLength(1);
  });

  test('cancelling in the modal leaves the échéance en attente with a retry that works', async ({ page }) => {
    const calls = paymentCallsOf(page);
    const { echeance, authenticate } = await waitingForAuthentication(page, 'sca-cancel');

    await authenticate.failAuthentication.click();
    await expect(authenticate.alert).toContainText("L'authentification n'a pas abouti");
    await expect(authenticate.alert).not.toContainText('Action requise');
    await expect(authenticate.badge).toBeVisible();
    await expect(authenticate.badge).toHaveAttribute('data-status', 'en_attente');

    await authenticate.retry.click();
    await authenticate.complete();
    // The retry re-armed it on the server (one confirmation): the page again runs the bank's step only.
    expect(calls).toEqual(['handleNextAction', 'handleNextAction']);
    expect(await peerPaymentIntents(echeance.id)).toHaveLength(1);
  });

  test('paid at Stripe while no webhook arrives: `server reconcile` run from a shell shows it payée on the open 3DS page and portal, without a reload', async ({
    page,
  }) => {
    const { echeance, authenticate } = await waitingForAuthentication(page, 'sca-reconcile');
    const paymentIntent = new URL(page.url()).pathname.split('/').pop() ?? '';
    // The same customer's portal, open in another tab.
    const portal = new CheckoutPage(await page.context().newPage());
    await portal.goto();
    await expect(portal.row(echeance.label)).toHaveAttribute('data-status', 'en_attente');
    await expect(authenticate.badge).toHaveAttribute('data-status', 'en_attente');
    for (const p of [page, portal.page]) await p.evaluate(() => ((window as any).__sameDocument = true));

    await withoutWebhooks(async () => {
      await authenticateAtStripe(paymentIntent);
      // Nothing told the server: the screens still show what it knows.
      await portal.page.waitForTimeout(1_000);
      await expect(portal.row(echeance.label)).toHaveAttribute('data-status', 'en_attente');
      // The nightly reconciler, as another process (the same environment as the server).
      // Its exit status also counts what other specs left behind (a PaymentIntent Stripe forgot): read what it did.
      const run = spawnSync(process.env.SERVER_BIN ?? 'false', ['reconcile', '--since', '24h'], { encoding: 'utf8' });
      const out = `${run.stdout}${run.stderr}`;
      expect(out).toMatch(new RegExp(`échéance ${echeance.id}: [^\\n]*\\(fixed\\)`));
    });

    await expect(portal.row(echeance.label)).toHaveAttribute('data-status', 'payee');
    await expect(authenticate.badge).toHaveAttribute('data-status', 'payee');
    await expect(authenticate.success).toContainText(authenticate.tx.authSuccess);
    for (const p of [page, portal.page]) expect(await p.evaluate(() => (window as any).__sameDocument)).toBe(true);
    expect(await peerPaymentIntents(echeance.id)).toHaveLength(1);
  });
});
