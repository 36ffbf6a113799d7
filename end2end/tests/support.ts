import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Browser, Page, request } from '@playwright/test';

/** The seeded demo admin (`server seed-demo`); specs may also make their own with `seedAdmin`. */
export const demoAdmin = { email: 'admin@echeancier.test', password: 'admin-demo-2026', admin: true } as const;

/** Someone who can log in. */
export interface Account {
  email: string;
  password: string;
  admin: boolean;
}

/** A status `server seed-customer` can write (the ones that need a PaymentIntent cannot be seeded). */
export type SeedStatus = 'a_payer' | 'payee' | 'echouee' | 'echouee_definitive' | 'annulee';

/**
 * One échéance to seed: `cents` euro cents, due `due` days from today (negative: in the past). By
 * default due in 14 days: the server's daily due-date run never charges it behind a spec's back.
 */
export interface SeedEcheance {
  cents: number;
  due?: number;
  status?: SeedStatus;
}

/** What the fixture wrote: the account, and each échéance's id and label, in the order given. */
export interface Customer extends Account {
  name: string;
  userId: number;
  echeances: { id: number; label: string }[];
}

/** An email address no other spec (nor another run on the same database) uses. */
export function uniqueEmail(who: string): string {
  return `${who}-${Date.now()}-${randomBytes(3).toString('hex')}@echeancier.test`.toLowerCase();
}

/**
 * Writes a user and their échéances with `server seed-customer` (same environment as the server,
 * which scripts/test exports), and returns their ids. `who` makes the unique email readable.
 */
export function seedCustomer(
  who: string,
  echeances: SeedEcheance[] = [],
  options: { admin?: boolean; locale?: 'fr' | 'en'; name?: string } = {},
): Customer {
  const email = uniqueEmail(who);
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const name = options.name ?? `Test ${who}`;
  const args = ['seed-customer', '--email', email, '--password', password, '--name', name, '--locale', options.locale ?? 'fr'];
  if (options.admin) args.push('--admin');
  for (const e of echeances) args.push(`--echeance=${e.due ?? 14}:${e.cents}:${e.status ?? 'a_payer'}`);
  const bin = process.env.SERVER_BIN;
  if (!bin) throw new Error('SERVER_BIN is not set: run the specs through scripts/test e2e');
  let out: string;
  try {
    out = execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e: any) {
    throw new Error(`server seed-customer failed: ${e.stderr ?? e.message}`);
  }
  const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  const seeded: { user_id: number; echeances: number[] } = JSON.parse(line ?? 'null');
  return {
    email,
    password,
    name,
    admin: options.admin ?? false,
    userId: seeded.user_id,
    echeances: seeded.echeances.map((id, i) => ({ id, label: `Échéance ${i + 1}/${echeances.length}` })),
  };
}

/** A fresh admin of the spec's own. */
export function seedAdmin(who: string): Customer {
  return seedCustomer(who, [], { admin: true });
}

/**
 * Runs `arrange` on a page of a context of its own with JavaScript on (whatever the project says),
 * then, when `into` is given, hands that context's cookies (the session) to `into`'s context.
 */
export async function withJavaScript<T>(browser: Browser, arrange: (page: Page) => Promise<T>, into?: Page): Promise<T> {
  const context = await browser.newContext({ javaScriptEnabled: true });
  try {
    const result = await arrange(await context.newPage());
    if (into) await into.context().addCookies(await context.cookies());
    return result;
  } finally {
    await context.close();
  }
}

/** The PaymentIntents the local Stripe peer holds for échéance `id`. */
export async function peerPaymentIntents(id: number): Promise<any[]> {
  const peer = await request.newContext({
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

/** Asks the local Stripe peer to play the bank or the Dashboard (`/_config/disputes/dp_1/review`…); returns its answer. */
export async function peerConfig(path: string, form: Record<string, string> = {}): Promise<any> {
  const peer = await request.newContext({
    baseURL: process.env.STRIPE_PEER,
    extraHTTPHeaders: { authorization: 'Bearer sk_test_e2e' },
  });
  try {
    const answer = await peer.post(path, { form });
    if (!answer.ok()) throw new Error(`the peer refused ${path}: ${answer.status()} ${await answer.text()}`);
    return await answer.json();
  } finally {
    await peer.dispose();
  }
}

/** The messages the SMTP server (maildev) received for `to`. */
export async function mailbox(to: string): Promise<any[]> {
  const api = await request.newContext({ baseURL: process.env.MAILDEV });
  const messages: any[] = await (await api.get('/email')).json();
  await api.dispose();
  return messages.filter((m) => m.to.some((t: { address: string }) => t.address === to));
}

/**
 * Posts to a server function as a script on the site's own page would (JSON answer, the page's
 * cookies, the site's `Origin`: a browser sends it, Playwright's request context does not).
 */
export async function callServerFn(page: Page, path: string, fields: Record<string, string | number>) {
  const form = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)]));
  const origin = new URL(page.url() === 'about:blank' ? (process.env.BASE_URL ?? '') : page.url()).origin;
  return page.request.post(path, { form, headers: { accept: 'application/json', origin } });
}

/** Saves a full-page screenshot under end2end/screenshots/ (ignored by git). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
}

/**
 * The interface words of `words` (French ones, say) that the page shows, matched as whole words,
 * whatever their case. Data (labels, names) is the caller's to keep free of those words.
 */
export async function wordsShown(page: Page, words: readonly string[]): Promise<string[]> {
  const text = await page.locator('body').innerText();
  return words.filter((w) => new RegExp(`(?<!\\p{L})${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?!\\p{L})`, 'iu').test(text));
}
