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

/// Copied and marked under `{target}.partial`, then renamed: a file at `target` is always marked.
async fn sqlite(db: &DatabaseConnection, target: &Path, now_ms: i64) -> anyhow::Result<()> {
    let path = target.to_str().context("the backup path is not UTF-8")?;
    if path.contains(['?', '#', '%']) {
        bail!("{path}: a backup path may not hold ?, # or %");
    }
    let partial = format!("{path}.partial");
    let _ = std::fs::remove_file(&partial);
    let result = async {
        db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, "VACUUM INTO ?", [partial.clone().into()]))
            .await
            .context("copying the database (VACUUM INTO)")?;
        let copy = Database::connect(format!("sqlite://{partial}?mode=rw")).await.context("opening the copy")?;
        // One self-contained file: no write-ahead log beside it to lose.
        copy.execute_unprepared("PRAGMA journal_mode=DELETE").await.context("journal mode of the copy")?;
        installation::mark_backup(&copy, now_ms).await.context("marking the copy")?;
        copy.close().await.context("closing the copy")?;
        std::fs::rename(&partial, target).context("moving the copy into place")
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// `%XX` sequences of a URL's user information, decoded.
fn percent_decoded(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Dumped and marked under `{target}.partial`, then renamed; the password goes
/// through `PGPASSWORD`, not the command line (which other users can read).
async fn postgres(url: &str, target: &Path, now_ms: i64) -> anyhow::Result<()> {
    let pg_dump = std::env::var("PG_DUMP").unwrap_or_else(|_| "pg_dump".to_owned());
    let mut url = url::Url::parse(url).context("DATABASE_URL")?;
    let password = url.password().map(percent_decoded);
    let _ = url.set_password(None);
    let mut partial = target.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let mut command = tokio::process::Command::new(&pg_dump);
    command.args(["--format=plain", "--no-owner", "--no-privileges", "--file"]).arg(&partial).arg(url.as_str());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command.output().await.with_context(|| format!("running {pg_dump}"))?;
    let result = if output.status.success() {
        (|| {
            let mut dump = std::fs::OpenOptions::new().append(true).open(&partial).context("opening the dump")?;
            std::io::Write::write_all(&mut dump, installation::backup_marker_sql(now_ms).as_bytes())
                .context("marking the dump")?;
            dump.sync_all().context("writing the dump")?;
            std::fs::rename(&partial, target).context("moving the dump into place")
        })()
    } else {
        Err(anyhow::anyhow!("{pg_dump} failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
    };
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}
