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
