//! Charging an échéance with its saved card — the customer's "Payer" (sent
//! on-session: the customer is there), the due-date run, an admin's retry and
//! the automatic retry schedule (off-session) all come here.
//!
//! 1. One transaction claims the échéance (the state machine refuses a second
//!    claim while one is in flight) and writes attempt *n* with its
//!    deterministic idempotency key.
//! 2. The PaymentIntent is created and confirmed with that key; the amount is
//!    the one written in the attempt row.
//! 3. The answer is recorded ([`super::record`]). An unknown outcome (timeout,
//!    5xx, lost connection) leaves the échéance *en cours* and the attempt to
//!    [`resume`], which retries with the same key, or — once the key may have
//!    been pruned (24 h) — first looks the PaymentIntent up on Stripe.

use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::cancel::{self, Stopped};
use super::cards::{self, GivenCard};
use super::error::ServiceError;
use super::host_api::keys;
use super::record::{self, StripeReport};
use super::transitions::{self, Cause};
use super::webhooks::{self, checkout::Legacy};
use crate::domain::{
    Amount, AttemptNo, AttemptOutcome, ChargeOrigin, Currency, EcheanceId, EcheanceStatus, IdempotencyKey, Invalid,
    KeyPurpose, PaymentEvent, PlanStatus, Refusal, UserId,
};
use crate::ssr::entities::{charge_attempt, echeance};
use crate::ssr::payments::gateway::names_unknown_object;
use crate::ssr::payments::types::{CreatedRange, PaymentIntentSnapshot, PaymentIntentStatus};
use crate::ssr::payments::{GatewayError, SavedCardCharge};
use crate::ssr::repo::{attempts, echeances, queue};
use crate::ssr::state::AppState;
use crate::ssr::{db, installation};

/// Who asked for the charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The customer (must own the échéance).
    Customer(UserId),
    /// An admin.
    Admin(UserId),
    /// The due-date run.
    DueDate,
    /// The automatic retry of a soft decline.
    AutoRetry,
}

impl Trigger {
    fn origin(self) -> ChargeOrigin {
        match self {
            Self::Customer(_) => ChargeOrigin::Customer,
            Self::Admin(_) => ChargeOrigin::Admin,
            Self::DueDate => ChargeOrigin::DueDate,
            Self::AutoRetry => ChargeOrigin::AutoRetry,
        }
    }

    fn actor(self) -> String {
        let actor = match self {
            Self::Customer(id) => crate::domain::Actor::Customer(id.get()),
            Self::Admin(id) => crate::domain::Actor::Admin(id.get()),
            Self::DueDate => crate::domain::Actor::System(crate::domain::SystemJob::DueDate),
            Self::AutoRetry => crate::domain::Actor::System(crate::domain::SystemJob::Retry),
        };
        actor.stored()
    }

    fn cause(self) -> Cause {
        self.origin().cause()
    }
}

/// Where the échéance stands after a charge call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeResult {
    /// The échéance.
    pub echeance: EcheanceId,
    /// Its status now.
    pub status: EcheanceStatus,
    /// The attempt made.
    pub attempt_no: AttemptNo,
    /// The PaymentIntent, when Stripe answered with one.
    pub payment_intent_id: Option<String>,
}

impl From<ChargeResult> for crate::api::dto::PayOutcome {
    /// What the page is told: the status, and the PaymentIntent its 3D Secure page runs on when the bank asks.
    fn from(result: ChargeResult) -> Self {
        let authenticate_payment_intent =
            (result.status == EcheanceStatus::EnAttente).then_some(result.payment_intent_id).flatten();
        Self {
            echeance_id: result.echeance.get(),
            status: result.status,
            authenticate_payment_intent,
            saved_card: None,
        }
    }
}

/// How long a written attempt may wait for its answer before [`resume`] looks
/// at it: longer than the adapter's own tries with the same key can last.
fn first_check_after_ms(state: &AppState) -> i64 {
    i64::try_from((state.settings.stripe_timeout * 5).as_millis()).unwrap_or(i64::MAX).saturating_add(30_000)
}
/// How long [`resume`] (or the reconciler, before it gives an attempt up) holds
/// an attempt it settles: no one else re-sends or abandons it meanwhile.
pub(crate) const SETTLE_CLAIM_MS: i64 = 5 * 60_000;
/// Stripe keeps idempotency keys at least this long.
const KEY_RETENTION_MS: i64 = 23 * 3_600_000;
/// An attempt absent from Stripe is given up only this long after it was last sent: far past the
/// adapter's own tries, with room for clocks that disagree.
const ABANDON_AFTER_MS: i64 = 30 * 60_000;

/// Whether attempt `attempt`'s last send (or its start) is too recent for Stripe's silence about it
/// to prove anything: a request lost on the way may still reach Stripe.
pub(crate) fn send_may_still_land(attempt: &charge_attempt::Model, now: i64) -> bool {
    let last_sent = attempt.last_sent_at.map_or(attempt.started_at, |at| Ord::max(at, attempt.started_at));
    now - last_sent <= ABANDON_AFTER_MS
}

/// Charges échéance `id` with its saved card (on-session when the customer pressed « Payer »).
///
/// # Errors
/// `NotFound` (not the customer's), `RateLimited` (past the customer's budget of Stripe calls), `Refused` (not payable now, and why),
/// `Invalid` (no saved card), or a failure before anything was sent.
#[tracing::instrument(skip(state), fields(echeance.id = %id, trigger = trigger.origin().as_str()))]
pub async fn charge(state: &AppState, id: EcheanceId, trigger: Trigger) -> Result<ChargeResult, ServiceError> {
    charge_with(state, id, trigger, None, None).await
}

/// [`charge`] from the due-date run of `run_date` (today, or the day the command line asks
/// for): a due-date charge goes out only if the échéance is still due by that day once
/// locked (an admin may have moved it while the run worked through its list).
///
/// # Errors
/// As [`charge`].
#[tracing::instrument(skip(state), fields(echeance.id = %id, trigger = trigger.origin().as_str()))]
pub async fn charge_scheduled(
    state: &AppState,
    id: EcheanceId,
    trigger: Trigger,
    run_date: NaiveDate,
) -> Result<ChargeResult, ServiceError> {
    charge_with(state, id, trigger, None, Some(run_date)).await
}

/// Pays échéance `id` now, on-session, with a card customer `user_id` has just
/// typed (Stripe.js `createPaymentMethod`), and saves that card for the later
/// échéances: one PaymentIntent sent with `setup_future_usage = off_session`,
/// so the customer authenticates once (3D Secure in the page) for this payment
/// and for the merchant's later charges. The card is charged for nothing else
/// until that payment succeeds; then, in the transaction that records the
/// success (the answer, the 3DS page's check, a webhook or the reconciler), it
/// becomes the customer's default card and the plans waiting for one active.
///
/// # Errors
/// As [`charge`]; `NotFound` also for a card unknown to Stripe or another customer's.
#[tracing::instrument(skip(state), fields(echeance.id = %id))]
pub async fn charge_with_new_card(
    state: &AppState,
    id: EcheanceId,
    user_id: UserId,
    payment_method: &str,
) -> Result<ChargeResult, ServiceError> {
    let row = echeances::get(&state.db, id).await?;
    let trigger = Trigger::Customer(user_id);
    check_owner(&row, trigger)?;
    check_mode(state, &row).await?;
    // Not payable now: said before Stripe is asked about the card.
    check_payable(&row)?;
    let card = cards::given_for_payment(state, user_id, payment_method).await?;
    charge_with(state, id, trigger, Some(card), None).await
}

async fn charge_with(
    state: &AppState,
    id: EcheanceId,
    trigger: Trigger,
    new_card: Option<GivenCard>,
    run_date: Option<NaiveDate>,
) -> Result<ChargeResult, ServiceError> {
    let row = echeances::get(&state.db, id).await?;
    check_owner(&row, trigger)?;
    // Not due yet for an off-session charge: refused before anything is asked of Stripe or let go
    // (the original site's Checkout Session below stays open).
    check_due(state, &row, trigger)?;
    check_mode(state, &row).await?;
    if row.checkout_session_id.is_some() {
        // The original site's Checkout Session goes first: never two collections.
        if let Trigger::Customer(user_id) = trigger {
            state.guards.spend(user_id, state.now_ms())?;
        }
        match webhooks::checkout::close_before_charge(state, &row, trigger.cause(), &trigger.actor()).await? {
            Legacy::Free => {}
            Legacy::Collected => return Err(Refusal::Settled.into()),
            Legacy::OtherAmount => return Err(Refusal::LegacyPaymentToReview.into()),
        }
    }
    // Refused by its status (waiting for its customer's 3D Secure, paid, under way) before Stripe
    // is asked anything: a click refused so spends no Stripe call (the claim checks it again).
    check_payable(&row)?;
    // Refused with nothing written (the échéance keeps its status and retry date) while an
    // earlier PaymentIntent of it is being processed: a new attempt could collect a second time.
    if cancel::payment_processing(state, &row).await? {
        return Err(Refusal::AlreadyInProgress.into());
    }
    let (attempt, attempt_no) = claim(state, id, trigger, new_card.as_ref(), run_date).await?;
    match retire_previous(state, &attempt, trigger.cause(), &trigger.actor()).await? {
        Retired::Done => {}
        Retired::AlreadyPaid(paying) => {
            // The échéance's current attempt is the one given up: the PaymentIntent that paid is the earlier one.
            let echeance = echeances::get(&state.db, id).await?;
            return Ok(ChargeResult {
                echeance: id,
                status: echeance.status,
                attempt_no,
                payment_intent_id: Some(paying),
            });
        }
        Retired::Refused(refusal) => return Err(refusal.into()),
    }
    if let Sent::Refused(refusal) = send(state, &attempt, trigger.cause(), &trigger.actor()).await? {
        // Nothing that can collect was created on Stripe; the échéance is payable again. Say so, not "processing".
        return Err(refusal.into());
    }
    let echeance = echeances::get(&state.db, id).await?;
    Ok(ChargeResult {
        echeance: id,
        status: echeance.status,
        attempt_no,
        payment_intent_id: echeance.current_payment_intent_id,
    })
}

/// Nothing of a plan of the other Stripe mode is charged, nor asked of Stripe first: its customer
/// and cards are in that mode on Stripe, which these keys do not reach (real Stripe: "No such
/// customer"). A plan's mode never changes: checked once, before anything goes out.
async fn check_mode(state: &AppState, row: &echeance::Model) -> Result<(), ServiceError> {
    if super::plans::of_other_mode(&state.db, state, row).await?.is_some() {
        return Err(Refusal::OtherMode.into());
    }
    Ok(())
}

/// Refused by its status (awaiting its customer, settled, under way), read before the claim,
/// which checks it again under its lock.
fn check_payable(row: &echeance::Model) -> Result<(), ServiceError> {
    row.status.transition(PaymentEvent::ChargeStarted).map(|_| ()).map_err(|refused| Refusal::from(refused).into())
}

/// An admin's charge or an automatic retry (off-session) of an échéance whose date has not come is
/// refused: the customer's mandate allows charges at the schedule's dates
/// ([`ChargeOrigin::waits_for_due_date`]).
fn check_due(state: &AppState, row: &echeance::Model, trigger: Trigger) -> Result<(), ServiceError> {
    if !trigger.origin().may_charge(row.due_date, state.today()) {
        return Err(Refusal::NotDueYet.into());
    }
    Ok(())
}

/// Another customer's échéance is simply not found (ids are sequential: no counting them).
fn check_owner(row: &echeance::Model, trigger: Trigger) -> Result<(), ServiceError> {
    match trigger {
        Trigger::Customer(user_id) if row.user_id != user_id.get() => Err(ServiceError::NotFound),
        _ => Ok(()),
    }
}

/// Step 1: claim and write the attempt, in one transaction; a card the
/// customer has just given is recorded with it, not usable yet.
async fn claim(
    state: &AppState,
    id: EcheanceId,
    trigger: Trigger,
    new_card: Option<&GivenCard>,
    run_date: Option<NaiveDate>,
) -> Result<(charge_attempt::Model, AttemptNo), ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let row = echeances::lock(&txn, id).await?;
    check_owner(&row, trigger)?;
    // A restored database does not know what was charged after its backup: nothing goes
    // out until a reconcile has covered that window (it clears this).
    if installation::restore_pending(&txn).await?.is_some() {
        return Err(Refusal::RestorePending.into());
    }
    if row.checkout_session_id.is_some() {
        // Still linked to a legacy session whose payment is in progress (see `charge`).
        return Err(Refusal::LegacyPaymentPending.into());
    }
    let status = row.status;
    // The schedules decided on a snapshot: check again, under the lock, that the échéance is still due
    // (an admin may have moved its date while the due run, whose day is `run_date`, worked through its list).
    let due_now = match trigger.origin().scheduled_from() {
        None => true,
        Some(from) => {
            status == from
                && match trigger {
                    Trigger::AutoRetry => row.next_retry_at.is_some_and(|t| t <= state.now_ms()),
                    Trigger::DueDate => run_date.is_none_or(|day| row.due_date <= day),
                    Trigger::Customer(_) | Trigger::Admin(_) => true,
                }
        }
    };
    if !due_now {
        return Err(Refusal::NoLongerDue.into());
    }
    // Again under the lock: an admin may have moved its date meanwhile.
    check_due(state, &row, trigger)?;
    // Its plan, locked (a plan's cancel holds it while it checks nothing is in flight): never a
    // cancelled plan's, never one its customer has not accepted (whoever asks: the consent is what
    // allows the charges), and the schedules only charge plans they collect (accepted, not stopped).
    if let Some(plan) = super::plans::lock_of(&txn, &row).await? {
        if plan.status == PlanStatus::Annule {
            return Err(Refusal::Cancelled.into());
        }
        if !super::plans::is_accepted(&txn, plan.id).await? {
            return Err(Refusal::NotAccepted.into());
        }
        if trigger.origin().scheduled_from().is_some()
            && !plan.status.is_collected_by_schedule(state.settings.plan_on_default)
        {
            return Err(Refusal::NoLongerDue.into());
        }
    }
    if let Err(refused) = status.transition(PaymentEvent::ChargeStarted) {
        return Err(Refusal::from(refused).into());
    }
    // The customer and card of the mode in use: the plan's (`check_mode`).
    let mode = keys::current_mode(state);
    let card = match new_card {
        Some(given) => Some(given.payment_method.clone()),
        None => cards::usable(mode, row.user_id).one(&txn).await?.map(|c| c.stripe_payment_method_id),
    };
    let (Some(stripe_customer), Some(card)) = (cards::customer_of(&txn, row.user_id, mode).await?, card) else {
        return Err(Invalid::NoCard.into());
    };
    if let Trigger::Customer(user_id) = trigger {
        match new_card {
            // Its budget was spent when Stripe was asked about the card.
            Some(given) => cards::stage(&txn, user_id, given, mode, state.now_ms()).await?,
            // This one will reach Stripe (a refused click above does not): bounded per customer.
            None => state.guards.spend(user_id, state.now_ms())?,
        }
    }

    let attempt_no = AttemptNo::new(row.current_attempt_no + 1).map_err(anyhow::Error::from)?;
    let key = IdempotencyKey::for_attempt(&state.key_scope, id, attempt_no, KeyPurpose::Charge);
    let now = state.now_ms();
    let attempt = charge_attempt::ActiveModel {
        echeance_id: Set(row.id),
        attempt_no: Set(attempt_no.get()),
        idempotency_key: Set(key.as_str().to_owned()),
        trigger: Set(trigger.origin()),
        amount_cents: Set(row.amount_cents),
        currency: Set(row.currency.clone()),
        stripe_customer_id: Set(stripe_customer),
        payment_method_id: Set(card),
        saves_card: Set(new_card.is_some()),
        epoch: Set(state.epoch),
        payment_intent_id: Set(None),
        client_secret: Set(None),
        outcome: Set(AttemptOutcome::Pending),
        stripe_calls: Set(0),
        rearm_count: Set(0),
        started_at: Set(now),
        next_check_at: Set(Some(now + first_check_after_ms(state))),
        updated_at: Set(now),
        claimed_from: Set(Some(status)),
        claimed_retry_at: Set(row.next_retry_at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    echeance::Entity::update_many()
        .col_expr(echeance::Column::CurrentAttemptNo, Expr::value(attempt_no.get()))
        .col_expr(echeance::Column::CurrentPaymentIntentId, Expr::value(Option::<String>::None))
        .col_expr(echeance::Column::NextRetryAt, Expr::value(Option::<i64>::None))
        .filter(echeance::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    transitions::apply(
        state,
        &txn,
        id,
        PaymentEvent::ChargeStarted,
        trigger.cause(),
        &trigger.actor(),
        Some(format!("attempt={attempt_no}")),
    )
    .await?;
    txn.commit().await?;
    Ok((attempt, attempt_no))
}

/// What became of the previous attempt's PaymentIntent.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Retired {
    /// None left that could still collect money: send the new attempt.
    Done,
    /// It had succeeded meanwhile (recorded; its PaymentIntent): the new attempt is given up unsent.
    AlreadyPaid(String),
    /// It may yet collect (being processed, or Stripe would not cancel it): the new
    /// attempt is given up unsent, and the charge refused so.
    Refused(Refusal),
}

/// Before a new attempt is sent, every earlier PaymentIntent of the échéance
/// that could still collect is stopped ([`cancel::stop_every`]). One succeeded
/// meanwhile: that success is recorded and the new attempt given up without
/// being sent; one's payment is being processed: the new attempt is given up
/// unsent too (a backstop: [`cancel::payment_processing`] reads it before
/// anything is claimed). Stripe did not answer: the new attempt goes (holding
/// the customer's payment hostage to Stripe's silence protects nobody), and that
/// PaymentIntent is asked again before the next attempt or a cancel; the
/// reconciler reports a double collection if one ever happens.
///
/// Once the earlier PaymentIntents are stopped, none of them can succeed any more; a success
/// recorded before that (a webhook or the 3D Secure page's check, committed just after the claim,
/// or while the claimer waited on Stripe) is read then: the new attempt is given up unsent too.
async fn retire_previous(
    state: &AppState,
    attempt: &charge_attempt::Model,
    cause: Cause,
    actor: &str,
) -> Result<Retired, ServiceError> {
    let again = format!("by{}e{}", attempt.attempt_no, attempt.epoch);
    let stopped = cancel::stop_every(state, attempt.echeance_id, attempt.attempt_no, &again).await?;
    let retired = match &stopped {
        None | Some((_, Stopped::Done(_) | Stopped::NoAnswer(_))) => {
            if let Some((previous, Stopped::NoAnswer(e))) = &stopped {
                tracing::warn!(error = %e, stripe.payment_intent = previous.payment_intent_id, "previous PaymentIntent not cancelled (no answer)");
            }
            match attempts::paying(&state.db, attempt.echeance_id).await? {
                Some(paying) => Retired::AlreadyPaid(paying.payment_intent_id.unwrap_or_default()),
                None => return Ok(Retired::Done),
            }
        }
        Some((_, Stopped::Paid(now))) => Retired::AlreadyPaid(now.id.clone()),
        Some((_, stopped @ (Stopped::Processing(_) | Stopped::NotStopped))) => Retired::Refused(stopped.refusal()),
    };
    tracing::warn!(attempt.id = attempt.id, ?retired, "the new attempt is given up unsent");
    if let Some((previous, Stopped::Paid(now) | Stopped::Processing(now))) = stopped {
        record::record(state, previous.id, StripeReport::from_payment_intent(now), cause, actor).await?;
    }
    record::record(state, attempt.id, StripeReport::given_up_unsent(attempt), cause, actor).await?;
    Ok(retired)
}

/// What sending an attempt came to.
enum Sent {
    /// Stripe answered; the answer is recorded.
    Answered,
    /// Stripe refused the request itself (nothing that can collect was created).
    Refused(Refusal),
    /// No answer that settles it; `server_error` when Stripe answered 5xx (an
    /// answer Stripe may have saved for the key, replayed to every re-send).
    Unknown { server_error: bool },
}

/// Step 2 and 3: send attempt `attempt` with its key and record the answer.
async fn send(
    state: &AppState,
    attempt: &charge_attempt::Model,
    cause: Cause,
    actor: &str,
) -> Result<Sent, ServiceError> {
    let key = IdempotencyKey::parse(&attempt.idempotency_key).map_err(anyhow::Error::from)?;
    let (echeance_id, attempt_no) = attempts::ids(attempt)?;
    let charge = SavedCardCharge {
        customer_present: attempt.trigger == ChargeOrigin::Customer,
        amount: Amount::from_minor(attempt.amount_cents).map_err(anyhow::Error::from)?,
        currency: Currency::parse(&attempt.currency).map_err(anyhow::Error::from)?,
        customer: attempt.stripe_customer_id.clone(),
        payment_method: attempt.payment_method_id.clone(),
        saves_card: attempt.saves_card,
        echeance_id,
        attempt: attempt_no,
        installation: state.installation_id.to_string(),
        epoch: attempt.epoch,
    };
    note_sent(state, attempt).await?;
    let mut sent = Sent::Answered;
    let report = match state.gateway.charge_saved_card(&charge, &key).await {
        Ok(pi) => StripeReport::from_payment_intent(pi),
        Err(GatewayError::Card { detail, payment_intent }) => {
            StripeReport::from_card_error(detail, payment_intent.map(|p| *p))
        }
        // Refused before execution (a validation error: a detached card, a deleted
        // customer): nothing was created, and sending the same again would be refused
        // again. A final failure, with Stripe's words kept as the dashboard's reason and
        // the customer told to replace the card (the failure email); the due-date run
        // does not try it again. On a re-send (the first send's outcome unknown), Stripe
        // would have replayed the first request's saved answer had it run; the refusal
        // is taken as final only once the customer's PaymentIntents show none of this
        // attempt — it no longer holds the échéance « en cours » for the key's day.
        // A refusal that carries a PaymentIntent (refused at its confirmation: it exists)
        // is what that PaymentIntent says when it says something (paid, processing,
        // declined, awaiting 3D Secure); one never confirmed (`requires_confirmation`, or
        // waiting for a payment method with no error) is a refusal, linked to the attempt
        // so that the next attempt cancels it first.
        Err(GatewayError::Rejected { status: status @ (400 | 404), detail, payment_intent })
            if detail.is_invalid_request() =>
        {
            tracing::warn!(status, code = ?detail.code, resend = attempt.stripe_calls > 0, "Stripe refused the charge request");
            let found = match payment_intent {
                Some(pi) => Some(*pi),
                None if attempt.stripe_calls > 0 => find_on_stripe(state, attempt).await?,
                None => None,
            };
            match found {
                Some(pi)
                    if pi.payment_event().is_some() && pi.status() != PaymentIntentStatus::RequiresConfirmation =>
                {
                    StripeReport::from_payment_intent(pi)
                }
                found => {
                    let unknown = names_unknown_object(status, &detail);
                    sent = Sent::Refused(if unknown { Refusal::UnknownToStripe } else { Refusal::StripeRefused });
                    let event = PaymentEvent::Declined { retryable: false };
                    StripeReport { payment_intent: found, event: Some(event), error: Some(detail) }
                }
            }
        }
        Err(e) => {
            // Unknown outcome: the échéance stays en cours; `resume` settles it with the same key.
            tracing::warn!(error = %e, "charge outcome unknown");
            let server_error = e.is_server_error();
            sent = Sent::Unknown { server_error };
            StripeReport::default()
        }
    };
    record::record(state, attempt.id, report, cause, actor).await?;
    Ok(sent)
}

/// Counts a send of the attempt. Its first send's check is then a full wait away: however long
/// the earlier PaymentIntents took to stop, [`resume`] does not re-send it while that send runs
/// (a re-send is held by [`resume`]'s own claim).
async fn note_sent(state: &AppState, attempt: &charge_attempt::Model) -> Result<(), ServiceError> {
    let now = state.now_ms();
    let mut update = charge_attempt::Entity::update_many()
        .col_expr(charge_attempt::Column::LastSentAt, Expr::value(now))
        .col_expr(charge_attempt::Column::StripeCalls, Expr::col(charge_attempt::Column::StripeCalls).add(1))
        .col_expr(charge_attempt::Column::UpdatedAt, Expr::value(now));
    if attempt.stripe_calls == 0 {
        update = update.col_expr(charge_attempt::Column::NextCheckAt, Expr::value(now + first_check_after_ms(state)));
    }
    update.filter(charge_attempt::Column::Id.eq(attempt.id)).exec(&state.db).await?;
    Ok(())
}

/// Settles attempts whose outcome is unknown (or that were written but never
/// sent, after a crash): with a known PaymentIntent, asks Stripe; within the
/// key's retention, re-sends with the same key (and when Stripe answers 5xx again,
/// which it may replay from the key, looks the PaymentIntent up by metadata); past it, looks the
/// PaymentIntent up by metadata before anything else, and gives the attempt up
/// only when Stripe has none. Returns how many attempts were looked at: none while a restored
/// database waits for its reconcile.
///
/// # Errors
/// Database failure.
pub async fn resume(state: &AppState, limit: u64) -> Result<usize, ServiceError> {
    // A restored database does not know what was charged after its backup: an attempt it holds as
    // never sent may have been given up since, and its échéance paid by a later one it does not
    // know of (sent now, that attempt's key, never seen by Stripe, would charge again). As for a
    // new charge, nothing goes out until a reconcile has covered that window (it clears this).
    if installation::restore_pending(&state.db).await?.is_some() {
        return Ok(0);
    }
    let now = state.now_ms();
    // Besides those awaiting an answer: superseded ones marked to be stopped (`attempts::mark_superseded`).
    let due = charge_attempt::Entity::find()
        .filter(
            charge_attempt::Column::Outcome
                .is_in(AttemptOutcome::ALL.iter().copied().filter(|o| o.needs_follow_up() || o.may_still_collect())),
        )
        .filter(charge_attempt::Column::NextCheckAt.lte(now))
        // Another mode's are out of these keys' reach: asked, Stripe would say it has none, and
        // they would be given up. They wait for their mode's keys.
        .filter(charge_attempt::Column::EcheanceId.in_subquery(super::plans::echeances_of_mode_in_use(state)))
        .order_by_asc(charge_attempt::Column::NextCheckAt)
        .limit(limit)
        .all(&state.db)
        .await?;
    let mut handled = 0;
    for attempt in due {
        if !queue::claim_check::<charge_attempt::Entity>(
            &state.db,
            attempt.id,
            attempt.next_check_at,
            now + SETTLE_CLAIM_MS,
        )
        .await?
        {
            continue;
        }
        handled += 1;
        if let Err(e) = settle(state, &attempt, now).await {
            tracing::warn!(attempt.id = attempt.id, error = %e, "could not settle attempt; will retry");
        }
    }
    Ok(handled)
}

async fn settle(state: &AppState, attempt: &charge_attempt::Model, now: i64) -> Result<(), ServiceError> {
    let actor = &crate::domain::Actor::System(crate::domain::SystemJob::Resume).stored();
    if !attempt.outcome.needs_follow_up() {
        // Answered (declined, awaiting 3D Secure), and marked since: another attempt paid. A mark
        // without a payment (a slow first send's, after the follow-up answered it) is only cleared.
        return match attempts::paying(&state.db, attempt.echeance_id).await? {
            // This try is named by its claim's time (`resume` held it until then).
            Some(paying) if paying.id != attempt.id => {
                cancel::stop_superseded(state, attempt, actor, now + SETTLE_CLAIM_MS).await
            }
            _ => attempts::checked(&state.db, attempt.id).await,
        };
    }
    let found = if let Some(pi) = &attempt.payment_intent_id {
        Some(state.gateway.retrieve_payment_intent(pi).await?)
    } else if now - attempt.started_at < KEY_RETENTION_MS {
        // Never sent (its claimer stopped before Stripe was asked: no answer while it stopped
        // the earlier PaymentIntents, a crash): those are stopped first, as before any first send.
        if attempt.stripe_calls == 0
            && retire_previous(state, attempt, Cause::Reconciler, actor).await? != Retired::Done
        {
            return Ok(());
        }
        // Stripe still holds the key: re-sending replays the first answer, or executes it
        // once. A replayed 5xx can hide a PaymentIntent the first request did create
        // (Stripe saves a 500 for the key, for a day): then look it up by metadata.
        match send(state, attempt, Cause::Reconciler, actor).await? {
            Sent::Refused(refusal) => {
                tracing::warn!(attempt.id = attempt.id, %refusal, "Stripe refused the re-sent charge");
                return Ok(());
            }
            Sent::Unknown { server_error: true } => match find_on_stripe(state, attempt).await? {
                Some(found) => Some(found),
                None => return Ok(()),
            },
            Sent::Answered | Sent::Unknown { server_error: false } => return Ok(()),
        }
    } else {
        match find_on_stripe(state, attempt).await? {
            // Re-sent just before the key's day ended: that request may still land.
            None if send_may_still_land(attempt, now) => return Ok(()),
            found => found,
        }
    };
    let report = match found {
        Some(pi) => StripeReport::from_payment_intent(pi),
        None => {
            tracing::warn!(
                attempt.id = attempt.id,
                "no PaymentIntent on Stripe for an old unknown attempt: giving it up"
            );
            StripeReport::given_up_unsent(attempt)
        }
    };
    record::record(state, attempt.id, report, Cause::Reconciler, actor).await?;
    Ok(())
}

/// Looks for the PaymentIntent of `attempt` on Stripe: the customer's
/// PaymentIntents created since shortly before the attempt started, matched on
/// our metadata.
///
/// # Errors
/// Stripe unavailable.
pub async fn find_on_stripe(
    state: &AppState,
    attempt: &charge_attempt::Model,
) -> Result<Option<PaymentIntentSnapshot>, ServiceError> {
    let since = attempt.started_at / 1000 - 600;
    let mut after: Option<String> = None;
    loop {
        let page = state
            .gateway
            .list_payment_intents(CreatedRange::since(since), Some(&attempt.stripe_customer_id), after.as_deref())
            .await?;
        if let Some(found) = page.data.iter().find(|pi| {
            pi.attempt_ref(&state.installation_id)
                .is_some_and(|r| r.names(attempt.echeance_id, attempt.attempt_no, attempt.epoch))
                && pi.customer.as_ref().is_some_and(|c| c.id() == attempt.stripe_customer_id)
        }) {
            return Ok(Some(found.clone()));
        }
        match (page.has_more, page.data.last()) {
            (true, Some(last)) => after = Some(last.id.clone()),
            _ => return Ok(None),
        }
    }
}
