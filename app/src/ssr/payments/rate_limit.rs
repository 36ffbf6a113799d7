//! A token bucket per Stripe endpoint (Stripe limits each endpoint to 25
//! requests per second by default; `GET /v1/payment_intents/{id}` for different
//! ids is one endpoint).

use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Per-endpoint token buckets, shared by every task of the process.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_second` requests per second per endpoint, with bursts of the same size.
    #[must_use]
    pub fn new(per_second: u32) -> Self {
        Self { per_second: f64::from(per_second.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Waits until `endpoint` may be called, then takes a token.
    pub async fn acquire(&self, endpoint: &'static str) {
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().await;
                let now = Instant::now();
                let bucket = buckets.entry(endpoint).or_insert(Bucket { tokens: self.per_second, updated: now });
                let refill = now.duration_since(bucket.updated).as_secs_f64() * self.per_second;
                bucket.tokens = (bucket.tokens + refill).min(self.per_second);
                bucket.updated = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_spread_over_time_per_endpoint() {
        let limiter = RateLimiter::new(10);
        let start = Instant::now();
        for _ in 0..30 {
            limiter.acquire("payment_intents.retrieve").await;
        }
        // 10 immediately, then 20 more at 10/s.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(1_900), "{elapsed:?}");
        let other = Instant::now();
        limiter.acquire("events.list").await;
        assert!(other.elapsed() < Duration::from_millis(10), "another endpoint has its own bucket");
    }
}
