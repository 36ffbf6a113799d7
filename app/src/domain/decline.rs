//! Declines: which ones the automatic schedule may retry, and when.

use serde::{Deserialize, Serialize};

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

/// Why a payment was declined, as a customer can act on it. A card reported
/// lost, stolen or fraudulent reads as a plain decline (Stripe's advice: never
/// tell the payer more than the bank's refusal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeclineReason {
    /// Not enough money on the account.
    InsufficientFunds,
    /// The card has expired.
    ExpiredCard,
    /// A number, date or code was wrong.
    IncorrectDetails,
    /// The card's spending or withdrawal limit was reached.
    LimitReached,
    /// A passing failure at the bank: trying again may work.
    TryAgain,
    /// The bank refused, without saying more.
    Declined,
}

impl DeclineReason {
    /// From Stripe's `code` and `decline_code`.
    #[must_use]
    pub fn of(code: Option<&str>, decline_code: Option<&str>) -> Self {
        match decline_code.or(code) {
            Some("insufficient_funds") => Self::InsufficientFunds,
            Some("expired_card") => Self::ExpiredCard,
            Some(
                "incorrect_cvc"
                | "invalid_cvc"
                | "incorrect_number"
                | "invalid_number"
                | "invalid_expiry_month"
                | "invalid_expiry_year"
                | "incorrect_zip",
            ) => Self::IncorrectDetails,
            Some("card_velocity_exceeded" | "withdrawal_count_limit_exceeded") => Self::LimitReached,
            Some("processing_error" | "try_again_later" | "issuer_not_available" | "reenter_transaction") => {
                Self::TryAgain
            }
            _ => Self::Declined,
        }
    }
}

/// When the automatic schedule retries soft declines: one delay per retry, in hours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    delays_hours: Vec<u32>,
}

/// What the schedule does after a decline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryDecision {
    /// Soft declines counted for the échéance, this one included.
    pub soft_declines: i32,
    /// Hours until the automatic retry; `None`: the schedule gives up.
    pub retry_in_hours: Option<u32>,
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

    /// Counts a decline (`soft` or hard) after `soft_declines_before` soft
    /// ones and decides the next retry: a hard decline is never retried.
    #[must_use]
    pub fn decide(&self, soft: bool, soft_declines_before: i32) -> RetryDecision {
        let soft_declines = soft_declines_before.saturating_add(i32::from(soft));
        let retry_in_hours =
            soft.then(|| self.next_delay_hours(usize::try_from(soft_declines).unwrap_or(usize::MAX))).flatten();
        RetryDecision { soft_declines, retry_in_hours }
    }
}

/// When a retry `hours` after a decline at `now_ms` is due: on the hour. The daily run reads
/// its clock as it starts (06:00:10) and a decline it records comes later (06:00:40): a
/// retry due at 06:00:40 the next day would wait for the run after that one.
#[must_use]
pub fn retry_due_at(now_ms: i64, hours: u32) -> i64 {
    let at = now_ms.saturating_add(i64::from(hours) * HOUR_MS);
    at - at.rem_euclid(HOUR_MS)
}

const HOUR_MS: i64 = 3_600_000;

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { delays_hours: vec![24, 72, 168] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decline_reads_as_what_the_customer_can_do_and_never_says_stolen() {
        assert_eq!(
            DeclineReason::of(Some("card_declined"), Some("insufficient_funds")),
            DeclineReason::InsufficientFunds
        );
        assert_eq!(DeclineReason::of(Some("expired_card"), None), DeclineReason::ExpiredCard);
        assert_eq!(DeclineReason::of(Some("incorrect_cvc"), None), DeclineReason::IncorrectDetails);
        assert_eq!(
            DeclineReason::of(Some("card_declined"), Some("card_velocity_exceeded")),
            DeclineReason::LimitReached
        );
        assert_eq!(DeclineReason::of(Some("processing_error"), None), DeclineReason::TryAgain);
        for hidden in ["stolen_card", "lost_card", "fraudulent", "pickup_card", "do_not_honor"] {
            assert_eq!(DeclineReason::of(Some("card_declined"), Some(hidden)), DeclineReason::Declined);
        }
        assert_eq!(DeclineReason::of(None, None), DeclineReason::Declined);
    }
    use proptest::prelude::*;

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
    fn a_retry_is_due_on_the_hour_within_the_hour_before_its_delay() {
        // 2027-03-02 06:00:40 UTC, a decline during a run: due at 06:00:00 the next day.
        let decline = 1_803_967_240_000;
        assert_eq!(decline % HOUR_MS, 40_000);
        assert_eq!(retry_due_at(decline, 24), decline - 40_000 + 24 * HOUR_MS);
        assert_eq!(retry_due_at(decline - 40_000, 1), decline - 40_000 + HOUR_MS, "on the hour already");
    }

    proptest! {
        #[test]
        fn a_retry_is_never_due_before_its_delay_less_an_hour_nor_after_it(now in 0_i64..4_102_444_800_000, hours in 1_u32..=2160) {
            let due = retry_due_at(now, hours);
            let exact = now + i64::from(hours) * HOUR_MS;
            prop_assert!(due <= exact && due > exact - HOUR_MS && due % HOUR_MS == 0);
            prop_assert!(due > now, "never before the decline itself");
        }
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
        assert_eq!(p.decide(true, 0), RetryDecision { soft_declines: 1, retry_in_hours: Some(24) });
        assert_eq!(p.decide(false, 1), RetryDecision { soft_declines: 1, retry_in_hours: None });
    }

    proptest! {
        /// Soft declines retry exactly as many times as the policy has delays, then stop for good.
        #[test]
        fn the_schedule_is_finite(delays in proptest::collection::vec(1u32..=2160, 0..6)) {
            let spec = delays.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let policy = RetryPolicy::parse(&spec).expect("valid");
            let mut count = 0;
            let mut retries = 0;
            for _ in 0..10 {
                let d = policy.decide(true, count);
                count = d.soft_declines;
                retries += usize::from(d.retry_in_hours.is_some());
            }
            prop_assert_eq!(retries, delays.len());
            prop_assert_eq!(policy.decide(false, 0).retry_in_hours, None);
        }
    }
}
