//! Background work of a serving process. Every loop calls the same services as
//! the CLI and stops when the shutdown token fires. Safe with several
//! instances: rows are claimed, singleton jobs hold a lease.

use app::ssr::email::sender;
use app::ssr::services::admin::totals;
use app::ssr::services::error::ServiceError;
use app::ssr::services::host_api::idempotency;
use app::ssr::services::outgoing::delivery;
use app::ssr::services::schedule::{self, Job};
use app::ssr::services::{charge, recovery, refunds, webhooks};
use app::ssr::state::{AppState, Wake};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Whether a process runs the cron jobs besides its queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cron {
    /// A serving process: every job when its cron expression falls due.
    Run,
    /// The queues and follow-ups only: a test runs the jobs it wants by hand, so that moving
    /// its clock past 02:00 (or a real :15) does not start a reconcile or a due-date run
    /// behind its back.
    Skip,
}

/// Starts every worker; they end when `shutdown` fires.
pub fn spawn_all(state: &AppState, shutdown: &CancellationToken) -> JoinSet<()> {
    spawn(state, shutdown, Cron::Run)
}

/// Starts the queue workers, the follow-ups, the totals' folding and, with [`Cron::Run`], the
/// cron jobs; they end when `shutdown` fires.
pub fn spawn(state: &AppState, shutdown: &CancellationToken, cron: Cron) -> JoinSet<()> {
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
    set.spawn(queue_worker(
        "host webhooks",
        state.clone(),
        shutdown.clone(),
        |w| &w.host,
        |s| async move { delivery::deliver_pending(&s, 20).await },
    ));
    set.spawn(follow_ups(state.clone(), shutdown.clone()));
    if cron == Cron::Run {
        set.spawn(schedules(state.clone(), shutdown.clone()));
    }
    set.spawn(fold_totals(state.clone(), shutdown.clone()));
    set
}

/// Folds the dashboard's kept totals (see [`totals::fold_when_grown`]) every
/// 10 seconds, apart from the scheduled jobs, one of which may take an hour.
async fn fold_totals(state: AppState, shutdown: CancellationToken) {
    loop {
        if let Err(e) = totals::fold_when_grown(&state.db).await {
            tracing::warn!(error = %e, "folding the dashboard's totals");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
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

/// Settles unknown charge and refund outcomes, expires unused recovery links, forgets idempotency records past a day.
async fn follow_ups(state: AppState, shutdown: CancellationToken) {
    loop {
        if let Err(e) = charge::resume(&state, 50).await {
            tracing::warn!(error = %e, "resume worker");
        }
        if let Err(e) = refunds::resume(&state, 50).await {
            tracing::warn!(error = %e, "refund resume worker");
        }
        if let Err(e) = recovery::expire_links(&state, 50).await {
            tracing::warn!(error = %e, "link expiry worker");
        }
        if let Err(e) = idempotency::purge_expired(&state).await {
            tracing::warn!(error = %e, "idempotency purge");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
}

/// The cron jobs (see [`schedule::Job`]): each is run when due, once across instances.
async fn schedules(state: AppState, shutdown: CancellationToken) {
    loop {
        for &job in Job::ALL {
            if let Err(e) = schedule::run_if_due(&state, job).await {
                tracing::warn!(job = job.as_str(), error = %e, "scheduled job");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}
