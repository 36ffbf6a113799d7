//! The original site's Checkout Sessions (webhook and reconciler): paid →
//! payée; expired → payable again while the new flow has made no attempt.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::dispatch::Applied;
use crate::domain::legacy::checkout_session_event;
use crate::domain::{EcheanceId, PaymentEvent};
use crate::ssr::db;
use crate::ssr::entities::echeance;
use crate::ssr::payments::types::CheckoutSessionSnapshot;
use crate::ssr::repo::echeances;
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::transitions::{self, Cause};
use crate::ssr::state::AppState;

async fn apply_transition(
    state: &AppState,
    echeance_id: EcheanceId,
    event: PaymentEvent,
    cause: Cause,
    actor: &str,
    detail: String,
) -> Result<Applied, ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let applied = transitions::apply(state, &txn, echeance_id, event, cause, actor, Some(detail)).await?;
    txn.commit().await?;
    Ok(Applied::Done(Some(format!("{} -> {}", applied.from, applied.to))))
}

/// Applies a legacy Checkout Session (webhook or reconciler): paid → payée;
/// expired → payable again.
///
/// # Errors
/// Database failure.
pub(super) async fn apply_session(
    state: &AppState,
    session: &CheckoutSessionSnapshot,
    cause: Cause,
    actor: &str,
) -> Result<Applied, ServiceError> {
    let by_session = echeance::Entity::find()
        .filter(echeance::Column::CheckoutSessionId.eq(session.id.as_str()))
        .one(&state.db)
        .await?;
    let Some(echeance) = by_session else {
        return Ok(Applied::Ignored(format!("session-unlinked session={}", session.id)));
    };
    let Some(event) = session_event(session, &echeance) else {
        return Ok(Applied::Ignored(format!("session-not-paid session={}", session.id)));
    };
    if event == PaymentEvent::Succeeded
        && echeance.current_attempt_no == 0
        && let Some(pi) = &session.payment_intent
    {
        // Refunds and disputes of the legacy payment find their échéance by its PaymentIntent.
        echeance::Entity::update_many()
            .col_expr(echeance::Column::CurrentPaymentIntentId, Expr::value(pi.id().to_owned()))
            .filter(echeance::Column::Id.eq(echeance.id))
            .filter(echeance::Column::CurrentPaymentIntentId.is_null())
            .exec(&state.db)
            .await?;
    }
    apply_transition(state, echeances::id(&echeance)?, event, cause, actor, format!("checkout_session={}", session.id))
        .await
}

/// What a session says of its échéance (see [`checkout_session_event`]).
#[must_use]
pub fn session_event(session: &CheckoutSessionSnapshot, echeance: &echeance::Model) -> Option<PaymentEvent> {
    checkout_session_event(session.status.as_deref(), session.payment_status.as_deref(), echeance.current_attempt_no)
}

/// The reconciler's entry for legacy sessions: what Stripe says now.
///
/// # Errors
/// Database failure.
pub async fn reconcile_checkout_session(
    state: &AppState,
    session: &CheckoutSessionSnapshot,
) -> Result<bool, ServiceError> {
    Ok(matches!(apply_session(state, session, Cause::Reconciler, "system:reconciler").await?, Applied::Done(_)))
}
