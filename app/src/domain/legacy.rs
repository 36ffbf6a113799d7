//! What Stripe objects outside the charge path mean for an échéance: the
//! original site's Checkout Sessions, and refunds.

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

/// A refund of a charge: full when Stripe says so or the refunded amount covers the charge.
#[must_use]
pub fn refund_event(amount: i64, amount_refunded: i64, refunded: bool) -> PaymentEvent {
    PaymentEvent::Refunded { full: refunded || (amount > 0 && amount_refunded >= amount) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paid_session_collects_and_an_expired_one_frees_only_an_untouched_echeance() {
        assert_eq!(checkout_session_event(Some("complete"), Some("paid"), 3), Some(PaymentEvent::Succeeded));
        assert_eq!(checkout_session_event(Some("expired"), Some("unpaid"), 0), Some(PaymentEvent::Abandoned));
        assert_eq!(checkout_session_event(Some("expired"), Some("unpaid"), 1), None);
        assert_eq!(checkout_session_event(Some("open"), Some("unpaid"), 0), None);
    }

    #[test]
    fn a_refund_is_full_when_it_covers_the_charge() {
        assert_eq!(refund_event(1000, 1000, false), PaymentEvent::Refunded { full: true });
        assert_eq!(refund_event(1000, 400, false), PaymentEvent::Refunded { full: false });
        assert_eq!(refund_event(0, 0, true), PaymentEvent::Refunded { full: true });
        assert_eq!(refund_event(0, 0, false), PaymentEvent::Refunded { full: false });
    }
}
