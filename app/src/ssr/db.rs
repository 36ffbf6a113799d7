//! Connecting, migrating, and transactions that behave the same on SQLite (one
//! writer, `BEGIN IMMEDIATE`) and PostgreSQL (row locks, snapshots).

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    IsolationLevel, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use secrecy::ExposeSecret;
use std::time::Duration;

use super::config::Settings;

/// Opens the pool. For SQLite, creates the file's folder, turns on WAL with
/// `synchronous=FULL` (a commit is on disk before it returns: a webhook answered
/// 200 survives a power cut, and Stripe will not send it again), and a generous
/// busy timeout (writers queue instead of failing).
///
/// # Errors
/// The database cannot be reached or opened.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    connect_url(settings.database_url.expose_secret(), settings.database_max_connections).await
}

/// Same as [`connect`], from a URL.
///
/// # Errors
/// The database cannot be reached or opened.
pub async fn connect_url(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = std::path::Path::new(&path).parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the database folder {}", dir.display()))?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    // A new SQLite file turns to WAL on its first connection, under an exclusive lock that SQLite's busy
    // handler does not wait for: processes opening it at the same moment (instances, a CLI command) can be
    // told "database is locked" at connect. They try again shortly, as they would wait for any other lock.
    let mut tries = 0_u64;
    loop {
        match Database::connect(options.clone()).await {
            Ok(connection) => return Ok(connection),
            Err(e) if sqlite_path(url).is_some() && tries < 20 && e.to_string().contains("database is locked") => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(25 * tries)).await;
            }
            Err(e) => return Err(e).context("connecting to the database"),
        }
    }
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.to_owned())
}

/// The PostgreSQL advisory lock that makes instances starting together take turns at migrating.
const MIGRATION_LOCK: i64 = 0x00ec_6ea0_c1e5;

/// Applies every pending migration, in one transaction that first takes the
/// database's migration turn: a PostgreSQL advisory lock, SQLite's write
/// lock (`BEGIN IMMEDIATE`). Instances and CLI commands that start together
/// queue on it; the first applies the migrations, the others find nothing
/// left to do — instead of racing on the same `CREATE TABLE` and failing to
/// start. (Each migration's own transaction is a savepoint inside it.)
///
/// # Errors
/// A migration fails (nothing of it is kept).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    let turn = begin_write(db).await.context("waiting for the migration turn")?;
    take_turn(&turn, MIGRATION_LOCK).await.context("waiting for the migration lock")?;
    Migrator::up(&turn, None).await.context("running migrations")?;
    turn.commit().await.context("committing the migrations")
}

/// Starts a transaction that will write: `BEGIN IMMEDIATE` on SQLite so two
/// writers queue on the busy timeout instead of failing on a lock upgrade.
///
/// # Errors
/// The transaction cannot start.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// Makes `txn` (begun by [`begin_write`]) wait for every other transaction that took turn `key`
/// to end, and holds the turn until it ends: a PostgreSQL advisory lock; on SQLite, `BEGIN
/// IMMEDIATE` already lets one writer at a time. What is checked by counting rows (at most so many
/// of them) is counted after it, so two writers at once cannot both count one under the limit.
///
/// # Errors
/// The lock cannot be taken.
pub async fn take_turn(txn: &DatabaseTransaction, key: i64) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        let lock = sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        );
        txn.execute_raw(lock).await?;
    }
    Ok(())
}

/// Starts a transaction that only reads, from one moment of the database: a page made of several
/// reads (a plan, its échéances, consent and history; an échéance's timeline) never mixes what was
/// there before a change with what came after it. `REPEATABLE READ, READ ONLY` on PostgreSQL
/// (`READ COMMITTED`, its default, takes a new snapshot per statement); a SQLite transaction in WAL
/// mode reads one snapshot from its first read.
///
/// # Errors
/// The transaction cannot start.
pub async fn begin_read(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_options(TransactionOptions {
                isolation_level: Some(IsolationLevel::RepeatableRead),
                access_mode: Some(AccessMode::ReadOnly),
                ..Default::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// Whether row locks (`FOR UPDATE [SKIP LOCKED]`) mean anything on this backend.
#[must_use]
pub fn has_row_locks(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

#[cfg(test)]
mod tests {
    use super::{connect_url, sqlite_path};
    use sea_orm::{ConnectionTrait, Statement};

    async fn pragma(db: &sea_orm::DatabaseConnection, name: &str) -> String {
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), format!("PRAGMA {name}")))
            .await
            .expect("pragma")
            .expect("a row");
        row.try_get_by_index::<i64>(0)
            .map(|v| v.to_string())
            .or_else(|_| row.try_get_by_index::<String>(0))
            .expect("value")
    }

    #[tokio::test]
    async fn every_sqlite_connection_commits_durably_in_wal() {
        let dir = std::env::temp_dir().join(format!("echeancier-db-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}/durable.db?mode=rwc", dir.display());
        let db = connect_url(&url, 3).await.expect("connect");
        // Several at once, so the pool opens more than one connection.
        let checks = futures::future::join_all(
            (0..3).map(|_| async { (pragma(&db, "synchronous").await, pragma(&db, "journal_mode").await) }),
        )
        .await;
        for (synchronous, journal) in checks {
            assert_eq!(synchronous, "2", "synchronous=FULL (2), not NORMAL (1)");
            assert_eq!(journal, "wal");
        }
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn finds_the_sqlite_file_path() {
        assert_eq!(sqlite_path("sqlite://data/app.db?mode=rwc").as_deref(), Some("data/app.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
