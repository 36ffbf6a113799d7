//! Saving a card: a SetupIntent confirmed in the browser by Stripe.js, then
//! checked with Stripe before the card is recorded (brand and last 4 only);
//! or a card the customer gives to pay an échéance now, recorded unusable
//! ([`stage`]) and saved ([`adopt`]) in the transaction that records that
//! payment's success, wherever the success is learned.

use anyhow::anyhow;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Select,
};

use super::error::ServiceError;
use super::host_api::keys;
use crate::domain::{IdempotencyKey, Invalid, KeyMode, UserId};
use crate::ssr::entities::{payment_method, setup_request, stripe_customer, user};
use crate::ssr::payments::types::PaymentMethodSnapshot;
use crate::ssr::state::AppState;
use crate::ssr::{db, repo};

/// What the browser needs to run `confirmCardSetup`.
#[derive(Clone, Debug)]
pub struct SetupStart {
    /// The SetupIntent's client secret.
    pub client_secret: String,
}

/// The user's Stripe customer in the mode of the keys in use, made if needed: a customer made
/// with the other mode's keys is not there for these, as on Stripe ("No such customer").
///
/// # Errors
/// Stripe unavailable, database failure.
pub async fn ensure_customer(state: &AppState, user_id: UserId) -> Result<String, ServiceError> {
    let mode = keys::current_mode(state);
    if let Some(id) = customer_of(&state.db, user_id.get(), mode).await? {
        return Ok(id);
    }
    let user = user::Entity::find_by_id(user_id.get()).one(&state.db).await?.ok_or(ServiceError::NotFound)?;
    let key = IdempotencyKey::for_customer(&state.key_scope, user_id, mode);
    let id = state.gateway.create_customer(&user.email, &user.display_name, user_id, &key).await?;
    stripe_customer::Entity::insert(stripe_customer::ActiveModel {
        user_id: Set(user_id.get()),
        mode: Set(Some(mode)),
        stripe_customer_id: Set(id),
        created_at: Set(state.now_ms()),
        ..Default::default()
    })
    // No target: the user's record of this mode or this very customer, whichever stops it.
    .on_conflict(OnConflict::new().do_nothing().to_owned())
    .try_insert()
    .exec(&state.db)
    .await?;
    // Of two made at once (the same key: the same customer), the one kept is the customer.
    customer_of(&state.db, user_id.get(), mode).await?.ok_or_else(|| anyhow!("a Stripe customer just kept").into())
}

/// The Stripe customer of `user_id` in `mode`, if one was made.
///
/// # Errors
/// Database failure.
pub async fn customer_of(
    db: &impl ConnectionTrait,
    user_id: i64,
    mode: KeyMode,
) -> Result<Option<String>, ServiceError> {
    Ok(stripe_customer::Entity::find()
        .filter(stripe_customer::Column::UserId.eq(user_id))
        .filter(keys::of_mode(stripe_customer::Column::Mode, mode))
        .order_by_asc(stripe_customer::Column::Id)
        .one(db)
        .await?
        .map(|c| c.stripe_customer_id))
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
    let key = IdempotencyKey::for_setup_intent(&state.key_scope, user_id, request.id);
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
    let card = checked(state, user_id, &customer, &pm_id).await?;
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    lock_cards(&txn, user_id).await?;
    let mode = keys::current_mode(state);
    stage(&txn, user_id, &card, mode, now).await?;
    adopt(&txn, user_id, &card.payment_method, true, mode, now).await?;
    let mut active: setup_request::ActiveModel = request.into();
    active.status = Set(intent.status.clone());
    active.update(&txn).await?;
    txn.commit().await?;
    Ok(card.shown)
}

/// A card the customer gave, checked with Stripe: a card, theirs or no one's yet.
#[derive(Clone, Debug)]
pub struct GivenCard {
    /// `pm_…`.
    pub payment_method: String,
    /// What the customer will see of it.
    pub shown: SavedCard,
}

/// Reads PaymentMethod `pm_id` on Stripe: a card, and not another customer's
/// (an unattached one is attached to `customer` when it comes from a SetupIntent;
/// a payment with `setup_future_usage` attaches it itself).
async fn checked(state: &AppState, user_id: UserId, customer: &str, pm_id: &str) -> Result<GivenCard, ServiceError> {
    let mut pm = state.gateway.retrieve_payment_method(pm_id).await?;
    match pm.customer.as_ref().map(|c| c.id().to_owned()) {
        Some(c) if c == customer => {}
        Some(_) => return Err(ServiceError::NotFound),
        None => {
            let key = IdempotencyKey::for_attach(&state.key_scope, user_id, pm_id);
            pm = state.gateway.attach_payment_method(pm_id, customer, &key).await.map_err(|e| {
                tracing::warn!(error = %e, "could not attach the card");
                ServiceError::Invalid(Invalid::CardRefused)
            })?;
        }
    }
    given(pm_id, pm)
}

fn given(pm_id: &str, pm: PaymentMethodSnapshot) -> Result<GivenCard, ServiceError> {
    let card = pm.card.ok_or(Invalid::CardsOnly)?;
    Ok(GivenCard {
        payment_method: pm_id.to_owned(),
        shown: SavedCard { brand: card.brand, last4: card.last4, exp_month: card.exp_month, exp_year: card.exp_year },
    })
}

/// The card a customer typed to pay an échéance now (Stripe.js
/// `createPaymentMethod`), checked with Stripe: a card, not another
/// customer's. Left unattached: the payment saves it.
///
/// # Errors
/// `NotFound` (another customer's, or unknown to Stripe), `Invalid` (not a card),
/// `RateLimited` past the customer's budget of Stripe calls, Stripe unavailable.
pub async fn given_for_payment(state: &AppState, user_id: UserId, pm_id: &str) -> Result<GivenCard, ServiceError> {
    if !(pm_id.starts_with("pm_")
        && pm_id.len() <= 255
        && pm_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(ServiceError::NotFound);
    }
    state.guards.spend(user_id, state.now_ms())?;
    let customer = ensure_customer(state, user_id).await?;
    let pm = match state.gateway.retrieve_payment_method(pm_id).await {
        Err(e) if e.unknown_object() => return Err(ServiceError::NotFound),
        other => other?,
    };
    if pm.customer.as_ref().is_some_and(|c| c.id() != customer) {
        return Err(ServiceError::NotFound);
    }
    given(pm_id, pm)
}

/// Records `card` for `user_id`, saved with the keys of `mode`, not usable yet (unless it already
/// is). In the transaction of the charge attempt that will save it, or of [`adopt`].
///
/// # Errors
/// `NotFound` when the card is recorded for another customer; database failure.
pub async fn stage(
    txn: &impl ConnectionTrait,
    user_id: UserId,
    card: &GivenCard,
    mode: KeyMode,
    now: i64,
) -> Result<(), ServiceError> {
    let existing = payment_method::Entity::find()
        .filter(payment_method::Column::StripePaymentMethodId.eq(card.payment_method.as_str()))
        .one(txn)
        .await?;
    match existing {
        Some(row) if row.user_id == user_id.get() => Ok(()),
        Some(_) => Err(ServiceError::NotFound),
        None => {
            payment_method::ActiveModel {
                user_id: Set(user_id.get()),
                stripe_payment_method_id: Set(card.payment_method.clone()),
                brand: Set(card.shown.brand.clone()),
                last4: Set(card.shown.last4.clone()),
                exp_month: Set(card.shown.exp_month),
                exp_year: Set(card.shown.exp_year),
                is_default: Set(false),
                usable: Set(false),
                created_at: Set(now),
                mode: Set(Some(mode)),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            Ok(())
        }
    }
}

/// Card `pm_id` (staged) is saved: usable, the customer's default among the cards of its mode
/// when `as_default`; the plans of that mode the customer accepted that waited for a card become
/// active. In the transaction that learned it (a SetupIntent checked, or the success of the
/// payment that saves it).
///
/// # Errors
/// Database failure.
pub async fn adopt(
    txn: &sea_orm::DatabaseTransaction,
    user_id: UserId,
    pm_id: &str,
    as_default: bool,
    mode_in_use: KeyMode,
    now: i64,
) -> Result<(), ServiceError> {
    lock_cards(txn, user_id).await?;
    let Some(card) = payment_method::Entity::find()
        .filter(payment_method::Column::UserId.eq(user_id.get()))
        .filter(payment_method::Column::StripePaymentMethodId.eq(pm_id))
        .one(txn)
        .await?
    else {
        // Its customer was erased meanwhile: nothing of theirs is kept.
        tracing::warn!(payment_method = pm_id, "a card being saved is no longer recorded");
        return Ok(());
    };
    // Staged without a mode only before migration 25: of the mode in use since.
    let mode = card.mode.unwrap_or(mode_in_use);
    if as_default {
        payment_method::Entity::update_many()
            .col_expr(payment_method::Column::IsDefault, Expr::value(false))
            .filter(payment_method::Column::UserId.eq(user_id.get()))
            .filter(keys::of_mode(payment_method::Column::Mode, mode))
            .exec(txn)
            .await?;
    }
    payment_method::Entity::update_many()
        .col_expr(payment_method::Column::IsDefault, Expr::value(as_default))
        .col_expr(payment_method::Column::Usable, Expr::value(true))
        .filter(payment_method::Column::Id.eq(card.id))
        .exec(txn)
        .await?;
    super::plans::card_saved(txn, user_id.get(), mode, now).await
}

/// One customer's cards change in turn: their account's row is locked until `txn` ends
/// ([`repo::users::lock`]). A second "save" of the same card (a double click, a retried
/// request) then finds the row the first one wrote instead of failing on its unique id, and of
/// two cards saved at once the later is the only default: each clears the others' flag after
/// the other committed.
async fn lock_cards(txn: &sea_orm::DatabaseTransaction, user_id: UserId) -> Result<(), ServiceError> {
    repo::users::lock(txn, user_id).await?;
    Ok(())
}

/// A customer's cards that the keys of `mode` can charge, the default first, then the newest.
#[must_use]
pub fn usable(mode: KeyMode, user_id: i64) -> Select<payment_method::Entity> {
    usable_of(mode, [user_id])
}

/// The cards of `users` that the keys of `mode` can charge, each one's default first, then the
/// newest: the first of each user is the one the due-date run charges.
#[must_use]
pub fn usable_of(mode: KeyMode, users: impl IntoIterator<Item = i64>) -> Select<payment_method::Entity> {
    usable_of_anyone(mode)
        .filter(payment_method::Column::UserId.is_in(users))
        .order_by_desc(payment_method::Column::IsDefault)
        .order_by_desc(payment_method::Column::CreatedAt)
}

/// Every card that the keys of `mode` can charge, whoever's: a card saved with the other mode's
/// keys is not there for them, as on Stripe.
#[must_use]
pub fn usable_of_anyone(mode: KeyMode) -> Select<payment_method::Entity> {
    payment_method::Entity::find()
        .filter(payment_method::Column::Usable.eq(true))
        .filter(keys::of_mode(payment_method::Column::Mode, mode))
}

/// The user's default card the keys in use can charge, if any.
///
/// # Errors
/// Database failure.
pub async fn default_card(state: &AppState, user_id: UserId) -> Result<Option<SavedCard>, ServiceError> {
    Ok(usable(keys::current_mode(state), user_id.get()).one(&state.db).await?.map(|pm| SavedCard {
        brand: pm.brand,
        last4: pm.last4,
        exp_month: pm.exp_month,
        exp_year: pm.exp_year,
    }))
}

/// What Stripe said of a saved card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardNews {
    /// Its details changed (`payment_method.updated`, or the card updater's
    /// `payment_method.automatically_updated`: a new expiry, a new number).
    Updated,
    /// It was detached from its customer (in Stripe's Dashboard, by the
    /// customer's bank): it can no longer be charged.
    Detached,
}

/// Applies what Stripe says of card `snapshot` to every row that records it:
/// the new expiry and last four digits, or no longer usable once detached (the
/// customer's next usable card is then charged, or none until they save one).
/// Returns how many rows changed.
///
/// # Errors
/// Database failure.
pub async fn observe(state: &AppState, snapshot: &PaymentMethodSnapshot, news: CardNews) -> Result<u64, ServiceError> {
    let update =
        payment_method::Entity::update_many().filter(payment_method::Column::StripePaymentMethodId.eq(&snapshot.id));
    let update = match (news, &snapshot.card) {
        (CardNews::Detached, _) => update
            .col_expr(payment_method::Column::Usable, Expr::value(false))
            .col_expr(payment_method::Column::IsDefault, Expr::value(false)),
        (CardNews::Updated, Some(card)) => update
            .col_expr(payment_method::Column::Brand, Expr::value(card.brand.clone()))
            .col_expr(payment_method::Column::Last4, Expr::value(card.last4.clone()))
            .col_expr(payment_method::Column::ExpMonth, Expr::value(card.exp_month))
            .col_expr(payment_method::Column::ExpYear, Expr::value(card.exp_year)),
        (CardNews::Updated, None) => return Ok(0),
    };
    let changed = update.exec(&state.db).await?.rows_affected;
    if changed > 0 {
        tracing::info!(payment_method = %snapshot.id, ?news, "saved card updated from Stripe");
    }
    Ok(changed)
}
