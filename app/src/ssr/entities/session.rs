//! `sessions`: server-side login sessions; `id` is the SHA-256 of the cookie value.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: Option<i64>,
    /// The session passed the second factor (an account with one has no other kind of session).
    pub second_factor: bool,
}

impl ActiveModelBehavior for ActiveModel {}
