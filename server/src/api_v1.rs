//! `/v1/`: the REST API the host site calls with `Authorization: Bearer
//! ek_…`. Each handler checks the key and its rate, reads the raw request,
//! and calls one function of `app::ssr::services::host_api`, whose answer
//! (status, JSON body) it sends as is.

use app::domain::Bucket;
use app::ssr::services::host_api::error::ErrorResponse;
use app::ssr::services::host_api::error::{Answer, ApiError};
use app::ssr::services::host_api::idempotency::MAX_KEY_LEN;
use app::ssr::services::host_api::keys::{self, Caller};
use app::ssr::services::host_api::objects::{CustomerObject, EcheanceObject, PlanObject};
use app::ssr::services::host_api::plans::{CreatePlanRequest, CustomerInput, EcheanceInput, PlanList};
use app::ssr::services::host_api::webhook_endpoints::{
    CreateEndpointRequest, DeletedEndpoint, EndpointList, EndpointObject,
};
use app::ssr::services::host_api::{plans, webhook_endpoints};
use app::ssr::services::outgoing::delivery::{EventData, EventObject};
use app::ssr::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use utoipa::OpenApi as _;

/// The largest request body (a plan of 48 échéances is a few kilobytes).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the handlers share: the app, and each key's token bucket in this process.
#[derive(Clone)]
struct V1 {
    app: AppState,
    buckets: Arc<Mutex<HashMap<i64, Bucket>>>,
}

/// The `/v1/` routes.
pub fn router(state: &AppState) -> Router<AppState> {
    let v1 = V1 { app: state.clone(), buckets: Arc::default() };
    Router::new()
        .route("/v1/plans", post(create_plan).get(list_plans))
        .route("/v1/plans/{id}", get(get_plan))
        .route("/v1/plans/{id}/cancel", post(cancel_plan))
        .route("/v1/echeances/{id}", get(get_echeance))
        .route("/v1/webhook_endpoints", post(create_endpoint).get(list_endpoints))
        .route("/v1/webhook_endpoints/{id}", delete(delete_endpoint))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/{*rest}", any(not_found))
        // A path of the API asked with another method is no URL of it either, as Stripe answers.
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::map_response(json_errors))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(v1)
}

fn send(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(secs) = answer.retry_after
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        headers.insert(header::RETRY_AFTER, value);
    }
    response
}

/// The few answers axum writes before a handler runs (a body over the limit,
/// a path that does not decode), in the API's own JSON error shape.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    send(
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(MAX_BODY_BYTES),
            _ => ApiError::invalid("parameter_invalid", "The request does not read: its path or its body."),
        }
        .answer(),
    )
}

/// The caller, once its key is good and its rate allows; else the answer to send.
async fn admit(v1: &V1, headers: &HeaderMap) -> Result<Caller, Response> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = match keys::authenticate(&v1.app, authorization).await {
        Ok(caller) => caller,
        Err(app::ssr::services::error::ServiceError::Unauthenticated) => {
            return Err(send(ApiError::unauthorized().answer()));
        }
        Err(e) => return Err(send(ApiError::from(e).answer())),
    };
    let settings = &v1.app.settings;
    let (rate, burst) = (settings.api_rate_limit_per_sec, settings.api_rate_burst);
    let now = v1.app.now_ms();
    let admitted = {
        let mut buckets = v1.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets.entry(caller.key_id).or_insert_with(|| Bucket::full(burst, now)).take(rate, burst, now)
    };
    match admitted {
        Ok(()) => Ok(caller),
        Err(wait_ms) => Err(send(ApiError::rate_limited(wait_ms).answer())),
    }
}

/// [`admit`], then no query parameter (the route takes none).
async fn admit_query(v1: &V1, headers: &HeaderMap, query: Option<String>) -> Result<Caller, Response> {
    let caller = admit(v1, headers).await?;
    query_of(query, &[]).map_err(|refused| send(refused.answer()))?;
    Ok(caller)
}

/// [`admit_query`], then `answer`'s (never run when the request is refused).
async fn answered(
    v1: &V1,
    headers: &HeaderMap,
    query: Option<String>,
    answer: impl Future<Output = Answer>,
) -> Response {
    match admit_query(v1, headers, query).await {
        Ok(_) => send(answer.await),
        Err(refused) => refused,
    }
}

/// [`admit_query`], then the POST's `Idempotency-Key`.
async fn admit_post(v1: &V1, headers: &HeaderMap, query: Option<String>) -> Result<(Caller, Option<String>), Response> {
    let caller = admit_query(v1, headers, query).await?;
    let key = idempotency_key(headers).map_err(send)?;
    Ok((caller, key))
}

/// The request's `Idempotency-Key`, if any (at most 255 printable characters).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Answer> {
    let mut given = headers.get_all("idempotency-key").iter();
    let Some(value) = given.next() else { return Ok(None) };
    // Two keys: which one the client meant is not ours to guess.
    if given.next().is_some() {
        return Err(ApiError::invalid("parameter_invalid", "Idempotency-Key given twice: send one.")
            .on("Idempotency-Key")
            .answer());
    }
    match value.to_str() {
        Ok(key) if !key.trim().is_empty() && key.len() <= MAX_KEY_LEN => Ok(Some(key.trim().to_owned())),
        _ => Err(ApiError::invalid("parameter_invalid", "Invalid Idempotency-Key: 1 to 255 printable characters.")
            .on("Idempotency-Key")
            .answer()),
    }
}

/// Creates a plan for a customer (found by email, or created), split
/// cent-exact or as listed, and queues the invitation email unless
/// `send_invitation` is false. Retry safely with `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/plans", tag = "plans", request_body = CreatePlanRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key and body replay the first answer for 24 hours (a 400, 422, 409 in use, 429 or 5xx is not kept)")),
    responses(
        (status = 201, description = "The plan, with its acceptance_url", body = PlanObject),
        (status = 400, description = "The request does not read", body = ErrorResponse),
        (status = 401, description = "No valid API key", body = ErrorResponse),
        (status = 409, description = "The idempotency key is in use, or the customer's account is being closed (account_closed)", body = ErrorResponse),
        (status = 413, description = "The body is over the size limit", body = ErrorResponse),
        (status = 422, description = "The schedule is refused, or the invitation cannot be skipped for an existing customer", body = ErrorResponse),
        (status = 429, description = "Too many requests: wait for Retry-After", body = ErrorResponse),
    ),
    security(("bearer" = [])))]
async fn create_plan(State(v1): State<V1>, headers: HeaderMap, RawQuery(query): RawQuery, body: Bytes) -> Response {
    match admit_post(&v1, &headers, query).await {
        Ok((caller, key)) => send(plans::create(&v1.app, caller, key.as_deref(), &body).await),
        Err(r) => r,
    }
}

/// Lists plans, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/plans", tag = "plans",
    params(
        ("customer_email" = Option<String>, Query, description = "Only this customer's plans"),
        ("status" = Option<String>, Query, description = "draft, awaiting_customer, active, completed, defaulted or canceled"),
        ("limit" = Option<u32>, Query, description = "1 to 100 (10)"),
        ("starting_after" = Option<String>, Query, description = "The last plan id of the previous page (a plan these keys see)"),
    ),
    responses((status = 200, description = "A page", body = PlanList), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 429, description = "Too many requests: wait for Retry-After", body = ErrorResponse)),
    security(("bearer" = [])))]
async fn list_plans(State(v1): State<V1>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    if let Err(r) = admit(&v1, &headers).await {
        return r;
    }
    let mut list = plans::ListQuery::default();
    let given = match query_of(query, &["customer_email", "status", "limit", "starting_after"]) {
        Ok(given) => given,
        Err(refused) => return send(refused.answer()),
    };
    for (name, value) in given {
        let slot = match name {
            "customer_email" => &mut list.customer_email,
            "status" => &mut list.status,
            "limit" => &mut list.limit,
            _ => &mut list.starting_after,
        };
        *slot = Some(value);
    }
    send(plans::list(&v1.app, list).await)
}

/// The request's query parameters, each one of `known` and given once (as a body's are): another
/// is refused, as Stripe refuses what it does not know — never silently ignored.
fn query_of(query: Option<String>, known: &[&'static str]) -> Result<Vec<(&'static str, String)>, ApiError> {
    let mut given: Vec<(&'static str, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let refused = match known.iter().find(|k| **k == name) {
            None => ApiError::invalid("parameter_unknown", format!("Received unknown parameter: {name}.")),
            Some(k) if given.iter().any(|(n, _)| n == k) => {
                ApiError::invalid("parameter_invalid", format!("Parameter given twice: {name}."))
            }
            Some(k) => {
                given.push((k, value.into_owned()));
                continue;
            }
        };
        return Err(refused.on(name.as_ref()));
    }
    Ok(given)
}

/// Retrieves a plan with its échéances.
#[utoipa::path(get, path = "/v1/plans/{id}", tag = "plans",
    params(("id" = String, Path, description = "plan_…")),
    responses((status = 200, body = PlanObject), (status = 400, description = "A query parameter", body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 429, description = "Too many requests: wait for Retry-After", body = ErrorResponse)),
    security(("bearer" = [])))]
async fn get_plan(State(v1): State<V1>, headers: HeaderMap, Path(id): Path<String>, query: RawQuery) -> Response {
    answered(&v1, &headers, query.0, plans::get(&v1.app, &id)).await
}

/// Cancels a plan: every échéance still to collect is cancelled (a
/// PaymentIntent waiting for 3D Secure is cancelled on Stripe first).
/// Refused with 409 while a charge is in flight: retry a minute later.
#[utoipa::path(post, path = "/v1/plans/{id}/cancel", tag = "plans",
    params(("id" = String, Path, description = "plan_…"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer")),
    responses((status = 200, description = "The cancelled plan", body = PlanObject), (status = 400, description = "The request does not read (a parameter, the body, the Idempotency-Key)", body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 413, description = "The body is over the size limit", body = ErrorResponse), (status = 429, description = "Too many requests: wait for Retry-After", body = ErrorResponse),
        (status = 503, description = "The plan is canceled but some échéance could not be yet (Stripe did not answer): send the same request again", body = ErrorResponse)),
    security(("bearer" = [])))]
async fn cancel_plan(
    State(v1): State<V1>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    match admit_post(&v1, &headers, query).await {
        Ok((caller, key)) => send(plans::cancel(&v1.app, caller, key.as_deref(), &id, &body).await),
        Err(r) => r,
    }
}

/// Retrieves one échéance.
#[utoipa::path(get, path = "/v1/echeances/{id}", tag = "echeances",
    params(("id" = String, Path, description = "ech_…")),
    responses((status = 200, body = EcheanceObject), (status = 400, description = "A query parameter", body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 429, description = "Too many requests: wait for Retry-After", body = ErrorResponse)),
    security(("bearer" = [])))]
async fn get_echeance(State(v1): State<V1>, headers: HeaderMap, Path(id): Path<String>, query: RawQuery) -> Response {
    answered(&v1, &headers, query.0, plans::echeance(&v1.app, &id)).await
}

/// Registers a webhook endpoint; its `whsec_…` secret is in this answer only.
#[utoipa::path(post, path = "/v1/webhook_endpoints", tag = "webhooks", request_body = CreateEndpointRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer")),
    responses(
        (status = 201, body = EndpointObject),
        (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse),
        (status = 409, description = "The idempotency key is in use", body = ErrorResponse),
        (status = 413, description = "The body is over the size limit", body = ErrorResponse),
        (status = 429, description = "Too many requests: wait for Retry-After", body = ErrorResponse),
    ),
    security(("bearer" = [])))]
async fn create_endpoint(State(v1): State<V1>, headers: HeaderMap, RawQuery(query): RawQuery, body: Bytes) -> Response {
    match admit_post(&v1, &headers, query).await {
        Ok((caller, key)) => send(webhook_endpoints::create(&v1.app, caller, key.as_deref(), &body).await),
        Err(r) => r,
    }
}

/// Lists the webhook endpoints (without their secrets).
#[utoipa::path(get, path = "/v1/webhook_endpoints", tag = "webhooks",
    responses((status = 200, body = EndpointList), (status = 400, description = "A query parameter", body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 429, description = "Too many requests: wait for Retry-After", body = ErrorResponse)),
    security(("bearer" = [])))]
async fn list_endpoints(State(v1): State<V1>, headers: HeaderMap, query: RawQuery) -> Response {
    answered(&v1, &headers, query.0, webhook_endpoints::list(&v1.app)).await
}

/// Stops sending events to an endpoint.
#[utoipa::path(delete, path = "/v1/webhook_endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "we_…")),
    responses((status = 200, description = "Deleted", body = DeletedEndpoint), (status = 400, description = "A query parameter", body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 429, description = "Too many requests: wait for Retry-After", body = ErrorResponse)),
    security(("bearer" = [])))]
async fn delete_endpoint(
    State(v1): State<V1>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: RawQuery,
) -> Response {
    answered(&v1, &headers, query.0, webhook_endpoints::delete(&v1.app, &id)).await
}

async fn not_found(State(v1): State<V1>, headers: HeaderMap) -> Response {
    if let Err(r) = admit(&v1, &headers).await {
        return r;
    }
    send(ApiError::unrecognized_url().answer())
}

/// The API's OpenAPI 3.1 document, generated from the handlers and types above.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Échéancier API",
        description = "Plans of installments (échéances) collected through Stripe, for the host site. \
            Authenticate with `Authorization: Bearer ek_…`; POSTs take an `Idempotency-Key`. \
            Events are POSTed to your endpoints with `Echeancier-Signature: t=…,v1=…`, signed exactly as Stripe signs \
            its webhooks: verify them with your Stripe SDK and the endpoint's `whsec_…` secret. \
            Their order is not guaranteed: compare `data.object.version` with what you have."
    ),
    paths(create_plan, list_plans, get_plan, cancel_plan, get_echeance, create_endpoint, list_endpoints, delete_endpoint),
    components(schemas(
        CreatePlanRequest, CustomerInput, EcheanceInput, PlanObject, CustomerObject, EcheanceObject, PlanList,
        CreateEndpointRequest, EndpointObject, EndpointList, DeletedEndpoint, EventObject, EventData, ErrorResponse
    )),
    modifiers(&BearerKey),
    tags(
        (name = "plans", description = "A customer's total split into dated échéances"),
        (name = "echeances", description = "One installment"),
        (name = "webhooks", description = "Where events go"),
    )
)]
pub struct ApiDoc;

struct BearerKey;

impl utoipa::Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("ek_live_… / ek_test_…").build(),
            ),
        );
    }
}

/// `GET /v1/openapi.json` (no key needed: it says nothing about your data).
async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => send(Answer { status: 200, body: json, retry_after: None, transient: false }),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document does not serialize");
            send(ApiError::internal().answer())
        }
    }
}
