//! The worker that tells the host: takes due deliveries, signs the event
//! afresh (`Echeancier-Signature: t=…,v1=…`, exactly as Stripe signs, so the
//! host verifies it with the Stripe SDK it has — and a retry hours later
//! carries a new `t` the SDK's 300-second tolerance accepts), POSTs it, and
//! on anything but a 2xx tries again with backoff for the retry window
//! (`WEBHOOK_RETRY_HOURS`, three days), then marks it failed; an admin can
//! replay one or every failed delivery. Order is not guaranteed: each object
//! carries its `status`, `updated` and `version`.

use std::sync::OnceLock;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use serde::Serialize;

use super::endpoints;
use crate::api::dto::DeliveryLine;
use crate::domain::{HostDeliveryStatus, Trouble, next_host_try};
use crate::ssr::entities::{host_delivery, host_event, webhook_endpoint};
use crate::ssr::payments::webhook_signature;
use crate::ssr::repo::queue;
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::host_api::keys;
use crate::ssr::state::AppState;

/// The header the host verifies.
pub const SIGNATURE_HEADER: &str = "Echeancier-Signature";

/// The longest error kept per delivery.
const MAX_ERROR: usize = 500;

enum Outcome {
    Delivered(u16),
    Retry(Option<u16>, Trouble),
    Drop(Trouble),
}

/// Resolves names to public addresses only (production): a webhook never
/// reaches into the server's own network, whatever the name resolves to at
/// send time.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<std::net::SocketAddr> =
                found.filter(|a| crate::domain::host_api::is_public_address(a.ip())).collect();
            if public.is_empty() {
                return Err("the endpoint's name resolves to no public address".into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client for webhooks (none when it cannot be built: deliveries wait).
fn client(public_only: bool) -> Option<&'static reqwest::Client> {
    static OPEN: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    static PUBLIC: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    let cell = if public_only { &PUBLIC } else { &OPEN };
    cell.get_or_init(|| {
        let builder = reqwest::Client::builder()
            // A redirect is an answer that is not a 2xx: never followed with a signed body.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Echeancier/", env!("CARGO_PKG_VERSION"), " (+webhooks)"));
        let builder = if public_only { builder.dns_resolver(std::sync::Arc::new(PublicOnly)) } else { builder };
        builder.build().map_err(|e| tracing::error!(error = %e, "no HTTP client for webhooks")).ok()
    })
    .as_ref()
}

/// What an endpoint receives (the shape of [`body_of`], for the API's document).
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventObject {
    /// `evt_…`: the same at every delivery of this event.
    pub id: String,
    /// `"event"`.
    pub object: String,
    /// `plan.activated`, `echeance.paid`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// When the change happened (Unix seconds).
    pub created: i64,
    /// Live money or test: the mode of the plan it is about.
    pub livemode: bool,
    /// The object after the change.
    pub data: EventData,
}

/// The changed object.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventData {
    /// A plan (`plan.*`) or an échéance (`echeance.*`), as the API returns it.
    #[schema(value_type = Object)]
    pub object: serde_json::Value,
}

/// The event as every delivery sends it: the same bytes each time.
#[must_use]
pub fn body_of(event: &host_event::Model, livemode: bool) -> String {
    let id = serde_json::Value::String(event.public_id.clone());
    let kind = serde_json::Value::String(event.event_type.as_str().to_owned());
    format!(
        r#"{{"id":{id},"object":"event","type":{kind},"created":{},"livemode":{livemode},"data":{{"object":{}}}}}"#,
        event.created_at.div_euclid(1000),
        event.payload
    )
}

/// Delivers up to `limit` due events. Returns how many were tried.
///
/// # Errors
/// Database failure while claiming.
pub async fn deliver_pending(state: &AppState, limit: u64) -> Result<usize, ServiceError> {
    let now = state.now_ms();
    let timeout_ms = i64::try_from(state.settings.webhook_timeout.as_millis()).unwrap_or(30_000);
    // The lease covers a whole batch of endpoints that time out, one after the other; each row's
    // renewal, the one try it is held for.
    let lease = timeout_ms.saturating_mul(i64::try_from(limit).unwrap_or(i64::MAX)).saturating_add(30_000);
    let claimed = now.saturating_add(lease);
    let rows = queue::claim::<host_delivery::Entity>(&state.db, limit, now, claimed).await?;
    let count = rows.len();
    for row in rows {
        let held = state.now_ms().saturating_add(timeout_ms).saturating_add(30_000);
        if !queue::renew::<host_delivery::Entity>(&state.db, row.id, claimed, held).await? {
            tracing::info!(host_delivery.id = row.id, "delivery taken by another worker meanwhile");
            continue;
        }
        let event = host_event::Entity::find_by_id(row.host_event_id).one(&state.db).await?;
        let endpoint = webhook_endpoint::Entity::find_by_id(row.webhook_endpoint_id).one(&state.db).await?;
        let outcome = match (&event, &endpoint) {
            (Some(event), Some(endpoint)) if endpoint.disabled_at.is_none() => send(state, event, endpoint).await,
            _ => Outcome::Drop(Trouble::EndpointDeleted),
        };
        let created = event.as_ref().map_or(row.created_at, |e| e.created_at);
        record(state, &row, held, created, outcome).await?;
    }
    if count > 0 {
        tracing::info!(count, "host deliveries tried");
    }
    Ok(count)
}

async fn send(state: &AppState, event: &host_event::Model, endpoint: &webhook_endpoint::Model) -> Outcome {
    let production = state.settings.environment == crate::ssr::config::Environment::Production;
    let Ok(url) = url::Url::parse(&endpoint.url) else {
        return Outcome::Drop(Trouble::UrlUnreadable);
    };
    if production && !endpoints::public_host(&url) {
        return Outcome::Drop(Trouble::NotPublic);
    }
    let Some(client) = client(production) else { return Outcome::Retry(None, Trouble::NoHttpClient) };
    // The mode of the event's plan, whatever keys are in use now (an event written before the
    // mode was kept: the mode in use).
    let livemode = event.mode.unwrap_or_else(|| keys::current_mode(state)) == crate::domain::KeyMode::Live;
    let body = body_of(event, livemode);
    let now = state.now_ms();
    let header = webhook_signature::sign_with_each(
        &endpoints::signing_secrets(endpoint, now),
        now.div_euclid(1000),
        body.as_bytes(),
    );
    let sent = client
        .post(url)
        .timeout(state.settings.webhook_timeout)
        .header("content-type", "application/json; charset=utf-8")
        .header(SIGNATURE_HEADER, header)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => Outcome::Delivered(response.status().as_u16()),
        Ok(response) => {
            let status = response.status().as_u16();
            Outcome::Retry(Some(status), Trouble::Answered(status))
        }
        Err(e) if e.is_timeout() => Outcome::Retry(None, Trouble::Timeout),
        Err(e) => Outcome::Retry(None, Trouble::NotReached(without_url(&e))),
    }
}

/// A transport error without the endpoint's address (it may carry a token in its query).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "the endpoint");
    }
    text.chars().take(MAX_ERROR).collect()
}

/// Writes a try's outcome ([`queue::outcome_of`]: delivered whoever holds the row now; a retry or
/// a drop only while this worker still holds it, `held_until`).
async fn record(
    state: &AppState,
    row: &host_delivery::Model,
    held_until: i64,
    event_created: i64,
    outcome: Outcome,
) -> Result<(), ServiceError> {
    let now = state.now_ms();
    let attempts = row.attempts.saturating_add(1);
    let done = matches!(outcome, Outcome::Delivered(_));
    let update = host_delivery::Entity::update_many()
        .col_expr(host_delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(host_delivery::Column::LockedUntil, Expr::value(Option::<i64>::None))
        .filter(host_delivery::Column::Id.eq(row.id))
        .filter(queue::outcome_of::<host_delivery::Entity>(done, held_until));
    let update = match outcome {
        Outcome::Delivered(status) => update
            .col_expr(host_delivery::Column::Status, Expr::value(HostDeliveryStatus::Delivered))
            .col_expr(host_delivery::Column::DeliveredAt, Expr::value(now))
            .col_expr(host_delivery::Column::LastStatus, Expr::value(i32::from(status)))
            .col_expr(host_delivery::Column::LastError, Expr::value(Option::<String>::None)),
        Outcome::Drop(reason) => update
            .col_expr(host_delivery::Column::Status, Expr::value(HostDeliveryStatus::Failed))
            .col_expr(host_delivery::Column::LastError, Expr::value(reason.stored())),
        Outcome::Retry(status, reason) => {
            let window = i64::try_from(state.settings.webhook_retry_window.as_millis()).unwrap_or(i64::MAX);
            let tries = u32::try_from(attempts).unwrap_or(u32::MAX);
            let update = update
                .col_expr(host_delivery::Column::LastStatus, Expr::value(status.map(i32::from)))
                .col_expr(host_delivery::Column::LastError, Expr::value(reason.stored()));
            match next_host_try(tries, event_created, now, window) {
                Some(next) => {
                    tracing::warn!(host_delivery.id = row.id, attempts, "host webhook not delivered; will retry");
                    update.col_expr(host_delivery::Column::NextAttemptAt, Expr::value(next))
                }
                None => {
                    tracing::error!(host_delivery.id = row.id, attempts, "host webhook failed after its retry window");
                    update.col_expr(host_delivery::Column::Status, Expr::value(HostDeliveryStatus::Failed))
                }
            }
        }
    };
    if update.exec(&state.db).await?.rows_affected == 0 {
        tracing::warn!(host_delivery.id = row.id, "host delivery's lease ran out before its outcome was written");
    }
    Ok(())
}

/// Puts one delivery back in the queue, to be tried at once (not one a worker is sending now).
///
/// # Errors
/// `NotFound`, database failure.
pub async fn replay(state: &AppState, id: i64) -> Result<(), ServiceError> {
    let done = requeue(state).filter(host_delivery::Column::Id.eq(id)).exec(&state.db).await?;
    // (`requeue` leaves out a deleted endpoint's deliveries: they would only be dropped again.)
    if done.rows_affected == 0 {
        return Err(ServiceError::NotFound);
    }
    state.wake.host.notify_one();
    Ok(())
}

/// Puts every failed delivery back in the queue. Returns how many.
///
/// # Errors
/// Database failure.
pub async fn replay_failed(state: &AppState) -> Result<u64, ServiceError> {
    let done =
        requeue(state).filter(host_delivery::Column::Status.eq(HostDeliveryStatus::Failed)).exec(&state.db).await?;
    state.wake.host.notify_one();
    Ok(done.rows_affected)
}

fn requeue(state: &AppState) -> sea_orm::UpdateMany<host_delivery::Entity> {
    let now = state.now_ms();
    host_delivery::Entity::update_many()
        .col_expr(host_delivery::Column::Status, Expr::value(HostDeliveryStatus::Pending))
        .col_expr(host_delivery::Column::NextAttemptAt, Expr::value(now))
        .filter(to_live_endpoints())
        .filter(
            sea_orm::Condition::any()
                .add(host_delivery::Column::LockedUntil.is_null())
                .add(host_delivery::Column::LockedUntil.lt(now)),
        )
}

/// Deliveries to an endpoint not deleted: a deleted endpoint's failures are
/// history, neither counted as to replay nor replayed.
fn to_live_endpoints() -> sea_orm::Condition {
    let live = webhook_endpoint::Entity::find()
        .select_only()
        .column(webhook_endpoint::Column::Id)
        .filter(webhook_endpoint::Column::DisabledAt.is_null())
        .into_query();
    sea_orm::Condition::all().add(host_delivery::Column::WebhookEndpointId.in_subquery(live))
}

/// How many deliveries failed for good (replayable at once; a deleted endpoint's are not).
///
/// # Errors
/// Database failure.
pub async fn count_failed(state: &AppState) -> Result<u64, ServiceError> {
    Ok(host_delivery::Entity::find()
        .filter(host_delivery::Column::Status.eq(HostDeliveryStatus::Failed))
        .filter(to_live_endpoints())
        .count(&state.db)
        .await?)
}

/// Deliveries, newest first, of one status or all, a page of `per_page` at a time.
///
/// # Errors
/// Database failure.
pub async fn list(
    state: &AppState,
    status: Option<HostDeliveryStatus>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<DeliveryLine>, u64), ServiceError> {
    let mut select = host_delivery::Entity::find().order_by_desc(host_delivery::Column::Id);
    if let Some(status) = status {
        select = select.filter(host_delivery::Column::Status.eq(status));
    }
    let total = select.clone().count(&state.db).await?;
    let Some(offset) = crate::ssr::repo::page::offset(page, per_page) else {
        return Ok((Vec::new(), total));
    };
    let rows = select.offset(offset).limit(per_page).all(&state.db).await?;
    let events: std::collections::HashMap<i64, host_event::Model> = host_event::Entity::find()
        .filter(host_event::Column::Id.is_in(rows.iter().map(|r| r.host_event_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let endpoints: std::collections::HashMap<i64, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(rows.iter().map(|r| r.webhook_endpoint_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let lines = rows
        .into_iter()
        .map(|r| {
            let event = events.get(&r.host_event_id);
            let endpoint = endpoints.get(&r.webhook_endpoint_id);
            DeliveryLine {
                id: r.id,
                event_id: event.map(|e| e.public_id.clone()).unwrap_or_default(),
                event_type: event.map(|e| e.event_type.as_str().to_owned()).unwrap_or_default(),
                endpoint_url: endpoint.map(|e| e.url.clone()).unwrap_or_default(),
                endpoint_deleted: endpoint.is_none_or(|e| e.disabled_at.is_some()),
                status: r.status,
                attempts: r.attempts,
                last_status: r.last_status,
                last_error: r.last_error.as_deref().map(Trouble::read),
                next_attempt_at: (r.status == HostDeliveryStatus::Pending).then(|| state.local(r.next_attempt_at)),
                created_at: state.local(r.created_at),
            }
        })
        .collect();
    Ok((lines, total))
}
