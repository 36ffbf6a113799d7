//! Writing a host event: one `host_events` row and one `host_deliveries` row
//! per endpoint that wants it, in the caller's transaction — the change and
//! the news of it commit together, or neither does. A change no endpoint
//! listens to writes nothing.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use crate::domain::{HostDeliveryStatus, HostEvent, KeyMode};
use crate::ssr::entities::{echeance, host_delivery, host_event, payment_plan, webhook_endpoint};
use crate::ssr::services::change::{EcheanceChange, PlanChange};
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::host_api::objects;

/// An échéance's transition (called by the one writer of échéance statuses), `in_use` the mode of
/// the Stripe keys in use. Returns whether an event was queued.
///
/// # Errors
/// Database failure.
pub async fn echeance_changed(
    txn: &DatabaseTransaction,
    change: &EcheanceChange<'_>,
    in_use: KeyMode,
) -> Result<bool, ServiceError> {
    let &EcheanceChange { row, from, at } = change;
    let Some(kind) = HostEvent::of_echeance(from, row.status) else { return Ok(false) };
    echeance_news(txn, row, kind, at, in_use).await
}

/// News `kind` of échéance `row` as it is now (after a change of its status, or of its money
/// without one: a refund of part of it), in its plan's mode, or in `in_use` (the mode of the
/// Stripe keys in use) for an échéance of no plan. Returns whether an event was queued.
///
/// # Errors
/// Database failure.
pub async fn echeance_news(
    txn: &DatabaseTransaction,
    row: &echeance::Model,
    kind: HostEvent,
    now: i64,
    in_use: KeyMode,
) -> Result<bool, ServiceError> {
    write(txn, kind, now, async {
        let object = serde_json::to_string(&objects::echeance_object_of(txn, row).await?);
        let plan = match row.payment_plan_id {
            Some(id) => payment_plan::Entity::find_by_id(id).one(txn).await?,
            None => None,
        };
        Ok((object.map_err(anyhow::Error::from)?, Some(plan.and_then(|p| p.mode).unwrap_or(in_use))))
    })
    .await
}

/// A plan's status change (called by the one writer of plan statuses).
///
/// # Errors
/// Database failure.
pub async fn plan_changed(txn: &DatabaseTransaction, change: &PlanChange<'_>) -> Result<(), ServiceError> {
    let &PlanChange { row: plan, from, at: now } = change;
    let Some(kind) = HostEvent::of_plan(from, plan.status) else { return Ok(()) };
    plan_news(txn, plan, kind, now).await?;
    Ok(())
}

/// News `kind` of `plan` as it is now (after a change of its status, or of what it is without
/// one: consumer credit after a due date moved). Returns whether an event was queued.
///
/// # Errors
/// Database failure.
pub async fn plan_news(
    txn: &DatabaseTransaction,
    plan: &payment_plan::Model,
    kind: HostEvent,
    now: i64,
) -> Result<bool, ServiceError> {
    write(txn, kind, now, async {
        // Never the acceptance link, even of a plan still waiting: it logs its holder in, and events
        // are kept (the host has it from the creation's answer, or reads the plan).
        let object = objects::plan_object(txn, plan.clone(), &|_, _| None).await?;
        Ok((serde_json::to_string(&object).map_err(anyhow::Error::from)?, plan.mode))
    })
    .await
}

/// The enabled endpoints that want `kind`, with their mode.
async fn subscribed(txn: &DatabaseTransaction, kind: HostEvent) -> Result<Vec<(i64, Option<KeyMode>)>, ServiceError> {
    let endpoints =
        webhook_endpoint::Entity::find().filter(webhook_endpoint::Column::DisabledAt.is_null()).all(txn).await?;
    Ok(endpoints
        .into_iter()
        .filter(|e| kind.wanted_by(&super::endpoints::event_types(e)))
        .map(|e| (e.id, e.mode))
        .collect())
}

/// Writes news `kind` for the endpoints that want it, if any (returns whether it did): the
/// object and its mode, only read then. As on Stripe, an endpoint hears of its own mode's news
/// only (an endpoint or a plan an upgrade has not given a mode yet: of every mode's).
async fn write(
    txn: &DatabaseTransaction,
    kind: HostEvent,
    now: i64,
    object: impl Future<Output = Result<(String, Option<KeyMode>), ServiceError>>,
) -> Result<bool, ServiceError> {
    let endpoints = subscribed(txn, kind).await?;
    if endpoints.is_empty() {
        return Ok(false);
    }
    let (object, mode) = object.await?;
    let endpoints: Vec<i64> = endpoints
        .into_iter()
        .filter(|(_, of)| mode.is_none() || of.is_none() || *of == mode)
        .map(|(id, _)| id)
        .collect();
    if endpoints.is_empty() {
        return Ok(false);
    }
    let event = host_event::ActiveModel {
        public_id: Set(format!("evt_{}", uuid::Uuid::new_v4().simple())),
        event_type: Set(kind),
        payload: Set(object),
        created_at: Set(now),
        mode: Set(mode),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for endpoint in &endpoints {
        host_delivery::ActiveModel {
            host_event_id: Set(event.id),
            webhook_endpoint_id: Set(*endpoint),
            status: Set(HostDeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            locked_until: Set(None),
            last_status: Set(None),
            last_error: Set(None),
            delivered_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    tracing::info!(host_event.id = %event.public_id, kind = kind.as_str(), endpoints = endpoints.len(), "host event queued");
    Ok(true)
}
