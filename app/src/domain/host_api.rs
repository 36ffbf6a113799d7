//! What the host site sees: its API keys, the stable English tokens of the
//! statuses, and the events sent to its webhook endpoints. Pure: the key's
//! randomness and the clock come from the caller.

use sha2::{Digest, Sha256};

use super::plan_status::PlanStatus;
use super::status::EcheanceStatus;

/// Whether a key works on test or live money, following the Stripe key in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyMode {
    /// `sk_test_…` in use.
    Test,
    /// `sk_live_…` in use.
    Live,
}

crate::spelled!(KeyMode { Test => "test", Live => "live" });

impl KeyMode {
    /// The mode of a Stripe secret key (`sk_live_`/`rk_live_` is live, anything else test).
    #[must_use]
    pub fn of_stripe_key(key: &str) -> Self {
        if key.starts_with("sk_live_") || key.starts_with("rk_live_") { Self::Live } else { Self::Test }
    }

    /// The other mode.
    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::Test => Self::Live,
            Self::Live => Self::Test,
        }
    }
}

/// Characters of the random part of a key.
const KEY_RANDOM_CHARS: usize = 32;
const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A host's API key: `ek_test_…` or `ek_live_…` and 32 base-62 characters
/// (about 190 bits). Shown once; only its SHA-256 is stored (a key this long
/// needs no slow hash, and a lookup by hash leaks nothing about the key).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({}…)", self.prefix())
    }
}

/// A presented key that cannot be one of ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an API key")]
pub struct NotAKey;

/// What is stored for a key, and looked up for whatever a request presents
/// (well-formed or not: the same work either way).
#[must_use]
pub fn key_hash(presented: &str) -> String {
    hex::encode(Sha256::digest(presented.as_bytes()))
}

/// Random bytes as base-62 characters, one each (the tail of keys and secrets).
#[must_use]
pub fn base62(random: &[u8]) -> String {
    random.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
}

impl ApiKey {
    /// A new key from `random` bytes (each gives one character).
    #[must_use]
    pub fn generate(mode: KeyMode, random: &[u8; KEY_RANDOM_CHARS]) -> Self {
        Self(format!("ek_{}_{}", mode.as_str(), base62(random)))
    }

    /// Reads a presented key (the shape only: whether it exists is the database's answer).
    ///
    /// # Errors
    /// Anything that is not `ek_test_`/`ek_live_` and 32 base-62 characters.
    pub fn parse(presented: &str) -> Result<Self, NotAKey> {
        let tail = presented.strip_prefix("ek_test_").or_else(|| presented.strip_prefix("ek_live_")).ok_or(NotAKey)?;
        if tail.len() != KEY_RANDOM_CHARS || !tail.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(NotAKey);
        }
        Ok(Self(presented.to_owned()))
    }

    /// The mode written in the key.
    #[must_use]
    pub fn mode(&self) -> KeyMode {
        if self.0.starts_with("ek_live_") { KeyMode::Live } else { KeyMode::Test }
    }

    /// What is stored and looked up: the hex SHA-256 of the key.
    #[must_use]
    pub fn hash(&self) -> String {
        key_hash(&self.0)
    }

    /// The first characters, to tell keys apart in lists (`ek_test_AbCd`).
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.0[..12]
    }

    /// The key itself (printed once, at creation).
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The events a host's endpoint can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum HostEvent {
    /// The customer accepted and a card can be charged (also when a default is cured).
    PlanActivated,
    /// Every échéance is collected.
    PlanCompleted,
    /// An échéance failed for good.
    PlanDefaulted,
    /// The merchant cancelled the plan.
    PlanCanceled,
    /// The plan changed without changing status: a due date moved made it, or stopped it being,
    /// consumer credit (`consumer_credit`).
    PlanUpdated,
    /// An échéance was collected.
    EcheancePaid,
    /// A charge of an échéance failed (retried, or for good).
    EcheancePaymentFailed,
    /// The bank asks the customer to authenticate (3D Secure).
    EcheanceActionRequired,
    /// Collected money went back to the customer, all of it.
    EcheanceRefunded,
    /// Part of the collected money went back to the customer; the échéance stays paid
    /// (`amount_refunded_cents` says how much went back so far).
    EcheancePartiallyRefunded,
    /// The customer disputed the payment.
    EcheanceDisputed,
    /// A dispute ended in the merchant's favour: the échéance is paid again.
    EcheanceDisputeWon,
    /// A refund failed (the bank sent the money back to the merchant): the échéance is paid again,
    /// or still (a refund of part of it).
    EcheanceRefundFailed,
    /// The échéance will not be collected (cancelled by the merchant, or with its plan).
    EcheanceCanceled,
    /// The merchant moved the échéance's due date (`due_date`).
    EcheanceRescheduled,
}

crate::spelled!(HostEvent {
    PlanActivated => "plan.activated",
    PlanCompleted => "plan.completed",
    PlanDefaulted => "plan.defaulted",
    PlanCanceled => "plan.canceled",
    PlanUpdated => "plan.updated",
    EcheancePaid => "echeance.paid",
    EcheancePaymentFailed => "echeance.payment_failed",
    EcheanceActionRequired => "echeance.action_required",
    EcheanceRefunded => "echeance.refunded",
    EcheancePartiallyRefunded => "echeance.partially_refunded",
    EcheanceDisputed => "echeance.disputed",
    EcheanceDisputeWon => "echeance.dispute_won",
    EcheanceRefundFailed => "echeance.refund_failed",
    EcheanceCanceled => "echeance.canceled",
    EcheanceRescheduled => "echeance.rescheduled",
});

impl HostEvent {
    /// The event an échéance's status change sends, if any.
    #[must_use]
    pub fn of_echeance(from: EcheanceStatus, to: EcheanceStatus) -> Option<Self> {
        if from == to {
            return None;
        }
        match to {
            // A dispute won gives the money back to the merchant: not a second payment.
            EcheanceStatus::Payee if from == EcheanceStatus::Contestee => Some(Self::EcheanceDisputeWon),
            // The host was told of the refund: told too that the money stayed.
            EcheanceStatus::Payee if from == EcheanceStatus::Remboursee => Some(Self::EcheanceRefundFailed),
            EcheanceStatus::Payee if from.was_collected() => None,
            EcheanceStatus::Payee => Some(Self::EcheancePaid),
            EcheanceStatus::Echouee | EcheanceStatus::EchoueeDefinitive => Some(Self::EcheancePaymentFailed),
            EcheanceStatus::EnAttente => Some(Self::EcheanceActionRequired),
            EcheanceStatus::Remboursee => Some(Self::EcheanceRefunded),
            EcheanceStatus::Contestee => Some(Self::EcheanceDisputed),
            EcheanceStatus::Annulee => Some(Self::EcheanceCanceled),
            EcheanceStatus::APayer | EcheanceStatus::EnCours => None,
        }
    }

    /// The event a refund of an échéance of `amount` in `status` sends when its money went back
    /// (`went_back`) or came back, leaving `refunded` refunded: a refund of part is told as it
    /// goes, a refund in full by the échéance's own change (« remboursée »); money that came back
    /// while the échéance holds its payment is always told, with the amount now refunded (what the
    /// host heard before cannot be read from today's sums) — a full refund failing while
    /// « remboursée » is told by its change back to « payée ». None while it holds no money.
    #[must_use]
    pub fn of_refund(status: EcheanceStatus, went_back: bool, refunded: i64, amount: i64) -> Option<Self> {
        if !matches!(status, EcheanceStatus::Payee | EcheanceStatus::Contestee) {
            return None;
        }
        if !went_back {
            Some(Self::EcheanceRefundFailed)
        } else if refunded < amount {
            Some(Self::EcheancePartiallyRefunded)
        } else {
            None
        }
    }

    /// The event a plan's status change sends, if any.
    #[must_use]
    pub fn of_plan(from: PlanStatus, to: PlanStatus) -> Option<Self> {
        if from == to {
            return None;
        }
        match to {
            PlanStatus::Actif => Some(Self::PlanActivated),
            PlanStatus::Termine => Some(Self::PlanCompleted),
            PlanStatus::EnDefaut => Some(Self::PlanDefaulted),
            PlanStatus::Annule => Some(Self::PlanCanceled),
            PlanStatus::Brouillon | PlanStatus::EnAttenteClient => None,
        }
    }

    /// Whether an endpoint subscribed to `wanted` (`*` is every event) receives this one.
    #[must_use]
    pub fn wanted_by(self, wanted: &[String]) -> bool {
        wanted.iter().any(|w| w == "*" || w == self.as_str())
    }
}

/// An échéance's status as the API spells it (stable English tokens).
#[must_use]
pub fn echeance_status_token(status: EcheanceStatus) -> &'static str {
    match status {
        EcheanceStatus::APayer => "scheduled",
        EcheanceStatus::EnCours => "processing",
        EcheanceStatus::EnAttente => "requires_action",
        EcheanceStatus::Payee => "paid",
        EcheanceStatus::Echouee => "failed",
        EcheanceStatus::EchoueeDefinitive => "failed_permanently",
        EcheanceStatus::Annulee => "canceled",
        EcheanceStatus::Remboursee => "refunded",
        EcheanceStatus::Contestee => "disputed",
    }
}

/// A plan's status as the API spells it.
#[must_use]
pub fn plan_status_token(status: PlanStatus) -> &'static str {
    match status {
        PlanStatus::Brouillon => "draft",
        PlanStatus::EnAttenteClient => "awaiting_customer",
        PlanStatus::Actif => "active",
        PlanStatus::Termine => "completed",
        PlanStatus::EnDefaut => "defaulted",
        PlanStatus::Annule => "canceled",
    }
}

/// The plan status a token names (the list's `status=` filter).
#[must_use]
pub fn plan_status_of_token(token: &str) -> Option<PlanStatus> {
    PlanStatus::ALL.iter().copied().find(|s| plan_status_token(*s) == token)
}

/// Whether an address is on the public internet — not loopback, private,
/// link-local (cloud metadata), shared (CGNAT), documentation, multicast or
/// unspecified. In production webhooks go only there: a leaked key must not
/// make the server call into its own network.
#[must_use]
pub fn is_public_address(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 198 && (b & 0xfe) == 18))
        }
        std::net::IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            let reserved = v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80;
            !reserved && v6.to_ipv4_mapped().is_none_or(|v4| is_public_address(std::net::IpAddr::V4(v4)))
        }
    }
}

/// A token bucket: `rate` requests a second on average, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    tokens: f64,
    at_ms: i64,
}

impl Bucket {
    /// A full bucket at `now_ms`.
    #[must_use]
    pub fn full(burst: u32, now_ms: i64) -> Self {
        Self { tokens: f64::from(burst), at_ms: now_ms }
    }

    /// Takes one token at `now_ms`, or says how many milliseconds until one is there.
    ///
    /// # Errors
    /// The wait, in milliseconds (at least 1).
    pub fn take(&mut self, rate: u32, burst: u32, now_ms: i64) -> Result<(), i64> {
        let rate = f64::from(rate.max(1));
        #[expect(clippy::cast_precision_loss, reason = "elapsed milliseconds are far below 2^52")]
        let elapsed = (now_ms - self.at_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * rate / 1000.0).min(f64::from(burst.max(1)));
        self.at_ms = now_ms.max(self.at_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        #[expect(clippy::cast_possible_truncation, reason = "a wait of at most a few seconds")]
        let wait = ((1.0 - self.tokens) * 1000.0 / rate).ceil() as i64;
        Err(wait.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_back_and_tells_its_mode_and_prefix() {
        let key = ApiKey::generate(KeyMode::Test, &[7; 32]);
        assert!(key.expose().starts_with("ek_test_"));
        assert_eq!(key.expose().len(), 8 + 32);
        let read = ApiKey::parse(key.expose()).expect("a generated key parses");
        assert_eq!(read.mode(), KeyMode::Test);
        assert_eq!(read.hash(), key.hash());
        assert_eq!(key.prefix().len(), 12);
        assert_eq!(ApiKey::generate(KeyMode::Live, &[1; 32]).mode(), KeyMode::Live);
        assert!(!format!("{key:?}").contains(&key.expose()[12..]), "Debug never prints the key");
    }

    #[test]
    fn only_our_key_shape_parses() {
        for bad in
            ["", "ek_test_", "sk_test_0123456789abcdef0123456789abcdef", "ek_test_0123456789abcdef0123456789abcde!"]
        {
            assert_eq!(ApiKey::parse(bad), Err(NotAKey), "{bad:?}");
        }
        assert_eq!(ApiKey::parse(&format!("ek_prod_{}", "a".repeat(32))), Err(NotAKey));
        assert!(ApiKey::parse(&format!("ek_live_{}", "a".repeat(32))).is_ok());
        assert_eq!(ApiKey::parse(&format!("ek_live_{}", "a".repeat(33))), Err(NotAKey));
    }

    #[test]
    fn different_randomness_gives_different_hashes() {
        let a = ApiKey::generate(KeyMode::Test, &[1; 32]);
        let mut other = [1; 32];
        other[31] = 2;
        assert_ne!(a.hash(), ApiKey::generate(KeyMode::Test, &other).hash());
    }

    #[test]
    fn the_key_mode_follows_the_stripe_key() {
        assert_eq!(KeyMode::of_stripe_key("sk_live_x"), KeyMode::Live);
        assert_eq!(KeyMode::of_stripe_key("rk_live_x"), KeyMode::Live);
        assert_eq!(KeyMode::of_stripe_key("sk_test_x"), KeyMode::Test);
    }

    #[test]
    fn every_status_change_sends_at_most_its_one_event() {
        use EcheanceStatus as E;
        assert_eq!(HostEvent::of_echeance(E::EnCours, E::Payee), Some(HostEvent::EcheancePaid));
        assert_eq!(HostEvent::of_echeance(E::EnAttente, E::Payee), Some(HostEvent::EcheancePaid));
        assert_eq!(
            HostEvent::of_echeance(E::Contestee, E::Payee),
            Some(HostEvent::EcheanceDisputeWon),
            "a dispute won is not a second payment"
        );
        assert_eq!(HostEvent::of_echeance(E::APayer, E::Annulee), Some(HostEvent::EcheanceCanceled));
        assert_eq!(HostEvent::of_echeance(E::EnAttente, E::Annulee), Some(HostEvent::EcheanceCanceled));
        assert_eq!(HostEvent::of_echeance(E::EnCours, E::EnAttente), Some(HostEvent::EcheanceActionRequired));
        assert_eq!(HostEvent::of_echeance(E::EnCours, E::Echouee), Some(HostEvent::EcheancePaymentFailed));
        assert_eq!(HostEvent::of_echeance(E::Payee, E::Remboursee), Some(HostEvent::EcheanceRefunded));
        assert_eq!(
            HostEvent::of_echeance(E::Remboursee, E::Payee),
            Some(HostEvent::EcheanceRefundFailed),
            "a refund that failed after the host heard of it is told too"
        );
        assert_eq!(HostEvent::of_echeance(E::Payee, E::Contestee), Some(HostEvent::EcheanceDisputed));
        assert_eq!(HostEvent::of_echeance(E::APayer, E::EnCours), None);
        for s in E::ALL {
            assert_eq!(HostEvent::of_echeance(*s, *s), None);
        }
        use PlanStatus as P;
        assert_eq!(HostEvent::of_plan(P::EnAttenteClient, P::Actif), Some(HostEvent::PlanActivated));
        assert_eq!(HostEvent::of_plan(P::Actif, P::EnDefaut), Some(HostEvent::PlanDefaulted));
        assert_eq!(HostEvent::of_plan(P::Actif, P::Termine), Some(HostEvent::PlanCompleted));
        assert_eq!(HostEvent::of_plan(P::Actif, P::Annule), Some(HostEvent::PlanCanceled));
        assert_eq!(HostEvent::of_plan(P::Brouillon, P::EnAttenteClient), None);
    }

    #[test]
    fn a_refund_of_part_is_told_and_a_refund_in_full_is_left_to_the_status_change() {
        use EcheanceStatus as E;
        let (partial, failed) = (Some(HostEvent::EcheancePartiallyRefunded), Some(HostEvent::EcheanceRefundFailed));
        assert_eq!(HostEvent::of_refund(E::Payee, true, 400, 1_000), partial);
        assert_eq!(HostEvent::of_refund(E::Contestee, true, 400, 1_000), partial);
        assert_eq!(HostEvent::of_refund(E::Payee, true, 1_000, 1_000), None, "« remboursée » tells it");
        assert_eq!(HostEvent::of_refund(E::Payee, false, 0, 1_000), failed);
        // 400 told, then 600 more (« remboursée » to come), then the 400 failed: told, 600 now.
        assert_eq!(HostEvent::of_refund(E::Payee, false, 600, 1_000), failed, "whatever the host heard");
        assert_eq!(HostEvent::of_refund(E::Remboursee, false, 0, 1_000), None, "back to « payée » tells it");
        assert_eq!(HostEvent::of_refund(E::Remboursee, true, 1_000, 1_000), None);
        for s in E::ALL.iter().filter(|s| !matches!(s, E::Payee | E::Contestee)) {
            assert_eq!(HostEvent::of_refund(*s, true, 1, 1_000), None, "{s:?} holds no money of its own");
            assert_eq!(HostEvent::of_refund(*s, false, 0, 1_000), None, "{s:?} holds no money of its own");
        }
    }

    #[test]
    fn tokens_are_distinct_and_read_back() {
        let plan: std::collections::HashSet<_> = PlanStatus::ALL.iter().map(|s| plan_status_token(*s)).collect();
        assert_eq!(plan.len(), PlanStatus::ALL.len());
        for s in PlanStatus::ALL {
            assert_eq!(plan_status_of_token(plan_status_token(*s)), Some(*s));
        }
        let echeance: std::collections::HashSet<_> =
            EcheanceStatus::ALL.iter().map(|s| echeance_status_token(*s)).collect();
        assert_eq!(echeance.len(), EcheanceStatus::ALL.len());
        assert_eq!(plan_status_of_token("actif"), None, "the API speaks English tokens only");
    }

    #[test]
    fn subscriptions_match_by_name_or_star() {
        let wanted = vec!["echeance.paid".to_owned()];
        assert!(HostEvent::EcheancePaid.wanted_by(&wanted));
        assert!(!HostEvent::PlanActivated.wanted_by(&wanted));
        assert!(HostEvent::PlanActivated.wanted_by(&["*".to_owned()]));
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "198.18.0.1",
        ] {
            assert!(!is_public_address(private.parse().expect("address")), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public_address(public.parse().expect("address")), "{public}");
        }
    }

    #[test]
    fn the_bucket_lets_a_burst_through_then_paces() {
        let mut bucket = Bucket::full(3, 0);
        assert!(bucket.take(10, 3, 0).is_ok());
        assert!(bucket.take(10, 3, 0).is_ok());
        assert!(bucket.take(10, 3, 0).is_ok());
        assert_eq!(bucket.take(10, 3, 0), Err(100), "one token every 100 ms at 10/s");
        assert_eq!(bucket.take(10, 3, 50), Err(50));
        assert!(bucket.take(10, 3, 100).is_ok());
        assert!(bucket.take(10, 3, 10_000).is_ok(), "refilled, never above the burst");
        assert!(bucket.take(10, 3, 10_000).is_ok());
        assert!(bucket.take(10, 3, 10_000).is_ok());
        assert!(bucket.take(10, 3, 10_000).is_err());
    }
}
