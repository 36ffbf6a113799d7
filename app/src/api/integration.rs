//! The « Intégration » page's server functions: the host site's API keys,
//! webhook endpoints and deliveries. Thin: admins only, one service each.

use leptos::prelude::*;

use super::dto::{IntegrationView, ShownOnce};
use super::error::AppError;

/// Deliveries per page.
#[cfg(feature = "ssr")]
const DELIVERIES_PER_PAGE: u64 = 50;

/// Keys, endpoints and a page of deliveries (of one status, or all).
#[server(endpoint = "admin/integration")]
pub async fn admin_integration(status: Option<String>, page: u64) -> Result<IntegrationView, AppError> {
    use super::context::{fail, require_admin, respond, state};
    use crate::domain::{Field, HostDeliveryStatus, Invalid};
    use crate::ssr::services::host_api::keys;
    use crate::ssr::services::outgoing::delivery;
    use crate::ssr::services::outgoing::endpoints;
    let state = state()?;
    require_admin(&state).await?;
    let status = match status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => {
            Some(HostDeliveryStatus::parse(s).map_err(|_| respond(AppError::Invalid(Invalid::Field(Field::Status))))?)
        }
        None => None,
    };
    let (deliveries, total) = delivery::list(&state, status, page, DELIVERIES_PER_PAGE).await.map_err(fail)?;
    let failed = delivery::count_failed(&state).await.map_err(fail)?;
    let local = |ms: i64| crate::ssr::clock::from_ms(ms).with_timezone(&state.settings.schedule_timezone).naive_local();
    let keys = keys::list(&state)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|k| super::dto::ApiKeyLine {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            mode: k.mode.as_str().to_owned(),
            created_at: local(k.created_at),
            last_used_at: k.last_used_at.map(local),
            revoked: k.revoked_at.is_some(),
        })
        .collect();
    let now = state.now_ms();
    let endpoints = endpoints::list(&state)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|e| super::dto::EndpointLine {
            id: e.id,
            events: endpoints::event_types(&e),
            enabled: e.disabled_at.is_none(),
            previous_secret_until: e.previous_secret_until.filter(|until| *until > now).map(local),
            mode: e.mode,
            url: e.url,
        })
        .collect();
    Ok(IntegrationView {
        keys,
        endpoints,
        has_more: page.saturating_add(1).saturating_mul(DELIVERIES_PER_PAGE) < total,
        deliveries,
        page,
        failed,
    })
}

/// Makes an API key; the answer is the only time it is shown.
#[server(endpoint = "admin/integration/keys/create")]
pub async fn admin_create_api_key(name: String) -> Result<ShownOnce, AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::services::host_api::keys;
    let state = state()?;
    require_admin(&state).await?;
    let created = keys::create(&state, &name).await.map_err(fail)?;
    Ok(ShownOnce { id: created.row.id, secret: created.key.expose().to_owned() })
}

/// Revokes an API key.
#[server(endpoint = "admin/integration/keys/revoke")]
pub async fn admin_revoke_api_key(id: i64) -> Result<(), AppError> {
    use super::context::{fail, require_admin, state};
    let state = state()?;
    require_admin(&state).await?;
    crate::ssr::services::host_api::keys::revoke(&state, id).await.map_err(fail)
}

/// Adds a webhook endpoint; `events` separated by spaces or commas (`*`: all).
#[server(endpoint = "admin/integration/endpoints/create")]
pub async fn admin_create_endpoint(url: String, events: String) -> Result<ShownOnce, AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::services::outgoing::endpoints::{self, NewEndpoint};
    let state = state()?;
    require_admin(&state).await?;
    let enabled_events = events.split([' ', ',', '\n']).filter(|e| !e.trim().is_empty()).map(str::to_owned).collect();
    let created =
        endpoints::create(&state, NewEndpoint { url, enabled_events, description: None }).await.map_err(fail)?;
    Ok(ShownOnce { id: created.row.id, secret: created.secret })
}

/// A new signing secret for an endpoint (the previous one keeps signing for the overlap).
#[server(endpoint = "admin/integration/endpoints/roll")]
pub async fn admin_roll_endpoint_secret(id: i64) -> Result<ShownOnce, AppError> {
    use super::context::{fail, require_admin, state};
    let state = state()?;
    require_admin(&state).await?;
    let secret = crate::ssr::services::outgoing::endpoints::roll_secret(&state, id).await.map_err(fail)?;
    Ok(ShownOnce { id, secret })
}

/// Stops sending to an endpoint.
#[server(endpoint = "admin/integration/endpoints/disable")]
pub async fn admin_disable_endpoint(id: i64) -> Result<(), AppError> {
    use super::context::{fail, require_admin, state};
    let state = state()?;
    require_admin(&state).await?;
    crate::ssr::services::outgoing::endpoints::disable(&state, id).await.map_err(fail)
}

/// Sends one delivery again now.
#[server(endpoint = "admin/integration/deliveries/replay")]
pub async fn admin_replay_delivery(id: i64) -> Result<(), AppError> {
    use super::context::{fail, require_admin, state};
    let state = state()?;
    require_admin(&state).await?;
    crate::ssr::services::outgoing::delivery::replay(&state, id).await.map_err(fail)
}

/// Sends every failed delivery again now; returns how many.
#[server(endpoint = "admin/integration/deliveries/replay-failed")]
pub async fn admin_replay_failed_deliveries() -> Result<u64, AppError> {
    use super::context::{fail, require_admin, state};
    let state = state()?;
    require_admin(&state).await?;
    crate::ssr::services::outgoing::delivery::replay_failed(&state).await.map_err(fail)
}
