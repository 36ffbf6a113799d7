//! `/v1/webhook_endpoints`: the host registers where its events go. The
//! secret is in the creation's answer only (and in its idempotent replay).

use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};

use super::error::{Answer, ApiError};
use super::idempotency;
use super::keys::{self, Caller};
use super::objects::parse_id;
use super::plans::read_body;
use crate::ssr::db;
use crate::ssr::entities::webhook_endpoint;
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::outgoing::endpoints::{self, NewEndpoint};
use crate::ssr::state::AppState;

/// `POST /v1/webhook_endpoints`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointRequest {
    /// Where to POST the events: https (http only outside production).
    pub url: String,
    /// `plan.activated`, `plan.completed`, `plan.defaulted`, `plan.canceled`, `plan.updated`, `echeance.paid`,
    /// `echeance.payment_failed`, `echeance.action_required`, `echeance.refunded`,
    /// `echeance.partially_refunded`, `echeance.disputed`, `echeance.dispute_won`,
    /// `echeance.refund_failed`, `echeance.canceled`, `echeance.rescheduled`, or `*`.
    pub enabled_events: Vec<String>,
    /// A note for you.
    pub description: Option<String>,
}

/// A webhook endpoint.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointObject {
    /// `we_…`.
    pub id: String,
    /// `"webhook_endpoint"`.
    #[schema(value_type = String)]
    pub object: &'static str,
    /// Where events go.
    pub url: String,
    /// What it receives.
    pub enabled_events: Vec<String>,
    /// The note.
    pub description: Option<String>,
    /// `enabled` (a deleted endpoint is no longer listed).
    #[schema(value_type = String)]
    pub status: &'static str,
    /// Unix seconds.
    pub created: i64,
    /// `whsec_…`: in the creation's answer only. Verify each delivery's `Echeancier-Signature` with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// What `DELETE` answers: the endpoint is gone.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeletedEndpoint {
    /// `we_…`.
    pub id: String,
    /// `"webhook_endpoint"`.
    #[schema(value_type = String)]
    pub object: &'static str,
    /// `true`.
    pub deleted: bool,
}

/// Every endpoint.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointList {
    /// `"list"`.
    #[schema(value_type = String)]
    pub object: &'static str,
    /// `/v1/webhook_endpoints`.
    #[schema(value_type = String)]
    pub url: &'static str,
    /// Always `false` (every endpoint is in `data`).
    pub has_more: bool,
    /// The endpoints, newest first.
    pub data: Vec<EndpointObject>,
}

fn object(row: &webhook_endpoint::Model, secret: Option<String>) -> EndpointObject {
    EndpointObject {
        id: format!("we_{}", row.id),
        object: "webhook_endpoint",
        url: row.url.clone(),
        enabled_events: endpoints::event_types(row),
        description: row.description.clone(),
        status: if row.disabled_at.is_none() { "enabled" } else { "disabled" },
        created: row.created_at.div_euclid(1000),
        secret,
    }
}

/// `POST /v1/webhook_endpoints`.
pub async fn create(state: &AppState, caller: Caller, idempotency_key: Option<&str>, body: &[u8]) -> Answer {
    let fingerprint = idempotency::fingerprint("POST", "/v1/webhook_endpoints", body);
    let held = match idempotency::begin(state, caller, idempotency_key, &fingerprint).await {
        Ok(held) => held,
        Err(answer) => return answer,
    };
    let input = match read_body::<CreateEndpointRequest>(body) {
        Ok(b) => NewEndpoint { url: b.url, enabled_events: b.enabled_events, description: b.description },
        Err(error) => return idempotency::settle(state, held, error.answer()).await,
    };
    let written = async {
        let txn = db::begin_write(&state.db).await?;
        let created = endpoints::create_in(state, &txn, input).await?;
        let answer = Answer::json(201, &object(&created.row, Some(created.secret)));
        if let Some(held) = held {
            idempotency::finish(&txn, held, &answer).await?;
        }
        txn.commit().await?;
        Ok::<_, ServiceError>(answer)
    };
    match written.await {
        Ok(answer) => answer,
        Err(e) => idempotency::settle(state, held, ApiError::from(e).answer()).await,
    }
}

/// `GET /v1/webhook_endpoints` (without secrets): the endpoints not deleted, as Stripe lists
/// them, of the mode in use (as on Stripe, the keys of one mode do not see the other mode's
/// endpoints); the dashboard still shows the deleted ones, with their deliveries, and both modes'.
pub async fn list(state: &AppState) -> Answer {
    match endpoints::list(state).await {
        Ok(rows) => {
            let data: Vec<EndpointObject> = rows
                .iter()
                .filter(|r| r.disabled_at.is_none() && keys::other_mode(state, r.mode).is_none())
                .map(|r| object(r, None))
                .collect();
            Answer::json(200, &EndpointList { object: "list", url: "/v1/webhook_endpoints", has_more: false, data })
        }
        Err(e) => ApiError::from(e).answer(),
    }
}

/// `DELETE /v1/webhook_endpoints/{id}`: no more events go there.
pub async fn delete(state: &AppState, id: &str) -> Answer {
    let Some(id) = parse_id("we", id) else { return ApiError::not_found("webhook_endpoint").answer() };
    match webhook_endpoint::Entity::find_by_id(id).one(&state.db).await {
        Ok(row) => {
            if let Some(mode) = keys::other_mode(state, row.and_then(|r| r.mode)) {
                return ApiError::of_other_mode("webhook_endpoint", &format!("we_{id}"), mode).answer();
            }
        }
        Err(e) => return ApiError::from(ServiceError::from(e)).answer(),
    }
    match endpoints::disable(state, id).await {
        Ok(()) => {
            Answer::json(200, &DeletedEndpoint { id: format!("we_{id}"), object: "webhook_endpoint", deleted: true })
        }
        Err(ServiceError::NotFound) => ApiError::not_found("webhook_endpoint").answer(),
        Err(e) => ApiError::from(e).answer(),
    }
}
