//! The dashboard's page: the filtered rows, the totals by status, the daily
//! chart and the failure counters.

use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
};
use std::collections::HashMap;

use super::filter::Filter;
use super::totals;
use crate::api::dto::{AdminPage, AdminRow, DailyAmount, DailySeries, StatusTotal};
use crate::domain::{Currency, EcheanceStatus, Total};
use crate::ssr::entities::{echeance, email_outbox, user};
use crate::ssr::repo::queue::OutboxStatus;
use crate::ssr::repo::{attempts, echeances};
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::webhooks;
use crate::ssr::state::AppState;

/// Rows per page.
pub const PAGE_SIZE: u64 = 25;

/// One échéance with its customer, as the dashboard shows it; its PaymentIntent is the one
/// that paid it (`paid_by`, [`attempts::paying_payment_intents`]: an earlier attempt's when
/// a newer one was given up), else its current attempt's.
///
/// # Errors
/// A row without its customer, or whose amount does not parse.
pub fn row_of(e: echeance::Model, u: Option<user::Model>, paid_by: Option<String>) -> Result<AdminRow, ServiceError> {
    let u = u.ok_or_else(|| anyhow::anyhow!("échéance {} without its customer", e.id))?;
    Ok(AdminRow {
        id: e.id,
        money: echeances::money(&e)?,
        label: e.label,
        customer: u.into(),
        due_date: e.due_date,
        status: e.status,
        payment_intent: paid_by.or(e.current_payment_intent_id),
        attempts: e.current_attempt_no,
    })
}

/// One page of the dashboard.
///
/// At 100,000 échéances no read goes through every échéance unless the filter
/// asks: the totals by status (which also give the count) are the ones the
/// database keeps ([`totals`]) when nothing but a status is filtered, the
/// page's ids come from the due date's index, and only those 25 rows are read
/// with their customer. The reads that do not need each other's answer run
/// side by side, each on its own connection (a search that matches thousands
/// of échéances counts them while their first page is sorted).
///
/// # Errors
/// Database failure.
pub async fn list(state: &AppState, filter: &Filter, page: u64) -> Result<AdminPage, ServiceError> {
    let failed_emails = async {
        let failed = email_outbox::Entity::find().filter(email_outbox::Column::Status.eq(OutboxStatus::Failed));
        Ok::<_, ServiceError>(failed.count(&state.db).await?)
    };
    let (grouped, asked, daily, failed_emails, failed_webhooks) = tokio::try_join!(
        grouped(state, filter),
        page_ids(state, filter, page),
        daily(state),
        failed_emails,
        webhooks::failed_count(&state.db),
    )?;
    let total: u64 = grouped
        .iter()
        .filter(|(status, ..)| filter.status().is_none_or(|s| s == *status))
        .map(|(_, _, n, _)| u64::try_from(*n).unwrap_or(0))
        .sum();
    let pages = Ord::max(total.div_ceil(PAGE_SIZE), 1);
    let shown = Ord::min(page, pages - 1);
    // A page past the last shows the last: read again only then.
    let ids = if shown == page { asked } else { page_ids(state, filter, shown).await? };
    let mut found: HashMap<i64, (echeance::Model, Option<user::Model>)> = echeance::Entity::find()
        .join(JoinType::InnerJoin, echeance::Relation::User.def())
        .filter(echeance::Column::Id.is_in(ids.iter().copied()))
        .select_also(user::Entity)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|(e, u)| (e.id, (e, u)))
        .collect();
    let mut paid_by = attempts::paying_payment_intents(&state.db, &ids).await?;
    let rows = ids
        .iter()
        .filter_map(|id| found.remove(id))
        .map(|(e, u)| {
            let paid_by = paid_by.remove(&e.id);
            row_of(e, u, paid_by)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut totals = grouped
        .into_iter()
        .filter_map(|(status, currency, n, sum)| {
            Some(StatusTotal {
                status,
                count: u64::try_from(n).unwrap_or(0),
                // A sum of many charges: no one charge's maximum bounds it.
                money: Total::of(sum, Currency::parse(&currency).ok()?),
            })
        })
        .collect::<Vec<_>>();
    totals.sort_by_key(|t| EcheanceStatus::ALL.iter().position(|s| *s == t.status));

    Ok(AdminPage {
        rows,
        total,
        page: shown,
        pages,
        totals,
        daily,
        failed_emails,
        failed_webhooks,
        query: filter.to_form().query_string(),
    })
}

/// The count and amount of the filtered échéances by status and currency (whatever
/// status the filter asks for: the totals show every status).
///
/// Not a `GROUP BY`: SQLite groups by sorting, and for a search that matches
/// 10,000 échéances the sort cost as much as finding them. The pairs of status
/// and currency that can appear are those the kept totals hold (the whole
/// table's), and each is counted and summed by an aggregate of its own
/// (`FILTER (WHERE …)`) in one pass over the matches.
async fn grouped(state: &AppState, filter: &Filter) -> Result<totals::Grouped, ServiceError> {
    let kept = totals::kept(&state.db).await?;
    if filter.is_status_only() || kept.is_empty() {
        return Ok(kept);
    }
    let backend = state.db.get_database_backend();
    let mut query = filter.narrow(echeance::Entity::find(), false, backend).select_only();
    for (i, (status, currency, ..)) in kept.iter().enumerate() {
        let pair = || [sea_orm::Value::from(status.as_str()), sea_orm::Value::from(currency.as_str())];
        let only = match backend {
            DbBackend::Postgres => r#"FILTER (WHERE "echeances"."status" = $1 AND "echeances"."currency" = $2)"#,
            _ => r#"FILTER (WHERE "echeances"."status" = ? AND "echeances"."currency" = ?)"#,
        };
        query = query.column_as(Expr::cust_with_values(format!("COUNT(*) {only}"), pair()), format!("n{i}")).column_as(
            Expr::cust_with_values(format!(r#"CAST(SUM("echeances"."amount_cents") {only} AS bigint)"#), pair()),
            format!("c{i}"),
        );
    }
    let Some(row) = state.db.query_one(&sea_orm::QueryTrait::into_query(query)).await? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for (i, (status, currency, ..)) in kept.into_iter().enumerate() {
        let n: i64 = row.try_get("", &format!("n{i}"))?;
        let cents: Option<i64> = row.try_get("", &format!("c{i}"))?;
        if n > 0 {
            found.push((status, currency, n, cents.unwrap_or(0)));
        }
    }
    Ok(found)
}

/// The ids of page `page` of the filtered échéances, by due date (none past what a database can skip).
async fn page_ids(state: &AppState, filter: &Filter, page: u64) -> Result<Vec<i64>, ServiceError> {
    let Some(offset) = crate::ssr::repo::page::offset(page, PAGE_SIZE) else {
        return Ok(Vec::new());
    };
    Ok(filter
        .narrow(echeance::Entity::find(), true, state.db.get_database_backend())
        .select_only()
        .column(echeance::Column::Id)
        .order_by_asc(echeance::Column::DueDate)
        .order_by_asc(echeance::Column::Id)
        .limit(PAGE_SIZE)
        .offset(offset)
        .into_tuple()
        .all(&state.db)
        .await?)
}

/// Amounts collected per day over the last 30 days (schedule time zone), a series per
/// currency that was ever collected (the kept totals say which), euros when none was.
///
/// One statement of 30 sums a currency, each over its own day's range of the index of
/// the payment date (which holds the status and the amount): every payment of the
/// month is read once, in the index, and nothing is sorted. (A `GROUP BY` of a
/// `CASE` giving each payment its day evaluated up to 29 comparisons and sorted
/// every payment: 15 ms for 10,000 payments on SQLite, on every dashboard view.)
async fn daily(state: &AppState) -> Result<Vec<DailySeries>, ServiceError> {
    use sea_orm::sea_query::{Alias, Func, Query, QueryStatementBuilder as _};
    let tz = state.settings.schedule_timezone;
    let today = state.clock.now().with_timezone(&tz).date_naive();
    let days: Vec<NaiveDate> = (0..30).rev().filter_map(|n| today.checked_sub_days(chrono::Days::new(n))).collect();
    let starts: Vec<i64> = days.iter().chain(today.succ_opt().as_slice()).map(|d| local_midnight_ms(&tz, *d)).collect();
    if starts.len() < 2 {
        return Ok(Vec::new());
    }
    // Each currency as the rows spell it (any case), euros first, then by code.
    let mut spelled: std::collections::BTreeMap<(bool, &str), (Currency, Vec<String>)> = Default::default();
    for (status, raw, ..) in totals::kept(&state.db).await? {
        if let Some(currency) = Currency::parse(&raw).ok().filter(|_| status.was_collected()) {
            spelled.entry((currency != Currency::Eur, currency.code())).or_insert((currency, Vec::new())).1.push(raw);
        }
    }
    let currencies: Vec<(Currency, Vec<String>)> = if spelled.is_empty() {
        vec![(Currency::Eur, vec![Currency::Eur.code().to_owned()])]
    } else {
        spelled.into_values().collect()
    };
    let collected: Vec<EcheanceStatus> = EcheanceStatus::ALL.iter().copied().filter(|s| s.was_collected()).collect();
    let mut query = Query::select();
    for (c, (_, raws)) in currencies.iter().enumerate() {
        // In the sum, not in the range's condition: a planner offered the status would take its index instead.
        let amount: Expr = Expr::case(
            echeance::Column::Status
                .is_in(collected.iter().copied())
                .and(echeance::Column::Currency.is_in(raws.iter().map(String::as_str))),
            Expr::col(echeance::Column::AmountCents),
        )
        .finally(0_i64)
        .into();
        for (n, day) in starts.windows(2).enumerate() {
            let sum = Query::select()
                .expr(
                    Expr::from(Func::coalesce([Expr::from(Func::sum(amount.clone())), Expr::value(0_i64)]))
                        .cast_as("bigint"),
                )
                .from(echeance::Entity)
                .and_where(echeance::Column::PaidAt.gte(day[0]))
                .and_where(echeance::Column::PaidAt.lt(day[1]))
                .to_owned();
            query.expr_as(Expr::from(sum.into_sub_query_statement()), Alias::new(format!("c{c}d{n}")));
        }
    }
    let Some(row) = state.db.query_one(&query).await? else {
        return Ok(Vec::new());
    };
    currencies
        .into_iter()
        .enumerate()
        .map(|(c, (currency, _))| {
            let days = days
                .iter()
                .take(starts.len() - 1)
                .enumerate()
                .map(|(n, day)| Ok(DailyAmount { day: *day, cents: row.try_get("", &format!("c{c}d{n}"))? }))
                .collect::<Result<Vec<_>, ServiceError>>()?;
            Ok(DailySeries { currency, days })
        })
        .collect()
}

/// The instant `day` starts in `tz` (the first instant after midnight where a
/// change of time skips it), in milliseconds.
fn local_midnight_ms(tz: &chrono_tz::Tz, day: NaiveDate) -> i64 {
    use chrono::TimeZone;
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    (0..=2)
        .find_map(|h| tz.from_local_datetime(&(midnight + chrono::Duration::hours(h))).earliest())
        .map_or_else(|| midnight.and_utc().timestamp_millis(), |t| t.timestamp_millis())
}
