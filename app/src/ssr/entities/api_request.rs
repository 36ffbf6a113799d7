//! `api_requests`: a POST made with an `Idempotency-Key`, and its response
//! once there is one (replayed for the same key and body for a day).

use sea_orm::entity::prelude::*;

use crate::domain::KeyMode;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The key that sent it (the idempotency key belongs to the mode, not to it).
    pub api_key_id: i64,
    /// Test or live: an idempotency key is one request per mode, whichever API key sends it.
    pub mode: KeyMode,
    pub idempotency_key: String,
    /// SHA-256 of the method, path and body.
    pub fingerprint: String,
    pub response_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub response_body: Option<String>,
    /// While a request holds the key (no response yet): another one gets 409 until then.
    pub locked_until: Option<i64>,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
