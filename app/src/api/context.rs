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

/// The caller, if logged in.
///
/// # Errors
/// Database failure.
pub async fn current_user(state: &AppState) -> Result<Option<CurrentUser>, AppError> {
    let Some(parts) = use_context::<http::request::Parts>() else {
        return Ok(None);
    };
    let cookies = parts.headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(token) = auth::token_from_cookies(cookies) else {
        return Ok(None);
    };
    Ok(auth::user_for_token(state, token).await?)
}

/// The caller, who must be logged in.
///
/// # Errors
/// `Unauthenticated` (with HTTP 401).
pub async fn require_user(state: &AppState) -> Result<CurrentUser, AppError> {
    current_user(state).await?.ok_or_else(|| respond(AppError::Unauthenticated))
}

/// The caller, who must be an admin.
///
/// # Errors
/// `Unauthenticated` (401) or `Forbidden` (403).
pub async fn require_admin(state: &AppState) -> Result<CurrentUser, AppError> {
    let user = require_user(state).await?;
    if user.role == crate::domain::Role::Admin { Ok(user) } else { Err(respond(AppError::Forbidden)) }
}

/// Sets the HTTP status of the answer to the error's: for a page being
/// rendered, the page's status; for a server function called by the browser,
/// the call's. A plain HTML form post to a server function (no JavaScript)
/// keeps its redirect back to the page instead.
#[must_use]
pub fn respond(error: AppError) -> AppError {
    let plain_form_post = use_context::<http::request::Parts>().is_some_and(|p| {
        let html =
            p.headers.get(http::header::ACCEPT).and_then(|a| a.to_str().ok()).is_some_and(|a| a.contains("text/html"));
        html && p.method == http::Method::POST && p.uri.path().starts_with("/api/")
    });
    if !plain_form_post && let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(
            http::StatusCode::from_u16(error.status_code()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    error
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

/// The caller's IP address (for the login rate limit).
#[must_use]
pub fn client_ip() -> String {
    use_context::<http::request::Parts>()
        .and_then(|p| {
            p.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
