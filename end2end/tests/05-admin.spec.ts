import { expect, test } from './fixtures';
import { AdminDashboard, AdminTimeline } from './pages/admin';
import { paidEcheance } from './pages/checkout';
import { login } from './pages/landing';
import { screenshot, seedAdmin, seedCustomer } from './support';

test.describe('admin dashboard', () => {
  test('filters the échéances by status and customer', async ({ page }) => {
    const ana = seedCustomer('ana', [{ cents: 30_000, due: -40, status: 'payee' }, { cents: 30_000, due: -10, status: 'payee' }]);
    const ben = seedCustomer('ben', [{ cents: 30_000, due: -20, status: 'payee' }]);
    await login(page, seedAdmin('admin-filters'));
    const dashboard = new AdminDashboard(page);
    await dashboard.filterByStatus('payee');
    await dashboard.filterByCustomer(ana, ben);
    await screenshot(page, 'dashboard');
  });

  test("opens an échéance's timeline with its attempt, webhook, email and audit rows", async ({ browser, page }) => {
    const id = await paidEcheance(browser, 'timeline');
    await login(page, seedAdmin('admin-timeline'));
    const timeline = new AdminTimeline(page);
    await timeline.gotoPaid(id);
    await expect(timeline.entries('tentative')).toHaveCount(1);
    await expect(timeline.audit('en_cours', 'payee')).toHaveCount(1);
    await expect(timeline.email('payment_received')).toHaveCount(1);
    await expect(timeline.webhook('payment_intent.succeeded')).toHaveCount(1);
  });

  test('offers « Relancer » only for what is due, and says what the last action came to', async ({ page }) => {
    const customer = seedCustomer('relance', [{ cents: 30_000, due: 20 }, { cents: 30_000, due: -3, status: 'echouee' }]);
    const [ahead, failed] = customer.echeances;
    await login(page, seedAdmin('admin-relance'));
    const timeline = new AdminTimeline(page);
    // Not due yet: an admin does not charge it off-session before its date (its customer may pay it ahead).
    await timeline.goto(ahead.id);
    await expect(timeline.cancel).toBeVisible();
    await expect(timeline.retry).toHaveCount(0);
    // Due and declined: retried; with no card on file it is refused, and that is what the page says.
    await timeline.goto(failed.id);
    await timeline.retry.click();
    await expect(timeline.alert).toBeVisible();
    await expect(timeline.done).toHaveCount(0);
    // The next action's answer replaces it: no earlier error left beside « done ».
    await timeline.cancel.click();
    await expect(timeline.done).toBeVisible();
    await expect(timeline.alert).toHaveCount(0);
  });

  test('runs « Réconcilier maintenant » and sees the report', async ({ page }) => {
    const admin = seedAdmin('admin-reconcile');
    await login(page, admin);
    const dashboard = new AdminDashboard(page);
    await dashboard.reconcile(admin);
    await expect(dashboard.report).toContainText('Écarts avec Stripe');
  });

  test('exports the current filter as CSV', async ({ page }) => {
    const customer = seedCustomer('csv', [{ cents: 30_000, due: -5, status: 'payee' }, { cents: 30_000 }]);
    await login(page, seedAdmin('admin-csv'));
    const csv = await page.request.get('/admin/export.csv?status=payee');
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toContain('id;libelle;client');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.includes(';payee;'))).toBe(true);
    expect(lines.some((l) => l.includes(customer.email))).toBe(true);
  });

  test('a customer is refused the dashboard', async ({ page }) => {
    await login(page, seedCustomer('refused', [{ cents: 30_000 }]));
    const dashboard = new AdminDashboard(page);
    expect(await dashboard.goto()).toBe(403);
    await expect(dashboard.alert).toBeVisible();
  });
});
