//! Refunds of a collected échéance: their status as Stripe reports it, the
//! reasons Stripe accepts, what is left to refund, and the deterministic key
//! that makes a double click (or a lost answer) one refund.

use serde::{Deserialize, Serialize};

use super::idempotency::{IdempotencyKey, InvalidIdempotencyKey};
use super::ids::EcheanceId;
use super::money::Currency;

/// Where a refund stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefundStatus {
    /// Written, asked of Stripe; no answer read yet (sent again with the same key).
    Requested,
    /// Stripe accepted it; the money is on its way back.
    Pending,
    /// Stripe needs something before it can send it (a bank refund's details).
    RequiresAction,
    /// The money went back.
    Succeeded,
    /// The bank could not send it back: the money stays with the merchant.
    Failed,
    /// Cancelled before it was sent.
    Canceled,
    /// Stripe refused to make it (nothing was refunded).
    Refused,
}

crate::spelled!(RefundStatus {
    Requested => "requested",
    Pending => "pending",
    RequiresAction => "requires_action",
    Succeeded => "succeeded",
    Failed => "failed",
    Canceled => "canceled",
    Refused => "refused",
});

impl RefundStatus {
    /// Stripe's `status` of a refund object.
    #[must_use]
    pub fn from_stripe(status: &str) -> Option<Self> {
        match status {
            "pending" => Some(Self::Pending),
            "requires_action" => Some(Self::RequiresAction),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            "canceled" => Some(Self::Canceled),
            _ => None,
        }
    }

    /// Money that left, or may be leaving: it counts against what can still be refunded.
    #[must_use]
    pub fn counts(self) -> bool {
        matches!(self, Self::Requested | Self::Pending | Self::RequiresAction | Self::Succeeded)
    }

    /// The money left, or is on its way (as Stripe's `amount_refunded` counts it): what makes
    /// a payment refunded in full, and what the host reads as refunded.
    #[must_use]
    pub fn went_back(self) -> bool {
        matches!(self, Self::Succeeded | Self::Pending)
    }

    /// Stripe will say nothing more about it.
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled | Self::Refused)
    }

    /// What Stripe reports now replaces what the row says: a final status stays,
    /// except a success that later failed (the bank sent the money back).
    #[must_use]
    pub fn updated_by(self, reported: Self) -> Self {
        match (self, reported) {
            (Self::Succeeded, Self::Failed) => Self::Failed,
            (current, _) if current.is_final() => current,
            (_, reported) => reported,
        }
    }
}

/// What became of one refund of an échéance, as the échéance's history keeps it (an audit row of
/// event [`RefundNews::EVENT`], this as its JSON detail): asked for here (`from` none, `to`
/// requested), listed from Stripe (`from` none, made elsewhere), or moved from one status to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNews {
    /// Its rank among the échéance's refunds (0-based).
    pub seq: i32,
    /// How much, in minor units.
    pub amount: i64,
    /// In what.
    pub currency: Currency,
    /// Stripe's id (`re_…`), once known.
    pub refund: Option<String>,
    /// Where it stood (none: it was just written).
    pub from: Option<RefundStatus>,
    /// Where it stands.
    pub to: RefundStatus,
    /// Why it failed or was refused (Stripe's code, `never_sent`), when it did.
    pub why: Option<String>,
}

impl RefundNews {
    /// The audit event that carries it.
    pub const EVENT: &'static str = "Refund";

    /// Asked for here, or listed from Stripe (made elsewhere): it did not exist before.
    #[must_use]
    pub fn is_new(&self) -> bool {
        self.from.is_none()
    }
}

/// Why the merchant refunds, in Stripe's words (`reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefundReason {
    /// The customer asked for it.
    RequestedByCustomer,
    /// The payment was made twice.
    Duplicate,
    /// The payment was fraudulent.
    Fraudulent,
}

crate::spelled!(RefundReason {
    RequestedByCustomer => "requested_by_customer",
    Duplicate => "duplicate",
    Fraudulent => "fraudulent",
});

/// The minor units still refundable of a payment of `paid`, given its refunds (status, amount).
#[must_use]
pub fn refundable(paid: i64, refunds: impl IntoIterator<Item = (RefundStatus, i64)>) -> i64 {
    let out: i64 = refunds.into_iter().filter(|(s, _)| s.counts()).map(|(_, a)| a).fold(0, i64::saturating_add);
    paid.saturating_sub(out).max(0)
}

/// The minor units that went back (succeeded) of a payment, given its refunds.
#[must_use]
pub fn refunded(refunds: impl IntoIterator<Item = (RefundStatus, i64)>) -> i64 {
    refunds.into_iter().filter(|(s, _)| *s == RefundStatus::Succeeded).map(|(_, a)| a).fold(0, i64::saturating_add)
}

/// The minor units of a payment refunded as Stripe's `amount_refunded` counts them (on their
/// way or arrived), given its refunds.
#[must_use]
pub fn amount_refunded(refunds: impl IntoIterator<Item = (RefundStatus, i64)>) -> i64 {
    refunds.into_iter().filter(|(s, _)| s.went_back()).map(|(_, a)| a).fold(0, i64::saturating_add)
}

/// The key of refund `seq` (0-based) of échéance `echeance`: a form carries
/// the number of refunds its reader saw, so twenty clicks on the same page ask
/// for the same refund and Stripe makes it once.
///
/// # Errors
/// An installation id that cannot be part of a key.
pub fn refund_key(scope: &str, echeance: EcheanceId, seq: i32) -> Result<IdempotencyKey, InvalidIdempotencyKey> {
    IdempotencyKey::parse(&format!("ech-{scope}-e{echeance}-refund-{seq}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    use RefundStatus as R;

    #[test]
    fn what_is_left_to_refund_counts_what_left_or_may_be_leaving() {
        assert_eq!(refundable(1_000, []), 1_000);
        assert_eq!(refundable(1_000, [(R::Succeeded, 300), (R::Requested, 200)]), 500);
        assert_eq!(refundable(1_000, [(R::Failed, 1_000), (R::Refused, 1_000), (R::Canceled, 1_000)]), 1_000);
        assert_eq!(refundable(1_000, [(R::Succeeded, 1_000), (R::Pending, 5)]), 0, "never below zero");
        assert_eq!(refunded([(R::Succeeded, 300), (R::Pending, 200), (R::Failed, 100)]), 300);
    }

    #[test]
    fn what_stripe_counts_as_refunded_is_what_arrived_or_is_on_its_way() {
        let all = [(R::Succeeded, 300), (R::Pending, 200), (R::Failed, 100), (R::Requested, 50), (R::Canceled, 7)];
        assert_eq!(amount_refunded(all), 500);
        assert_eq!(amount_refunded(all.into_iter().filter(|(s, _)| *s != R::Pending)), 300);
        assert_eq!(amount_refunded([(R::RequiresAction, 9), (R::Refused, 9)]), 0);
    }

    #[test]
    fn a_refunds_news_reads_back_as_written() {
        let news = RefundNews {
            seq: 1,
            amount: 1_500,
            currency: Currency::Eur,
            refund: Some("re_1".to_owned()),
            from: Some(R::Succeeded),
            to: R::Failed,
            why: Some("expired_or_canceled_card".to_owned()),
        };
        let stored = serde_json::to_string(&news).expect("json");
        assert_eq!(serde_json::from_str::<RefundNews>(&stored).expect("reads"), news);
        assert!(!news.is_new());
        assert!(RefundNews { from: None, ..news }.is_new());
        assert!(serde_json::from_str::<RefundNews>("refund #1 re_1 1500 eur: succeeded").is_err(), "not news");
    }

    #[test]
    fn a_key_per_echeance_and_rank() {
        let e = EcheanceId::new(42).expect("id");
        assert_eq!(refund_key("inst", e, 0).expect("key").as_str(), "ech-inst-e42-refund-0");
        assert_ne!(refund_key("inst", e, 0), refund_key("inst", e, 1));
        assert!(refund_key("in st", e, 0).is_err());
    }

    #[test]
    fn stripe_words_are_read() {
        assert_eq!(R::from_stripe("succeeded"), Some(R::Succeeded));
        assert_eq!(R::from_stripe("failed"), Some(R::Failed));
        assert_eq!(R::from_stripe("requested"), None, "our own word, never Stripe's");
        for s in R::ALL {
            assert_eq!(R::parse(s.as_str()), Ok(*s));
        }
    }

    fn any_status() -> impl Strategy<Value = R> {
        proptest::sample::select(R::ALL.to_vec())
    }

    proptest! {
        /// A final status is never undone by a later (or older, replayed) report —
        /// except a success the bank later sent back.
        #[test]
        fn final_statuses_stay(current in any_status(), reported in any_status()) {
            let next = current.updated_by(reported);
            if current.is_final() {
                prop_assert!(next == current || (current == R::Succeeded && next == R::Failed));
            } else {
                prop_assert_eq!(next, reported);
            }
        }

        /// What is left is never negative, never more than was paid, and shrinks with each counted refund.
        #[test]
        fn refundable_is_bounded(paid in 0_i64..1_000_000, amounts in proptest::collection::vec((any_status(), 0_i64..500_000), 0..6)) {
            let left = refundable(paid, amounts.iter().copied());
            prop_assert!((0..=paid).contains(&left));
            let counted: i64 = amounts.iter().filter(|(s, _)| s.counts()).map(|(_, a)| a).sum();
            prop_assert_eq!(left, (paid - counted).max(0));
        }
    }
}
