//! SeaORM entities, one per table. Rows are re-parsed into domain types at the
//! repository edge; these models never leave the server.

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
pub mod stripe_event;
pub mod subscription;
pub mod user;
pub mod webhook_endpoint;
