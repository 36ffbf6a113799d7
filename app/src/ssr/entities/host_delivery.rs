//! `host_deliveries`: one event to one endpoint, worked as a queue.

use sea_orm::entity::prelude::*;

use crate::domain::HostDeliveryStatus;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "host_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub host_event_id: i64,
    pub webhook_endpoint_id: i64,
    pub status: HostDeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    /// The endpoint's last HTTP status (none: no answer).
    pub last_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
