//! `plans`: what a subscription splits into échéances.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub total_amount_cents: i64,
    pub installments: i32,
    pub currency: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
