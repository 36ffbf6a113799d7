//! `refunds`: one row per refund of an échéance — asked for by an admin (written
//! with its idempotency key before Stripe is called) or made elsewhere and
//! learnt from Stripe; its status is Stripe's.

use sea_orm::entity::prelude::*;

use crate::domain::{RefundReason, RefundStatus};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub echeance_id: i64,
    /// Its rank among the échéance's refunds (0-based).
    pub seq: i32,
    /// The PaymentIntent that collected the money.
    pub payment_intent_id: String,
    pub amount_cents: i64,
    pub currency: String,
    /// None for a refund made elsewhere without one.
    pub reason: Option<RefundReason>,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub status: RefundStatus,
    #[sea_orm(unique)]
    pub stripe_refund_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub failure_reason: Option<String>,
    /// `admin:3`, or `stripe` for a refund made elsewhere.
    pub requested_by: String,
    pub stripe_calls: i32,
    /// When a refund whose answer was not read is asked again (same key).
    pub next_check_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
