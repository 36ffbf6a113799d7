//! Échéance queries shared by several services.

use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
};

use crate::domain::{Amount, Currency, EcheanceId, EcheanceStatus, Money, UserId};
use crate::ssr::entities::echeance;
use crate::ssr::services::error::ServiceError;

/// Reads échéance `id`.
///
/// # Errors
/// `NotFound`, database failure.
pub async fn get(db: &impl ConnectionTrait, id: EcheanceId) -> Result<echeance::Model, ServiceError> {
    echeance::Entity::find_by_id(id.get()).one(db).await?.ok_or(ServiceError::NotFound)
}

/// Reads échéance `id` and locks its row until `txn` ends (`FOR UPDATE` on
/// PostgreSQL; SQLite's write transaction is already exclusive).
///
/// # Errors
/// `NotFound`, database failure.
pub async fn lock(txn: &DatabaseTransaction, id: EcheanceId) -> Result<echeance::Model, ServiceError> {
    echeance::Entity::find_by_id(id.get()).lock_exclusive().one(txn).await?.ok_or(ServiceError::NotFound)
}

/// The échéance whose current PaymentIntent is `payment_intent` (a legacy Checkout payment has no
/// attempt: its échéance names it).
///
/// # Errors
/// Database failure.
pub async fn by_payment_intent(
    db: &impl ConnectionTrait,
    payment_intent: &str,
) -> Result<Option<echeance::Model>, ServiceError> {
    Ok(echeance::Entity::find().filter(echeance::Column::CurrentPaymentIntentId.eq(payment_intent)).one(db).await?)
}

/// The typed id of a row.
///
/// # Errors
/// A row whose id does not parse.
pub fn id(row: &echeance::Model) -> Result<EcheanceId, ServiceError> {
    id_of(row.id)
}

/// The customer of a row, typed.
///
/// # Errors
/// A row whose user id does not parse.
pub fn user_of(row: &echeance::Model) -> Result<UserId, ServiceError> {
    Ok(UserId::new(row.user_id).map_err(anyhow::Error::from)?)
}

/// The amount of a row, typed.
///
/// # Errors
/// A row whose amount or currency does not parse.
pub fn money(row: &echeance::Model) -> Result<Money, ServiceError> {
    Ok(Money {
        amount: Amount::from_minor(row.amount_cents).map_err(anyhow::Error::from)?,
        currency: Currency::parse(&row.currency).map_err(anyhow::Error::from)?,
    })
}

/// Parses a raw échéance id read from another row.
///
/// # Errors
/// Not a valid id.
pub fn id_of(raw: i64) -> Result<EcheanceId, ServiceError> {
    Ok(EcheanceId::new(raw).map_err(anyhow::Error::from)?)
}

/// A new échéance row of `user` (never charged yet), to insert.
#[must_use]
pub fn new_row(
    user: i64,
    label: String,
    money: Money,
    due_date: NaiveDate,
    status: EcheanceStatus,
    now: i64,
) -> echeance::ActiveModel {
    echeance::ActiveModel {
        subscription_id: Set(None),
        payment_plan_id: Set(None),
        seq: Set(None),
        user_id: Set(user),
        label: Set(label),
        amount_cents: Set(money.amount.minor()),
        currency: Set(money.currency.code().to_owned()),
        due_date: Set(due_date),
        status: Set(status),
        current_attempt_no: Set(0),
        current_payment_intent_id: Set(None),
        checkout_session_id: Set(None),
        soft_declines: Set(0),
        next_retry_at: Set(None),
        version: Set(0),
        paid_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}
