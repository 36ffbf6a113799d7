//! Where a delivery stands: a Stripe event in the webhook inbox, an email in the outbox.

use serde::{Deserialize, Serialize};

/// Where a webhook inbox row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxStatus {
    /// To process (or to retry at `next_attempt_at`).
    Pending,
    /// Applied.
    Processed,
    /// Stored and acknowledged; nothing to do (unknown type, not ours).
    Ignored,
    /// Gave up after every retry.
    Failed,
}

crate::spelled!(InboxStatus { Pending => "pending", Processed => "processed", Ignored => "ignored", Failed => "failed" });

/// Where an outbox row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting to be sent (or retried).
    Pending,
    /// Accepted by the SMTP server.
    Sent,
    /// Gave up after the last retry; shown on the dashboard.
    Failed,
    /// No longer relevant (a reminder for an échéance paid since).
    Cancelled,
}

crate::spelled!(OutboxStatus { Pending => "pending", Sent => "sent", Failed => "failed", Cancelled => "cancelled" });

/// Where the delivery of one event to one host endpoint stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostDeliveryStatus {
    /// Waiting for its first try, or for its next one at `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every retry of the retry window failed; replayable from the dashboard.
    Failed,
}

crate::spelled!(HostDeliveryStatus { Pending => "pending", Delivered => "delivered", Failed => "failed" });

/// The waits between tries of an outgoing webhook, as Stripe spaces its own:
/// a minute, five, half an hour, two hours, then every five hours.
const HOST_RETRY_WAITS_MS: [i64; 5] = [60_000, 300_000, 1_800_000, 7_200_000, 18_000_000];

/// When to try again after `attempts` failed tries of an event created at
/// `created_ms`, or `None` once the retry window (`window_ms`, three days by
/// default) is over: then the delivery is failed.
#[must_use]
pub fn next_host_try(attempts: u32, created_ms: i64, now_ms: i64, window_ms: i64) -> Option<i64> {
    let index = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX).min(HOST_RETRY_WAITS_MS.len() - 1);
    let next = now_ms.saturating_add(HOST_RETRY_WAITS_MS[index]);
    (next <= created_ms.saturating_add(window_ms)).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::next_host_try;

    const DAY: i64 = 86_400_000;

    #[test]
    fn host_retries_back_off_then_stop_after_the_window() {
        assert_eq!(next_host_try(1, 0, 0, 3 * DAY), Some(60_000));
        assert_eq!(next_host_try(2, 0, 60_000, 3 * DAY), Some(360_000));
        assert_eq!(next_host_try(9, 0, DAY, 3 * DAY), Some(DAY + 18_000_000), "every five hours after the fifth");
        assert_eq!(next_host_try(20, 0, 3 * DAY - 1_000, 3 * DAY), None, "the window is over: failed");
    }

    #[test]
    fn three_days_of_retries_are_a_few_dozen_tries() {
        let (mut now, mut tries) = (0, 1);
        while let Some(next) = next_host_try(tries, 0, now, 3 * DAY) {
            now = next;
            tries += 1;
        }
        assert!((15..=20).contains(&tries), "{tries} tries in three days");
    }
}
