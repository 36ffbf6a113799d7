//! Background work of a serving process. Every loop calls the same services as
//! the CLI and stops when the shutdown token fires. Safe with several
//! instances: rows are claimed, singleton jobs hold a lease.

use app::ssr::email::sender;
use app::ssr::services::error::ServiceError;
use app::ssr::services::{charge, due, lease, reconcile, recovery, webhooks};
use app::ssr::state::{AppState, Wake};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};
use std::str::FromStr as _;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Starts every worker; they end when `shutdown` fires.
pub fn spawn_all(state: &AppState, shutdown: &CancellationToken) -> JoinSet<()> {
    let mut set = JoinSet::new();
    set.spawn(queue_worker(
        "webhooks",
        state.clone(),
        shutdown.clone(),
        |w| &w.inbox,
        |s| async move { webhooks::process_pending(&s, 100).await },
    ));
    set.spawn(queue_worker(
        "emails",
        state.clone(),
        shutdown.clone(),
        |w| &w.outbox,
        |s| async move { sender::send_pending(&s, 20).await },
    ));
    set.spawn(follow_ups(state.clone(), shutdown.clone()));
    set.spawn(schedules(state.clone(), shutdown.clone()));
    set
}

/// Drains one queue: runs `step` until it finds nothing to do, then sleeps
/// until woken (new work in this process) or two seconds pass (work queued by
/// another instance, or a retry falling due).
async fn queue_worker<F, Fut>(
    name: &'static str,
    state: AppState,
    shutdown: CancellationToken,
    wake: fn(&Wake) -> &Notify,
    step: F,
) where
    F: Fn(AppState) -> Fut,
    Fut: Future<Output = Result<usize, ServiceError>>,
{
    loop {
        let handled = step(state.clone()).await.unwrap_or_else(|e| {
            tracing::warn!(worker = name, error = %e, "queue worker");
            0
        });
        if handled > 0 {
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = wake(&state.wake).notified() => {}
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

/// Settles unknown charge outcomes and expires unused recovery links.
async fn follow_ups(state: AppState, shutdown: CancellationToken) {
    loop {
        if let Err(e) = charge::resume(&state, 50).await {
            tracing::warn!(error = %e, "resume worker");
        }
        if let Err(e) = recovery::expire_links(&state, 50).await {
            tracing::warn!(error = %e, "link expiry worker");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
}

/// The two cron jobs: the nightly reconciliation and the due-date run.
async fn schedules(state: AppState, shutdown: CancellationToken) {
    let jobs =
        [("reconcile", state.settings.reconcile_cron.clone()), ("charge-due", state.settings.charge_due_cron.clone())];
    loop {
        for (name, expr) in &jobs {
            if let Err(e) = run_if_due(&state, name, expr).await {
                tracing::warn!(job = name, error = %e, "scheduled job");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

/// Runs job `name` if its cron expression had an occurrence since its last
/// run. The last run is stored, and a lease keeps other instances out.
async fn run_if_due(state: &AppState, name: &str, expr: &str) -> anyhow::Result<()> {
    use app::ssr::entities::app_setting;
    let key = format!("schedule:{name}:last_run");
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
    let schedule = cron::Schedule::from_str(expr)?;
    let tz = state.settings.schedule_timezone;
    let Some(next) = schedule.after(&last.with_timezone(&tz)).next() else {
        return Ok(());
    };
    if next.with_timezone(&Utc) > now {
        return Ok(());
    }
    let lease_name = format!("schedule:{name}");
    if !lease::acquire(&state.db, &lease_name, &state.instance_id, 3_600_000, state.now_ms()).await? {
        return Ok(());
    }
    // Another instance may have run it between our read and the lease.
    let again = last_run(app_setting::Entity::find_by_id(key.clone()).one(&state.db).await?);
    if again == last {
        tracing::info!(job = name, "scheduled run starting");
        let result = match name {
            "reconcile" => {
                let options = reconcile::Options {
                    since: Duration::from_secs(48 * 3600),
                    dry_run: false,
                    trigger: "schedule".to_owned(),
                };
                reconcile::run(state, &options, &reconcile::Silent).await.map(|_| ()).map_err(anyhow::Error::from)
            }
            _ => {
                let today = now.with_timezone(&tz).date_naive();
                due::charge_due(state, today, 10_000).await.map(|_| ()).map_err(anyhow::Error::from)
            }
        };
        app_setting::Entity::update(app_setting::ActiveModel {
            key: Set(key),
            value: Set(state.clock.now().to_rfc3339()),
        })
        .exec(&state.db)
        .await?;
        if let Err(e) = result {
            tracing::warn!(job = name, error = %e, "scheduled run failed");
        }
    }
    lease::release(&state.db, &lease_name, &state.instance_id).await?;
    Ok(())
}
