//! Admin accounts (list, invite, disable), the single-use link that lets a
//! new admin choose a password, and the reader's second factor (enrol, recovery
//! codes, turn off). Thin: one service each.

use leptos::prelude::*;

use super::dto::{AdminLine, SecondFactorEnrollment, SecondFactorStatus};
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
            second_factor: a.second_factor,
            disabled: a.disabled,
        })
        .collect())
}

/// Invites an admin: the account, and an emailed link to choose a password.
#[server(endpoint = "admin/admins/invite")]
pub async fn admin_invite_admin(email: String, name: String, locale: String) -> Result<(), AppError> {
    use super::context::{fail, require_admin, respond, state};
    use crate::domain::{Field, Invalid, Locale};
    use crate::ssr::services::admins::{self, NewAdmin};
    let state = state()?;
    let me = require_admin(&state).await?;
    let locale = Locale::parse(&locale).map_err(|_| respond(AppError::Invalid(Invalid::Field(Field::Locale))))?;
    let input = NewAdmin { email, name, locale };
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

/// Sets the password of the link's account (typed twice) and logs them in (or leads to the
/// second step); answers the page to go to next.
#[server(endpoint = "password/set")]
pub async fn set_password(token: String, password: String, again: String) -> Result<String, AppError> {
    use super::context::{fail, state};
    let state = state()?;
    let entry =
        crate::ssr::services::links::set_password(&state, token.trim(), &password, &again).await.map_err(fail)?;
    Ok(super::session::welcome(&state, entry))
}

/// Where the reader's second factor stands.
#[server(endpoint = "admin/security")]
pub async fn security_status() -> Result<SecondFactorStatus, AppError> {
    use super::context::{fail, require_admin_account, state};
    use crate::ssr::services::second_factor;
    let state = state()?;
    let me = require_admin_account(&state).await?;
    let status = second_factor::status(&state, me.id).await.map_err(fail)?;
    Ok(SecondFactorStatus { on: status.on, required: status.required, codes_left: status.codes_left })
}

/// Starts enrolling an authenticator app.
#[server(endpoint = "admin/security/begin")]
pub async fn security_begin() -> Result<SecondFactorEnrollment, AppError> {
    use super::context::{fail, require_admin_account, state};
    use crate::ssr::services::second_factor;
    let state = state()?;
    let me = require_admin_account(&state).await?;
    let enrollment = second_factor::begin(&state, me.id).await.map_err(fail)?;
    Ok(SecondFactorEnrollment { secret: enrollment.secret, uri: enrollment.uri, qr_svg: enrollment.qr_svg })
}

/// Confirms the enrolment with the password and a first code; answers the recovery codes (shown once).
#[server(endpoint = "admin/security/confirm")]
pub async fn security_confirm(password: String, code: String) -> Result<Vec<String>, AppError> {
    use super::context::{fail, require_admin_account, session_token, state};
    use crate::ssr::services::second_factor;
    let state = state()?;
    let me = require_admin_account(&state).await?;
    second_factor::confirm(&state, me.id, &session_token(&state), &password, &code).await.map_err(fail)
}

/// New recovery codes, against a current code.
#[server(endpoint = "admin/security/codes")]
pub async fn security_renew_codes(code: String) -> Result<Vec<String>, AppError> {
    use super::context::{fail, require_admin_account, state};
    use crate::ssr::services::second_factor;
    let state = state()?;
    let me = require_admin_account(&state).await?;
    second_factor::renew_codes(&state, me.id, &code).await.map_err(fail)
}

/// Turns the second factor off, against a current code (refused when the settings require it).
#[server(endpoint = "admin/security/off")]
pub async fn security_turn_off(code: String) -> Result<(), AppError> {
    use super::context::{fail, require_admin_account, state};
    use crate::ssr::services::second_factor;
    let state = state()?;
    let me = require_admin_account(&state).await?;
    second_factor::turn_off(&state, me.id, &code).await.map_err(fail)
}
