import { expect, test } from '@playwright/test';
import { accounts, login, row } from './support';

test.describe.serial('one customer cannot reach another', () => {
  let link = '';

  test('bruno leaves an échéance waiting for 3D Secure', async ({ page }) => {
    await login(page, accounts.bruno);
    await page.getByTestId('pay-11').click();
    await expect(row(page, 11)).toHaveAttribute('data-status', 'en_attente');
    link = (await row(page, 11).getByRole('link', { name: 'Authentifier le paiement' }).getAttribute('href')) ?? '';
    expect(link).toMatch(/^\/payment\/authenticate\/pi_/);
  });

  test("alice cannot open bruno's 3DS page: a clear error, and nothing about the PaymentIntent", async ({ page }) => {
    await login(page, accounts.alice);
    const response = await page.goto(link);
    expect(response?.status()).toBe(403);
    await expect(page.getByTestId('error-card')).toContainText("Vous n'avez pas accès à cette page");
    const html = await page.content();
    expect(html).not.toContain('_secret_');
    expect(html).not.toContain('125,50');
    await expect(page.getByRole('button', { name: 'Complete authentication' })).toHaveCount(0);
  });

  test("alice cannot call bruno's server functions (403, no data)", async ({ page }) => {
    await login(page, accounts.alice);
    const pay = await page.request.post('/api/pay', { form: { echeance_id: '11' }, headers: { accept: 'application/json' } });
    expect(pay.status()).toBe(403);
    expect(await pay.text()).not.toContain('pi_');
    const pi = link.split('/').pop();
    const page3ds = await page.request.post('/api/authenticate/page', {
      form: { payment_intent_id: pi ?? '' },
      headers: { accept: 'application/json' },
    });
    expect(page3ds.status()).toBe(403);
    expect(await page3ds.text()).not.toContain('secret');
    const admin = await page.request.post('/api/admin/timeline', { form: { echeance_id: '11' }, headers: { accept: 'application/json' } });
    expect(admin.status()).toBe(403);
  });

  test('a forged link token is refused with a clear page', async ({ browser }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(`${link}?token=9999999999.forged`);
    expect(response?.status()).toBe(410);
    await expect(page.getByTestId('error-card')).toContainText("Ce lien n'est plus valide");
    expect(await page.content()).not.toContain('_secret_');
    await context.close();
  });
});
