//! The admin dashboard: the filtered, paged list with totals and the daily
//! chart, an échéance's timeline, the CSV export, and the actions (retry,
//! cancel, resend the 3DS email) — each going through the engine.

use anyhow::anyhow;
use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, Select,
};
use std::collections::BTreeMap;

use super::error::ServiceError;
use super::reconcile;
use super::transitions::{self, Cause};
use crate::api::dto::{
    AdminFilter, AdminPage, AdminRow, DailyAmount, DriftView, ReportView, StatusTotal, Timeline, TimelineEntry,
};
use crate::domain::{Amount, Currency, EcheanceStatus, EmailKind, Locale, Money, PaymentEvent};
use crate::ssr::clock::from_ms;
use crate::ssr::db;
use crate::ssr::email::outbox::{self, NewEmail, OutboxStatus};
use crate::ssr::entities::{audit_log, charge_attempt, echeance, email_outbox, stripe_event, user};
use crate::ssr::state::AppState;

/// Rows per page.
pub const PAGE_SIZE: u64 = 25;

/// A parsed filter.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    status: Option<EcheanceStatus>,
    customer: Option<String>,
    due_from: Option<NaiveDate>,
    due_to: Option<NaiveDate>,
    amount_min: Option<i64>,
    amount_max: Option<i64>,
    q: Option<String>,
}

fn clean(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

impl Filter {
    /// Parses the form's values.
    ///
    /// # Errors
    /// `Validation` naming the field that does not parse.
    pub fn parse(form: &AdminFilter) -> Result<Self, ServiceError> {
        let invalid = |what: &str| ServiceError::Validation(format!("Filtre invalide : {what}."));
        let date = |v: &Option<String>, what: &str| -> Result<Option<NaiveDate>, ServiceError> {
            clean(v).map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| invalid(what))).transpose()
        };
        let amount = |v: &Option<String>, what: &str| -> Result<Option<i64>, ServiceError> {
            clean(v).map(|a| Amount::parse_decimal(&a).map(Amount::minor).map_err(|_| invalid(what))).transpose()
        };
        let filter = Self {
            status: clean(&form.status)
                .map(|s| EcheanceStatus::parse(&s).map_err(|_| invalid("statut inconnu")))
                .transpose()?,
            customer: clean(&form.customer),
            due_from: date(&form.due_from, "date de début (AAAA-MM-JJ)")?,
            due_to: date(&form.due_to, "date de fin (AAAA-MM-JJ)")?,
            amount_min: amount(&form.amount_min, "montant minimum")?,
            amount_max: amount(&form.amount_max, "montant maximum")?,
            q: clean(&form.q),
        };
        if let (Some(from), Some(to)) = (filter.due_from, filter.due_to)
            && from > to
        {
            return Err(invalid("la date de début est après la date de fin"));
        }
        Ok(filter)
    }

    /// Back to the form's shape, normalised.
    #[must_use]
    pub fn to_form(&self) -> AdminFilter {
        AdminFilter {
            status: self.status.map(|s| s.as_str().to_owned()),
            customer: self.customer.clone(),
            due_from: self.due_from.map(|d| d.to_string()),
            due_to: self.due_to.map(|d| d.to_string()),
            amount_min: self.amount_min.map(|c| format!("{},{:02}", c / 100, c % 100)),
            amount_max: self.amount_max.map(|c| format!("{},{:02}", c / 100, c % 100)),
            q: self.q.clone(),
        }
    }

    fn apply(&self, query: Select<echeance::Entity>, with_status: bool) -> Select<echeance::Entity> {
        let mut query = query.join(sea_orm::JoinType::InnerJoin, echeance::Relation::User.def());
        if with_status && let Some(status) = self.status {
            query = query.filter(echeance::Column::Status.eq(status.as_str()));
        }
        if let Some(customer) = &self.customer {
            let pattern = format!("%{}%", customer.to_lowercase());
            query = query.filter(
                Condition::any()
                    .add(lower_like((user::Entity, user::Column::Email), pattern.clone()))
                    .add(lower_like((user::Entity, user::Column::DisplayName), pattern)),
            );
        }
        if let Some(from) = self.due_from {
            query = query.filter(echeance::Column::DueDate.gte(from));
        }
        if let Some(to) = self.due_to {
            query = query.filter(echeance::Column::DueDate.lte(to));
        }
        if let Some(min) = self.amount_min {
            query = query.filter(echeance::Column::AmountCents.gte(min));
        }
        if let Some(max) = self.amount_max {
            query = query.filter(echeance::Column::AmountCents.lte(max));
        }
        if let Some(q) = &self.q {
            let pattern = format!("%{}%", q.to_lowercase());
            let mut any = Condition::any()
                .add(lower_like((echeance::Entity, echeance::Column::Label), pattern.clone()))
                .add(lower_like((user::Entity, user::Column::Email), pattern.clone()))
                .add(lower_like((user::Entity, user::Column::DisplayName), pattern))
                .add(echeance::Column::CurrentPaymentIntentId.eq(q.as_str()));
            if let Ok(id) = q.trim_start_matches('#').parse::<i64>() {
                any = any.add(echeance::Column::Id.eq(id));
            }
            query = query.filter(any);
        }
        query
    }
}

/// `LOWER(column) LIKE pattern` (the pattern is lower-cased by the caller).
fn lower_like(column: (impl sea_orm::sea_query::IntoIden, impl sea_orm::sea_query::IntoIden), pattern: String) -> Expr {
    Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(column))).like(pattern)
}

fn money(cents: i64, currency: &str) -> Result<Money, ServiceError> {
    Ok(Money {
        amount: Amount::from_minor(cents).map_err(|e| anyhow!(e))?,
        currency: Currency::parse(currency).map_err(|e| anyhow!(e))?,
    })
}

fn row_of(e: echeance::Model, u: Option<user::Model>) -> Result<AdminRow, ServiceError> {
    let u = u.ok_or_else(|| anyhow!("échéance {} without its customer", e.id))?;
    Ok(AdminRow {
        id: e.id,
        money: money(e.amount_cents, &e.currency)?,
        label: e.label,
        customer_name: u.display_name,
        customer_email: u.email,
        due_date: e.due_date,
        status: EcheanceStatus::parse(&e.status).map_err(|err| anyhow!(err))?,
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

    let grouped: Vec<(String, String, i64, i64)> = filter
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
                status: EcheanceStatus::parse(&status).ok()?,
                count: u64::try_from(n).unwrap_or(0),
                money: money(Ord::max(sum, 1), &currency).ok()?,
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
            .filter(email_outbox::Column::Status.eq(OutboxStatus::Failed.as_str()))
            .count(&state.db)
            .await?,
        failed_webhooks: super::webhooks::failed_count(&state.db).await?,
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
        .filter(echeance::Column::Status.is_in([
            EcheanceStatus::Payee.as_str(),
            EcheanceStatus::Remboursee.as_str(),
            EcheanceStatus::Contestee.as_str(),
        ]))
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

/// The CSV of every row under `filter` (`;`-separated, as French spreadsheets expect).
///
/// # Errors
/// Database failure.
pub async fn export_csv(state: &AppState, filter: &Filter) -> Result<String, ServiceError> {
    let rows = filter
        .apply(echeance::Entity::find(), true)
        .order_by_asc(echeance::Column::DueDate)
        .order_by_asc(echeance::Column::Id)
        .select_also(user::Entity)
        .all(&state.db)
        .await?;
    let mut out = String::from("\u{feff}id;libelle;client;email;montant;devise;echeance;statut;payment_intent\r\n");
    for (e, u) in rows {
        let row = row_of(e, u)?;
        let cells = [
            row.id.to_string(),
            row.label,
            row.customer_name,
            row.customer_email,
            format!("{},{:02}", row.money.amount.minor() / 100, row.money.amount.minor() % 100),
            row.money.currency.code().to_uppercase(),
            row.due_date.to_string(),
            row.status.as_str().to_owned(),
            row.payment_intent.unwrap_or_default(),
        ];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    Ok(out)
}

/// Quotes a cell when needed and defuses spreadsheet formulas.
fn csv_cell(value: &str) -> String {
    let defused =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if defused.contains([';', '"', '\n', '\r']) { format!("\"{}\"", defused.replace('"', "\"\"")) } else { defused }
}

/// Everything that happened to échéance `id`.
///
/// # Errors
/// `NotFound`, database failure.
pub async fn timeline(state: &AppState, id: i64) -> Result<Timeline, ServiceError> {
    let (e, u) = echeance::Entity::find_by_id(id)
        .find_also_related(user::Entity)
        .one(&state.db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let row = row_of(e, u)?;
    let tz = state.settings.schedule_timezone;
    let fmt = |ms: i64| from_ms(ms).with_timezone(&tz).format("%d/%m/%Y %H:%M:%S").to_string();
    let entry = |at_ms: i64, kind: &str, title: String, details: Vec<Option<String>>| TimelineEntry {
        at_ms,
        at: fmt(at_ms),
        kind: kind.to_owned(),
        title,
        detail: details.into_iter().flatten().collect::<Vec<_>>().join(" · "),
    };
    let mut entries = Vec::new();

    let attempts =
        charge_attempt::Entity::find().filter(charge_attempt::Column::EcheanceId.eq(id)).all(&state.db).await?;
    for a in &attempts {
        entries.push(entry(
            a.started_at,
            "tentative",
            format!("Tentative {} ({}) : {}", a.attempt_no, a.trigger, a.outcome),
            vec![
                a.payment_intent_id.clone().map(|p| format!("PaymentIntent {p}")),
                Some(format!("clé {}", a.idempotency_key)),
                a.error_code.clone().map(|c| format!("code {c}")),
                a.decline_code.clone().map(|c| format!("motif {c}")),
                Some(format!("{} appel(s) Stripe", a.stripe_calls)),
            ],
        ));
    }
    let pis: Vec<String> = attempts.iter().filter_map(|a| a.payment_intent_id.clone()).collect();
    if !pis.is_empty() {
        let events =
            stripe_event::Entity::find().filter(stripe_event::Column::PaymentIntentId.is_in(pis)).all(&state.db);
        for ev in events.await? {
            let title = format!("{} ({})", ev.event_type, ev.status);
            entries.push(entry(
                ev.received_at,
                "webhook",
                title,
                vec![Some(ev.stripe_event_id), ev.note, ev.last_error],
            ));
        }
    }
    for m in email_outbox::Entity::find().filter(email_outbox::Column::EcheanceId.eq(id)).all(&state.db).await? {
        let title = format!("{} ({}, {} essai(s))", m.kind, m.status, m.attempts);
        let sent = m.sent_at.map(|t| format!("envoyé le {}", fmt(t)));
        entries.push(entry(
            m.created_at,
            "e-mail",
            title,
            vec![Some(format!("à {}", m.to_address)), sent, m.last_error],
        ));
    }
    for a in audit_log::Entity::find().filter(audit_log::Column::EcheanceId.eq(id)).all(&state.db).await? {
        let title = format!("{} → {} ({})", a.from_status.as_deref().unwrap_or("—"), a.to_status, a.event);
        let details = vec![Some(format!("cause {}", a.cause)), Some(format!("par {}", a.actor)), a.detail];
        entries.push(entry(a.created_at, "audit", title, details));
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
    let status = row.status;
    Ok(Timeline {
        can_retry: status.is_payable(),
        can_cancel: status.transition(PaymentEvent::Canceled).is_ok_and(|to| to != status),
        can_resend: status == EcheanceStatus::EnAttente,
        row,
        entries,
    })
}

/// Cancels échéance `id`: a PaymentIntent waiting for 3DS is cancelled on Stripe first.
///
/// # Errors
/// `Conflict` (in flight, settled, or paid meanwhile), `Unavailable`, database failure.
pub async fn cancel(state: &AppState, id: i64, admin_id: i64) -> Result<EcheanceStatus, ServiceError> {
    let actor = format!("admin:{admin_id}");
    let row = echeance::Entity::find_by_id(id).one(&state.db).await?.ok_or(ServiceError::NotFound)?;
    let status = EcheanceStatus::parse(&row.status).map_err(|e| anyhow!(e))?;
    if status == EcheanceStatus::EnAttente {
        let attempt =
            super::record::attempt_of(&state.db, id, row.current_attempt_no).await?.ok_or(ServiceError::NotFound)?;
        if attempt.payment_intent_id.is_some() {
            let recorded = super::record::cancel_attempt(state, &attempt, Cause::Admin, &actor).await?;
            if recorded.applied.is_some_and(|a| a.to == EcheanceStatus::Payee) {
                return Err(ServiceError::Conflict(
                    "Le client vient de payer cette échéance : elle n'a pas été annulée.".to_owned(),
                ));
            }
            if recorded.outcome != crate::domain::AttemptOutcome::Canceled {
                return Err(ServiceError::Conflict(
                    "Stripe n'a pas annulé le paiement en attente ; l'échéance n'a pas été annulée. Réessayez."
                        .to_owned(),
                ));
            }
        }
    }
    let txn = db::begin_write(&state.db).await?;
    let applied = transitions::apply(
        state,
        &txn,
        id,
        PaymentEvent::Canceled,
        Cause::Admin,
        &actor,
        Some("annulation depuis le tableau de bord".to_owned()),
    )
    .await?;
    txn.commit().await?;
    match applied.refused {
        Some(refused) => Err(ServiceError::Conflict(format!("Annulation impossible : {refused}."))),
        None => Ok(applied.to),
    }
}

/// Queues the 3D Secure email again for an échéance waiting for its customer.
///
/// # Errors
/// `Conflict` when it is not waiting, database failure.
pub async fn resend_authentication_email(state: &AppState, id: i64) -> Result<(), ServiceError> {
    let row = echeance::Entity::find_by_id(id).one(&state.db).await?.ok_or(ServiceError::NotFound)?;
    if row.status != EcheanceStatus::EnAttente.as_str() {
        return Err(ServiceError::Conflict("Cette échéance n'attend pas d'authentification.".to_owned()));
    }
    let attempt =
        super::record::attempt_of(&state.db, id, row.current_attempt_no).await?.ok_or(ServiceError::NotFound)?;
    let pi = attempt
        .payment_intent_id
        .clone()
        .ok_or_else(|| ServiceError::Conflict("Aucun paiement à authentifier.".to_owned()))?;
    let customer = user::Entity::find_by_id(row.user_id).one(&state.db).await?.ok_or(ServiceError::NotFound)?;
    let locale = Locale::from_code(&customer.locale);
    let now = state.now_ms();
    let expires_ms = attempt.token_expires_at.filter(|t| *t > now).ok_or_else(|| {
        ServiceError::Conflict("Le lien a expiré ; la prochaine tentative en créera un nouveau.".to_owned())
    })?;
    let mut context = super::effects::email_context(state, &row, &customer, locale)?;
    super::effects::add_recovery_link(state, &mut context, &pi, expires_ms, locale);
    let resends = email_outbox::Entity::find()
        .filter(email_outbox::Column::EcheanceId.eq(id))
        .filter(email_outbox::Column::Kind.eq(EmailKind::AuthenticationRequired.as_str()))
        .count(&state.db)
        .await?;
    let kind = EmailKind::AuthenticationRequired;
    let dedup_key = format!("{}:e{id}:a{}:resend{resends}", kind.as_str(), attempt.attempt_no);
    let email = NewEmail { send_after: now, ..NewEmail::about(&row, &customer, kind, dedup_key, context) };
    outbox::enqueue(&state.db, email, now).await?;
    state.wake.outbox.notify_one();
    Ok(())
}

/// A stored report, for the page.
///
/// # Errors
/// A stored report that does not parse.
pub fn report_view(
    state: &AppState,
    row: &crate::ssr::entities::reconcile_report::Model,
    drift: Vec<reconcile::Drift>,
) -> Result<ReportView, ServiceError> {
    let tz = state.settings.schedule_timezone;
    Ok(ReportView {
        id: row.id,
        trigger: row.trigger.clone(),
        dry_run: row.dry_run,
        started_at: from_ms(row.started_at).with_timezone(&tz).format("%d/%m/%Y %H:%M:%S").to_string(),
        checked: row.checked,
        fixed: row.fixed,
        unchanged: row.unchanged,
        errors: row.errors,
        stripe_calls: row.stripe_calls,
        events_replayed: row.events_replayed,
        drift: drift
            .into_iter()
            .map(|d| DriftView {
                echeance_id: d.echeance_id,
                local: d.local,
                stripe: d.stripe,
                resolved: d.resolved,
                fixed: d.fixed,
            })
            .collect(),
        error_messages: serde_json::from_str(&row.error_messages).map_err(|e| anyhow!(e))?,
    })
}

/// The latest report, if any.
///
/// # Errors
/// Database failure.
pub async fn last_report(state: &AppState) -> Result<Option<ReportView>, ServiceError> {
    match reconcile::latest(state).await? {
        Some((row, drift)) => Ok(Some(report_view(state, &row, drift)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("Alice"), "Alice");
        assert_eq!(csv_cell("a;b"), "\"a;b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-5"), "'-5");
    }

    #[test]
    fn filters_parse_or_name_the_bad_field() {
        let ok = Filter::parse(&AdminFilter {
            amount_min: Some("12,5".into()),
            due_from: Some("2026-01-01".into()),
            ..Default::default()
        });
        assert!(ok.is_ok());
        let bad = Filter::parse(&AdminFilter { due_from: Some("01/01/2026".into()), ..Default::default() });
        assert!(matches!(bad, Err(ServiceError::Validation(m)) if m.contains("début")));
        let bad = Filter::parse(&AdminFilter { status: Some("paid".into()), ..Default::default() });
        assert!(matches!(bad, Err(ServiceError::Validation(_))));
        let inverted = Filter::parse(&AdminFilter {
            due_from: Some("2026-02-01".into()),
            due_to: Some("2026-01-01".into()),
            ..Default::default()
        });
        assert!(inverted.is_err());
    }
}
