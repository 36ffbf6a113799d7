//! The Échéancier schema. One file per migration; never edit a migration that
//! has shipped, add a new one.
//!
//! Instants are stored as `BIGINT` milliseconds since the Unix epoch (UTC): they
//! compare and index identically on SQLite and PostgreSQL. Calendar dates
//! (an échéance's due date) are `DATE`. Money is `BIGINT` minor units.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_initial;
mod m20261124_000002_email_templates;
mod m20261201_000003_security;
mod m20261201_000004_payment_plans;
mod m20261201_000005_invitations;
mod m20261202_000006_host_api;
mod m20261202_000007_first_payment_saves_card;
mod m20261202_000008_installation_epochs;
mod m20261202_000009_admins;
mod m20261202_000010_login_links;
mod m20261202_000011_second_factor;
mod m20261202_000012_lifecycle_emails;
mod m20261202_000013_refunds_and_disputes;
mod m20261202_000014_failure_and_dispute_emails;
mod m20261202_000015_dashboard_at_scale;
mod m20261202_000016_dashboard_search;
mod m20261204_000017_invitation_count;
mod m20261205_000018_attempt_stopped;
mod m20261206_000019_dispute_status_words;
mod m20261207_000020_attempt_claimed_from;
mod m20261207_000021_dispute_of_a_second_payment;
mod m20261207_000022_modes_kept;
mod m20261207_000023_double_charge_dispute_email;
mod m20261207_000024_endpoint_mode;
mod m20261207_000025_customer_of_each_mode;
mod m20261207_000026_plan_of_each_email;

/// Runs every migration in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261124_000002_email_templates::Migration),
            Box::new(m20261201_000003_security::Migration),
            Box::new(m20261201_000004_payment_plans::Migration),
            Box::new(m20261201_000005_invitations::Migration),
            Box::new(m20261202_000006_host_api::Migration),
            Box::new(m20261202_000007_first_payment_saves_card::Migration),
            Box::new(m20261202_000008_installation_epochs::Migration),
            Box::new(m20261202_000009_admins::Migration),
            Box::new(m20261202_000010_login_links::Migration),
            Box::new(m20261202_000011_second_factor::Migration),
            Box::new(m20261202_000012_lifecycle_emails::Migration),
            Box::new(m20261202_000013_refunds_and_disputes::Migration),
            Box::new(m20261202_000014_failure_and_dispute_emails::Migration),
            Box::new(m20261202_000015_dashboard_at_scale::Migration),
            Box::new(m20261202_000016_dashboard_search::Migration),
            Box::new(m20261204_000017_invitation_count::Migration),
            Box::new(m20261205_000018_attempt_stopped::Migration),
            Box::new(m20261206_000019_dispute_status_words::Migration),
            Box::new(m20261207_000020_attempt_claimed_from::Migration),
            Box::new(m20261207_000021_dispute_of_a_second_payment::Migration),
            Box::new(m20261207_000022_modes_kept::Migration),
            Box::new(m20261207_000023_double_charge_dispute_email::Migration),
            Box::new(m20261207_000024_endpoint_mode::Migration),
            Box::new(m20261207_000025_customer_of_each_mode::Migration),
            Box::new(m20261207_000026_plan_of_each_email::Migration),
        ]
    }
}
