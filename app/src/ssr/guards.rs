//! Bounds on work an anonymous or a single caller can cause: password hashing
//! (argon2 runs off the async runtime, a few at a time, with a bounded queue)
//! and the calls that spend Stripe's rate limit on a customer's behalf.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::services::error::ServiceError;
use crate::domain::UserId;

/// The process's bounds.
#[derive(Debug)]
pub struct Guards {
    hashing: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    spending_per_minute: u32,
    spending: Mutex<HashMap<i64, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

/// Buckets kept before full ones are dropped.
const MAX_BUCKETS: usize = 10_000;

impl Guards {
    /// `hashing` argon2 computations at once, `queue` more waiting; `spending_per_minute`
    /// Stripe-spending calls per user per minute (bursts of the same size).
    #[must_use]
    pub fn new(hashing: usize, queue: usize, spending_per_minute: u32) -> Self {
        Self {
            hashing: Arc::new(Semaphore::new(hashing.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
            spending_per_minute: spending_per_minute.max(1),
            spending: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `work` (a password hash or check) on the blocking pool once a slot is free.
    ///
    /// # Errors
    /// `RateLimited` when the slots and the queue are full (the caller answers 429).
    pub async fn hash<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ServiceError> {
        let permit = self.hash_slot().await?;
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| anyhow::anyhow!(e).context("password hashing task"))?;
        Ok(result)
    }

    async fn hash_slot(&self) -> Result<OwnedSemaphorePermit, ServiceError> {
        if let Ok(permit) = self.hashing.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(ServiceError::RateLimited);
        }
        // Leaves the queue however the wait ends: a slot, or the request dropped (a client gone).
        let _waiting = Queued(&self.waiting);
        self.hashing.clone().acquire_owned().await.map_err(|e| ServiceError::Unexpected(anyhow::anyhow!(e)))
    }

    /// Takes every hashing slot (tests: the server is busy hashing).
    ///
    /// # Panics
    /// Never: the semaphore is not closed.
    pub async fn occupy_hashing(&self) -> OwnedSemaphorePermit {
        let all = u32::try_from(self.hashing.available_permits()).unwrap_or(u32::MAX);
        self.hashing.clone().acquire_many_owned(all).await.expect("semaphore open")
    }

    /// Counts one Stripe-spending call of `user` at `now_ms`.
    ///
    /// # Errors
    /// `RateLimited` past the user's budget.
    pub fn spend(&self, user: UserId, now_ms: i64) -> Result<(), ServiceError> {
        let capacity = f64::from(self.spending_per_minute);
        let mut buckets = self.spending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| refilled(*b, capacity, now_ms) < capacity);
        }
        let bucket = buckets.entry(user.get()).or_insert(Bucket { tokens: capacity, updated_ms: now_ms });
        let tokens = refilled(*bucket, capacity, now_ms);
        if tokens < 1.0 {
            return Err(ServiceError::RateLimited);
        }
        *bucket = Bucket { tokens: tokens - 1.0, updated_ms: now_ms.max(bucket.updated_ms) };
        Ok(())
    }
}

/// One place in the hashing queue, given back when dropped.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[allow(clippy::cast_precision_loss)]
fn refilled(bucket: Bucket, capacity: f64, now_ms: i64) -> f64 {
    let elapsed = (now_ms - bucket.updated_ms).max(0) as f64;
    (bucket.tokens + elapsed * capacity / 60_000.0).min(capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64) -> UserId {
        UserId::new(id).expect("positive")
    }

    #[test]
    fn a_user_spends_the_budget_then_waits_others_do_not() {
        let guards = Guards::new(1, 0, 3);
        for _ in 0..3 {
            guards.spend(user(1), 0).expect("within budget");
        }
        assert!(matches!(guards.spend(user(1), 0), Err(ServiceError::RateLimited)));
        guards.spend(user(2), 0).expect("another user has a budget of its own");
        guards.spend(user(1), 20_000).expect("a third of a minute later, one more");
        assert!(guards.spend(user(1), 20_000).is_err());
    }

    #[tokio::test]
    async fn a_login_dropped_while_queued_gives_its_place_back() {
        let guards = Arc::new(Guards::new(1, 1, 1));
        let held = guards.occupy_hashing().await;
        for _ in 0..3 {
            // A client that disconnects while its login waits for a slot.
            let waiting = tokio::time::timeout(std::time::Duration::from_millis(10), guards.hash(|| ())).await;
            assert!(waiting.is_err(), "queued behind the held slot");
        }
        drop(held);
        assert!(guards.hash(|| ()).await.is_ok(), "the queue is not left full by the dropped waits");
        let held = guards.occupy_hashing().await;
        let queued = tokio::spawn({
            let guards = guards.clone();
            async move { guards.hash(|| ()).await.is_ok() }
        });
        tokio::task::yield_now().await;
        assert!(
            matches!(guards.hash(|| ()).await, Err(ServiceError::RateLimited)),
            "one waits: the queue of one is full"
        );
        drop(held);
        assert!(queued.await.expect("joined"));
    }

    #[tokio::test]
    async fn a_full_hashing_queue_answers_at_once() {
        let guards = Arc::new(Guards::new(1, 0, 1));
        let held = guards.occupy_hashing().await;
        assert!(matches!(guards.hash(|| 1).await, Err(ServiceError::RateLimited)));
        drop(held);
        assert_eq!(guards.hash(|| 2).await.expect("a slot is free"), 2);
    }
}

/// The client's address: the TCP peer, or — behind `trusted_hops` proxies that
/// each append the address they saw to `X-Forwarded-For` — the entry the
/// outermost trusted proxy wrote. Entries further left are the client's own
/// words and never used; without trusted hops the header is ignored.
#[must_use]
pub fn client_ip(headers: &http::HeaderMap, peer: Option<std::net::IpAddr>, trusted_hops: usize) -> String {
    let peer = peer.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    if trusted_hops == 0 {
        return peer;
    }
    let mut chain: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|entry| entry.trim().chars().take(64).collect::<String>())
        .filter(|entry| !entry.is_empty())
        .collect();
    chain.push(peer);
    let index = chain.len().saturating_sub(1 + trusted_hops);
    chain.swap_remove(index)
}

#[cfg(test)]
mod client_ip_tests {
    use super::client_ip;

    fn headers(xff: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().expect("header"));
        h
    }

    #[test]
    fn without_trusted_hops_the_header_changes_nothing() {
        let peer = Some("10.0.0.5".parse().expect("ip"));
        assert_eq!(client_ip(&headers("1.2.3.4"), peer, 0), "10.0.0.5");
    }

    #[test]
    fn behind_one_proxy_the_entry_it_wrote_is_the_client() {
        let peer = Some("10.0.0.5".parse().expect("ip"));
        // The client wrote "6.6.6.6" itself; the proxy appended the address it saw.
        assert_eq!(client_ip(&headers("6.6.6.6, 203.0.113.9"), peer, 1), "203.0.113.9");
        assert_eq!(client_ip(&headers("6.6.6.6, 203.0.113.9, 10.0.0.4"), peer, 2), "203.0.113.9");
        // Fewer entries than hops: the leftmost one there is.
        assert_eq!(client_ip(&http::HeaderMap::new(), peer, 1), "10.0.0.5");
    }
}
