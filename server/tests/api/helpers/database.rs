//! A fresh database per test: a SQLite file, or a new PostgreSQL database
//! when `TEST_DATABASE=postgres` (`TEST_PG_URL` points at the server).

use sea_orm::{ConnectionTrait, Database, Statement};

/// A database that exists for one test.
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    _dir: Option<tempdir::TempDir>,
}

/// The engine under test.
pub fn engine() -> String {
    std::env::var("TEST_DATABASE").unwrap_or_else(|_| "sqlite".to_owned())
}

impl TestDatabase {
    /// Creates one.
    pub async fn create() -> Self {
        if engine() == "postgres" {
            let admin = std::env::var("TEST_PG_URL").expect("TEST_PG_URL (set by scripts/test)");
            let name = format!("t_{}", uuid::Uuid::new_v4().simple());
            let db = Database::connect(&admin).await.expect("connect to PostgreSQL");
            db.execute_raw(Statement::from_string(db.get_database_backend(), format!("CREATE DATABASE \"{name}\"")))
                .await
                .expect("create database");
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
            Self { url: format!("{base}/{name}"), _dir: None }
        } else {
            let dir = tempdir::TempDir::new();
            let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
            Self { url, _dir: Some(dir) }
        }
    }
}

impl TestDatabase {
    /// Restores `backup` (written by `server backup` from this engine) into a new database, as the
    /// README says: SQLite, the file opened as the database; PostgreSQL, `psql -f` into an empty one.
    pub async fn restore(backup: &std::path::Path) -> Self {
        if engine() == "postgres" {
            let restored = Self::create().await;
            let output = std::process::Command::new("psql")
                .args(["-v", "ON_ERROR_STOP=1", "-q", "-d", &restored.url, "-f"])
                .arg(backup)
                .output()
                .expect("psql");
            assert!(output.status.success(), "psql: {}", String::from_utf8_lossy(&output.stderr));
            restored
        } else {
            let dir = tempdir::TempDir::new();
            let file = dir.path().join("restored.db");
            std::fs::copy(backup, &file).expect("copy the backup into place");
            Self { url: format!("sqlite://{}?mode=rwc", file.display()), _dir: Some(dir) }
        }
    }
}

/// A temporary directory removed on drop (no extra crate).
pub mod tempdir {
    use std::path::{Path, PathBuf};

    /// The directory.
    pub struct TempDir(PathBuf);

    impl TempDir {
        /// Creates a fresh one under the system temp folder.
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!("echeancier-test-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&path).expect("temp dir");
            Self(path)
        }

        /// Its path.
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
