//! Admin accounts (list, invite, disable) and the single-use link that lets
//! a new admin choose a password. Thin: one service each.

use leptos::prelude::*;

use super::dto::AdminLine;
use super::error::AppError;

/// Every admin.
#[server(endpoint = "admin/admins")]
pub async fn admin_list_admins() -> Result<Vec<AdminLine>, AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::services::admins;
    let state = state()?;
    let me = require_admin(&state).await?;
    Ok(admins::list(&state)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|a| AdminLine {
            is_me: a.id == me.id.get(),
            id: a.id,
            email: a.email,
            name: a.name,
            invited: !a.has_password,
            disabled: a.disabled,
        })
        .collect())
}

/// Invites an admin: the account, and an emailed link to choose a password.
#[server(endpoint = "admin/admins/invite")]
pub async fn admin_invite_admin(email: String, name: String, locale: String) -> Result<(), AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::services::admins::{self, NewAdmin};
    let state = state()?;
    let me = require_admin(&state).await?;
    let input = NewAdmin { email, name, locale: crate::domain::Locale::from_code(&locale) };
    admins::create(&state, Some(me.id), input, true).await.map(|_| ()).map_err(fail)
}

/// Disables an admin (never the last active one).
#[server(endpoint = "admin/admins/disable")]
pub async fn admin_disable_admin(id: i64) -> Result<(), AppError> {
    use super::context::{fail, require_admin, state};
    let state = state()?;
    let me = require_admin(&state).await?;
    crate::ssr::services::admins::disable(&state, Some(me.id), id).await.map_err(fail)
}

/// Sets the password of the link's account (typed twice) and logs them in; says whether they are an admin.
#[server(endpoint = "password/set")]
pub async fn set_password(token: String, password: String, again: String) -> Result<bool, AppError> {
    use super::context::{fail, set_cookie, state};
    use crate::ssr::auth;
    let state = state()?;
    let session =
        crate::ssr::services::links::set_password(&state, token.trim(), &password, &again).await.map_err(fail)?;
    set_cookie(&auth::session_cookie(&state, &session.token));
    Ok(session.user.role == crate::domain::Role::Admin)
}
