import { expect, test } from './fixtures';
import { AdminNewPlan, AdminPlan, AdminPlans, AdminTimeline } from './pages/admin';
import { AuthenticatePage } from './pages/authenticate';
import { CARDS } from './pages/checkout';
import { InvitationPage } from './pages/invitation';
import { login } from './pages/landing';
import { mailbox, screenshot, seedAdmin, uniqueEmail } from './support';

test.describe('payment plans', () => {
  test('an admin creates a plan for a new customer, the preview following the form', async ({ page }) => {
    await login(page, seedAdmin('admin-plans'));
    const form = new AdminNewPlan(page);
    await form.goto();
    // Nothing typed yet: a hint, not a refusal.
    await expect(form.previewEmpty).toContainText('Saisissez le montant total');
    await expect(form.problems).toHaveCount(0);
    await expect(form.create).toBeDisabled();

    // 1 000,00 € in 3 monthly échéances from 31 January: cent-exact, clamped to the end of February.
    await form.total.fill('1000');
    await form.firstDue.fill('2035-01-31');
    await expect(form.rows).toHaveCount(3);
    await expect(form.rows.nth(0)).toContainText('333,34');
    await expect(form.rows.nth(1)).toContainText('28/02/2035');
    await expect(form.rows.nth(1)).toContainText('333,33');
    await expect(form.rows.nth(2)).toContainText('31/03/2035');
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

    // An explicit list instead: one échéance per line, each problem named by its line.
    await form.mode.selectOption('list');
    await form.lines.fill('2035-01-31 100\n15/02/2035 250,50\nlundi 10');
    await expect(form.problems).toContainText('date de l’échéance 3');
    await form.lines.fill('2035-01-31 100\n15/02/2035 250,50');
    await expect(form.rows).toHaveCount(2);
    await expect(form.previewTotal).toContainText('350,50');
    await form.mode.selectOption('split');

    await form.total.fill('900');
    await form.count.fill('3');
    await form.email.fill(`zoe-${Date.now()}@example.test`);
    await form.name.fill('Zoé Martin');
    await form.label.fill('Formation 2035');
    await form.create.click();
    await expect(form.created).toContainText('attend l’acceptation du client');
    await expect(form.created.locator('li a')).toHaveCount(3);
    // The same form is not sent twice (a second plan, a second invitation); a change makes another plan.
    await expect(form.create).toBeDisabled();
    await form.label.fill('Formation 2035 (bis)');
    await expect(form.create).toBeEnabled();
    await form.label.fill('Formation 2035');
    await expect(form.create).toBeDisabled();
    await screenshot(page, 'new-plan');

    // The plan's page: waiting for the customer, no consent yet; cancelled, every échéance with it.
    await form.created.getByRole('link', { name: /Échéancier n°\d+/ }).click();
    const plan = new AdminPlan(page);
    await expect(plan.status).toHaveAttribute('data-status', 'en_attente_client');
    await expect(plan.consent).toContainText('Pas encore accepté');
    await expect(plan.echeances.locator('tbody tr')).toHaveCount(3);

    // The second échéance moves to another date, between its neighbours; out of order is refused.
    const second = plan.echeances.locator('tbody tr[data-seq="2"]');
    await second.locator('input[type="date"]').fill('2035-03-31');
    await second.getByRole('button', { name: 'Déplacer' }).click();
    await expect(plan.page.getByRole('alert')).toContainText('date de l’échéance 2 : doit rester entre');
    await second.locator('input[type="date"]').fill('2035-03-01');
    await second.getByRole('button', { name: 'Déplacer' }).click();
    await expect(second).toContainText('01/03/2035');
    // A cancel is for good: the button asks for the « je confirme » box first (the browser holds the form).
    await plan.cancel.click();
    expect(await plan.confirmCancel.evaluate((box) => (box as HTMLInputElement).validity.valueMissing)).toBe(true);
    await expect(plan.cancelled).toHaveCount(0);
    await plan.confirmCancel.check();
    await plan.cancel.click();
    await expect(plan.cancelled).toContainText('3 échéances annulées');
    await expect(plan.status).toHaveAttribute('data-status', 'annule');
    await expect(plan.echeances.locator('[data-status="annulee"]')).toHaveCount(3);
    await expect(plan.history.locator('li[data-to="annule"]')).toHaveCount(1);
    await screenshot(page, 'plan-cancelled');

    // The plans list: found among the cancelled ones, not among the active ones.
    const list = new AdminPlans(page);
    await list.goto();
    await list.status.selectOption('annule');
    await list.apply.click();
    await expect(list.row('Formation 2035')).toHaveAttribute('data-status', 'annule');
    await list.status.selectOption('actif');
    await list.apply.click();
    await expect(list.row('Formation 2035')).toHaveCount(0);
  });

  test('the customer follows the emailed link, accepts, saves a 3D Secure card and pays the first échéance', async ({ browser, page }) => {
    await login(page, seedAdmin('admin-invite'));
    const form = new AdminNewPlan(page);
    await form.goto();
    const email = uniqueEmail('invited');
    await form.total.fill('600');
    await form.count.fill('3');
    await form.firstDue.fill('2035-03-15');
    await form.email.fill(email);
    await form.name.fill('Inès Invitée');
    await form.label.fill('Atelier 2035');
    await form.create.click();
    await expect(form.created).toContainText('attend l’acceptation du client');
    const planHref = await form.created.getByRole('link', { name: /Échéancier n°\d+/ }).getAttribute('href');
    const secondHref = await form.created.locator('li a').nth(1).getAttribute('href');

    // The invitation, through the SMTP server: the schedule and a signed link.
    const invitations = async () => (await mailbox(email)).filter((m) => m.subject.includes('Atelier 2035'));
    await expect.poll(async () => (await invitations()).length, { timeout: 20_000 }).toBe(1);
    const [message] = await invitations();
    expect(message.text).toContain('200,00');
    const link = /https?:\/\/\S+\/plans\/\d+\/accept\?token=\S+/.exec(message.text)?.[0] ?? '';
    expect(link).not.toBe('');

    // Another browser, nobody logged in: the link is the key.
    const context = await browser.newContext();
    const invitation = new InvitationPage(await context.newPage());
    expect(await invitation.goto(link)).toBe(200);
    await expect(invitation.rows).toHaveCount(3);
    await expect(invitation.rows.nth(1)).toContainText('15/04/2035');
    await expect(invitation.total).toContainText('600,00');
    await expect(invitation.mandate).toContainText('J’autorise');
    await expect(invitation.mandate).toContainText('« Atelier 2035 »');
    await invitation.accept.click();
    await expect(invitation.accepted).toHaveAttribute('data-status', 'en_attente_client');

    // The card, with the bank's 3D Secure while saving it; then the plan is active.
    await invitation.card.saveCard(CARDS.threeDS);
    await expect(invitation.accepted).toHaveAttribute('data-status', 'actif');
    // The peer's cards expire in 2034, before the plan's last échéance: said, not refused.
    await expect(invitation.shortLivedCard).toContainText('15/05/2035');
    await screenshot(invitation.page, 'plan-accepted');

    // The link is spent.
    const again = new InvitationPage(await context.newPage());
    expect(await again.goto(link)).toBe(410);
    await again.page.close();

    // Logged in by the link: the portal shows the plan's échéances; the first is paid now, on-session, through 3DS.
    await invitation.toPortal.click();
    const portal = invitation.card;
    await expect(portal.heading).toBeVisible();
    await expect(portal.row('Atelier 2035 — 1/3')).toHaveAttribute('data-status', 'a_payer');
    await portal.payIntoAuthentication('Atelier 2035 — 1/3');
    await new AuthenticatePage(invitation.page).complete();
    await portal.goto();
    await expect(portal.row('Atelier 2035 — 1/3')).toHaveAttribute('data-status', 'payee');
    await expect(portal.row('Atelier 2035 — 2/3')).toHaveAttribute('data-status', 'a_payer');

    // Pushed, not polled: the merchant cancels the second échéance on another screen, and the
    // customer's portal shows it at once, in the same document (no reload).
    await portal.page.evaluate(() => ((window as any).sameDocument = true));
    const timeline = new AdminTimeline(page);
    await page.goto(secondHref ?? '');
    await timeline.cancel.click();
    await expect(timeline.badge).toHaveAttribute('data-status', 'annulee');
    await expect(portal.row('Atelier 2035 — 2/3')).toHaveAttribute('data-status', 'annulee');
    expect(await portal.page.evaluate(() => (window as any).sameDocument)).toBe(true);
    await context.close();

    // The merchant sees the plan active, with the consent as given.
    await page.goto(planHref ?? '');
    const plan = new AdminPlan(page);
    await expect(plan.status).toHaveAttribute('data-status', 'actif');
    await expect(plan.consent).toContainText('J’autorise');
    await expect(plan.echeances.locator('[data-status="payee"]')).toHaveCount(1);
    await expect(plan.echeances.locator('[data-status="annulee"]')).toHaveCount(1);
    // And what was sent about it: the invitation she followed, the first échéance's receipt.
    await expect(plan.emails.locator('[data-email-kind="invitation"]')).toHaveCount(1);
    await expect(plan.emails.locator('[data-email-kind="payment_received"]')).toContainText('échéance n°1');
  });

  test('a plan whose first échéance is due today: the card typed on the acceptance page pays it through 3D Secure and is saved by that payment', async ({ browser, page }) => {
    await login(page, seedAdmin('admin-due-now'));
    const form = new AdminNewPlan(page);
    await form.goto();
    const email = uniqueEmail('due-now');
    await form.total.fill('100');
    await form.count.fill('2');
    await form.email.fill(email);
    await form.name.fill('Noé Pressé');
    await form.label.fill('Stage express');
    await form.create.click();
    await expect(form.created).toContainText('attend l’acceptation du client');

    const invitations = async () => (await mailbox(email)).filter((m) => m.subject.includes('Stage express'));
    await expect.poll(async () => (await invitations()).length, { timeout: 20_000 }).toBe(1);
    const [message] = await invitations();
    const link = /https?:\/\/\S+\/plans\/\d+\/accept\?token=\S+/.exec(message.text)?.[0] ?? '';

    const context = await browser.newContext();
    const invitation = new InvitationPage(await context.newPage());
    expect(await invitation.goto(link)).toBe(200);
    await invitation.accept.click();
    await expect(invitation.accepted).toHaveAttribute('data-status', 'en_attente_client');
    // No card yet: the card typed here pays the first échéance, on-session, and that same PaymentIntent saves it
    // (`setup_future_usage`); the bank's 3D Secure runs on the PaymentIntent's page, in the peer's modal.
    await invitation.payFirstWithCard(CARDS.threeDS);
    await expect(invitation.page).toHaveURL(/\/payment\/authenticate\/pi_/);
    await new AuthenticatePage(invitation.page).complete();

    const portal = invitation.card;
    await portal.goto();
    await expect(portal.row('Stage express — 1/2')).toHaveAttribute('data-status', 'payee');
    await expect(portal.row('Stage express — 2/2')).toHaveAttribute('data-status', 'a_payer');
    await expect(portal.savedCard('3184')).toBeVisible();
    const myPlan = invitation.page.getByTestId('my-plans').locator('li', { hasText: 'Stage express' });
    await expect(myPlan).toHaveAttribute('data-status', 'actif');

    // « Mes échéanciers »: the rest paid ahead, now, with the saved card (this card asks 3D Secure every time);
    // the plan is finished.
    await expect(myPlan).toContainText('1 échéance payée sur 2');
    await myPlan.getByRole('button', { name: 'Tout payer maintenant (50,00\u00a0€)' }).click();
    await expect(invitation.page).toHaveURL(/\/payment\/authenticate\/pi_/);
    await new AuthenticatePage(invitation.page).complete();
    await portal.goto();
    await expect(portal.row('Stage express — 2/2')).toHaveAttribute('data-status', 'payee');
    await expect(myPlan).toHaveAttribute('data-status', 'termine');
    await context.close();
  });

  test('the development home page links to the demo plan waiting for its customer', async ({ page }) => {
    await page.goto('/');
    const invitation = page.getByTestId('demo-invitations').getByRole('link', { name: /Atelier céramique — Chloé Petit/ });
    await invitation.click();
    const accept = new InvitationPage(page);
    await expect(accept.heading).toHaveAttribute('data-hydrated', 'true');
    await expect(accept.rows).toHaveCount(3);
    await expect(accept.total).toContainText('450,00');
  });
});
