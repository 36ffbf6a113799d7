import { createHmac } from 'node:crypto';
import { expect, request, test } from '@playwright/test';
import { accounts, login, row, saveCard } from './support';

/** The messages the SMTP server (maildev) received. */
async function mailbox(): Promise<any[]> {
  const api = await request.newContext({ baseURL: process.env.MAILDEV });
  const messages = await (await api.get('/email')).json();
  await api.dispose();
  return messages;
}

test.describe.serial('the 3D Secure recovery email', () => {
  let link = '';

  test('the charge sends the email through SMTP; its link runs 3DS in any browser; then it cannot pay twice', async ({ browser, page }) => {
    await login(page, accounts.alice);
    await saveCard(page, '4000002760003184');
    await page.getByTestId('pay-6').click();
    await expect(row(page, 6)).toHaveAttribute('data-status', 'en_attente');

    await expect
      .poll(async () => (await mailbox()).filter((m) => m.to[0].address === accounts.alice.email && m.subject.startsWith('Action requise')).length, {
        timeout: 20_000,
      })
      .toBe(1);
    const email = (await mailbox()).find((m) => m.to[0].address === accounts.alice.email && m.subject.startsWith('Action requise'));
    expect(email.subject).toContain('300,00');
    link = /https?:\/\/\S+\/payment\/authenticate\/\S+/.exec(email.text)?.[0] ?? '';
    expect(link).toContain('?token=');

    // Another browser, nobody logged in: the signed link is the key.
    const context = await browser.newContext();
    const fresh = await context.newPage();
    await fresh.goto(link);
    await expect(fresh.getByTestId('auth-amount')).toHaveText('300,00\u00a0€');
    await fresh.getByRole('button', { name: 'Complete authentication' }).click();
    await expect(fresh.getByTestId('auth-outcome')).toContainText('Paiement confirmé');

    await fresh.goto(link);
    await expect(fresh.getByTestId('auth-outcome')).toContainText('déjà payée');
    await fresh.waitForTimeout(1_000);
    await expect(fresh.getByRole('button', { name: 'Complete authentication' })).toHaveCount(0);
    expect(await fresh.content()).not.toContain('_secret_');
    await context.close();

    await page.reload();
    await expect(row(page, 6)).toHaveAttribute('data-status', 'payee');
  });

  test('an expired link shows a clear page and nothing about the payment', async ({ page }) => {
    const url = new URL(link);
    const pi = url.pathname.split('/').pop() ?? '';
    const expires = Math.floor(Date.now() / 1000) - 60;
    const signature = createHmac('sha256', process.env.APP_SECRET ?? '')
      .update(`recovery:v1:${pi}:${expires}`)
      .digest('base64url');
    const response = await page.goto(`${url.pathname}?token=${expires}.${signature}`);
    expect(response?.status()).toBe(410);
    await expect(page.getByTestId('error-card')).toContainText("Ce lien n'est plus valide");
    const html = await page.content();
    expect(html).not.toContain('_secret_');
    expect(html).not.toContain('300,00');
  });

  test('a template that does not render is refused with the engine message; a good one previews', async ({ page }) => {
    await login(page, accounts.admin);
    await page.goto('/admin/templates?kind=payment_received&locale=fr');
    const editor = page.getByTestId('template-editor');
    await expect(editor).toBeVisible();
    await page.waitForTimeout(500);
    const html = editor.getByLabel('Corps HTML');
    const original = await html.inputValue();

    await html.fill('<p>Merci {{ customer_name </p>');
    await page.getByTestId('template-preview').click();
    await expect(page.getByTestId('template-error')).toContainText('syntax error');
    await page.getByTestId('template-save').click();
    await expect(editor.getByTestId('template-error')).toContainText('Modèle refusé');

    await html.fill(original);
    await page.getByTestId('template-preview').click();
    await expect(page.getByTestId('preview-subject')).toContainText('300,00');
  });
});
