//! `server backup`: a copy of the database that a restore can start from
//! without ever charging twice. The copy carries a marker row (written into the
//! copy, never into the live database): the server that starts on it knows it
//! was restored, begins a new installation epoch and charges nothing until a
//! reconcile has covered the window since the backup (`super::installation`).
//!
//! SQLite: an online, consistent copy (`VACUUM INTO`), then the marker written
//! into the copy. PostgreSQL: `pg_dump` in plain SQL, then the marker's
//! `INSERT` appended to the dump.

use std::path::Path;

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

use super::installation;

/// Writes a backup of `db` (whose URL is `url`) to `target`, taken at `now_ms`.
///
/// # Errors
/// `target` exists already, the copy or `pg_dump` fails, or the marker cannot be written.
pub async fn write(db: &DatabaseConnection, url: &str, target: &Path, now_ms: i64) -> anyhow::Result<()> {
    if target.exists() {
        bail!("{} exists already: a backup never overwrites a file", target.display());
    }
    match db.get_database_backend() {
        DbBackend::Sqlite => sqlite(db, target, now_ms).await,
        DbBackend::Postgres => postgres(url, target, now_ms).await,
        other => bail!("no backup for {other:?}"),
    }
}

async fn sqlite(db: &DatabaseConnection, target: &Path, now_ms: i64) -> anyhow::Result<()> {
    let path = target.to_str().context("the backup path is not UTF-8")?;
    db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, "VACUUM INTO ?", [path.into()]))
        .await
        .context("copying the database (VACUUM INTO)")?;
    let copy = Database::connect(format!("sqlite://{path}?mode=rw")).await.context("opening the copy")?;
    installation::mark_backup(&copy, now_ms).await.context("marking the copy")?;
    copy.close().await.context("closing the copy")?;
    Ok(())
}

async fn postgres(url: &str, target: &Path, now_ms: i64) -> anyhow::Result<()> {
    let pg_dump = std::env::var("PG_DUMP").unwrap_or_else(|_| "pg_dump".to_owned());
    let output = tokio::process::Command::new(&pg_dump)
        .args(["--format=plain", "--no-owner", "--no-privileges", "--file"])
        .arg(target)
        .arg(url)
        .output()
        .await
        .with_context(|| format!("running {pg_dump}"))?;
    if !output.status.success() {
        let _ = std::fs::remove_file(target);
        bail!("{pg_dump} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let mut dump = std::fs::OpenOptions::new().append(true).open(target).context("opening the dump")?;
    std::io::Write::write_all(&mut dump, installation::backup_marker_sql(now_ms).as_bytes())
        .context("marking the dump")?;
    dump.sync_all().context("writing the dump")?;
    Ok(())
}
