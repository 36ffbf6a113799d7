//! The host's webhook endpoints: an address (https; http only outside
//! production), the events it wants, and a `whsec_…` secret shown once.
//! Rolling the secret keeps the previous one signing for an overlap
//! (`WEBHOOK_SECRET_OVERLAP_HOURS`), so the host can switch without losing
//! an event.

use rand::RngCore as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};

use crate::domain::{Field, HostEvent, Invalid};
use crate::ssr::config::Environment;
use crate::ssr::db;
use crate::ssr::entities::webhook_endpoint;
use crate::ssr::services::error::ServiceError;
use crate::ssr::state::AppState;

/// What the host asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEndpoint {
    /// Where to POST.
    pub url: String,
    /// Event types (`echeance.paid`, …), or `*` for all.
    pub enabled_events: Vec<String>,
    /// A note for the host.
    pub description: Option<String>,
}

/// An endpoint just created: the only time its secret is returned.
#[derive(Debug)]
pub struct CreatedEndpoint {
    /// Its row.
    pub row: webhook_endpoint::Model,
    /// `whsec_…`.
    pub secret: String,
}

fn new_secret() -> String {
    let mut random = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut random);
    format!("whsec_{}", crate::domain::host_api::base62(&random))
}

/// The event types an endpoint wants, as stored.
#[must_use]
pub fn event_types(row: &webhook_endpoint::Model) -> Vec<String> {
    serde_json::from_str(&row.event_types).unwrap_or_default()
}

/// The secrets that sign for `row` at `now`: the current one, and the
/// previous one while its overlap lasts.
#[must_use]
pub fn signing_secrets(row: &webhook_endpoint::Model, now: i64) -> Vec<&str> {
    let mut secrets = vec![row.secret.as_str()];
    if let (Some(previous), Some(until)) = (&row.previous_secret, row.previous_secret_until)
        && until > now
    {
        secrets.push(previous.as_str());
    }
    secrets
}

/// Whether a URL's host may be public: an IP literal on the public internet,
/// or a name that is not `localhost` (names are checked again when they are
/// resolved, at each delivery).
#[must_use]
pub fn public_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => crate::domain::host_api::is_public_address(ip.into()),
        Some(url::Host::Ipv6(ip)) => crate::domain::host_api::is_public_address(ip.into()),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost") && name.contains('.')
        }
        None => false,
    }
}

fn check(state: &AppState, input: &NewEndpoint) -> Result<(String, Vec<String>), ServiceError> {
    let url = url::Url::parse(input.url.trim()).map_err(|_| Invalid::Field(Field::EndpointUrl))?;
    let allowed = match url.scheme() {
        "https" => true,
        "http" => state.settings.environment != Environment::Production,
        _ => false,
    };
    if !allowed
        || url.host_str().is_none()
        || input.url.len() > 2000
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(Invalid::Field(Field::EndpointUrl).into());
    }
    if state.settings.environment == Environment::Production && !public_host(&url) {
        return Err(Invalid::Field(Field::EndpointUrl).into());
    }
    let mut events: Vec<String> = input.enabled_events.iter().map(|e| e.trim().to_owned()).collect();
    events.sort();
    events.dedup();
    if events.is_empty() || events.iter().any(|e| e != "*" && HostEvent::parse(e).is_err()) {
        return Err(Invalid::Field(Field::EventTypes).into());
    }
    if input.description.as_ref().is_some_and(|d| !crate::domain::text::storable(d, 200)) {
        return Err(Invalid::Field(Field::Description).into());
    }
    Ok((url.to_string(), events))
}

/// How many endpoints a mode's keys may have enabled at once, as on Stripe: each event is signed
/// and sent to each of them, and the list is one page.
pub const MAX_ENABLED: u32 = 16;

/// The turn ([`db::take_turn`]) of creating an endpoint: two at once cannot both count 15.
const CREATION_TURN: i64 = 0x00ec_6ea0_e4d1;

/// Checks and writes an endpoint (the dashboard's form).
///
/// # Errors
/// As [`create_in`].
pub async fn create(state: &AppState, input: NewEndpoint) -> Result<CreatedEndpoint, ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let created = create_in(state, &txn, input).await?;
    txn.commit().await?;
    Ok(created)
}

/// Checks and writes an endpoint in `txn` (the API's, which also keeps its answer), unless the
/// mode in use has [`MAX_ENABLED`] enabled already.
///
/// # Errors
/// `Invalid` (the address, the event types, `TooManyEndpoints`), database failure.
pub async fn create_in(
    state: &AppState,
    txn: &DatabaseTransaction,
    input: NewEndpoint,
) -> Result<CreatedEndpoint, ServiceError> {
    let (url, events) = check(state, &input)?;
    let mode = crate::ssr::services::host_api::keys::current_mode(state);
    db::take_turn(txn, CREATION_TURN).await?;
    // An endpoint written before modes were kept (no mode) sends for both.
    let enabled = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::DisabledAt.is_null())
        .filter(
            Condition::any().add(webhook_endpoint::Column::Mode.eq(mode)).add(webhook_endpoint::Column::Mode.is_null()),
        )
        .count(txn)
        .await?;
    if enabled >= u64::from(MAX_ENABLED) {
        return Err(Invalid::TooManyEndpoints(MAX_ENABLED).into());
    }
    let secret = new_secret();
    let row = webhook_endpoint::ActiveModel {
        url: Set(url),
        description: Set(input.description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty())),
        event_types: Set(serde_json::to_string(&events).map_err(anyhow::Error::from)?),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        created_at: Set(state.now_ms()),
        disabled_at: Set(None),
        mode: Set(Some(mode)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    tracing::info!(webhook_endpoint.id = row.id, "webhook endpoint created");
    Ok(CreatedEndpoint { row, secret })
}

/// Every endpoint, newest first.
///
/// # Errors
/// Database failure.
pub async fn list(state: &AppState) -> Result<Vec<webhook_endpoint::Model>, ServiceError> {
    Ok(webhook_endpoint::Entity::find().order_by_desc(webhook_endpoint::Column::Id).all(&state.db).await?)
}

/// Stops sending to an endpoint (its pending deliveries are failed at their next try).
///
/// # Errors
/// `NotFound`, database failure.
pub async fn disable(state: &AppState, id: i64) -> Result<(), ServiceError> {
    let done = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::DisabledAt, Expr::value(state.now_ms()))
        .filter(webhook_endpoint::Column::Id.eq(id))
        .filter(webhook_endpoint::Column::DisabledAt.is_null())
        .exec(&state.db)
        .await?;
    if done.rows_affected == 0 {
        return Err(ServiceError::NotFound);
    }
    Ok(())
}

/// A new secret for an endpoint; the previous one keeps signing for the overlap.
///
/// The secret is swapped only if it is still the one read: of two rolls at once (two admins,
/// a double click), the later keeps the earlier's secret as its previous one. Before, both kept
/// the secret they had read, and the earlier roll's secret, already shown once, never signed.
///
/// # Errors
/// `NotFound` (no such endpoint, or deleted), database failure.
pub async fn roll_secret(state: &AppState, id: i64) -> Result<String, ServiceError> {
    let overlap_ms = i64::try_from(state.settings.webhook_secret_overlap.as_millis()).unwrap_or(i64::MAX);
    for _ in 0..16 {
        let row = webhook_endpoint::Entity::find_by_id(id)
            .filter(webhook_endpoint::Column::DisabledAt.is_null())
            .one(&state.db)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let secret = new_secret();
        let swapped = webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::Secret, Expr::value(secret.clone()))
            .col_expr(webhook_endpoint::Column::PreviousSecret, Expr::value(row.secret.clone()))
            .col_expr(
                webhook_endpoint::Column::PreviousSecretUntil,
                Expr::value(state.now_ms().saturating_add(overlap_ms)),
            )
            .filter(webhook_endpoint::Column::Id.eq(id))
            .filter(webhook_endpoint::Column::Secret.eq(row.secret))
            .filter(webhook_endpoint::Column::DisabledAt.is_null())
            .exec(&state.db)
            .await?;
        if swapped.rows_affected == 1 {
            tracing::info!(webhook_endpoint.id = id, "webhook endpoint secret rolled");
            return Ok(secret);
        }
    }
    Err(anyhow::anyhow!("webhook endpoint {id}: its secret changed under sixteen rolls in a row").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(previous_until: Option<i64>) -> webhook_endpoint::Model {
        webhook_endpoint::Model {
            id: 1,
            url: "https://host.example/hooks".to_owned(),
            description: None,
            event_types: r#"["*"]"#.to_owned(),
            secret: "whsec_new".to_owned(),
            previous_secret: previous_until.map(|_| "whsec_old".to_owned()),
            previous_secret_until: previous_until,
            created_at: 0,
            disabled_at: None,
            mode: None,
        }
    }

    #[test]
    fn the_previous_secret_signs_only_during_its_overlap() {
        assert_eq!(signing_secrets(&endpoint(None), 10), vec!["whsec_new"]);
        assert_eq!(signing_secrets(&endpoint(Some(100)), 10), vec!["whsec_new", "whsec_old"]);
        assert_eq!(signing_secrets(&endpoint(Some(100)), 100), vec!["whsec_new"]);
    }

    #[test]
    fn a_public_host_is_a_dotted_name_or_a_public_address() {
        let host = |u: &str| public_host(&url::Url::parse(u).expect("url"));
        assert!(host("https://shop.example.com/hooks"));
        assert!(host("https://93.184.216.34/hooks"));
        assert!(!host("https://localhost/hooks"));
        assert!(!host("https://api.localhost/hooks"));
        assert!(!host("https://intranet/hooks"));
        assert!(!host("https://10.0.0.5/hooks"));
        assert!(!host("https://169.254.169.254/latest/meta-data"));
        assert!(!host("https://[::1]/hooks"));
    }

    #[test]
    fn secrets_look_like_stripes_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.starts_with("whsec_") && a.len() == 38);
        assert_ne!(a, b);
    }
}
