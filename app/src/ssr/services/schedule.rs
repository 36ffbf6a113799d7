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
    let just_before = at.checked_sub_signed(chrono::Duration::seconds(1))?;
    next_run(&schedule, tz, just_before).map(|run| run.with_timezone(&tz).date_naive())
}

/// The first run of `schedule`, read on the wall clock of `tz`, after `after`.
///
/// A time the clock skips when it springs forward (02:30 in Paris on the last Sunday of
/// March) runs as long after the jump as it was after the gap's start (03:30), where the cron
/// crate's own iterator leaves the day out: the 02:00 reconciliation did not run that night.
/// A time the clock shows twice when it falls back runs once, the first time.
#[must_use]
pub fn next_run(schedule: &cron::Schedule, tz: chrono_tz::Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // The wall clock read as if it were UTC, which has no gaps: every time of day exists once.
    let wall = after.with_timezone(&tz).naive_local().and_utc();
    schedule.after(&wall).filter_map(|run| instant(tz, run.naive_utc())).find(|run| *run > after)
}

/// The instant wall-clock `time` stands for in `tz`: its first, when the clock shows it twice;
/// when the clock skips it, the instant it would be on the offset before the jump.
fn instant(tz: chrono_tz::Tz, time: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    use chrono::{Offset as _, TimeZone as _};
    match tz.from_local_datetime(&time) {
        chrono::LocalResult::Single(at) | chrono::LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
        chrono::LocalResult::None => {
            // A few hours earlier is before the jump (clocks do not change twice in a night).
            let before = time.checked_sub_signed(chrono::Duration::hours(6))?;
            let offset = tz.offset_from_local_datetime(&before).earliest()?.fix();
            let seconds = i64::from(offset.local_minus_utc());
            Some(time.checked_sub_signed(chrono::Duration::seconds(seconds))?.and_utc())
        }
    }
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
                    trigger: crate::domain::Actor::System(crate::domain::SystemJob::Nightly),
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
        let Some(next) = next_run(&schedule, state.settings.schedule_timezone, last) else {
            return Ok(());
        };
        if next > now {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use chrono_tz::Europe::Paris;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("a time")
    }

    fn cron(expression: &str) -> cron::Schedule {
        cron::Schedule::from_str(expression).expect("cron")
    }

    #[test]
    fn a_time_the_clock_skips_runs_after_the_jump_the_same_night() {
        // Paris, Sunday 28 March 2027: at 02:00 (01:00 UTC) the clock goes to 03:00.
        let nightly = cron("0 0 2 * * *");
        let saturday_night = utc(2027, 3, 27, 1, 0);
        let crate_own = nightly.after(&saturday_night.with_timezone(&Paris)).next().expect("a run");
        assert_eq!(crate_own.with_timezone(&Utc), utc(2027, 3, 29, 0, 0), "the cron crate leaves the 28th out");
        assert_eq!(next_run(&nightly, Paris, saturday_night), Some(utc(2027, 3, 28, 1, 0)), "at the jump");
        assert_eq!(next_run(&nightly, Paris, utc(2027, 3, 28, 1, 0)), Some(utc(2027, 3, 29, 0, 0)), "then 02:00 CEST");
        let half_past = cron("0 30 2 * * *");
        assert_eq!(next_run(&half_past, Paris, utc(2027, 3, 27, 12, 0)), Some(utc(2027, 3, 28, 1, 30)), "03:30 CEST");
    }

    #[test]
    fn a_time_the_clock_shows_twice_runs_once() {
        // Paris, Sunday 31 October 2027: at 03:00 CEST (01:00 UTC) the clock goes back to 02:00.
        let half_past = cron("0 30 2 * * *");
        let first = next_run(&half_past, Paris, utc(2027, 10, 30, 12, 0)).expect("a run");
        assert_eq!(first, utc(2027, 10, 31, 0, 30), "02:30 CEST");
        assert_eq!(next_run(&half_past, Paris, first), Some(utc(2027, 11, 1, 1, 30)), "not 02:30 CET again");
        // Asked during the second 02:00–03:00, the run of that hour is behind.
        assert_eq!(next_run(&half_past, Paris, utc(2027, 10, 31, 1, 10)), Some(utc(2027, 11, 1, 1, 30)));
    }

    #[test]
    fn an_ordinary_day_is_read_on_the_wall_clock() {
        let morning = cron("0 0 6 * * *");
        assert_eq!(next_run(&morning, Paris, utc(2027, 1, 10, 4, 59)), Some(utc(2027, 1, 10, 5, 0)), "CET");
        assert_eq!(next_run(&morning, Paris, utc(2027, 7, 10, 4, 0)), Some(utc(2027, 7, 11, 4, 0)), "CEST");
        assert_eq!(next_run(&cron("0 15 * * * *"), Paris, utc(2027, 7, 10, 4, 15)), Some(utc(2027, 7, 10, 5, 15)));
    }
}
