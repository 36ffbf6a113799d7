//! `reconcile_reports`: one row per reconciler run, with its drift list (JSON).

use sea_orm::entity::prelude::*;

use crate::ssr::repo::column::ReportStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconcile_reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub trigger: String,
    pub dry_run: bool,
    pub status: ReportStatus,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub checked: i32,
    pub fixed: i32,
    pub unchanged: i32,
    pub errors: i32,
    pub stripe_calls: i32,
    pub events_replayed: i32,
    #[sea_orm(column_type = "Text")]
    pub drift: String,
    #[sea_orm(column_type = "Text")]
    pub error_messages: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
