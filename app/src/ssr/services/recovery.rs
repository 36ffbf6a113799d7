//! The end of a recovery link's life: when it expires unused, the
//! PaymentIntent is cancelled (with its persisted key) and the échéance
//! becomes payable again; the next charge is a new attempt.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::cancel::cancel_attempt;
use super::error::ServiceError;
use super::transitions::Cause;
use crate::domain::AttemptOutcome;
use crate::ssr::entities::charge_attempt;
use crate::ssr::state::AppState;

/// Cancels the PaymentIntents of expired links. Returns how many attempts were closed.
///
/// # Errors
/// Database failure.
pub async fn expire_links(state: &AppState, limit: u64) -> Result<u32, ServiceError> {
    let now = state.now_ms();
    let expired = charge_attempt::Entity::find()
        .filter(charge_attempt::Column::Outcome.eq(AttemptOutcome::RequiresAction))
        .filter(charge_attempt::Column::TokenExpiresAt.lt(now))
        // Another mode's PaymentIntents are out of these keys' reach: they wait for their mode's keys.
        .filter(charge_attempt::Column::EcheanceId.in_subquery(super::plans::echeances_of_mode_in_use(state)))
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
    cancel_attempt(
        state,
        attempt,
        Cause::Recovery,
        &crate::domain::Actor::System(crate::domain::SystemJob::LinkExpiry).stored(),
        None,
    )
    .await
    .map(|_| ())
}
