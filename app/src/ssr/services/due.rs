//! Scheduled charging: échéances due today (or earlier) that were never
//! tried, and soft declines whose retry time has come — through the same
//! [`super::charge::charge`] as the customer's button, at a bounded rate.

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use std::time::Duration;

use super::charge::{self, Trigger};
use super::error::ServiceError;
use super::host_api::keys;
use super::{cards, plans};
use crate::domain::{ChargeOrigin, EcheanceId, EcheanceStatus};
use crate::ssr::entities::{echeance, payment_method, payment_plan};
use crate::ssr::state::AppState;

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DueReport {
    /// Charges sent.
    pub charged: u32,
    /// Collected at once.
    pub paid: u32,
    /// Waiting for 3D Secure.
    pub awaiting_customer: u32,
    /// Declined.
    pub declined: u32,
    /// Skipped (no card, already in progress…).
    pub skipped: u32,
    /// Failed before anything was sent.
    pub errors: u32,
}

/// What the due-date run may charge off-session: not tied to a legacy Checkout Session, its
/// customer has a card the keys in use can charge, and it is on its own or in a plan whose échéances are collected,
/// made with the keys of the Stripe mode in use.
pub(crate) fn collectable(state: &AppState) -> Condition {
    let with_card = cards::usable_of_anyone(keys::current_mode(state))
        .select_only()
        .column(payment_method::Column::UserId)
        .into_query();
    let collected_plans = payment_plan::Entity::find()
        .filter(payment_plan::Column::Status.is_in(plans::scheduled_statuses(state)))
        .filter(plans::of_mode_in_use(state));
    Condition::all()
        .add(echeance::Column::CheckoutSessionId.is_null())
        .add(echeance::Column::UserId.in_subquery(with_card))
        .add(plans::echeances_in(collected_plans))
}

/// Charges what is due on `today` (in the schedule's time zone).
///
/// # Errors
/// Database failure while selecting.
pub async fn charge_due(state: &AppState, today: NaiveDate, limit: u64) -> Result<DueReport, ServiceError> {
    super::plans::activate_ready(state).await?;
    let now = state.now_ms();
    let rows = echeance::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(echeance::Column::Status.is_in(ChargeOrigin::DueDate.scheduled_from()))
                        .add(echeance::Column::DueDate.lte(today)),
                )
                .add(
                    Condition::all()
                        .add(echeance::Column::Status.is_in(ChargeOrigin::AutoRetry.scheduled_from()))
                        .add(echeance::Column::NextRetryAt.lte(now))
                        // A declined payment ahead is retried from its date on (`waits_for_due_date`).
                        .add(echeance::Column::DueDate.lte(today)),
                ),
        )
        .filter(collectable(state))
        .order_by_asc(echeance::Column::DueDate)
        .order_by_asc(echeance::Column::Id)
        .limit(limit)
        .all(&state.db)
        .await?;
    // Paced on a clock: charge n starts n/rate seconds in, whatever the earlier ones took
    // (a pause after each charge would add Stripe's round trip to every step and miss the
    // rate). Different customers' charges overlap, a bounded number at a time; one
    // customer's échéances are charged one after the other, in order, so a decline is
    // recorded (and its plan's policy applied) before their next échéance is tried.
    let rate = state.settings.charge_due_rate_per_sec.max(1);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let pace = std::sync::Arc::new(tokio::sync::Mutex::new(tick));
    let in_flight = rate.min(state.settings.database_max_connections).max(1);
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(usize::try_from(in_flight).unwrap_or(1)));
    let mut running = tokio::task::JoinSet::new();
    for (_, charges) in by_customer(rows) {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (state, pace) = (state.clone(), pace.clone());
        running.spawn(async move {
            let _slot = slot;
            let mut done = Vec::with_capacity(charges.len());
            for (id, trigger) in charges {
                pace.lock().await.tick().await;
                done.push((id, charge::charge_scheduled(&state, id, trigger, today).await));
            }
            done
        });
    }
    let mut report = DueReport::default();
    while let Some(done) = running.join_next().await {
        match done {
            Ok(charges) => {
                for charged in charges {
                    tally(&mut report, charged);
                }
            }
            Err(e) => {
                report.errors += 1;
                tracing::error!(error = %e, "a due-date run's task failed");
            }
        }
    }
    tracing::info!(?report, "due-date run finished");
    Ok(report)
}

/// Each customer's échéances to charge, in the run's order, customers in the order of
/// their first one.
fn by_customer(rows: Vec<echeance::Model>) -> Vec<(i64, Vec<(EcheanceId, Trigger)>)> {
    let mut order: Vec<(i64, Vec<(EcheanceId, Trigger)>)> = Vec::new();
    let mut at: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    for row in rows {
        let trigger = if Some(row.status) == ChargeOrigin::AutoRetry.scheduled_from() {
            Trigger::AutoRetry
        } else {
            Trigger::DueDate
        };
        let Ok(id) = EcheanceId::new(row.id) else {
            continue;
        };
        let i = *at.entry(row.user_id).or_insert_with(|| {
            order.push((row.user_id, Vec::new()));
            order.len() - 1
        });
        order[i].1.push((id, trigger));
    }
    order
}

/// Counts one charge of the run.
fn tally(report: &mut DueReport, (id, done): (EcheanceId, Result<charge::ChargeResult, ServiceError>)) {
    match done {
        Ok(result) => {
            report.charged += 1;
            match result.status {
                EcheanceStatus::Payee => report.paid += 1,
                EcheanceStatus::EnAttente => report.awaiting_customer += 1,
                EcheanceStatus::Echouee | EcheanceStatus::EchoueeDefinitive => report.declined += 1,
                _ => {}
            }
        }
        Err(ServiceError::Refused(_) | ServiceError::Invalid(_) | ServiceError::NotFound) => report.skipped += 1,
        Err(e) => {
            report.errors += 1;
            tracing::warn!(echeance.id = id.get(), error = %e, "due-date charge failed");
        }
    }
}
