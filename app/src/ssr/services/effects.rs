//! What a status change causes, written in the same transaction: the emails of
//! an échéance's change and of a plan's, and the variables they share (the
//! card, what a plan still has to collect).

use anyhow::anyhow;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};
use secrecy::ExposeSecret;

use super::change::{EcheanceChange, PlanChange};
use super::error::ServiceError;
use super::links::{self, Purpose};
use crate::domain::{DeclineReason, EcheanceStatus, EmailKind, KeyMode, Locale, RecoveryToken, Role};
use crate::ssr::clock::from_ms;
use crate::ssr::email::outbox::{self, NewEmail};
use crate::ssr::entities::{charge_attempt, echeance, payment_method, payment_plan, user};
use crate::ssr::repo::{attempts, echeances};
use crate::ssr::state::AppState;
use crate::ui::i18n::{Texts, decline_reason_text};

/// Queues the emails a transition causes.
///
/// # Errors
/// Database failure, or a row that does not parse.
pub async fn after_transition(
    state: &AppState,
    txn: &DatabaseTransaction,
    change: &EcheanceChange<'_>,
) -> Result<(), ServiceError> {
    let &EcheanceChange { row: echeance, from, at: now } = change;
    let to = echeance.status;
    let Some(kind) = EmailKind::caused_by(from, to) else {
        return Ok(());
    };
    let echeance_id = echeances::id(echeance)?;
    let customer = user::Entity::find_by_id(echeance.user_id).one(txn).await?.ok_or(ServiceError::NotFound)?;
    let locale = Locale::from_code(&customer.locale);
    let mut context = email_context(state, echeance, &customer, locale)?;
    let attempt_no = echeance.current_attempt_no;

    if kind == EmailKind::AuthenticationRequired {
        let attempt = attempts::of(txn, echeance.id, attempt_no)
            .await?
            .ok_or_else(|| anyhow!("échéance {} is waiting without its attempt", echeance.id))?;
        let Some(pi) = attempt.payment_intent_id.clone() else {
            // Without a PaymentIntent there is nothing to authenticate yet; the
            // reconciler links it and the next transition queues the email.
            tracing::warn!(echeance.id = echeance.id, "waiting for 3DS without a known PaymentIntent");
            return Ok(());
        };
        let ttl_ms = i64::try_from(state.settings.recovery_link_ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_ms = attempt.token_expires_at.unwrap_or(now.saturating_add(ttl_ms));
        if attempt.token_expires_at.is_none() {
            let mut active: charge_attempt::ActiveModel = attempt.clone().into();
            active.token_expires_at = Set(Some(expires_ms));
            active.updated_at = Set(now);
            active.update(txn).await?;
        }
        add_recovery_link(state, &mut context, &pi, expires_ms, locale);
        let reminder_after = i64::try_from(state.settings.recovery_reminder_after.as_millis()).unwrap_or(i64::MAX);
        if reminder_after < ttl_ms {
            let dedup_key = EmailKind::Reminder.dedup_key(echeance_id, attempt_no);
            let reminder = NewEmail::about(echeance, &customer, EmailKind::Reminder, dedup_key, context.clone());
            outbox::enqueue(txn, NewEmail { send_after: now.saturating_add(reminder_after), ..reminder }, now).await?;
        }
    }

    if kind == EmailKind::PaymentReceived {
        // The card that paid, only: a payment made elsewhere (the original site's Checkout)
        // names none rather than the saved card.
        let attempt = attempts::of(txn, echeance.id, attempt_no).await?;
        let used = attempt.map(|a| a.payment_method_id).filter(|pm| !pm.is_empty());
        context["card"] = serde_json::json!("");
        if let Some(used) = used {
            add_card(txn, &mut context, customer.id, Some(&used), None).await?;
        }
        add_what_remains(txn, &mut context, echeance, state.today(), locale).await?;
    }

    if kind == EmailKind::PaymentFailed {
        // Why, in words the customer can act on, and a link that logs them in to pay now or replace the card.
        let attempt = attempts::of(txn, echeance.id, attempt_no).await?;
        let reason = DeclineReason::of(
            attempt.as_ref().and_then(|a| a.error_code.as_deref()),
            attempt.as_ref().and_then(|a| a.decline_code.as_deref()),
        );
        context["reason"] = serde_json::json!(decline_reason_text(reason, Texts::of(locale)));
        context["link"] = serde_json::json!(links::issue(state, txn, &customer, Purpose::PayNow, false, now).await?);
        context["retry_on"] = serde_json::json!(
            echeance
                .next_retry_at
                .filter(|_| to == EcheanceStatus::Echouee)
                .map(|at| {
                    let day =
                        super::schedule::due_run_day(state, from_ms(at)).unwrap_or_else(|| state.local(at).date());
                    locale.format_date(day)
                })
                .unwrap_or_default()
        );
    }

    let dedup_key = kind.dedup_key(echeance_id, attempt_no);
    outbox::enqueue(
        txn,
        NewEmail { send_after: now, ..NewEmail::about(echeance, &customer, kind, dedup_key, context) },
        now,
    )
    .await?;
    state.wake.outbox.notify_one();
    Ok(())
}

/// Adds the 3DS link (`{APP_BASE_URL}/payment/authenticate/{pi}?token=…`) and
/// its expiry date to an email's variables.
pub fn add_recovery_link(
    state: &AppState,
    context: &mut serde_json::Value,
    payment_intent: &str,
    expires_ms: i64,
    locale: Locale,
) {
    let token =
        RecoveryToken::sign(state.settings.app_secret.expose_secret().as_bytes(), payment_intent, expires_ms / 1000);
    let base = state.settings.app_base_url.as_str().trim_end_matches('/');
    let link = format!("{base}/payment/authenticate/{payment_intent}?token={}", token.as_str());
    context["link"] = serde_json::Value::String(crate::ui::i18n::in_language(&link, locale));
    context["expires_on"] = serde_json::Value::String(crate::ui::i18n::format_moment(state.local(expires_ms), locale));
}

/// The admins an admins' email goes to: every one who can log in.
///
/// # Errors
/// Database failure.
pub async fn admins_to_tell(db: &impl ConnectionTrait) -> Result<Vec<user::Model>, ServiceError> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::PasswordHash.ne(""))
        .all(db)
        .await?)
}

/// Queues the emails a plan's status change causes — its customer's, and each admin's who
/// can log in — in the transaction of the change.
/// The site's address is added when they are rendered.
///
/// # Errors
/// Database failure, or a row whose amount or currency does not parse.
pub async fn plan_changed(txn: &DatabaseTransaction, change: &PlanChange<'_>) -> Result<(), ServiceError> {
    let &PlanChange { row: plan, from, at: now } = change;
    let kinds = EmailKind::caused_by_plan(from, plan.status);
    if kinds.is_empty() {
        return Ok(());
    }
    let customer = user::Entity::find_by_id(plan.customer_id).one(txn).await?.ok_or(ServiceError::NotFound)?;
    let rows = echeance::Entity::find()
        .filter(echeance::Column::PaymentPlanId.eq(plan.id))
        .order_by_asc(echeance::Column::Seq)
        .all(txn)
        .await?;
    for &kind in kinds {
        let readers = if kind.to_admins() { admins_to_tell(txn).await? } else { vec![customer.clone()] };
        for reader in readers {
            let locale = Locale::from_code(&reader.locale);
            // An email that cannot be worded is logged, never a reason to undo the plan's change
            // (and the payment recorded with it).
            let mut context = match plan_context(plan, &customer, &rows, locale) {
                Ok(context) => context,
                Err(e) => {
                    tracing::error!(plan.id = plan.id, email = kind.as_str(), error = %e, "plan email not queued");
                    continue;
                }
            };
            context["reader_name"] = serde_json::Value::String(reader.display_name.clone());
            add_card(txn, &mut context, customer.id, None, plan.mode).await?;
            let admin = kind.to_admins().then_some(reader.id);
            let key = kind.plan_key(plan.id, plan.version, admin);
            let email = NewEmail::about_plan(plan.id, &reader, locale, (kind, key), context, now);
            outbox::enqueue(txn, email, now).await?;
        }
    }
    Ok(())
}

/// What every email about a plan can use: its label, total, count, each échéance (date,
/// amount, paid), what was paid (`paid_count`, `paid_total`: a plan whose last échéances
/// were cancelled is over with less than its total), and the échéance that failed for good
/// (empty strings when none). These are exactly the variables of the plan emails' previews.
fn plan_context(
    plan: &payment_plan::Model,
    customer: &user::Model,
    rows: &[echeance::Model],
    locale: Locale,
) -> Result<serde_json::Value, ServiceError> {
    let currency = crate::domain::Currency::parse(&plan.currency).map_err(anyhow::Error::from)?;
    let echeances: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "due_date": locale.format_date(row.due_date),
                "amount": currency.format_minor(row.amount_cents, locale),
                "paid": row.status.was_collected(),
            })
        })
        .collect();
    let paid: Vec<&echeance::Model> = rows.iter().filter(|r| r.status.was_collected()).collect();
    let failed = rows.iter().find(|r| r.status == EcheanceStatus::EchoueeDefinitive);
    Ok(serde_json::json!({
        "plan_id": plan.id,
        "label": plan.label,
        "customer_name": customer.display_name,
        "total": currency.format_minor(plan.total_cents, locale),
        "count": rows.len(),
        "echeances": echeances,
        "paid_count": paid.len(),
        "paid_total": currency.format_minor(paid.iter().map(|r| r.amount_cents).sum(), locale),
        "failed_due_date": failed.map(|f| locale.format_date(f.due_date)).unwrap_or_default(),
        "failed_amount": failed.map(|f| currency.format_minor(f.amount_cents, locale)).unwrap_or_default(),
    }))
}

/// Adds `card` (« Visa •••• 4242 »): the card `used` (a Stripe PaymentMethod id) when one is
/// named, else the customer's default card the keys of `mode` can charge; an empty string when
/// there is none (or the mode is not known yet).
///
/// # Errors
/// Database failure.
pub async fn add_card(
    db: &impl ConnectionTrait,
    context: &mut serde_json::Value,
    customer: i64,
    used: Option<&str>,
    mode: Option<KeyMode>,
) -> Result<(), ServiceError> {
    // Always set (templates are strict about undefined variables): empty when there is no card.
    context["card"] = serde_json::Value::String(card_label(db, customer, used, mode).await?.unwrap_or_default());
    Ok(())
}

/// « Visa •••• 4242 »: the card `used` (a Stripe PaymentMethod id) when one is named, else
/// the customer's default card the keys of `mode` can charge (none when the mode is not known).
///
/// # Errors
/// Database failure.
pub async fn card_label(
    db: &impl ConnectionTrait,
    customer: i64,
    used: Option<&str>,
    mode: Option<KeyMode>,
) -> Result<Option<String>, ServiceError> {
    let card = match used {
        Some(pm) => {
            payment_method::Entity::find()
                .filter(payment_method::Column::UserId.eq(customer))
                .filter(payment_method::Column::StripePaymentMethodId.eq(pm))
                .one(db)
                .await?
        }
        // The card the due-date run would charge.
        None => match mode {
            Some(mode) => super::cards::usable(mode, customer).one(db).await?,
            None => None,
        },
    };
    Ok(card.map(|c| format!("{} •••• {}", brand_name(&c.brand), c.last4)))
}

/// « visa » → « Visa », « american_express » → « American Express ».
fn brand_name(brand: &str) -> String {
    brand
        .split(['_', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Adds, for an échéance of a plan (`in_plan`), what is still to collect after it:
/// `remaining` (the sum), `remaining_count` and `next_due_date` (the first still to collect
/// from `today` on, else the earliest overdue one; null when the plan is settled);
/// `portal_url`. Every variable is set, null when it does not apply.
///
/// # Errors
/// Database failure, or a row whose amount or currency does not parse.
pub async fn add_what_remains(
    db: &impl ConnectionTrait,
    context: &mut serde_json::Value,
    echeance: &echeance::Model,
    today: chrono::NaiveDate,
    locale: Locale,
) -> Result<(), ServiceError> {
    context["portal_url"] = context["site_url"].clone();
    context["in_plan"] = serde_json::json!(echeance.payment_plan_id.is_some());
    context["remaining"] = serde_json::Value::Null;
    context["remaining_count"] = serde_json::json!(0);
    context["next_due_date"] = serde_json::Value::Null;
    let Some(plan) = echeance.payment_plan_id else {
        return Ok(());
    };
    let others = echeance::Entity::find()
        .filter(echeance::Column::PaymentPlanId.eq(plan))
        .filter(echeance::Column::Id.ne(echeance.id))
        .order_by_asc(echeance::Column::DueDate)
        .all(db)
        .await?;
    let to_collect: Vec<&echeance::Model> =
        others.iter().filter(|e| !e.status.was_collected() && e.status != EcheanceStatus::Annulee).collect();
    context["remaining_count"] = serde_json::json!(to_collect.len());
    let Some(first) = to_collect.first() else {
        return Ok(());
    };
    let next = to_collect.iter().find(|e| e.due_date >= today).unwrap_or(first);
    let cents: i64 = to_collect.iter().map(|e| e.amount_cents).sum();
    let currency = echeances::money(first)?.currency;
    context["remaining"] = serde_json::Value::String(currency.format_minor(cents, locale));
    context["next_due_date"] = serde_json::Value::String(locale.format_date(next.due_date));
    Ok(())
}

/// The variables every email about an échéance can use.
///
/// # Errors
/// The row's amount or currency does not parse.
pub fn email_context(
    state: &AppState,
    echeance: &echeance::Model,
    customer: &user::Model,
    locale: Locale,
) -> Result<serde_json::Value, ServiceError> {
    let money = echeances::money(echeance)?;
    Ok(serde_json::json!({
        "customer_name": customer.display_name,
        "echeance_id": echeance.id,
        "label": echeance.label,
        "amount": money.format(locale),
        "due_date": locale.format_date(echeance.due_date),
        "site_url": state.settings.app_base_url.as_str(),
    }))
}
