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

/// Logs in and sets the session cookie.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<Me, AppError> {
    use super::context::{client_ip, fail, set_cookie, state};
    use crate::ssr::auth;
    let state = state()?;
    let session = auth::login(&state, &email, &password, &client_ip(&state)).await.map_err(fail)?;
    set_cookie(&auth::session_cookie(&state, &session.token));
    let me = me_of(session.user);
    leptos_axum::redirect(if me.role == crate::domain::Role::Admin { "/admin" } else { "/" });
    Ok(me)
}

/// « Recevoir un lien de connexion »: the same answer whether the address has an account or not.
#[server(endpoint = "login/link/request")]
pub async fn request_login_link(email: String) -> Result<(), AppError> {
    use super::context::{client_ip, fail, state};
    use crate::ssr::services::links::{self, Purpose};
    let state = state()?;
    links::request(&state, &email, Purpose::Login, &client_ip(&state)).await.map_err(fail)
}

/// « Mot de passe oublié »: the same answer whether the address has an account or not.
#[server(endpoint = "password/reset/request")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use super::context::{client_ip, fail, state};
    use crate::ssr::services::links::{self, Purpose};
    let state = state()?;
    links::request(&state, &email, Purpose::ResetPassword, &client_ip(&state)).await.map_err(fail)
}

/// Logs in through an emailed login link (spent) and sets the session cookie.
#[server(endpoint = "login/link")]
pub async fn log_in_with_link(token: String) -> Result<Me, AppError> {
    use super::context::{fail, set_cookie, state};
    use crate::ssr::auth;
    let state = state()?;
    let session = crate::ssr::services::links::log_in(&state, token.trim()).await.map_err(fail)?;
    set_cookie(&auth::session_cookie(&state, &session.token));
    Ok(me_of(session.user))
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

#[cfg(feature = "ssr")]
fn me_of(user: crate::ssr::auth::CurrentUser) -> Me {
    Me { id: user.id.get(), display_name: user.display_name, role: user.role, locale: user.locale }
}
