//! Recording what Stripe says about an attempt: the attempt row, then the
//! échéance through [`super::transitions::apply`], in one transaction. Used by
//! the charge, the webhook worker, the 3DS confirmation and the reconciler.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::error::ServiceError;
use super::transitions::{self, Applied, Cause};
use crate::domain::{AttemptOutcome, EcheanceStatus, NextCheck, PaymentEvent, RetryPolicy, UserId};
use crate::ssr::db;
use crate::ssr::entities::{charge_attempt, echeance};
use crate::ssr::payments::types::{PaymentIntentSnapshot, StripeErrorDetail};
use crate::ssr::repo::{attempts, echeances};
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

    /// Attempt `attempt` given up with nothing of it known to Stripe (never sent, or absent from
    /// Stripe past every margin): its claim is undone, the échéance back to the status it was
    /// claimed from (« à payer » for an attempt written before that was kept).
    #[must_use]
    pub fn given_up_unsent(attempt: &charge_attempt::Model) -> Self {
        let event =
            attempt.claimed_from.map_or(PaymentEvent::Abandoned, |before| PaymentEvent::GivenUpUnsent { before });
        Self { payment_intent: None, event: Some(event), error: None }
    }

    /// From a 402 card error: an SCA demand (Stripe's shape) or a decline.
    #[must_use]
    pub fn from_card_error(detail: StripeErrorDetail, pi: Option<PaymentIntentSnapshot>) -> Self {
        Self { event: Some(PaymentEvent::from(&detail)), error: Some(detail), payment_intent: pi }
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

/// Writes `report` onto attempt `attempt_id` and moves its échéance: load
/// (both rows locked), decide ([`AttemptOutcome::apply_report`], then the
/// échéance's state machine), write.
///
/// # Errors
/// Database failure.
pub async fn record(
    state: &AppState,
    attempt_id: i64,
    report: StripeReport,
    cause: Cause,
    actor: &str,
) -> Result<Recorded, ServiceError> {
    record_then(state, attempt_id, report, cause, actor, None).await
}

/// As [`record`]; when the report gives the current attempt up (its
/// PaymentIntent cancelled) and `instead` is given, the échéance moves by
/// `instead` in the same transaction rather than back to « à payer »: an
/// admin's cancel goes from « en attente » to « annulée » with no moment in
/// between where the échéance is payable (and chargeable by the due-date run).
///
/// # Errors
/// Database failure.
#[tracing::instrument(skip(state, report), fields(attempt.id = attempt_id, cause = cause.as_str()))]
pub async fn record_then(
    state: &AppState,
    attempt_id: i64,
    report: StripeReport,
    cause: Cause,
    actor: &str,
    instead: Option<PaymentEvent>,
) -> Result<Recorded, ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let of = charge_attempt::Entity::find_by_id(attempt_id).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    // The échéance first, then the attempt: the order every writer takes (a success marks the
    // échéance's other attempts under its lock). Locked: a new attempt committed meanwhile must
    // not receive this attempt's stale news.
    let echeance = echeances::lock(&txn, echeances::id_of(of.echeance_id)?).await?;
    let attempt = charge_attempt::Entity::find_by_id(attempt_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let current = attempt.outcome;
    let report = sanitize(report, &attempt, current);
    // A success for another amount or currency than the attempt's is not this
    // échéance paid: nothing moves, and the reconciler reports it as drift.
    let report = match &report.payment_intent {
        Some(pi)
            if report.event == Some(PaymentEvent::Succeeded) && !pi.is_for(attempt.amount_cents, &attempt.currency) =>
        {
            tracing::error!(
                attempt.id = attempt.id,
                stripe.payment_intent = pi.id.as_str(),
                stripe.amount = pi.amount,
                stripe.currency = pi.currency.as_str(),
                amount = attempt.amount_cents,
                "Stripe collected another amount than the attempt's: not recorded as paid; review"
            );
            StripeReport { event: None, ..report }
        }
        _ => report,
    };
    let now = state.now_ms();
    let is_current = echeance.current_attempt_no == attempt.attempt_no;
    let update = current.apply_report(report.event, report.error.is_some(), is_current);

    let mut active: charge_attempt::ActiveModel = attempt.clone().into();
    if let Some(pi) = &report.payment_intent {
        if attempt.payment_intent_id.is_none() {
            active.payment_intent_id = Set(Some(pi.id.clone()));
        }
        if attempt.client_secret.is_none() && pi.client_secret.is_some() {
            active.client_secret = Set(pi.client_secret.clone());
        }
        // The card that paid: the customer may have confirmed with the card they saved
        // since (the 3D Secure page offers their card of now), and the receipt names it.
        if report.event == Some(PaymentEvent::Succeeded)
            && !attempt.saves_card
            && let Some(card) = pi.payment_method.as_ref().map(|p| p.id()).filter(|id| !id.is_empty())
            && card != attempt.payment_method_id
        {
            active.payment_method_id = Set(card.to_owned());
        }
    }
    if let Some(error) = &report.error {
        active.error_code = Set(error.code.clone());
        active.decline_code = Set(error.decline_code.clone());
        active.error_message = Set(error.message.clone());
    }
    active.outcome = Set(update.outcome);
    active.next_check_at = Set(match update.next_check {
        NextCheck::In(ms) => Some(now + ms),
        NextCheck::Keep => attempt.next_check_at,
        NextCheck::Never => None,
    });
    // When it ended; a success ends it anew (a declined attempt later paid from the customer's page
    // is paid at that moment: which attempt paid first is read from these times).
    let newly_paid = update.outcome == AttemptOutcome::Succeeded && current != AttemptOutcome::Succeeded;
    if update.outcome.is_final() && (attempt.finished_at.is_none() || newly_paid) {
        active.finished_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    let attempt = active.update(&txn).await?;
    if attempt.saves_card && update.outcome == AttemptOutcome::Succeeded && current != AttemptOutcome::Succeeded {
        // The payment that saves its card succeeded: the card is the customer's now (Stripe attached
        // it); their default unless a newer attempt was made since (with its own card).
        super::cards::adopt(
            &txn,
            UserId::new(echeance.user_id).map_err(anyhow::Error::from)?,
            &attempt.payment_method_id,
            is_current,
            super::host_api::keys::current_mode(state),
            now,
        )
        .await?;
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

    let event = match (update.echeance_event, instead) {
        (Some(PaymentEvent::Abandoned | PaymentEvent::GivenUpUnsent { .. }), Some(instead)) => Some(instead),
        (event, _) => event,
    };
    let applied = match event {
        Some(PaymentEvent::Declined { retryable }) if update.count_decline => {
            // A declined payment ahead of its date is retried from its date on: off-session, the
            // mandate allows the schedule's dates (`ChargeOrigin::waits_for_due_date`).
            let not_before = state.start_of(echeance.due_date);
            let policy = &state.settings.retry_policy;
            let event = schedule_retry(&txn, &echeance, policy, retryable, now, not_before).await?;
            Some(apply(state, &txn, &echeance, event, cause, actor, &attempt).await?)
        }
        Some(event @ PaymentEvent::GivenUpUnsent { .. }) => {
            let applied = apply(state, &txn, &echeance, event, cause, actor, &attempt).await?;
            // « échouée » again: with the retry date its claim cleared (passed by now, the
            // automatic retry comes at once — as it was due to); never without one, which no
            // schedule would ever pick up.
            if applied.to == EcheanceStatus::Echouee && applied.from != applied.to {
                echeance::Entity::update_many()
                    .col_expr(echeance::Column::NextRetryAt, Expr::value(attempt.claimed_retry_at.unwrap_or(now)))
                    .filter(echeance::Column::Id.eq(echeance.id))
                    .exec(&txn)
                    .await?;
            }
            Some(applied)
        }
        Some(event) => Some(apply(state, &txn, &echeance, event, cause, actor, &attempt).await?),
        None => None,
    };
    // Paid: the échéance's other PaymentIntents that could still collect are to be stopped, marked
    // with the success (asked again by the follow-up worker when Stripe does not answer now) —
    // and marked again by any later news of one of them (which would otherwise clear its mark).
    let answered_but_collectable = update.outcome.may_still_collect() && !update.outcome.needs_follow_up();
    let paying = if newly_paid {
        Some(attempt.id)
    } else if answered_but_collectable {
        attempts::paying(&txn, echeance.id).await?.map(|paying| paying.id)
    } else {
        None
    };
    // Stopped below at once; the follow-up worker is the fallback, a claim's time later.
    let fallback = now + super::charge::SETTLE_CLAIM_MS;
    let superseded = match paying {
        Some(paying) => attempts::mark_superseded(&txn, echeance.id, paying, fallback).await?,
        None => 0,
    };
    txn.commit().await?;
    if let Some(paying) = paying.filter(|_| superseded > 0) {
        super::cancel::cancel_superseded(state, echeance.id, paying, actor).await;
    }
    Ok(Recorded { applied, outcome: update.outcome })
}

/// Drops what a report cannot honestly say: an abandonment without a
/// PaymentIntent about an attempt that has one (or an answer) by now, and an
/// SCA demand that does not say which PaymentIntent to authenticate (the
/// attempt stays unknown and is looked up on Stripe).
fn sanitize(report: StripeReport, attempt: &charge_attempt::Model, current: AttemptOutcome) -> StripeReport {
    let no_pi = report.payment_intent.is_none();
    let abandon_blind = matches!(report.event, Some(PaymentEvent::Abandoned | PaymentEvent::GivenUpUnsent { .. }))
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
        "attempt={} pi={}{}",
        attempt.attempt_no,
        attempt.payment_intent_id.as_deref().unwrap_or("?"),
        attempt.error_code.as_deref().map(|c| format!(" code={c}")).unwrap_or_default()
    );
    let applied = transitions::apply(state, txn, echeances::id(echeance)?, event, cause, actor, Some(detail)).await?;
    if event == PaymentEvent::Succeeded && applied.refused.is_some() && !applied.from.was_collected() {
        tracing::error!(
            echeance.id = echeance.id,
            status = applied.from.as_str(),
            "Stripe collected money for an échéance that is closed here: drift to review"
        );
    }
    Ok(applied)
}

/// Counts a soft decline and sets the next automatic retry as `policy` decides, not before
/// `not_before` (the échéance's date); a decline it will not retry becomes final.
async fn schedule_retry(
    txn: &sea_orm::DatabaseTransaction,
    echeance: &echeance::Model,
    policy: &RetryPolicy,
    soft: bool,
    now: i64,
    not_before: i64,
) -> Result<PaymentEvent, ServiceError> {
    if !echeance.status.is_pending_on_stripe() {
        return Ok(PaymentEvent::Declined { retryable: soft });
    }
    let decision = policy.decide(soft, echeance.soft_declines);
    let next_retry_at = decision.retry_in_hours.map(|h| crate::domain::decline::retry_due_at(now, h).max(not_before));
    echeance::Entity::update_many()
        .col_expr(echeance::Column::SoftDeclines, Expr::value(decision.soft_declines))
        .col_expr(echeance::Column::NextRetryAt, Expr::value(next_retry_at))
        .filter(echeance::Column::Id.eq(echeance.id))
        .exec(txn)
        .await?;
    Ok(PaymentEvent::Declined { retryable: next_retry_at.is_some() })
}
