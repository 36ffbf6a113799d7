//! `setup_requests`: each SetupIntent asked of Stripe, written before the call
//! so its idempotency key is persisted and deterministic.

use sea_orm::entity::prelude::*;

/// `status` before Stripe answered; afterwards it mirrors the SetupIntent's own status.
pub const REQUESTED: &str = "requested";

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "setup_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub idempotency_key: Option<String>,
    pub stripe_setup_intent_id: Option<String>,
    pub status: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
