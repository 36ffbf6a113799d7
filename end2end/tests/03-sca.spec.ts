import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { AuthenticatePage } from './pages/authenticate';
import { CARDS, customerWithCard } from './pages/checkout';
import { peerPaymentIntents, screenshot } from './support';

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
    const { echeance, checkout, authenticate } = await waitingForAuthentication(page, 'sca');
    await expect(authenticate.amount).toHaveText('125,50\u00a0€');
    await expect(authenticate.noscript).toHaveCount(0);
    await screenshot(page, 'authenticate');

    await authenticate.complete();
    await checkout.goto();
    await expect(checkout.row(echeance.label)).toHaveAttribute('data-status', 'payee');
    expect(await peerPaymentIntents(echeance.id)).toHaveLength(1);
  });

  test('cancelling in the modal leaves the échéance en attente with a retry that works', async ({ page }) => {
    const { echeance, authenticate } = await waitingForAuthentication(page, 'sca-cancel');

    await authenticate.failAuthentication.click();
    await expect(authenticate.alert).toContainText("L'authentification n'a pas abouti");
    await expect(authenticate.alert).not.toContainText('Action requise');
    await expect(authenticate.badge).toBeVisible();
    await expect(authenticate.badge).toHaveAttribute('data-status', 'en_attente');

    await authenticate.retry.click();
    await authenticate.complete();
    expect(await peerPaymentIntents(echeance.id)).toHaveLength(1);
  });
});
