//! Logging: human-readable on a terminal, JSON lines otherwise. `RUST_LOG` filters.

use std::io::IsTerminal as _;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once).
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,hyper=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if std::io::stderr().is_terminal() {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
