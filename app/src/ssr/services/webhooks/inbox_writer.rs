//! Group commit of the webhook inbox.
//!
//! Each commit waits for its `fsync` (SQLite's `synchronous=FULL`, PostgreSQL's
//! `synchronous_commit`): on SQLite, 32 deliveries at once, each in its own
//! transaction, queue behind one another for the one writer's lock (p99 108 ms
//! over 20,000 in the bench); on PostgreSQL each pays a statement, a commit and
//! their round trips. Here the deliveries that arrive while a batch is being
//! written go together into the next one: one statement (`INSERT … ON CONFLICT
//! DO NOTHING RETURNING` the ids it stored), one commit, and each delivery is
//! answered only once the transaction holding it has committed. A batch with a
//! row refused is written again one row at a time, so each delivery gets its
//! own answer; one whose transaction fails is answered 5xx (Stripe sends again).
//! Several instances on one PostgreSQL each have their writer: the event id's
//! unique index keeps one row per event, and each batch's rows go in the order
//! of their ids so two batches never wait on each other in a circle.

use std::collections::HashSet;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryTrait, TryInsertResult};
use tokio::sync::{mpsc, oneshot};

use super::Ingested;
use crate::ssr::db;
use crate::ssr::entities::stripe_event;

/// The most rows in one transaction.
const BATCH: usize = 64;

/// Writes inbox rows through one task, in batches.
#[derive(Debug)]
pub struct InboxWriter {
    db: DatabaseConnection,
    queue: mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Job {
    /// The row's Stripe event id.
    id: String,
    row: stripe_event::ActiveModel,
    answer: oneshot::Sender<Result<Ingested, DbErr>>,
}

impl InboxWriter {
    /// Starts the task that writes the batches (it ends with the last handle).
    #[must_use]
    pub fn start(db: &DatabaseConnection) -> Self {
        let (queue, jobs) = mpsc::channel(4 * BATCH);
        tokio::spawn(run(db.clone(), jobs));
        Self { db: db.clone(), queue }
    }

    /// Stores `row` unless its event id is already there; answers once it is committed.
    ///
    /// # Errors
    /// Database failure, or the writing task gone.
    pub async fn write(&self, row: stripe_event::ActiveModel) -> Result<Ingested, DbErr> {
        let Some(id) = row.stripe_event_id.try_as_ref().cloned() else {
            return Err(DbErr::Custom("an inbox row without its event id".to_owned()));
        };
        let (answer, answered) = oneshot::channel();
        if let Err(mpsc::error::SendError(job)) = self.queue.send(Job { id, row, answer }).await {
            // The task is gone (it panicked): each delivery writes its own row.
            return insert(&self.db, job.row).await;
        }
        // Gone with the row in hand, it is not known whether it was committed: answered 5xx,
        // Stripe sends it again, and the event id keeps it to one row.
        answered.await.map_err(|_| DbErr::Custom("the inbox writer stopped before answering".to_owned()))?
    }
}

async fn run(db: DatabaseConnection, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH
            && let Ok(job) = jobs.try_recv()
        {
            batch.push(job);
        }
        match together(&db, &batch).await {
            Ok(ingested) => {
                for (job, ingested) in batch.into_iter().zip(ingested) {
                    let _ = job.answer.send(Ok(ingested));
                }
            }
            // The transaction could not start or commit (the file locked past its timeout, the
            // disk): each delivery is answered 5xx at once, and Stripe sends it again.
            Err(Failed::Transaction(error)) => {
                tracing::warn!(%error, rows = batch.len(), "an inbox batch was not written");
                for job in batch {
                    let _ = job.answer.send(Err(DbErr::Custom(format!("the inbox batch was not written: {error}"))));
                }
            }
            // One row was refused: the others are not held back by it.
            Err(Failed::Row(error)) => {
                tracing::warn!(%error, rows = batch.len(), "a row of an inbox batch failed; writing them one at a time");
                for job in batch {
                    let alone = insert(&db, job.row).await;
                    let _ = job.answer.send(alone);
                }
            }
        }
    }
}

/// Why a batch was not written.
enum Failed {
    /// Its transaction did not start or commit.
    Transaction(DbErr),
    /// One of its rows was refused.
    Row(DbErr),
}

async fn together(db: &DatabaseConnection, batch: &[Job]) -> Result<Vec<Ingested>, Failed> {
    let mut rows: Vec<&Job> = batch.iter().collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let txn = db::begin_write(db).await.map_err(Failed::Transaction)?;
    let mut stored = insert_all(&txn, rows.into_iter().map(|job| job.row.clone())).await.map_err(Failed::Row)?;
    txn.commit().await.map_err(Failed::Transaction)?;
    // The first delivery of an id is the one that stored it; another in the batch is its duplicate.
    Ok(batch.iter().map(|job| if stored.remove(&job.id) { Ingested::Stored } else { Ingested::Duplicate }).collect())
}

/// Rows in one statement, each unless its event id is already stored: the ids it stored.
async fn insert_all(
    conn: &impl ConnectionTrait,
    rows: impl IntoIterator<Item = stripe_event::ActiveModel>,
) -> Result<HashSet<String>, DbErr> {
    let mut insert = stripe_event::Entity::insert_many(rows).into_query();
    insert
        .on_conflict(OnConflict::column(stripe_event::Column::StripeEventId).do_nothing().to_owned())
        .returning_col(stripe_event::Column::StripeEventId);
    conn.query_all(&insert).await?.iter().map(|row| row.try_get::<String>("", "stripe_event_id")).collect()
}

/// One row, unless its event id is already stored.
async fn insert(conn: &impl ConnectionTrait, row: stripe_event::ActiveModel) -> Result<Ingested, DbErr> {
    let result = stripe_event::Entity::insert(row)
        .on_conflict(OnConflict::column(stripe_event::Column::StripeEventId).do_nothing().to_owned())
        .try_insert()
        .exec(conn)
        .await?;
    Ok(match result {
        TryInsertResult::Inserted(_) => Ingested::Stored,
        TryInsertResult::Conflicted | TryInsertResult::Empty => Ingested::Duplicate,
    })
}
