//! Recording what Stripe says about an attempt: the attempt row, then the
//! échéance through [`super::transitions::apply`], in one transaction. Used by
//! the charge, the webhook worker, the 3DS confirmation and the reconciler.

use anyhow::anyhow;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::error::ServiceError;
use super::transitions::{self, Applied, Cause};
use crate::domain::{AttemptNo, AttemptOutcome, EcheanceId, EcheanceStatus, IdempotencyKey, KeyPurpose, PaymentEvent};
use crate::ssr::db;
use crate::ssr::entities::{charge_attempt, echeance};
use crate::ssr::payments::types::{PaymentIntentSnapshot, StripeErrorDetail};
use crate::ssr::state::AppState;

/// What Stripe said, in one of its shapes (a PaymentIntent, or a card error with or without one).
#[derive(Clone, Debug, Default)]
pub struct StripeReport {
    /// The PaymentIntent, when known.
    pub payment_intent: Option<PaymentIntentSnapshot>,
    /// What it means for the échéance; `None`: nothing definitive yet.
    pub event: Option<PaymentEvent>,
    /// The error Stripe gave, if any.
    pub error: Option<StripeErrorDetail>,
}

impl StripeReport {
    /// From a PaymentIntent (a 2xx answer, a webhook, a retrieve, a list).
    #[must_use]
    pub fn from_payment_intent(pi: PaymentIntentSnapshot) -> Self {
        Self { event: pi.payment_event(), error: pi.last_payment_error.clone(), payment_intent: Some(pi) }
    }

    /// From a 402 card error: an SCA demand (Stripe's shape) or a decline.
    #[must_use]
    pub fn from_card_error(detail: StripeErrorDetail, pi: Option<PaymentIntentSnapshot>) -> Self {
        Self { event: Some(PaymentEvent::from(&detail)), error: Some(detail), payment_intent: pi }
    }

    fn outcome(&self) -> AttemptOutcome {
        match self.event {
            Some(PaymentEvent::Succeeded) => AttemptOutcome::Succeeded,
            Some(PaymentEvent::Processing) => AttemptOutcome::Processing,
            Some(PaymentEvent::AuthenticationRequired | PaymentEvent::AuthenticationFailed) => {
                AttemptOutcome::RequiresAction
            }
            Some(PaymentEvent::Declined { .. }) => AttemptOutcome::Declined,
            Some(PaymentEvent::Abandoned) => AttemptOutcome::Canceled,
            Some(
                PaymentEvent::ChargeStarted
                | PaymentEvent::Canceled
                | PaymentEvent::Refunded { .. }
                | PaymentEvent::DisputeOpened,
            )
            | None => AttemptOutcome::Unknown,
        }
    }
}

/// The result of recording a report.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The échéance transition (or why none).
    pub applied: Option<Applied>,
    /// The attempt's outcome now.
    pub outcome: AttemptOutcome,
}

const RECHECK_PROCESSING_MS: i64 = 5 * 60 * 1000;

/// Writes `report` onto attempt `attempt_id` and moves its échéance.
///
/// Attempt outcomes only move forward: a final outcome is not replaced by a
/// stale one, except by a success (the money is there). Events about an
/// attempt that is no longer the échéance's current one only change the
/// échéance when they report a success.
///
/// # Errors
/// Database failure.
#[tracing::instrument(skip(state, report), fields(attempt.id = attempt_id, cause = cause.as_str()))]
pub async fn record(
    state: &AppState,
    attempt_id: i64,
    report: StripeReport,
    cause: Cause,
    actor: &str,
) -> Result<Recorded, ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let attempt = charge_attempt::Entity::find_by_id(attempt_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let current = AttemptOutcome::parse(&attempt.outcome).map_err(|e| anyhow!(e))?;
    let report = sanitize(report, &attempt, current);
    let reported = report.outcome();
    let now = state.now_ms();

    let stale = current.is_final() && reported != AttemptOutcome::Succeeded;
    let uninformative = reported == AttemptOutcome::Unknown && current != AttemptOutcome::Pending;
    let outcome = if stale || uninformative { current } else { reported };

    let mut active: charge_attempt::ActiveModel = attempt.clone().into();
    if let Some(pi) = &report.payment_intent {
        if attempt.payment_intent_id.is_none() {
            active.payment_intent_id = Set(Some(pi.id.clone()));
        }
        if attempt.client_secret.is_none() && pi.client_secret.is_some() {
            active.client_secret = Set(pi.client_secret.clone());
        }
    }
    if let Some(error) = &report.error {
        active.error_code = Set(error.code.clone());
        active.decline_code = Set(error.decline_code.clone());
        active.error_message = Set(error.message.clone());
    }
    active.outcome = Set(outcome.as_str().to_owned());
    active.next_check_at = Set(match outcome {
        AttemptOutcome::Processing => Some(now + RECHECK_PROCESSING_MS),
        // Told something we cannot act on yet (an SCA demand without its PaymentIntent): look again soon.
        AttemptOutcome::Unknown if report.error.is_some() => Some(now + 30_000),
        AttemptOutcome::Pending | AttemptOutcome::Unknown => attempt.next_check_at,
        AttemptOutcome::RequiresAction
        | AttemptOutcome::Succeeded
        | AttemptOutcome::Declined
        | AttemptOutcome::Canceled => None,
    });
    if outcome.is_final() && attempt.finished_at.is_none() {
        active.finished_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    let attempt = active.update(&txn).await?;

    // Locked: a new attempt committed meanwhile must not receive this attempt's stale news.
    let echeance = echeance::Entity::find_by_id(attempt.echeance_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let is_current = echeance.current_attempt_no == attempt.attempt_no;
    if report.event == Some(PaymentEvent::Succeeded)
        && let Some(pi) = &report.payment_intent
        && (pi.amount != attempt.amount_cents || !pi.currency.eq_ignore_ascii_case(&attempt.currency))
    {
        tracing::error!(
            attempt.id = attempt.id,
            stripe.amount = pi.amount,
            amount = attempt.amount_cents,
            "Stripe collected another amount than the attempt's: review"
        );
    }
    if is_current
        && echeance.current_payment_intent_id.is_none()
        && let Some(pi) = &attempt.payment_intent_id
    {
        echeance::Entity::update_many()
            .col_expr(echeance::Column::CurrentPaymentIntentId, Expr::value(pi.clone()))
            .filter(echeance::Column::Id.eq(echeance.id))
            .exec(&txn)
            .await?;
    }

    let applied = match report.event {
        Some(PaymentEvent::Succeeded) => {
            Some(apply(state, &txn, &echeance, PaymentEvent::Succeeded, cause, actor, &attempt).await?)
        }
        Some(event) if is_current && outcome == reported => {
            let event = match event {
                // Count a decline once, however many times it is reported.
                PaymentEvent::Declined { retryable } if current != AttemptOutcome::Declined => {
                    schedule_retry(state, &txn, &echeance, retryable, now).await?
                }
                other => other,
            };
            Some(apply(state, &txn, &echeance, event, cause, actor, &attempt).await?)
        }
        _ => None,
    };
    txn.commit().await?;
    if report.event == Some(PaymentEvent::Succeeded) && !is_current {
        cancel_superseded(state, &echeance, actor).await;
    }
    Ok(Recorded { applied, outcome })
}

/// Drops what a report cannot honestly say: an abandonment without a
/// PaymentIntent about an attempt that has one (or an answer) by now, and an
/// SCA demand that does not say which PaymentIntent to authenticate (the
/// attempt stays unknown and is looked up on Stripe).
fn sanitize(report: StripeReport, attempt: &charge_attempt::Model, current: AttemptOutcome) -> StripeReport {
    let no_pi = report.payment_intent.is_none();
    let abandon_blind = report.event == Some(PaymentEvent::Abandoned)
        && no_pi
        && (attempt.payment_intent_id.is_some()
            || !matches!(current, AttemptOutcome::Pending | AttemptOutcome::Unknown));
    let sca_blind =
        matches!(report.event, Some(PaymentEvent::AuthenticationRequired | PaymentEvent::AuthenticationFailed))
            && no_pi
            && attempt.payment_intent_id.is_none();
    if abandon_blind || sca_blind {
        StripeReport { event: None, payment_intent: None, error: report.error }
    } else {
        report
    }
}

/// An older attempt succeeded while a newer one is live: cancel the newer
/// PaymentIntent so the customer cannot pay twice (a failure is logged; the
/// reconciler's drift report lists double collections).
async fn cancel_superseded(state: &AppState, echeance: &echeance::Model, actor: &str) {
    let Ok(Some(newer)) = attempt_of(&state.db, echeance.id, echeance.current_attempt_no).await else { return };
    let live = matches!(
        AttemptOutcome::parse(&newer.outcome),
        Ok(AttemptOutcome::RequiresAction | AttemptOutcome::Processing)
    );
    if live
        && newer.payment_intent_id.is_some()
        && let Err(e) = Box::pin(cancel_attempt(state, &newer, Cause::Reconciler, actor)).await
    {
        tracing::error!(attempt.id = newer.id, error = %e, "could not cancel a superseded PaymentIntent");
    }
}

async fn apply(
    state: &AppState,
    txn: &sea_orm::DatabaseTransaction,
    echeance: &echeance::Model,
    event: PaymentEvent,
    cause: Cause,
    actor: &str,
    attempt: &charge_attempt::Model,
) -> Result<Applied, ServiceError> {
    let detail = format!(
        "attempt {} pi {}{}",
        attempt.attempt_no,
        attempt.payment_intent_id.as_deref().unwrap_or("?"),
        attempt.error_code.as_deref().map(|c| format!(" code {c}")).unwrap_or_default()
    );
    let applied = transitions::apply(state, txn, echeance.id, event, cause, actor, Some(detail)).await?;
    if event == PaymentEvent::Succeeded && applied.refused.is_some() && !applied.from.was_collected() {
        tracing::error!(
            echeance.id = echeance.id,
            status = applied.from.as_str(),
            "Stripe collected money for an échéance that is closed here: drift to review"
        );
    }
    Ok(applied)
}

/// Counts a soft decline and sets the next automatic retry; a decline the
/// schedule will not retry becomes final.
async fn schedule_retry(
    state: &AppState,
    txn: &sea_orm::DatabaseTransaction,
    echeance: &echeance::Model,
    soft: bool,
    now: i64,
) -> Result<PaymentEvent, ServiceError> {
    let status = EcheanceStatus::parse(&echeance.status).map_err(|e| anyhow!(e))?;
    if !status.is_pending_on_stripe() {
        return Ok(PaymentEvent::Declined { retryable: soft });
    }
    let declines = echeance.soft_declines + i32::from(soft);
    let delay = soft
        .then(|| state.settings.retry_policy.next_delay_hours(usize::try_from(declines).unwrap_or(usize::MAX)))
        .flatten();
    let next_retry_at = delay.map(|h| now + i64::from(h) * 3_600_000);
    echeance::Entity::update_many()
        .col_expr(echeance::Column::SoftDeclines, Expr::value(declines))
        .col_expr(echeance::Column::NextRetryAt, Expr::value(next_retry_at))
        .filter(echeance::Column::Id.eq(echeance.id))
        .exec(txn)
        .await?;
    Ok(PaymentEvent::Declined { retryable: next_retry_at.is_some() })
}

/// The attempt a PaymentIntent belongs to: by its id, else by our metadata.
///
/// # Errors
/// Database failure.
pub async fn find_attempt(
    state: &AppState,
    pi: &PaymentIntentSnapshot,
) -> Result<Option<charge_attempt::Model>, ServiceError> {
    if let Some(found) = charge_attempt::Entity::find()
        .filter(charge_attempt::Column::PaymentIntentId.eq(pi.id.as_str()))
        .one(&state.db)
        .await?
    {
        return Ok(Some(found));
    }
    let Some((echeance_id, attempt_no)) = pi.attempt_ref() else {
        return Ok(None);
    };
    let found = attempt_of(&state.db, echeance_id, attempt_no).await?;
    // Metadata alone could come from another database sharing the Stripe
    // account: the customer must match too.
    let same_customer =
        |a: &charge_attempt::Model| pi.customer.as_ref().is_some_and(|c| c.id() == a.stripe_customer_id);
    Ok(found.filter(same_customer))
}

/// The idempotency key of `purpose` for `attempt`.
///
/// # Errors
/// A row whose ids do not parse.
pub fn attempt_key(
    state: &AppState,
    attempt: &charge_attempt::Model,
    purpose: KeyPurpose,
) -> Result<IdempotencyKey, ServiceError> {
    Ok(IdempotencyKey::for_attempt(
        &state.installation_id,
        EcheanceId::new(attempt.echeance_id).map_err(|e| anyhow!(e))?,
        AttemptNo::new(attempt.attempt_no).map_err(|e| anyhow!(e))?,
        purpose,
    ))
}

/// Cancels the attempt's PaymentIntent (with its persisted key) and records
/// what Stripe says: cancelled makes the échéance payable again; when it
/// cannot be cancelled (it succeeded meanwhile), its real status is recorded.
///
/// # Errors
/// `Unavailable` when Stripe does not answer, database failure.
pub async fn cancel_attempt(
    state: &AppState,
    attempt: &charge_attempt::Model,
    cause: Cause,
    actor: &str,
) -> Result<Recorded, ServiceError> {
    let Some(pi) = attempt.payment_intent_id.as_deref() else {
        let report = StripeReport { payment_intent: None, event: Some(PaymentEvent::Abandoned), error: None };
        return record(state, attempt.id, report, cause, actor).await;
    };
    let key = attempt_key(state, attempt, KeyPurpose::Cancel)?;
    let snapshot = match state.gateway.cancel_payment_intent(pi, &key).await {
        Ok(snapshot) => snapshot,
        Err(e) if !e.outcome_unknown() => {
            state.gateway.retrieve_payment_intent(pi).await.map_err(|_| ServiceError::Unavailable)?
        }
        Err(_) => return Err(ServiceError::Unavailable),
    };
    record(state, attempt.id, StripeReport::from_payment_intent(snapshot), cause, actor).await
}

/// Attempt `attempt_no` of échéance `echeance_id` (the current one: `echeance.current_attempt_no`).
///
/// # Errors
/// Database failure.
pub async fn attempt_of(
    db: &impl sea_orm::ConnectionTrait,
    echeance_id: i64,
    attempt_no: i32,
) -> Result<Option<charge_attempt::Model>, ServiceError> {
    Ok(charge_attempt::Entity::find()
        .filter(charge_attempt::Column::EcheanceId.eq(echeance_id))
        .filter(charge_attempt::Column::AttemptNo.eq(attempt_no))
        .one(db)
        .await?)
}
