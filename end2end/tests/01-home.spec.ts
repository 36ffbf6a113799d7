import { expect, test } from '@playwright/test';

test.describe('home page', () => {
  test('hydrates: the password toggle only works once the WASM runs', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/');
    await expect(page.locator('[data-hydrated="true"]')).toBeVisible();
    await expect(page.getByText('alice-demo-2026')).toHaveCount(0);
    await page.getByRole('button', { name: 'Afficher les mots de passe' }).click();
    await expect(page.getByText('alice-demo-2026')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Masquer les mots de passe' })).toBeVisible();
    expect(errors).toEqual([]);
  });

  test('is whole without JavaScript: demo data and the login form are in the HTML', async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto('/');
    await expect(page.getByRole('heading', { name: 'Échéancier' })).toBeVisible();
    await expect(page.getByTestId('echeance-count')).toHaveText('11');
    await expect(page.getByText('alice@echeancier.test')).toBeVisible();
    await expect(page.getByLabel('Adresse e-mail')).toBeVisible();
    await expect(page.locator('[data-hydrated="false"]')).toHaveCount(1);
    await context.close();
  });

  test('speaks French by default and English on request', async ({ page }) => {
    await page.goto('/');
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await page.getByRole('link', { name: 'English' }).click();
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await expect(page.getByText('Your installment payments, collected on time — never twice.')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
    await page.getByRole('link', { name: 'Français' }).click();
    await expect(page.getByRole('button', { name: 'Se connecter' })).toBeVisible();
  });
});
