//! `charge_attempts`: one row per attempt to collect an échéance, written with
//! its idempotency key before Stripe is called.

use sea_orm::entity::prelude::*;

use crate::domain::{AttemptOutcome, ChargeOrigin, EcheanceStatus};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "charge_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub echeance_id: i64,
    pub attempt_no: i32,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub trigger: ChargeOrigin,
    pub amount_cents: i64,
    pub currency: String,
    pub stripe_customer_id: String,
    pub payment_method_id: String,
    pub payment_intent_id: Option<String>,
    pub client_secret: Option<String>,
    pub outcome: AttemptOutcome,
    pub error_code: Option<String>,
    pub decline_code: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_message: Option<String>,
    pub stripe_calls: i32,
    pub rearm_count: i32,
    pub started_at: i64,
    pub last_sent_at: Option<i64>,
    pub next_check_at: Option<i64>,
    pub token_expires_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub updated_at: i64,
    /// Sent with `setup_future_usage = off_session`: its card is saved once it succeeds.
    pub saves_card: bool,
    /// The installation epoch it was made in (its keys and metadata are that epoch's).
    pub epoch: i32,
    /// When its PaymentIntent, which could still collect, was stopped on Stripe (cancelled, or
    /// unknown to Stripe): it is not asked to stop again.
    pub stopped_at: Option<i64>,
    /// The échéance's status when this attempt claimed it, and its retry date then: what an
    /// attempt given up before reaching Stripe gives back (none: written before they were kept).
    pub claimed_from: Option<EcheanceStatus>,
    pub claimed_retry_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
