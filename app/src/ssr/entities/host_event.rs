//! `host_events`: what the host is told, as sent (the body is fixed at the
//! change it reports; each delivery signs it afresh).

use sea_orm::entity::prelude::*;

use crate::domain::{HostEvent, KeyMode};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "host_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `evt_…`, the same at every delivery.
    #[sea_orm(unique)]
    pub public_id: String,
    pub event_type: HostEvent,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub created_at: i64,
    /// Its plan's mode (an échéance of no plan: the mode in use when written), sent as `livemode`
    /// and choosing the endpoints it goes to (none: written before it was kept, sent in the mode in use).
    pub mode: Option<KeyMode>,
}

impl ActiveModelBehavior for ActiveModel {}
