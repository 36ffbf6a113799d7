//! Applying stored webhook events: claimed in batches from the inbox, each
//! decoded by type and recorded through the state machine; an event that
//! cannot apply yet is parked with a growing delay.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter};

use super::checkout;
use crate::domain::legacy::refunds_event;
use crate::domain::{AttemptOutcome, DisputeStatus, PaymentEvent, RefundStatus, TransitionError};
use crate::ssr::db;
use crate::ssr::entities::{echeance, stripe_event};
use crate::ssr::payments::types::{
    ChargeSnapshot, CheckoutSessionSnapshot, DisputeSnapshot, EventEnvelope, IdOrObject, PaymentIntentSnapshot,
    PaymentIntentStatus, PaymentMethodSnapshot, RefundSnapshot,
};
use crate::ssr::repo::queue::{self, InboxStatus};
use crate::ssr::repo::{attempts, echeances};
use crate::ssr::services::cards::{self, CardNews};
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::plans::By;
use crate::ssr::services::record::{self, StripeReport};
use crate::ssr::services::transitions::{self, Cause};
use crate::ssr::services::{disputes, refunds};
use crate::ssr::state::AppState;

/// What applying one event came to.
#[derive(Debug)]
pub(crate) enum Applied {
    Done(Option<String>),
    Ignored(String),
    /// Not applicable yet (its attempt is unknown): retry later.
    Later(String),
}

/// How long an event may wait for its target row before it is given up.
const MAX_PARKED_ATTEMPTS: i32 = 12;

/// Applies up to `limit` due events. Returns how many were handled.
///
/// # Errors
/// Database failure while claiming.
pub async fn process_pending(state: &AppState, limit: u64) -> Result<usize, ServiceError> {
    const LEASE_MS: i64 = 60_000;
    let now = state.now_ms();
    let claimed = now + LEASE_MS;
    let batch = queue::claim::<stripe_event::Entity>(&state.db, limit, now, claimed).await?;
    let count = batch.len();
    for row in batch {
        // Still ours (the batch may have outlasted its lease): else another worker applies it.
        let held = state.now_ms() + LEASE_MS;
        if !queue::renew::<stripe_event::Entity>(&state.db, row.id, claimed, held).await? {
            tracing::info!(stripe.event = row.stripe_event_id, "event taken by another worker meanwhile");
            continue;
        }
        let result = apply(state, &row).await;
        let now = state.now_ms();
        let done = matches!(result, Ok(Applied::Done(_) | Applied::Ignored(_)));
        let mut update = stripe_event::Entity::update_many()
            .col_expr(stripe_event::Column::Attempts, Expr::col(stripe_event::Column::Attempts).add(1))
            .col_expr(stripe_event::Column::LockedUntil, Expr::value(Option::<i64>::None))
            .filter(stripe_event::Column::Id.eq(row.id))
            .filter(queue::outcome_of::<stripe_event::Entity>(done, held));
        update = match result {
            Ok(Applied::Done(note)) => update
                .col_expr(stripe_event::Column::Status, Expr::value(InboxStatus::Processed))
                .col_expr(stripe_event::Column::ProcessedAt, Expr::value(now))
                .col_expr(stripe_event::Column::Note, Expr::value(note)),
            Ok(Applied::Ignored(note)) => update
                .col_expr(stripe_event::Column::Status, Expr::value(InboxStatus::Ignored))
                .col_expr(stripe_event::Column::ProcessedAt, Expr::value(now))
                .col_expr(stripe_event::Column::Note, Expr::value(note)),
            Ok(Applied::Later(reason)) => park(update, &row, now, &reason),
            Err(ServiceError::Refused(refusal)) => park(update, &row, now, &refusal.to_string()),
            Err(e) => {
                tracing::warn!(stripe.event = row.stripe_event_id, error = %e, "event processing failed; will retry");
                park(update, &row, now, &e.to_string())
            }
        };
        if update.exec(&state.db).await?.rows_affected == 0 {
            tracing::warn!(
                stripe.event = row.stripe_event_id,
                "event's lease ran out while it was applied: another worker has it"
            );
        }
    }
    Ok(count)
}

fn park(
    update: sea_orm::UpdateMany<stripe_event::Entity>,
    row: &stripe_event::Model,
    now: i64,
    reason: &str,
) -> sea_orm::UpdateMany<stripe_event::Entity> {
    let attempts = row.attempts + 1;
    let status = if attempts >= MAX_PARKED_ATTEMPTS { InboxStatus::Failed } else { InboxStatus::Pending };
    // 2 s, 4 s, 8 s… up to about 2 h between tries.
    let delay_ms = 1_000_i64 << attempts.clamp(1, 13);
    update
        .col_expr(stripe_event::Column::Status, Expr::value(status))
        .col_expr(stripe_event::Column::NextAttemptAt, Expr::value(now + delay_ms))
        .col_expr(stripe_event::Column::LastError, Expr::value(reason.to_owned()))
}

async fn apply(state: &AppState, row: &stripe_event::Model) -> Result<Applied, ServiceError> {
    let event: EventEnvelope = serde_json::from_str(&row.payload).map_err(anyhow::Error::from)?;
    let actor = crate::domain::Actor::Stripe(Some(event.id.clone())).stored();
    let by = By { cause: Cause::Webhook, actor: &actor, now: state.now_ms() };
    let object = event.data.object.clone();
    match event.event_type.as_str() {
        "payment_intent.succeeded"
        | "payment_intent.payment_failed"
        | "payment_intent.requires_action"
        | "payment_intent.processing"
        | "payment_intent.canceled" => {
            let pi: PaymentIntentSnapshot = serde_json::from_value(object).map_err(anyhow::Error::from)?;
            apply_payment_intent(state, pi, &actor).await
        }
        "charge.refunded" => {
            let charge: ChargeSnapshot = serde_json::from_value(object).map_err(anyhow::Error::from)?;
            // The charge is the object itself: without a PaymentIntent it was not made here.
            let pi = match payment_of(state, charge.payment_intent.as_ref(), None).await? {
                Ok(pi) => pi,
                Err(not_ours) => return Ok(not_ours),
            };
            // The charge as it was when the event was made (a retried delivery may come after a
            // refund failed): Stripe's refunds of the payment now say where the money is.
            let event = match refunds_now(state, pi.id(), &by).await? {
                Err(not_now) => return Ok(not_now),
                Ok(None) => return Ok(Applied::Ignored(format!("no-refund-now charge={}", charge.id))),
                Ok(Some(event)) => event,
            };
            apply_to_collected(state, Some(&pi), event, &actor, format!("charge={}", charge.id)).await
        }
        "charge.dispute.created" => {
            let (dispute, seen) = match observed(state, object, &by).await? {
                Ok(observed) => observed,
                Err(done) => return Ok(done),
            };
            // Its close came first (deliveries come in any order): the opening moves nothing now.
            if seen.already_decided {
                return Ok(Applied::Ignored(format!("dispute-already-decided dispute={}", dispute.id)));
            }
            let detail = format!("dispute={} reason={}", dispute.id, dispute.reason.as_deref().unwrap_or("?"));
            apply_to_collected(state, dispute.payment_intent.as_ref(), PaymentEvent::DisputeOpened, &actor, detail)
                .await
        }
        "charge.dispute.updated" | "charge.dispute.funds_withdrawn" | "charge.dispute.funds_reinstated" => {
            // The dispute's own row (its status, its deadline); the échéance moves on created and closed.
            Ok(match observed(state, object, &by).await? {
                Ok((dispute, seen)) => {
                    Applied::Done(Some(format!("dispute={} echeance={}", dispute.id, seen.echeance)))
                }
                Err(done) => done,
            })
        }
        "charge.dispute.closed" => {
            let (dispute, _) = match observed(state, object, &by).await? {
                Ok(observed) => observed,
                Err(done) => return Ok(done),
            };
            let status = dispute.status.as_deref().unwrap_or("?");
            let Some(event @ PaymentEvent::DisputeClosed { .. }) =
                dispute.known_status().and_then(DisputeStatus::payment_event)
            else {
                return Ok(Applied::Ignored(format!("dispute-closed-as status={status}")));
            };
            let detail = format!("dispute={} status={status}", dispute.id);
            apply_to_collected(state, dispute.payment_intent.as_ref(), event, &actor, detail).await
        }
        "refund.created" | "charge.refund.updated" | "refund.updated" | "refund.failed" => {
            let mut refund: RefundSnapshot = serde_json::from_value(object).map_err(anyhow::Error::from)?;
            let pi = match payment_of(state, refund.payment_intent.as_ref(), refund.charge.as_ref()).await? {
                Ok(pi) => pi,
                Err(not_ours) => return Ok(not_ours),
            };
            refund.payment_intent = Some(pi.clone());
            // The refund's own row first (ours, or one made elsewhere listed with the échéance's).
            let listed = refunds::observe(state, &refund, &by).await?;
            // Failed (the bank sent it back) or cancelled before it left: the money stayed.
            if !matches!(refund.known_status(), Some(RefundStatus::Failed | RefundStatus::Canceled)) {
                let status = refund.status.as_deref().unwrap_or("?");
                return Ok(match listed {
                    Some(echeance) => Applied::Done(Some(format!("refund={} {status} echeance={echeance}", refund.id))),
                    None => Applied::Ignored(format!("refund-not-failed refund={}", refund.id)),
                });
            }
            // Where the money is now, from every refund of the payment (another may have gone
            // through since this one failed); and a lost dispute took it back whatever a refund says.
            match refunds_now(state, pi.id(), &by).await? {
                Err(not_now) => return Ok(not_now),
                Ok(Some(PaymentEvent::RefundFailed)) if !disputes::lost_for(&state.db, pi.id()).await? => {}
                Ok(_) => return Ok(Applied::Ignored(format!("refund-failed-money-still-gone refund={}", refund.id))),
            }
            let detail =
                format!("refund={} {} amount={}", refund.id, refund.status.as_deref().unwrap_or("?"), refund.amount);
            apply_to_collected(state, Some(&pi), PaymentEvent::RefundFailed, &actor, detail).await
        }
        "payment_method.updated" | "payment_method.automatically_updated" | "payment_method.detached" => {
            let card: PaymentMethodSnapshot = serde_json::from_value(object).map_err(anyhow::Error::from)?;
            let news =
                if event.event_type == "payment_method.detached" { CardNews::Detached } else { CardNews::Updated };
            Ok(match cards::observe(state, &card, news).await? {
                0 => Applied::Ignored(format!("card-not-saved-here pm={}", card.id)),
                n => Applied::Done(Some(format!("card {news:?} pm={} rows={n}", card.id))),
            })
        }
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" | "checkout.session.expired" => {
            let session: CheckoutSessionSnapshot = serde_json::from_value(object).map_err(anyhow::Error::from)?;
            checkout::apply_session(state, &session, Cause::Webhook, &actor, checkout::Closed::IfExpired).await
        }
        "checkout.session.async_payment_failed" => {
            // Complete and unpaid, as while processing: only this event says it will never pay.
            let session: CheckoutSessionSnapshot = serde_json::from_value(object).map_err(anyhow::Error::from)?;
            checkout::apply_session(state, &session, Cause::Webhook, &actor, checkout::Closed::Unpaid).await
        }
        other => Ok(Applied::Ignored(format!("unhandled-type type={other}"))),
    }
}

/// A dispute event's dispute, its row brought up to date ([`disputes::observe`]), for the
/// échéance its payment collected — or what the event comes to without moving an échéance: not
/// ours, not yet, or a second payment's (its row written and the admins told; the échéance, paid
/// by another PaymentIntent, does not move).
async fn observed(
    state: &AppState,
    object: serde_json::Value,
    by: &By<'_>,
) -> Result<Result<(DisputeSnapshot, disputes::Seen), Applied>, ServiceError> {
    let dispute = match disputed(state, object).await? {
        Ok(dispute) => dispute,
        Err(not_ours) => return Ok(Err(not_ours)),
    };
    Ok(match disputes::observe(state, &dispute, by).await? {
        Err(not_now) => Err(not_now),
        Ok(seen) if seen.second_payment => {
            Err(Applied::Done(Some(format!("dispute={} of-a-second-payment echeance={}", dispute.id, seen.echeance))))
        }
        Ok(seen) => Ok((dispute, seen)),
    })
}

/// A dispute event's object, its PaymentIntent resolved ([`payment_of`]) — or why it is not ours.
async fn disputed(
    state: &AppState,
    object: serde_json::Value,
) -> Result<Result<DisputeSnapshot, Applied>, ServiceError> {
    let mut dispute: DisputeSnapshot = serde_json::from_value(object).map_err(anyhow::Error::from)?;
    Ok(match payment_of(state, dispute.payment_intent.as_ref(), dispute.charge.as_ref()).await? {
        Ok(pi) => {
            dispute.payment_intent = Some(pi);
            Ok(dispute)
        }
        Err(not_ours) => Err(not_ours),
    })
}

/// The PaymentIntent a refund or a dispute is about, when it is one this database acts on.
///
/// Stripe names only the charge when the charge was made without a PaymentIntent: the charge
/// is read to find one. A PaymentIntent neither an attempt nor an échéance here names is asked
/// of Stripe once: made by another installation on the same Stripe account (another database,
/// a reset copy of this one: its metadata names it), the event is ignored, not retried for
/// hours and then failed. Otherwise it may be ours with its row not written yet — an attempt,
/// or a legacy Checkout payment (no metadata of ours) whose session's completion comes later —
/// and the event waits, parked and retried as before.
///
/// # Errors
/// Database failure; Stripe unreachable (the event is retried).
pub(crate) async fn payment_of(
    state: &AppState,
    payment_intent: Option<&IdOrObject>,
    charge: Option<&IdOrObject>,
) -> Result<Result<IdOrObject, Applied>, ServiceError> {
    let pi = match (payment_intent, charge) {
        (Some(pi), _) => pi.id().to_owned(),
        (None, Some(charge)) => match state.gateway.retrieve_charge(charge.id()).await?.payment_intent {
            Some(pi) => pi.id().to_owned(),
            None => return Ok(Err(Applied::Ignored(format!("no-payment-intent charge={}", charge.id())))),
        },
        (None, None) => return Ok(Err(Applied::Ignored("no-payment-intent".to_owned()))),
    };
    if known_here(state, &pi).await? {
        return Ok(Ok(IdOrObject::Id(pi)));
    }
    let theirs = state.gateway.retrieve_payment_intent(&pi).await?.made_by_another(&state.installation_id);
    Ok(if theirs { Err(Applied::Ignored(format!("not-ours pi={pi}"))) } else { Ok(IdOrObject::Id(pi)) })
}

/// Whether an attempt, or a legacy Checkout échéance, names PaymentIntent `pi`.
async fn known_here(state: &AppState, pi: &str) -> Result<bool, ServiceError> {
    if attempts::by_payment_intent(&state.db, pi).await?.is_some() {
        return Ok(true);
    }
    Ok(echeances::by_payment_intent(&state.db, pi).await?.is_some())
}

/// What every refund Stripe has of PaymentIntent `pi` says of the échéance it paid — read
/// against the échéance's amount, as the reconciler reads them, the refunds' rows brought up to
/// date on the way — or why no échéance moves for it (yet).
async fn refunds_now(
    state: &AppState,
    pi: &str,
    by: &By<'_>,
) -> Result<Result<Option<PaymentEvent>, Applied>, ServiceError> {
    let echeance = match collected_by(state, pi).await? {
        Ok(echeance) => echeance,
        Err(not_now) => return Ok(Err(not_now)),
    };
    let refunds = refunds::all_of(state, pi).await?;
    for refund in &refunds {
        refunds::observe(state, refund, by).await?;
    }
    let statuses = refunds.iter().filter_map(|r| Some((r.known_status()?, r.amount)));
    Ok(Ok(refunds_event(echeance.amount_cents, statuses)))
}

async fn apply_payment_intent(
    state: &AppState,
    pi: PaymentIntentSnapshot,
    actor: &str,
) -> Result<Applied, ServiceError> {
    let Some(attempt) = attempts::of_snapshot(&state.db, &pi, &state.installation_id).await? else {
        return Ok(match pi.attempt_ref(&state.installation_id) {
            // Ours, but its attempt row is not there (yet): retry later.
            Some(_) => Applied::Later(format!("attempt-unknown-yet pi={}", pi.id)),
            None => Applied::Ignored(format!("not-ours pi={}", pi.id)),
        });
    };
    // A success is final and says everything. Any other event is a snapshot that
    // may be older than what happened since (events come in any order): ask
    // Stripe where the PaymentIntent stands now.
    let pi = if pi.status() == PaymentIntentStatus::Succeeded {
        pi
    } else {
        state.gateway.retrieve_payment_intent(&pi.id).await?
    };
    let recorded =
        record::record(state, attempt.id, StripeReport::from_payment_intent(pi), Cause::Webhook, actor).await?;
    Ok(Applied::Done(recorded.applied.map(|a| format!("{} -> {}", a.from, a.to))))
}

async fn apply_to_collected(
    state: &AppState,
    payment_intent: Option<&IdOrObject>,
    event: PaymentEvent,
    actor: &str,
    detail: String,
) -> Result<Applied, ServiceError> {
    let Some(pi) = payment_intent else {
        return Ok(Applied::Ignored("no-payment-intent".to_owned()));
    };
    let echeance = match collected_by(state, pi.id()).await? {
        Ok(echeance) => echeance,
        Err(not_now) => return Ok(not_now),
    };
    let txn = db::begin_write(&state.db).await?;
    let id = echeances::id(&echeance)?;
    let applied = transitions::apply(state, &txn, id, event, Cause::Webhook, actor, Some(detail.clone())).await?;
    if event == PaymentEvent::RefundFailed
        && applied.refused.is_none()
        && let Some(then) = disputes::after_refund_failed(&txn, pi.id()).await?
    {
        transitions::apply(state, &txn, id, then, Cause::Webhook, actor, Some(detail)).await?;
    }
    txn.commit().await?;
    match applied.refused {
        // The success that comes before it has not been applied yet (no ordering guarantee): later.
        Some(TransitionError::NotApplicable { .. }) if !applied.from.was_collected() => {
            Ok(Applied::Later(format!("not-collected-yet echeance={}", echeance.id)))
        }
        _ => Ok(Applied::Done(Some(format!("{} -> {}", applied.from, applied.to)))),
    }
}

/// The échéance that PaymentIntent `pi` paid — or why no échéance moves for it
/// (yet). Only the PaymentIntent that paid moves the échéance: the first
/// success recorded, which is not always the current attempt's (an old
/// attempt's late success). A refund of a second payment (a double charge) leaves
/// the échéance paid (the audit trail is the event itself); its disputes are
/// recorded apart ([`paid_by`]).
///
/// # Errors
/// Database failure.
pub(crate) async fn collected_by(state: &AppState, pi: &str) -> Result<Result<echeance::Model, Applied>, ServiceError> {
    Ok(match paid_by(state, pi).await? {
        Ok(Paid { echeance, second: false }) => Ok(echeance),
        Ok(Paid { echeance, second: true }) => {
            Err(Applied::Ignored(format!("not-the-paying-intent pi={pi} echeance={}", echeance.id)))
        }
        Err(not_now) => Err(not_now),
    })
}

/// An échéance a PaymentIntent of ours paid.
pub(crate) struct Paid {
    /// The échéance.
    pub echeance: echeance::Model,
    /// Another of its PaymentIntents collected it first: this one is a second payment (a double
    /// charge), money of the customer's to give back — never the échéance's own.
    pub second: bool,
}

/// The échéance PaymentIntent `pi` paid, first or second — or why none (yet).
///
/// # Errors
/// Database failure.
pub(crate) async fn paid_by(state: &AppState, pi: &str) -> Result<Result<Paid, Applied>, ServiceError> {
    Ok(Ok(match attempts::by_payment_intent(&state.db, pi).await? {
        Some(attempt) if attempt.outcome == AttemptOutcome::Succeeded => {
            let paying = attempts::paying(&state.db, attempt.echeance_id).await?;
            let echeance = echeances::get(&state.db, echeances::id_of(attempt.echeance_id)?).await?;
            Paid { echeance, second: paying.as_ref().map(|p| p.id) != Some(attempt.id) }
        }
        // Its success has not been recorded yet (no ordering guarantee): later.
        Some(attempt) => {
            return Ok(Err(Applied::Later(format!("not-collected-yet echeance={}", attempt.echeance_id))));
        }
        // Legacy Checkout: the échéance names the session's PaymentIntent.
        None => match echeances::by_payment_intent(&state.db, pi).await? {
            Some(echeance) => Paid { echeance, second: false },
            None => return Ok(Err(Applied::Later(format!("echeance-unknown-yet pi={pi}")))),
        },
    }))
}
