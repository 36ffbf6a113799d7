import { execFileSync } from 'node:child_process';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect, test } from './fixtures';
import { CARDS } from './pages/checkout';
import { InvitationPage } from './pages/invitation';
import { login } from './pages/landing';
import { screenshot, seedAdmin, uniqueEmail } from './support';

/** Whether the official Stripe library (stripe-python, in the project's .venv) accepts the signature. */
function stripePythonAccepts(body: string, header: string, secret: string): boolean {
  const python = path.resolve(__dirname, '../../.venv/bin/python');
  const script = 'import sys, stripe\nstripe.WebhookSignature.verify_header(sys.stdin.read(), sys.argv[1], sys.argv[2], 300)';
  try {
    execFileSync(python, ['-c', script, header, secret], { input: body, stdio: ['pipe', 'ignore', 'ignore'] });
    return true;
  } catch {
    return false;
  }
}

test.describe('the host site', () => {
  test('creates a plan through the API, the customer accepts it in the browser, and the host is told, signed as Stripe signs', async ({ browser, page, request }) => {
    // The host's endpoint: records what arrives, answers 200.
    const received: { body: string; signature: string }[] = [];
    const endpoint = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ body, signature: String(req.headers['echeancier-signature'] ?? '') });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    const endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/webhooks/echeancier`;

    try {
      // The merchant makes a key and registers the endpoint on « Intégration ».
      await login(page, seedAdmin('admin-host'));
      await page.goto('/admin/integration');
      await expect(page.getByRole('heading', { name: 'Intégration : API et webhooks' })).toHaveAttribute('data-hydrated', 'true');
      await page.getByTestId('api-key-name').fill('site principal');
      await page.getByTestId('create-api-key').click();
      const key = (await page.getByTestId('api-keys').getByTestId('shown-once').textContent()) ?? '';
      expect(key).toMatch(/^ek_test_[0-9A-Za-z]{32}$/);
      await page.getByTestId('endpoint-url').fill(endpointUrl);
      await page.getByTestId('endpoint-events').fill('plan.activated echeance.paid');
      await page.getByTestId('create-endpoint').click();
      const secret = (await page.getByTestId('endpoints').getByTestId('shown-once').textContent()) ?? '';
      expect(secret).toMatch(/^whsec_/);
      await expect(page.getByTestId('api-keys').locator('tbody tr')).toContainText('site principal');
      await screenshot(page, 'integration');

      // The host creates the plan, as its developer would with curl: first échéance due today.
      const email = uniqueEmail('host-customer');
      const created = await request.post('/v1/plans', {
        headers: { authorization: `Bearer ${key}`, 'idempotency-key': `order-${email}` },
        data: {
          customer: { email, name: 'Hélène Hôte', locale: 'fr' },
          label: 'Commande A-1042',
          currency: 'eur',
          total_cents: 9000,
          installments: 3,
          first_due_date: new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' }),
          metadata: { order_id: 'A-1042' },
          return_url: 'https://shop.example/orders/A-1042',
          send_invitation: false,
        },
      });
      expect(created.status()).toBe(201);
      const plan = await created.json();
      expect(plan.status).toBe('awaiting_customer');
      expect(plan.echeances.map((e: any) => e.amount_cents)).toEqual([3000, 3000, 3000]);

      // The customer, sent to acceptance_url: accepts, pays the first échéance now with a card that payment saves.
      const context = await browser.newContext();
      const invitation = new InvitationPage(await context.newPage());
      expect(await invitation.goto(plan.acceptance_url)).toBe(200);
      await invitation.accept.click();
      await invitation.payFirstWithCard(CARDS.succeeds);
      await expect(invitation.firstPaid).toBeVisible();
      await expect(invitation.accepted).toHaveAttribute('data-status', 'actif');
      await expect(invitation.page.getByTestId('return-to-site')).toHaveAttribute('href', 'https://shop.example/orders/A-1042');
      await context.close();

      // The host learns both, in that order, each verified by the Stripe SDK with the endpoint's secret.
      // (Other specs run meanwhile: only this plan's events are looked at.)
      const ours = () =>
        received.filter((r) => {
          const object = JSON.parse(r.body).data.object;
          return object.id === plan.id || object.plan === plan.id;
        });
      await expect.poll(() => ours().length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
      const events = ours().map((r) => JSON.parse(r.body));
      expect(events.map((e) => e.type)).toEqual(['plan.activated', 'echeance.paid']);
      expect(events[0].data.object.id).toBe(plan.id);
      expect(events[1].data.object.id).toBe(plan.echeances[0].id);
      expect(events[1].data.object.status).toBe('paid');
      for (const r of ours()) {
        expect(stripePythonAccepts(r.body, r.signature, secret)).toBe(true);
        expect(stripePythonAccepts(r.body, r.signature, 'whsec_not_the_secret')).toBe(false);
      }
      const read = await request.get(`/v1/plans/${plan.id}`, { headers: { authorization: `Bearer ${key}` } });
      expect((await read.json()).status).toBe('active');

      // The dashboard lists the deliveries, delivered; the endpoint is disabled before it goes away.
      await page.goto('/admin/integration');
      await expect(page.getByRole('heading', { name: 'Intégration : API et webhooks' })).toHaveAttribute('data-hydrated', 'true');
      const delivered = page.getByTestId('delivery-rows').locator('tbody tr[data-status="delivered"]', { hasText: endpointUrl });
      expect(await delivered.count()).toBeGreaterThanOrEqual(2);
      const row = page.getByTestId('endpoints').locator('tbody tr', { hasText: endpointUrl });
      await row.getByRole('button', { name: 'Désactiver' }).click();
      await expect(row).toHaveAttribute('data-enabled', 'false');
    } finally {
      endpoint.close();
    }
  });
});
