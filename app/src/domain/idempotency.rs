//! The Stripe `Idempotency-Key` of every mutation: deterministic, so a retry
//! after a lost response replays instead of charging again.

use std::fmt;

use super::host_api::KeyMode;
use super::ids::{AttemptNo, EcheanceId, UserId};

/// The Stripe `Idempotency-Key` of one mutation. The same (installation,
/// échéance, attempt, operation) always gives the same key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Not a usable idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid idempotency key")]
pub struct InvalidIdempotencyKey;

/// Which Stripe mutation of an attempt a key protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Create and confirm the PaymentIntent.
    Charge,
    /// Put the PaymentIntent back into a confirmable state for the customer's n-th 3DS try.
    Rearm(u32),
    /// Cancel the PaymentIntent.
    Cancel,
}

/// The part of every key that names the database and its installation epoch:
/// the installation id alone in epoch 1 (the keys made before epochs existed),
/// `{id}r{epoch}` after each restore of a backup. A restored database hands out
/// ids and attempt numbers it already used after the backup; with a new epoch
/// their keys are new, so Stripe never replays an answer meant for another request.
#[must_use]
pub fn key_scope(installation: &str, epoch: i32) -> String {
    if epoch <= 1 { installation.to_owned() } else { format!("{installation}r{epoch}") }
}

impl KeyPurpose {
    /// What ends the key of this purpose (`charge`, `rearm-2`, `cancel`).
    #[must_use]
    pub fn suffix(self) -> String {
        match self {
            Self::Charge => "charge".to_owned(),
            Self::Rearm(n) => format!("rearm-{n}"),
            Self::Cancel => "cancel".to_owned(),
        }
    }
}

impl IdempotencyKey {
    /// The key of one attempt's mutation. `installation` separates databases
    /// that share a Stripe account (a reset dev database must not replay old keys).
    #[must_use]
    pub fn for_attempt(installation: &str, echeance: EcheanceId, attempt: AttemptNo, purpose: KeyPurpose) -> Self {
        Self(format!("ech-{installation}-e{echeance}-a{attempt}-{}", purpose.suffix()))
    }

    /// The key that creates a user's Stripe customer (once per user and mode; the test mode's
    /// is the key of the days when a user had one customer).
    #[must_use]
    pub fn for_customer(installation: &str, user: UserId, mode: KeyMode) -> Self {
        match mode {
            KeyMode::Test => Self(format!("ech-{installation}-u{user}-customer")),
            KeyMode::Live => Self(format!("ech-{installation}-u{user}-customer-live")),
        }
    }

    /// The key of a user's `seq`-th SetupIntent (`seq` is the row id of the persisted request).
    #[must_use]
    pub fn for_setup_intent(installation: &str, user: UserId, seq: i64) -> Self {
        Self(format!("ech-{installation}-u{user}-setup-{seq}"))
    }

    /// The key that attaches a card to a user's customer.
    #[must_use]
    pub fn for_attach(installation: &str, user: UserId, payment_method: &str) -> Self {
        let pm: String = payment_method.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
        Self(format!("ech-{installation}-u{user}-attach-{pm}"))
    }

    /// The key that expires a legacy Checkout Session (once per session).
    #[must_use]
    pub fn for_session_expiry(installation: &str, echeance: EcheanceId, session: &str) -> Self {
        let cs: String = session.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(80).collect();
        Self(format!("ech-{installation}-e{echeance}-expire-{cs}"))
    }

    /// A key derived from this one for a step of the same operation (`{key}-{suffix}`).
    ///
    /// # Errors
    /// The result would not be a valid key.
    pub fn derived(&self, suffix: &str) -> Result<Self, InvalidIdempotencyKey> {
        Self::parse(&format!("{}-{suffix}", self.0))
    }

    /// Re-parses a key read back from the database.
    ///
    /// # Errors
    /// Empty, longer than Stripe's 255 characters, or with characters outside `[A-Za-z0-9_-]`.
    pub fn parse(value: &str) -> Result<Self, InvalidIdempotencyKey> {
        let ok = !value.is_empty()
            && value.len() <= 255
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok { Ok(Self(value.to_owned())) } else { Err(InvalidIdempotencyKey) }
    }

    /// The header value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i64) -> EcheanceId {
        EcheanceId::new(n).expect("positive")
    }

    #[test]
    fn a_users_customer_has_a_key_a_mode_the_test_ones_as_before() {
        let user = UserId::new(7).expect("positive");
        assert_eq!(IdempotencyKey::for_customer("inst", user, KeyMode::Test).as_str(), "ech-inst-u7-customer");
        assert_eq!(IdempotencyKey::for_customer("inst", user, KeyMode::Live).as_str(), "ech-inst-u7-customer-live");
    }

    #[test]
    fn the_key_is_deterministic_per_echeance_and_attempt() {
        let a = IdempotencyKey::for_attempt("inst", id(42), AttemptNo::FIRST, KeyPurpose::Charge);
        let b = IdempotencyKey::for_attempt("inst", id(42), AttemptNo::FIRST, KeyPurpose::Charge);
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "ech-inst-e42-a1-charge");
        assert_ne!(a, IdempotencyKey::for_attempt("inst", id(42), AttemptNo::FIRST.next(), KeyPurpose::Charge));
        assert_ne!(a, IdempotencyKey::for_attempt("other", id(42), AttemptNo::FIRST, KeyPurpose::Charge));
        assert_ne!(a, IdempotencyKey::for_attempt("inst", id(42), AttemptNo::FIRST, KeyPurpose::Cancel));
        assert_eq!(IdempotencyKey::parse(a.as_str()), Ok(a.clone()));
        assert_eq!(a.derived("pm").map(|k| k.as_str().to_owned()), Ok("ech-inst-e42-a1-charge-pm".to_owned()));
    }

    #[test]
    fn keys_are_validated_when_read_back() {
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"x".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
    }
}
