//! `api_keys`: the host site's keys, by the hash of the key (never the key).

use sea_orm::entity::prelude::*;

use crate::domain::KeyMode;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// `ek_test_AbCd`: enough to tell keys apart in a list.
    pub prefix: String,
    #[sea_orm(unique)]
    pub key_hash: String,
    pub mode: KeyMode,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
