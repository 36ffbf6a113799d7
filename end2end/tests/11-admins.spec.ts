import { expect, test } from './fixtures';
import { login } from './pages/landing';
import { mailbox, seedAdmin, seedCustomer, uniqueEmail } from './support';

test.describe('admins', () => {
  test('an admin invites another, who chooses a password through the emailed link; then disables them', async ({ browser, page }) => {
    await login(page, seedAdmin('admins-page'));
    await page.goto('/admin/admins');
    await expect(page.getByRole('heading', { name: 'Administrateurs' })).toHaveAttribute('data-hydrated', 'true');
    const email = uniqueEmail('invited-admin');
    const invite = page.getByTestId('invite-admin');
    await invite.getByLabel('Adresse e-mail').fill(email);
    await invite.getByLabel('Nom').fill('Inès Invitée');
    await invite.getByRole('button', { name: 'Inviter un administrateur' }).click();
    await expect(page.getByRole('status')).toContainText('Invitation envoyée');
    const row = page.getByTestId('admins').getByRole('row', { name: new RegExp(email) });
    await expect(row).toContainText('invité, lien envoyé');

    // The invited admin follows the emailed link, chooses a password, and is in.
    await expect.poll(async () => (await mailbox(email)).length, { timeout: 20_000 }).toBe(1);
    const [message] = await mailbox(email);
    const link = /https?:\/\/\S+\/password\/set\?token=[\w-]+/.exec(message.text)?.[0] ?? '';
    expect(link).not.toBe('');
    const context = await browser.newContext();
    const invited = await context.newPage();
    await invited.goto(link);
    await expect(invited.getByRole('heading', { name: 'Choisissez votre mot de passe' })).toHaveAttribute('data-hydrated', 'true');
    await invited.getByLabel('Mot de passe', { exact: true }).fill('une phrase de passe assez longue');
    await invited.getByLabel('Le même, une seconde fois').fill('une phrase de passe assez longue');
    await invited.getByRole('button', { name: 'Enregistrer et me connecter' }).click();
    await expect(invited).toHaveURL(/\/admin$/);
    // The link is spent.
    await invited.goto(link);
    await invited.getByLabel('Mot de passe', { exact: true }).fill('une phrase de passe assez longue');
    await invited.getByLabel('Le même, une seconde fois').fill('une phrase de passe assez longue');
    await invited.getByRole('button', { name: 'Enregistrer et me connecter' }).click();
    await expect(invited.getByRole('alert')).toBeVisible();
    await context.close();

    // Back on the list: active, then disabled.
    await page.reload();
    await expect(row).toContainText('actif');
    await row.getByRole('button', { name: `Désactiver ${email}` }).click();
    await expect(row).toHaveAttribute('data-disabled', 'true');
    await expect(row).toContainText('désactivé');
  });
});

test.describe('getting back in', () => {
  test('a customer without a password asks for a login link on the home page and is in through it', async ({ page }) => {
    const customer = seedCustomer('login-link', [{ cents: 4200 }]);
    await page.goto('/');
    const backIn = page.getByTestId('back-in');
    await expect(page.locator('[data-hydrated="true"]')).toBeVisible();
    await backIn.getByLabel('Adresse e-mail').first().fill(customer.email);
    await backIn.getByRole('button', { name: 'Recevoir un lien de connexion' }).click();
    await expect(backIn.getByRole('status')).toContainText('Si un compte existe pour cette adresse');

    await expect.poll(async () => (await mailbox(customer.email)).length, { timeout: 20_000 }).toBe(1);
    const [message] = await mailbox(customer.email);
    const link = /https?:\/\/\S+\/login\/link\?token=[\w-]+/.exec(message.text)?.[0] ?? '';
    expect(link).not.toBe('');
    // Opening the link changes nothing (a mail scanner may open it first); the button logs in.
    await page.goto(link);
    await expect(page.getByRole('heading', { name: 'Connexion par lien' })).toHaveAttribute('data-hydrated', 'true');
    await page.getByRole('button', { name: 'Me connecter' }).click();
    await expect(page.getByRole('heading', { name: 'Mes échéances' })).toBeVisible();
    await expect(page.getByRole('row', { name: customer.echeances[0].label })).toBeVisible();
  });
});
