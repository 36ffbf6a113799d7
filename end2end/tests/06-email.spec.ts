import { createHmac } from 'node:crypto';
import { expect, test } from './fixtures';
import { AdminTemplates } from './pages/admin';
import { AuthenticatePage } from './pages/authenticate';
import { CARDS, customerWithCard } from './pages/checkout';
import { login } from './pages/landing';
import { mailbox, seedAdmin } from './support';

test.describe('the 3D Secure recovery email', () => {
  test('the charge sends the email through SMTP; its link runs 3DS in any browser; then it cannot pay twice', async ({ browser, page }) => {
    const { customer, checkout } = await customerWithCard(page, 'email', CARDS.threeDS);
    const [echeance] = customer.echeances;
    await checkout.payIntoAuthentication(echeance.label);

    const actionRequired = async () => (await mailbox(customer.email)).filter((m) => m.subject.startsWith('Action requise'));
    await expect.poll(async () => (await actionRequired()).length, { timeout: 20_000 }).toBe(1);
    const [email] = await actionRequired();
    expect(email.subject).toContain('300,00');
    const link = /https?:\/\/\S+\/payment\/authenticate\/\S+/.exec(email.text)?.[0] ?? '';
    expect(link).toContain('?token=');

    // Another browser, nobody logged in: the signed link is the key.
    const context = await browser.newContext();
    const fresh = new AuthenticatePage(await context.newPage());
    await fresh.goto(link);
    await expect(fresh.amount).toHaveText('300,00\u00a0€');
    await fresh.complete();

    await fresh.goto(link);
    await expect(fresh.success).toContainText('déjà payée');
    await fresh.page.waitForTimeout(1_000);
    await expect(fresh.completeAuthentication).toHaveCount(0);
    await fresh.expectNothingLeaked();
    await context.close();

    await checkout.goto();
    await expect(checkout.row(echeance.label)).toHaveAttribute('data-status', 'payee');
  });

  test('an expired link shows a clear page and nothing about the payment', async ({ browser, page }) => {
    const { customer, checkout } = await customerWithCard(page, 'expired-link', CARDS.threeDS);
    const path = await checkout.payIntoAuthentication(customer.echeances[0].label);
    const pi = path.split('/').pop() ?? '';
    const expires = Math.floor(Date.now() / 1000) - 60;
    const signature = createHmac('sha256', process.env.APP_SECRET ?? '')
      .update(`recovery:v1:${pi}:${expires}`)
      .digest('base64url');

    // Nobody logged in: only the token could open the page.
    const context = await browser.newContext();
    const anonymous = new AuthenticatePage(await context.newPage());
    expect(await anonymous.goto(`${path}?token=${expires}.${signature}`)).toBe(410);
    await expect(anonymous.alert).toContainText("Ce lien n'est plus valide");
    await anonymous.expectNothingLeaked('300,00');
    await context.close();
  });

  test('a template that does not render is refused with the engine message; a good one previews', async ({ page }) => {
    await login(page, seedAdmin('admin-templates'));
    const templates = new AdminTemplates(page);
    await templates.goto('payment_received', 'fr', 'Reçu de paiement (fr)');
    const original = await templates.html.inputValue();

    await templates.html.fill('<p>Merci {{ customer_name </p>');
    await templates.preview.click();
    await expect(templates.alert).toContainText('syntax error');
    await templates.save.click();
    await expect(templates.editor.getByRole('alert')).toContainText('Modèle refusé');

    await templates.html.fill(original);
    await templates.preview.click();
    await expect(templates.previewSubject).toContainText('300,00');
  });
});
