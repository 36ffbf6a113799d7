import { APIRequestContext, expect, Page, request } from '@playwright/test';

/** The seeded demo accounts (scripts/run and scripts/test seed them). */
export const accounts = {
  admin: { email: 'admin@echeancier.test', password: 'admin-demo-2026' },
  alice: { email: 'alice@echeancier.test', password: 'alice-demo-2026' },
  bruno: { email: 'bruno@echeancier.test', password: 'bruno-demo-2026' },
} as const;

export type Account = (typeof accounts)[keyof typeof accounts];

/** Logs in through the landing page's form and waits for the hydrated page behind it. */
export async function login(page: Page, who: Account): Promise<void> {
  await page.goto('/');
  await expect(page.locator('[data-hydrated="true"]')).toBeVisible();
  await page.getByLabel('Adresse e-mail').fill(who.email);
  await page.getByLabel('Mot de passe').fill(who.password);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  if (who === accounts.admin) {
    await expect(page.getByRole('heading', { name: 'Tableau de bord des échéances' })).toBeVisible();
  } else {
    await expect(page.getByRole('heading', { name: 'Mes échéances' })).toHaveAttribute('data-hydrated', 'true');
  }
}

/** Saves a card through the peer's Stripe Elements (and its 3DS modal when the card asks for it). */
export async function saveCard(page: Page, number: string): Promise<void> {
  await page.getByTestId('open-card-form').click();
  const card = page.locator('#card-element');
  await card.getByPlaceholder('number').fill(number);
  await card.getByPlaceholder('exp_month').fill('12');
  await card.getByPlaceholder('exp_year').fill('34');
  await card.getByPlaceholder('cvc').fill('123');
  await card.getByPlaceholder('postal_code').fill('75001');
  await page.getByTestId('save-card').click();
  const modal = page.getByRole('button', { name: 'Complete authentication' });
  const saved = page.getByTestId('saved-card').filter({ hasText: number.slice(-4) });
  await expect(modal.or(saved)).toBeVisible();
  if (await modal.isVisible()) {
    await modal.click();
  }
  await expect(saved).toBeVisible();
}

/** The row of échéance `id` on the checkout page. */
export function row(page: Page, id: number) {
  return page.getByTestId(`echeance-${id}`);
}

/** The PaymentIntents the local Stripe peer holds for échéance `id`. */
export async function peerPaymentIntents(id: number): Promise<any[]> {
  const peer: APIRequestContext = await request.newContext({
    baseURL: process.env.STRIPE_PEER,
    extraHTTPHeaders: { authorization: 'Bearer sk_test_e2e' },
  });
  const all: any[] = [];
  let after = '';
  for (;;) {
    const page = await (await peer.get(`/v1/payment_intents?limit=100${after}`)).json();
    all.push(...page.data);
    if (!page.has_more || page.data.length === 0) break;
    after = `&starting_after=${page.data[page.data.length - 1].id}`;
  }
  await peer.dispose();
  return all.filter((pi) => pi.metadata?.echeance_id === String(id));
}

/** Saves a full-page screenshot under end2end/screenshots/ (ignored by git). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
}
