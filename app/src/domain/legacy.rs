//! What Stripe objects outside the charge path mean for an échéance: the
//! original site's Checkout Sessions, refunds and disputes.

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
pub fn refunds_event<'a>(paid: i64, refunds: impl IntoIterator<Item = (&'a str, i64)>) -> Option<PaymentEvent> {
    let (mut through, mut failed) = (0_i64, false);
    for (status, amount) in refunds {
        match status {
            "succeeded" | "pending" => through = through.saturating_add(amount),
            "failed" | "canceled" => failed = true,
            _ => {}
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

/// What a dispute's status says: still open, or closed won (an inquiry closed
/// without a chargeback keeps the money too) or lost.
#[must_use]
pub fn dispute_event(status: Option<&str>) -> Option<PaymentEvent> {
    match status? {
        "won" | "warning_closed" => Some(PaymentEvent::DisputeClosed { won: true }),
        "lost" => Some(PaymentEvent::DisputeClosed { won: false }),
        "needs_response" | "under_review" | "warning_needs_response" | "warning_under_review" => {
            Some(PaymentEvent::DisputeOpened)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refunds_are_full_once_what_went_through_covers_the_payment() {
        assert_eq!(
            refunds_event(1000, [("succeeded", 400), ("pending", 600)]),
            Some(PaymentEvent::Refunded { full: true })
        );
        assert_eq!(refunds_event(1000, [("succeeded", 400)]), Some(PaymentEvent::Refunded { full: false }));
        assert_eq!(refunds_event(1000, [("failed", 1000)]), Some(PaymentEvent::RefundFailed));
        assert_eq!(
            refunds_event(1000, [("failed", 1000), ("succeeded", 1000)]),
            Some(PaymentEvent::Refunded { full: true })
        );
        assert_eq!(refunds_event(1000, []), None);
    }

    #[test]
    fn a_dispute_is_open_until_won_or_lost() {
        assert_eq!(dispute_event(Some("needs_response")), Some(PaymentEvent::DisputeOpened));
        assert_eq!(dispute_event(Some("warning_needs_response")), Some(PaymentEvent::DisputeOpened));
        assert_eq!(dispute_event(Some("won")), Some(PaymentEvent::DisputeClosed { won: true }));
        assert_eq!(dispute_event(Some("warning_closed")), Some(PaymentEvent::DisputeClosed { won: true }));
        assert_eq!(dispute_event(Some("lost")), Some(PaymentEvent::DisputeClosed { won: false }));
        assert_eq!(dispute_event(None), None);
    }

    #[test]
    fn a_paid_session_collects_and_an_expired_one_frees_only_an_untouched_echeance() {
        assert_eq!(checkout_session_event(Some("complete"), Some("paid"), 3), Some(PaymentEvent::Succeeded));
        assert_eq!(checkout_session_event(Some("expired"), Some("unpaid"), 0), Some(PaymentEvent::Abandoned));
        assert_eq!(checkout_session_event(Some("expired"), Some("unpaid"), 1), None);
        assert_eq!(checkout_session_event(Some("open"), Some("unpaid"), 0), None);
    }
}
