//! What a status change causes, written in the same transaction: the emails.

use anyhow::anyhow;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, EntityTrait};
use secrecy::ExposeSecret;

use super::error::ServiceError;
use crate::domain::{EcheanceStatus, EmailKind, Locale, RecoveryToken};
use crate::ssr::clock::from_ms;
use crate::ssr::email::outbox::{self, NewEmail};
use crate::ssr::entities::{charge_attempt, echeance, user};
use crate::ssr::repo::{attempts, echeances};
use crate::ssr::state::AppState;

/// Queues the emails a transition causes.
///
/// # Errors
/// Database failure, or a row that does not parse.
pub async fn after_transition(
    state: &AppState,
    txn: &DatabaseTransaction,
    echeance: &echeance::Model,
    from: EcheanceStatus,
    to: EcheanceStatus,
) -> Result<(), ServiceError> {
    let Some(kind) = EmailKind::caused_by(from, to) else {
        return Ok(());
    };
    let echeance_id = echeances::id(echeance)?;
    let customer = user::Entity::find_by_id(echeance.user_id).one(txn).await?.ok_or(ServiceError::NotFound)?;
    let locale = Locale::from_code(&customer.locale);
    let now = state.now_ms();
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
    context["link"] =
        serde_json::Value::String(format!("{base}/payment/authenticate/{payment_intent}?token={}", token.as_str()));
    context["expires_on"] = serde_json::Value::String(locale.format_date(from_ms(expires_ms).date_naive()));
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
