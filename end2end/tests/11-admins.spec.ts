import { createHmac } from 'node:crypto';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { LandingPage, login } from './pages/landing';
import { FR } from './pages/texts';
import { type Account, mailbox, seedAdmin, seedCustomer, uniqueEmail } from './support';

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

/** The six-digit TOTP code (RFC 6238: HMAC-SHA-1, 30-second steps) of a base32 key at `unixMs`. */
function totp(base32: string, unixMs: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixMs / 1000 / 30)));
  const digest = createHmac('sha1', key).update(counter).digest();
  const offset = digest[19] & 0x0f;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** A six-digit code that is none of the three the server accepts around now. */
function wrongCode(secret: string): string {
  const near = [-30_000, 0, 30_000].map((d) => totp(secret, Date.now() + d));
  return ['000000', '111111', '222222', '333333'].find((c) => !near.includes(c)) ?? '';
}

/** Logs `admin` in with the password on `page`, up to the second step's page (hydrated). */
async function passwordFirst(page: Page, admin: Account): Promise<Page> {
  await new LandingPage(page).submitCredentials(admin);
  await expect(page.getByRole('heading', { name: 'Code de vérification' })).toHaveAttribute('data-hydrated', 'true');
  return page;
}

test.describe('second factor', () => {
  test('an admin turns on an authenticator app, keeps the recovery codes, then logs in with a code', async ({ browser, page }) => {
    const admin = seedAdmin('totp-admin');
    await login(page, admin);
    await page.goto('/admin/security');
    await expect(page.getByRole('heading', { name: 'Double authentification' })).toHaveAttribute('data-hydrated', 'true');
    await expect(page.getByTestId('second-factor-status')).toHaveAttribute('data-on', 'false');
    await page.getByRole('button', { name: 'Activer la double authentification' }).click();
    await expect(page.locator('.qr svg')).toBeVisible();
    const secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    // A wrong code is said to be wrong, and the same key stays on screen to try again.
    await page.getByLabel('Code', { exact: true }).fill(wrongCode(secret));
    await page.getByLabel('Votre mot de passe').fill(admin.password);
    await page.getByRole('button', { name: 'Confirmer' }).click();
    await expect(page.getByRole('alert')).toContainText('Code incorrect');
    await expect(page.getByTestId('totp-secret')).toHaveText(secret);
    await page.getByLabel('Code', { exact: true }).fill(totp(secret, Date.now()));
    await page.getByLabel('Votre mot de passe').fill(admin.password);
    await page.getByRole('button', { name: 'Confirmer' }).click();
    const codes = page.getByTestId('recovery-codes').getByRole('listitem');
    await expect(codes).toHaveCount(10);
    await expect(page.getByTestId('second-factor-status')).toHaveAttribute('data-on', 'true');

    // A fresh browser: the password, then the code. The next step's code (accepted one step
    // early) is later than the one the enrolment spent, so the test need not wait for the clock.
    const context = await browser.newContext();
    const fresh = await passwordFirst(await context.newPage(), admin);
    await fresh.getByLabel('Code', { exact: true }).fill(wrongCode(secret));
    await fresh.getByRole('button', { name: 'Vérifier' }).click();
    await expect(fresh.getByRole('alert')).toContainText('Code incorrect');
    await fresh.getByLabel('Code', { exact: true }).fill(totp(secret, Date.now() + 30_000));
    await fresh.getByRole('button', { name: 'Vérifier' }).click();
    await expect(fresh.getByRole('heading', { name: FR.adminTitle })).toBeVisible();
    await context.close();

    // New recovery codes (by one of the first ones) replace the list shown; a renewal refused
    // afterwards leaves the new list on screen, never the enrolment's, which no longer work.
    const first = await codes.allTextContents();
    const renew = page.getByTestId('renew-codes');
    await renew.getByLabel('Code', { exact: true }).fill(first[0]);
    await renew.getByRole('button', { name: 'Nouveaux codes de secours' }).click();
    await expect(codes.first()).not.toHaveText(first[0]);
    const renewed = await codes.allTextContents();
    expect(renewed).toHaveLength(10);
    expect(renewed.filter((c) => first.includes(c))).toEqual([]);
    // Logged in elsewhere with one of the new codes: 9 left, so the page's read of its status after
    // the refused renewal differs, and its cards are made again (the count says when).
    const elsewhere = await browser.newContext();
    const other = await passwordFirst(await elsewhere.newPage(), admin);
    await other.getByLabel('Code', { exact: true }).fill(renewed[0]);
    await other.getByRole('button', { name: 'Vérifier' }).click();
    await expect(other.getByRole('heading', { name: FR.adminTitle })).toBeVisible();
    await elsewhere.close();
    await renew.getByLabel('Code', { exact: true }).fill(first[1]);
    await renew.getByRole('button', { name: 'Nouveaux codes de secours' }).click();
    await expect(page.getByTestId('codes-left')).toContainText('9');
    await expect(page.getByTestId('renew-codes').getByRole('alert')).toContainText('Code incorrect');
    expect(await codes.allTextContents()).toEqual(renewed);
  });
});
