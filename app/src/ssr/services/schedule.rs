//! The cron jobs (the nightly reconciliation, the due-date run, the hourly purge, the
//! reminders of the coming debits): when each
//! is due, and running it once across instances. The server's worker only
//! loops over [`Job::ALL`].

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};
use std::str::FromStr as _;
use std::time::Duration;

use super::error::ServiceError;
use super::{due, lease, reconcile};
use crate::ssr::entities::app_setting;
use crate::ssr::installation;
use crate::ssr::state::AppState;

/// A scheduled job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    /// The nightly reconciliation (`RECONCILE_CRON`).
    Reconcile,
    /// The daily due-date run (`CHARGE_DUE_CRON`).
    ChargeDue,
    /// Hourly: sessions past their life, old login records and throttles.
    Purge,
    /// Daily (`DEBIT_REMINDER_CRON`): the customers told of the debits of the coming days,
    /// and of a saved card that will not last until one of them.
    CustomerNotices,
}

crate::spelled!(Job {
    Reconcile => "reconcile",
    ChargeDue => "charge-due",
    Purge => "purge",
    CustomerNotices => "customer-notices",
});

/// The day (schedule time zone) of the first due-date run at or after `at`: the day an
/// automatic retry due then is made, as the customer's email says. `None` when
/// `CHARGE_DUE_CRON` does not read or never runs again.
#[must_use]
pub fn due_run_day(state: &AppState, at: DateTime<Utc>) -> Option<chrono::NaiveDate> {
    let schedule = cron::Schedule::from_str(Job::ChargeDue.cron(state)).ok()?;
    let tz = state.settings.schedule_timezone;
    let just_before = at.checked_sub_signed(chrono::Duration::seconds(1))?.with_timezone(&tz);
    schedule.after(&just_before).next().map(|run| run.date_naive())
}

impl Job {
    /// Its cron expression (sec min hour day month weekday).
    #[must_use]
    pub fn cron(self, state: &AppState) -> &str {
        match self {
            Self::Reconcile => &state.settings.reconcile_cron,
            Self::ChargeDue => &state.settings.charge_due_cron,
            Self::Purge => "0 15 * * * *",
            Self::CustomerNotices => &state.settings.debit_reminder_cron,
        }
    }

    /// Runs the job once.
    async fn run(self, state: &AppState, now: DateTime<Utc>) -> Result<(), ServiceError> {
        match self {
            Self::Reconcile => {
                let options = reconcile::Options {
                    since: Duration::from_secs(48 * 3600),
                    dry_run: false,
                    trigger: "schedule".to_owned(),
                };
                match reconcile::run(state, &options, &reconcile::Silent).await {
                    Ok(_) | Err(reconcile::ReconcileError::AlreadyRunning) => Ok(()),
                    Err(reconcile::ReconcileError::Service(e)) => Err(e),
                }
            }
            Self::ChargeDue => {
                let today = now.with_timezone(&state.settings.schedule_timezone).date_naive();
                due::charge_due(state, today, 10_000).await.map(|_| ())
            }
            Self::Purge => {
                let purged = crate::ssr::auth::purge(state).await?;
                tracing::info!(purged, "sessions and login records purged");
                Ok(())
            }
            Self::CustomerNotices => {
                let today = now.with_timezone(&state.settings.schedule_timezone).date_naive();
                let super::reminders::Notices { debits, cards } = super::reminders::queue_notices(state, today).await?;
                tracing::info!(debits, cards, "notices of the coming debits and expiring cards queued");
                Ok(())
            }
        }
    }
}

/// Runs `job` if its cron expression had an occurrence since its last run.
/// The last run is stored, and a lease keeps other instances out.
///
/// # Errors
/// Database failure, or an unreadable cron expression.
pub async fn run_if_due(state: &AppState, job: Job) -> Result<(), ServiceError> {
    let key = format!("schedule:{job}:last_run");
    let now: DateTime<Utc> = state.clock.now();
    // First start: remember now, so a fresh install does not run at once.
    app_setting::Entity::insert(app_setting::ActiveModel { key: Set(key.clone()), value: Set(now.to_rfc3339()) })
        .on_conflict(OnConflict::column(app_setting::Column::Key).do_nothing().to_owned())
        .try_insert()
        .exec(&state.db)
        .await?;
    let last_run = |row: Option<app_setting::Model>| -> DateTime<Utc> {
        row.and_then(|r| DateTime::parse_from_rfc3339(&r.value).ok()).map_or(now, |d| d.with_timezone(&Utc))
    };
    let last = last_run(app_setting::Entity::find_by_id(key.clone()).one(&state.db).await?);
    // After a restore, charges wait for a reconcile: it runs now, then every few minutes until one covers the window.
    let restored =
        matches!(job, Job::Reconcile | Job::ChargeDue) && installation::restore_pending(&state.db).await?.is_some();
    if restored && job == Job::ChargeDue {
        // Today's run waits for the reconcile (it would only be refused, and marked done).
        return Ok(());
    }
    if restored {
        if now - last < chrono::Duration::minutes(5) && last != now {
            return Ok(());
        }
    } else {
        let schedule = cron::Schedule::from_str(job.cron(state)).map_err(anyhow::Error::from)?;
        let tz = state.settings.schedule_timezone;
        let Some(next) = schedule.after(&last.with_timezone(&tz)).next() else {
            return Ok(());
        };
        if next.with_timezone(&Utc) > now {
            return Ok(());
        }
    }
    let lease_name = format!("schedule:{job}");
    if !lease::acquire(&state.db, &lease_name, &state.instance_id, 3_600_000, state.now_ms()).await? {
        return Ok(());
    }
    // Another instance may have run it between our read and the lease.
    let again = last_run(app_setting::Entity::find_by_id(key.clone()).one(&state.db).await?);
    if again == last {
        tracing::info!(job = job.as_str(), "scheduled run starting");
        let result = job.run(state, now).await;
        app_setting::Entity::update(app_setting::ActiveModel {
            key: Set(key),
            value: Set(state.clock.now().to_rfc3339()),
        })
        .exec(&state.db)
        .await?;
        if let Err(e) = result {
            tracing::warn!(job = job.as_str(), error = %e, "scheduled run failed");
        }
    }
    lease::release(&state.db, &lease_name, &state.instance_id).await?;
    Ok(())
}
