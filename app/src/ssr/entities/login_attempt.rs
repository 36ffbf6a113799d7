//! `login_attempts`: what the login rate limit counts.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub email: String,
    pub ip: String,
    pub succeeded: bool,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
