//! Stripe webhooks. The inbox (here): [`ingest`] verifies the signature on
//! the raw bytes and stores the event (unique on its id) so the route can
//! answer 2xx at once. [`dispatch`] applies stored events through the state
//! machine; an event about an attempt we do not know yet is parked and
//! retried, never lost. [`checkout`] handles the original site's Checkout
//! Sessions.

pub mod checkout;
pub mod dispatch;
mod inbox_writer;

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::sync::atomic::Ordering;

pub use dispatch::process_pending;
pub use inbox_writer::InboxWriter;

use super::error::ServiceError;
use crate::ssr::entities::stripe_event;
use crate::ssr::payments::types::{EventEnvelope, IdOrObject};
use crate::ssr::payments::webhook_signature::{self, SignatureError};
use crate::ssr::repo::queue::InboxStatus;
use crate::ssr::state::AppState;

/// Why a webhook delivery is refused (answered 4xx; nothing stored).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Bad, stale or missing signature.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Signed but not a Stripe event.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// The database did not take it (answered 5xx so Stripe retries).
    #[error(transparent)]
    Unexpected(#[from] ServiceError),
}

/// What happened to a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// First time this event id is seen.
    Stored,
    /// Already in the inbox.
    Duplicate,
}

/// Verifies and stores one delivery.
///
/// # Errors
/// See [`IngestError`].
pub async fn ingest(state: &AppState, signature: Option<&str>, body: &[u8]) -> Result<Ingested, IngestError> {
    let now = state.now_ms();
    let tolerance = i64::try_from(state.settings.stripe_webhook_tolerance.as_secs()).unwrap_or(i64::MAX);
    let (verified, macs) =
        webhook_signature::check(signature, body, &state.settings.stripe_webhook_secrets, now / 1000, tolerance);
    state.counters.webhook_macs.fetch_add(u64::try_from(macs).unwrap_or(u64::MAX), Ordering::Relaxed);
    verified?;
    let ingested = store(state, body, now).await?;
    if ingested == Ingested::Stored {
        state.wake.inbox.notify_one();
    }
    Ok(ingested)
}

/// Stores an event already known to come from Stripe (a signed delivery, or
/// the Events API during reconciliation).
///
/// # Errors
/// Not an event, or database failure.
pub async fn store(state: &AppState, body: &[u8], now: i64) -> Result<Ingested, IngestError> {
    let event: EventEnvelope = serde_json::from_slice(body).map_err(|e| IngestError::Malformed(e.to_string()))?;
    if event.id.is_empty() || event.event_type.is_empty() {
        return Err(IngestError::Malformed("empty id or type".to_owned()));
    }
    let payment_intent_id = payment_intent_of(&event);
    let row = stripe_event::ActiveModel {
        stripe_event_id: Set(event.id.clone()),
        event_type: Set(event.event_type.clone()),
        livemode: Set(event.livemode),
        created_unix: Set(event.created),
        payload: Set(String::from_utf8_lossy(body).into_owned()),
        payment_intent_id: Set(payment_intent_id),
        status: Set(InboxStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        note: Set(None),
        received_at: Set(now),
        processed_at: Set(None),
        ..Default::default()
    };
    Ok(state.inbox_writer.write(row).await.map_err(ServiceError::from)?)
}

fn payment_intent_of(event: &EventEnvelope) -> Option<String> {
    let object = &event.data.object;
    match object.get("object").and_then(|o| o.as_str()) {
        Some("payment_intent") => object.get("id").and_then(|v| v.as_str()).map(str::to_owned),
        _ => object
            .get("payment_intent")
            .and_then(|v| serde_json::from_value::<IdOrObject>(v.clone()).ok())
            .map(|p| p.id().to_owned()),
    }
}

/// Puts inbox rows that gave up (failed after their last retry) and were
/// received since `since_ms` back in the queue, with a fresh count of tries:
/// the reconciler's nightly second chance (a failure once final is repaired
/// by nothing else). Returns how many.
///
/// # Errors
/// Database failure.
pub async fn requeue_failed(state: &AppState, since_ms: i64) -> Result<u64, ServiceError> {
    let now = state.now_ms();
    let result = stripe_event::Entity::update_many()
        .col_expr(stripe_event::Column::Status, Expr::value(InboxStatus::Pending))
        .col_expr(stripe_event::Column::Attempts, Expr::value(0))
        .col_expr(stripe_event::Column::NextAttemptAt, Expr::value(now))
        .col_expr(stripe_event::Column::LockedUntil, Expr::value(Option::<i64>::None))
        .filter(stripe_event::Column::Status.eq(InboxStatus::Failed))
        .filter(stripe_event::Column::ReceivedAt.gte(since_ms))
        .exec(&state.db)
        .await?;
    if result.rows_affected > 0 {
        state.wake.inbox.notify_one();
    }
    Ok(result.rows_affected)
}

/// Inbox rows that need attention, for the health check and the dashboard.
///
/// # Errors
/// Database failure.
pub async fn failed_count(db: &impl ConnectionTrait) -> Result<u64, ServiceError> {
    use sea_orm::PaginatorTrait;
    Ok(stripe_event::Entity::find().filter(stripe_event::Column::Status.eq(InboxStatus::Failed)).count(db).await?)
}
