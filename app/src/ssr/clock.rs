//! Time, behind a port so tests can move it.

use chrono::{DateTime, Utc};

/// Tells the time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;

    /// Now, in milliseconds since the Unix epoch (how instants are stored).
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests can set and advance.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset_ms: std::sync::atomic::AtomicI64,
    /// Where time stands still ([`ManualClock::freeze`]); `0`: it runs with the real clock.
    frozen_ms: std::sync::atomic::AtomicI64,
}

impl ManualClock {
    /// Moves time forward.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves time back (a test makes an event "an hour ago", then lets time catch up).
    pub fn rewind(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_sub(ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// Stops time where it is: only [`ManualClock::advance`] and [`ManualClock::rewind`] move it
    /// then, so a test of a one-second wait does not depend on how fast a busy machine answers.
    pub fn freeze(&self) {
        self.frozen_ms.store(Utc::now().timestamp_millis(), std::sync::atomic::Ordering::SeqCst);
    }

    /// Back to the real time (running again).
    pub fn reset(&self) {
        self.offset_ms.store(0, std::sync::atomic::Ordering::SeqCst);
        self.frozen_ms.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let base = match self.frozen_ms.load(std::sync::atomic::Ordering::SeqCst) {
            0 => Utc::now(),
            ms => from_ms(ms),
        };
        base + chrono::Duration::milliseconds(self.offset_ms.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// When Stripe says an object was made (`created`, epoch seconds), in milliseconds; `now` when it
/// does not say (0).
#[must_use]
pub fn stripe_created_ms(created: i64, now: i64) -> i64 {
    if created > 0 { created.saturating_mul(1000) } else { now }
}

/// Milliseconds to a UTC date-time (for display).
#[must_use]
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
