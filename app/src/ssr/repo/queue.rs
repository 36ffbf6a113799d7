//! The work queues (the webhook inbox, the email outbox, and any later one):
//! their statuses, and the one way a worker claims a batch of due rows.

use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub use crate::domain::{HostDeliveryStatus, InboxStatus, OutboxStatus};
use crate::ssr::db;
use crate::ssr::entities::{charge_attempt, email_outbox, host_delivery, refund, stripe_event};

/// A table worked as a queue: `status`, `next_attempt_at`, `locked_until`.
pub trait QueueTable: EntityTrait {
    /// The primary key.
    const ID: Self::Column;
    /// The status column.
    const STATUS: Self::Column;
    /// When the row is due.
    const NEXT_ATTEMPT_AT: Self::Column;
    /// The claim's lease.
    const LOCKED_UNTIL: Self::Column;
    /// The status of rows waiting to be worked.
    fn pending() -> sea_orm::Value;
    /// A row's id.
    fn id_of(row: &Self::Model) -> i64;
}

impl QueueTable for stripe_event::Entity {
    const ID: Self::Column = stripe_event::Column::Id;
    const STATUS: Self::Column = stripe_event::Column::Status;
    const NEXT_ATTEMPT_AT: Self::Column = stripe_event::Column::NextAttemptAt;
    const LOCKED_UNTIL: Self::Column = stripe_event::Column::LockedUntil;
    fn pending() -> sea_orm::Value {
        InboxStatus::Pending.into()
    }
    fn id_of(row: &Self::Model) -> i64 {
        row.id
    }
}

impl QueueTable for email_outbox::Entity {
    const ID: Self::Column = email_outbox::Column::Id;
    const STATUS: Self::Column = email_outbox::Column::Status;
    const NEXT_ATTEMPT_AT: Self::Column = email_outbox::Column::NextAttemptAt;
    const LOCKED_UNTIL: Self::Column = email_outbox::Column::LockedUntil;
    fn pending() -> sea_orm::Value {
        OutboxStatus::Pending.into()
    }
    fn id_of(row: &Self::Model) -> i64 {
        row.id
    }
}

impl QueueTable for host_delivery::Entity {
    const ID: Self::Column = host_delivery::Column::Id;
    const STATUS: Self::Column = host_delivery::Column::Status;
    const NEXT_ATTEMPT_AT: Self::Column = host_delivery::Column::NextAttemptAt;
    const LOCKED_UNTIL: Self::Column = host_delivery::Column::LockedUntil;
    fn pending() -> sea_orm::Value {
        HostDeliveryStatus::Pending.into()
    }
    fn id_of(row: &Self::Model) -> i64 {
        row.id
    }
}

/// Takes up to `limit` due rows of queue `Q` for this process, oldest first:
/// `FOR UPDATE SKIP LOCKED` on PostgreSQL (another instance takes other rows),
/// SQLite's single writer otherwise; then a lease until `lease_until` so a
/// crashed worker's rows come back. Each row is [`renew`]ed before it is worked.
/// A lease taken back is always later than the one it replaces (it is taken
/// once that one has passed, on clocks that do not go back): the lease a worker
/// wrote says whether the row is still its.
///
/// # Errors
/// Database failure.
pub async fn claim<Q: QueueTable>(
    db: &DatabaseConnection,
    limit: u64,
    now: i64,
    lease_until: i64,
) -> Result<Vec<Q::Model>, DbErr> {
    let due = Q::find()
        .filter(Q::STATUS.eq(Q::pending()))
        .filter(Q::NEXT_ATTEMPT_AT.lte(now))
        .filter(Condition::any().add(Q::LOCKED_UNTIL.is_null()).add(Q::LOCKED_UNTIL.lt(now)))
        .order_by_asc(Q::NEXT_ATTEMPT_AT)
        .order_by_asc(Q::ID)
        .limit(limit);
    let txn = db::begin_write(db).await?;
    let due =
        if db::has_row_locks(&txn) { due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked) } else { due };
    let rows = due.all(&txn).await?;
    if !rows.is_empty() {
        Q::update_many()
            .col_expr(Q::LOCKED_UNTIL, Expr::value(lease_until))
            .filter(Q::ID.is_in(rows.iter().map(Q::id_of)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(rows)
}

/// Renews this worker's lease on row `id` of queue `Q` from `held` (the lease its claim, or
/// its last renewal, wrote) to `until`, right before the row is worked: a batch slower than its
/// lease (an SMTP server that answers at its timeout, one row after another) has had the rows
/// it did not reach yet taken by another instance, which wrote a later lease — those are not
/// worked twice. Returns whether this worker still has the row.
///
/// # Errors
/// Database failure.
pub async fn renew<Q: QueueTable>(db: &DatabaseConnection, id: i64, held: i64, until: i64) -> Result<bool, DbErr> {
    let renewed = Q::update_many()
        .col_expr(Q::LOCKED_UNTIL, Expr::value(until))
        .filter(Q::ID.eq(id))
        .filter(Q::STATUS.eq(Q::pending()))
        .filter(Q::LOCKED_UNTIL.eq(held))
        .exec(db)
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// The row a worker writes its outcome on, still pending: work `done` (an email the SMTP server
/// took, a webhook the host answered, an event applied) whoever holds it now — a worker that
/// took it back meanwhile and has not reached it skips it at [`renew`], and done work is never
/// left to be done again for a lease run out; anything else (a try to make again, a row given up
/// or dropped unsent) only while this worker still holds the row (`held`): the worker that took it
/// back decides again, and may be sending it — its outcome is not overwritten by a decision made
/// on what was true before.
#[must_use]
pub fn outcome_of<Q: QueueTable>(done: bool, held: i64) -> Condition {
    let pending = Condition::all().add(Q::STATUS.eq(Q::pending()));
    if done { pending } else { pending.add(Q::LOCKED_UNTIL.eq(held)) }
}

/// A table whose rows wait for a check at `next_check_at` (an attempt or a refund
/// whose answer from Stripe was never read).
pub trait FollowUpTable: EntityTrait {
    /// The primary key.
    const ID: Self::Column;
    /// When the row is next looked at.
    const NEXT_CHECK_AT: Self::Column;
}

impl FollowUpTable for charge_attempt::Entity {
    const ID: Self::Column = charge_attempt::Column::Id;
    const NEXT_CHECK_AT: Self::Column = charge_attempt::Column::NextCheckAt;
}

impl FollowUpTable for refund::Entity {
    const ID: Self::Column = refund::Column::Id;
    const NEXT_CHECK_AT: Self::Column = refund::Column::NextCheckAt;
}

/// Claims row `id` of `T` for one check, if its `next_check_at` is still the `seen` one
/// (another instance may be looking at the same row): moved to `until`, so a crashed
/// check comes back then. Returns whether this process has it.
///
/// # Errors
/// Database failure.
pub async fn claim_check<T: FollowUpTable>(
    db: &DatabaseConnection,
    id: i64,
    seen: Option<i64>,
    until: i64,
) -> Result<bool, DbErr> {
    let claimed = T::update_many()
        .col_expr(T::NEXT_CHECK_AT, Expr::value(until))
        .filter(T::ID.eq(id))
        .filter(T::NEXT_CHECK_AT.eq(seen))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}
