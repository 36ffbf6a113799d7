import { expect, test } from '@playwright/test';
import { accounts, login, peerPaymentIntents, row, saveCard, screenshot } from './support';

test.describe.serial('customer checkout', () => {
  test('saves a card with Stripe Elements, pays a 4242 échéance and sees it turn payée without reloading', async ({ page }) => {
    await login(page, accounts.alice);
    await saveCard(page, '4242424242424242');
    await expect(row(page, 3)).toHaveAttribute('data-status', 'a_payer');
    await page.evaluate(() => ((window as any).__sameDocument = true));

    await page.getByTestId('pay-3').click();

    await expect(row(page, 3)).toHaveAttribute('data-status', 'payee');
    await expect(row(page, 3).getByText('Payée')).toBeVisible();
    await expect(page.getByRole('status')).toHaveText('Paiement reçu, merci !');
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    expect(await peerPaymentIntents(3)).toHaveLength(1);
    await screenshot(page, 'checkout');
  });

  test('a double click on « Payer » makes one PaymentIntent', async ({ page }) => {
    await login(page, accounts.alice);
    await page.getByTestId('pay-4').dblclick();
    await expect(row(page, 4)).toHaveAttribute('data-status', 'payee');
    expect(await peerPaymentIntents(4)).toHaveLength(1);
  });

  test('repeated fast clicks and a replayed form post still make one PaymentIntent', async ({ page }) => {
    await login(page, accounts.alice);
    // Three clicks in a row on the same button, as fast as the browser dispatches them.
    await page.getByTestId('pay-5').click({ clickCount: 3, delay: 0 });
    await expect(row(page, 5)).toHaveAttribute('data-status', 'payee');
    // The browser retries the same request (a resubmitted form): refused, nothing charged.
    const replay = await page.request.post('/api/pay', { form: { echeance_id: '5' }, headers: { accept: 'application/json' } });
    expect(replay.status()).toBe(409);
    expect(await peerPaymentIntents(5)).toHaveLength(1);
  });

  test('renders the checkout without JavaScript', async ({ browser, page }) => {
    await login(page, accounts.alice);
    const context = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() });
    const noJs = await context.newPage();
    await noJs.goto('/');
    await expect(noJs.getByRole('heading', { name: 'Mes échéances' })).toHaveAttribute('data-hydrated', 'false');
    await expect(noJs.getByTestId('saved-card')).toContainText('4242');
    await expect(noJs.getByTestId('echeance-3')).toHaveAttribute('data-status', 'payee');
    await expect(noJs.getByTestId('pay-6')).toBeVisible();
    await context.close();
  });
});
