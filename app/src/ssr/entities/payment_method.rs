//! `payment_methods`: cards saved through a SetupIntent or by a first payment
//! (brand and last 4 only).

use sea_orm::entity::prelude::*;

use crate::domain::KeyMode;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_methods")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    #[sea_orm(unique)]
    pub stripe_payment_method_id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
    pub is_default: bool,
    pub created_at: i64,
    /// False while the card waits for the first payment that saves it to succeed: never charged, never shown.
    pub usable: bool,
    /// The mode of the keys it was saved with: the other mode's keys cannot charge it (none: saved
    /// before migration 25, until the upgraded version's first start gives it the mode in use).
    pub mode: Option<KeyMode>,
}

impl ActiveModelBehavior for ActiveModel {}
