import { expect, test } from '../fixtures';
import { AdminDashboard, AdminTimeline } from '../pages/admin';
import { login } from '../pages/landing';
import { FR } from '../pages/texts';
import { seedAdmin, seedCustomer } from '../support';

// The no-js project runs this file with JavaScript off: the dashboard's filters are a GET form.
test.describe('admin dashboard without JavaScript', () => {
  test('renders the dashboard and a timeline', async ({ page }) => {
    const customer = seedCustomer('nojs-dashboard', [{ cents: 30_000, due: -3, status: 'payee' }]);
    await login(page, seedAdmin('nojs-admin'), FR, false);
    const dashboard = new AdminDashboard(page);
    await dashboard.goto('?status=payee');
    await expect(dashboard.heading).toBeVisible();
    await expect(dashboard.table).toBeVisible();
    await expect(dashboard.totalsHeading).toBeVisible();
    await expect(dashboard.totals).toBeVisible();
    const timeline = new AdminTimeline(page);
    await timeline.goto(customer.echeances[0].id);
    await expect(timeline.timeline).toBeVisible();
    await expect(timeline.entries('audit')).toHaveCount(1);
  });

  test('filters by status and customer with the GET form', async ({ page }) => {
    const cleo = seedCustomer('cleo', [{ cents: 30_000, due: -8, status: 'payee' }, { cents: 30_000 }]);
    const dan = seedCustomer('dan', [{ cents: 30_000, due: -9, status: 'payee' }]);
    await login(page, seedAdmin('nojs-filters'), FR, false);
    const dashboard = new AdminDashboard(page);
    await dashboard.filterByStatus('payee');
    await dashboard.filterByCustomer(cleo, dan);
    // The form kept the status filter.
    await expect(page).toHaveURL(/status=payee&customer=/);
    await dashboard.expectOnlyStatus('payee');
  });
});

test.describe('admin actions without JavaScript', () => {
  test('« Réconcilier maintenant » (an ActionForm) runs and the report shows', async ({ page }) => {
    const admin = seedAdmin('nojs-reconcile');
    await login(page, admin, FR, false);
    const dashboard = new AdminDashboard(page);
    await dashboard.reconcile(admin);
  });

  test("« Annuler l'échéance » (an ActionForm) cancels it", async ({ page }) => {
    const customer = seedCustomer('nojs-cancel', [{ cents: 30_000, due: 10 }]);
    await login(page, seedAdmin('nojs-canceller'), FR, false);
    const timeline = new AdminTimeline(page);
    await timeline.goto(customer.echeances[0].id);
    await expect(timeline.badge).toHaveAttribute('data-status', 'a_payer');
    await timeline.cancel.click();
    await expect(timeline.badge).toHaveAttribute('data-status', 'annulee');
    await expect(timeline.audit('a_payer', 'annulee')).toHaveCount(1);
  });
});
