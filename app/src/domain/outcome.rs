//! The attempt's own state machine: what Stripe's answers make of one charge
//! attempt, and which of them reach the échéance. Pure; `services::record`
//! loads the rows, asks [`AttemptOutcome::apply_report`], and writes.

use serde::{Deserialize, Serialize};

use super::status::PaymentEvent;

/// What became of one attempt, as far as we know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

crate::spelled!(AttemptOutcome {
    Pending => "pending",
    Unknown => "unknown",
    Processing => "processing",
    RequiresAction => "requires_action",
    Succeeded => "succeeded",
    Declined => "declined",
    Canceled => "canceled",
});

/// When the follow-up worker should look at the attempt again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextCheck {
    /// In this many milliseconds.
    In(i64),
    /// Keep the time already set.
    Keep,
    /// Never: the attempt is settled or waits for the customer.
    Never,
}

/// What one report from Stripe does to an attempt and its échéance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptUpdate {
    /// The attempt's outcome after the report.
    pub outcome: AttemptOutcome,
    /// When to look again.
    pub next_check: NextCheck,
    /// The event to apply to the échéance, if any.
    pub echeance_event: Option<PaymentEvent>,
    /// A new decline to count against the retry schedule.
    pub count_decline: bool,
}

/// A `processing` PaymentIntent is looked at again after this long.
pub const RECHECK_PROCESSING_MS: i64 = 5 * 60 * 1000;
/// An answer we cannot act on yet (an SCA demand without its PaymentIntent) is looked at again after this long.
pub const RECHECK_UNREADABLE_MS: i64 = 30 * 1000;

impl AttemptOutcome {
    /// Its PaymentIntent may still collect: declined (Stripe waits for another payment
    /// method: the customer's page can confirm it again), waiting for 3D Secure, or
    /// being processed. One is cancelled before another attempt of its échéance is sent.
    #[must_use]
    pub fn may_still_collect(self) -> bool {
        matches!(self, Self::Declined | Self::RequiresAction | Self::Processing)
    }

    /// No further answer from Stripe is expected for this attempt.
    #[must_use]
    pub fn is_final(self) -> bool {
        match self {
            Self::Succeeded | Self::Declined | Self::Canceled => true,
            Self::Pending | Self::Unknown | Self::Processing | Self::RequiresAction => false,
        }
    }

    /// The follow-up worker must settle it (sent or written, answer not known).
    #[must_use]
    pub fn needs_follow_up(self) -> bool {
        matches!(self, Self::Pending | Self::Unknown | Self::Processing)
    }

    /// What a domain event reported by Stripe says of the attempt itself.
    #[must_use]
    pub fn reported_by(event: Option<PaymentEvent>) -> Self {
        match event {
            Some(PaymentEvent::Succeeded) => Self::Succeeded,
            Some(PaymentEvent::Processing) => Self::Processing,
            Some(PaymentEvent::AuthenticationRequired | PaymentEvent::AuthenticationFailed) => Self::RequiresAction,
            Some(PaymentEvent::Declined { .. }) => Self::Declined,
            Some(PaymentEvent::Abandoned | PaymentEvent::GivenUpUnsent { .. }) => Self::Canceled,
            Some(
                PaymentEvent::ChargeStarted
                | PaymentEvent::Canceled
                | PaymentEvent::Refunded { .. }
                | PaymentEvent::DisputeOpened
                | PaymentEvent::DisputeClosed { .. }
                | PaymentEvent::RefundFailed,
            )
            | None => Self::Unknown,
        }
    }

    /// Applies one report to an attempt whose outcome is `self`.
    ///
    /// Outcomes only move forward: a final outcome is not replaced by a stale
    /// one, except by a success (the money is there); "no answer" never
    /// replaces an answer. A report about an attempt that is no longer the
    /// échéance's current one only reaches the échéance when it is a success.
    /// A decline is counted once, however many times it is reported.
    #[must_use]
    pub fn apply_report(self, event: Option<PaymentEvent>, told_an_error: bool, is_current: bool) -> AttemptUpdate {
        let reported = Self::reported_by(event);
        let stale = self.is_final() && reported != Self::Succeeded;
        let uninformative = reported == Self::Unknown && self != Self::Pending;
        let outcome = if stale || uninformative { self } else { reported };
        let next_check = match outcome {
            Self::Processing => NextCheck::In(RECHECK_PROCESSING_MS),
            Self::Unknown if told_an_error => NextCheck::In(RECHECK_UNREADABLE_MS),
            Self::Pending | Self::Unknown => NextCheck::Keep,
            Self::RequiresAction | Self::Succeeded | Self::Declined | Self::Canceled => NextCheck::Never,
        };
        let echeance_event = match event {
            Some(PaymentEvent::Succeeded) => event,
            Some(_) if is_current && outcome == reported => event,
            _ => None,
        };
        let count_decline = matches!(echeance_event, Some(PaymentEvent::Declined { .. })) && self != Self::Declined;
        AttemptUpdate { outcome, next_check, echeance_event, count_decline }
    }
}

/// What the customer's browser does with a PaymentIntent that waits for them (3D Secure), in
/// Stripe.js: each PaymentIntent is confirmed once per try, and a confirmation opens the
/// bank's 3DS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThreeDsStep {
    /// `confirmCardPayment` with this card: Stripe waits for a payment method (an off-session
    /// SCA demand leaves the PaymentIntent so), or the card changed since it was confirmed.
    Confirm {
        /// `pm_…`.
        payment_method: String,
    },
    /// `handleNextAction`: confirmed already with this very card (on-session, or re-armed after
    /// a failed 3DS) and waiting for the cardholder only. Confirming it again would spend a
    /// second confirmation and open a second 3DS.
    HandleAction,
}

impl ThreeDsStep {
    /// The step for a waiting PaymentIntent that is to be paid with `card`; `action_with`:
    /// the card it waits for 3DS on (`requires_action`), `None` when Stripe waits for a
    /// payment method.
    #[must_use]
    pub fn for_card(action_with: Option<&str>, card: String) -> Self {
        if action_with == Some(card.as_str()) { Self::HandleAction } else { Self::Confirm { payment_method: card } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_outcome() -> impl Strategy<Value = AttemptOutcome> {
        proptest::sample::select(AttemptOutcome::ALL.to_vec())
    }

    fn any_event() -> impl Strategy<Value = Option<PaymentEvent>> {
        proptest::option::of(prop_oneof![
            Just(PaymentEvent::Succeeded),
            Just(PaymentEvent::Processing),
            Just(PaymentEvent::AuthenticationRequired),
            Just(PaymentEvent::AuthenticationFailed),
            any::<bool>().prop_map(|retryable| PaymentEvent::Declined { retryable }),
            Just(PaymentEvent::Abandoned),
        ])
    }

    #[test]
    fn a_payment_intent_confirmed_with_the_card_to_pay_with_is_not_confirmed_again() {
        let card = || "pm_now".to_owned();
        assert_eq!(ThreeDsStep::for_card(Some("pm_now"), card()), ThreeDsStep::HandleAction);
        // Stripe waits for a payment method (an off-session SCA demand): the browser confirms.
        assert_eq!(ThreeDsStep::for_card(None, card()), ThreeDsStep::Confirm { payment_method: card() });
        // Waiting for 3DS on a card the customer has replaced since: confirmed with the new one.
        assert_eq!(ThreeDsStep::for_card(Some("pm_old"), card()), ThreeDsStep::Confirm { payment_method: card() });
    }

    #[test]
    fn outcomes_round_trip_through_their_database_spelling() {
        for o in AttemptOutcome::ALL {
            assert_eq!(AttemptOutcome::parse(o.as_str()), Ok(*o));
        }
        assert!(AttemptOutcome::parse("paid").is_err());
    }

    #[test]
    fn a_stale_decline_after_success_changes_nothing() {
        let update =
            AttemptOutcome::Succeeded.apply_report(Some(PaymentEvent::Declined { retryable: true }), true, true);
        assert_eq!(update.outcome, AttemptOutcome::Succeeded);
        assert_eq!(update.echeance_event, None);
    }

    #[test]
    fn a_success_of_an_old_attempt_still_reaches_the_echeance() {
        let update = AttemptOutcome::Canceled.apply_report(Some(PaymentEvent::Succeeded), false, false);
        assert_eq!(update.outcome, AttemptOutcome::Succeeded);
        assert_eq!(update.echeance_event, Some(PaymentEvent::Succeeded));
        assert_eq!(update.next_check, NextCheck::Never);
    }

    #[test]
    fn no_answer_keeps_what_is_known_and_an_unreadable_error_is_rechecked_soon() {
        let update = AttemptOutcome::Pending.apply_report(None, true, true);
        assert_eq!(update.outcome, AttemptOutcome::Unknown);
        assert_eq!(update.next_check, NextCheck::In(RECHECK_UNREADABLE_MS));
        assert_eq!(
            AttemptOutcome::RequiresAction.apply_report(None, false, true).outcome,
            AttemptOutcome::RequiresAction
        );
    }

    proptest! {
        /// A success is never forgotten, whatever is reported after it.
        #[test]
        fn success_is_absorbing(events in proptest::collection::vec(any_event(), 0..20), current in any::<bool>()) {
            let mut o = AttemptOutcome::Succeeded;
            for e in events {
                o = o.apply_report(e, false, current).outcome;
                prop_assert_eq!(o, AttemptOutcome::Succeeded);
            }
        }

        /// A final outcome only ever moves to a success.
        #[test]
        fn final_outcomes_only_move_to_success(start in any_outcome(), event in any_event(), current in any::<bool>()) {
            let next = start.apply_report(event, false, current).outcome;
            if start.is_final() && next != start {
                prop_assert_eq!(next, AttemptOutcome::Succeeded);
            }
        }

        /// Only a success reaches the échéance from an attempt that is not its current one,
        /// and the same decline reported twice is counted once.
        #[test]
        fn stale_news_stays_on_the_attempt(start in any_outcome(), event in any_event()) {
            let update = start.apply_report(event, false, false);
            prop_assert!(update.echeance_event.is_none() || update.echeance_event == Some(PaymentEvent::Succeeded));
            let once = start.apply_report(event, false, true);
            let twice = once.outcome.apply_report(event, false, true);
            prop_assert!(!(once.count_decline && twice.count_decline));
        }
    }
}
