import { request } from '@playwright/test';
import { expect, test } from './fixtures';
import { CARDS, customerWithCard } from './pages/checkout';
import { FR } from './pages/texts';

const UNKNOWN_TO_STRIPE = FR.unknownToStripe;

/**
 * Stripe forgets every object it held, as after a reset test account or a restarted local peer
 * (the peer's `DELETE /_config/data`); the database still holds their ids.
 */
async function stripeForgetsEverything(): Promise<void> {
  const peer = await request.newContext({ baseURL: process.env.STRIPE_PEER });
  expect((await peer.delete('/_config/data')).ok()).toBe(true);
  await peer.dispose();
}

test.describe('when Stripe no longer knows what the database holds', () => {
  test('a charge Stripe refuses says so and leaves the échéance payable, never « en cours de traitement »', async ({
    page,
  }) => {
    const { customer, checkout } = await customerWithCard(page, 'forgotten-card', CARDS.succeeds);
    const [echeance] = customer.echeances;
    await stripeForgetsEverything();

    await checkout.payButton(echeance.label).click();

    await expect(checkout.alert).toContainText(UNKNOWN_TO_STRIPE);
    await expect(page.getByText(FR.processing)).toHaveCount(0);
    // Sent again it would be refused again: a final failure the customer can still pay with another card.
    await expect(checkout.row(echeance.label)).toHaveAttribute('data-status', 'echouee_definitive');
  });

  test('a 3D Secure page whose PaymentIntent Stripe does not know says so, not « service unavailable »', async ({
    page,
  }) => {
    const { customer, checkout } = await customerWithCard(page, 'forgotten-3ds', CARDS.threeDS);
    const [echeance] = customer.echeances;
    const path = await checkout.payIntoAuthentication(echeance.label);
    await stripeForgetsEverything();

    await page.goto(path);

    await expect(page.getByRole('alert')).toContainText(UNKNOWN_TO_STRIPE);
    await expect(page.getByText(FR.unavailable)).toHaveCount(0);
  });
});
