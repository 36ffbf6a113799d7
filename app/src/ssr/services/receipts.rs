//! Receipts: each collected échéance, as its customer prints it from the
//! portal (an admin may open any).

use sea_orm::EntityTrait;

use super::effects;
use super::error::ServiceError;
use crate::api::dto::ReceiptView;
use crate::domain::refund::refunded;
use crate::domain::{EcheanceId, Role};
use crate::ssr::auth::CurrentUser;
use crate::ssr::clock::from_ms;
use crate::ssr::entities::{payment_plan, user};
use crate::ssr::repo::{attempts, echeances};
use crate::ssr::services::refunds;
use crate::ssr::state::AppState;

/// The receipt of échéance `id`, for `reader`: its customer, or an admin.
///
/// # Errors
/// `NotFound` for another customer's échéance or one never collected; database failure.
pub async fn receipt(state: &AppState, id: EcheanceId, reader: &CurrentUser) -> Result<ReceiptView, ServiceError> {
    let row = echeances::get(&state.db, id).await?;
    let own = row.user_id == reader.id.get();
    if !own && reader.role == Role::Admin {
        // An admin reads any receipt — as an admin, with the second factor the settings require.
        crate::ssr::auth::admin_powers(state, reader.clone())?;
    } else if !own {
        return Err(ServiceError::NotFound);
    }
    if !row.status.was_collected() {
        return Err(ServiceError::NotFound);
    }
    let customer = user::Entity::find_by_id(row.user_id).one(&state.db).await?.ok_or(ServiceError::NotFound)?;
    let plan_label = match row.payment_plan_id {
        Some(plan) => payment_plan::Entity::find_by_id(plan).one(&state.db).await?.map(|p| p.label),
        None => None,
    };
    let paying = attempts::paying(&state.db, row.id).await?;
    // The card that paid only: a payment made elsewhere (the original site's Checkout) names none.
    let card = match paying.as_ref().map(|a| a.payment_method_id.as_str()).filter(|pm| !pm.is_empty()) {
        Some(pm) => effects::card_label(&state.db, row.user_id, Some(pm), None).await?,
        None => None,
    };
    let refunds = refunds::of(&state.db, row.id).await?;
    let tz = state.settings.schedule_timezone;
    Ok(ReceiptView {
        echeance_id: row.id,
        merchant: state.settings.merchant_name.clone(),
        customer: customer.into(),
        plan_label,
        money: echeances::money(&row)?,
        due_date: row.due_date,
        paid_at: row.paid_at.map(|ms| from_ms(ms).with_timezone(&tz).naive_local()),
        card,
        payment_intent: paying.and_then(|a| a.payment_intent_id).or(row.current_payment_intent_id),
        refunded: refunded(refunds.iter().map(|r| (r.status, r.amount_cents))),
        status: row.status,
        label: row.label,
    })
}
