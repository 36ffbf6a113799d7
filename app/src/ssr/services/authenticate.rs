//! The 3D Secure recovery page: who may open it (the owner, or the bearer of
//! a valid signed link), what it shows, and the check with Stripe afterwards —
//! which trusts only Stripe's status, never the browser's.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secrecy::ExposeSecret;

use super::error::ServiceError;
use super::host_api::keys;
use super::record::{self, StripeReport};
use super::transitions::Cause;
use crate::domain::{EcheanceStatus, KeyPurpose, Money, PaymentEvent, RecoveryToken, Refusal, ThreeDsStep, UserId};
use crate::ssr::entities::{charge_attempt, echeance};
use crate::ssr::payments::types::{PaymentIntentSnapshot, PaymentIntentStatus};
use crate::ssr::repo::{attempts, echeances};
use crate::ssr::state::AppState;

/// How the caller proves the right to the page.
#[derive(Clone, Debug)]
pub enum Access {
    /// A logged-in user (must own the échéance).
    User(UserId),
    /// The token of the emailed link.
    Token(String),
}

/// What the page may show: never more than the owner needs.
#[derive(Clone, Debug)]
pub struct AuthenticationView {
    /// The échéance.
    pub echeance: echeance::Model,
    /// Amount and currency.
    pub money: Money,
    /// Its status now.
    pub status: EcheanceStatus,
    /// For Stripe.js, only while 3DS is what is awaited.
    pub client_secret: Option<String>,
    /// What Stripe.js does with it (with `client_secret`).
    pub step: Option<ThreeDsStep>,
    /// A previous 3DS try failed: the customer may try again on the same PaymentIntent.
    pub can_retry: bool,
}

/// Finds the attempt of `payment_intent` and checks `access`.
///
/// # Errors
/// `NotFound` for an unknown PaymentIntent or another user's, `RateLimited` past the
/// customer's budget of Stripe calls, `InvalidLink`
/// for a forged or expired token. Both say nothing about the PaymentIntent.
async fn authorize(
    state: &AppState,
    payment_intent: &str,
    access: &Access,
) -> Result<(charge_attempt::Model, echeance::Model), ServiceError> {
    let (attempt, echeance) = check(state, payment_intent, access).await?;
    // Each visit may ask Stripe: bounded per customer, whoever holds the link.
    state.guards.spend(echeances::user_of(&echeance)?, state.now_ms())?;
    Ok((attempt, echeance))
}

/// The échéance whose status the page may follow live (`GET /events?payment_intent=…`):
/// the same access as the page itself; nothing is asked of Stripe.
///
/// # Errors
/// As [`authorize`], without the budget of Stripe calls.
pub async fn watched(state: &AppState, payment_intent: &str, access: &Access) -> Result<echeance::Model, ServiceError> {
    Ok(check(state, payment_intent, access).await?.1)
}

async fn check(
    state: &AppState,
    payment_intent: &str,
    access: &Access,
) -> Result<(charge_attempt::Model, echeance::Model), ServiceError> {
    if let Access::Token(token) = access {
        // Check the signature before touching the database: a forged token learns nothing.
        RecoveryToken::verify(
            state.settings.app_secret.expose_secret().as_bytes(),
            payment_intent,
            token,
            state.now_ms() / 1000,
        )
        .map_err(|_| ServiceError::InvalidLink)?;
    }
    let attempt = attempts::by_payment_intent(&state.db, payment_intent).await?.ok_or(ServiceError::NotFound)?;
    let echeance = echeances::get(&state.db, echeances::id_of(attempt.echeance_id)?).await?;
    match access {
        Access::User(user_id) if user_id.get() != echeance.user_id => {
            return Err(ServiceError::NotFound);
        }
        Access::Token(_) if attempt.token_expires_at.is_some_and(|t| t < state.now_ms()) => {
            return Err(ServiceError::InvalidLink);
        }
        Access::User(_) | Access::Token(_) => {}
    }
    // Its PaymentIntent is in the other mode on Stripe, out of these keys' reach.
    if super::plans::of_other_mode(&state.db, state, &echeance).await?.is_some() {
        return Err(Refusal::OtherMode.into());
    }
    Ok((attempt, echeance))
}

/// Loads the page: checks access, asks Stripe where the PaymentIntent stands
/// and records it. When a previous 3DS try failed, the page offers a retry;
/// only the customer's explicit `retry` re-arms the same PaymentIntent (a link
/// scanner opening the page changes nothing at Stripe).
///
/// # Errors
/// See [`authorize`]; `Unavailable` when Stripe does not answer.
#[tracing::instrument(skip(state, access), fields(stripe.payment_intent = payment_intent))]
pub async fn prepare(
    state: &AppState,
    payment_intent: &str,
    access: &Access,
    retry: bool,
) -> Result<AuthenticationView, ServiceError> {
    let (attempt, echeance) = authorize(state, payment_intent, access).await?;
    let is_current = echeance.current_attempt_no == attempt.attempt_no;
    if !(is_current && echeance.status == EcheanceStatus::EnAttente) {
        return view(echeance, None, None, false);
    }

    let pi = state.gateway.retrieve_payment_intent(payment_intent).await?;
    // After an off-session SCA demand Stripe keeps the PaymentIntent in `requires_payment_method`
    // with `authentication_required`: Stripe.js confirms it in the page with the saved card, as is.
    // Only a failed 3DS needs the customer's explicit retry to re-arm it server-side.
    let needs_rearm = pi.status() == PaymentIntentStatus::RequiresPaymentMethod && !awaits_customer(&pi);
    if needs_rearm && attempt.saves_card {
        // The card was typed for this payment and is not saved: Stripe does not let a card used
        // once without being attached be used again. The PaymentIntent is cancelled and the
        // échéance payable again, with another card (or this one, typed again).
        super::cancel::cancel_attempt(state, &attempt, Cause::Confirm, &actor(access), None).await?;
        return view(echeances::get(&state.db, echeances::id(&echeance)?).await?, None, None, false);
    }
    // A re-arm confirms the PaymentIntent again: a charge, held like the others after a restore.
    if needs_rearm && retry && crate::ssr::installation::restore_pending(&state.db).await?.is_some() {
        return Err(Refusal::RestorePending.into());
    }
    let card = card_to_confirm(state, &attempt, &echeance).await?;
    let pi = if needs_rearm && retry { rearm(state, &attempt, &card).await? } else { pi };
    let waiting = awaits_customer(&pi);
    let client_secret = pi.client_secret.clone().or_else(|| attempt.client_secret.clone());
    let action_with = (pi.status() == PaymentIntentStatus::RequiresAction)
        .then(|| pi.payment_method.as_ref().map(|pm| pm.id().to_owned()))
        .flatten();
    record::record(state, attempt.id, StripeReport::from_payment_intent(pi), Cause::Confirm, &actor(access)).await?;
    let echeance = echeances::get(&state.db, echeances::id(&echeance)?).await?;
    let still_waiting = echeance.status == EcheanceStatus::EnAttente;
    let secret = (still_waiting && waiting).then_some(client_secret).flatten();
    let step = (still_waiting && waiting).then(|| ThreeDsStep::for_card(action_with.as_deref(), card));
    view(echeance, secret, step, still_waiting && !waiting)
}

/// After the browser's 3DS: asks Stripe and records what it says.
///
/// # Errors
/// See [`authorize`]; `Unavailable` when Stripe does not answer.
#[tracing::instrument(skip(state, access), fields(stripe.payment_intent = payment_intent))]
pub async fn confirm(state: &AppState, payment_intent: &str, access: &Access) -> Result<EcheanceStatus, ServiceError> {
    let (attempt, echeance) = authorize(state, payment_intent, access).await?;
    let pi = state.gateway.retrieve_payment_intent(payment_intent).await?;
    record::record(state, attempt.id, StripeReport::from_payment_intent(pi), Cause::Confirm, &actor(access)).await?;
    Ok(echeances::get(&state.db, echeances::id(&echeance)?).await?.status)
}

/// The card the page confirms the PaymentIntent with: the customer's card now
/// (the one they saved after this attempt started, when they replaced a card
/// that asks for 3D Secure or that Stripe detached), else the attempt's own;
/// always the attempt's own when it was typed for this payment and not saved.
async fn card_to_confirm(
    state: &AppState,
    attempt: &charge_attempt::Model,
    echeance: &echeance::Model,
) -> Result<String, ServiceError> {
    if attempt.saves_card {
        return Ok(attempt.payment_method_id.clone());
    }
    let user = echeances::user_of(echeance)?;
    let current = super::cards::usable(keys::current_mode(state), user.get()).one(&state.db).await?;
    Ok(current.map_or_else(|| attempt.payment_method_id.clone(), |pm| pm.stripe_payment_method_id))
}

/// Puts `card` on the PaymentIntent and confirms it on-session, with a
/// persisted, deterministic key per re-arm.
async fn rearm(
    state: &AppState,
    attempt: &charge_attempt::Model,
    card: &str,
) -> Result<PaymentIntentSnapshot, ServiceError> {
    let n = attempt.rearm_count + 1;
    let claimed = charge_attempt::Entity::update_many()
        .col_expr(charge_attempt::Column::RearmCount, Expr::value(n))
        .filter(charge_attempt::Column::Id.eq(attempt.id))
        .filter(charge_attempt::Column::RearmCount.eq(attempt.rearm_count))
        .exec(&state.db)
        .await?;
    if claimed.rows_affected != 1 {
        // Another request re-armed it a moment ago: use what Stripe has now.
        return Ok(state.gateway.retrieve_payment_intent(pi_of(attempt)?).await?);
    }
    let purpose = KeyPurpose::Rearm(u32::try_from(n).unwrap_or(u32::MAX));
    let key = attempts::key(&state.installation_id, state.epoch, attempt, purpose)?;
    Ok(state.gateway.rearm_payment_intent(pi_of(attempt)?, card, &key).await?)
}

/// Whether Stripe.js can confirm it in the page now: 3DS asked (`requires_action`), or Stripe's
/// state after an off-session SCA demand (`requires_payment_method` + `authentication_required`).
fn awaits_customer(pi: &PaymentIntentSnapshot) -> bool {
    pi.payment_event() == Some(PaymentEvent::AuthenticationRequired)
}

fn view(
    echeance: echeance::Model,
    client_secret: Option<String>,
    step: Option<ThreeDsStep>,
    can_retry: bool,
) -> Result<AuthenticationView, ServiceError> {
    let money = echeances::money(&echeance)?;
    let status = echeance.status;
    Ok(AuthenticationView { echeance, money, status, client_secret, step, can_retry })
}

fn pi_of(attempt: &charge_attempt::Model) -> Result<&str, ServiceError> {
    attempt.payment_intent_id.as_deref().ok_or(ServiceError::NotFound)
}

fn actor(access: &Access) -> String {
    match access {
        Access::User(id) => crate::domain::Actor::Customer(id.get()).stored(),
        Access::Token(_) => crate::domain::Actor::CustomerLink.stored(),
    }
}
