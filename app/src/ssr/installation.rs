//! The installation: its id (created once per database) and its epoch (one
//! more after each restore of a backup), both part of every idempotency key
//! (`domain::key_scope`); and how a restored database knows it was restored.
//!
//! `server backup` writes a marker row into the copy it makes — never into the
//! live database, and the running server never writes it — so a database that
//! holds the marker at start-up is a restored backup. That start removes the
//! marker, begins a new epoch and records the backup's time: no charge goes out
//! until a reconcile has covered the window since then ([`restore_pending`]).

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
};

use super::db;
use super::entities::app_setting;

const ID: &str = "installation_id";
const EPOCH: &str = "installation_epoch";
/// The marker a backup carries (the backup's time, epoch milliseconds).
pub const BACKUP_MARKER: &str = "backup_taken_at";
/// Set when a restore was recognised: the backup's time, until a reconcile has covered the window since.
const RESTORE_PENDING: &str = "restore_reconcile_since";

/// This database, as this process found it at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    /// Separates this database's keys and metadata from any other sharing the Stripe account.
    pub id: String,
    /// 1, then one more after each restore.
    pub epoch: i32,
    /// Set when this start recognised a restored backup: the backup's time (ms).
    pub restored_from: Option<i64>,
}

/// Reads the installation, creating its id on first use, and — when the
/// database holds a backup's marker — starts a new epoch (one process does,
/// whatever the number of instances starting at once: the marker row is locked
/// and deleted in the same transaction).
///
/// # Errors
/// Database failure, or a stored epoch that does not parse.
pub async fn open(db: &DatabaseConnection, now_ms: i64) -> Result<Installation, DbErr> {
    let fresh = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    app_setting::Entity::insert(app_setting::ActiveModel { key: Set(ID.to_owned()), value: Set(fresh) })
        .on_conflict(OnConflict::column(app_setting::Column::Key).do_nothing().to_owned())
        .try_insert()
        .exec(db)
        .await?;
    let id = read(db, ID).await?.ok_or_else(|| DbErr::RecordNotFound(ID.to_owned()))?;

    let txn = db::begin_write(db).await?;
    let marker = app_setting::Entity::find_by_id(BACKUP_MARKER.to_owned()).lock_exclusive().one(&txn).await?;
    let mut restored_from = None;
    if let Some(marker) = marker
        && app_setting::Entity::delete_by_id(BACKUP_MARKER.to_owned()).exec(&txn).await?.rows_affected == 1
    {
        let taken_at = marker.value.parse::<i64>().map_err(|e| DbErr::Custom(format!("backup marker: {e}")))?;
        // Unique per restore, not just one more than the backup's: the same backup restored
        // twice (or an older one after a newer) must not hand out the same epoch again.
        let next = (epoch_of(&txn).await? + 1).max(restore_epoch(now_ms));
        upsert(&txn, EPOCH, &next.to_string()).await?;
        upsert(&txn, RESTORE_PENDING, &taken_at.to_string()).await?;
        restored_from = Some(taken_at);
    }
    let epoch = epoch_of(&txn).await?;
    txn.commit().await?;
    Ok(Installation { id, epoch, restored_from })
}

/// Since when charges wait for a reconcile after a restore (the backup's time, ms), if they do.
///
/// # Errors
/// Database failure, or a stored value that does not parse.
pub async fn restore_pending(conn: &impl ConnectionTrait) -> Result<Option<i64>, DbErr> {
    read(conn, RESTORE_PENDING)
        .await?
        .map(|v| v.parse::<i64>().map_err(|e| DbErr::Custom(format!("{RESTORE_PENDING}: {e}"))))
        .transpose()
}

/// A reconcile covered the window since `since` without an error: charges may go out again.
///
/// # Errors
/// Database failure.
pub async fn restore_reconciled(conn: &impl ConnectionTrait, since: i64) -> Result<(), DbErr> {
    app_setting::Entity::delete_many()
        .filter(app_setting::Column::Key.eq(RESTORE_PENDING))
        .filter(app_setting::Column::Value.eq(since.to_string()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Writes the marker into a backup copy (never the live database).
///
/// # Errors
/// Database failure.
pub async fn mark_backup(copy: &impl ConnectionTrait, taken_at_ms: i64) -> Result<(), DbErr> {
    upsert(copy, BACKUP_MARKER, &taken_at_ms.to_string()).await
}

/// The SQL that writes the marker at the end of a PostgreSQL plain-text dump
/// (`pg_dump` empties `search_path` at its top: the session's own is restored first).
#[must_use]
pub fn backup_marker_sql(taken_at_ms: i64) -> String {
    format!(
        "\nRESET search_path;\nINSERT INTO app_settings (key, value) VALUES ('{BACKUP_MARKER}', '{taken_at_ms}');\n"
    )
}

/// The epoch of a restore made at `now_ms`: seconds since 2020-01-01 (fits the column until 2088).
fn restore_epoch(now_ms: i64) -> i32 {
    i32::try_from((now_ms / 1000 - 1_577_836_800).max(2)).unwrap_or(i32::MAX)
}

async fn read(conn: &impl ConnectionTrait, key: &str) -> Result<Option<String>, DbErr> {
    Ok(app_setting::Entity::find_by_id(key.to_owned()).one(conn).await?.map(|r| r.value))
}

async fn epoch_of(conn: &impl ConnectionTrait) -> Result<i32, DbErr> {
    match read(conn, EPOCH).await? {
        None => Ok(1),
        Some(v) => v.parse::<i32>().ok().filter(|e| *e >= 1).ok_or_else(|| DbErr::Custom(format!("{EPOCH}: {v:?}"))),
    }
}

async fn upsert(conn: &impl ConnectionTrait, key: &str, value: &str) -> Result<(), DbErr> {
    app_setting::Entity::insert(app_setting::ActiveModel { key: Set(key.to_owned()), value: Set(value.to_owned()) })
        .on_conflict(OnConflict::column(app_setting::Column::Key).update_column(app_setting::Column::Value).to_owned())
        .exec(conn)
        .await?;
    Ok(())
}
