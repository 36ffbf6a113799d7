//! Charge-attempt queries shared by several services.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, NullOrdering};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, Select};

use crate::domain::{AttemptNo, AttemptOutcome, EcheanceId, IdempotencyKey, KeyPurpose, key_scope};
use crate::ssr::entities::charge_attempt;
use crate::ssr::payments::types::PaymentIntentSnapshot;
use crate::ssr::services::error::ServiceError;

/// The attempts of échéance `echeance`.
fn of_echeance(echeance: i64) -> Select<charge_attempt::Entity> {
    charge_attempt::Entity::find().filter(charge_attempt::Column::EcheanceId.eq(echeance))
}

/// Attempt `attempt_no` of échéance `echeance` (the current one: `echeance.current_attempt_no`).
///
/// # Errors
/// Database failure.
pub async fn of(
    db: &impl ConnectionTrait,
    echeance: i64,
    attempt_no: i32,
) -> Result<Option<charge_attempt::Model>, ServiceError> {
    Ok(of_echeance(echeance).filter(charge_attempt::Column::AttemptNo.eq(attempt_no)).one(db).await?)
}

/// The attempts of échéance `echeance` numbered below `before` whose PaymentIntent may
/// still collect ([`AttemptOutcome::may_still_collect`]) and was not stopped since, newest
/// first: each of them, not only the latest, is stopped before the échéance is charged
/// again or cancelled.
///
/// # Errors
/// Database failure.
pub async fn unstopped_below(
    db: &impl ConnectionTrait,
    echeance: i64,
    before: i32,
) -> Result<Vec<charge_attempt::Model>, ServiceError> {
    Ok(of_echeance(echeance)
        .filter(charge_attempt::Column::AttemptNo.lt(before))
        .filter(charge_attempt::Column::PaymentIntentId.is_not_null())
        .filter(
            charge_attempt::Column::Outcome
                .is_in(AttemptOutcome::ALL.iter().copied().filter(|o| o.may_still_collect())),
        )
        .filter(charge_attempt::Column::StoppedAt.is_null())
        .order_by_desc(charge_attempt::Column::AttemptNo)
        .all(db)
        .await?)
}

/// Narrows `query` to the attempts of échéance `echeance` other than `paying` whose PaymentIntent
/// may still collect, was not stopped, and waits for no answer of Stripe (declined, or awaiting
/// 3D Secure): once `paying` succeeded, they are superseded.
fn superseded<Q: QueryFilter>(query: Q, echeance: i64, paying: i64) -> Q {
    query
        .filter(charge_attempt::Column::EcheanceId.eq(echeance))
        .filter(charge_attempt::Column::Id.ne(paying))
        .filter(charge_attempt::Column::PaymentIntentId.is_not_null())
        .filter(
            charge_attempt::Column::Outcome
                .is_in(AttemptOutcome::ALL.iter().copied().filter(|o| o.may_still_collect() && !o.needs_follow_up())),
        )
        .filter(charge_attempt::Column::StoppedAt.is_null())
}

/// Attempt `paying` of échéance `echeance` succeeded: every other attempt whose PaymentIntent could
/// still collect is marked for the follow-up worker ([`crate::ssr::services::charge::resume`]) at
/// `at`, which stops it then — written in the success's transaction, so a cancel Stripe does not
/// answer at once is asked again. Returns how many were marked.
///
/// # Errors
/// Database failure.
pub async fn mark_superseded(
    db: &impl ConnectionTrait,
    echeance: i64,
    paying: i64,
    at: i64,
) -> Result<u64, ServiceError> {
    let marked = charge_attempt::Entity::update_many().col_expr(charge_attempt::Column::NextCheckAt, Expr::value(at));
    Ok(superseded(marked, echeance, paying).exec(db).await?.rows_affected)
}

/// The attempts [`mark_superseded`] marks, newest first.
///
/// # Errors
/// Database failure.
pub async fn superseded_by(
    db: &impl ConnectionTrait,
    echeance: i64,
    paying: i64,
) -> Result<Vec<charge_attempt::Model>, ServiceError> {
    let others = superseded(charge_attempt::Entity::find(), echeance, paying);
    Ok(others.order_by_desc(charge_attempt::Column::AttemptNo).all(db).await?)
}

/// Attempt `id` needs no further check unless its outcome awaits an answer (a superseded attempt, stopped).
///
/// # Errors
/// Database failure.
pub async fn checked(db: &impl ConnectionTrait, id: i64) -> Result<(), ServiceError> {
    charge_attempt::Entity::update_many()
        .col_expr(charge_attempt::Column::NextCheckAt, Expr::value(Option::<i64>::None))
        .filter(charge_attempt::Column::Id.eq(id))
        .filter(
            charge_attempt::Column::Outcome
                .is_not_in(AttemptOutcome::ALL.iter().copied().filter(|o| o.needs_follow_up())),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Records that attempt `id`'s PaymentIntent can no longer collect (cancelled on Stripe,
/// or unknown to it), at `now` (the first time only).
///
/// # Errors
/// Database failure.
pub async fn mark_stopped(db: &impl ConnectionTrait, id: i64, now: i64) -> Result<(), ServiceError> {
    charge_attempt::Entity::update_many()
        .col_expr(charge_attempt::Column::StoppedAt, Expr::value(now))
        .filter(charge_attempt::Column::Id.eq(id))
        .filter(charge_attempt::Column::StoppedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The attempt that created PaymentIntent `payment_intent`.
///
/// # Errors
/// Database failure.
pub async fn by_payment_intent(
    db: &impl ConnectionTrait,
    payment_intent: &str,
) -> Result<Option<charge_attempt::Model>, ServiceError> {
    Ok(charge_attempt::Entity::find()
        .filter(charge_attempt::Column::PaymentIntentId.eq(payment_intent))
        .one(db)
        .await?)
}

/// The typed ids of an attempt row.
///
/// # Errors
/// A row whose ids do not parse.
pub fn ids(attempt: &charge_attempt::Model) -> Result<(EcheanceId, AttemptNo), ServiceError> {
    let echeance = EcheanceId::new(attempt.echeance_id).map_err(anyhow::Error::from)?;
    let attempt_no = AttemptNo::new(attempt.attempt_no).map_err(anyhow::Error::from)?;
    Ok((echeance, attempt_no))
}

/// The idempotency key of `purpose` for `attempt`: its charge key with the
/// purpose's suffix (`…-cancel`, `…-rearm-2`), so an attempt's operations
/// share its key's installation, epoch and numbers — also for an attempt
/// found on Stripe after a restore, whose number here is not the one its key
/// was made with. A re-arm made in a later epoch than the attempt's also
/// names the epoch: a restored database counts re-arms again from the backup's count.
///
/// # Errors
/// A row whose ids do not parse.
pub fn key(
    installation: &str,
    epoch: i32,
    attempt: &charge_attempt::Model,
    purpose: KeyPurpose,
) -> Result<IdempotencyKey, ServiceError> {
    let (echeance, attempt_no) = ids(attempt)?;
    let own = attempt.idempotency_key.strip_suffix("-charge").map_or_else(
        || Ok(IdempotencyKey::for_attempt(&key_scope(installation, attempt.epoch), echeance, attempt_no, purpose)),
        |base| IdempotencyKey::parse(&format!("{base}-{}", purpose.suffix())).map_err(anyhow::Error::from),
    )?;
    match purpose {
        KeyPurpose::Rearm(_) if epoch != attempt.epoch => {
            Ok(own.derived(&format!("r{epoch}")).map_err(anyhow::Error::from)?)
        }
        _ => Ok(own),
    }
}

/// The attempt that paid échéance `echeance`: its first success recorded (a
/// later one is a duplicate collection). A success without its time (written before
/// successes were dated) is the earliest, on SQLite and PostgreSQL alike (they sort
/// NULL apart by default: first, last).
///
/// # Errors
/// Database failure.
pub async fn paying(db: &impl ConnectionTrait, echeance: i64) -> Result<Option<charge_attempt::Model>, ServiceError> {
    Ok(of_echeance(echeance)
        .filter(charge_attempt::Column::Outcome.eq(AttemptOutcome::Succeeded))
        .order_by_with_nulls(charge_attempt::Column::FinishedAt, Order::Asc, NullOrdering::First)
        .order_by_asc(charge_attempt::Column::Id)
        .one(db)
        .await?)
}

/// The PaymentIntent that paid each of échéances `echeances` that one paid (that of
/// [`paying`]), by échéance: read a few hundred échéances at a time.
///
/// # Errors
/// Database failure.
pub async fn paying_payment_intents(
    db: &impl ConnectionTrait,
    echeances: &[i64],
) -> Result<HashMap<i64, String>, ServiceError> {
    let mut paid = HashMap::new();
    for some in echeances.chunks(500) {
        let successes = charge_attempt::Entity::find()
            .filter(charge_attempt::Column::EcheanceId.is_in(some.iter().copied()))
            .filter(charge_attempt::Column::Outcome.eq(AttemptOutcome::Succeeded))
            .order_by_with_nulls(charge_attempt::Column::FinishedAt, Order::Asc, NullOrdering::First)
            .order_by_asc(charge_attempt::Column::Id)
            .all(db)
            .await?;
        for attempt in successes {
            if let std::collections::hash_map::Entry::Vacant(first) = paid.entry(attempt.echeance_id) {
                first.insert(attempt.payment_intent_id);
            }
        }
    }
    Ok(paid.into_iter().filter_map(|(echeance, pi)| Some((echeance, pi?))).collect())
}

/// The attempt a PaymentIntent belongs to: by its id, else by our metadata —
/// and then only when it carries our installation id and the customer matches
/// too, since ids alone could come from another database sharing the Stripe
/// account — and only for an attempt that does not know its PaymentIntent yet
/// (one that knows it is never matched to another by metadata).
///
/// # Errors
/// Database failure.
pub async fn of_snapshot(
    db: &impl ConnectionTrait,
    pi: &PaymentIntentSnapshot,
    installation: &str,
) -> Result<Option<charge_attempt::Model>, ServiceError> {
    if let Some(found) = by_payment_intent(db, &pi.id).await? {
        return Ok(Some(found));
    }
    let Some(r) = pi.attempt_ref(installation) else {
        return Ok(None);
    };
    let found = of(db, r.echeance, r.attempt).await?;
    let same_customer =
        |a: &charge_attempt::Model| pi.customer.as_ref().is_some_and(|c| c.id() == a.stripe_customer_id);
    // After a restore, attempt numbers are handed out again: only the same epoch's attempt is this one.
    Ok(found.filter(|a| a.epoch == r.epoch).filter(same_customer).filter(|a| a.payment_intent_id.is_none()))
}
