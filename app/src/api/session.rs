//! Login, logout, who am I, the landing page.

use leptos::prelude::*;

use super::dto::{Landing, Me};
use super::error::AppError;

/// The landing page: who is logged in, and the demo accounts in development.
#[server(endpoint = "landing")]
pub async fn landing_data() -> Result<Landing, AppError> {
    use super::context::{current_user, fail, state};
    use crate::ssr::services::queries;
    let state = state()?;
    let me = current_user(&state).await?.map(me_of);
    queries::landing(&state, me).await.map_err(fail)
}

/// Who is calling.
#[server(endpoint = "me")]
pub async fn current_me() -> Result<Option<Me>, AppError> {
    use super::context::{current_user, state};
    let state = state()?;
    Ok(current_user(&state).await?.map(me_of))
}

/// Logs in: sets the session cookie, or — for an admin with a second factor —
/// the second step's; answers (and redirects to) the page to go to next.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<String, AppError> {
    use super::context::{client_ip, fail, state};
    use crate::ssr::auth;
    let state = state()?;
    let entry = auth::login(&state, &email, &password, &client_ip(&state)).await.map_err(fail)?;
    Ok(welcome(&state, entry))
}

/// The second step of a login: a code from the authenticator app, or a recovery code.
#[server(endpoint = "login/code")]
pub async fn pass_second_factor(code: String) -> Result<String, AppError> {
    use super::context::{client_ip, fail, respond, state};
    use crate::ssr::auth;
    use crate::ssr::services::second_factor::{self, Entry};
    let state = state()?;
    let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
    let challenge =
        auth::challenge_of_request(&state, &parts.headers).ok_or_else(|| respond(AppError::Unauthenticated))?;
    let session = second_factor::pass(&state, challenge, &code, &client_ip(&state)).await.map_err(fail)?;
    Ok(welcome(&state, Entry::Session(session)))
}

/// « Recevoir un lien de connexion »: the same answer whether the address has an account or not.
#[server(endpoint = "login/link/request")]
pub async fn request_login_link(email: String) -> Result<(), AppError> {
    use super::context::{client_ip, fail, send_plain_form_to, state};
    use crate::ssr::services::links::{self, Purpose};
    let state = state()?;
    links::request(&state, &email, Purpose::Login, &client_ip(&state)).await.map_err(fail)?;
    send_plain_form_to(LINK_SENT);
    Ok(())
}

/// « Mot de passe oublié »: the same answer whether the address has an account or not.
#[server(endpoint = "password/reset/request")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use super::context::{client_ip, fail, send_plain_form_to, state};
    use crate::ssr::services::links::{self, Purpose};
    let state = state()?;
    links::request(&state, &email, Purpose::ResetPassword, &client_ip(&state)).await.map_err(fail)?;
    send_plain_form_to(LINK_SENT);
    Ok(())
}

/// Where a browser without JavaScript is sent once it asked for a link: the home page, saying
/// the email is on its way (a script shows the same sentence where the form is).
pub const LINK_SENT: &str = "/?link=sent";

/// Whether a page's `query` says what [`LINK_SENT`] does (read from it, not written again).
#[must_use]
pub fn says_link_sent(query: &leptos_router::params::ParamsMap) -> bool {
    let said = LINK_SENT.split_once('?').and_then(|(_, pair)| pair.split_once('='));
    said.is_some_and(|(name, value)| query.get_str(name) == Some(value))
}

/// Logs in through an emailed login link (spent); answers the page to go to next.
#[server(endpoint = "login/link")]
pub async fn log_in_with_link(token: String) -> Result<String, AppError> {
    use super::context::{fail, state};
    let state = state()?;
    let entry = crate::ssr::services::links::log_in(&state, token.trim()).await.map_err(fail)?;
    Ok(welcome(&state, entry))
}

/// Logs out and clears the cookie.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use super::context::{fail, set_cookie, state};
    use crate::ssr::auth;
    let state = state()?;
    if let Some(parts) = use_context::<http::request::Parts>()
        && let Some(token) = auth::token_of_request(&state, &parts.headers)
    {
        auth::logout(&state, token).await.map_err(fail)?;
    }
    set_cookie(&auth::clear_cookie(&state));
    leptos_axum::redirect("/");
    Ok(())
}

/// Sets the cookie a first factor earned — the session's, or the second step's — and
/// says where to go: the second step, the security page for an admin who must set up a
/// second factor first, the dashboard, or the customer's home. A browser without
/// JavaScript is sent there (a script reads the answer and goes itself).
#[cfg(feature = "ssr")]
pub(crate) fn welcome(
    state: &crate::ssr::state::AppState,
    entry: crate::ssr::services::second_factor::Entry,
) -> String {
    use super::context::set_cookie;
    use crate::domain::Role;
    use crate::ssr::auth;
    use crate::ssr::services::second_factor::Entry;
    let next = match entry {
        Entry::SecondFactor(challenge) => {
            set_cookie(&auth::challenge_cookie(state, &challenge));
            "/login/code".to_owned()
        }
        Entry::Session(session) => {
            set_cookie(&auth::session_cookie(state, &session.token));
            set_cookie(&auth::clear_challenge_cookie(state));
            let user = session.user;
            match user.role {
                Role::Admin if auth::admin_powers(state, user).is_err() => "/admin/security",
                Role::Admin => "/admin",
                Role::Customer => "/",
            }
            .to_owned()
        }
    };
    leptos_axum::redirect(&next);
    next
}

#[cfg(feature = "ssr")]
fn me_of(user: crate::ssr::auth::CurrentUser) -> Me {
    Me { id: user.id.get(), display_name: user.display_name, role: user.role, locale: user.locale }
}
