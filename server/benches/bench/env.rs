//! What a row runs against: a fresh database (SQLite file or PostgreSQL
//! database), the simulator, and the real server binary (`serve` or a one-shot
//! command) with that environment.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

use crate::simulator::Simulator;

/// The secret the bench signs its webhooks with.
pub const WEBHOOK_SECRET: &str = "whsec_bench";

/// Which engine a row runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default.
    Sqlite,
    /// The production engine.
    Postgres,
}

impl Engine {
    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// Where the bench keeps its files and finds its tools.
pub struct Bench {
    /// The server binary (release for `scripts/bench`, the test build for `scripts/test`).
    pub server_bin: PathBuf,
    /// A private folder for SQLite files and logs.
    pub dir: PathBuf,
    /// An administrator's URL of a PostgreSQL server (a database is made per row), if any.
    pub pg_admin_url: Option<String>,
    made: std::sync::atomic::AtomicU32,
}

/// A fresh database.
pub struct Db {
    /// Its engine.
    pub engine: Engine,
    /// Its URL.
    pub url: String,
    /// A connection of the bench's own (the app's connect: the same settings as the server's).
    pub conn: DatabaseConnection,
}

impl Bench {
    /// Reads `SERVER_BIN`, `BENCH_DIR` (else a temporary folder) and `BENCH_PG_URL`.
    pub fn from_env() -> Self {
        let server_bin = PathBuf::from(std::env::var("SERVER_BIN").expect("SERVER_BIN: the server binary to measure"));
        assert!(server_bin.exists(), "{} does not exist: build it first", server_bin.display());
        let dir = std::env::var("BENCH_DIR").map_or_else(
            |_| std::env::temp_dir().join(format!("echeancier-bench-{}", std::process::id())),
            PathBuf::from,
        );
        std::fs::create_dir_all(&dir).expect("bench folder");
        Self {
            server_bin,
            dir,
            pg_admin_url: std::env::var("BENCH_PG_URL").ok().filter(|u| !u.is_empty()),
            made: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// A fresh, migrated database for one row.
    pub async fn fresh_db(&self, engine: Engine, name: &str) -> Db {
        let n = self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = match engine {
            Engine::Sqlite => format!("sqlite://{}/{name}-{n}.db?mode=rwc", self.dir.display()),
            Engine::Postgres => {
                let admin = self.pg_admin_url.as_deref().expect("BENCH_PG_URL for the PostgreSQL rows");
                let db_name = format!("bench_{name}_{}_{n}", std::process::id());
                let conn = sea_orm::Database::connect(admin).await.expect("PostgreSQL");
                conn.execute_unprepared(&format!("CREATE DATABASE {db_name}")).await.expect("create database");
                conn.close().await.expect("close");
                let (base, _) = admin.rsplit_once('/').expect("a PostgreSQL URL ends with /database");
                format!("{base}/{db_name}")
            }
        };
        let status = Command::new(&self.server_bin)
            .arg("migrate")
            .envs(base_env(&url, "http://127.0.0.1:9/", 9))
            .stdout(Stdio::null())
            .status()
            .await
            .expect("server migrate");
        assert!(status.success(), "server migrate failed on {url}");
        // The server's own pool size (`DATABASE_MAX_CONNECTIONS`' default).
        let conn = app::ssr::db::connect_url(&url, 10).await.expect("connect");
        Db { engine, url, conn }
    }

    /// `server serve` on a free port against `db` and `sim`; `extra` overrides the environment.
    pub async fn serve(&self, db: &Db, sim: &Simulator, extra: &[(&str, String)]) -> Server {
        let port = free_port();
        let log = std::fs::File::create(self.dir.join(format!("server-{port}.log"))).expect("log");
        let child = Command::new(&self.server_bin)
            .arg("serve")
            .envs(base_env(&db.url, &sim.url, port))
            .envs(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start the server binary");
        let address = format!("http://127.0.0.1:{port}");
        let http = client();
        let started = Instant::now();
        while !http.get(format!("{address}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not start (see {})",
                self.dir.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { address, child }
    }

    /// A one-shot command of the server binary against `db` and `sim`; its stdout.
    pub async fn cli(&self, db: &Db, sim: &Simulator, args: &[&str], extra: &[(&str, String)]) -> String {
        let output = Command::new(&self.server_bin)
            .args(args)
            .envs(base_env(&db.url, &sim.url, 9))
            .envs(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())))
            .stderr(Stdio::null())
            .output()
            .await
            .expect("run the server binary");
        assert!(output.status.success(), "server {args:?} failed: {}", String::from_utf8_lossy(&output.stdout));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Db {
    /// Another connection to this SQLite file with `synchronous=NORMAL` (a commit may be lost
    /// to a power cut): what the durability of the money-edges issue costs is measured against it.
    pub async fn sqlite_normal(&self) -> DatabaseConnection {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        let mut options = sea_orm::ConnectOptions::new(self.url.clone());
        options.max_connections(10).sqlx_logging(false).map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
        });
        sea_orm::Database::connect(options).await.expect("connect")
    }
}

/// A running `server serve`.
pub struct Server {
    /// `http://127.0.0.1:port`.
    pub address: String,
    /// The process.
    pub child: Child,
}

impl Server {
    /// Its resident memory, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
    }
}

/// The environment every run of the binary gets (development: plain http on loopback).
fn base_env(db_url: &str, stripe_url: &str, port: u16) -> Vec<(String, String)> {
    [
        ("APP_ENV", "development".to_owned()),
        ("DATABASE_URL", db_url.to_owned()),
        ("STRIPE_SECRET_KEY", "sk_test_bench".to_owned()),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_bench".to_owned()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ("STRIPE_API_BASE", stripe_url.to_owned()),
        ("STRIPE_JS_URL", format!("{stripe_url}js.stripe.com/v3/")),
        ("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")),
        ("APP_BASE_URL", format!("http://127.0.0.1:{port}/")),
        // Nothing listens there: emails wait in the outbox, as with an SMTP server down.
        ("SMTP_URL", "smtp://127.0.0.1:9".to_owned()),
        ("APP_SECRET", "bench-secret-0123456789abcdef0123456789abcdef".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// An HTTP client that keeps cookies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().expect("client")
}
