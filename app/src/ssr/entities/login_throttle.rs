//! `login_throttles`: failures and the next allowed attempt, per throttle key.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub failures: i32,
    pub next_allowed_at: i64,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
