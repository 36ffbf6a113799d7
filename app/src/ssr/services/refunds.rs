//! Giving money back: an admin refunds all or part of a collected échéance.
//!
//! 1. One transaction, under the échéance's lock, checks what can still be
//!    refunded and writes refund *n* (the number of refunds the admin's page
//!    showed) with its deterministic idempotency key: twenty clicks on the same
//!    page ask for the same refund, and the first one's row answers the others.
//! 2. Stripe is asked with that key, for the PaymentIntent that collected the
//!    money (not always the échéance's current one).
//! 3. Stripe's answer sets the refund's own status. The échéance moves only
//!    when Stripe says the money moved: `charge.refunded` and the refund
//!    webhooks, and the reconciler — never the button. An answer that was lost
//!    leaves the refund *requested*, asked again with the same key by [`resume`].
//!
//! Every change of a refund (asked, listed from Stripe, its status moved) writes a note on its
//! échéance's timeline in the same transaction ([`transitions::note`]): the admin reads when
//! it happened and who said so, and the screens open on the échéance reload.

use anyhow::anyhow;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::error::ServiceError;
use super::outgoing;
use super::plans::By;
use super::transitions::{self, Cause};
use crate::domain::refund::{amount_refunded, refund_key, refundable};
use crate::domain::{
    Actor, Amount, Currency, EcheanceId, EcheanceStatus, Field, HostEvent, IdempotencyKey, Invalid, Money, RefundNews,
    RefundReason, RefundStatus, Refusal, SystemJob, UserId,
};
use crate::ssr::clock::stripe_created_ms;
use crate::ssr::entities::{echeance, refund};
use crate::ssr::payments::types::{IdOrObject, RefundSnapshot};
use crate::ssr::payments::{GatewayError, RefundRequest};
use crate::ssr::repo::{attempts, echeances, queue};
use crate::ssr::state::AppState;
use crate::ssr::{db, installation};

/// What an admin asks: refund `amount` of échéance `echeance`, for `reason`,
/// having seen `seen` refunds of it on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ask {
    /// The échéance.
    pub echeance: EcheanceId,
    /// How many refunds of it the admin's page listed (the new one's rank).
    pub seen: i32,
    /// How much goes back.
    pub amount: Amount,
    /// Why.
    pub reason: RefundReason,
}

impl Ask {
    /// Reads the dashboard's form: nothing is refunded without its « je confirme » box.
    ///
    /// # Errors
    /// The field that does not read.
    pub fn read(echeance: EcheanceId, seen: i32, amount: &str, reason: &str, confirmed: bool) -> Result<Self, Invalid> {
        if !confirmed {
            return Err(Invalid::Field(Field::Confirmation));
        }
        let amount = Amount::parse_decimal(amount).map_err(|_| Invalid::Field(Field::Amount))?;
        let reason = RefundReason::parse(reason).map_err(|_| Invalid::Field(Field::Reason))?;
        Ok(Self { echeance, seen, amount, reason })
    }
}

/// How long an unanswered refund waits before [`resume`] asks again: longer than the adapter's own tries last.
fn first_check_after_ms(state: &AppState) -> i64 {
    i64::try_from((state.settings.stripe_timeout * 5).as_millis()).unwrap_or(i64::MAX).saturating_add(30_000)
}
/// Stripe keeps idempotency keys at least this long.
const KEY_RETENTION_MS: i64 = 23 * 3_600_000;

/// Refunds what `ask` says, on behalf of admin `admin`; returns where the refund stands.
///
/// # Errors
/// `NotFound`; `Refused` (not collected, disputed, fully refunded, the refunds changed since
/// the page was read, Stripe refused it); `Invalid` (more than can still be refunded); database failure.
#[tracing::instrument(skip(state), fields(echeance.id = %ask.echeance))]
pub async fn refund(state: &AppState, ask: Ask, admin: UserId) -> Result<RefundStatus, ServiceError> {
    let actor = Actor::Admin(admin.get()).stored();
    let by = By { cause: Cause::Admin, actor: &actor, now: state.now_ms() };
    let row = match write(state, ask, &by).await? {
        Written::New(row) => row,
        // The same click again: its refund answers (asked again by `resume` if unanswered).
        Written::Same(row) => return Ok(row.status),
    };
    send(state, &row, &by).await
}

/// Refunds everything a plan's échéances collected that is left to refund (a cancelled
/// plan's money going back, on one confirmation): one refund per échéance, each written and
/// tracked as any other. Returns how many were asked of Stripe, and how many Stripe refused.
///
/// # Errors
/// Database failure.
pub async fn refund_plan(state: &AppState, plan_id: i64, admin: UserId) -> Result<(u32, u32), ServiceError> {
    let collected = echeance::Entity::find()
        .filter(echeance::Column::PaymentPlanId.eq(plan_id))
        .filter(echeance::Column::Status.eq(EcheanceStatus::Payee))
        .order_by_asc(echeance::Column::Seq)
        .all(&state.db)
        .await?;
    let (mut asked, mut refused) = (0_u32, 0_u32);
    for row in collected {
        let existing = of(&state.db, row.id).await?;
        let left = refundable(row.amount_cents, existing.iter().map(|r| (r.status, r.amount_cents)));
        let Ok(amount) = Amount::from_minor(left) else { continue };
        let ask = Ask {
            echeance: echeances::id(&row)?,
            seen: i32::try_from(existing.len()).map_err(anyhow::Error::from)?,
            amount,
            reason: RefundReason::RequestedByCustomer,
        };
        match refund(state, ask, admin).await {
            Ok(_) => asked += 1,
            // Paid, disputed or refunded meanwhile: that one's own state says why.
            Err(ServiceError::Refused(refusal)) => {
                tracing::warn!(echeance.id = row.id, %refusal, "not refunded with its plan");
                refused += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Ok((asked, refused))
}

enum Written {
    New(refund::Model),
    Same(refund::Model),
}

/// Step 1: check and write the refund, under the échéance's lock.
async fn write(state: &AppState, ask: Ask, by: &By<'_>) -> Result<Written, ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let echeance = echeances::lock(&txn, ask.echeance).await?;
    let existing = of(&txn, echeance.id).await?;
    let key = refund_key(&state.key_scope, ask.echeance, ask.seen).map_err(anyhow::Error::from)?;
    if let Some(same) = existing.iter().find(|r| r.seq == ask.seen) {
        // The same click again — not a refund made elsewhere meanwhile that took this rank.
        return if same.idempotency_key == key.as_str()
            && same.amount_cents == ask.amount.minor()
            && same.reason == Some(ask.reason)
        {
            Ok(Written::Same(same.clone()))
        } else {
            Err(Refusal::RefundsChanged.into())
        };
    }
    if usize::try_from(ask.seen).ok() != Some(existing.len()) {
        return Err(Refusal::RefundsChanged.into());
    }
    match echeance.status {
        EcheanceStatus::Payee => {}
        EcheanceStatus::Contestee => return Err(Refusal::Disputed.into()),
        EcheanceStatus::Remboursee => return Err(Refusal::FullyRefunded.into()),
        _ => return Err(Refusal::NotCollected.into()),
    }
    // A restored database does not know the refunds made after its backup.
    if installation::restore_pending(&txn).await?.is_some() {
        return Err(Refusal::RestorePending.into());
    }
    // Its payment is in the other mode on Stripe, out of these keys' reach.
    if super::plans::of_other_mode(&txn, state, &echeance).await?.is_some() {
        return Err(Refusal::OtherMode.into());
    }
    let payment_intent = paying_intent(&txn, &echeance).await?.ok_or(Refusal::NotCollected)?;
    let money = echeances::money(&echeance)?;
    let left = refundable(money.amount.minor(), existing.iter().map(|r| (r.status, r.amount_cents)));
    if left == 0 {
        return Err(Refusal::FullyRefunded.into());
    }
    if ask.amount.minor() > left {
        let left = Amount::from_minor(left).map_err(anyhow::Error::from)?;
        return Err(Invalid::RefundTooLarge(Money { amount: left, currency: money.currency }).into());
    }
    let now = state.now_ms();
    let row = refund::ActiveModel {
        echeance_id: Set(echeance.id),
        seq: Set(ask.seen),
        payment_intent_id: Set(payment_intent),
        amount_cents: Set(ask.amount.minor()),
        currency: Set(money.currency.code().to_owned()),
        reason: Set(Some(ask.reason)),
        idempotency_key: Set(key.as_str().to_owned()),
        status: Set(RefundStatus::Requested),
        stripe_refund_id: Set(None),
        failure_reason: Set(None),
        requested_by: Set(by.actor.to_owned()),
        stripe_calls: Set(0),
        next_check_at: Set(Some(now.saturating_add(first_check_after_ms(state)))),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    tell(state, &txn, (&echeance, &row), None, by, now).await?;
    txn.commit().await?;
    tracing::info!(refund.id = row.id, amount = row.amount_cents, "refund written");
    Ok(Written::New(row))
}

/// The PaymentIntent that collected échéance `echeance`'s money: the first
/// success recorded, or the original site's Checkout payment.
async fn paying_intent(db: &impl ConnectionTrait, echeance: &echeance::Model) -> Result<Option<String>, ServiceError> {
    Ok(match attempts::paying(db, echeance.id).await? {
        Some(attempt) => attempt.payment_intent_id,
        None => echeance.current_payment_intent_id.clone(),
    })
}

/// The refunds of échéance `echeance`, by rank.
///
/// # Errors
/// Database failure.
pub async fn of(db: &impl ConnectionTrait, echeance: i64) -> Result<Vec<refund::Model>, ServiceError> {
    of_all(db, [echeance]).await
}

/// The refunds of échéances `echeances`, by échéance then rank.
///
/// # Errors
/// Database failure.
pub async fn of_all(
    db: &impl ConnectionTrait,
    echeances: impl IntoIterator<Item = i64>,
) -> Result<Vec<refund::Model>, ServiceError> {
    Ok(refund::Entity::find()
        .filter(refund::Column::EcheanceId.is_in(echeances))
        .order_by_asc(refund::Column::EcheanceId)
        .order_by_asc(refund::Column::Seq)
        .all(db)
        .await?)
}

/// Step 2: asks Stripe (again, with the same key) and records its answer on the refund.
async fn send(state: &AppState, row: &refund::Model, by: &By<'_>) -> Result<RefundStatus, ServiceError> {
    let request = RefundRequest {
        payment_intent: row.payment_intent_id.clone(),
        amount: Amount::from_minor(row.amount_cents).map_err(anyhow::Error::from)?,
        reason: row.reason.ok_or_else(|| anyhow!("refund {} was not asked for here", row.id))?,
        echeance_id: echeances::id_of(row.echeance_id)?,
        seq: row.seq,
        installation: state.installation_id.to_string(),
    };
    let key = IdempotencyKey::parse(&row.idempotency_key).map_err(anyhow::Error::from)?;
    refund::Entity::update_many()
        .col_expr(refund::Column::StripeCalls, Expr::col(refund::Column::StripeCalls).add(1))
        .filter(refund::Column::Id.eq(row.id))
        .exec(&state.db)
        .await?;
    match state.gateway.create_refund(&request, &key).await {
        Ok(answer) => Ok(record(state, row.id, &answer, by).await?),
        Err(e) if e.outcome_unknown() => {
            tracing::warn!(refund.id = row.id, error = %e, "refund sent, answer unknown: asked again later");
            Ok(RefundStatus::Requested)
        }
        Err(e) => {
            let why = refusal_of(&e);
            tracing::warn!(refund.id = row.id, error = %e, "Stripe refused the refund");
            settle(state, row, RefundStatus::Refused, &why, by).await?;
            Err(e.into())
        }
    }
}

/// Stripe's code for a refusal (`charge_disputed`, `amount_too_large`…), never its English
/// message: the page words the codes it knows and shows the others as they are.
fn refusal_of(e: &GatewayError) -> String {
    match e {
        GatewayError::Rejected { detail, .. } | GatewayError::Card { detail, .. } => {
            detail.code.clone().unwrap_or_else(|| "stripe_refused".to_owned())
        }
        GatewayError::Transient { .. } | GatewayError::Decode(_) => "stripe_unavailable".to_owned(),
    }
}

/// Writes what Stripe says of refund row `id` (a final status stays, see [`RefundStatus::updated_by`]).
async fn record(state: &AppState, id: i64, answer: &RefundSnapshot, by: &By<'_>) -> Result<RefundStatus, ServiceError> {
    let Some(row) = refund::Entity::find_by_id(id).one(&state.db).await? else {
        return Err(ServiceError::NotFound);
    };
    update_from(state, row, answer, by).await
}

/// Writes refund `row`'s news on its échéance's history, in `txn`, at `at`: new (`became`
/// none), or moved from its status to `became`'s (with why it failed or was refused).
async fn tell(
    state: &AppState,
    txn: &sea_orm::DatabaseTransaction,
    (echeance, row): (&echeance::Model, &refund::Model),
    became: Option<(RefundStatus, Option<&str>)>,
    by: &By<'_>,
    at: i64,
) -> Result<(), ServiceError> {
    let news = RefundNews {
        seq: row.seq,
        amount: row.amount_cents,
        currency: Currency::parse(&row.currency).map_err(anyhow::Error::from)?,
        refund: row.stripe_refund_id.clone(),
        from: became.map(|_| row.status),
        to: became.map_or(row.status, |(to, _)| to),
        why: match became {
            Some((_, why)) => why.map(str::to_owned),
            // Listed already failed (made elsewhere): the bank's reason it carries.
            None => row.failure_reason.clone(),
        },
    };
    let detail = serde_json::to_string(&news).map_err(anyhow::Error::from)?;
    transitions::note(txn, echeance, RefundNews::EVENT, by.cause, by.actor, detail, at).await?;
    // Money went back to the customer, or came back from the bank: whether or not the
    // échéance's status follows (a refund of part leaves it « payée »), the host hears of it.
    let went_back = news.to.went_back();
    if went_back != news.from.is_some_and(RefundStatus::went_back) {
        money_moved(state, txn, (echeance, went_back), at).await?;
    }
    Ok(())
}

/// A refund of `echeance` (locked in `txn`) went back (`went_back`) or came back:
/// its version grows, as at any change the host can read (`amount_refunded_cents`), and the
/// host is told unless the échéance's change of status tells it ([`HostEvent::of_refund`]).
async fn money_moved(
    state: &AppState,
    txn: &sea_orm::DatabaseTransaction,
    (echeance, went_back): (&echeance::Model, bool),
    now: i64,
) -> Result<(), ServiceError> {
    let bumped = echeance::Entity::update_many()
        .col_expr(echeance::Column::Version, Expr::col(echeance::Column::Version).add(1))
        .col_expr(echeance::Column::UpdatedAt, Expr::value(now))
        .filter(echeance::Column::Id.eq(echeance.id))
        .filter(echeance::Column::Version.eq(echeance.version))
        .exec(txn)
        .await?;
    if bumped.rows_affected != 1 {
        return Err(anyhow!("échéance {} changed under a held lock", echeance.id).into());
    }
    let after = echeance::Model { version: echeance.version + 1, updated_at: now, ..echeance.clone() };
    let gone = amount_refunded(of(txn, after.id).await?.iter().map(|r| (r.status, r.amount_cents)));
    if let Some(kind) = HostEvent::of_refund(after.status, went_back, gone, after.amount_cents)
        && outgoing::events::echeance_news(txn, &after, kind, now, super::host_api::keys::current_mode(state)).await?
    {
        state.wake.host.notify_one();
    }
    Ok(())
}

/// Applies Stripe's report to a refund row: a compare-and-set on the status it was read
/// with, read again and decided again when another report (a webhook, the answer, the
/// reconciler) wrote in between — so a final status is never overwritten by an older one.
async fn update_from(
    state: &AppState,
    mut row: refund::Model,
    answer: &RefundSnapshot,
    by: &By<'_>,
) -> Result<RefundStatus, ServiceError> {
    let reported = answer.known_status().unwrap_or(RefundStatus::Pending);
    loop {
        let status = row.status.updated_by(reported);
        let failure = answer.failure_reason.clone().filter(|_| status == RefundStatus::Failed);
        let same_failure = failure.is_none() || failure == row.failure_reason;
        if status == row.status && row.stripe_refund_id.as_deref() == Some(answer.id.as_str()) && same_failure {
            return Ok(status);
        }
        // The échéance first, as every writer of its refunds takes it.
        let txn = db::begin_write(&state.db).await?;
        let echeance = echeances::lock(&txn, echeances::id_of(row.echeance_id)?).await?;
        let mut update = refund::Entity::update_many()
            .col_expr(refund::Column::Status, Expr::value(status))
            .col_expr(refund::Column::StripeRefundId, Expr::value(Some(answer.id.clone())))
            .col_expr(refund::Column::NextCheckAt, Expr::value(Option::<i64>::None))
            .col_expr(refund::Column::UpdatedAt, Expr::value(state.now_ms()));
        if failure.is_some() {
            update = update.col_expr(refund::Column::FailureReason, Expr::value(failure.clone()));
        }
        let written = update
            .filter(refund::Column::Id.eq(row.id))
            .filter(refund::Column::Status.eq(row.status))
            .exec(&txn)
            .await?;
        if written.rows_affected == 1 {
            if status != row.status {
                let row = refund::Model { stripe_refund_id: Some(answer.id.clone()), ..row };
                tell(state, &txn, (&echeance, &row), Some((status, failure.as_deref())), by, state.now_ms()).await?;
            }
            txn.commit().await?;
            return Ok(status);
        }
        txn.rollback().await?;
        row = refund::Entity::find_by_id(row.id).one(&state.db).await?.ok_or(ServiceError::NotFound)?;
    }
}

/// A refund that will not happen: refused by Stripe, or never made. Only a refund still
/// *requested* is settled so (a report that came meanwhile says more).
async fn settle(
    state: &AppState,
    row: &refund::Model,
    status: RefundStatus,
    why: &str,
    by: &By<'_>,
) -> Result<(), ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let echeance = echeances::lock(&txn, echeances::id_of(row.echeance_id)?).await?;
    let written = refund::Entity::update_many()
        .col_expr(refund::Column::Status, Expr::value(status))
        .col_expr(refund::Column::FailureReason, Expr::value(Some(why.to_owned())))
        .col_expr(refund::Column::NextCheckAt, Expr::value(Option::<i64>::None))
        .col_expr(refund::Column::UpdatedAt, Expr::value(state.now_ms()))
        .filter(refund::Column::Id.eq(row.id))
        .filter(refund::Column::Status.eq(RefundStatus::Requested))
        .exec(&txn)
        .await?;
    if written.rows_affected == 1 {
        let row = refund::Model { status: RefundStatus::Requested, ..row.clone() };
        tell(state, &txn, (&echeance, &row), Some((status, Some(why))), by, state.now_ms()).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What Stripe says of a refund (a webhook, the reconciler's listing): the
/// row it belongs to is brought up to date — found by its id, or by our
/// metadata when the answer to our request was lost; a refund made elsewhere
/// (Stripe's Dashboard) of a PaymentIntent that paid an échéance is added to
/// that échéance's refunds. Returns the échéance it is about, if any.
///
/// # Errors
/// Database failure.
pub async fn observe(state: &AppState, snapshot: &RefundSnapshot, by: &By<'_>) -> Result<Option<i64>, ServiceError> {
    let by_id = refund::Entity::find().filter(refund::Column::StripeRefundId.eq(&snapshot.id)).one(&state.db).await?;
    let row = match by_id {
        Some(row) => Some(row),
        None => ours_by_metadata(state, snapshot).await?,
    };
    if let Some(row) = row {
        let echeance = row.echeance_id;
        update_from(state, row, snapshot, by).await?;
        return Ok(Some(echeance));
    }
    made_elsewhere(state, snapshot, by).await
}

async fn ours_by_metadata(state: &AppState, snapshot: &RefundSnapshot) -> Result<Option<refund::Model>, ServiceError> {
    let Some(metadata) = &snapshot.metadata else { return Ok(None) };
    if metadata.get("installation").map(String::as_str) != Some(&*state.installation_id) {
        return Ok(None);
    }
    let (Some(echeance), Some(seq)) = (
        metadata.get("echeance_id").and_then(|v| v.parse::<i64>().ok()),
        metadata.get("refund").and_then(|v| v.parse::<i32>().ok()),
    ) else {
        return Ok(None);
    };
    Ok(refund::Entity::find()
        .filter(refund::Column::EcheanceId.eq(echeance))
        .filter(refund::Column::Seq.eq(seq))
        .one(&state.db)
        .await?)
}

/// A refund made outside the product, of a PaymentIntent that paid an échéance: listed with its refunds.
async fn made_elsewhere(state: &AppState, snapshot: &RefundSnapshot, by: &By<'_>) -> Result<Option<i64>, ServiceError> {
    let Some(pi) = snapshot.payment_intent.as_ref().map(|p| p.id().to_owned()) else { return Ok(None) };
    let Some(attempt) = attempts::by_payment_intent(&state.db, &pi).await? else {
        // The original site's Checkout: the échéance names the session's PaymentIntent.
        let legacy = echeance::Entity::find()
            .filter(echeance::Column::CurrentPaymentIntentId.eq(&pi))
            .filter(echeance::Column::CheckoutSessionId.is_not_null())
            .one(&state.db)
            .await?;
        return match legacy {
            Some(e) => add_elsewhere(state, &e, &pi, snapshot, by).await,
            None => Ok(None),
        };
    };
    let paying = attempts::paying(&state.db, attempt.echeance_id).await?;
    if paying.map(|p| p.id) != Some(attempt.id) {
        // A refund of a PaymentIntent that did not pay (a duplicate): it moves nothing here.
        return Ok(None);
    }
    let echeance = echeances::get(&state.db, echeances::id_of(attempt.echeance_id)?).await?;
    add_elsewhere(state, &echeance, &pi, snapshot, by).await
}

async fn add_elsewhere(
    state: &AppState,
    echeance: &echeance::Model,
    pi: &str,
    snapshot: &RefundSnapshot,
    by: &By<'_>,
) -> Result<Option<i64>, ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let locked = echeances::lock(&txn, echeances::id_of(echeance.id)?).await?;
    let known = refund::Entity::find().filter(refund::Column::StripeRefundId.eq(&snapshot.id)).one(&txn).await?;
    if let Some(known) = known {
        // Listed meanwhile (another instance, the same refund's earlier event): this report still counts.
        txn.rollback().await?;
        update_from(state, known, snapshot, by).await?;
        return Ok(Some(echeance.id));
    }
    let seq: i32 = refund::Entity::find()
        .filter(refund::Column::EcheanceId.eq(echeance.id))
        .select_only()
        .column_as(refund::Column::Seq.max(), "max")
        .into_tuple::<Option<i32>>()
        .one(&txn)
        .await?
        .flatten()
        .map_or(0, |max| max.saturating_add(1));
    let now = state.now_ms();
    let status = snapshot.known_status().unwrap_or(RefundStatus::Pending);
    let row = refund::ActiveModel {
        echeance_id: Set(echeance.id),
        seq: Set(seq),
        payment_intent_id: Set(pi.to_owned()),
        amount_cents: Set(snapshot.amount),
        currency: Set(Currency::parse(&echeance.currency).map_err(anyhow::Error::from)?.code().to_owned()),
        reason: Set(snapshot.reason.as_deref().and_then(|r| RefundReason::parse(r).ok())),
        idempotency_key: Set(format!("stripe:{}", snapshot.id)),
        status: Set(status),
        stripe_refund_id: Set(Some(snapshot.id.clone())),
        failure_reason: Set(snapshot.failure_reason.clone().filter(|_| status == RefundStatus::Failed)),
        requested_by: Set(crate::domain::Actor::Stripe(None).stored()),
        stripe_calls: Set(0),
        next_check_at: Set(None),
        created_at: Set(stripe_created_ms(snapshot.created, now)),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    tell(state, &txn, (&locked, &row), None, by, now).await?;
    txn.commit().await?;
    tracing::info!(echeance.id = echeance.id, refund = %snapshot.id, "a refund made outside the product, listed");
    Ok(Some(echeance.id))
}

/// Refunds written whose answer was never read: asked again with the same key
/// while Stripe keeps it, else looked up among the PaymentIntent's refunds (by
/// our metadata) — none there means none was made.
///
/// # Errors
/// Database failure.
pub async fn resume(state: &AppState, limit: u64) -> Result<usize, ServiceError> {
    // Restored from a backup: what was refunded after it is not known here (see `charge::resume`).
    if installation::restore_pending(&state.db).await?.is_some() {
        return Ok(0);
    }
    let now = state.now_ms();
    let due = refund::Entity::find()
        .filter(refund::Column::Status.eq(RefundStatus::Requested))
        .filter(refund::Column::NextCheckAt.lte(now))
        // Another mode's are out of these keys' reach (asked again, Stripe would refuse them as
        // unknown): they wait for their mode's keys.
        .filter(refund::Column::EcheanceId.in_subquery(super::plans::echeances_of_mode_in_use(state)))
        .order_by_asc(refund::Column::NextCheckAt)
        .limit(limit)
        .all(&state.db)
        .await?;
    let actor = Actor::System(SystemJob::Resume).stored();
    let by = By { cause: Cause::Reconciler, actor: &actor, now };
    let mut handled = 0;
    for row in due {
        if !queue::claim_check::<refund::Entity>(&state.db, row.id, row.next_check_at, now.saturating_add(5 * 60_000))
            .await?
        {
            continue;
        }
        handled += 1;
        let outcome = if now.saturating_sub(row.created_at) < KEY_RETENTION_MS {
            send(state, &row, &by).await.map(|_| ())
        } else {
            look_up(state, &row, &by).await
        };
        if let Err(e) = outcome {
            tracing::warn!(refund.id = row.id, error = %e, "could not settle the refund; will retry");
        }
    }
    Ok(handled)
}

/// Every refund Stripe has of PaymentIntent `payment_intent`, each naming it.
///
/// # Errors
/// Stripe unavailable or refusing.
pub async fn all_of(state: &AppState, payment_intent: &str) -> Result<Vec<RefundSnapshot>, ServiceError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = state.gateway.list_refunds_of(payment_intent, after.as_deref()).await?;
        let next = page.data.last().map(|last| last.id.clone()).filter(|_| page.has_more);
        all.extend(page.data.into_iter().map(|mut refund| {
            refund.payment_intent.get_or_insert_with(|| IdOrObject::Id(payment_intent.to_owned()));
            refund
        }));
        match next {
            Some(last) => after = Some(last),
            None => return Ok(all),
        }
    }
}

/// An old unanswered refund, whose key Stripe may have forgotten: found among its PaymentIntent's refunds, or given up.
async fn look_up(state: &AppState, row: &refund::Model, by: &By<'_>) -> Result<(), ServiceError> {
    for found in all_of(state, &row.payment_intent_id).await? {
        let ours = found.metadata.as_ref().is_some_and(|m| {
            m.get("installation").map(String::as_str) == Some(&*state.installation_id)
                && m.get("echeance_id") == Some(&row.echeance_id.to_string())
                && m.get("refund") == Some(&row.seq.to_string())
        });
        if ours {
            update_from(state, row.clone(), &found, by).await?;
            return Ok(());
        }
    }
    tracing::warn!(refund.id = row.id, "no refund on Stripe for an old unanswered request: none was made");
    settle(state, row, RefundStatus::Canceled, "never_sent", by).await
}
