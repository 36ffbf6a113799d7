//! The host's API keys: created from the CLI or the dashboard (the key is
//! shown once, its hash kept), listed with their last use, revoked; and the
//! check every `/v1/` request passes.

use rand::RngCore as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use secrecy::ExposeSecret;

use crate::domain::{ApiKey, Field, Invalid, KeyMode};
use crate::ssr::entities::{api_key, payment_method, payment_plan, stripe_customer, webhook_endpoint};
use crate::ssr::services::error::ServiceError;
use crate::ssr::state::AppState;

/// A key just created: the only time the key itself is seen.
#[derive(Debug)]
pub struct CreatedKey {
    /// Its row.
    pub row: api_key::Model,
    /// `ek_test_…`: print it once.
    pub key: ApiKey,
}

/// Who is calling the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The key's id.
    pub key_id: i64,
    /// Its mode.
    pub mode: KeyMode,
}

/// The mode of the Stripe key in use: keys are made, and accepted, in it.
#[must_use]
pub fn current_mode(state: &AppState) -> KeyMode {
    KeyMode::of_stripe_key(state.settings.stripe_secret_key.expose_secret())
}

/// What an upgraded version's first start gave the mode in use (see [`keep_mode_of_older`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModesKept {
    /// Plans made before migration 22.
    pub plans: u64,
    /// Webhook endpoints made before migration 24.
    pub endpoints: u64,
    /// Customers' Stripe records and saved cards kept before migration 25.
    pub customers_and_cards: u64,
}

/// Gives the plans, webhook endpoints, customers' Stripe records and saved cards kept before their
/// mode was (migrations 22, 24 and 25) `mode`, the mode of the Stripe key in use at the start of
/// an instance: the mode they were made in, unless the keys changed with the upgrade. From then
/// on a plan's host events say its mode and reach its mode's endpoints only, and a customer's
/// record and cards are used with their mode's keys only, whatever keys are in use.
///
/// # Errors
/// Database failure.
pub async fn keep_mode_of_older(db: &impl ConnectionTrait, mode: KeyMode) -> Result<ModesKept, ServiceError> {
    Ok(ModesKept {
        plans: stamp::<payment_plan::Entity>(db, payment_plan::Column::Mode, mode).await?,
        endpoints: stamp::<webhook_endpoint::Entity>(db, webhook_endpoint::Column::Mode, mode).await?,
        customers_and_cards: stamp::<stripe_customer::Entity>(db, stripe_customer::Column::Mode, mode).await?
            + stamp::<payment_method::Entity>(db, payment_method::Column::Mode, mode).await?,
    })
}

/// Gives the rows of `E` with no mode in `column` `mode`; how many.
async fn stamp<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    mode: KeyMode,
) -> Result<u64, ServiceError> {
    let stamped = E::update_many().col_expr(column, Expr::value(mode)).filter(column.is_null()).exec(db).await?;
    Ok(stamped.rows_affected)
}

/// `mode` when it is not the mode of the keys in use: what is of it is out of their reach, as on
/// Stripe. What has no mode yet (made before its mode was kept) is of the mode in use: the next
/// start gives it that mode.
#[must_use]
pub fn other_mode(state: &AppState, mode: Option<KeyMode>) -> Option<KeyMode> {
    other_than(mode, current_mode(state))
}

/// [`other_mode`] with the keys of `in_use`.
#[must_use]
pub fn other_than(mode: Option<KeyMode>, in_use: KeyMode) -> Option<KeyMode> {
    mode.filter(|mode| *mode != in_use)
}

/// What is of `mode` by its `column`: what has no mode yet (kept before its mode was) is of the
/// mode in use, the next start gives it that mode.
#[must_use]
pub fn of_mode(column: impl ColumnTrait, mode: KeyMode) -> Condition {
    Condition::any().add(column.eq(mode)).add(column.is_null())
}

/// Makes a key named `name` in the current mode.
///
/// # Errors
/// `Invalid` (a name empty, over 100 characters or with a control character), database failure.
pub async fn create(state: &AppState, name: &str) -> Result<CreatedKey, ServiceError> {
    let name = crate::domain::text::one_line(name, 100).ok_or(Invalid::Field(Field::Name))?;
    let mut random = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut random);
    let key = ApiKey::generate(current_mode(state), &random);
    let row = api_key::ActiveModel {
        name: Set(name.to_owned()),
        prefix: Set(key.prefix().to_owned()),
        key_hash: Set(key.hash()),
        mode: Set(key.mode()),
        created_at: Set(state.now_ms()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    tracing::info!(api_key.id = row.id, api_key.prefix = %row.prefix, "API key created");
    Ok(CreatedKey { row, key })
}

/// Every key, newest first (revoked ones included, marked).
///
/// # Errors
/// Database failure.
pub async fn list(state: &AppState) -> Result<Vec<api_key::Model>, ServiceError> {
    Ok(api_key::Entity::find().order_by_desc(api_key::Column::Id).all(&state.db).await?)
}

/// Revokes a key: from now on it gets the same 401 as a wrong one.
///
/// # Errors
/// `NotFound`, database failure.
pub async fn revoke(state: &AppState, id: i64) -> Result<(), ServiceError> {
    let done = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(state.now_ms()))
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(&state.db)
        .await?;
    if done.rows_affected == 0 && api_key::Entity::find_by_id(id).one(&state.db).await?.is_none() {
        return Err(ServiceError::NotFound);
    }
    tracing::info!(api_key.id = id, "API key revoked");
    Ok(())
}

/// The last use is written at most this often (not one write per request).
const LAST_USE_PRECISION_MS: i64 = 60_000;

/// The caller of `authorization` (the header's value), or `Unauthenticated`
/// for a missing, malformed, unknown, revoked or other-mode key alike: the
/// same lookup by hash runs for every one of them.
///
/// # Errors
/// `Unauthenticated`, database failure.
pub async fn authenticate(state: &AppState, authorization: Option<&str>) -> Result<Caller, ServiceError> {
    // The scheme is case-insensitive (RFC 7235): `Bearer`, `bearer`.
    let presented = authorization
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, key)| key.trim());
    let parsed = ApiKey::parse(presented);
    let hash = crate::domain::host_api::key_hash(presented);
    let row = api_key::Entity::find().filter(api_key::Column::KeyHash.eq(hash)).one(&state.db).await?;
    let mode = current_mode(state);
    let Some(row) = row.filter(|r| parsed.is_ok() && r.revoked_at.is_none() && r.mode == mode) else {
        return Err(ServiceError::Unauthenticated);
    };
    let now = state.now_ms();
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
        .filter(api_key::Column::Id.eq(row.id))
        .filter(
            Condition::any()
                .add(api_key::Column::LastUsedAt.is_null())
                .add(api_key::Column::LastUsedAt.lt(now - LAST_USE_PRECISION_MS)),
        )
        .exec(&state.db)
        .await?;
    Ok(Caller { key_id: row.id, mode: row.mode })
}
