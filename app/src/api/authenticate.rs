//! The 3D Secure page: opened by the owner, or through the emailed link's token.

use leptos::prelude::*;

use super::dto::AuthenticationPage;
use super::error::AppError;
use crate::domain::EcheanceStatus;

/// The page's data. Never the client secret to anyone but the owner or the
/// link's bearer. `retry`: the customer asked to try 3D Secure again.
#[server(endpoint = "authenticate/page")]
pub async fn load_authentication_page(
    payment_intent_id: String,
    token: Option<String>,
    #[server(default)] retry: bool,
) -> Result<AuthenticationPage, AppError> {
    use super::context::{fail, state};
    use crate::ssr::services::authenticate;
    let state = state()?;
    let access = access(&state, token).await?;
    let view = authenticate::prepare(&state, &payment_intent_id, &access, retry).await.map_err(fail)?;
    Ok(AuthenticationPage {
        label: view.echeance.label,
        money: view.money,
        due_date: view.echeance.due_date,
        status: view.status,
        client_secret: view.client_secret,
        step: view.step,
        can_retry: view.can_retry,
        publishable_key: state.settings.stripe_publishable_key.clone(),
    })
}

/// After the browser's 3D Secure: the server asks Stripe and records what it says.
#[server(endpoint = "authenticate/confirm")]
pub async fn confirm_authentication(
    payment_intent_id: String,
    token: Option<String>,
) -> Result<EcheanceStatus, AppError> {
    use super::context::{fail, state};
    use crate::ssr::services::authenticate;
    let state = state()?;
    let access = access(&state, token).await?;
    authenticate::confirm(&state, &payment_intent_id, &access).await.map_err(fail)
}

/// A token wins when given (the link works in any browser); else the logged-in user.
#[cfg(feature = "ssr")]
async fn access(
    state: &crate::ssr::state::AppState,
    token: Option<String>,
) -> Result<crate::ssr::services::authenticate::Access, AppError> {
    use super::context::require_user;
    use crate::ssr::services::authenticate::Access;
    match token.filter(|t| !t.trim().is_empty()) {
        Some(token) => Ok(Access::Token(token)),
        None => Ok(Access::User(require_user(state).await?.id)),
    }
}
