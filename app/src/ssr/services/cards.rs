//! Saving a card: a SetupIntent confirmed in the browser by Stripe.js, then
//! checked with Stripe before the card is recorded (brand and last 4 only).

use anyhow::anyhow;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::error::ServiceError;
use crate::domain::{IdempotencyKey, Invalid, UserId};
use crate::ssr::db;
use crate::ssr::entities::{payment_method, setup_request, user};
use crate::ssr::state::AppState;

/// What the browser needs to run `confirmCardSetup`.
#[derive(Clone, Debug)]
pub struct SetupStart {
    /// The SetupIntent's client secret.
    pub client_secret: String,
}

/// Creates the user's Stripe customer if needed and returns its id.
///
/// # Errors
/// Stripe unavailable, database failure.
pub async fn ensure_customer(state: &AppState, user_id: UserId) -> Result<String, ServiceError> {
    let user = user::Entity::find_by_id(user_id.get()).one(&state.db).await?.ok_or(ServiceError::NotFound)?;
    if let Some(id) = user.stripe_customer_id {
        return Ok(id);
    }
    let key = IdempotencyKey::for_customer(&state.installation_id, user_id);
    let id = state.gateway.create_customer(&user.email, &user.display_name, user_id, &key).await?;
    user::Entity::update_many()
        .col_expr(user::Column::StripeCustomerId, Expr::value(id.clone()))
        .filter(user::Column::Id.eq(user_id.get()))
        .filter(user::Column::StripeCustomerId.is_null())
        .exec(&state.db)
        .await?;
    Ok(id)
}

/// Starts saving a card for `user_id`.
///
/// # Errors
/// Stripe unavailable, database failure.
pub async fn start_setup(state: &AppState, user_id: UserId) -> Result<SetupStart, ServiceError> {
    // Card setups are what card testers loop on: bounded per customer.
    state.guards.spend(user_id, state.now_ms())?;
    let customer = ensure_customer(state, user_id).await?;
    let now = state.now_ms();
    let request = setup_request::ActiveModel {
        user_id: Set(user_id.get()),
        status: Set(setup_request::REQUESTED.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let key = IdempotencyKey::for_setup_intent(&state.installation_id, user_id, request.id);
    let mut active: setup_request::ActiveModel = request.into();
    active.idempotency_key = Set(Some(key.as_str().to_owned()));
    let request = active.update(&state.db).await?;
    let intent = state.gateway.create_setup_intent(&customer, &key).await?;
    let mut active: setup_request::ActiveModel = request.into();
    active.stripe_setup_intent_id = Set(Some(intent.id.clone()));
    active.status = Set(intent.status.clone());
    active.update(&state.db).await?;
    let client_secret = intent.client_secret.ok_or_else(|| anyhow!("SetupIntent without client secret"))?;
    Ok(SetupStart { client_secret })
}

/// A saved card, as shown to its owner.
#[derive(Clone, Debug)]
pub struct SavedCard {
    /// `visa`, …
    pub brand: String,
    /// Last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: i32,
    /// Expiry year.
    pub exp_year: i32,
}

impl From<SavedCard> for crate::api::dto::CardInfo {
    fn from(c: SavedCard) -> Self {
        Self { brand: c.brand, last4: c.last4, exp_month: c.exp_month, exp_year: c.exp_year }
    }
}

/// Records the card of SetupIntent `setup_intent_id` once Stripe says it succeeded.
///
/// # Errors
/// `NotFound` (not this user's SetupIntent), `Validation` (not succeeded),
/// `RateLimited` past the customer's budget of Stripe calls, Stripe unavailable, database failure.
pub async fn save_card(state: &AppState, user_id: UserId, setup_intent_id: &str) -> Result<SavedCard, ServiceError> {
    let request = setup_request::Entity::find()
        .filter(setup_request::Column::StripeSetupIntentId.eq(setup_intent_id))
        .filter(setup_request::Column::UserId.eq(user_id.get()))
        .one(&state.db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    // Two or three Stripe reads follow: bounded per customer like the setup itself.
    state.guards.spend(user_id, state.now_ms())?;
    let customer = ensure_customer(state, user_id).await?;
    let intent = state.gateway.retrieve_setup_intent(setup_intent_id).await?;
    if !intent.succeeded() {
        return Err(Invalid::CardNotConfirmed.into());
    }
    let pm_id = intent
        .payment_method
        .as_ref()
        .map(|p| p.id().to_owned())
        .ok_or_else(|| anyhow!("succeeded SetupIntent without a payment method"))?;
    let mut pm = state.gateway.retrieve_payment_method(&pm_id).await?;
    match pm.customer.as_ref().map(|c| c.id().to_owned()) {
        Some(c) if c == customer => {}
        Some(_) => return Err(ServiceError::NotFound),
        None => {
            let key = IdempotencyKey::for_attach(&state.installation_id, user_id, &pm_id);
            pm = state.gateway.attach_payment_method(&pm_id, &customer, &key).await.map_err(|e| {
                tracing::warn!(error = %e, "could not attach the card");
                ServiceError::Invalid(Invalid::CardRefused)
            })?;
        }
    }
    let card = pm.card.ok_or(Invalid::CardsOnly)?;

    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    payment_method::Entity::update_many()
        .col_expr(payment_method::Column::IsDefault, Expr::value(false))
        .filter(payment_method::Column::UserId.eq(user_id.get()))
        .exec(&txn)
        .await?;
    let existing = payment_method::Entity::find()
        .filter(payment_method::Column::StripePaymentMethodId.eq(pm_id.as_str()))
        .one(&txn)
        .await?;
    match existing {
        Some(row) => {
            let mut active: payment_method::ActiveModel = row.into();
            active.is_default = Set(true);
            active.update(&txn).await?;
        }
        None => {
            payment_method::ActiveModel {
                user_id: Set(user_id.get()),
                stripe_payment_method_id: Set(pm_id),
                brand: Set(card.brand.clone()),
                last4: Set(card.last4.clone()),
                exp_month: Set(card.exp_month),
                exp_year: Set(card.exp_year),
                is_default: Set(true),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    let mut active: setup_request::ActiveModel = request.into();
    active.status = Set(intent.status.clone());
    active.update(&txn).await?;
    // Plans the customer accepted and that waited for a card become active.
    super::plans::card_saved(&txn, user_id.get(), now).await?;
    txn.commit().await?;
    Ok(SavedCard { brand: card.brand, last4: card.last4, exp_month: card.exp_month, exp_year: card.exp_year })
}

/// The user's default card, if any.
///
/// # Errors
/// Database failure.
pub async fn default_card(state: &AppState, user_id: UserId) -> Result<Option<SavedCard>, ServiceError> {
    Ok(payment_method::Entity::find()
        .filter(payment_method::Column::UserId.eq(user_id.get()))
        .order_by_desc(payment_method::Column::IsDefault)
        .order_by_desc(payment_method::Column::CreatedAt)
        .one(&state.db)
        .await?
        .map(|pm| SavedCard { brand: pm.brand, last4: pm.last4, exp_month: pm.exp_month, exp_year: pm.exp_year }))
}
