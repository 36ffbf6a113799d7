//! `plan_consents`: the customer's consent to a plan's off-session charges,
//! as it was shown and given (one per plan, never updated).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_consents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub payment_plan_id: i64,
    pub user_id: i64,
    pub mandate_version: String,
    #[sea_orm(column_type = "Text")]
    pub mandate_text: String,
    pub ip: String,
    #[sea_orm(column_type = "Text")]
    pub user_agent: String,
    pub accepted_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
