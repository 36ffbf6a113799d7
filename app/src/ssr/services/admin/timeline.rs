//! An échéance's timeline: its attempts, the webhooks about them, its emails
//! and its audit trail, newest first — as data the page words in the
//! reader's language.

use chrono::NaiveDateTime;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::list::row_of;
use crate::api::dto::{
    AdminRow, DisputeView, RefundForm, RefundTotals, RefundView, Timeline, TimelineEntry, TimelineEvent,
};
use crate::domain::refund::refundable;
use crate::domain::{
    Actor, Amount, ChargeOrigin, Currency, DisputeNews, EcheanceId, EcheanceStatus, Money, PaymentEvent, RefundNews,
    Rescheduled,
};
use crate::ssr::clock::from_ms;
use crate::ssr::entities::{audit_log, charge_attempt, dispute, echeance, email_outbox, refund, stripe_event, user};
use crate::ssr::repo::{attempts, users};
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::{disputes, refunds};
use crate::ssr::state::AppState;

/// An email as a timeline shows it: when it was queued, to whom, where it stands, why it was not
/// sent (yet); times in the schedule's time zone `tz`.
pub(crate) fn email_entry(m: email_outbox::Model, tz: chrono_tz::Tz) -> TimelineEntry {
    let local = |ms: i64| -> NaiveDateTime { from_ms(ms).with_timezone(&tz).naive_local() };
    TimelineEntry {
        at_ms: m.created_at,
        at: local(m.created_at),
        event: TimelineEvent::Email {
            kind: m.kind,
            status: m.status,
            attempts: m.attempts,
            to: m.to_address,
            sent_at: m.sent_at.map(local),
            last_error: m.last_error.as_deref().map(crate::domain::Trouble::read),
        },
    }
}

/// Everything that happened to échéance `id`.
///
/// # Errors
/// `NotFound`, database failure.
pub async fn timeline(state: &AppState, id: EcheanceId) -> Result<Timeline, ServiceError> {
    // One moment of the échéance: its status, attempts, webhooks, audit and refunds agree.
    let db = crate::ssr::db::begin_read(&state.db).await?;
    let (e, u) = echeance::Entity::find_by_id(id.get())
        .find_also_related(user::Entity)
        .one(&db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let paid_by = attempts::paying(&db, e.id).await?.and_then(|a| a.payment_intent_id);
    let legacy_linked = e.checkout_session_id.is_some();
    let row = row_of(e, u, paid_by)?;
    let tz = state.settings.schedule_timezone;
    let local = |ms: i64| -> NaiveDateTime { from_ms(ms).with_timezone(&tz).naive_local() };
    let entry = |at_ms: i64, event: TimelineEvent| TimelineEntry { at_ms, at: local(at_ms), event };
    let mut entries = Vec::new();

    let attempts =
        charge_attempt::Entity::find().filter(charge_attempt::Column::EcheanceId.eq(id.get())).all(&db).await?;
    for a in &attempts {
        entries.push(entry(
            a.started_at,
            TimelineEvent::Attempt {
                no: a.attempt_no,
                origin: a.trigger,
                outcome: a.outcome,
                payment_intent: a.payment_intent_id.clone(),
                key: a.idempotency_key.clone(),
                error_code: a.error_code.clone(),
                decline_code: a.decline_code.clone(),
                stripe_calls: a.stripe_calls,
            },
        ));
    }
    let pis: Vec<String> = attempts.iter().filter_map(|a| a.payment_intent_id.clone()).collect();
    if !pis.is_empty() {
        let events = stripe_event::Entity::find().filter(stripe_event::Column::PaymentIntentId.is_in(pis)).all(&db);
        for ev in events.await? {
            let moved = ev.status_move();
            entries.push(entry(
                ev.received_at,
                TimelineEvent::Webhook {
                    event_type: ev.event_type,
                    status: ev.status,
                    event_id: ev.stripe_event_id,
                    moved,
                    note: ev.note.filter(|_| moved.is_none()),
                    last_error: ev.last_error,
                },
            ));
        }
    }
    let emails = email_outbox::Entity::find().filter(email_outbox::Column::EcheanceId.eq(id.get())).all(&db);
    entries.extend(emails.await?.into_iter().map(|m| email_entry(m, tz)));
    // Newest first, as the timeline lists them: rows of the same millisecond keep their order once sorted.
    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::EcheanceId.eq(id.get()))
        .order_by_desc(audit_log::Column::Id)
        .all(&db)
        .await?;
    let refund_rows = refunds::of(&db, id.get()).await?;
    let audit_actors: Vec<Actor> = audit.iter().map(|a| Actor::parse(&a.actor)).collect();
    let refund_actors: Vec<Actor> = refund_rows.iter().map(|r| Actor::parse(&r.requested_by)).collect();
    let names = users::admin_names(&db, audit_actors.iter().chain(&refund_actors)).await?;
    for (a, actor) in audit.into_iter().zip(audit_actors) {
        // A refund's or a dispute's news reads as such; a row that does not stays a plain line.
        let read = |event: &str| a.detail.as_deref().filter(|_| a.event == event);
        let refund = read(RefundNews::EVENT).and_then(|d| serde_json::from_str(d).ok());
        let dispute = read(DisputeNews::EVENT).and_then(|d| serde_json::from_str(d).ok());
        let moved = read(Rescheduled::EVENT).and_then(|d| serde_json::from_str(d).ok());
        let (cause, actor_name) = (a.cause, names.of(&actor));
        let event = match (refund, dispute, moved) {
            (Some(news), ..) => TimelineEvent::Refund { news, cause, actor, actor_name },
            (_, Some(news), _) => TimelineEvent::Dispute { news, cause, actor, actor_name },
            (.., Some(dates)) => TimelineEvent::Rescheduled { dates, actor, actor_name },
            (None, None, None) => TimelineEvent::Audit {
                from: a.from_status,
                to: a.to_status,
                event: a.event,
                cause,
                actor,
                actor_name,
                detail: a.detail,
            },
        };
        entries.push(entry(a.created_at, event));
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
    let dispute_rows = disputes::of_all(&db, [id.get()]).await?;
    db.commit().await?;
    let (refund_totals, refund_form) = money_back(&row, &refund_rows, &dispute_rows)?;
    let refunds = refund_rows
        .into_iter()
        .zip(refund_actors)
        .map(|(r, actor)| {
            Ok(RefundView {
                seq: r.seq,
                at: local(r.created_at),
                money: Money {
                    amount: Amount::from_minor(r.amount_cents).map_err(anyhow::Error::from)?,
                    currency: Currency::parse(&r.currency).map_err(anyhow::Error::from)?,
                },
                reason: r.reason,
                status: r.status,
                stripe_refund_id: r.stripe_refund_id,
                failure_reason: r.failure_reason,
                requested_by_name: names.of(&actor),
                requested_by: actor,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let disputes = dispute_rows
        .into_iter()
        .map(|d| {
            // The deadline matters while the bank waits for evidence, not once it reads it.
            let awaited = d.status.awaits_evidence();
            Ok(DisputeView {
                at: local(d.created_at),
                money: Money {
                    amount: Amount::from_minor(d.amount_cents).map_err(anyhow::Error::from)?,
                    currency: Currency::parse(&d.currency).map_err(anyhow::Error::from)?,
                },
                reason: d.reason,
                evidence_due_by: d.evidence_due_by.filter(|_| awaited).map(local),
                status: d.status,
                stripe_dispute_id: d.stripe_dispute_id,
                of_second_payment: d.of_second_payment,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let status = row.status;
    Ok(Timeline {
        // As the charge decides it: payable, and due unless only its customer may pay it ahead.
        can_retry: status.is_payable() && ChargeOrigin::Admin.may_charge(row.due_date, state.today()),
        can_cancel: status.transition(PaymentEvent::Canceled).is_ok_and(|to| to != status),
        can_resend: status == EcheanceStatus::EnAttente,
        can_review_legacy: status == EcheanceStatus::Annulee && legacy_linked,
        row,
        entries,
        refunds,
        refund_totals,
        refund_form,
        disputes,
    })
}

/// What was collected and went back, and whether an admin can refund now (and how much at most):
/// a paid échéance whose paying PaymentIntent is known.
fn money_back(
    row: &AdminRow,
    refund_rows: &[refund::Model],
    dispute_rows: &[dispute::Model],
) -> Result<(Option<RefundTotals>, Option<RefundForm>), ServiceError> {
    if !row.status.was_collected() {
        return Ok((None, None));
    }
    let statuses = refund_rows.iter().map(|r| (r.status, r.amount_cents));
    let paid = row.money.amount.minor();
    let left = refundable(paid, statuses.clone());
    // A second payment's dispute holds none of this payment's money.
    let disputes = dispute_rows.iter().filter(|d| !d.of_second_payment).map(|d| (d.status, d.amount_cents));
    let totals = RefundTotals::none(row.money.currency).add(paid, statuses, disputes);
    // Refunded through the PaymentIntent that paid it: none known (paid before this product, or
    // recorded by hand), nothing to offer that `refunds::refund` would not refuse.
    let form = match (row.status, Amount::from_minor(left), &row.payment_intent) {
        (EcheanceStatus::Payee, Ok(left), Some(_)) => Some(RefundForm {
            left: Money { amount: left, currency: row.money.currency },
            seen: i32::try_from(refund_rows.len()).map_err(anyhow::Error::from)?,
        }),
        _ => None,
    };
    Ok((Some(totals), form))
}
