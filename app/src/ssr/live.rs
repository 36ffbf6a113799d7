//! Status changes pushed to the screens allowed to see them (`GET /events`,
//! server-sent events). The fan-out starts from the database, not from this
//! process's memory, so a change made anywhere — a webhook applied by another
//! instance, `server reconcile` run from a shell — reaches every screen:
//!
//! - on PostgreSQL, the transaction that changes a status sends
//!   `NOTIFY echeance_changed, '<id>'`, delivered to every listening instance
//!   when (and only if) it commits, in commit order;
//! - on SQLite (one machine, one writer at a time, so ids commit in order),
//!   each instance reads the audit log's new rows a few times a second.
//!
//! Each instance runs one feed ([`run_feed`]) and hands every change to its
//! subscribers through a broadcast channel; the route filters by who is
//! watching (a customer sees only their own échéances).

use std::time::Duration;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use tokio::sync::broadcast;

use super::entities::{audit_log, echeance};
use super::state::AppState;
use crate::api::dto::LiveChange;

const CHANNEL: &str = "echeance_changed";
/// How often the SQLite feed reads the audit log.
const POLL: Duration = Duration::from_millis(200);
/// Changes waiting for slow subscribers before they are told to reload.
const BACKLOG: usize = 1024;

/// One change, with who may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The customer the échéance belongs to.
    pub user_id: i64,
    /// What the screens are told.
    pub change: LiveChange,
}

/// This process's subscribers.
#[derive(Debug)]
pub struct Live {
    sender: broadcast::Sender<Change>,
    /// Set when the server shuts down: every open stream ends, so the graceful
    /// shutdown does not wait on screens that never hang up.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Default for Live {
    fn default() -> Self {
        Self { sender: broadcast::channel(BACKLOG).0, closing: tokio::sync::watch::channel(false).0 }
    }
}

impl Live {
    /// A new subscriber (a screen that opened `/events`), and the signal that ends it.
    #[must_use]
    pub fn subscribe(&self) -> (broadcast::Receiver<Change>, tokio::sync::watch::Receiver<bool>) {
        (self.sender.subscribe(), self.closing.subscribe())
    }

    /// Ends every open stream (the server is shutting down).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    fn publish(&self, change: Change) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(change);
    }
}

/// Announces that échéance `id` changed, in the transaction that changes it
/// (PostgreSQL; on SQLite the audit row written in the same transaction is the announcement).
///
/// # Errors
/// Database failure.
pub async fn announce(txn: &impl ConnectionTrait, echeance_id: i64) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), echeance_id.to_string().into()],
        ))
        .await?;
    }
    Ok(())
}

/// Reads the database's changes and publishes them until `shutdown` completes.
pub async fn run_feed(state: AppState, shutdown: impl std::future::Future<Output = ()>) {
    let feed = async {
        match state.db.get_database_backend() {
            DbBackend::Postgres => listen(&state).await,
            _ => poll(&state).await,
        }
    };
    tokio::select! {
        () = shutdown => {}
        () = feed => {}
    }
    state.live.close();
}

async fn listen(state: &AppState) {
    loop {
        if let Err(e) = listen_once(state).await {
            tracing::warn!(error = %e, "live feed: listening failed; again in a second");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(state: &AppState) -> anyhow::Result<()> {
    let pool = state.db.get_postgres_connection_pool();
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        let notification = listener.recv().await?;
        if let Ok(id) = notification.payload().parse::<i64>() {
            publish(state, &state.db, id).await;
        }
    }
}

async fn poll(state: &AppState) {
    let mut last = loop {
        match last_audit_id(&state.db).await {
            Ok(id) => break id,
            Err(e) => tracing::warn!(error = %e, "live feed: cannot read the audit log"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    loop {
        tokio::time::sleep(POLL).await;
        let rows: Result<Vec<(i64, i64)>, DbErr> = audit_log::Entity::find()
            .select_only()
            .column(audit_log::Column::Id)
            .column(audit_log::Column::EcheanceId)
            .filter(audit_log::Column::Id.gt(last))
            .order_by_asc(audit_log::Column::Id)
            .limit(1000)
            .into_tuple()
            .all(&state.db)
            .await;
        match rows {
            Ok(rows) => {
                for (id, echeance_id) in rows {
                    last = id;
                    publish(state, &state.db, echeance_id).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "live feed: cannot read the audit log"),
        }
    }
}

async fn last_audit_id(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let last: Option<i64> = audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::Id)
        .order_by_desc(audit_log::Column::Id)
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.unwrap_or(0))
}

/// Publishes the échéance as it is now (its latest status, whatever the order changes arrive in).
async fn publish(state: &AppState, db: &DatabaseConnection, echeance_id: i64) {
    match echeance::Entity::find_by_id(echeance_id).one(db).await {
        Ok(Some(row)) => state.live.publish(Change {
            user_id: row.user_id,
            change: LiveChange { echeance_id: row.id, plan_id: row.payment_plan_id, status: row.status },
        }),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, echeance.id = echeance_id, "live feed: cannot read the échéance"),
    }
}
