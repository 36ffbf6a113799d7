//! `webhook_endpoints`: where the host wants its events, and the secrets
//! that sign them (the previous one still signs until `previous_secret_until`).

use sea_orm::entity::prelude::*;

use crate::domain::KeyMode;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    pub description: Option<String>,
    /// JSON array of event types, `["*"]` for all.
    #[sea_orm(column_type = "Text")]
    pub event_types: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<i64>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    /// The mode of the keys in use when it was made: it hears of that mode's plans only (none
    /// before the first start after migration 24).
    pub mode: Option<KeyMode>,
}

impl ActiveModelBehavior for ActiveModel {}
