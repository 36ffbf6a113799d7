//! `recovery_codes`: an admin's single-use codes for when the authenticator
//! app is lost — the SHA-256 of each code only, and when it was used.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recovery_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    #[sea_orm(unique)]
    pub code_hash: String,
    pub used_at: Option<i64>,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
