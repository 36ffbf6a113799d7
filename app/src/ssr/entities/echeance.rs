//! `echeances`: one installment to collect. `status` only changes through
//! `services::transitions`, guarded by `version`.

use sea_orm::entity::prelude::*;

use crate::domain::EcheanceStatus;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "echeances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub subscription_id: Option<i64>,
    pub payment_plan_id: Option<i64>,
    pub seq: Option<i32>,
    pub user_id: i64,
    pub label: String,
    pub amount_cents: i64,
    pub currency: String,
    pub due_date: Date,
    pub status: EcheanceStatus,
    pub current_attempt_no: i32,
    pub current_payment_intent_id: Option<String>,
    pub checkout_session_id: Option<String>,
    pub soft_declines: i32,
    pub next_retry_at: Option<i64>,
    pub version: i64,
    pub paid_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The customer.
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: HasOne<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
