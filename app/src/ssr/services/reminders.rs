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
//!
//! The same job warns a customer whose saved card expires before one of the
//! debits of the next `CARD_EXPIRY_NOTICE_DAYS` days (0: never): once per card
//! and expiry, with the debit it would miss and the way to replace it (a new
//! card serves every échéance to come). A warning held back names, when it goes,
//! the first debit to come the card will still miss then; with none, it is
//! withdrawn, and a later run warns again once one comes into the window.

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, NaiveDate};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::due;
use super::effects;
use super::error::ServiceError;
use super::host_api::keys;
use crate::domain::plan::card_lasts_until;
use crate::domain::{ChargeOrigin, EmailKind, Locale};
use crate::ssr::db;
use crate::ssr::email::outbox::{self, NewEmail};
use crate::ssr::entities::{echeance, payment_method, user};
use crate::ssr::repo::echeances;
use crate::ssr::state::AppState;

/// Rows read (and emails written) per transaction.
const BATCH: u64 = 500;

/// How many notices a run of the daily job queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notices {
    /// Reminders of the coming debits.
    pub debits: u64,
    /// Warnings of cards that will not last.
    pub cards: u64,
}

/// The daily job, as of `today`: the reminders of the coming debits, then the
/// warnings of the cards that will not last (the schedule and `server notices` run this).
///
/// # Errors
/// Database failure, or a row that does not parse.
pub async fn queue_notices(state: &AppState, today: NaiveDate) -> Result<Notices, ServiceError> {
    let debits = queue_upcoming_debits(state, today).await?;
    let cards = queue_card_expiry_notices(state, today).await?;
    Ok(Notices { debits, cards })
}

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
    let mut queued = Queued::new(state.now_ms());
    let mut pages = ComingDebits::new(today, until);
    while let Some(rows) = pages.next(state).await? {
        let txn = db::begin_write(&state.db).await?;
        for row in &rows {
            let Some(customer) = user::Entity::find_by_id(row.user_id).one(&txn).await? else {
                continue;
            };
            if customer.disabled_at.is_some() {
                continue;
            }
            let (locale, mut context) = notice_context(state, &txn, row, &customer, None).await?;
            effects::add_what_remains(&txn, &mut context, row, today, locale).await?;
            let key = EmailKind::upcoming_debit_key(echeances::id(row)?, row.due_date);
            queued.push(&txn, NewEmail::about(row, &customer, EmailKind::UpcomingDebit, key, context)).await?;
        }
        txn.commit().await?;
    }
    Ok(queued.done(state))
}

/// What `card`'s expiry warning says: `debit` (one it will not last until), the card and when it expires.
async fn card_warning_context(
    state: &AppState,
    db: &impl ConnectionTrait,
    card: &payment_method::Model,
    debit: &echeance::Model,
    customer: &user::Model,
) -> Result<serde_json::Value, ServiceError> {
    let (_, mut context) = notice_context(state, db, debit, customer, Some(&card.stripe_payment_method_id)).await?;
    context["expires"] = serde_json::json!(format!("{:02}/{}", card.exp_month, card.exp_year));
    context["portal_url"] = context["site_url"].clone();
    Ok(context)
}

/// `card`'s expiry warning as it stands `today`, held back since it was queued (an SMTP outage,
/// the keys of the other mode): the first debit to come (after `today`, by date) that the
/// due-date run will charge its customer and that the card will not last until, with what the
/// email says of it, in the customer's language — the debit it was queued for may have been
/// charged, paid ahead, moved or cancelled since. Not bounded by the notice window: a warning
/// queued as of another day (`server notices --date`) or held long still names a debit it will
/// miss, if early. `None` when there is no such debit, the customer's account is closed, or the
/// warnings are off (`CARD_EXPIRY_NOTICE_DAYS=0`): nothing to warn of now.
/// (The caller has checked that `card` is still the one the due-date run charges.)
///
/// # Errors
/// Database failure, or a row that does not parse.
pub async fn card_warning_now(
    state: &AppState,
    card: &payment_method::Model,
    today: NaiveDate,
) -> Result<Option<(echeance::Model, Locale, serde_json::Value)>, ServiceError> {
    if state.settings.card_expiry_notice_days == 0 {
        return Ok(None);
    }
    let Some(customer) = user::Entity::find_by_id(card.user_id).one(&state.db).await? else { return Ok(None) };
    if customer.disabled_at.is_some() {
        return Ok(None);
    }
    let coming = echeance::Entity::find()
        .filter(echeance::Column::UserId.eq(customer.id))
        .filter(echeance::Column::Status.is_in(ChargeOrigin::DueDate.scheduled_from()))
        .filter(echeance::Column::DueDate.gt(today))
        .filter(due::collectable(state))
        .order_by_asc(echeance::Column::DueDate)
        .order_by_asc(echeance::Column::Id)
        .all(&state.db)
        .await?;
    let Some(debit) = coming.into_iter().find(|e| !card_lasts_until(card.exp_month, card.exp_year, e.due_date)) else {
        return Ok(None);
    };
    let context = card_warning_context(state, &state.db, card, &debit, &customer).await?;
    Ok(Some((debit, Locale::from_code(&customer.locale), context)))
}

/// The last day of the card warnings' window as of `today`; `None` when they are off.
fn card_notice_until(state: &AppState, today: NaiveDate) -> Option<NaiveDate> {
    let days = state.settings.card_expiry_notice_days;
    (days > 0).then(|| today.checked_add_days(Days::new(u64::from(days))).unwrap_or(NaiveDate::MAX))
}

/// What every notice's email says, in the customer's language: the échéance, the customer and
/// the card (`card`, or else the one the due-date run would charge).
async fn notice_context(
    state: &AppState,
    txn: &impl ConnectionTrait,
    row: &echeance::Model,
    customer: &user::Model,
    card: Option<&str>,
) -> Result<(Locale, serde_json::Value), ServiceError> {
    let locale = Locale::from_code(&customer.locale);
    let mut context = effects::email_context(state, row, customer, locale)?;
    effects::add_card(txn, &mut context, customer.id, card, Some(keys::current_mode(state))).await?;
    Ok((locale, context))
}

/// The notices a run writes, to go at once (`now`): counted when new, the outbox woken once at the end.
struct Queued {
    now: i64,
    count: u64,
}

impl Queued {
    const fn new(now: i64) -> Self {
        Self { now, count: 0 }
    }

    /// Queues `email` (nothing if its key was queued before).
    async fn push(&mut self, txn: &DatabaseTransaction, email: NewEmail) -> Result<(), ServiceError> {
        if outbox::enqueue(txn, NewEmail { send_after: self.now, ..email }, self.now).await? {
            self.count += 1;
        }
        Ok(())
    }

    /// How many were new; the outbox is woken if any was.
    fn done(self, state: &AppState) -> u64 {
        if self.count > 0 {
            state.wake.outbox.notify_one();
        }
        self.count
    }
}

/// The échéances the due-date run will charge on their date, due after `today` and by
/// `until`, [`BATCH`] at a time by id.
struct ComingDebits {
    today: NaiveDate,
    until: NaiveDate,
    after_id: i64,
    done: bool,
}

impl ComingDebits {
    const fn new(today: NaiveDate, until: NaiveDate) -> Self {
        Self { today, until, after_id: 0, done: false }
    }

    /// The next page, or `None` once they have all been read.
    async fn next(&mut self, state: &AppState) -> Result<Option<Vec<echeance::Model>>, ServiceError> {
        if self.done {
            return Ok(None);
        }
        let rows = echeance::Entity::find()
            .filter(echeance::Column::Status.is_in(ChargeOrigin::DueDate.scheduled_from()))
            .filter(echeance::Column::DueDate.gt(self.today))
            .filter(echeance::Column::DueDate.lte(self.until))
            .filter(due::collectable(state))
            .filter(echeance::Column::Id.gt(self.after_id))
            .order_by_asc(echeance::Column::Id)
            .limit(BATCH)
            .all(&state.db)
            .await?;
        self.done = u64::try_from(rows.len()).unwrap_or(u64::MAX) < BATCH;
        let Some(last) = rows.last() else { return Ok(None) };
        self.after_id = last.id;
        Ok(Some(rows))
    }
}

/// Warns each customer whose saved card (the one the due-date run uses) expires before one of
/// their debits due after `today` and within the configured number of days, naming the
/// first such debit; returns how many warnings were new.
///
/// # Errors
/// Database failure, or a row that does not parse.
pub async fn queue_card_expiry_notices(state: &AppState, today: NaiveDate) -> Result<u64, ServiceError> {
    let Some(until) = card_notice_until(state, today) else { return Ok(0) };
    // Each customer's card (the one the due-date run charges), and the earliest debit it
    // will not last until: found over every page before anything is written.
    let mut cards: HashMap<i64, Option<payment_method::Model>> = HashMap::new();
    let mut missed: BTreeMap<i64, (payment_method::Model, echeance::Model)> = BTreeMap::new();
    let mut pages = ComingDebits::new(today, until);
    while let Some(rows) = pages.next(state).await? {
        for row in rows {
            let card = match cards.get(&row.user_id) {
                Some(card) => card.clone(),
                None => {
                    let card = super::cards::usable(keys::current_mode(state), row.user_id).one(&state.db).await?;
                    cards.insert(row.user_id, card.clone());
                    card
                }
            };
            let Some(card) = card.filter(|c| !card_lasts_until(c.exp_month, c.exp_year, row.due_date)) else {
                continue;
            };
            let earlier = missed.get(&row.user_id).is_some_and(|(_, e)| (e.due_date, e.id) <= (row.due_date, row.id));
            if !earlier {
                missed.insert(row.user_id, (card, row));
            }
        }
    }
    let mut queued = Queued::new(state.now_ms());
    let missed: Vec<(payment_method::Model, echeance::Model)> = missed.into_values().collect();
    for chunk in missed.chunks(usize::try_from(BATCH).unwrap_or(500)) {
        let txn = db::begin_write(&state.db).await?;
        for (card, row) in chunk {
            let Some(customer) = user::Entity::find_by_id(row.user_id).one(&txn).await? else {
                continue;
            };
            if customer.disabled_at.is_some() {
                continue;
            }
            let context = card_warning_context(state, &txn, card, row, &customer).await?;
            let key = EmailKind::card_expiring_key(card.id, card.exp_year, card.exp_month);
            queued.push(&txn, NewEmail::about(row, &customer, EmailKind::CardExpiring, key, context)).await?;
        }
        txn.commit().await?;
    }
    Ok(queued.done(state))
}
