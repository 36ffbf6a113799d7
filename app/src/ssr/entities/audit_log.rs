//! `audit_log`: append-only, one row per status transition.

use sea_orm::entity::prelude::*;

use crate::domain::{Cause, EcheanceStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub echeance_id: i64,
    pub from_status: Option<EcheanceStatus>,
    pub to_status: EcheanceStatus,
    pub event: String,
    pub cause: Cause,
    pub actor: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
