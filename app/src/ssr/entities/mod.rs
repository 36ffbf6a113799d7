//! SeaORM entities, one per table. Rows are re-parsed into domain types at the
//! repository edge; these models never leave the server.

/// Declares the entity of a status log: append-only, one row per status change of one
/// subject (an échéance in `audit_log`, a plan in `plan_audit`), written in the same
/// transaction as the change. Both logs have the same columns, so a timeline reads them alike.
macro_rules! status_log {
    (table: $table:tt, subject: $subject:ident, status: $status:ty) => {
        use sea_orm::entity::prelude::*;

        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = $table)]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i64,
            /// The échéance or plan whose status changed.
            pub $subject: i64,
            /// `None` for the first status.
            pub from_status: Option<$status>,
            pub to_status: $status,
            /// The state machine's event that made the change.
            pub event: String,
            pub cause: crate::domain::Cause,
            /// Who: `domain::Actor::stored`.
            pub actor: String,
            #[sea_orm(column_type = "Text", nullable)]
            pub detail: Option<String>,
            pub created_at: i64,
        }

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod admin_audit;
pub mod api_key;
pub mod api_request;
pub mod app_setting;
pub mod audit_log;
pub mod charge_attempt;
pub mod dispute;
pub mod echeance;
pub mod echeance_total;
pub mod email_outbox;
pub mod email_template;
pub mod host_delivery;
pub mod host_event;
pub mod job_lease;
pub mod login_attempt;
pub mod login_link;
pub mod login_throttle;
pub mod payment_method;
pub mod payment_plan;
pub mod plan;
pub mod plan_audit;
pub mod plan_consent;
pub mod reconcile_report;
pub mod recovery_code;
pub mod refund;
pub mod session;
pub mod setup_request;
pub mod stripe_customer;
pub mod stripe_event;
pub mod subscription;
pub mod user;
pub mod webhook_endpoint;
