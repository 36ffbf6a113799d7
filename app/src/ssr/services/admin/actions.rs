//! The admin's actions on one échéance: cancel it, resend its 3D Secure email, mark the money
//! of the original site's Checkout Session it kept as reviewed.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::domain::{AttemptOutcome, EcheanceId, EcheanceStatus, EmailKind, Locale, PaymentEvent, Refusal, UserId};
use crate::ssr::db;
use crate::ssr::email::outbox::{self, NewEmail};
use crate::ssr::entities::{echeance, email_outbox, user};
use crate::ssr::repo::{attempts, echeances};
use crate::ssr::services::cancel::{self, Stopped, cancel_attempt};
use crate::ssr::services::effects;
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::record::{self, StripeReport};
use crate::ssr::services::transitions::{self, Cause};
use crate::ssr::services::webhooks::checkout;
use crate::ssr::state::AppState;

/// Cancels échéance `id`. Its status is read under the row lock, in the
/// transaction that cancels it: nothing can charge it in between. One waiting
/// for 3D Secure has a live PaymentIntent: that one is cancelled on Stripe
/// first (outside any lock), and the échéance goes from « en attente » to
/// « annulée » in the transaction that records Stripe's answer — never through
/// a payable state, never leaving a PaymentIntent its link could still confirm.
///
/// # Errors
/// `Refused` (in flight, settled, paid meanwhile — a legacy Checkout Session
/// or a declined PaymentIntent confirmed again included —, its Checkout payment
/// or an earlier PaymentIntent still processing, Stripe did not cancel),
/// `Unavailable`, database failure.
pub async fn cancel(state: &AppState, id: EcheanceId, admin: UserId) -> Result<EcheanceStatus, ServiceError> {
    cancel_as(state, id, &crate::domain::Actor::Admin(admin.get()).stored()).await
}

/// [`cancel`] on behalf of `actor` (`admin:3`, or the host's `api_key:2`).
///
/// # Errors
/// As [`cancel`].
pub async fn cancel_as(state: &AppState, id: EcheanceId, actor: &str) -> Result<EcheanceStatus, ServiceError> {
    // Still linked to the original site's Checkout Session (open for up to 24 hours, or a
    // payment processing): that session could collect after the échéance is cancelled, and the
    // money would land on an « annulée ». Closed on Stripe first, as before a charge (outside
    // any lock); cancelled only once it can no longer collect. One that collected another
    // amount than the échéance's does not hold the cancel back: a cancel moves no money.
    let row = echeances::get(&state.db, id).await?;
    // One of a plan of the other Stripe mode, once sent to Stripe, could not be stopped there with
    // these keys: left as it is. Never sent, it is cancelled here alone.
    if row.current_attempt_no > 0 && crate::ssr::services::plans::of_other_mode(&state.db, state, &row).await?.is_some()
    {
        return Err(Refusal::OtherMode.into());
    }
    if row.checkout_session_id.is_some()
        && row.status.transition(PaymentEvent::Canceled).is_ok()
        && checkout::close_before_charge(state, &row, Cause::Admin, actor).await? == checkout::Legacy::Collected
    {
        return Err(Refusal::PaidMeanwhile.into());
    }
    // A declined PaymentIntent still waits for a payment method (the customer's 3D Secure page,
    // still open, holds its client secret and can confirm it again): each one not stopped yet is
    // stopped on Stripe first, outside any lock, so nothing collects on an « annulée » — an
    // earlier attempt's too when the échéance waits for 3D Secure (its own PaymentIntent: below).
    let waits_for_3ds = row.status == EcheanceStatus::EnAttente;
    let before = row.current_attempt_no + i32::from(!waits_for_3ds);
    if row.status.transition(PaymentEvent::Canceled).is_ok()
        && let Some((attempt, stopped)) = cancel::stop_every(state, row.id, before, "cancel").await?
    {
        match stopped {
            Stopped::Done(_) => {}
            Stopped::NoAnswer(e) => return Err(e.into()),
            stopped @ (Stopped::Processing(_) | Stopped::NotStopped) => return Err(stopped.refusal().into()),
            Stopped::Paid(now) => {
                record::record(state, attempt.id, StripeReport::from_payment_intent(now), Cause::Admin, actor).await?;
                return Err(Refusal::PaidMeanwhile.into());
            }
        }
    }
    let txn = db::begin_write(&state.db).await?;
    let row = echeances::lock(&txn, id).await?;
    if row.status == EcheanceStatus::EnAttente
        && let Some(attempt) = attempts::of(&txn, row.id, row.current_attempt_no).await?
        && attempt.payment_intent_id.is_some()
    {
        // Stripe is not called under a database lock.
        txn.rollback().await?;
        let recorded = cancel_attempt(state, &attempt, Cause::Admin, actor, Some(PaymentEvent::Canceled)).await?;
        return match recorded.applied {
            Some(applied) if applied.to == EcheanceStatus::Payee => Err(Refusal::PaidMeanwhile.into()),
            _ if recorded.outcome != AttemptOutcome::Canceled => Err(Refusal::CancelNotConfirmed.into()),
            Some(applied) => match applied.refused {
                Some(refused) => Err(Refusal::from(refused).into()),
                None => Ok(applied.to),
            },
            // The attempt was no longer the échéance's current one: nothing moved.
            None => Err(Refusal::CancelNotConfirmed.into()),
        };
    }
    let applied = transitions::apply(state, &txn, id, PaymentEvent::Canceled, Cause::Admin, actor, None).await?;
    txn.commit().await?;
    match applied.refused {
        Some(refused) => Err(Refusal::from(refused).into()),
        None => Ok(applied.to),
    }
}

/// Queues the 3D Secure email again for an échéance waiting for its customer.
///
/// # Errors
/// `Refused` when it is not waiting, its link expired or its plan is of the other Stripe mode,
/// database failure.
pub async fn resend_authentication_email(state: &AppState, id: EcheanceId) -> Result<(), ServiceError> {
    let row = echeances::get(&state.db, id).await?;
    if row.status != EcheanceStatus::EnAttente {
        return Err(Refusal::NotAwaitingAuthentication.into());
    }
    // Its page would refuse the customer: its PaymentIntent is out of these keys' reach.
    if crate::ssr::services::plans::of_other_mode(&state.db, state, &row).await?.is_some() {
        return Err(Refusal::OtherMode.into());
    }
    let attempt = attempts::of(&state.db, row.id, row.current_attempt_no).await?.ok_or(ServiceError::NotFound)?;
    let pi = attempt.payment_intent_id.clone().ok_or(Refusal::NothingToAuthenticate)?;
    let customer = user::Entity::find_by_id(row.user_id).one(&state.db).await?.ok_or(ServiceError::NotFound)?;
    let locale = Locale::from_code(&customer.locale);
    let now = state.now_ms();
    let expires_ms = attempt.token_expires_at.filter(|t| *t > now).ok_or(Refusal::LinkExpired)?;
    let mut context = effects::email_context(state, &row, &customer, locale)?;
    effects::add_recovery_link(state, &mut context, &pi, expires_ms, locale);
    let kind = EmailKind::AuthenticationRequired;
    let resends = email_outbox::Entity::find()
        .filter(email_outbox::Column::EcheanceId.eq(row.id))
        .filter(email_outbox::Column::Kind.eq(kind))
        .count(&state.db)
        .await?;
    let (_, attempt_no) = attempts::ids(&attempt)?;
    let dedup_key = kind.resend_key(id, attempt_no, resends);
    let email = NewEmail { send_after: now, ..NewEmail::about(&row, &customer, kind, dedup_key, context) };
    outbox::enqueue(&state.db, email, now).await?;
    state.wake.outbox.notify_one();
    Ok(())
}

/// An admin marks the money that the original site's Checkout Session of a cancelled échéance
/// collected as reviewed (refunded on Stripe, or kept: decided outside): the session is unlinked,
/// so the reconciler stops reporting it as drift, and the échéance's audit trail says who looked
/// at what Stripe collected. Only a cancelled échéance still linked to a session Stripe says
/// paid: one still to collect is cancelled first (nothing is charged over that money).
///
/// # Errors
/// `Refused(NothingToReview)` (not cancelled, no session, or a session Stripe does not say
/// paid), `Unavailable` when Stripe does not answer, database failure.
pub async fn review_legacy_payment(state: &AppState, id: EcheanceId, admin: UserId) -> Result<(), ServiceError> {
    let row = echeances::get(&state.db, id).await?;
    let (EcheanceStatus::Annulee, Some(session_id)) = (row.status, row.checkout_session_id.as_deref()) else {
        return Err(Refusal::NothingToReview.into());
    };
    // Only money Stripe says the session collected is reviewed here; one that never collected
    // (expired, failed) is unlinked by the reconciler, one still open or processing is not touched.
    let session = state.gateway.retrieve_checkout_session(session_id).await?;
    if !session.is_paid() {
        return Err(Refusal::NothingToReview.into());
    }
    let txn = db::begin_write(&state.db).await?;
    let locked = echeances::lock(&txn, id).await?;
    if locked.status != EcheanceStatus::Annulee || locked.checkout_session_id != row.checkout_session_id {
        return Err(Refusal::NothingToReview.into());
    }
    echeance::Entity::update_many()
        .col_expr(echeance::Column::CheckoutSessionId, Expr::value(Option::<String>::None))
        .filter(echeance::Column::Id.eq(locked.id))
        .exec(&txn)
        .await?;
    let actor = crate::domain::Actor::Admin(admin.get()).stored();
    let detail = format!("checkout_session={session_id} {}: reviewed, unlinked", session.summary());
    transitions::note(&txn, &locked, "LegacyPaymentReviewed", Cause::Admin, &actor, detail, state.now_ms()).await?;
    txn.commit().await?;
    tracing::info!(echeance.id = locked.id, checkout_session = session_id, "legacy payment reviewed: unlinked");
    Ok(())
}
