//! Stripe webhooks: [`ingest`] verifies the signature on the raw bytes and
//! stores the event (unique on its id) so the route can answer 2xx at once;
//! [`process_pending`] applies stored events through the state machine. An
//! event about an attempt we do not know yet is parked and retried, never lost.

use anyhow::anyhow;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult,
};

use super::error::ServiceError;
use super::record::{self, StripeReport};
use super::transitions::{self, Cause};
use crate::domain::{PaymentEvent, TransitionError};
use crate::ssr::db;
use crate::ssr::entities::{charge_attempt, echeance, stripe_event};
use crate::ssr::payments::types::{
    ChargeSnapshot, CheckoutSessionSnapshot, DisputeSnapshot, EventEnvelope, IdOrObject, PaymentIntentSnapshot,
    PaymentIntentStatus,
};
use crate::ssr::payments::webhook_signature::{self, SignatureError};
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

/// Inbox row statuses.
pub mod status {
    /// To process (or to retry at `next_attempt_at`).
    pub const PENDING: &str = "pending";
    /// Applied.
    pub const PROCESSED: &str = "processed";
    /// Stored and acknowledged; nothing to do (unknown type, not ours).
    pub const IGNORED: &str = "ignored";
    /// Gave up after every retry.
    pub const FAILED: &str = "failed";
}

/// Verifies and stores one delivery.
///
/// # Errors
/// See [`IngestError`].
pub async fn ingest(state: &AppState, signature: Option<&str>, body: &[u8]) -> Result<Ingested, IngestError> {
    let now = state.now_ms();
    let tolerance = i64::try_from(state.settings.stripe_webhook_tolerance.as_secs()).unwrap_or(i64::MAX);
    webhook_signature::verify(signature, body, &state.settings.stripe_webhook_secrets, now / 1000, tolerance)?;
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
        status: Set(status::PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        note: Set(None),
        received_at: Set(now),
        processed_at: Set(None),
        ..Default::default()
    };
    let result = stripe_event::Entity::insert(row)
        .on_conflict(OnConflict::column(stripe_event::Column::StripeEventId).do_nothing().to_owned())
        .try_insert()
        .exec(&state.db)
        .await
        .map_err(ServiceError::from)?;
    Ok(match result {
        TryInsertResult::Inserted(_) => Ingested::Stored,
        TryInsertResult::Conflicted | TryInsertResult::Empty => Ingested::Duplicate,
    })
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

/// What applying one event came to.
#[derive(Debug)]
enum Applied {
    Done(Option<String>),
    Ignored(String),
    /// Not applicable yet (its attempt is unknown): retry later.
    Later(String),
}

/// How long an event may wait for its target row before it is given up.
const MAX_PARKED_ATTEMPTS: i32 = 12;

/// Applies up to `limit` due events. Returns how many were handled.
///
/// # Errors
/// Database failure while claiming.
pub async fn process_pending(state: &AppState, limit: u64) -> Result<usize, ServiceError> {
    let batch = claim(state, limit).await?;
    let count = batch.len();
    for row in batch {
        let result = apply(state, &row).await;
        let now = state.now_ms();
        let mut update = stripe_event::Entity::update_many()
            .col_expr(stripe_event::Column::Attempts, Expr::col(stripe_event::Column::Attempts).add(1))
            .col_expr(stripe_event::Column::LockedUntil, Expr::value(Option::<i64>::None))
            .filter(stripe_event::Column::Id.eq(row.id));
        update = match result {
            Ok(Applied::Done(note)) => update
                .col_expr(stripe_event::Column::Status, Expr::value(status::PROCESSED))
                .col_expr(stripe_event::Column::ProcessedAt, Expr::value(now))
                .col_expr(stripe_event::Column::Note, Expr::value(note)),
            Ok(Applied::Ignored(note)) => update
                .col_expr(stripe_event::Column::Status, Expr::value(status::IGNORED))
                .col_expr(stripe_event::Column::ProcessedAt, Expr::value(now))
                .col_expr(stripe_event::Column::Note, Expr::value(note)),
            Ok(Applied::Later(reason)) | Err(ServiceError::Conflict(reason)) => park(update, &row, now, &reason),
            Err(e) => {
                tracing::warn!(stripe.event = row.stripe_event_id, error = %e, "event processing failed; will retry");
                park(update, &row, now, &e.to_string())
            }
        };
        update.exec(&state.db).await?;
    }
    Ok(count)
}

fn park(
    update: sea_orm::UpdateMany<stripe_event::Entity>,
    row: &stripe_event::Model,
    now: i64,
    reason: &str,
) -> sea_orm::UpdateMany<stripe_event::Entity> {
    let attempts = row.attempts + 1;
    let status = if attempts >= MAX_PARKED_ATTEMPTS { status::FAILED } else { status::PENDING };
    // 2 s, 4 s, 8 s… up to about 2 h between tries.
    let delay_ms = 1_000_i64 << attempts.clamp(1, 13);
    update
        .col_expr(stripe_event::Column::Status, Expr::value(status))
        .col_expr(stripe_event::Column::NextAttemptAt, Expr::value(now + delay_ms))
        .col_expr(stripe_event::Column::LastError, Expr::value(reason.to_owned()))
}

/// Takes a batch of due events for this process (see [`db::claim_batch`]).
async fn claim(state: &AppState, limit: u64) -> Result<Vec<stripe_event::Model>, ServiceError> {
    let now = state.now_ms();
    let due = stripe_event::Entity::find()
        .filter(stripe_event::Column::Status.eq(status::PENDING))
        .filter(stripe_event::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(stripe_event::Column::LockedUntil.is_null())
                .add(stripe_event::Column::LockedUntil.lt(now)),
        )
        .order_by_asc(stripe_event::Column::NextAttemptAt)
        .order_by_asc(stripe_event::Column::Id)
        .limit(limit);
    let lease = now + 60_000;
    Ok(db::claim_batch(&state.db, due, stripe_event::Column::Id, stripe_event::Column::LockedUntil, |r| r.id, lease)
        .await?)
}

async fn apply(state: &AppState, row: &stripe_event::Model) -> Result<Applied, ServiceError> {
    let event: EventEnvelope = serde_json::from_str(&row.payload).map_err(|e| anyhow!(e))?;
    let actor = format!("stripe:{}", event.id);
    let object = event.data.object.clone();
    match event.event_type.as_str() {
        "payment_intent.succeeded"
        | "payment_intent.payment_failed"
        | "payment_intent.requires_action"
        | "payment_intent.processing"
        | "payment_intent.canceled" => {
            let pi: PaymentIntentSnapshot = serde_json::from_value(object).map_err(|e| anyhow!(e))?;
            apply_payment_intent(state, pi, &actor).await
        }
        "charge.refunded" => {
            let charge: ChargeSnapshot = serde_json::from_value(object).map_err(|e| anyhow!(e))?;
            let full = charge.refunded || (charge.amount > 0 && charge.amount_refunded >= charge.amount);
            apply_to_collected(
                state,
                charge.payment_intent.as_ref(),
                PaymentEvent::Refunded { full },
                &actor,
                format!("charge {}", charge.id),
            )
            .await
        }
        "charge.dispute.created" => {
            let dispute: DisputeSnapshot = serde_json::from_value(object).map_err(|e| anyhow!(e))?;
            let detail = format!("dispute {} ({})", dispute.id, dispute.reason.as_deref().unwrap_or("?"));
            apply_to_collected(state, dispute.payment_intent.as_ref(), PaymentEvent::DisputeOpened, &actor, detail)
                .await
        }
        "checkout.session.completed" => {
            let session: CheckoutSessionSnapshot = serde_json::from_value(object).map_err(|e| anyhow!(e))?;
            apply_checkout_session(state, &session, Cause::Webhook, &actor).await
        }
        other => Ok(Applied::Ignored(format!("type {other} not handled"))),
    }
}

async fn apply_payment_intent(
    state: &AppState,
    pi: PaymentIntentSnapshot,
    actor: &str,
) -> Result<Applied, ServiceError> {
    let Some(attempt) = record::find_attempt(state, &pi).await? else {
        return Ok(match pi.attempt_ref() {
            // Ours, but its attempt row is not there (yet): retry later.
            Some(_) => Applied::Later(format!("attempt of {} not found yet", pi.id)),
            None => Applied::Ignored(format!("{} is not an échéance payment", pi.id)),
        });
    };
    // A success is final and says everything. Any other event is a snapshot that
    // may be older than what happened since (events come in any order): ask
    // Stripe where the PaymentIntent stands now.
    let pi = if pi.status() == PaymentIntentStatus::Succeeded {
        pi
    } else {
        state.gateway.retrieve_payment_intent(&pi.id).await.map_err(|_| ServiceError::Unavailable)?
    };
    let recorded =
        record::record(state, attempt.id, StripeReport::from_payment_intent(pi), Cause::Webhook, actor).await?;
    Ok(Applied::Done(recorded.applied.map(|a| format!("{} -> {}", a.from.as_str(), a.to.as_str()))))
}

async fn apply_to_collected(
    state: &AppState,
    payment_intent: Option<&IdOrObject>,
    event: PaymentEvent,
    actor: &str,
    detail: String,
) -> Result<Applied, ServiceError> {
    let Some(pi) = payment_intent else {
        return Ok(Applied::Ignored("no payment_intent on the object".to_owned()));
    };
    // Only the PaymentIntent that paid the échéance moves it; a refund of a
    // duplicate leaves the échéance paid (the audit trail is the event itself).
    let Some(echeance) =
        echeance::Entity::find().filter(echeance::Column::CurrentPaymentIntentId.eq(pi.id())).one(&state.db).await?
    else {
        let known = charge_attempt::Entity::find()
            .filter(charge_attempt::Column::PaymentIntentId.eq(pi.id()))
            .one(&state.db)
            .await?;
        return Ok(match known {
            Some(a) => {
                Applied::Ignored(format!("{} is not the PaymentIntent that paid échéance {}", pi.id(), a.echeance_id))
            }
            None => Applied::Later(format!("no échéance for {} yet", pi.id())),
        });
    };
    let txn = db::begin_write(&state.db).await?;
    let applied = transitions::apply(state, &txn, echeance.id, event, Cause::Webhook, actor, Some(detail)).await?;
    txn.commit().await?;
    match applied.refused {
        // The success that comes before it has not been applied yet (no ordering guarantee): later.
        Some(TransitionError::NotApplicable { .. }) if !applied.from.was_collected() => {
            Ok(Applied::Later(format!("échéance {} is not collected yet", echeance.id)))
        }
        _ => Ok(Applied::Done(Some(format!("{} -> {}", applied.from.as_str(), applied.to.as_str())))),
    }
}

async fn apply_transition(
    state: &AppState,
    echeance_id: i64,
    event: PaymentEvent,
    cause: Cause,
    actor: &str,
    detail: String,
) -> Result<Applied, ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let applied = transitions::apply(state, &txn, echeance_id, event, cause, actor, Some(detail)).await?;
    txn.commit().await?;
    Ok(Applied::Done(Some(format!("{} -> {}", applied.from.as_str(), applied.to.as_str()))))
}

/// Applies a legacy Checkout Session (webhook or reconciler): paid → payée;
/// expired → payable again.
///
/// # Errors
/// Database failure.
async fn apply_checkout_session(
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
        return Ok(Applied::Ignored(format!("checkout session {} is not linked to an échéance", session.id)));
    };
    let event = match (session.status.as_deref(), session.payment_status.as_deref()) {
        (_, Some("paid")) => PaymentEvent::Succeeded,
        // Once the new flow has made an attempt, the old session's expiry says nothing about it.
        (Some("expired"), _) if echeance.current_attempt_no == 0 => PaymentEvent::Abandoned,
        _ => {
            return Ok(Applied::Ignored(format!("checkout session {} not paid", session.id)));
        }
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
    apply_transition(state, echeance.id, event, cause, actor, format!("checkout session {}", session.id)).await
}

/// The reconciler's entry for legacy sessions: what Stripe says now.
///
/// # Errors
/// Database failure.
pub async fn reconcile_checkout_session(
    state: &AppState,
    session: &CheckoutSessionSnapshot,
) -> Result<bool, ServiceError> {
    Ok(matches!(
        apply_checkout_session(state, session, Cause::Reconciler, "system:reconciler").await?,
        Applied::Done(_)
    ))
}

/// Inbox rows that need attention, for the health check and the dashboard.
///
/// # Errors
/// Database failure.
pub async fn failed_count(db: &impl ConnectionTrait) -> Result<u64, ServiceError> {
    use sea_orm::PaginatorTrait;
    Ok(stripe_event::Entity::find().filter(stripe_event::Column::Status.eq(status::FAILED)).count(db).await?)
}
