import { expect, test } from '@playwright/test';
import { accounts, login, screenshot } from './support';

test.describe.serial('admin dashboard', () => {
  test('filters the échéances by status and customer', async ({ page }) => {
    await login(page, accounts.admin);
    await page.getByLabel('Statut').selectOption('payee');
    await page.getByRole('button', { name: 'Filtrer' }).click();
    await expect(page).toHaveURL(/status=payee/);
    const badges = page.getByTestId('admin-table').locator('.badge');
    await expect(badges.first()).toBeVisible();
    for (const badge of await badges.all()) {
      await expect(badge).toHaveAttribute('data-status', 'payee');
    }

    await page.getByLabel('Client').fill('alice');
    await page.getByRole('button', { name: 'Filtrer' }).click();
    await expect(page).toHaveURL(/customer=alice/);
    await expect(page.getByTestId('admin-table')).not.toContainText('bruno@');
    await expect(page.getByTestId('admin-table')).toContainText('alice@echeancier.test');
    await screenshot(page, 'dashboard');
  });

  test("opens an échéance's timeline with its attempt, webhook, email and audit rows", async ({ page }) => {
    await login(page, accounts.admin);
    await page.goto('/admin/echeances/3');
    const timeline = page.getByTestId('timeline');
    await expect(timeline.locator('[data-kind="tentative"]')).toHaveCount(1);
    await expect(timeline.locator('[data-kind="audit"]').filter({ hasText: 'en_cours → payee' })).toHaveCount(1);
    await expect(timeline.locator('[data-kind="e-mail"]').filter({ hasText: 'payment_received' })).toHaveCount(1);
    await expect(timeline.locator('[data-kind="webhook"]').filter({ hasText: 'payment_intent.succeeded' })).toHaveCount(1);
  });

  test('runs « Réconcilier maintenant » and sees the report', async ({ page }) => {
    await login(page, accounts.admin);
    await page.getByTestId('reconcile-now').click();
    const report = page.getByTestId('reconcile-report');
    await expect(report).toContainText('admin:1');
    await expect(report.getByTestId('report-checked')).toHaveText(/\d+/);
    await expect(report).toContainText('Écarts avec Stripe');
  });

  test('exports the current filter as CSV', async ({ page }) => {
    await login(page, accounts.admin);
    const csv = await page.request.get('/admin/export.csv?status=payee');
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toContain('id;libelle;client');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.includes(';payee;'))).toBe(true);
  });

  test('renders the dashboard and a timeline without JavaScript', async ({ browser, page }) => {
    await login(page, accounts.admin);
    const context = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() });
    const noJs = await context.newPage();
    await noJs.goto('/admin?status=payee');
    await expect(noJs.getByRole('heading', { name: 'Tableau de bord des échéances' })).toBeVisible();
    await expect(noJs.getByTestId('admin-table')).toBeVisible();
    await expect(noJs.getByTestId('totals')).toBeVisible();
    await noJs.goto('/admin/echeances/3');
    await expect(noJs.getByTestId('timeline')).toBeVisible();
    await context.close();
  });

  test('a customer is refused the dashboard', async ({ page }) => {
    await login(page, accounts.bruno);
    const response = await page.goto('/admin');
    expect(response?.status()).toBe(403);
    await expect(page.getByTestId('error-card')).toBeVisible();
  });
});
