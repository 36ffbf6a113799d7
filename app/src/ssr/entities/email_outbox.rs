//! `email_outbox`: emails to send, written in the transaction that causes them.

use sea_orm::entity::prelude::*;

use crate::domain::EmailKind;
use crate::ssr::repo::queue::OutboxStatus;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub dedup_key: String,
    pub kind: EmailKind,
    pub locale: String,
    pub to_address: String,
    pub user_id: Option<i64>,
    pub echeance_id: Option<i64>,
    /// The plan it is about (its own email, or one of its échéances'); none for the others.
    pub payment_plan_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub context: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub send_after: i64,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
