import { expect, Locator } from '@playwright/test';
import { Account, Customer } from '../support';
import { PageObject } from './base';

/** `/admin`: filters (a GET form), totals, the table, « Réconcilier maintenant » and its report. */
export class AdminDashboard extends PageObject {
  readonly heading = this.page.getByRole('heading', { name: this.tx.adminTitle });
  readonly statusFilter = this.page.getByLabel(this.tx.status);
  readonly customerFilter = this.page.getByLabel(this.tx.customer, { exact: true });
  readonly applyFilters = this.page.getByRole('button', { name: this.tx.apply, exact: true });
  readonly totalsHeading = this.page.getByRole('heading', { name: this.tx.totals });
  /** The totals grid (no accessible name of its own). */
  readonly totals = this.page.getByTestId('totals');
  /** The échéances table (the one with a « Tentatives » column; the report has a table too). */
  readonly table = this.page
    .getByRole('table')
    .filter({ has: this.page.getByRole('columnheader', { name: this.tx.attempts }) });
  /** The status badges of the table's rows. */
  readonly badges = this.table.locator('.badge[data-status]');
  readonly reconcileNow = this.page.getByRole('button', { name: this.tx.reconcileNow });
  /** The last reconcile report and its « Vérifiées » figure (no accessible names of their own). */
  readonly report = this.page.getByTestId('reconcile-report');
  readonly reportChecked = this.report.getByTestId('report-checked');
  /** The whole-page error (a customer on /admin). */
  readonly alert = this.page.getByRole('alert');

  /** Opens the dashboard (with a query string, e.g. `?status=payee`); returns the HTTP status. */
  async goto(query = ''): Promise<number | undefined> {
    const response = await this.page.goto(`/admin${query}`);
    return response?.status();
  }

  /** Fills the filter form and submits it. */
  async filter(by: { status?: string; customer?: string }): Promise<void> {
    if (by.status !== undefined) await this.statusFilter.selectOption(by.status);
    if (by.customer !== undefined) await this.customerFilter.fill(by.customer);
    await this.applyFilters.click();
  }

  /** Filters by `status` with the form: the URL carries it and every row of the table has it. */
  async filterByStatus(status: string): Promise<void> {
    await this.filter({ status });
    await expect(this.page).toHaveURL(new RegExp(`status=${status}`));
    await this.expectOnlyStatus(status);
  }

  /** Filters by `shown`'s email with the form: their rows are listed, `hidden`'s are not. */
  async filterByCustomer(shown: Account, hidden: Account): Promise<void> {
    await this.filter({ customer: shown.email });
    await expect(this.page).toHaveURL(new RegExp(`customer=${encodeURIComponent(shown.email.split('@')[0])}`));
    await expect(this.table).toContainText(shown.email);
    await expect(this.table).not.toContainText(hidden.email);
  }

  /** Runs « Réconcilier maintenant » as `admin` and waits for the report of that run (it names who started it). */
  async reconcile(admin: Customer): Promise<void> {
    await this.reconcileNow.click();
    await expect(this.report).toContainText(admin.name);
    await expect(this.reportChecked).toHaveText(/\d+/);
  }

  /** Every badge of the table shows `status`, and there is at least one. One retrying assertion, not a loop over
   *  the rows: the table refreshes whenever another test's échéance changes (live updates). */
  async expectOnlyStatus(status: string): Promise<void> {
    await expect(this.badges.first()).toHaveAttribute('data-status', status);
    await expect(this.badges.and(this.page.locator(`:not([data-status="${status}"])`))).toHaveCount(0);
  }
}

/** The kinds of timeline entries (`data-kind`). */
export type EntryKind = 'tentative' | 'webhook' | 'e-mail' | 'audit' | 'refund' | 'dispute';

/** `/admin/echeances/{id}`: the échéance, its actions and its timeline. */
export class AdminTimeline extends PageObject {
  readonly heading = this.page.getByRole('heading', { name: this.tx.timeline });
  /** The timeline list (no accessible name of its own). */
  readonly timeline = this.page.getByTestId('timeline');
  /** The échéance's status badge (in the summary). */
  readonly badge = this.page.getByRole('definition').locator('.badge[data-status]');
  readonly cancel = this.page.getByRole('button', { name: this.tx.cancelEcheance });
  readonly retry = this.page.getByRole('button', { name: this.tx.retryCharge });
  readonly alert = this.page.getByRole('alert');
  readonly done = this.page.getByRole('status').filter({ hasText: this.tx.done });

  async goto(id: number): Promise<void> {
    await this.page.goto(`/admin/echeances/${id}`);
    await expect(this.heading).toBeVisible();
  }

  /** Opens the timeline of an échéance just paid, once Stripe's `payment_intent.succeeded` webhook is in. */
  async gotoPaid(id: number): Promise<void> {
    await this.goto(id);
    await this.waitFor(this.webhook('payment_intent.succeeded'));
  }

  entries(kind: EntryKind): Locator {
    return this.timeline.getByRole('listitem').and(this.page.locator(`[data-kind="${kind}"]`));
  }

  /** The audit entry of the move `from` → `to` (database statuses). */
  audit(from: string, to: string): Locator {
    return this.entries('audit').and(this.page.locator(`[data-from="${from}"][data-to="${to}"]`));
  }

  /** The email entries of `kind` (payment_received…). */
  email(kind: string): Locator {
    return this.entries('e-mail').and(this.page.locator(`[data-email-kind="${kind}"]`));
  }

  /** The webhook entries of a Stripe event type (payment_intent.succeeded…). */
  webhook(type: string): Locator {
    return this.entries('webhook').filter({ hasText: type });
  }

  /** Reloads until `entry` appears `count` times (webhooks arrive after the payment). */
  async waitFor(entry: Locator, count = 1): Promise<void> {
    await expect(async () => {
      await this.page.reload();
      await expect(entry).toHaveCount(count, { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
  }
}

/** `/admin/templates?kind=…&locale=…`: one email template's editor and its preview. */
export class AdminTemplates extends PageObject {
  /** The editor of the template on screen (the section with its « Corps HTML » field). */
  readonly editor = this.page.locator('section').filter({ has: this.page.getByLabel('Corps HTML') });
  readonly html = this.editor.getByLabel('Corps HTML');
  readonly preview = this.editor.getByRole('button', { name: 'Aperçu', exact: true });
  readonly save = this.editor.getByRole('button', { name: 'Enregistrer', exact: true });
  readonly alert = this.page.getByRole('alert');
  /** The preview's subject (no accessible name of its own). */
  readonly previewSubject = this.page.getByTestId('preview-subject');

  /** Opens the editor of `kind` in `locale`; `title` is its heading (« Reçu de paiement (fr) »). Waits for
   * the WASM: « Aperçu » and the field's value are the browser's. */
  async goto(kind: string, locale: string, title: string): Promise<void> {
    await this.page.goto(`/admin/templates?kind=${kind}&locale=${locale}`);
    await expect(this.editor.getByRole('heading', { name: title })).toBeVisible();
    await expect(this.page.getByRole('heading', { level: 1 })).toHaveAttribute('data-hydrated', 'true');
  }
}

/** `/admin/plans/new`: « Nouvel échéancier », its form and the preview that follows each keystroke. */
export class AdminNewPlan extends PageObject {
  readonly heading = this.page.getByRole('heading', { name: 'Nouvel échéancier' });
  readonly email = this.page.getByLabel('Adresse e-mail');
  readonly name = this.page.getByLabel('Nom', { exact: true });
  readonly label = this.page.getByLabel('Libellé');
  readonly total = this.page.getByLabel('Montant total');
  readonly count = this.page.getByLabel('Nombre d’échéances');
  readonly firstDue = this.page.getByLabel('Première échéance');
  readonly interval = this.page.getByLabel('Périodicité');
  /** A total split, or an explicit list (`split` / `list`), and the list's lines. */
  readonly mode = this.page.getByTestId('plan-mode');
  readonly lines = this.page.getByTestId('plan-lines');
  /** The preview's rows, one per échéance (the table has no accessible name of its own). */
  readonly rows = this.page.getByTestId('plan-preview-rows').locator('tbody tr');
  readonly previewTotal = this.page.getByTestId('plan-preview-total');
  readonly problems = this.page.getByTestId('plan-problems');
  /** What the preview says before any amount is typed. */
  readonly previewEmpty = this.page.getByTestId('plan-preview-empty');
  readonly creditNotice = this.page.getByRole('note');
  readonly create = this.page.getByRole('button', { name: 'Créer l’échéancier' });
  readonly created = this.page.getByTestId('plan-created');

  /** Opens the form and waits for the WASM (the preview is computed in the browser). */
  async goto(): Promise<void> {
    await this.page.goto('/admin/plans/new');
    await expect(this.heading).toHaveAttribute('data-hydrated', 'true');
  }
}

/** `/admin/plans/{id}`: one plan, its consent, échéances, history and « Annuler l’échéancier ». */
export class AdminPlan extends PageObject {
  /** The plan's status badge (`data-status` is the stable spelling). */
  readonly status = this.page.getByTestId('plan-status');
  /** The page's sections, by their headings. */
  readonly consent = this.page.getByRole('region', { name: 'Consentement du client' });
  readonly echeances = this.page.getByRole('region', { name: 'Échéances', exact: true });
  readonly history = this.page.getByRole('region', { name: 'Historique de l’échéancier' });
  /** Every email sent about the plan; each entry's `data-email-kind` is the email's kind. */
  readonly emails = this.page.getByRole('region', { name: 'E-mails de l’échéancier' });
  readonly cancel = this.page.getByRole('button', { name: 'Annuler l’échéancier' });
  readonly confirmCancel = this.page.getByRole('checkbox', { name: 'Je confirme l’annulation définitive de cet échéancier' });
  readonly cancelled = this.page.getByTestId('plan-cancelled');
}

/** `/admin/plans`: every plan, newest first, filtered by status. */
export class AdminPlans extends PageObject {
  readonly status = this.page.getByTestId('plans-status');
  readonly apply = this.page.getByRole('button', { name: this.tx.apply, exact: true });
  /** The list's rows; each `data-status` is the plan's status. */
  readonly rows = this.page.getByTestId('plans').locator('tbody tr');

  async goto(): Promise<void> {
    await this.page.goto('/admin/plans');
    await expect(this.page.getByRole('heading', { name: 'Échéanciers' })).toBeVisible();
  }

  row(label: string): Locator {
    return this.rows.filter({ hasText: label });
  }
}
