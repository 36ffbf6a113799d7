//! The customer's checkout: their échéances, their card, "Payer".

use leptos::prelude::*;

use super::dto::{CardInfo, CardSetup, CheckoutData, PaidAhead, PayOutcome, ReceiptView};
use super::error::AppError;

/// The checkout page's data for the logged-in customer.
#[server(endpoint = "checkout")]
pub async fn load_checkout() -> Result<CheckoutData, AppError> {
    use super::context::{fail, require_user, state};
    use crate::ssr::services::queries;
    let state = state()?;
    let user = require_user(&state).await?;
    queries::checkout(&state, &user).await.map_err(fail)
}

/// Charges one of the customer's échéances with their saved card.
#[server(endpoint = "pay")]
pub async fn pay(echeance_id: i64) -> Result<PayOutcome, AppError> {
    use super::context::{echeance_id as parse_id, fail, require_user, state};
    use crate::ssr::services::charge::{self, Trigger};
    let state = state()?;
    let user = require_user(&state).await?;
    let result = charge::charge(&state, parse_id(echeance_id)?, Trigger::Customer(user.id)).await.map_err(fail)?;
    Ok(PayOutcome::from(result))
}

/// Pays one of the customer's échéances now with the card they just typed
/// (a Stripe.js PaymentMethod), which that payment saves for the later échéances.
#[server(endpoint = "pay/new-card")]
pub async fn pay_with_new_card(echeance_id: i64, payment_method: String) -> Result<PayOutcome, AppError> {
    use super::context::{echeance_id as parse_id, fail, require_user, state};
    use crate::domain::EcheanceStatus;
    use crate::ssr::services::{cards, charge};
    let state = state()?;
    let user = require_user(&state).await?;
    let id = parse_id(echeance_id)?;
    let result = charge::charge_with_new_card(&state, id, user.id, payment_method.trim()).await.map_err(fail)?;
    let mut outcome = PayOutcome::from(result);
    if outcome.status == EcheanceStatus::Payee {
        outcome.saved_card = cards::default_card(&state, user.id).await.map_err(fail)?.map(CardInfo::from);
    }
    Ok(outcome)
}

/// Pays every échéance of one of the customer's plans still to pay, now.
#[server(endpoint = "pay/plan")]
pub async fn pay_plan_remaining(plan_id: i64) -> Result<PaidAhead, AppError> {
    use super::context::{fail, require_user, state};
    use crate::ssr::services::pay_ahead;
    let state = state()?;
    let user = require_user(&state).await?;
    pay_ahead::pay_remaining(&state, plan_id, user.id).await.map_err(fail)
}

/// Starts saving a card: a SetupIntent for Stripe.js.
#[server(endpoint = "card/setup")]
pub async fn start_card_setup() -> Result<CardSetup, AppError> {
    use super::context::{fail, require_user, state};
    use crate::ssr::services::cards;
    let state = state()?;
    let user = require_user(&state).await?;
    let setup = cards::start_setup(&state, user.id).await.map_err(fail)?;
    Ok(CardSetup { client_secret: setup.client_secret, publishable_key: state.settings.stripe_publishable_key.clone() })
}

/// Records the card once Stripe confirms the SetupIntent succeeded.
#[server(endpoint = "card/save")]
pub async fn save_card(setup_intent_id: String) -> Result<CardInfo, AppError> {
    use super::context::{fail, require_user, state};
    use crate::ssr::services::cards;
    let state = state()?;
    let user = require_user(&state).await?;
    let card = cards::save_card(&state, user.id, setup_intent_id.trim()).await.map_err(fail)?;
    Ok(CardInfo::from(card))
}

/// The receipt of one of the customer's collected échéances (an admin may open any).
#[server(endpoint = "receipt")]
pub async fn receipt(echeance_id: i64) -> Result<ReceiptView, AppError> {
    use super::context::{echeance_id as parse_id, fail, require_user, state};
    use crate::ssr::services::receipts;
    let state = state()?;
    let reader = require_user(&state).await?;
    receipts::receipt(&state, parse_id(echeance_id)?, &reader).await.map_err(fail)
}
