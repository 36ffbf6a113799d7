//! Disputes of a collected échéance's payment: where each stands, in Stripe's
//! words, and what that means for the money and for the échéance.

use serde::{Deserialize, Serialize};

use super::money::Currency;
use super::status::PaymentEvent;

/// Where a dispute stands: Stripe's `status` of a dispute object, spelt as Stripe spells it.
/// An inquiry (`warning_…`) is the bank asking before it files a chargeback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DisputeStatus {
    /// An inquiry that wants an answer; no money withdrawn.
    WarningNeedsResponse,
    /// An inquiry answered, the bank reading the answer.
    WarningUnderReview,
    /// An inquiry closed without a chargeback: the money stays.
    WarningClosed,
    /// A chargeback: the amount is withdrawn, evidence is due.
    NeedsResponse,
    /// A chargeback whose evidence the bank is reading.
    UnderReview,
    /// Decided for the merchant: the amount comes back.
    Won,
    /// Decided for the cardholder: the amount stays withdrawn.
    Lost,
    /// Stopped before it became a chargeback (the merchant's prevention service refunded the
    /// payment): nothing withdrawn, nothing to answer.
    Prevented,
}

crate::spelled!(DisputeStatus {
    WarningNeedsResponse => "warning_needs_response",
    WarningUnderReview => "warning_under_review",
    WarningClosed => "warning_closed",
    NeedsResponse => "needs_response",
    UnderReview => "under_review",
    Won => "won",
    Lost => "lost",
    Prevented => "prevented",
});

impl DisputeStatus {
    /// Stripe's `status` of a dispute (the spelling is Stripe's); `None` for a word Stripe does
    /// not document. `charge_refunded`, withdrawn from Stripe's API (the merchant refunded the
    /// charge while it was disputed: decided, the money gone by the refund), reads as prevented.
    #[must_use]
    pub fn from_stripe(status: &str) -> Option<Self> {
        match status {
            "charge_refunded" => Some(Self::Prevented),
            other => Self::parse(other).ok(),
        }
    }

    /// Over: won, lost, an inquiry closed, or prevented — no evidence to send any more.
    #[must_use]
    pub fn is_decided(self) -> bool {
        matches!(self, Self::Won | Self::Lost | Self::WarningClosed | Self::Prevented)
    }

    /// Waiting for the merchant's evidence (or answer to an inquiry): its deadline matters.
    #[must_use]
    pub fn awaits_evidence(self) -> bool {
        matches!(self, Self::NeedsResponse | Self::WarningNeedsResponse)
    }

    /// How far along it is: an inquiry, then a chargeback, each asked then reviewed, then decided.
    fn stage(self) -> u8 {
        match self {
            Self::WarningNeedsResponse => 0,
            Self::WarningUnderReview => 1,
            Self::NeedsResponse => 2,
            Self::UnderReview => 3,
            Self::Won | Self::Lost | Self::WarningClosed | Self::Prevented => 4,
        }
    }

    /// Where a dispute standing here stands once Stripe reports `reported`, whose deadline for
    /// evidence compares with the one known as `deadline` (`Less`: earlier; `Equal` when either
    /// is unknown). A decided one stays decided; a report with an earlier deadline is of an
    /// earlier round (events come in any order, retried for days; the reconciler may have read a
    /// later state first) and moves nothing; a report does not move it back a stage — unless,
    /// by a later deadline, it asks for evidence again of the same kind of dispute (a network's
    /// second round: under review → response needed).
    #[must_use]
    pub fn updated_by(self, reported: Self, deadline: std::cmp::Ordering) -> Self {
        use std::cmp::Ordering;
        let second_round = matches!(
            (self, reported),
            (Self::UnderReview, Self::NeedsResponse) | (Self::WarningUnderReview, Self::WarningNeedsResponse)
        );
        match deadline {
            _ if self.is_decided() => self,
            _ if reported.is_decided() => reported,
            Ordering::Less => self,
            Ordering::Greater if second_round => reported,
            _ if reported.stage() < self.stage() => self,
            _ => reported,
        }
    }

    /// Its amount is out of the merchant's hands: a chargeback withdraws it when it opens and
    /// the bank keeps it once lost; an inquiry withdraws nothing, a won one gives it back.
    #[must_use]
    pub fn holds_money(self) -> bool {
        matches!(self, Self::NeedsResponse | Self::UnderReview | Self::Lost)
    }

    /// What it says of the échéance its payment collected: disputed while open (an inquiry
    /// too), kept once won or closed without a chargeback, gone once lost. A prevented one says
    /// nothing: its refund does.
    #[must_use]
    pub fn payment_event(self) -> Option<PaymentEvent> {
        match self {
            Self::Won | Self::WarningClosed => Some(PaymentEvent::DisputeClosed { won: true }),
            Self::Lost => Some(PaymentEvent::DisputeClosed { won: false }),
            Self::NeedsResponse | Self::UnderReview | Self::WarningNeedsResponse | Self::WarningUnderReview => {
                Some(PaymentEvent::DisputeOpened)
            }
            Self::Prevented => None,
        }
    }
}

/// What became of one dispute of an échéance's payment, as the échéance's history keeps it (an
/// audit row of event [`DisputeNews::EVENT`], this as its JSON detail): first seen (`from`
/// none), or moved from one status to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeNews {
    /// Stripe's id (`dp_…`).
    pub dispute: String,
    /// The amount at stake, in minor units.
    pub amount: i64,
    /// In what.
    pub currency: Currency,
    /// Where it stood (none: first seen).
    pub from: Option<DisputeStatus>,
    /// Where it stands.
    pub to: DisputeStatus,
    /// The bank's reason, in Stripe's words (`fraudulent`, …), when it gave one.
    pub reason: Option<String>,
    /// Of a second payment of the échéance (a double charge), not of the one that collected it
    /// (lines written before this was kept read as the échéance's own).
    #[serde(default)]
    pub of_second_payment: bool,
}

impl DisputeNews {
    /// The audit event that carries it.
    pub const EVENT: &'static str = "Dispute";

    /// Whether a dispute seen as `to`, standing at `from` (none: not known before), is news: first
    /// seen, or moved; the same status reported again (its deadline, its amount) is not.
    #[must_use]
    pub fn is_news(from: Option<DisputeStatus>, to: DisputeStatus) -> bool {
        from != Some(to)
    }
}

/// The minor units a payment's disputes hold back, given their statuses and amounts.
#[must_use]
pub fn held_by_disputes(disputes: impl IntoIterator<Item = (DisputeStatus, i64)>) -> i64 {
    disputes
        .into_iter()
        .filter(|(status, _)| status.holds_money())
        .map(|(_, amount)| amount)
        .fold(0, i64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::DisputeStatus as D;
    use super::*;

    #[test]
    fn stripe_words_are_read_and_no_other() {
        for status in D::ALL {
            assert_eq!(D::from_stripe(status.as_str()), Some(*status));
        }
        assert_eq!(D::from_stripe("warning_needs_response"), Some(D::WarningNeedsResponse));
        assert_eq!(D::from_stripe("charge_refunded"), Some(D::Prevented), "withdrawn: refunded, decided");
        assert_eq!(D::from_stripe("escalated"), None);
        assert_eq!(D::from_stripe("Won"), None);
        assert_eq!(D::ALL.len(), 8);
    }

    #[test]
    fn a_chargeback_holds_its_amount_until_won_an_inquiry_holds_nothing() {
        let held = |disputes: &[(D, i64)]| held_by_disputes(disputes.iter().copied());
        assert_eq!(held(&[(D::NeedsResponse, 500), (D::UnderReview, 200), (D::Lost, 100)]), 800);
        assert_eq!(held(&[(D::Won, 500), (D::WarningNeedsResponse, 300), (D::WarningClosed, 300)]), 0);
        assert_eq!(held(&[]), 0);
        assert_eq!(held(&[(D::Prevented, 500)]), 0, "prevented: refunded, not withdrawn");
        assert_eq!(held(&[(D::Lost, i64::MAX), (D::Lost, 1)]), i64::MAX, "saturates");
    }

    #[test]
    fn a_disputes_news_is_kept_as_json_and_only_a_move_is_news() {
        let news = DisputeNews {
            dispute: "dp_1".to_owned(),
            amount: 1_500,
            currency: Currency::Eur,
            from: Some(D::NeedsResponse),
            to: D::UnderReview,
            reason: Some("fraudulent".to_owned()),
            of_second_payment: false,
        };
        let stored = serde_json::to_string(&news).expect("writes");
        assert_eq!(serde_json::from_str::<DisputeNews>(&stored).expect("reads"), news);
        assert!(serde_json::from_str::<DisputeNews>("dispute=dp_1 status=won").is_err(), "not news");
        assert!(DisputeNews::is_news(None, D::NeedsResponse), "first seen");
        assert!(DisputeNews::is_news(None, D::Won), "first seen decided (found late by the reconciler)");
        assert!(DisputeNews::is_news(Some(D::NeedsResponse), D::UnderReview));
        assert!(!DisputeNews::is_news(Some(D::UnderReview), D::UnderReview), "the same status again");
    }

    #[test]
    fn a_dispute_moves_forward_only_and_a_decided_one_stays() {
        use std::cmp::Ordering::{Equal, Greater, Less};
        // Stripe's order: an inquiry may escalate to a chargeback; evidence puts either under review.
        let forward = [D::WarningNeedsResponse, D::WarningUnderReview, D::NeedsResponse, D::UnderReview, D::Lost];
        for pair in forward.windows(2) {
            assert_eq!(pair[0].updated_by(pair[1], Equal), pair[1], "{} → {}", pair[0], pair[1]);
            assert_eq!(pair[1].updated_by(pair[0], Equal), pair[1], "{} stays, {} is older", pair[1], pair[0]);
        }
        assert_eq!(D::WarningNeedsResponse.updated_by(D::WarningClosed, Equal), D::WarningClosed);
        assert_eq!(D::NeedsResponse.updated_by(D::Won, Less), D::Won, "a decision is taken whatever its deadline");
        // Evidence asked for again, by a later deadline: a second round, not an old event.
        assert_eq!(D::UnderReview.updated_by(D::NeedsResponse, Greater), D::NeedsResponse);
        assert_eq!(D::WarningUnderReview.updated_by(D::WarningNeedsResponse, Greater), D::WarningNeedsResponse);
        assert_eq!(D::NeedsResponse.updated_by(D::WarningUnderReview, Greater), D::NeedsResponse, "asks nothing");
        assert_eq!(D::UnderReview.updated_by(D::WarningNeedsResponse, Greater), D::UnderReview, "not an inquiry again");
        assert_eq!(D::NeedsResponse.updated_by(D::WarningNeedsResponse, Greater), D::NeedsResponse);
        // A report of an earlier round (an earlier deadline) moves nothing, even forward.
        assert_eq!(D::NeedsResponse.updated_by(D::UnderReview, Less), D::NeedsResponse);
        for decided in [D::Won, D::Lost, D::WarningClosed, D::Prevented] {
            for reported in D::ALL {
                for deadline in [Less, Equal, Greater] {
                    assert_eq!(
                        decided.updated_by(*reported, deadline),
                        decided,
                        "{decided} stays, {reported} reported"
                    );
                }
            }
        }
        for status in D::ALL {
            assert_eq!(status.updated_by(*status, Equal), *status);
        }
        assert!(D::NeedsResponse.awaits_evidence() && D::WarningNeedsResponse.awaits_evidence());
        assert!(!D::UnderReview.awaits_evidence() && !D::Won.awaits_evidence());
    }

    #[test]
    fn decided_means_nothing_left_to_answer() {
        for status in [D::Won, D::Lost, D::WarningClosed, D::Prevented] {
            assert!(status.is_decided(), "{status}");
        }
        for status in [D::NeedsResponse, D::UnderReview, D::WarningNeedsResponse, D::WarningUnderReview] {
            assert!(!status.is_decided(), "{status}");
        }
    }

    #[test]
    fn a_dispute_is_open_until_won_or_lost() {
        assert_eq!(D::NeedsResponse.payment_event(), Some(PaymentEvent::DisputeOpened));
        assert_eq!(D::WarningNeedsResponse.payment_event(), Some(PaymentEvent::DisputeOpened));
        assert_eq!(D::Won.payment_event(), Some(PaymentEvent::DisputeClosed { won: true }));
        assert_eq!(D::WarningClosed.payment_event(), Some(PaymentEvent::DisputeClosed { won: true }));
        assert_eq!(D::Lost.payment_event(), Some(PaymentEvent::DisputeClosed { won: false }));
        assert_eq!(D::Prevented.payment_event(), None);
        // Every open one says "opened", every decided one but prevented says "closed".
        for status in D::ALL {
            match status.payment_event() {
                Some(PaymentEvent::DisputeOpened) => assert!(!status.is_decided(), "{status}"),
                Some(PaymentEvent::DisputeClosed { won }) => {
                    assert!(status.is_decided(), "{status}");
                    assert_eq!(won, !status.holds_money(), "{status}");
                }
                other => assert_eq!((*status, other), (D::Prevented, None)),
            }
        }
    }
}
