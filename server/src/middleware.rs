//! What wraps every answer: the cross-site request check on state-changing
//! requests, and the security headers.

use app::api::error::AppError;
use app::ssr::csrf::{self, Provenance};
use app::ssr::headers::DEFAULT_POLICY;
use app::ssr::state::AppState;
use app::ui::i18n::locale_of_request;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The largest body read to find a form's token (server functions' forms are small).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Paths that carry their own proof and no cookie (not browser requests):
/// Stripe's signed webhook, and the host's API, which reads no cookie and
/// takes a bearer key a browser on another site cannot attach without CORS.
fn exempt(path: &str) -> bool {
    path == "/stripe/webhook" || path.starts_with("/v1/")
}

/// Refuses a state-changing request that another site made a browser send.
pub async fn cross_site_check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) || exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let host_origin = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|_| state.settings.environment == app::ssr::config::Environment::Development)
        .map(|host| format!("{}://{host}", state.settings.app_base_url.scheme()));
    match csrf::provenance(headers, &csrf::site_origin(&state), host_origin.as_deref()) {
        Provenance::SameOrigin => next.run(request).await,
        Provenance::Foreign => refuse(request.uri().path(), headers, "cross-site request"),
        Provenance::Unknown if app::ssr::auth::token_of_request(&state, headers).is_none() => next.run(request).await,
        Provenance::Unknown => {
            if headers.get(csrf::HEADER).and_then(|v| v.to_str().ok()).is_some_and(|t| csrf::valid(&state, headers, t))
            {
                return next.run(request).await;
            }
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
                return refuse(parts.uri.path(), &parts.headers, "no form token");
            };
            match csrf::field_of_form(&bytes) {
                Some(token) if csrf::valid(&state, &parts.headers, &token) => {
                    next.run(Request::from_parts(parts, Body::from(bytes))).await
                }
                _ => refuse(parts.uri.path(), &parts.headers, "no valid form token"),
            }
        }
    }
}

fn refuse(path: &str, headers: &axum::http::HeaderMap, why: &'static str) -> Response {
    tracing::warn!(path, why, "state-changing request refused");
    let error = AppError::Forbidden;
    if path.starts_with("/api/") {
        (StatusCode::FORBIDDEN, axum::Json(error)).into_response()
    } else {
        (StatusCode::FORBIDDEN, error.message(locale_of_request(headers))).into_response()
    }
}

/// Headers on every answer: no sniffing, no framing, no referrer outside the
/// site (the 3DS link carries a token in its query), a Content-Security-Policy
/// (pages set their own, with their nonce), no caching of anything made for
/// one request (server functions, pages — the 3DS page carries a client
/// secret), and HSTS when the site is https.
pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEFAULT_POLICY));
    }
    if api || html {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.settings.app_base_url.scheme() == "https" {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
    response
}
