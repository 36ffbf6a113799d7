//! Telling the customer before a debit: every échéance the due-date run will
//! charge in the next `DEBIT_REMINDER_DAYS` days (0: never) gets one email —
//! the amount, the date, the card, what the plan will still have to collect.
//!
//! The daily job (`DEBIT_REMINDER_CRON`) may run twice, on two instances at
//! once, or late after a stop: each email is an outbox row keyed by the
//! échéance and its due date, so it is written once whatever runs it, and a
//! day the job missed is caught up by the next run (the window is every day
//! from tomorrow to the N-th, not the N-th alone). An échéance moved to another
//! date is announced again for its new date.

use chrono::{Days, NaiveDate};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::due;
use super::effects;
use super::error::ServiceError;
use crate::domain::{ChargeOrigin, EmailKind, Locale};
use crate::ssr::db;
use crate::ssr::email::outbox::{self, NewEmail};
use crate::ssr::entities::{echeance, user};
use crate::ssr::repo::echeances;
use crate::ssr::state::AppState;

/// Rows read (and emails written) per transaction.
const BATCH: u64 = 500;

/// Queues the reminder of every debit due after `today` and within the
/// configured number of days; returns how many emails were new.
///
/// # Errors
/// Database failure, or a row that does not parse.
pub async fn queue_upcoming_debits(state: &AppState, today: NaiveDate) -> Result<u64, ServiceError> {
    let days = state.settings.debit_reminder_days;
    if days == 0 {
        return Ok(0);
    }
    let until = today.checked_add_days(Days::new(u64::from(days))).unwrap_or(NaiveDate::MAX);
    let now = state.now_ms();
    let mut queued = 0;
    let mut after_id = 0;
    loop {
        let rows = echeance::Entity::find()
            .filter(echeance::Column::Status.is_in(ChargeOrigin::DueDate.scheduled_from()))
            .filter(echeance::Column::DueDate.gt(today))
            .filter(echeance::Column::DueDate.lte(until))
            .filter(due::collectable(state))
            .filter(echeance::Column::Id.gt(after_id))
            .order_by_asc(echeance::Column::Id)
            .limit(BATCH)
            .all(&state.db)
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after_id = last.id;
        let txn = db::begin_write(&state.db).await?;
        for row in &rows {
            let Some(customer) = user::Entity::find_by_id(row.user_id).one(&txn).await? else {
                continue;
            };
            if customer.disabled_at.is_some() {
                continue;
            }
            let locale = Locale::from_code(&customer.locale);
            let mut context = effects::email_context(state, row, &customer, locale)?;
            effects::add_card(&txn, &mut context, customer.id, None).await?;
            effects::add_what_remains(&txn, &mut context, row, today, locale).await?;
            let key = EmailKind::upcoming_debit_key(echeances::id(row)?, row.due_date);
            let email = NewEmail::about(row, &customer, EmailKind::UpcomingDebit, key, context);
            if outbox::enqueue(&txn, NewEmail { send_after: now, ..email }, now).await? {
                queued += 1;
            }
        }
        txn.commit().await?;
        if (rows.len() as u64) < BATCH {
            break;
        }
    }
    if queued > 0 {
        state.wake.outbox.notify_one();
    }
    Ok(queued)
}
