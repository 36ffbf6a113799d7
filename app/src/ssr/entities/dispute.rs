//! `disputes`: one row per dispute of the payment that collected an échéance,
//! as Stripe reports it (status, amount, deadline for evidence).

use sea_orm::entity::prelude::*;

use crate::domain::DisputeStatus;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "disputes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub echeance_id: i64,
    /// `dp_…`.
    #[sea_orm(unique)]
    pub stripe_dispute_id: String,
    pub payment_intent_id: String,
    /// What the cardholder disputes (what is lost if the dispute is).
    pub amount_cents: i64,
    pub currency: String,
    /// Stripe's reason code (`fraudulent`, `product_not_received`, …).
    pub reason: Option<String>,
    /// Where it stands, in Stripe's words.
    pub status: DisputeStatus,
    /// Epoch ms: the last moment to send evidence.
    pub evidence_due_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Of a second payment of the échéance (a double charge), not of the one that collected it:
    /// the échéance's status and money sums leave it apart.
    pub of_second_payment: bool,
}

impl ActiveModelBehavior for ActiveModel {}
