//! `stripe_events`: the webhook inbox, unique on Stripe's event id.

use sea_orm::entity::prelude::*;

use crate::ssr::repo::queue::InboxStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub stripe_event_id: String,
    pub event_type: String,
    pub livemode: bool,
    pub created_unix: i64,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub payment_intent_id: Option<String>,
    pub status: InboxStatus,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub received_at: i64,
    pub processed_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
