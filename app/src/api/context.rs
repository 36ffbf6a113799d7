//! What every server function starts with: the state, the caller, the answer's headers.

use leptos::prelude::*;

use super::error::AppError;
use crate::ssr::auth::{self, CurrentUser};
use crate::ssr::state::AppState;

/// The application state.
///
/// # Errors
/// Called outside a request (a bug).
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or(AppError::Internal)
}

/// The logged-in user, if any.
///
/// # Errors
/// Database failure.
pub async fn current_user(state: &AppState) -> Result<Option<CurrentUser>, AppError> {
    let Some(parts) = use_context::<http::request::Parts>() else {
        return Ok(None);
    };
    Ok(auth::user_of_request(state, &parts.headers).await?)
}

async fn require(state: &AppState, role: Option<crate::domain::Role>) -> Result<CurrentUser, AppError> {
    let headers = use_context::<http::request::Parts>().map(|p| p.headers).unwrap_or_default();
    auth::require(state, &headers, role).await.map_err(fail)
}

/// The logged-in user.
///
/// # Errors
/// `Unauthenticated`.
pub async fn require_user(state: &AppState) -> Result<CurrentUser, AppError> {
    require(state, None).await
}

/// The logged-in admin, allowed to act as one.
///
/// # Errors
/// `Unauthenticated`, `Forbidden`, `Refused(SecondFactorSetupRequired)` when the
/// settings require a second factor the admin has not set up.
pub async fn require_admin(state: &AppState) -> Result<CurrentUser, AppError> {
    require(state, Some(crate::domain::Role::Admin)).await
}

/// The logged-in admin, even one the settings keep from acting before they set up a
/// second factor (the security page's own functions).
///
/// # Errors
/// `Unauthenticated`, `Forbidden`.
pub async fn require_admin_account(state: &AppState) -> Result<CurrentUser, AppError> {
    let headers = use_context::<http::request::Parts>().map(|p| p.headers).unwrap_or_default();
    auth::require_admin_account(state, &headers).await.map_err(fail)
}

/// The session token of the request (to keep this session when the others end).
#[must_use]
pub fn session_token(state: &AppState) -> String {
    let headers = use_context::<http::request::Parts>().map(|p| p.headers).unwrap_or_default();
    auth::token_of_request(state, &headers).unwrap_or_default().to_owned()
}

/// Whether the request is a form's own post from a browser without JavaScript (it asks for
/// HTML): leptos sends it back to its page unless told where to go.
fn plain_form_post() -> bool {
    use_context::<http::request::Parts>().is_some_and(|p| {
        let html =
            p.headers.get(http::header::ACCEPT).and_then(|a| a.to_str().ok()).is_some_and(|a| a.contains("text/html"));
        html && p.method == http::Method::POST && p.uri.path().starts_with("/api/")
    })
}

/// Sends a browser without JavaScript to `path` once its form's action succeeded (the page it
/// came from no longer applies); a script reads the answer and stays where it is.
pub fn send_plain_form_to(path: &str) {
    if plain_form_post() {
        leptos_axum::redirect(path);
    }
}

/// Sets the answer's HTTP status from `error`; a plain HTML form post (no JavaScript)
/// keeps its redirect back to the page instead.
#[must_use]
pub fn respond(error: AppError) -> AppError {
    if !plain_form_post()
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(
            http::StatusCode::from_u16(error.status_code()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    error
}

/// Parses an échéance id from a request; an invalid one is simply not found.
///
/// # Errors
/// `NotFound`.
pub fn echeance_id(raw: i64) -> Result<crate::domain::EcheanceId, AppError> {
    crate::domain::EcheanceId::new(raw).map_err(|_| respond(AppError::NotFound))
}

/// Maps a service error to the wire error, with its status.
#[must_use]
pub fn fail(error: crate::ssr::services::error::ServiceError) -> AppError {
    respond(AppError::from(error))
}

/// Appends a `Set-Cookie` header to the answer.
pub fn set_cookie(value: &str) {
    if let (Some(response), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(value))
    {
        response.append_header(http::header::SET_COOKIE, value);
    }
}

/// The caller's address (for the login throttle): the TCP peer, or the entry
/// the configured trusted proxies vouch for.
#[must_use]
pub fn client_ip(state: &AppState) -> String {
    let parts = use_context::<http::request::Parts>();
    let peer = parts
        .as_ref()
        .and_then(|p| p.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>())
        .map(|c| c.0.ip());
    let headers = parts.map(|p| p.headers).unwrap_or_default();
    crate::ssr::guards::client_ip(&headers, peer, state.settings.trusted_proxy_hops)
}

/// The caller's browser, as it names itself (kept with a consent).
#[must_use]
pub fn user_agent() -> String {
    use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned))
        .unwrap_or_default()
}
