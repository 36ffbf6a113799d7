import { expect, test } from '../fixtures';
import { AuthenticatePage } from '../pages/authenticate';
import { CARDS, customerWithCard } from '../pages/checkout';
import { FR } from '../pages/texts';
import { withJavaScript } from '../support';

// The no-js project runs this file with JavaScript off: the 3DS page says it needs JavaScript.
test.describe('3D Secure page without JavaScript', () => {
  test('shows what is being paid and asks for JavaScript', async ({ browser, page }) => {
    const path = await withJavaScript(
      browser,
      async (js) => {
        const { customer, checkout } = await customerWithCard(js, 'nojs-3ds', CARDS.threeDS, [{ cents: 12_550 }]);
        return checkout.payIntoAuthentication(customer.echeances[0].label);
      },
      page,
    );

    const authenticate = new AuthenticatePage(page);
    expect(await authenticate.goto(path)).toBe(200);
    await expect(authenticate.heading).toBeVisible();
    await expect(authenticate.amount).toHaveText('125,50\u00a0€');
    await expect(authenticate.badge).toHaveAttribute('data-status', 'en_attente');
    await expect(authenticate.noscript).toBeVisible();
    await expect(authenticate.noscript).toContainText(FR.authNoscript);
    await expect(authenticate.completeAuthentication).toHaveCount(0);
  });
});
