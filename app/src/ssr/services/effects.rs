//! What a status change causes, written in the same transaction: the emails.

use anyhow::anyhow;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use secrecy::ExposeSecret;

use super::error::ServiceError;
use crate::domain::{Amount, Currency, EcheanceStatus, EmailKind, Locale, Money, RecoveryToken};
use crate::ssr::email::outbox::{self, NewEmail};
use crate::ssr::entities::{charge_attempt, echeance, user};
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
    let kind = match (from, to) {
        (_, EcheanceStatus::EnAttente) => EmailKind::AuthenticationRequired,
        (_, EcheanceStatus::Payee) => EmailKind::PaymentReceived,
        (
            EcheanceStatus::EnCours | EcheanceStatus::EnAttente,
            EcheanceStatus::Echouee | EcheanceStatus::EchoueeDefinitive,
        ) => EmailKind::PaymentFailed,
        _ => return Ok(()),
    };
    let customer = user::Entity::find_by_id(echeance.user_id)
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let locale = Locale::from_code(&customer.locale);
    let now = state.now_ms();
    let mut context = email_context(state, echeance, &customer, locale)?;
    let attempt_no = echeance.current_attempt_no;

    if kind == EmailKind::AuthenticationRequired {
        let attempt = charge_attempt::Entity::find()
            .filter(charge_attempt::Column::EcheanceId.eq(echeance.id))
            .filter(charge_attempt::Column::AttemptNo.eq(attempt_no))
            .one(txn)
            .await?
            .ok_or_else(|| anyhow!("échéance {} is waiting without its attempt", echeance.id))?;
        let Some(pi) = attempt.payment_intent_id.clone() else {
            // Without a PaymentIntent there is nothing to authenticate yet; the
            // reconciler links it and the next transition queues the email.
            tracing::warn!(
                echeance.id = echeance.id,
                "waiting for 3DS without a known PaymentIntent"
            );
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
        let link = recovery_link(state, &pi, expires_ms / 1000);
        context["link"] = serde_json::Value::String(link);
        context["expires_on"] =
            serde_json::Value::String(locale.format_date(crate::ssr::clock::from_ms(expires_ms).date_naive()));
        let reminder_after = i64::try_from(state.settings.recovery_reminder_after.as_millis()).unwrap_or(i64::MAX);
        if reminder_after < ttl_ms {
            outbox::enqueue(
                txn,
                NewEmail {
                    dedup_key: format!("{}:e{}:a{attempt_no}", EmailKind::Reminder.as_str(), echeance.id),
                    kind: EmailKind::Reminder,
                    locale,
                    to: customer.email.clone(),
                    user_id: Some(customer.id),
                    echeance_id: Some(echeance.id),
                    context: context.clone(),
                    send_after: now.saturating_add(reminder_after),
                },
                now,
            )
            .await?;
        }
    }

    let dedup_key = match kind {
        EmailKind::PaymentReceived => format!("{}:e{}", kind.as_str(), echeance.id),
        _ => format!("{}:e{}:a{attempt_no}", kind.as_str(), echeance.id),
    };
    outbox::enqueue(
        txn,
        NewEmail {
            dedup_key,
            kind,
            locale,
            to: customer.email.clone(),
            user_id: Some(customer.id),
            echeance_id: Some(echeance.id),
            context,
            send_after: now,
        },
        now,
    )
    .await?;
    state.wake.outbox.notify_one();
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
    let money = Money {
        amount: Amount::from_minor(echeance.amount_cents).map_err(|e| anyhow!(e))?,
        currency: Currency::parse(&echeance.currency).map_err(|e| anyhow!(e))?,
    };
    Ok(serde_json::json!({
        "customer_name": customer.display_name,
        "echeance_id": echeance.id,
        "label": echeance.label,
        "amount": money.format(locale),
        "due_date": locale.format_date(echeance.due_date),
        "site_url": state.settings.app_base_url.as_str(),
    }))
}

/// `{APP_BASE_URL}/payment/authenticate/{pi}?token=…`.
#[must_use]
pub fn recovery_link(state: &AppState, payment_intent: &str, expires_unix: i64) -> String {
    let token = RecoveryToken::sign(
        state.settings.app_secret.expose_secret().as_bytes(),
        payment_intent,
        expires_unix,
    );
    let base = state.settings.app_base_url.as_str().trim_end_matches('/');
    format!("{base}/payment/authenticate/{payment_intent}?token={}", token.as_str())
}
