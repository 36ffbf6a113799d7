//! The original site's Checkout Sessions (webhook, reconciler, and a charge
//! about to start): paid → payée; expired → payable again while the new flow
//! has made no attempt; still open when a charge starts → expired first; paid
//! another amount than the échéance's → not paid, nothing charged over it,
//! drift for an admin.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::dispatch::Applied;
use crate::domain::legacy::checkout_session_event;
use crate::domain::{EcheanceStatus, IdempotencyKey, PaymentEvent, Refusal};
use crate::ssr::db;
use crate::ssr::entities::echeance;
use crate::ssr::payments::types::{CheckoutSessionSnapshot, PaymentIntentStatus};
use crate::ssr::repo::echeances;
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::transitions::{self, Cause};
use crate::ssr::state::AppState;

/// Applies a legacy Checkout Session (webhook, reconciler, or a charge about
/// to start): paid → payée; expired → payable again, and no longer linked to
/// it, so the schedule and « Payer » may collect it (an expired session can
/// never collect).
///
/// # Errors
/// Database failure.
pub(super) async fn apply_session(
    state: &AppState,
    session: &CheckoutSessionSnapshot,
    cause: Cause,
    actor: &str,
    closed: Closed,
) -> Result<Applied, ServiceError> {
    let by_session = echeance::Entity::find()
        .filter(echeance::Column::CheckoutSessionId.eq(session.id.as_str()))
        .one(&state.db)
        .await?;
    let Some(echeance) = by_session else {
        return Ok(Applied::Ignored(format!("session-unlinked session={}", session.id)));
    };
    let expired = match closed {
        Closed::IfExpired => session.is_expired(),
        Closed::Unpaid => !session.is_paid(),
    };
    let txn = db::begin_write(&state.db).await?;
    // Decided on the row as it is under the lock: « Payer » may have unlinked the session and
    // started an attempt since the read above (an old expiry must not reset a live charge).
    let echeance = echeances::lock(&txn, echeances::id(&echeance)?).await?;
    if echeance.checkout_session_id.as_deref() != Some(session.id.as_str()) {
        return Ok(Applied::Ignored(format!("session-unlinked session={}", session.id)));
    }
    if other_amount(session, &echeance) {
        tracing::error!(
            echeance.id = echeance.id,
            checkout_session = session.id.as_str(),
            stripe.amount = session.amount_total,
            stripe.currency = session.currency.as_deref(),
            amount = echeance.amount_cents,
            "a Checkout Session collected another amount than its échéance's: not recorded as paid; review"
        );
        return Ok(Applied::Ignored(format!("session-other-amount session={}", session.id)));
    }
    let event = session_event(session, &echeance)
        .or_else(|| (expired && echeance.current_attempt_no == 0).then_some(PaymentEvent::Abandoned));
    if event.is_none() && !expired {
        return Ok(Applied::Ignored(format!("session-not-paid session={}", session.id)));
    }
    if event == Some(PaymentEvent::Succeeded)
        && echeance.current_attempt_no == 0
        && let Some(pi) = &session.payment_intent
    {
        // Refunds and disputes of the legacy payment find their échéance by its PaymentIntent.
        echeance::Entity::update_many()
            .col_expr(echeance::Column::CurrentPaymentIntentId, Expr::value(pi.id().to_owned()))
            .filter(echeance::Column::Id.eq(echeance.id))
            .filter(echeance::Column::CurrentPaymentIntentId.is_null())
            .exec(&txn)
            .await?;
    }
    if expired {
        echeance::Entity::update_many()
            .col_expr(echeance::Column::CheckoutSessionId, Expr::value(Option::<String>::None))
            .filter(echeance::Column::Id.eq(echeance.id))
            .exec(&txn)
            .await?;
    }
    let detail = format!("checkout_session={}", session.id);
    let (done, changed) = match event {
        Some(event) => {
            let applied =
                transitions::apply(state, &txn, echeances::id(&echeance)?, event, cause, actor, Some(detail.clone()))
                    .await?;
            if event == PaymentEvent::Succeeded && applied.refused.is_some() && !applied.from.was_collected() {
                tracing::error!(
                    echeance.id = echeance.id,
                    status = applied.from.as_str(),
                    checkout_session = session.id.as_str(),
                    "a Checkout Session collected money for an échéance that is closed here: drift to review"
                );
            }
            (format!("{} -> {}", applied.from, applied.to), applied.changed())
        }
        None => (format!("unlinked {detail}"), false),
    };
    if expired && !changed {
        // Let go with its status unchanged: said on the échéance's timeline all the same.
        let why = format!("{detail} {}: unlinked", session.status_words());
        transitions::note(&txn, &echeance, "LegacySessionClosed", cause, actor, why, state.now_ms()).await?;
    }
    txn.commit().await?;
    Ok(Applied::Done(Some(done)))
}

/// Whether the session can no longer collect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    /// When Stripe says it expired (its object alone tells).
    IfExpired,
    /// It will never be paid (`checkout.session.async_payment_failed`: complete and unpaid,
    /// which the object alone cannot tell from a payment still processing).
    Unpaid,
}

/// Where an échéance's legacy Checkout Session stands once it can no longer collect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Legacy {
    /// No session any more: it never collected (or there was none).
    Free,
    /// It collected the échéance: payée, nothing to charge.
    Collected,
    /// It collected another amount or currency than the échéance's: not the échéance paid,
    /// and nothing is charged over it (it could be most of the money) until an admin has
    /// looked; still linked, reported as drift. A cancel may go on: it moves no money.
    OtherAmount,
}

/// Before a charge (or a cancel) of an échéance still linked to a legacy
/// Checkout Session: a session still open is expired on Stripe first (it could
/// collect a second time within its 24 hours), then what Stripe says is applied.
///
/// # Errors
/// `Unavailable` when Stripe does not answer (nothing is charged), the refusal
/// `LegacyPaymentPending` while the session's payment is being processed.
pub async fn close_before_charge(
    state: &AppState,
    echeance: &echeance::Model,
    cause: Cause,
    actor: &str,
) -> Result<Legacy, ServiceError> {
    let Some(session_id) = echeance.checkout_session_id.as_deref() else {
        return Ok(Legacy::Free);
    };
    let mut session = state.gateway.retrieve_checkout_session(session_id).await?;
    if session.is_open() {
        let key = IdempotencyKey::for_session_expiry(&state.key_scope, echeances::id(echeance)?, session_id);
        session = match state.gateway.expire_checkout_session(session_id, &key).await {
            Ok(expired) => expired,
            // Refused: it completed meanwhile. Read where it stands.
            Err(e) if !e.outcome_unknown() => state.gateway.retrieve_checkout_session(session_id).await?,
            // A 5xx Stripe may have saved for the key (replayed for a day), the expiry perhaps
            // done: read where it stands; still open, it is asked once more under a key derived
            // from the first, and a second 5xx leaves it to retry.
            Err(e) if e.is_server_error() => {
                let read = state.gateway.retrieve_checkout_session(session_id).await?;
                if !read.is_open() {
                    read
                } else {
                    let again = key.derived("after-server-error").map_err(anyhow::Error::from)?;
                    match state.gateway.expire_checkout_session(session_id, &again).await {
                        Ok(expired) => expired,
                        Err(refused) if !refused.outcome_unknown() => {
                            state.gateway.retrieve_checkout_session(session_id).await?
                        }
                        Err(_) => return Err(e.into()),
                    }
                }
            }
            Err(e) => return Err(e.into()),
        };
    }
    let closed = closed_for_good(state, &session).await?;
    apply_session(state, &session, cause, actor, closed).await?;
    let now = echeances::get(&state.db, echeances::id(echeance)?).await?;
    if now.status == EcheanceStatus::Payee {
        return Ok(Legacy::Collected);
    }
    if now.checkout_session_id.as_deref() == Some(session.id.as_str()) && other_amount(&session, &now) {
        return Ok(Legacy::OtherAmount);
    }
    if now.checkout_session_id.is_some() {
        return Err(Refusal::LegacyPaymentPending.into());
    }
    Ok(Legacy::Free)
}

/// Whether a session complete but unpaid will never pay: its delayed payment
/// failed (its PaymentIntent is back to `requires_payment_method`, or
/// cancelled) — what `checkout.session.async_payment_failed` says, read from
/// Stripe when that webhook never came.
///
/// # Errors
/// `Unavailable` when Stripe does not answer.
pub async fn closed_for_good(state: &AppState, session: &CheckoutSessionSnapshot) -> Result<Closed, ServiceError> {
    let Some(pi) = session.payment_intent.as_ref().filter(|_| session.is_complete_unpaid()) else {
        return Ok(Closed::IfExpired);
    };
    let pi = state.gateway.retrieve_payment_intent(pi.id()).await?;
    Ok(match pi.status() {
        PaymentIntentStatus::RequiresPaymentMethod | PaymentIntentStatus::Canceled => Closed::Unpaid,
        _ => Closed::IfExpired,
    })
}

/// Whether the session's payment is being processed: complete, unpaid, and its delayed
/// payment not failed ([`closed_for_good`]) — it may yet collect.
///
/// # Errors
/// `Unavailable` when Stripe does not answer.
pub async fn payment_processing(state: &AppState, session: &CheckoutSessionSnapshot) -> Result<bool, ServiceError> {
    Ok(session.is_complete_unpaid() && closed_for_good(state, session).await? == Closed::IfExpired)
}

/// What a session says of its échéance (see [`checkout_session_event`]): paid is the
/// échéance paid only for its amount and currency ([`other_amount`]).
#[must_use]
pub fn session_event(session: &CheckoutSessionSnapshot, echeance: &echeance::Model) -> Option<PaymentEvent> {
    checkout_session_event(session.status.as_deref(), session.payment_status.as_deref(), echeance.current_attempt_no)
        .filter(|event| *event != PaymentEvent::Succeeded || !other_amount(session, echeance))
}

/// Whether the session collected another amount or currency than the échéance's (or does not
/// say what it collected): drift to review, not the échéance paid.
#[must_use]
pub fn other_amount(session: &CheckoutSessionSnapshot, echeance: &echeance::Model) -> bool {
    session.is_paid() && !session.is_for(echeance.amount_cents, &echeance.currency)
}

/// The reconciler's entry for legacy sessions: what Stripe says now.
///
/// # Errors
/// Database failure.
pub async fn reconcile_checkout_session(
    state: &AppState,
    session: &CheckoutSessionSnapshot,
    closed: Closed,
) -> Result<bool, ServiceError> {
    let applied = apply_session(
        state,
        session,
        Cause::Reconciler,
        &crate::domain::Actor::System(crate::domain::SystemJob::Reconciler).stored(),
        closed,
    )
    .await?;
    Ok(matches!(applied, Applied::Done(_)))
}
