//! The dashboard's page: the filtered rows, the totals by status, the daily
//! chart and the failure counters.

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::BTreeMap;

use super::filter::Filter;
use crate::api::dto::{AdminPage, AdminRow, DailyAmount, StatusTotal};
use crate::domain::{Amount, Currency, EcheanceStatus, Money};
use crate::ssr::clock::from_ms;
use crate::ssr::entities::{echeance, email_outbox, user};
use crate::ssr::repo::echeances;
use crate::ssr::repo::queue::OutboxStatus;
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::webhooks;
use crate::ssr::state::AppState;

/// Rows per page.
pub const PAGE_SIZE: u64 = 25;

/// One échéance with its customer, as the dashboard shows it.
///
/// # Errors
/// A row without its customer, or whose amount does not parse.
pub fn row_of(e: echeance::Model, u: Option<user::Model>) -> Result<AdminRow, ServiceError> {
    let u = u.ok_or_else(|| anyhow::anyhow!("échéance {} without its customer", e.id))?;
    Ok(AdminRow {
        id: e.id,
        money: echeances::money(&e)?,
        label: e.label,
        customer_name: u.display_name,
        customer_email: u.email,
        due_date: e.due_date,
        status: e.status,
        payment_intent: e.current_payment_intent_id,
        attempts: e.current_attempt_no,
    })
}

/// One page of the dashboard.
///
/// # Errors
/// Database failure.
pub async fn list(state: &AppState, filter: &Filter, page: u64) -> Result<AdminPage, ServiceError> {
    let base = filter.apply(echeance::Entity::find(), true);
    let total = base.clone().count(&state.db).await?;
    let pages = Ord::max(total.div_ceil(PAGE_SIZE), 1);
    let page = Ord::min(page, pages - 1);
    let rows = base
        .order_by_asc(echeance::Column::DueDate)
        .order_by_asc(echeance::Column::Id)
        .limit(PAGE_SIZE)
        .offset(page * PAGE_SIZE)
        .select_also(user::Entity)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|(e, u)| row_of(e, u))
        .collect::<Result<Vec<_>, _>>()?;

    let grouped: Vec<(EcheanceStatus, String, i64, i64)> = filter
        .apply(echeance::Entity::find(), false)
        .select_only()
        .column(echeance::Column::Status)
        .column(echeance::Column::Currency)
        .column_as(echeance::Column::Id.count(), "n")
        .column_as(echeance::Column::AmountCents.sum().cast_as("bigint"), "total")
        .group_by(echeance::Column::Status)
        .group_by(echeance::Column::Currency)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut totals = grouped
        .into_iter()
        .filter_map(|(status, currency, n, sum)| {
            Some(StatusTotal {
                status,
                count: u64::try_from(n).unwrap_or(0),
                money: Money {
                    amount: Amount::from_minor(Ord::max(sum, 1)).ok()?,
                    currency: Currency::parse(&currency).ok()?,
                },
            })
        })
        .collect::<Vec<_>>();
    totals.sort_by_key(|t| EcheanceStatus::ALL.iter().position(|s| *s == t.status));

    Ok(AdminPage {
        rows,
        total,
        page,
        pages,
        totals,
        daily: daily(state).await?,
        failed_emails: email_outbox::Entity::find()
            .filter(email_outbox::Column::Status.eq(OutboxStatus::Failed))
            .count(&state.db)
            .await?,
        failed_webhooks: webhooks::failed_count(&state.db).await?,
        query: filter.to_form().query_string(),
    })
}

/// Amounts collected per day over the last 30 days (schedule time zone).
async fn daily(state: &AppState) -> Result<Vec<DailyAmount>, ServiceError> {
    let tz = state.settings.schedule_timezone;
    let today = state.clock.now().with_timezone(&tz).date_naive();
    let since = state.now_ms() - 31 * 24 * 3_600_000;
    let paid: Vec<(i64, i64)> = echeance::Entity::find()
        .select_only()
        .column(echeance::Column::PaidAt)
        .column(echeance::Column::AmountCents)
        .filter(echeance::Column::PaidAt.gte(since))
        .filter(echeance::Column::Status.is_in(EcheanceStatus::matching(EcheanceStatus::was_collected)))
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut by_day: BTreeMap<NaiveDate, i64> =
        (0..30).filter_map(|n| today.checked_sub_days(chrono::Days::new(n))).map(|d| (d, 0)).collect();
    for (paid_at, cents) in paid {
        let day = from_ms(paid_at).with_timezone(&tz).date_naive();
        if let Some(sum) = by_day.get_mut(&day) {
            *sum += cents;
        }
    }
    Ok(by_day.into_iter().map(|(day, cents)| DailyAmount { day, cents }).collect())
}
