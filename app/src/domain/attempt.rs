//! Charge attempts: identifiers, the deterministic idempotency key, decline
//! classification and the retry schedule.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Database id of an échéance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct EcheanceId(i64);

/// Not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identifiant invalide : {0}")]
pub struct InvalidId(pub String);

impl EcheanceId {
    /// Parses a positive database id.
    ///
    /// # Errors
    /// Zero or negative.
    pub fn new(id: i64) -> Result<Self, InvalidId> {
        if id > 0 { Ok(Self(id)) } else { Err(InvalidId(id.to_string())) }
    }

    /// Parses a path or query segment.
    ///
    /// # Errors
    /// Not a positive integer.
    pub fn parse(input: &str) -> Result<Self, InvalidId> {
        input.trim().parse::<i64>().map_err(|_| InvalidId(input.to_owned())).and_then(Self::new)
    }

    /// The raw id.
    #[must_use]
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for EcheanceId {
    type Error = InvalidId;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<EcheanceId> for i64 {
    fn from(value: EcheanceId) -> Self {
        value.0
    }
}

impl fmt::Display for EcheanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The rank of a charge attempt for one échéance, from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct AttemptNo(i32);

impl AttemptNo {
    /// The first attempt.
    pub const FIRST: Self = Self(1);

    /// Parses a rank.
    ///
    /// # Errors
    /// Below 1.
    pub fn new(n: i32) -> Result<Self, InvalidId> {
        if n >= 1 { Ok(Self(n)) } else { Err(InvalidId(n.to_string())) }
    }

    /// The attempt after this one.
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// The raw rank.
    #[must_use]
    pub fn get(self) -> i32 {
        self.0
    }
}

impl TryFrom<i32> for AttemptNo {
    type Error = InvalidId;
    fn try_from(value: i32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<AttemptNo> for i32 {
    fn from(value: AttemptNo) -> Self {
        value.0
    }
}

/// The Stripe `Idempotency-Key` of one mutation. Deterministic: the same
/// (installation, échéance, attempt, operation) always gives the same key, so a
/// retry after a lost response replays instead of charging again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Not a usable idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("clé d'idempotence invalide")]
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

impl IdempotencyKey {
    /// The key of one attempt's mutation. `installation` separates databases
    /// that share a Stripe account (a reset dev database must not replay old keys).
    #[must_use]
    pub fn for_attempt(installation: &str, echeance: EcheanceId, attempt: AttemptNo, purpose: KeyPurpose) -> Self {
        let suffix = match purpose {
            KeyPurpose::Charge => "charge".to_owned(),
            KeyPurpose::Rearm(n) => format!("rearm-{n}"),
            KeyPurpose::Cancel => "cancel".to_owned(),
        };
        Self(format!("ech-{installation}-e{}-a{}-{suffix}", echeance.get(), attempt.get()))
    }

    /// The key that creates a user's Stripe customer (once per user).
    #[must_use]
    pub fn for_customer(installation: &str, user_id: i64) -> Self {
        Self(format!("ech-{installation}-u{user_id}-customer"))
    }

    /// The key of a user's `seq`-th SetupIntent (`seq` is the row id of the persisted request).
    #[must_use]
    pub fn for_setup_intent(installation: &str, user_id: i64, seq: i64) -> Self {
        Self(format!("ech-{installation}-u{user_id}-setup-{seq}"))
    }

    /// The key that attaches a card to a user's customer.
    #[must_use]
    pub fn for_attach(installation: &str, user_id: i64, payment_method: &str) -> Self {
        let pm: String = payment_method.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
        Self(format!("ech-{installation}-u{user_id}-attach-{pm}"))
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

/// What became of one attempt, as far as we know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttemptOutcome {
    /// Written, not sent yet.
    Pending,
    /// Sent; no definitive answer (timeout, 5xx, lost connection, 429). Retried with the same key.
    Unknown,
    /// Stripe is processing it.
    Processing,
    /// The customer must authenticate.
    RequiresAction,
    /// Collected.
    Succeeded,
    /// Declined by the bank.
    Declined,
    /// The PaymentIntent was cancelled.
    Canceled,
}

impl AttemptOutcome {
    /// The database spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Unknown => "unknown",
            Self::Processing => "processing",
            Self::RequiresAction => "requires_action",
            Self::Succeeded => "succeeded",
            Self::Declined => "declined",
            Self::Canceled => "canceled",
        }
    }

    /// Parses the database spelling.
    ///
    /// # Errors
    /// An unknown spelling.
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        [
            Self::Pending,
            Self::Unknown,
            Self::Processing,
            Self::RequiresAction,
            Self::Succeeded,
            Self::Declined,
            Self::Canceled,
        ]
        .into_iter()
        .find(|o| o.as_str() == value)
        .ok_or_else(|| InvalidId(value.to_owned()))
    }

    /// No further answer from Stripe is expected for this attempt.
    #[must_use]
    pub fn is_final(self) -> bool {
        match self {
            Self::Succeeded | Self::Declined | Self::Canceled => true,
            Self::Pending | Self::Unknown | Self::Processing | Self::RequiresAction => false,
        }
    }
}

/// A decline the automatic schedule may retry (the bank may say yes later), as
/// opposed to a hard decline (stolen card, closed account…) or an SCA demand,
/// which is never retried blindly.
#[must_use]
pub fn is_soft_decline(code: Option<&str>, decline_code: Option<&str>) -> bool {
    const SOFT: [&str; 8] = [
        "insufficient_funds",
        "processing_error",
        "try_again_later",
        "card_velocity_exceeded",
        "withdrawal_count_limit_exceeded",
        "generic_decline",
        "do_not_honor",
        "issuer_not_available",
    ];
    if code == Some("authentication_required") || decline_code == Some("authentication_required") {
        return false;
    }
    match decline_code {
        Some(dc) => SOFT.contains(&dc),
        // A plain `card_declined` without a decline code is treated as generic.
        None => matches!(code, Some("card_declined" | "processing_error")),
    }
}

/// When the automatic schedule retries soft declines: one delay per retry, in hours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    delays_hours: Vec<u32>,
}

impl RetryPolicy {
    /// Parses `"24,72,168"` (hours after each decline). An empty string means never retry.
    ///
    /// # Errors
    /// A part that is not a whole number of hours between 1 and 2 160 (90 days).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let delays_hours = spec
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.trim_end_matches('h').parse::<u32>() {
                Ok(h) if (1..=2160).contains(&h) => Ok(h),
                _ => Err(format!("invalid retry delay {p:?} (whole hours between 1 and 2160)")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { delays_hours })
    }

    /// Hours to wait before the next automatic retry, given how many soft
    /// declines this échéance has had; `None` when the schedule is exhausted.
    #[must_use]
    pub fn next_delay_hours(&self, soft_declines_so_far: usize) -> Option<u32> {
        soft_declines_so_far.checked_sub(1).and_then(|i| self.delays_hours.get(i)).copied()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { delays_hours: vec![24, 72, 168] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i64) -> EcheanceId {
        EcheanceId::new(n).expect("positive")
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
        assert_eq!(IdempotencyKey::parse(a.as_str()), Ok(a));
    }

    #[test]
    fn keys_are_validated_when_read_back() {
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"x".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
    }

    #[test]
    fn sca_is_never_a_soft_decline() {
        assert!(!is_soft_decline(Some("authentication_required"), None));
        assert!(!is_soft_decline(Some("card_declined"), Some("authentication_required")));
        assert!(is_soft_decline(Some("card_declined"), Some("insufficient_funds")));
        assert!(!is_soft_decline(Some("card_declined"), Some("stolen_card")));
        assert!(!is_soft_decline(Some("expired_card"), None));
        assert!(is_soft_decline(Some("card_declined"), None));
    }

    #[test]
    fn retry_policy_walks_its_delays_then_gives_up() {
        let p = RetryPolicy::parse("24, 72h").expect("valid");
        assert_eq!(p.next_delay_hours(1), Some(24));
        assert_eq!(p.next_delay_hours(2), Some(72));
        assert_eq!(p.next_delay_hours(3), None);
        assert!(RetryPolicy::parse("0").is_err());
        assert!(RetryPolicy::parse("abc").is_err());
        assert_eq!(RetryPolicy::parse("").expect("empty").next_delay_hours(1), None);
    }

    #[test]
    fn ids_must_be_positive() {
        assert!(EcheanceId::new(0).is_err());
        assert!(EcheanceId::parse("12").is_ok());
        assert!(EcheanceId::parse("x").is_err());
        assert!(AttemptNo::new(0).is_err());
    }
}
