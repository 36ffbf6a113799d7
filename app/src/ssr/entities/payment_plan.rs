//! `payment_plans`: a customer's échéancier. `status` only changes through
//! `services::plans`, guarded by `version`.

use sea_orm::entity::prelude::*;

use crate::domain::{KeyMode, PlanStatus};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub label: String,
    pub currency: String,
    pub total_cents: i64,
    pub status: PlanStatus,
    pub consumer_credit: bool,
    #[sea_orm(column_type = "Text")]
    pub metadata: String,
    pub created_by: Option<i64>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub accepted_at: Option<i64>,
    pub canceled_at: Option<i64>,
    /// When the customer accepted through the invitation link (then spent).
    pub invitation_used_at: Option<i64>,
    /// Where the acceptance page sends the customer back (the host site's page).
    #[sea_orm(column_type = "Text", nullable)]
    pub return_url: Option<String>,
    /// The customer was created with this plan (no account before it).
    pub customer_created: bool,
    /// Test or live money, as the Stripe key in use when it was made (a plan made before it was
    /// kept: the mode in use when the upgraded version started). Its host events say it.
    pub mode: Option<KeyMode>,
}

impl ActiveModelBehavior for ActiveModel {}
