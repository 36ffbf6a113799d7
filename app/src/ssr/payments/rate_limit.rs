//! A token bucket per Stripe endpoint (Stripe limits each endpoint to 25
//! requests per second by default; `GET /v1/payment_intents/{id}` for different
//! ids is one endpoint), with a bounded queue: past `max_waiting` callers
//! waiting on one endpoint, the next is told at once (as Stripe's own 429
//! would), so a flood cannot pile up tasks without end.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Per-endpoint token buckets, shared by every task of the process.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    max_waiting: usize,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    waiting: usize,
}

/// Too many callers already wait for this endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}: too many requests already waiting for Stripe's rate limit")]
pub struct QueueFull(pub &'static str);

/// Counts a waiting caller until it is dropped (also when its future is).
struct Waiting<'a> {
    limiter: &'a RateLimiter,
    endpoint: &'static str,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(bucket) = self.limiter.lock().get_mut(self.endpoint) {
            bucket.waiting = bucket.waiting.saturating_sub(1);
        }
    }
}

impl RateLimiter {
    /// `per_second` requests per second per endpoint, with bursts of the same
    /// size; at most ten seconds' worth of callers waiting per endpoint.
    #[must_use]
    pub fn new(per_second: u32) -> Self {
        let per_second = per_second.max(1);
        Self::with_queue(per_second, 10 * per_second as usize)
    }

    /// As [`RateLimiter::new`], with `max_waiting` callers waiting per endpoint at most.
    #[must_use]
    pub fn with_queue(per_second: u32, max_waiting: usize) -> Self {
        Self { per_second: f64::from(per_second.max(1)), max_waiting, buckets: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, Bucket>> {
        self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a token for `endpoint` now, or the wait until one is due.
    fn take(&self, endpoint: &'static str, queued: bool) -> Result<Option<Duration>, QueueFull> {
        let mut buckets = self.lock();
        let now = Instant::now();
        let bucket = buckets.entry(endpoint).or_insert(Bucket { tokens: self.per_second, updated: now, waiting: 0 });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.per_second);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(None);
        }
        if !queued {
            if bucket.waiting >= self.max_waiting {
                return Err(QueueFull(endpoint));
            }
            bucket.waiting += 1;
        }
        Ok(Some(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second)))
    }

    /// Waits until `endpoint` may be called, then takes a token.
    ///
    /// # Errors
    /// [`QueueFull`] when too many callers already wait for this endpoint.
    pub async fn acquire(&self, endpoint: &'static str) -> Result<(), QueueFull> {
        let Some(mut wait) = self.take(endpoint, false)? else {
            return Ok(());
        };
        let _waiting = Waiting { limiter: self, endpoint };
        loop {
            tokio::time::sleep(wait).await;
            match self.take(endpoint, true)? {
                None => return Ok(()),
                Some(next) => wait = next,
            }
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
            limiter.acquire("payment_intents.retrieve").await.expect("queued");
        }
        // 10 immediately, then 20 more at 10/s.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(1_900), "{elapsed:?}");
        let other = Instant::now();
        limiter.acquire("events.list").await.expect("free");
        assert!(other.elapsed() < Duration::from_millis(10), "another endpoint has its own bucket");
    }

    #[tokio::test(start_paused = true)]
    async fn the_queue_is_bounded_and_a_dropped_waiter_leaves_it() {
        let limiter = std::sync::Arc::new(RateLimiter::with_queue(1, 2));
        limiter.acquire("x").await.expect("the burst");
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire("x").await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(limiter.acquire("x").await, Err(QueueFull("x")), "two wait already");
        waiters[0].abort();
        let _ = tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        let third = {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire("x").await })
        };
        tokio::task::yield_now().await;
        for waiter in waiters.into_iter().skip(1) {
            assert_eq!(waiter.await.expect("joined"), Ok(()));
        }
        assert_eq!(third.await.expect("joined"), Ok(()), "the aborted waiter's place was freed");
    }
}
