//! `plan_audit`: append-only, one row per plan status change.

use sea_orm::entity::prelude::*;

use crate::domain::{Cause, PlanStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_audit")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub payment_plan_id: i64,
    pub from_status: Option<PlanStatus>,
    pub to_status: PlanStatus,
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
