//! What Stripe objects outside the charge path mean for an échéance: the
//! original site's Checkout Sessions and refunds (disputes: [`super::dispute`]).

use super::refund::RefundStatus;
use super::status::PaymentEvent;

/// What a legacy Checkout Session says of its échéance: paid → collected;
/// expired → payable again, but only while the new flow has made no attempt
/// (an old session's expiry says nothing about a newer charge).
#[must_use]
pub fn checkout_session_event(
    status: Option<&str>,
    payment_status: Option<&str>,
    attempts_made: i32,
) -> Option<PaymentEvent> {
    match (status, payment_status) {
        (_, Some("paid")) => Some(PaymentEvent::Succeeded),
        (Some("expired"), _) if attempts_made == 0 => Some(PaymentEvent::Abandoned),
        _ => None,
    }
}

/// What the refunds of one payment of `paid` minor units say, from their
/// (status, amount): full once those that went through (or are on their way)
/// cover it; a failed one with nothing covering puts the money back as paid.
#[must_use]
pub fn refunds_event(paid: i64, refunds: impl IntoIterator<Item = (RefundStatus, i64)>) -> Option<PaymentEvent> {
    let (mut through, mut failed) = (0_i64, false);
    for (status, amount) in refunds {
        if status.went_back() {
            through = through.saturating_add(amount);
        } else if matches!(status, RefundStatus::Failed | RefundStatus::Canceled) {
            failed = true;
        }
    }
    if paid > 0 && through >= paid {
        Some(PaymentEvent::Refunded { full: true })
    } else if failed {
        Some(PaymentEvent::RefundFailed)
    } else if through > 0 {
        Some(PaymentEvent::Refunded { full: false })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refunds_are_full_once_what_went_through_covers_the_payment() {
        use RefundStatus as R;
        assert_eq!(
            refunds_event(1000, [(R::Succeeded, 400), (R::Pending, 600)]),
            Some(PaymentEvent::Refunded { full: true })
        );
        assert_eq!(refunds_event(1000, [(R::Succeeded, 400)]), Some(PaymentEvent::Refunded { full: false }));
        assert_eq!(refunds_event(1000, [(R::Failed, 1000)]), Some(PaymentEvent::RefundFailed));
        assert_eq!(refunds_event(1000, [(R::Canceled, 1000)]), Some(PaymentEvent::RefundFailed));
        assert_eq!(
            refunds_event(1000, [(R::Failed, 1000), (R::Succeeded, 1000)]),
            Some(PaymentEvent::Refunded { full: true })
        );
        assert_eq!(refunds_event(1000, [(R::RequiresAction, 1000)]), None, "not sent yet");
        assert_eq!(refunds_event(1000, []), None);
    }

    #[test]
    fn a_paid_session_collects_and_an_expired_one_frees_only_an_untouched_echeance() {
        assert_eq!(checkout_session_event(Some("complete"), Some("paid"), 3), Some(PaymentEvent::Succeeded));
        assert_eq!(checkout_session_event(Some("expired"), Some("unpaid"), 0), Some(PaymentEvent::Abandoned));
        assert_eq!(checkout_session_event(Some("expired"), Some("unpaid"), 1), None);
        assert_eq!(checkout_session_event(Some("open"), Some("unpaid"), 0), None);
    }
}
