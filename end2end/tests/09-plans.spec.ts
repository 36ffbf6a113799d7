import { expect, test } from './fixtures';
import { AdminNewPlan, AdminPlan } from './pages/admin';
import { login } from './pages/landing';
import { screenshot, seedAdmin } from './support';

test.describe('payment plans', () => {
  test('an admin creates a plan for a new customer, the preview following the form', async ({ page }) => {
    await login(page, seedAdmin('admin-plans'));
    const form = new AdminNewPlan(page);
    await form.goto();

    // 1 000,00 € in 3 monthly échéances from 31 January: cent-exact, clamped to the end of February.
    await form.total.fill('1000');
    await form.firstDue.fill('2099-01-31');
    await expect(form.rows).toHaveCount(3);
    await expect(form.rows.nth(0)).toContainText('333,34');
    await expect(form.rows.nth(1)).toContainText('28/02/2099');
    await expect(form.rows.nth(1)).toContainText('333,33');
    await expect(form.rows.nth(2)).toContainText('31/03/2099');
    await expect(form.previewTotal).toContainText('1 000,00');
    await expect(form.creditNotice).toHaveCount(0);

    // More échéances: the preview follows, and past three months French law calls it credit.
    await form.count.fill('5');
    await expect(form.rows).toHaveCount(5);
    await expect(form.creditNotice).toContainText('L312-4');

    // Too many for the total: the problem is named and nothing can be sent.
    await form.total.fill('1');
    await expect(form.problems).toContainText('nombre d’échéances');
    await expect(form.create).toBeDisabled();

    await form.total.fill('900');
    await form.count.fill('3');
    await form.email.fill(`zoe-${Date.now()}@example.test`);
    await form.name.fill('Zoé Martin');
    await form.label.fill('Formation 2099');
    await form.create.click();
    await expect(form.created).toContainText('attend l’acceptation du client');
    await expect(form.created.locator('li a')).toHaveCount(3);
    await screenshot(page, 'new-plan');

    // The plan's page: waiting for the customer, no consent yet; cancelled, every échéance with it.
    await form.created.getByRole('link', { name: /Échéancier n°\d+/ }).click();
    const plan = new AdminPlan(page);
    await expect(plan.status).toHaveAttribute('data-status', 'en_attente_client');
    await expect(plan.consent).toContainText('Pas encore accepté');
    await expect(plan.echeances.locator('tbody tr')).toHaveCount(3);
    await plan.cancel.click();
    await expect(plan.cancelled).toContainText('3 échéance(s) annulée(s)');
    await expect(plan.status).toHaveAttribute('data-status', 'annule');
    await expect(plan.echeances.locator('[data-status="annulee"]')).toHaveCount(3);
    await expect(plan.history.locator('li[data-to="annule"]')).toHaveCount(1);
    await screenshot(page, 'plan-cancelled');
  });
});
