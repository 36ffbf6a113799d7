//! `subscriptions`: a customer on a plan.

use sea_orm::entity::prelude::*;

/// `status` of a subscription being collected.
pub const ACTIVE: &str = "active";

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub plan_id: i64,
    pub status: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
