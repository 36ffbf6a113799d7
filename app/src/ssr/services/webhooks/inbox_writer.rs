//! Group commit of the webhook inbox on SQLite.
//!
//! SQLite has one writer, and each commit waits for its `fsync`
//! (`synchronous=FULL`): 32 deliveries at once, each in its own transaction,
//! queue behind one another for the lock (p99 108 ms over 20,000 in the
//! bench). Here the deliveries that arrive while a transaction is being
//! written go together into the next one, one `fsync` for all of them, and
//! each is answered only once the transaction holding it has committed. A
//! batch with a row refused is written again one row at a time, so each
//! delivery gets its own answer; one whose transaction fails is answered 5xx
//! (Stripe sends again). PostgreSQL commits side by side: each row is written at once.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, TryInsertResult};
use tokio::sync::{mpsc, oneshot};

use super::Ingested;
use crate::ssr::db;
use crate::ssr::entities::stripe_event;

/// The most rows in one transaction.
const BATCH: usize = 64;

/// Writes inbox rows: through one task on SQLite, directly on PostgreSQL.
#[derive(Debug)]
pub struct InboxWriter {
    db: DatabaseConnection,
    queue: Option<mpsc::Sender<Job>>,
}

#[derive(Debug)]
struct Job {
    row: stripe_event::ActiveModel,
    answer: oneshot::Sender<Result<Ingested, DbErr>>,
}

impl InboxWriter {
    /// On SQLite, starts the task that writes the batches (it ends with the last handle).
    #[must_use]
    pub fn start(db: &DatabaseConnection) -> Self {
        let queue = (db.get_database_backend() == DbBackend::Sqlite).then(|| {
            let (queue, jobs) = mpsc::channel(4 * BATCH);
            tokio::spawn(run(db.clone(), jobs));
            queue
        });
        Self { db: db.clone(), queue }
    }

    /// Stores `row` unless its event id is already there; answers once it is committed.
    ///
    /// # Errors
    /// Database failure, or the writing task gone.
    pub async fn write(&self, row: stripe_event::ActiveModel) -> Result<Ingested, DbErr> {
        let Some(queue) = &self.queue else { return insert(&self.db, row).await };
        let (answer, answered) = oneshot::channel();
        if let Err(mpsc::error::SendError(job)) = queue.send(Job { row, answer }).await {
            // The task is gone (it panicked): each delivery writes its own row, as on PostgreSQL.
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
    let txn = db::begin_write(db).await.map_err(Failed::Transaction)?;
    let mut ingested = Vec::with_capacity(batch.len());
    for job in batch {
        ingested.push(insert(&txn, job.row.clone()).await.map_err(Failed::Row)?);
    }
    txn.commit().await.map_err(Failed::Transaction)?;
    Ok(ingested)
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
