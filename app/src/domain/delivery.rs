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
