//! Cancelling an attempt's PaymentIntent on Stripe, with its persisted key,
//! and recording what Stripe says.

use super::error::ServiceError;
use super::record::{self, Recorded, StripeReport};
use super::transitions::Cause;
use crate::domain::{KeyPurpose, PaymentEvent};
use crate::ssr::entities::{charge_attempt, echeance};
use crate::ssr::payments::types::PaymentIntentStatus;
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
        let report = StripeReport { payment_intent: None, event: Some(PaymentEvent::Abandoned), error: None };
        return record::record_then(state, attempt.id, report, cause, actor, instead).await;
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
        // once it is cancelled or paid; still cancellable, the cancel stays to retry.
        Err(e) if e.is_server_error() => {
            tracing::warn!(error = %e, stripe.payment_intent = pi, "cancel answered 5xx; reading the PaymentIntent");
            let snapshot = state.gateway.retrieve_payment_intent(pi).await?;
            if !matches!(snapshot.status(), PaymentIntentStatus::Canceled | PaymentIntentStatus::Succeeded) {
                return Err(e.into());
            }
            snapshot
        }
        Err(e) => return Err(e.into()),
    };
    record::record_then(state, attempt.id, StripeReport::from_payment_intent(snapshot), cause, actor, instead).await
}

/// An older attempt succeeded while a newer one is live: cancel the newer
/// PaymentIntent so the customer cannot pay twice (a failure is logged; the
/// reconciler's drift report lists double collections).
pub async fn cancel_superseded(state: &AppState, echeance: &echeance::Model, actor: &str) {
    let Ok(Some(newer)) = attempts::of(&state.db, echeance.id, echeance.current_attempt_no).await else { return };
    if newer.outcome.is_live()
        && newer.payment_intent_id.is_some()
        && let Err(e) = Box::pin(cancel_attempt(state, &newer, Cause::Reconciler, actor, None)).await
    {
        tracing::error!(attempt.id = newer.id, error = %e, "could not cancel a superseded PaymentIntent");
    }
}
