//! The routes that are not Leptos pages: the Stripe webhook, liveness and
//! readiness, the language switch, the CSV export, the live status stream.

use app::api::dto::{AdminFilter, LiveChange};
use app::api::error::AppError;
use app::domain::Role;
use app::ssr::auth;
use app::ssr::live::Change;
use app::ssr::services::admin::{self, Filter};
use app::ssr::services::authenticate::{self, Access};
use app::ssr::services::error::ServiceError;
use app::ssr::services::webhooks::{self, IngestError};
use app::ssr::state::AppState;
use app::ui::i18n::{locale_of_page, locale_of_request};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The non-Leptos routes.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/stripe/webhook",
            post(stripe_webhook).layer(DefaultBodyLimit::max(state.settings.stripe_webhook_max_bytes)),
        )
        .route("/health", get(liveness))
        .route("/ready", get(readiness))
        .route("/lang/{code}", get(switch_language))
        .route("/admin/export.csv", get(export_csv))
        .route("/events", get(events))
        .merge(crate::api_v1::router(state))
}

/// A stream is closed after this long, and the browser reconnects at once:
/// the session is checked again (a logged-out screen stops receiving).
const EVENTS_SESSION_CHECK: Duration = Duration::from_secs(300);

/// `GET /events`: the status changes this session may see, as server-sent
/// events — every échéance for an admin, a customer's own for a customer.
/// `?payment_intent=…[&token=…]`: only that PaymentIntent's échéance, for the
/// 3D Secure page (opened by its emailed link's token, or by its owner), told
/// its status at once on every connection.
/// Each event `echeance` carries a [`app::api::dto::LiveChange`]; `resync`
/// says some were missed (reload everything).
async fn events(State(state): State<AppState>, headers: HeaderMap, Query(watch): Query<Watch>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use tokio::sync::broadcast::error::RecvError;
    // Subscribed before the status is read: a change committed in between is still told.
    let subscription = state.live.subscribe();
    let watcher = match Watcher::of(&state, &headers, watch).await {
        Ok(watcher) => watcher,
        Err(e) => {
            let error = AppError::from(e);
            let status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::UNAUTHORIZED);
            return (status, error.message(locale_of_request(&headers))).into_response();
        }
    };
    let deadline = tokio::time::Instant::now() + EVENTS_SESSION_CHECK;
    let mut first = vec![Event::default().event("ready").retry(Duration::from_secs(1)).data("")];
    if let Watcher::Echeance(now) = &watcher
        && let Ok(event) = Event::default().event("echeance").json_data(now)
    {
        first.push(event);
    }
    let changes = futures::stream::unfold(subscription, move |(mut changes, mut closing)| {
        let watcher = watcher.clone();
        async move {
            loop {
                let next = tokio::select! {
                    next = changes.recv() => next,
                    _ = closing.wait_for(|closed| *closed) => return None,
                    () = tokio::time::sleep_until(deadline) => return None,
                };
                let event = match next {
                    Ok(c) if watcher.sees(&c) => Event::default().event("echeance").json_data(&c.change).ok()?,
                    Ok(_) => continue,
                    // One échéance watched: reconnecting tells its status as it is now.
                    Err(RecvError::Lagged(_)) if matches!(watcher, Watcher::Echeance(_)) => return None,
                    Err(RecvError::Lagged(_)) => Event::default().event("resync").data(""),
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok::<_, std::convert::Infallible>(event), (changes, closing)));
            }
        }
    });
    let stream = futures::StreamExt::chain(futures::stream::iter(first.into_iter().map(Ok)), changes);
    let mut response = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /events`' query: the PaymentIntent of a 3D Secure page, and its link's token.
#[derive(Debug, Default, serde::Deserialize)]
struct Watch {
    payment_intent: Option<String>,
    token: Option<String>,
}

/// Who is watching, and so what they may see.
#[derive(Clone, Debug)]
enum Watcher {
    Admin,
    Customer(i64),
    /// The 3D Secure page of one échéance (its status when the stream opened).
    Echeance(LiveChange),
}

impl Watcher {
    async fn of(state: &AppState, headers: &HeaderMap, watch: Watch) -> Result<Self, ServiceError> {
        if let Some(payment_intent) = watch.payment_intent {
            let access = match watch.token.filter(|t| !t.trim().is_empty()) {
                Some(token) => Access::Token(token),
                None => Access::User(auth::require(state, headers, None).await?.id),
            };
            let e = authenticate::watched(state, &payment_intent, &access).await?;
            return Ok(Self::Echeance(LiveChange { echeance_id: e.id, plan_id: e.payment_plan_id, status: e.status }));
        }
        let user = auth::require(state, headers, None).await?;
        Ok(if user.role == Role::Admin {
            auth::admin_powers(state, user)?;
            Self::Admin
        } else {
            Self::Customer(user.id.get())
        })
    }

    fn sees(&self, change: &Change) -> bool {
        match self {
            Self::Admin => true,
            Self::Customer(me) => change.user_id == *me,
            Self::Echeance(watched) => change.change.echeance_id == watched.echeance_id,
        }
    }
}

/// `GET /admin/export.csv?…`: the dashboard's current filter as CSV (admins
/// only, authenticated like every server function).
async fn export_csv(State(state): State<AppState>, request: Parts) -> Response {
    // A refusal in the language the link asks for, as a page's (its `lang`, after the browser's choice).
    let refuse = |e: ServiceError| {
        let error = AppError::from(e);
        let status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, error.message(locale_of_page(&request))).into_response()
    };
    if let Err(e) = auth::require(&state, &request.headers, Some(Role::Admin)).await {
        return refuse(e);
    }
    // Read as the dashboard reads its own link: the file holds what the page showed.
    let pairs = url::form_urlencoded::parse(request.uri.query().unwrap_or_default().as_bytes());
    let csv = match Filter::parse(&AdminFilter::from_pairs(pairs)) {
        Ok(filter) => admin::export_csv(&state, &filter).await,
        Err(e) => Err(e),
    };
    match csv {
        Ok(csv) => {
            let name = format!("attachment; filename=\"echeances-{}.csv\"", state.today().format("%Y-%m-%d"));
            let mut response = csv.into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(v) = HeaderValue::from_str(&name) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        Err(e) => refuse(e),
    }
}

/// `POST /stripe/webhook`: verify, store, answer fast; a worker applies it.
async fn stripe_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match webhooks::ingest(&state, signature, &body).await {
        Ok(ingested) => (
            StatusCode::OK,
            Json(serde_json::json!({ "received": true, "duplicate": ingested == webhooks::Ingested::Duplicate })),
        )
            .into_response(),
        Err(IngestError::Signature(e)) => {
            tracing::warn!(error = %e, "webhook refused");
            (StatusCode::BAD_REQUEST, "invalid signature").into_response()
        }
        Err(IngestError::Malformed(e)) => {
            tracing::warn!(error = %e, "webhook refused");
            (StatusCode::BAD_REQUEST, "malformed event").into_response()
        }
        Err(IngestError::Unexpected(e)) => {
            tracing::error!(error = ?e, "webhook not stored; Stripe will retry");
            (StatusCode::INTERNAL_SERVER_ERROR, "not stored").into_response()
        }
    }
}

const STRIPE_CHECK_TTL: Duration = Duration::from_secs(30);

/// `GET /health`: liveness, for anyone: the process answers. Nothing else is
/// checked or told (a load balancer restarts a process that stops answering).
async fn liveness() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// `GET /ready`: readiness. 503 only when the database does not answer — the
/// one thing without which this instance cannot serve. Stripe is checked (at
/// most every 30 s) and reported, but an outage at Stripe does not take the
/// fleet out: pages, the webhook inbox and queued work keep going.
async fn readiness(State(state): State<AppState>) -> Response {
    let database = state.db.ping().await.is_ok();
    let stripe = stripe_answers(&state).await;
    let failed_webhooks = if database { webhooks::failed_count(&state.db).await.unwrap_or(0) } else { 0 };
    let status = if database { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let word = |ok: Option<bool>| match ok {
        Some(true) => "ok",
        Some(false) => "unreachable",
        None => "unknown",
    };
    (
        status,
        Json(serde_json::json!({
            "status": if database && stripe == Some(true) { "ok" } else { "degraded" },
            "database": word(Some(database)),
            "stripe": word(stripe),
            "failed_webhooks": failed_webhooks,
        })),
    )
        .into_response()
}

/// Whether Stripe answers our key: the last answer while it is under 30 s old;
/// otherwise one request asks (the others get the last answer meanwhile, so a
/// flood of probes during an outage is not a flood of pings).
async fn stripe_answers(state: &AppState) -> Option<bool> {
    let counters = &state.counters;
    let last = counters.stripe_check.lock().ok().and_then(|c| *c);
    if let Some((at, ok)) = last
        && at.elapsed() < STRIPE_CHECK_TTL
    {
        return Some(ok);
    }
    if counters.stripe_checking.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_err() {
        return last.map(|(_, ok)| ok);
    }
    let _checking = Checking(&counters.stripe_checking);
    let ok = state.gateway.ping().await.is_ok();
    if let Ok(mut c) = counters.stripe_check.lock() {
        *c = Some((Instant::now(), ok));
    }
    Some(ok)
}

/// Lets the next request ask Stripe, however this one ends.
struct Checking<'a>(&'a AtomicBool);

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// `GET /lang/{fr|en}`: remembers the language and goes back.
async fn switch_language(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let locale = app::domain::Locale::from_code(&code);
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| format!("{}{}", u.path(), u.query().map(|q| format!("?{q}")).unwrap_or_default()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".to_owned());
    let mut response = Redirect::to(&back).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&app::ui::i18n::lang_cookie_value(locale)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
