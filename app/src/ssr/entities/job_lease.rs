//! `job_leases`: which instance runs a singleton job (reconciler, schedules) until when.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_leases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub holder: String,
    pub acquired_at: i64,
    pub expires_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
