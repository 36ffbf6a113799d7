import { expect, test } from '@playwright/test';
import { accounts, login, peerPaymentIntents, row, saveCard, screenshot } from './support';

test.describe.serial('3D Secure', () => {
  test('pays with 4000 0027 6000 3184: action requise, the 3DS page, the modal, then payée', async ({ page }) => {
    await login(page, accounts.bruno);
    await saveCard(page, '4000002760003184');

    await page.getByTestId('pay-8').click();
    await expect(row(page, 8)).toHaveAttribute('data-status', 'en_attente');
    await expect(row(page, 8).getByText('Action requise')).toBeVisible();
    await row(page, 8).getByRole('link', { name: 'Authentifier le paiement' }).click();

    await expect(page).toHaveURL(/\/payment\/authenticate\/pi_/);
    await expect(page.getByTestId('auth-amount')).toHaveText('125,50\u00a0€');
    await screenshot(page, 'authenticate');
    await page.getByRole('button', { name: 'Complete authentication' }).click();

    await expect(page.getByTestId('auth-outcome')).toContainText('Paiement confirmé');
    await page.goto('/');
    await expect(row(page, 8)).toHaveAttribute('data-status', 'payee');
    expect(await peerPaymentIntents(8)).toHaveLength(1);
  });

  test('cancelling in the modal leaves the échéance en attente with a retry that works', async ({ page }) => {
    await login(page, accounts.bruno);
    await page.getByTestId('pay-10').click();
    await expect(row(page, 10)).toHaveAttribute('data-status', 'en_attente');
    await row(page, 10).getByRole('link', { name: 'Authentifier le paiement' }).click();

    await page.getByRole('button', { name: 'Fail authentication' }).click();
    await expect(page.getByTestId('auth-outcome')).toContainText("L'authentification n'a pas abouti");
    await expect(page.getByTestId('auth-outcome').getByText('Action requise')).toHaveCount(0);
    await expect(page.locator('[data-status="en_attente"]')).toBeVisible();

    await page.getByTestId('auth-retry').click();
    await page.getByRole('button', { name: 'Complete authentication' }).click();
    await expect(page.getByTestId('auth-outcome')).toContainText('Paiement confirmé');
    expect(await peerPaymentIntents(10)).toHaveLength(1);
  });
});
