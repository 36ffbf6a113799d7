//! The reconciler: for every échéance waiting on Stripe (en cours, en
//! attente, legacy Checkout Sessions still open) it asks Stripe and converges
//! on its answer; it replays webhooks Stripe could not deliver; it deletes at
//! Stripe what an erasure on the other mode's keys could not reach; it stores a
//! report with the drift it found.
//!
//! It scales by listing PaymentIntents (pages of 100) over the window instead
//! of one `GET` per échéance, in slices side by side ([`window`]); only what
//! the list does not cover is fetched one by one, through the adapter's
//! per-endpoint rate limiter.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::error::ServiceError;
use super::lease;
use super::plans::{self, By};
use super::record::{self, StripeReport};
use super::transitions::{self, Cause};
use super::webhooks;
use super::{disputes, erasure, refunds};
use crate::domain::legacy;
use crate::domain::{
    Actor, AttemptNo, AttemptOutcome, ChargeOrigin, DisputeStatus, EcheanceId, EcheanceStatus, IdempotencyKey,
    KeyPurpose, PaymentEvent, ReconcileCounts, ReconcileProblem, ReconcileStep, Refusal, StripeList, StripeObject,
    SystemJob, key_scope,
};
use crate::ssr::entities::{charge_attempt, dispute, echeance, reconcile_report};
use crate::ssr::payments::types::{
    AttemptRef, CheckoutSessionSnapshot, DisputeSnapshot, IdOrObject, Page, PaymentIntentSnapshot, RefundSnapshot,
};
use crate::ssr::repo::column::ReportStatus;
use crate::ssr::repo::{attempts, echeances, queue};
use crate::ssr::state::AppState;
use crate::ssr::{db, installation};

pub mod window;

/// How a run is asked for.
#[derive(Clone, Debug)]
pub struct Options {
    /// The window listed on Stripe (PaymentIntents and undelivered events created since).
    pub since: Duration,
    /// Report what would change, change nothing.
    pub dry_run: bool,
    /// Who started it: an admin, the nightly schedule, the command line.
    pub trigger: Actor,
}

/// Receives progress (a terminal progress bar, or nothing).
pub trait Progress: Send + Sync {
    /// How many items this run will check.
    fn start(&self, total: u64);
    /// One more checked.
    fn inc(&self);
    /// Done.
    fn finish(&self);
}

/// No progress display.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: u64) {}
    fn inc(&self) {}
    fn finish(&self) {}
}

/// One échéance whose local status differs from Stripe's truth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// The échéance.
    pub echeance_id: i64,
    /// Status here before the run.
    pub local: EcheanceStatus,
    /// What Stripe says (PaymentIntent or session status).
    pub stripe: String,
    /// Status here after the run (or what it would be, in a dry run).
    pub resolved: EcheanceStatus,
    /// The Stripe object.
    pub stripe_object: Option<String>,
    /// Whether the run changed it.
    pub fixed: bool,
}

/// What a run found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Stored report id.
    pub id: i64,
    /// What it counted.
    #[serde(flatten)]
    pub counts: ReconcileCounts,
    /// Local ≠ Stripe.
    pub drift: Vec<Drift>,
    /// What could not be checked or applied, and why (no secrets).
    pub problems: Vec<ReconcileProblem>,
    /// The run changed nothing on purpose.
    pub dry_run: bool,
}

/// Why a run did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Another instance holds the lease.
    #[error("a reconciliation is already running")]
    AlreadyRunning,
    /// Anything else.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

const LEASE: &str = "reconciler";
const LEASE_TTL_MS: i64 = 30 * 60_000;

/// An attempt whose échéance waits on Stripe.
struct Target {
    echeance: echeance::Model,
    attempt: charge_attempt::Model,
}

/// Runs once, holding the lease.
///
/// # Errors
/// `AlreadyRunning`, or a database failure.
#[tracing::instrument(skip(state, progress), fields(trigger = %options.trigger.stored(), dry_run = options.dry_run))]
pub async fn run(state: &AppState, options: &Options, progress: &dyn Progress) -> Result<Report, ReconcileError> {
    let now = state.now_ms();
    if !lease::acquire(&state.db, LEASE, &state.instance_id, LEASE_TTL_MS, now).await.map_err(ServiceError::from)? {
        return Err(ReconcileError::AlreadyRunning);
    }
    let result = run_locked(state, options, progress).await;
    if let Err(e) = lease::release(&state.db, LEASE, &state.instance_id).await {
        tracing::warn!(error = %e, "could not release the reconciler lease (it will expire)");
    }
    let report = result?;
    tracing::info!(
        checked = report.counts.checked,
        fixed = report.counts.fixed,
        unchanged = report.counts.unchanged,
        errors = report.counts.errors,
        stripe_calls = report.counts.stripe_calls,
        events_replayed = report.counts.events_replayed,
        drift = report.drift.len(),
        "reconciliation finished"
    );
    Ok(report)
}

async fn run_locked(state: &AppState, options: &Options, progress: &dyn Progress) -> Result<Report, ServiceError> {
    let started = state.now_ms();
    let row = reconcile_report::ActiveModel {
        trigger: Set(options.trigger.stored()),
        dry_run: Set(options.dry_run),
        status: Set(ReportStatus::Running),
        started_at: Set(started),
        drift: Set("[]".to_owned()),
        error_messages: Set("[]".to_owned()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let mut report = Report { id: row.id, dry_run: options.dry_run, ..Report::default() };
    // Ten minutes of margin for clocks that disagree with Stripe's. After a restore the
    // window reaches back to the backup, whatever was asked.
    let restored_since = installation::restore_pending(&state.db).await?;
    let mut window_start = started / 1000 - i64::try_from(options.since.as_secs()).unwrap_or(i64::MAX / 2) - 600;
    if let Some(since_ms) = restored_since {
        window_start = window_start.min(since_ms / 1000 - 600);
    }

    let listed = list_window(state, window_start, &mut report).await?;
    if !options.dry_run {
        adopt_lost_attempts(state, &listed, &mut report).await;
    }
    let targets = load_targets(state).await?;
    // Still linked to a legacy Checkout Session: waiting for its money, or cancelled here while
    // the session held money to review (it stays in view until an admin has looked).
    let sessions = echeance::Entity::find()
        .filter(echeance::Column::CheckoutSessionId.is_not_null())
        .filter(
            echeance::Column::Status
                .is_in(EcheanceStatus::matching(|s| s.is_awaiting_money() || s == EcheanceStatus::Annulee)),
        )
        .all(&state.db)
        .await?;
    progress.start(u64::try_from(targets.len() + sessions.len()).unwrap_or(u64::MAX));

    for target in &targets {
        check_target(state, target, &listed, options, &mut report).await;
        progress.inc();
    }
    for session_echeance in &sessions {
        check_session(state, session_echeance, options, &mut report).await;
        progress.inc();
    }
    if !options.dry_run {
        record_late_successes(state, &listed, &mut report).await;
        match webhooks::requeue_failed(state, window_start * 1000).await {
            Ok(n) => report.counts.events_replayed += u32::try_from(n).unwrap_or(u32::MAX),
            Err(e) => report
                .problems
                .push(ReconcileProblem::Step { step: ReconcileStep::RequeueFailedWebhooks, detail: e.to_string() }),
        }
        replay_undelivered(state, window_start, &mut report).await;
        let left = erasure::forget_left_at_stripe(state).await;
        let (calls, error) = match left {
            Ok(done) => (done.calls, done.error),
            Err(e) => (0, Some(e)),
        };
        report.counts.stripe_calls += calls;
        if let Some(e) = error {
            report
                .problems
                .push(ReconcileProblem::Step { step: ReconcileStep::ErasedCustomersLeft, detail: e.to_string() });
        }
    }
    refunds_and_disputes(state, window_start, options, &mut report).await;
    collected_but_not_recorded(state, window_start * 1000, &mut report).await?;
    progress.finish();
    if let Some(since_ms) = restored_since
        && !options.dry_run
        && report.counts.errors == 0
    {
        installation::restore_reconciled(&state.db, since_ms).await?;
        tracing::info!(
            backup.taken_at_ms = since_ms,
            "the window since the restored backup is reconciled: charges resume"
        );
    }

    let mut active: reconcile_report::ActiveModel = row.into();
    active.status = Set(ReportStatus::Finished);
    active.finished_at = Set(Some(state.now_ms()));
    active.set_counts(report.counts);
    active.drift = Set(serde_json::to_string(&report.drift).map_err(anyhow::Error::from)?);
    active.error_messages = Set(serde_json::to_string(&report.problems).map_err(anyhow::Error::from)?);
    active.update(&state.db).await?;
    Ok(report)
}

async fn load_targets(state: &AppState) -> Result<Vec<Target>, ServiceError> {
    let pending = echeance::Entity::find()
        .filter(echeance::Column::Status.is_in(EcheanceStatus::matching(EcheanceStatus::is_pending_on_stripe)))
        .filter(echeance::Column::CurrentAttemptNo.gt(0))
        // Another mode's are out of these keys' reach: asked, Stripe would say it has none.
        .filter(echeance::Column::Id.in_subquery(plans::echeances_of_mode_in_use(state)))
        .order_by_asc(echeance::Column::Id)
        .all(&state.db)
        .await?;
    let mut attempts: HashMap<(i64, i32), charge_attempt::Model> = HashMap::new();
    for chunk in pending.chunks(500) {
        let rows = charge_attempt::Entity::find()
            .filter(charge_attempt::Column::EcheanceId.is_in(chunk.iter().map(|e| e.id)))
            .all(&state.db)
            .await?;
        for a in rows {
            attempts.insert((a.echeance_id, a.attempt_no), a);
        }
    }
    Ok(pending
        .into_iter()
        .filter_map(|e| attempts.remove(&(e.id, e.current_attempt_no)).map(|attempt| Target { echeance: e, attempt }))
        .collect())
}

/// PaymentIntents created in the window, by id and by our metadata.
#[derive(Default)]
struct Listed {
    by_id: HashMap<String, PaymentIntentSnapshot>,
    by_attempt: HashMap<AttemptRef, String>,
}

/// Lists the window even with nothing pending here: a success on an attempt
/// this database gave up on (declined, cancelled) is found only there.
async fn list_window(state: &AppState, window_start: i64, report: &mut Report) -> Result<Listed, ServiceError> {
    let listing = window::list(state, window_start, window::ATTEMPTS_PER_SLICE).await?;
    report.counts.stripe_calls += listing.calls;
    for e in &listing.errors {
        // What is not listed falls back to one read per échéance (still rate-limited):
        // by id, or by customer for an attempt that never learnt its PaymentIntent.
        report.counts.errors += 1;
        report.problems.push(ReconcileProblem::ListingFellBack { detail: e.to_string() });
    }
    let mut listed = Listed::default();
    for pi in listing.payment_intents {
        if let Some(r) = pi.attempt_ref(&state.installation_id) {
            listed.by_attempt.insert(r, pi.id.clone());
        }
        listed.by_id.insert(pi.id.clone(), pi);
    }
    Ok(listed)
}

async fn check_target(state: &AppState, target: &Target, listed: &Listed, options: &Options, report: &mut Report) {
    report.counts.checked += 1;
    let attempt = &target.attempt;
    let key = AttemptRef { echeance: attempt.echeance_id, attempt: attempt.attempt_no, epoch: attempt.epoch };
    // An attempt that knows its PaymentIntent is matched by that id only (and read by
    // id when the list does not hold it); metadata only finds the PaymentIntent of an
    // attempt that never learnt it — ours by installation id, and the same customer.
    let from_list = match &attempt.payment_intent_id {
        Some(id) => listed.by_id.get(id).cloned(),
        None => listed
            .by_attempt
            .get(&key)
            .and_then(|id| listed.by_id.get(id))
            .filter(|pi| pi.customer.as_ref().is_some_and(|c| c.id() == attempt.stripe_customer_id))
            .cloned(),
    };
    let snapshot = match (from_list, &attempt.payment_intent_id) {
        (Some(pi), _) => Some(pi),
        (None, Some(id)) => {
            report.counts.stripe_calls += 1;
            match state.gateway.retrieve_payment_intent(id).await {
                Ok(pi) => Some(pi),
                Err(e) => {
                    report.counts.errors += 1;
                    report.problems.push(ReconcileProblem::Echeance { id: attempt.echeance_id, detail: e.to_string() });
                    return;
                }
            }
        }
        (None, None) => None,
    };
    let local = target.echeance.status;
    if let Some(pi) = &snapshot
        && pi.payment_event() == Some(PaymentEvent::Succeeded)
        && !pi.is_for(attempt.amount_cents, &attempt.currency)
    {
        // Money was collected, but not what this attempt asked: never « payée » by itself.
        report.drift.push(Drift {
            echeance_id: attempt.echeance_id,
            local,
            stripe: format!(
                "succeeded with {} {} (attempt: {} {})",
                pi.amount, pi.currency, attempt.amount_cents, attempt.currency
            ),
            resolved: local,
            stripe_object: Some(pi.id.clone()),
            fixed: false,
        });
        report.counts.unchanged += 1;
        return;
    }
    let report_of_stripe = match snapshot {
        Some(pi) => StripeReport::from_payment_intent(pi),
        None => {
            // No PaymentIntent known for this attempt. Once it is old enough that no
            // clock (another instance's, Stripe's) and no request still in flight can
            // explain the absence, a fresh read of the customer's PaymentIntents since
            // the attempt started decides: the one with our metadata, or none ever
            // created. That read is complete by itself, so it is made whether the
            // window listing (taken at the start of the run) covered the attempt, did
            // not reach back that far, or failed.
            //
            // The margin counts from the last send, not the first: the follow-up worker
            // re-sends an unknown attempt with the same key for a day, and a re-send
            // that Stripe has not executed yet is no proof of absence. An attempt that
            // worker may touch is claimed from it first (the same compare-and-set), so a
            // re-send never runs between this read and the abandonment.
            let now = state.now_ms();
            let old_enough = !super::charge::send_may_still_land(attempt, now);
            if !(old_enough && attempt.outcome != AttemptOutcome::Succeeded) {
                report.counts.unchanged += 1;
                return;
            }
            if attempt.outcome.needs_follow_up() && !options.dry_run {
                let idle = attempt.next_check_at.is_none_or(|at| at <= now);
                let claimed = idle
                    && match queue::claim_check::<charge_attempt::Entity>(
                        &state.db,
                        attempt.id,
                        attempt.next_check_at,
                        now + super::charge::SETTLE_CLAIM_MS,
                    )
                    .await
                    {
                        Ok(claimed) => claimed,
                        Err(e) => {
                            report.counts.errors += 1;
                            report
                                .problems
                                .push(ReconcileProblem::Echeance { id: attempt.echeance_id, detail: e.to_string() });
                            return;
                        }
                    };
                if !claimed {
                    report.counts.unchanged += 1;
                    return;
                }
            }
            report.counts.stripe_calls += 1;
            match super::charge::find_on_stripe(state, attempt).await {
                Ok(Some(pi)) => StripeReport::from_payment_intent(pi),
                Ok(None) => StripeReport::given_up_unsent(attempt),
                Err(e) => {
                    report.counts.errors += 1;
                    report.problems.push(ReconcileProblem::Echeance { id: attempt.echeance_id, detail: e.to_string() });
                    return;
                }
            }
        }
    };
    let stripe_status =
        report_of_stripe.payment_intent.as_ref().map_or_else(|| "absent".to_owned(), |p| p.raw_status.clone());
    let stripe_object = report_of_stripe.payment_intent.as_ref().map(|p| p.id.clone());
    let expected = report_of_stripe.event.and_then(|ev| local.transition(ev).ok());
    let Some(expected) = expected.filter(|e| *e != local) else {
        report.counts.unchanged += 1;
        return;
    };
    if options.dry_run {
        report.drift.push(Drift {
            echeance_id: attempt.echeance_id,
            local,
            stripe: stripe_status,
            resolved: expected,
            stripe_object,
            fixed: false,
        });
        return;
    }
    match record::record(
        state,
        attempt.id,
        report_of_stripe,
        Cause::Reconciler,
        &Actor::System(SystemJob::Reconciler).stored(),
    )
    .await
    {
        Ok(recorded) => {
            let resolved = recorded.applied.as_ref().map_or(local, |a| a.to);
            let fixed = resolved != local;
            if fixed {
                report.counts.fixed += 1;
            } else {
                report.counts.unchanged += 1;
            }
            report.drift.push(Drift {
                echeance_id: attempt.echeance_id,
                local,
                stripe: stripe_status,
                resolved,
                stripe_object,
                fixed,
            });
        }
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(ReconcileProblem::Echeance { id: attempt.echeance_id, detail: e.to_string() });
        }
    }
}

async fn check_session(state: &AppState, row: &echeance::Model, options: &Options, report: &mut Report) {
    report.counts.checked += 1;
    let Some(session_id) = row.checkout_session_id.as_deref() else {
        return;
    };
    report.counts.stripe_calls += 1;
    let session = match state.gateway.retrieve_checkout_session(session_id).await {
        Ok(s) => s,
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(ReconcileProblem::Session { echeance: row.id, detail: e.to_string() });
            return;
        }
    };
    let closed = match webhooks::checkout::closed_for_good(state, &session).await {
        Ok(closed) => closed,
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(ReconcileProblem::Session { echeance: row.id, detail: e.to_string() });
            return;
        }
    };
    let stripe = session.status_words();
    if webhooks::checkout::other_amount(&session, row) || (session.is_paid() && row.status == EcheanceStatus::Annulee) {
        // Money Stripe collected, but not the échéance's amount, or for an échéance cancelled
        // here: nothing moves, an admin reviews it.
        report.counts.unchanged += 1;
        report.drift.push(Drift {
            echeance_id: row.id,
            local: row.status,
            stripe: session.summary(),
            resolved: row.status,
            stripe_object: Some(session.id.clone()),
            fixed: false,
        });
        return;
    }
    let would = webhooks::checkout::session_event(&session, row).and_then(|ev| row.status.transition(ev).ok());
    let Some(would) = would.filter(|w| *w != row.status) else {
        if row.status == EcheanceStatus::Annulee && session.is_open() {
            expire_on_annulee(state, row, &session, options, report).await;
            return;
        }
        report.counts.unchanged += 1;
        let never_collects = session.is_expired() || closed == webhooks::checkout::Closed::Unpaid;
        if never_collects && !options.dry_run {
            // Same status, but the échéance is no longer held by a session that cannot collect.
            if let Err(e) = webhooks::checkout::reconcile_checkout_session(state, &session, closed).await {
                report.counts.errors += 1;
                report.problems.push(ReconcileProblem::Session { echeance: row.id, detail: e.to_string() });
            }
        }
        return;
    };
    let drift = |fixed: bool, resolved: EcheanceStatus| Drift {
        echeance_id: row.id,
        local: row.status,
        stripe: stripe.clone(),
        resolved,
        stripe_object: Some(session.id.clone()),
        fixed,
    };
    if options.dry_run {
        report.drift.push(drift(false, would));
        return;
    }
    match webhooks::checkout::reconcile_checkout_session(state, &session, closed).await {
        Ok(true) => {
            report.counts.fixed += 1;
            report.drift.push(drift(true, would));
        }
        Ok(false) => report.counts.unchanged += 1,
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(ReconcileProblem::Session { echeance: row.id, detail: e.to_string() });
        }
    }
}

/// An « annulée » still linked to a session that can collect (an imported row: a cancel made here
/// expires the session first): the customer could still pay a cancelled échéance for up to 24 hours.
/// Expired on Stripe as a cancel does it (same key), then unlinked; reported as drift, fixed.
async fn expire_on_annulee(
    state: &AppState,
    row: &echeance::Model,
    session: &CheckoutSessionSnapshot,
    options: &Options,
    report: &mut Report,
) {
    let drift = |fixed: bool| Drift {
        echeance_id: row.id,
        local: row.status,
        stripe: session.status_words(),
        resolved: row.status,
        stripe_object: Some(session.id.clone()),
        fixed,
    };
    if options.dry_run {
        report.counts.unchanged += 1;
        report.drift.push(drift(false));
        return;
    }
    // Read again, then expired: two calls when all goes well (more when Stripe refuses or fails).
    report.counts.stripe_calls += 2;
    let actor = Actor::System(SystemJob::Reconciler).stored();
    match webhooks::checkout::close_before_charge(state, row, Cause::Reconciler, &actor).await {
        Ok(webhooks::checkout::Legacy::Free) => {
            report.counts.fixed += 1;
            report.drift.push(drift(true));
        }
        // Paid between the read and the expiry (for another amount: `OtherAmount`; for the
        // échéance's: still linked, refused as pending), or being paid: money on an « annulée »
        // that stays in view, as the next run reports it.
        Ok(_) | Err(ServiceError::Refused(Refusal::LegacyPaymentPending)) => {
            report.counts.unchanged += 1;
            report.drift.push(drift(false));
        }
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(ReconcileProblem::Session { echeance: row.id, detail: e.to_string() });
        }
    }
}

/// A Stripe object that could not be read or applied, and why.
fn object(kind: StripeObject, id: &str, cause: &impl std::fmt::Display) -> ReconcileProblem {
    ReconcileProblem::Object { kind, id: id.to_owned(), detail: cause.to_string() }
}

/// Every item of a listing of the window, following its cursor; `None` (and
/// the error reported) when Stripe does not answer.
async fn list_all<T, F, Fut>(list: StripeList, id: fn(&T) -> &str, page: F, report: &mut Report) -> Option<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, crate::ssr::payments::GatewayError>>,
{
    match walk(id, page, report).await {
        Ok(all) => Some(all),
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(ReconcileProblem::Listing { list, detail: e.to_string() });
            None
        }
    }
}

/// Every item of a listing, following its cursor (each page counted as a Stripe call).
///
/// # Errors
/// Stripe's, for the caller to report.
async fn walk<T, F, Fut>(
    id: fn(&T) -> &str,
    mut page: F,
    report: &mut Report,
) -> Result<Vec<T>, crate::ssr::payments::GatewayError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, crate::ssr::payments::GatewayError>>,
{
    let (mut all, mut after) = (Vec::new(), None);
    loop {
        report.counts.stripe_calls += 1;
        let p = page(after.take()).await?;
        let last = p.data.last().map(|item| id(item).to_owned());
        all.extend(p.data);
        match (p.has_more, last) {
            (true, Some(last)) => after = Some(last),
            _ => return Ok(all),
        }
    }
}

/// Refunds and disputes of the window whose webhooks never came (made in the
/// Dashboard, by the bank): for each PaymentIntent they touch, every refund it
/// ever had (a refund before the window counts toward a full one) then its
/// disputes, oldest first, give one target for the échéance it paid; written
/// only when it differs, so a refund followed by a dispute does not move the
/// échéance back and forth every night.
async fn refunds_and_disputes(state: &AppState, window_start: i64, options: &Options, report: &mut Report) {
    let refunded = list_all(
        StripeList::Refunds,
        |r: &RefundSnapshot| r.id.as_str(),
        |after| async move { state.gateway.list_refunds(window_start, after.as_deref()).await },
        report,
    )
    .await
    .unwrap_or_default();
    let disputes = list_all(
        StripeList::Disputes,
        |d: &DisputeSnapshot| d.id.as_str(),
        |after| async move { state.gateway.list_disputes(window_start, after.as_deref()).await },
        report,
    )
    .await
    .unwrap_or_default();
    // Each names its PaymentIntent, or only its charge (made without one): read from the charge.
    let mut disputes = disputes;
    for dispute in &mut disputes {
        if dispute.payment_intent.is_none() {
            dispute.payment_intent = payment_intent_of_charge(state, dispute.charge.as_ref(), report).await;
        }
    }
    let mut touched: BTreeMap<String, (bool, Vec<&DisputeSnapshot>)> = BTreeMap::new();
    for refund in &refunded {
        let pi = match &refund.payment_intent {
            Some(pi) => Some(pi.clone()),
            None => payment_intent_of_charge(state, refund.charge.as_ref(), report).await,
        };
        if let Some(pi) = pi {
            touched.entry(pi.id().to_owned()).or_default().0 = true;
        }
    }
    let actor = Actor::System(SystemJob::Reconciler).stored();
    let by = By { cause: Cause::Reconciler, actor: &actor, now: state.now_ms() };
    if !options.dry_run {
        for dispute in disputes.iter().rev() {
            // The disputes' own rows (status, deadline), the admins told of a new one.
            if let Err(e) = disputes::observe(state, dispute, &by).await {
                report.counts.errors += 1;
                report.problems.push(object(StripeObject::Dispute, &dispute.id, &e));
            }
        }
    }
    // Newest first from Stripe: reversed, the last one's status is the one that stays.
    for dispute in disputes.iter().rev() {
        if let Some(pi) = &dispute.payment_intent {
            touched.entry(pi.id().to_owned()).or_default().1.push(dispute);
        }
    }
    for (pi, (has_refunds, disputes)) in &touched {
        let refunds = if *has_refunds {
            let all = list_all(
                StripeList::RefundsOfPayment,
                |r: &RefundSnapshot| r.id.as_str(),
                |after| async move { state.gateway.list_refunds_of(pi, after.as_deref()).await },
                report,
            )
            .await;
            let Some(all) = all else { continue };
            all
        } else {
            Vec::new()
        };
        let mut unrecorded = false;
        if !options.dry_run {
            for refund in &refunds {
                // The refunds' own rows: ours whose answer was lost or whose status changed, or one made elsewhere.
                let mut refund = refund.clone();
                refund.payment_intent.get_or_insert_with(|| IdOrObject::Id(pi.clone()));
                if let Err(e) = refunds::observe(state, &refund, &by).await {
                    report.counts.errors += 1;
                    report.problems.push(object(StripeObject::Refund, &refund.id, &e));
                    unrecorded = true;
                }
            }
        }
        // The échéance moves after its refunds' rows, as the webhooks move it (its news carries
        // what they say went back): not before them, the next run tries again.
        if unrecorded {
            continue;
        }
        let mut said: Vec<String> =
            refunds.iter().map(|r| format!("refund {} {}", r.status.as_deref().unwrap_or("?"), r.amount)).collect();
        said.extend(disputes.iter().map(|d| format!("dispute {}", d.status.as_deref().unwrap_or("?"))));
        let events = |paid: i64| {
            let of_refunds =
                legacy::refunds_event(paid, refunds.iter().filter_map(|r| Some((r.known_status()?, r.amount))));
            of_refunds
                .into_iter()
                .chain(disputes.iter().filter_map(|d| d.known_status().and_then(DisputeStatus::payment_event)))
                .collect()
        };
        fix_collected(state, pi, events, said.join(", "), options, report).await;
    }
}

/// The PaymentIntent of `charge` (a refund or a dispute that names only its charge), if it has one.
async fn payment_intent_of_charge(
    state: &AppState,
    charge: Option<&IdOrObject>,
    report: &mut Report,
) -> Option<IdOrObject> {
    let charge = charge?;
    report.counts.stripe_calls += 1;
    match state.gateway.retrieve_charge(charge.id()).await {
        Ok(read) => read.payment_intent,
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(object(StripeObject::Charge, charge.id(), &e));
            None
        }
    }
}

/// Moves the échéance paid by `pi` along `events_for(amount)` when where they lead differs
/// from where it stands.
async fn fix_collected(
    state: &AppState,
    pi: &str,
    events_for: impl Fn(i64) -> Vec<PaymentEvent>,
    stripe: String,
    options: &Options,
    report: &mut Report,
) {
    let echeance = match webhooks::dispatch::collected_by(state, pi).await {
        Ok(Ok(echeance)) => echeance,
        // Not ours, not the paying PaymentIntent, or its success not recorded: nothing to move.
        Ok(Err(_)) => return,
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(object(StripeObject::PaymentIntent, pi, &e));
            return;
        }
    };
    report.counts.checked += 1;
    let local = echeance.status;
    let mut events = events_for(echeance.amount_cents);
    if events.contains(&PaymentEvent::RefundFailed) {
        match disputes::after_refund_failed(&state.db, pi).await {
            Ok(then) => events.extend(then),
            Err(e) => {
                report.counts.errors += 1;
                report.problems.push(object(StripeObject::PaymentIntent, pi, &e));
                return;
            }
        }
    }
    let target = events.iter().fold(local, |at, event| at.transition(*event).unwrap_or(at));
    if target == local {
        report.counts.unchanged += 1;
        return;
    }
    let drift = |fixed: bool, resolved: EcheanceStatus| Drift {
        echeance_id: echeance.id,
        local,
        stripe: stripe.clone(),
        resolved,
        stripe_object: Some(pi.to_owned()),
        fixed,
    };
    if options.dry_run {
        report.drift.push(drift(false, target));
        return;
    }
    let applied = async {
        let txn = db::begin_write(&state.db).await?;
        let id = echeances::id(&echeance)?;
        // Under the lock: a webhook applied since the read above may have moved it already.
        let now = echeances::lock(&txn, id).await?.status;
        let target = events.iter().fold(now, |at, event| at.transition(*event).unwrap_or(at));
        let mut at = now;
        for event in events.iter().filter(|_| target != now) {
            if at.transition(*event).is_ok_and(|to| to != at) {
                at = transitions::apply(
                    state,
                    &txn,
                    id,
                    *event,
                    Cause::Reconciler,
                    &Actor::System(SystemJob::Reconciler).stored(),
                    Some(stripe.clone()),
                )
                .await?
                .to;
            }
        }
        txn.commit().await?;
        Ok::<_, ServiceError>((now, at))
    }
    .await;
    match applied {
        Ok((from, to)) if from != to => {
            report.counts.fixed += 1;
            report.drift.push(drift(true, to));
        }
        Ok(_) => report.counts.unchanged += 1,
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(ReconcileProblem::Echeance { id: echeance.id, detail: e.to_string() });
        }
    }
}

/// Every PaymentIntent of ours listed in the window that Stripe says succeeded,
/// whose attempt here does not say so (a declined attempt's PaymentIntent the
/// customer confirmed later with another card, a success whose webhook never
/// came, on an échéance the run above did not look at): recorded. Success
/// wins over every open state; on a closed échéance it is drift for an admin.
async fn record_late_successes(state: &AppState, listed: &Listed, report: &mut Report) {
    let succeeded: Vec<&PaymentIntentSnapshot> =
        listed.by_id.values().filter(|pi| pi.payment_event() == Some(PaymentEvent::Succeeded)).collect();
    // Most successes were recorded long ago: one query per 500 sets them aside.
    let mut recorded = std::collections::HashSet::new();
    for chunk in succeeded.chunks(500) {
        match charge_attempt::Entity::find()
            .filter(charge_attempt::Column::PaymentIntentId.is_in(chunk.iter().map(|pi| pi.id.clone())))
            .filter(charge_attempt::Column::Outcome.eq(AttemptOutcome::Succeeded))
            .all(&state.db)
            .await
        {
            Ok(rows) => recorded.extend(rows.into_iter().filter_map(|a| a.payment_intent_id)),
            Err(e) => {
                report.counts.errors += 1;
                report
                    .problems
                    .push(ReconcileProblem::Step { step: ReconcileStep::LateSuccesses, detail: e.to_string() });
                return;
            }
        }
    }
    for pi in succeeded.into_iter().filter(|pi| !recorded.contains(&pi.id)) {
        let attempt = match attempts::of_snapshot(&state.db, pi, &state.installation_id).await {
            Ok(Some(attempt)) if attempt.outcome != AttemptOutcome::Succeeded => attempt,
            Ok(Some(_)) => continue,
            Ok(None) => {
                // Another epoch's were adopted above (or listed there, their échéance absent).
                if let Some(r) = pi.attempt_ref(&state.installation_id).filter(|r| r.epoch == state.epoch) {
                    unaccounted(state, pi, r, report).await;
                }
                continue;
            }
            Err(e) => {
                report.counts.errors += 1;
                report.problems.push(object(StripeObject::PaymentIntent, &pi.id, &e));
                continue;
            }
        };
        report.counts.checked += 1;
        record_listed(state, &attempt, pi, report).await;
    }
}

/// A success our metadata names that no attempt here accounts for (its attempt knows another
/// PaymentIntent, or is not in this database): money collected that nothing here would refund or
/// show. Never applied to the échéance (it is not the attempt's payment); listed for an admin.
async fn unaccounted(state: &AppState, pi: &PaymentIntentSnapshot, r: AttemptRef, report: &mut Report) {
    let status = match echeance::Entity::find_by_id(r.echeance).one(&state.db).await {
        Ok(row) => row.map(|e| e.status),
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(object(StripeObject::PaymentIntent, &pi.id, &e));
            return;
        }
    };
    tracing::warn!(
        echeance.id = r.echeance,
        attempt = r.attempt,
        stripe.payment_intent = pi.id.as_str(),
        "a success of ours that no attempt here accounts for"
    );
    report.counts.checked += 1;
    let (local, absent) = status.map_or((EcheanceStatus::Annulee, " (échéance absent)"), |s| (s, ""));
    report.drift.push(Drift {
        echeance_id: r.echeance,
        local,
        stripe: format!(
            "{} (accounted to no attempt here; its metadata: attempt {}){absent}",
            pi.raw_status, r.attempt
        ),
        resolved: local,
        stripe_object: Some(pi.id.clone()),
        fixed: false,
    });
}

/// Records what Stripe's list says of `attempt`'s PaymentIntent `pi`; a change is drift fixed.
async fn record_listed(
    state: &AppState,
    attempt: &charge_attempt::Model,
    pi: &PaymentIntentSnapshot,
    report: &mut Report,
) {
    let stripe = StripeReport::from_payment_intent(pi.clone());
    match record::record(state, attempt.id, stripe, Cause::Reconciler, &Actor::System(SystemJob::Reconciler).stored())
        .await
    {
        Ok(done) => match done.applied.filter(|a| a.refused.is_none() && a.to != a.from) {
            Some(applied) => {
                report.counts.fixed += 1;
                report.drift.push(Drift {
                    echeance_id: attempt.echeance_id,
                    local: applied.from,
                    stripe: pi.raw_status.clone(),
                    resolved: applied.to,
                    stripe_object: Some(pi.id.clone()),
                    fixed: true,
                });
            }
            None => report.counts.unchanged += 1,
        },
        Err(e) => {
            report.counts.errors += 1;
            report.problems.push(object(StripeObject::PaymentIntent, &pi.id, &e));
        }
    }
}

/// After a restore: the PaymentIntents an earlier epoch of this installation
/// made for attempts the restored database never heard of (made after the
/// backup). Each becomes an attempt row here — its own key and epoch kept — and
/// what Stripe says of it is recorded: an échéance collected after the backup is
/// found paid, a payment still open is followed like any other.
async fn adopt_lost_attempts(state: &AppState, listed: &Listed, report: &mut Report) {
    let mut lost: Vec<(&PaymentIntentSnapshot, AttemptRef)> = listed
        .by_id
        .values()
        .filter_map(|pi| pi.attempt_ref(&state.installation_id).filter(|r| r.epoch != state.epoch).map(|r| (pi, r)))
        .collect();
    // In the order they were made: the last one made stays the échéance's current attempt.
    lost.sort_by_key(|(_, r)| (r.epoch, r.echeance, r.attempt));
    for (pi, r) in lost {
        let adopted = match adopt_lost(state, pi, r).await {
            Ok(Adopted::Attempt(attempt)) => attempt,
            Ok(Adopted::Known) => continue,
            Ok(Adopted::NoEcheance) => {
                // Made for an échéance this database does not have (created after the backup):
                // nothing here can charge it again; an admin sees it.
                report.drift.push(Drift {
                    echeance_id: r.echeance,
                    local: EcheanceStatus::Annulee,
                    stripe: format!("{} (échéance absent since the restore)", pi.raw_status),
                    resolved: EcheanceStatus::Annulee,
                    stripe_object: Some(pi.id.clone()),
                    fixed: false,
                });
                continue;
            }
            Err(e) => {
                report.counts.errors += 1;
                report
                    .problems
                    .push(ReconcileProblem::EarlierEpoch { payment_intent: pi.id.clone(), detail: e.to_string() });
                continue;
            }
        };
        report.counts.checked += 1;
        record_listed(state, &adopted, pi, report).await;
    }
}

/// What became of a PaymentIntent of another epoch.
enum Adopted {
    /// Written as an attempt here.
    Attempt(Box<charge_attempt::Model>),
    /// This database knows it already (by its id, or its key: the same attempt restored in flight).
    Known,
    /// Its échéance is not in this database.
    NoEcheance,
}

/// Writes the attempt of a PaymentIntent made by another epoch of this
/// installation (its metadata names our installation: a restored copy of this
/// database made it; its customer may be one this copy never recorded).
async fn adopt_lost(state: &AppState, pi: &PaymentIntentSnapshot, r: AttemptRef) -> Result<Adopted, ServiceError> {
    let (Ok(id), Ok(attempt)) = (EcheanceId::new(r.echeance), AttemptNo::new(r.attempt)) else {
        return Ok(Adopted::NoEcheance);
    };
    let key = IdempotencyKey::for_attempt(&key_scope(&state.installation_id, r.epoch), id, attempt, KeyPurpose::Charge);
    let txn = db::begin_write(&state.db).await?;
    let known_key = charge_attempt::Entity::find()
        .filter(charge_attempt::Column::IdempotencyKey.eq(key.as_str()))
        .one(&txn)
        .await?
        .is_some();
    if known_key || attempts::by_payment_intent(&txn, &pi.id).await?.is_some() {
        return Ok(Adopted::Known);
    }
    let Some(row) = echeance::Entity::find_by_id(r.echeance).lock_exclusive().one(&txn).await? else {
        return Ok(Adopted::NoEcheance);
    };
    let customer = pi.customer.as_ref().map(|c| c.id().to_owned()).unwrap_or_default();
    let now = state.now_ms();
    let attempt_no = row.current_attempt_no + 1;
    let adopted = charge_attempt::ActiveModel {
        echeance_id: Set(row.id),
        attempt_no: Set(attempt_no),
        idempotency_key: Set(key.as_str().to_owned()),
        trigger: Set(ChargeOrigin::Restored),
        // The échéance's amount: a payment of another amount is drift, not this échéance paid.
        amount_cents: Set(row.amount_cents),
        currency: Set(row.currency.clone()),
        stripe_customer_id: Set(customer),
        payment_method_id: Set(pi.payment_method.as_ref().map(|p| p.id().to_owned()).unwrap_or_default()),
        payment_intent_id: Set(Some(pi.id.clone())),
        client_secret: Set(pi.client_secret.clone()),
        outcome: Set(AttemptOutcome::Pending),
        stripe_calls: Set(0),
        rearm_count: Set(0),
        started_at: Set(pi.created.saturating_mul(1000)),
        next_check_at: Set(Some(now)),
        updated_at: Set(now),
        epoch: Set(r.epoch),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    echeance::Entity::update_many()
        .col_expr(echeance::Column::CurrentAttemptNo, Expr::value(attempt_no))
        .col_expr(echeance::Column::CurrentPaymentIntentId, Expr::value(Option::<String>::None))
        .filter(echeance::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    tracing::warn!(
        echeance.id = row.id,
        stripe.payment_intent = pi.id.as_str(),
        epoch = r.epoch,
        "a payment made after the restored backup was found on Stripe: recorded"
    );
    Ok(Adopted::Attempt(Box::new(adopted)))
}

async fn replay_undelivered(state: &AppState, window_start: i64, report: &mut Report) {
    let mut after: Option<String> = None;
    loop {
        report.counts.stripe_calls += 1;
        let page = match state.gateway.list_undelivered_events(window_start, after.as_deref()).await {
            Ok(page) => page,
            Err(e) => {
                report.problems.push(ReconcileProblem::ReplayUnavailable { detail: e.to_string() });
                return;
            }
        };
        for event in &page.data {
            let body = match serde_json::to_vec(&serde_json::json!({
                "id": event.id, "type": event.event_type, "created": event.created,
                "livemode": event.livemode, "data": {"object": event.data.object},
            })) {
                Ok(b) => b,
                Err(_) => continue,
            };
            match webhooks::store(state, &body, state.now_ms()).await {
                Ok(webhooks::Ingested::Stored) => report.counts.events_replayed += 1,
                Ok(webhooks::Ingested::Duplicate) => {}
                Err(e) => report.problems.push(object(StripeObject::Event, &event.id, &e)),
            }
        }
        match (page.has_more, page.data.last()) {
            (true, Some(last)) => after = Some(last.id.clone()),
            _ => break,
        }
    }
    if report.counts.events_replayed > 0 {
        state.wake.inbox.notify_one();
        if let Err(e) = webhooks::process_pending(state, 500).await {
            report
                .problems
                .push(ReconcileProblem::Step { step: ReconcileStep::ApplyReplayedEvents, detail: e.to_string() });
        }
    }
}

/// Drift never changed automatically but listed for an admin: an attempt Stripe reported
/// collected whose échéance is not collected here (e.g. cancelled meanwhile), and an échéance
/// collected by more than one attempt (a double charge to refund) — that one every night, however
/// long ago, until what its other payments took is refunded on Stripe (read there: a refund of a
/// payment that did not pay the échéance is not one of its refunds here).
async fn collected_but_not_recorded(state: &AppState, since_ms: i64, report: &mut Report) -> Result<(), ServiceError> {
    let succeeded =
        || charge_attempt::Entity::find().filter(charge_attempt::Column::Outcome.eq(AttemptOutcome::Succeeded));
    let recent = succeeded().filter(charge_attempt::Column::UpdatedAt.gte(since_ms)).all(&state.db).await?;
    let mut ids: Vec<i64> = recent.iter().map(|a| a.echeance_id).collect();
    let twice: Vec<i64> = succeeded()
        .select_only()
        .column(charge_attempt::Column::EcheanceId)
        .group_by(charge_attempt::Column::EcheanceId)
        .having(sea_orm::sea_query::ExprTrait::gt(charge_attempt::Column::Id.count(), 1))
        .into_tuple()
        .all(&state.db)
        .await?;
    ids.extend(twice);
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        let all =
            succeeded().filter(charge_attempt::Column::EcheanceId.is_in(chunk.iter().copied())).all(&state.db).await?;
        let mut by_echeance: HashMap<i64, Vec<&charge_attempt::Model>> = HashMap::new();
        for a in &all {
            by_echeance.entry(a.echeance_id).or_default().push(a);
        }
        let rows =
            echeance::Entity::find().filter(echeance::Column::Id.is_in(chunk.iter().copied())).all(&state.db).await?;
        for e in rows {
            let attempts = by_echeance.get(&e.id).map(Vec::as_slice).unwrap_or_default();
            let collected = e.status.was_collected();
            let stripe = match attempts.len() {
                n if n > 1 && refunded_but_once(state, &e, attempts, report).await? => continue,
                n if n > 1 => format!("succeeded ×{n}"),
                _ if !collected => "succeeded".to_owned(),
                _ => continue,
            };
            let pis = attempts.iter().filter_map(|a| a.payment_intent_id.clone()).collect::<Vec<_>>().join(", ");
            report.drift.push(Drift {
                echeance_id: e.id,
                local: e.status,
                stripe,
                resolved: e.status,
                stripe_object: Some(pis),
                fixed: false,
            });
        }
    }
    Ok(())
}

/// Whether what échéance `echeance` was collected by `attempts` (more than one) went back but for
/// the payment that paid it: each other payment's succeeded refunds on Stripe, and what a dispute
/// lost took back (its row here), reach its amount. Not known (Stripe did not answer, or does not
/// know the payment; a plan of the other mode, out of these keys' reach): `false`, the double
/// charge listed. A listing that fails is reported but not counted as an error: this check only
/// says whether to list it, and must not hold a restored database's charges back.
async fn refunded_but_once(
    state: &AppState,
    echeance: &echeance::Model,
    attempts: &[&charge_attempt::Model],
    report: &mut Report,
) -> Result<bool, ServiceError> {
    if plans::of_other_mode(&state.db, state, echeance).await?.is_some() {
        return Ok(false);
    }
    let paying = attempts::paying(&state.db, echeance.id).await?.map(|a| a.id);
    for attempt in attempts.iter().filter(|a| Some(a.id) != paying) {
        let Some(pi) = attempt.payment_intent_id.as_deref() else { return Ok(false) };
        let lost: i64 = dispute::Entity::find()
            .filter(dispute::Column::PaymentIntentId.eq(pi))
            .filter(dispute::Column::Status.eq(DisputeStatus::Lost))
            .all(&state.db)
            .await?
            .iter()
            .map(|d| d.amount_cents)
            .sum();
        let refunds = walk(
            |r: &RefundSnapshot| r.id.as_str(),
            |after| async move { state.gateway.list_refunds_of(pi, after.as_deref()).await },
            report,
        )
        .await;
        let refunds = match refunds {
            Ok(refunds) => refunds,
            Err(e) if e.resource_missing() => return Ok(false),
            Err(e) => {
                let detail = e.to_string();
                report.problems.push(ReconcileProblem::Listing { list: StripeList::RefundsOfPayment, detail });
                return Ok(false);
            }
        };
        let back =
            lost + refunds.iter().filter(|r| r.status.as_deref() == Some("succeeded")).map(|r| r.amount).sum::<i64>();
        if back < attempt.amount_cents {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The latest finished report, for the dashboard.
///
/// # Errors
/// Database failure or a stored report that does not parse.
pub async fn latest(state: &AppState) -> Result<Option<(reconcile_report::Model, Vec<Drift>)>, ServiceError> {
    let Some(row) = reconcile_report::Entity::find()
        .filter(reconcile_report::Column::Status.eq(ReportStatus::Finished))
        .order_by_desc(reconcile_report::Column::Id)
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let drift: Vec<Drift> = serde_json::from_str(&row.drift).map_err(anyhow::Error::from)?;
    Ok(Some((row, drift)))
}
