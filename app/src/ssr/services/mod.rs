//! The services: every use case, called by server functions, the webhook
//! route, the workers and the CLI alike.

pub mod admin;
pub mod admins;
pub mod authenticate;
pub mod cancel;
pub mod cards;
pub mod change;
pub mod charge;
pub mod disputes;
pub mod due;
pub mod effects;
pub mod email_admin;
pub mod erasure;
pub mod error;
pub mod host_api;
pub mod invitations;
pub mod lease;
pub mod links;
pub mod outgoing;
pub mod pay_ahead;
pub mod plans;
pub mod queries;
pub mod receipts;
pub mod reconcile;
pub mod record;
pub mod recovery;
pub mod refunds;
pub mod reminders;
pub mod schedule;
pub mod second_factor;
pub mod seed;
pub mod transitions;
pub mod webhooks;
