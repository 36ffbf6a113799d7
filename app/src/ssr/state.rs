//! The one application state: configuration and the ports (database, payment
//! gateway, mailer, clock). Given to axum handlers and, as context, to every
//! server function.

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tokio::sync::Notify;

use super::clock::Clock;
use super::config::Settings;
use super::email::mailer::Mailer;
use super::payments::PaymentGateway;

/// Shared by every request and worker.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos' own options (site root, output name).
    pub leptos_options: LeptosOptions,
    /// The database pool.
    pub db: DatabaseConnection,
    /// Stripe.
    pub gateway: Arc<dyn PaymentGateway>,
    /// SMTP.
    pub mailer: Arc<dyn Mailer>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Configuration.
    pub settings: Arc<Settings>,
    /// Separates this database's PaymentIntents (metadata) from any other sharing the Stripe account.
    #[from_ref(skip)]
    pub installation_id: Arc<str>,
    /// The installation epoch: one more after each restore of a backup.
    #[from_ref(skip)]
    pub epoch: i32,
    /// What every idempotency key made now starts with (`domain::key_scope` of the id and epoch).
    #[from_ref(skip)]
    pub key_scope: Arc<str>,
    /// This process, as a lease holder (`host:pid:random`).
    #[from_ref(skip)]
    pub instance_id: Arc<str>,
    /// Wakes the workers when there is new work (they also poll).
    pub wake: Arc<Wake>,
    /// What this process counted (work done on behalf of anonymous callers).
    #[from_ref(skip)]
    pub counters: Arc<Counters>,
    /// Bounds on password hashing and on Stripe-spending calls per user.
    #[from_ref(skip)]
    pub guards: Arc<super::guards::Guards>,
    /// The screens watching status changes (fed from the database by `live::run_feed`).
    #[from_ref(skip)]
    pub live: Arc<super::live::Live>,
    /// Stores webhook deliveries (several in one commit on SQLite).
    #[from_ref(skip)]
    pub inbox_writer: Arc<super::services::webhooks::InboxWriter>,
}

/// Counts kept by this process.
#[derive(Debug, Default)]
pub struct Counters {
    /// HMAC-SHA256 computations made to check webhook signatures.
    pub webhook_macs: std::sync::atomic::AtomicU64,
    /// The last check of Stripe for readiness: when, and whether it answered.
    pub stripe_check: std::sync::Mutex<Option<(std::time::Instant, bool)>>,
    /// A readiness request is asking Stripe now (one at a time).
    pub stripe_checking: std::sync::atomic::AtomicBool,
}

/// Signals for the workers of this process.
#[derive(Debug, Default)]
pub struct Wake {
    /// A webhook was stored.
    pub inbox: Notify,
    /// An email was queued.
    pub outbox: Notify,
    /// An event for the host site was queued (or replayed).
    pub host: Notify,
}

impl AppState {
    /// Now, in epoch milliseconds.
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Today, in the schedule's time zone (the merchant's calendar).
    #[must_use]
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.now().with_timezone(&self.settings.schedule_timezone).date_naive()
    }

    /// The first instant (epoch milliseconds) of `day` on the merchant's clock: its midnight, or,
    /// where the clock skips midnight, the first time it shows that day.
    #[must_use]
    pub fn start_of(&self, day: chrono::NaiveDate) -> i64 {
        use chrono::TimeZone as _;
        let tz = self.settings.schedule_timezone;
        (0..24)
            .filter_map(|h| day.and_hms_opt(h, 0, 0))
            .find_map(|at| tz.from_local_datetime(&at).earliest())
            .map_or_else(
                || day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis(),
                |at| at.timestamp_millis(),
            )
    }

    /// An instant (epoch milliseconds) on the merchant's clock: the schedule's time zone.
    #[must_use]
    pub fn local(&self, ms: i64) -> chrono::NaiveDateTime {
        crate::ssr::clock::from_ms(ms).with_timezone(&self.settings.schedule_timezone).naive_local()
    }
}
