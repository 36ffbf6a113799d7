//! The end of a recovery link's life: when it expires unused, the
//! PaymentIntent is cancelled (with its persisted key) and the échéance
//! becomes payable again; the next charge is a new attempt.

use anyhow::anyhow;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::error::ServiceError;
use super::record::{self, StripeReport};
use super::transitions::Cause;
use crate::domain::{AttemptNo, AttemptOutcome, EcheanceId, IdempotencyKey, KeyPurpose, PaymentEvent};
use crate::ssr::entities::charge_attempt;
use crate::ssr::payments::types::PaymentIntentStatus;
use crate::ssr::state::AppState;

/// Cancels the PaymentIntents of expired links. Returns how many attempts were closed.
///
/// # Errors
/// Database failure.
pub async fn expire_links(state: &AppState, limit: u64) -> Result<u32, ServiceError> {
    let now = state.now_ms();
    let expired = charge_attempt::Entity::find()
        .filter(charge_attempt::Column::Outcome.eq(AttemptOutcome::RequiresAction.as_str()))
        .filter(charge_attempt::Column::TokenExpiresAt.lt(now))
        .limit(limit)
        .all(&state.db)
        .await?;
    let mut closed = 0;
    for attempt in expired {
        match expire_one(state, &attempt).await {
            Ok(()) => closed += 1,
            Err(e) => {
                tracing::warn!(attempt.id = attempt.id, error = %e, "could not expire the recovery link; will retry")
            }
        }
    }
    Ok(closed)
}

async fn expire_one(state: &AppState, attempt: &charge_attempt::Model) -> Result<(), ServiceError> {
    let actor = "system:link-expiry";
    let Some(pi) = attempt.payment_intent_id.as_deref() else {
        let report = StripeReport {
            payment_intent: None,
            event: Some(PaymentEvent::Abandoned),
            error: None,
        };
        record::record(state, attempt.id, report, Cause::Recovery, actor).await?;
        return Ok(());
    };
    let key = IdempotencyKey::for_attempt(
        &state.installation_id,
        EcheanceId::new(attempt.echeance_id).map_err(|e| anyhow!(e))?,
        AttemptNo::new(attempt.attempt_no).map_err(|e| anyhow!(e))?,
        KeyPurpose::Cancel,
    );
    let snapshot = match state.gateway.cancel_payment_intent(pi, &key).await {
        Ok(pi) => pi,
        // Not cancellable: it may have succeeded meanwhile. Stripe says what it is.
        Err(e) if !e.outcome_unknown() => state
            .gateway
            .retrieve_payment_intent(pi)
            .await
            .map_err(|_| ServiceError::Unavailable)?,
        Err(_) => return Err(ServiceError::Unavailable),
    };
    let report = if snapshot.status() == PaymentIntentStatus::Canceled {
        StripeReport {
            event: Some(PaymentEvent::Abandoned),
            ..StripeReport::from_payment_intent(snapshot)
        }
    } else {
        StripeReport::from_payment_intent(snapshot)
    };
    record::record(state, attempt.id, report, Cause::Recovery, actor).await?;
    Ok(())
}
