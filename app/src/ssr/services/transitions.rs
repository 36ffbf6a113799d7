//! The one writer of an échéance's status: reads the row (locked), asks the
//! pure state machine, writes the new status with a version check, appends the
//! audit row and queues the emails the change causes — all in the caller's
//! transaction.

use anyhow::anyhow;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, ExprTrait, QueryFilter,
};

use super::change::EcheanceChange;
use super::error::ServiceError;
use super::{effects, outgoing, plans};
pub use crate::domain::Cause;
use crate::domain::{EcheanceId, EcheanceStatus, PaymentEvent, TransitionError};
use crate::ssr::entities::{audit_log, echeance};
use crate::ssr::repo::echeances;
use crate::ssr::state::AppState;

/// What [`apply`] did.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The row after the change.
    pub echeance: echeance::Model,
    /// Status before.
    pub from: EcheanceStatus,
    /// Status after (equal to `from` when nothing changed).
    pub to: EcheanceStatus,
    /// Why the event was refused, if it was.
    pub refused: Option<TransitionError>,
}

impl Applied {
    /// The status changed.
    #[must_use]
    pub fn changed(&self) -> bool {
        self.from != self.to
    }
}

/// Applies `event` to échéance `echeance_id` inside `txn`.
///
/// # Errors
/// The échéance does not exist, or the database fails.
#[tracing::instrument(skip(state, txn, detail), fields(echeance.id = %echeance_id, cause = cause.as_str()))]
pub async fn apply(
    state: &AppState,
    txn: &DatabaseTransaction,
    echeance_id: EcheanceId,
    event: PaymentEvent,
    cause: Cause,
    actor: &str,
    detail: Option<String>,
) -> Result<Applied, ServiceError> {
    let row = echeances::lock(txn, echeance_id).await?;
    let from = row.status;
    let to = match from.transition(event) {
        Ok(to) => to,
        Err(refused) => {
            tracing::info!(?event, from = from.as_str(), %refused, "event does not apply");
            return Ok(Applied { echeance: row, from, to: from, refused: Some(refused) });
        }
    };
    if to == from {
        return Ok(Applied { echeance: row, from, to, refused: None });
    }

    let now = state.now_ms();
    let mut update = echeance::Entity::update_many()
        .col_expr(echeance::Column::Status, Expr::value(to))
        .col_expr(echeance::Column::Version, Expr::col(echeance::Column::Version).add(1))
        .col_expr(echeance::Column::UpdatedAt, Expr::value(now))
        .filter(echeance::Column::Id.eq(row.id))
        .filter(echeance::Column::Version.eq(row.version));
    // The day the money came: a dispute won or a refund Stripe gave up returns to « payée » with the
    // payment's own date (the receipt, the host's paid_at and the dashboard's chart keep it).
    let newly_paid = to == EcheanceStatus::Payee && (!from.was_collected() || row.paid_at.is_none());
    if newly_paid {
        update = update.col_expr(echeance::Column::PaidAt, Expr::value(now));
    }
    if update.exec(txn).await?.rows_affected != 1 {
        return Err(anyhow!("échéance {echeance_id} changed under a held lock").into());
    }

    let what = format!("{event:?}");
    audit(txn, Audit { echeance_id: row.id, from: Some(from), to, what: &what, cause, actor, detail, at: now }).await?;

    let paid_at = if newly_paid { Some(now) } else { row.paid_at };
    let after = echeance::Model { status: to, version: row.version + 1, updated_at: now, paid_at, ..row };
    let change = EcheanceChange { row: &after, from, at: now };
    // A claim undone: nothing happened to the payment, and the host never heard of the claim.
    if !event.undoes_a_claim() {
        effects::after_transition(state, txn, &change).await?;
        if outgoing::events::echeance_changed(txn, &change, super::host_api::keys::current_mode(state)).await? {
            state.wake.host.notify_one();
        }
    }
    plans::follow(txn, &after, plans::By { cause, actor, now }, !event.undoes_a_claim()).await?;
    tracing::info!(from = from.as_str(), to = to.as_str(), "status changed");
    Ok(Applied { echeance: after, from, to, refused: None })
}

/// Appends an audit row for something done to an échéance that leaves its status as it is (a
/// legacy Checkout Session let go, money collected on an « annulée » reviewed), in the caller's
/// transaction: the timeline shows it beside the transitions.
///
/// # Errors
/// The database fails.
pub async fn note(
    txn: &DatabaseTransaction,
    row: &echeance::Model,
    what: &str,
    cause: Cause,
    actor: &str,
    detail: String,
    now: i64,
) -> Result<(), ServiceError> {
    let (from, to, detail) = (Some(row.status), row.status, Some(detail));
    audit(txn, Audit { echeance_id: row.id, from, to, what, cause, actor, detail, at: now }).await
}

/// One line of an échéance's audit log: what its timeline shows and what its screens hear of.
#[derive(Debug)]
pub struct Audit<'a> {
    /// The échéance.
    pub echeance_id: i64,
    /// Its status before (none: it was just created).
    pub from: Option<EcheanceStatus>,
    /// Its status after.
    pub to: EcheanceStatus,
    /// What happened (a [`PaymentEvent`]'s name, or a note's).
    pub what: &'a str,
    /// Why.
    pub cause: Cause,
    /// Who (an [`crate::domain::Actor`] as stored).
    pub actor: &'a str,
    /// More, for the timeline.
    pub detail: Option<String>,
    /// When (ms).
    pub at: i64,
}

/// Writes `entry` in the caller's transaction and announces the échéance to its screens — the
/// only writer of the audit log: on SQLite the row is the announcement the live feed reads, on
/// PostgreSQL a `NOTIFY` sent at commit; either way every change of the log reaches the screens.
///
/// # Errors
/// The database fails.
pub async fn audit(txn: &DatabaseTransaction, entry: Audit<'_>) -> Result<(), ServiceError> {
    audit_log::ActiveModel {
        echeance_id: Set(entry.echeance_id),
        from_status: Set(entry.from),
        to_status: Set(entry.to),
        event: Set(entry.what.to_owned()),
        cause: Set(entry.cause),
        actor: Set(entry.actor.to_owned()),
        detail: Set(entry.detail),
        created_at: Set(entry.at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    crate::ssr::live::announce(txn, entry.echeance_id).await?;
    Ok(())
}
