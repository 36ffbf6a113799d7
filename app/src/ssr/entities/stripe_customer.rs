//! `stripe_customers`: a customer's record at Stripe, one a mode (test or live), as Stripe keeps
//! them apart.

use sea_orm::entity::prelude::*;

use crate::domain::KeyMode;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_customers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// The mode of the keys it was made with (none: kept before migration 25, until the upgraded
    /// version's first start gives it the mode in use).
    pub mode: Option<KeyMode>,
    /// `cus_…`.
    #[sea_orm(unique)]
    pub stripe_customer_id: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
