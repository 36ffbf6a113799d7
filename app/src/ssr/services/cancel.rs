//! Cancelling an attempt's PaymentIntent on Stripe, with its persisted key,
//! and recording what Stripe says.

use super::error::ServiceError;
use super::record::{self, Recorded, StripeReport};
use super::transitions::Cause;
use crate::domain::{KeyPurpose, PaymentEvent, Refusal};
use crate::ssr::entities::{charge_attempt, echeance};
use crate::ssr::payments::GatewayError;
use crate::ssr::payments::types::{PaymentIntentSnapshot, PaymentIntentStatus};
use crate::ssr::repo::attempts;
use crate::ssr::state::AppState;

/// Cancels the attempt's PaymentIntent (with its persisted key) and records
/// what Stripe says: cancelled makes the échéance payable again (or moves it
/// by `instead`, in the same transaction: see [`record::record_then`]); when
/// it cannot be cancelled (it succeeded meanwhile), its real status is recorded.
///
/// # Errors
/// `Unavailable` when Stripe does not answer, a refusal when Stripe refuses
/// both the cancel and the read, database failure.
pub async fn cancel_attempt(
    state: &AppState,
    attempt: &charge_attempt::Model,
    cause: Cause,
    actor: &str,
    instead: Option<PaymentEvent>,
) -> Result<Recorded, ServiceError> {
    let Some(pi) = attempt.payment_intent_id.as_deref() else {
        return record::record_then(state, attempt.id, StripeReport::given_up_unsent(attempt), cause, actor, instead)
            .await;
    };
    let key = attempts::key(&state.installation_id, state.epoch, attempt, KeyPurpose::Cancel)?;
    let snapshot = match state.gateway.cancel_payment_intent(pi, &key).await {
        Ok(snapshot) => snapshot,
        // Refused (it cannot be cancelled any more): read where it stands.
        Err(e) if !e.outcome_unknown() => {
            tracing::info!(error = %e, stripe.payment_intent = pi, "cancel refused; reading the PaymentIntent");
            state.gateway.retrieve_payment_intent(pi).await?
        }
        // A 5xx Stripe may have saved for the key and replays to every retry for a day, even
        // when the cancel went through before it failed: what the PaymentIntent says settles it
        // once it is cancelled or paid. Still cancellable, it is asked once more under a key
        // derived from the first (the first's saved 5xx would answer every retry for a day); a
        // second 5xx leaves the cancel to retry.
        Err(e) if e.is_server_error() => {
            tracing::warn!(error = %e, stripe.payment_intent = pi, "cancel answered 5xx; reading the PaymentIntent");
            let snapshot = state.gateway.retrieve_payment_intent(pi).await?;
            if matches!(snapshot.status(), PaymentIntentStatus::Canceled | PaymentIntentStatus::Succeeded) {
                snapshot
            } else if !snapshot.status().is_cancellable() {
                return Err(e.into());
            } else {
                let again = key.derived("after-server-error").map_err(anyhow::Error::from)?;
                match state.gateway.cancel_payment_intent(pi, &again).await {
                    Ok(snapshot) => snapshot,
                    Err(refused) if !refused.outcome_unknown() => state.gateway.retrieve_payment_intent(pi).await?,
                    Err(_) => return Err(e.into()),
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    record::record_then(state, attempt.id, StripeReport::from_payment_intent(snapshot), cause, actor, instead).await
}

/// Attempt `paying` of échéance `echeance` succeeded: every other PaymentIntent of it that could
/// still collect (a newer one awaiting 3D Secure, a declined one the customer's open page could
/// still confirm) is stopped at once, so the customer cannot pay twice. Each was marked for the
/// follow-up worker in the success's transaction ([`attempts::mark_superseded`]): one Stripe does
/// not answer for now is asked again ([`stop_superseded`]).
pub async fn cancel_superseded(state: &AppState, echeance: i64, paying: i64, actor: &str) {
    let Ok(others) = attempts::superseded_by(&state.db, echeance, paying).await else { return };
    for other in others {
        // Its mark's time names this try (no mark: another try has just settled it).
        let Some(marked) = other.next_check_at else { continue };
        if let Err(e) = Box::pin(stop_superseded(state, &other, actor, marked)).await {
            tracing::warn!(attempt.id = other.id, error = %e, "superseded PaymentIntent not stopped yet; asked again later");
        }
    }
}

/// Stops superseded attempt `attempt`'s PaymentIntent (as [`stop_collecting`] does) and records what
/// Stripe says of it; stopped, it is never asked again. One that collected meanwhile is recorded
/// (a second collection, which the reconciler's drift report lists for a refund); one Stripe would
/// not cancel though it could is logged and left to that report. `asked_at` is this try's
/// persisted time (its mark, or the follow-up's claim): a refusal or a 5xx Stripe saved for an
/// earlier try's key is not replayed to this one.
///
/// # Errors
/// `Unavailable` when Stripe did not answer (it stays marked: asked again), database failure.
pub async fn stop_superseded(
    state: &AppState,
    attempt: &charge_attempt::Model,
    actor: &str,
    asked_at: i64,
) -> Result<(), ServiceError> {
    let now = match stop_collecting(state, attempt, &format!("superseded{asked_at}")).await? {
        Stopped::Done(now) => {
            attempts::mark_stopped(&state.db, attempt.id, state.now_ms()).await?;
            now
        }
        Stopped::Paid(now) | Stopped::Processing(now) => Some(now),
        Stopped::NoAnswer(e) => return Err(e.into()),
        Stopped::NotStopped => {
            tracing::error!(attempt.id = attempt.id, "a superseded PaymentIntent could not be stopped");
            None
        }
    };
    if let Some(now) = now {
        record::record(state, attempt.id, StripeReport::from_payment_intent(now), Cause::Reconciler, actor).await?;
    }
    attempts::checked(&state.db, attempt.id).await
}

/// What a PaymentIntent that could still collect came to when asked to stop.
#[derive(Debug)]
pub enum Stopped {
    /// Cancelled, or it can no longer collect (what Stripe said of it, when it said).
    Done(Option<PaymentIntentSnapshot>),
    /// Stripe did not answer the cancel (its outcome unknown).
    NoAnswer(GatewayError),
    /// It collected meanwhile (Stripe's PaymentIntent, to record).
    Paid(PaymentIntentSnapshot),
    /// Its payment is being processed: it may yet collect, and cannot be cancelled.
    Processing(PaymentIntentSnapshot),
    /// Refused under both keys, and still cancellable: it may yet collect.
    NotStopped,
}

impl Stopped {
    /// Why what waits on it (a cancel, a new attempt) is refused: still collecting.
    #[must_use]
    pub fn refusal(&self) -> Refusal {
        match self {
            Self::NotStopped => Refusal::CancelNotConfirmed,
            _ => Refusal::AlreadyInProgress,
        }
    }
}

/// Stops every PaymentIntent of échéance `echeance` that could still collect, on its
/// attempts numbered below `before` not stopped yet ([`attempts::unstopped_below`]), newest
/// first, each as [`stop_collecting`] does; one that can no longer collect is marked so
/// (`stopped_at`) and never asked again. The first that is not stopped (it collected, is
/// being processed, or Stripe would not cancel it) ends it, returned with its attempt; one
/// Stripe did not answer for is passed over while the others are still asked, and returned
/// at the end. `None`: none of them can collect any more.
///
/// # Errors
/// `Unavailable` when a read-back gets no answer, database failure.
pub async fn stop_every(
    state: &AppState,
    echeance: i64,
    before: i32,
    again: &str,
) -> Result<Option<(charge_attempt::Model, Stopped)>, ServiceError> {
    let mut unanswered = None;
    for attempt in attempts::unstopped_below(&state.db, echeance, before).await? {
        match stop_collecting(state, &attempt, again).await? {
            Stopped::Done(_) => attempts::mark_stopped(&state.db, attempt.id, state.now_ms()).await?,
            Stopped::NoAnswer(e) => {
                unanswered.get_or_insert((attempt, Stopped::NoAnswer(e)));
            }
            stopped => return Ok(Some((attempt, stopped))),
        }
    }
    Ok(unanswered)
}

/// Stops attempt `attempt`'s PaymentIntent from collecting, when it still could
/// ([`AttemptOutcome::may_still_collect`](crate::domain::AttemptOutcome::may_still_collect):
/// a declined one waits for a new payment method, and the customer's 3D Secure page,
/// still open, holds its client secret). Cancelled with the attempt's persisted key; a
/// refusal, or a 5xx, is read back. An answer Stripe saved for that key (a processing
/// payment's refusal, replayed once the payment failed; a 5xx, replayed for a day) does
/// not stand for the PaymentIntent of now: one still cancellable is cancelled again under
/// a key derived with `again` (the caller's own step, so that each asks once). A
/// PaymentIntent Stripe says does not exist (`resource_missing`) cannot collect.
///
/// # Errors
/// `Unavailable` when the read-back gets no answer, database failure.
async fn stop_collecting(
    state: &AppState,
    attempt: &charge_attempt::Model,
    again: &str,
) -> Result<Stopped, ServiceError> {
    let Some(pi) = attempt.payment_intent_id.as_deref().filter(|_| attempt.outcome.may_still_collect()) else {
        return Ok(Stopped::Done(None));
    };
    let key = attempts::key(&state.installation_id, state.epoch, attempt, KeyPurpose::Cancel)?;
    let second = key.derived(again).map_err(anyhow::Error::from)?;
    for (first, key) in [(true, key), (false, second)] {
        let refused = match state.gateway.cancel_payment_intent(pi, &key).await {
            Ok(cancelled) => return Ok(Stopped::Done(Some(cancelled))),
            Err(e) if e.resource_missing() => return Ok(Stopped::Done(None)),
            Err(e) if e.outcome_unknown() && !e.is_server_error() => return Ok(Stopped::NoAnswer(e)),
            Err(e) => e,
        };
        let now = match state.gateway.retrieve_payment_intent(pi).await {
            Ok(now) => now,
            Err(e) if e.resource_missing() => return Ok(Stopped::Done(None)),
            Err(e) => return Err(e.into()),
        };
        match now.payment_event() {
            Some(PaymentEvent::Succeeded) => return Ok(Stopped::Paid(now)),
            Some(PaymentEvent::Processing) => return Ok(Stopped::Processing(now)),
            _ if first && now.status().is_cancellable() => {}
            _ => {
                let cancellable = now.status().is_cancellable();
                // Stripe failed on the second key too: no answer that settles it.
                if cancellable && refused.is_server_error() {
                    return Ok(Stopped::NoAnswer(refused));
                }
                if now.status() != PaymentIntentStatus::Canceled {
                    tracing::warn!(error = %refused, stripe.payment_intent = pi, status = now.raw_status, "PaymentIntent not cancelled");
                }
                return Ok(if cancellable { Stopped::NotStopped } else { Stopped::Done(Some(now)) });
            }
        }
    }
    Ok(Stopped::Done(None))
}

/// Whether a PaymentIntent of the échéance that could still collect, and was not stopped,
/// is being processed on Stripe (confirmed again from the customer's page after it was
/// declined): read before anything is written, so a refusal leaves all as it was.
///
/// # Errors
/// `Unavailable` when Stripe does not answer, database failure.
pub async fn payment_processing(state: &AppState, row: &echeance::Model) -> Result<bool, ServiceError> {
    for attempt in attempts::unstopped_below(&state.db, row.id, row.current_attempt_no + 1).await? {
        let Some(pi) = attempt.payment_intent_id.as_deref() else { continue };
        match state.gateway.retrieve_payment_intent(pi).await {
            Ok(now) if now.payment_event() == Some(PaymentEvent::Processing) => return Ok(true),
            Ok(_) => {}
            // Stripe does not know it (another account, another mode): it cannot collect.
            Err(e) if e.resource_missing() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(false)
}
