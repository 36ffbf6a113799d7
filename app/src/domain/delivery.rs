//! Where a delivery stands: a Stripe event in the webhook inbox, an email in the outbox.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::host_api::KeyMode;
use super::plan_status::PlanStatus;
use super::status::EcheanceStatus;

/// Where a webhook inbox row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxStatus {
    /// To process (or to retry at `next_attempt_at`).
    Pending,
    /// Applied.
    Processed,
    /// Stored and acknowledged; nothing to do (unknown type, not ours).
    Ignored,
    /// Gave up after every retry.
    Failed,
}

crate::spelled!(InboxStatus { Pending => "pending", Processed => "processed", Ignored => "ignored", Failed => "failed" });

/// Where an outbox row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting to be sent (or retried).
    Pending,
    /// Accepted by the SMTP server.
    Sent,
    /// Gave up after the last retry; shown on the dashboard.
    Failed,
    /// No longer relevant (a reminder for an échéance paid since).
    Cancelled,
}

crate::spelled!(OutboxStatus { Pending => "pending", Sent => "sent", Failed => "failed", Cancelled => "cancelled" });

/// Where the delivery of one event to one host endpoint stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostDeliveryStatus {
    /// Waiting for its first try, or for its next one at `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every retry of the retry window failed; replayable from the dashboard.
    Failed,
}

crate::spelled!(HostDeliveryStatus { Pending => "pending", Delivered => "delivered", Failed => "failed" });

/// The waits between tries of an outgoing webhook, as Stripe spaces its own:
/// a minute, five, half an hour, two hours, then every five hours.
const HOST_RETRY_WAITS_MS: [i64; 5] = [60_000, 300_000, 1_800_000, 7_200_000, 18_000_000];

/// When to try again after `attempts` failed tries of an event created at
/// `created_ms`, or `None` once the retry window (`window_ms`, three days by
/// default) is over: then the delivery is failed.
#[must_use]
pub fn next_host_try(attempts: u32, created_ms: i64, now_ms: i64, window_ms: i64) -> Option<i64> {
    let index = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX).min(HOST_RETRY_WAITS_MS.len() - 1);
    let next = now_ms.saturating_add(HOST_RETRY_WAITS_MS[index]);
    (next <= created_ms.saturating_add(window_ms)).then_some(next)
}

/// Why an email or a host webhook was not (yet) delivered, as data: written
/// to the row's `last_error` with [`Trouble::stored`], read back with
/// [`Trouble::read`], and worded by the interface in the reader's language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trouble {
    /// The échéance the email was about is in `status` now (for an announced debit, due on `due_date`).
    EcheanceNow {
        /// Its status now.
        status: EcheanceStatus,
        /// Its due date now (an announced debit only).
        due_date: Option<NaiveDate>,
    },
    /// The plan the email was about is in this status now.
    PlanNow(PlanStatus),
    /// The card an expiry warning was about was replaced or extended.
    CardReplaced,
    /// An expiry warning's card misses no debit to come any more (its debits charged, paid ahead,
    /// moved within its expiry, or cancelled): withdrawn, to be queued again when one comes near.
    NoDebitMissed,
    /// A plan's default email waits: a charge of one of its échéances is under way (it made the
    /// plan active again, and may still be given up with the plan back in default).
    ChargeUnderWay,
    /// An email that asks its reader to act through Stripe (accept, authenticate, expect a debit,
    /// replace a card) about a plan made with the keys of this mode, not those in use: it waits
    /// for them (the keys change at a start).
    OtherMode(KeyMode),
    /// The link it carries (an invitation's, a 3D Secure page's) has expired.
    LinkExpired,
    /// A newer email of the same kind about the same plan, to the same reader, replaces it.
    Superseded,
    /// The endpoint was deleted (or its event is gone).
    EndpointDeleted,
    /// The endpoint's URL does not read.
    UrlUnreadable,
    /// In production, the endpoint is not a public address.
    NotPublic,
    /// The HTTP client could not be built.
    NoHttpClient,
    /// The endpoint answered with this status, not a 2xx.
    Answered(u16),
    /// No answer within the timeout.
    Timeout,
    /// Not reached; the transport's own words (technical, as it said them).
    NotReached(String),
    /// Anything else, as the SMTP server or the template engine said it (technical).
    Other(String),
}

impl Trouble {
    /// How the row keeps it.
    #[must_use]
    pub fn stored(&self) -> String {
        match self {
            Self::EcheanceNow { status, due_date: Some(date) } => format!("echeance_now:{status}:{date}"),
            Self::EcheanceNow { status, due_date: None } => format!("echeance_now:{status}"),
            Self::PlanNow(status) => format!("plan_now:{status}"),
            Self::CardReplaced => "card_replaced".to_owned(),
            Self::NoDebitMissed => "no_debit_missed".to_owned(),
            Self::ChargeUnderWay => "charge_under_way".to_owned(),
            Self::OtherMode(mode) => format!("other_mode:{mode}"),
            Self::LinkExpired => "link_expired".to_owned(),
            Self::Superseded => "superseded".to_owned(),
            Self::EndpointDeleted => "endpoint_deleted".to_owned(),
            Self::UrlUnreadable => "url_unreadable".to_owned(),
            Self::NotPublic => "not_public".to_owned(),
            Self::NoHttpClient => "no_http_client".to_owned(),
            Self::Answered(status) => format!("answered:{status}"),
            Self::Timeout => "timeout".to_owned(),
            Self::NotReached(detail) => format!("not_reached:{detail}"),
            Self::Other(text) => format!("other:{text}"),
        }
    }

    /// What a row's `last_error` says (text written before these codes reads as
    /// [`Trouble::Other`]; free text is stored tagged, so it never reads as a code).
    #[must_use]
    pub fn read(text: &str) -> Self {
        Self::parse(text).unwrap_or_else(|| Self::Other(text.to_owned()))
    }

    fn parse(text: &str) -> Option<Self> {
        let (code, rest) = text.split_once(':').map_or((text, None), |(c, r)| (c, Some(r)));
        Some(match (code, rest) {
            ("echeance_now", Some(rest)) => {
                let (status, date) = rest.split_once(':').map_or((rest, None), |(s, d)| (s, Some(d)));
                let due_date = match date {
                    Some(date) => Some(NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?),
                    None => None,
                };
                Self::EcheanceNow { status: EcheanceStatus::parse(status).ok()?, due_date }
            }
            ("plan_now", Some(status)) => Self::PlanNow(PlanStatus::parse(status).ok()?),
            ("card_replaced", None) => Self::CardReplaced,
            ("no_debit_missed", None) => Self::NoDebitMissed,
            ("charge_under_way", None) => Self::ChargeUnderWay,
            ("other_mode", Some(mode)) => Self::OtherMode(KeyMode::parse(mode).ok()?),
            ("link_expired", None) => Self::LinkExpired,
            ("superseded", None) => Self::Superseded,
            ("endpoint_deleted", None) => Self::EndpointDeleted,
            ("url_unreadable", None) => Self::UrlUnreadable,
            ("not_public", None) => Self::NotPublic,
            ("no_http_client", None) => Self::NoHttpClient,
            ("answered", Some(status)) => Self::Answered(status.parse().ok()?),
            ("timeout", None) => Self::Timeout,
            ("not_reached", Some(detail)) => Self::NotReached(detail.to_owned()),
            ("other", Some(text)) => Self::Other(text.to_owned()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{EcheanceStatus, KeyMode, NaiveDate, PlanStatus, Trouble, next_host_try};

    fn any_trouble() -> impl Strategy<Value = Trouble> {
        let date = (2020i32..2100, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d));
        prop_oneof![
            (proptest::sample::select(EcheanceStatus::ALL.to_vec()), date)
                .prop_map(|(status, due_date)| Trouble::EcheanceNow { status, due_date }),
            proptest::sample::select(EcheanceStatus::ALL.to_vec())
                .prop_map(|status| Trouble::EcheanceNow { status, due_date: None }),
            proptest::sample::select(PlanStatus::ALL.to_vec()).prop_map(Trouble::PlanNow),
            Just(Trouble::CardReplaced),
            Just(Trouble::NoDebitMissed),
            Just(Trouble::ChargeUnderWay),
            proptest::sample::select(vec![KeyMode::Test, KeyMode::Live]).prop_map(Trouble::OtherMode),
            Just(Trouble::LinkExpired),
            Just(Trouble::Superseded),
            Just(Trouble::EndpointDeleted),
            Just(Trouble::UrlUnreadable),
            Just(Trouble::NotPublic),
            Just(Trouble::NoHttpClient),
            any::<u16>().prop_map(Trouble::Answered),
            Just(Trouble::Timeout),
            ".*".prop_map(Trouble::NotReached),
            // Any text, one that reads as a code included ("timeout" from an SMTP server).
            ".*".prop_map(Trouble::Other),
        ]
    }

    proptest! {
        #[test]
        fn a_trouble_reads_back_as_it_was_stored(trouble in any_trouble()) {
            prop_assert_eq!(Trouble::read(&trouble.stored()), trouble);
        }
    }

    #[test]
    fn what_rows_said_before_the_codes_reads_as_other_text() {
        for old in ["échéance is payee now", "the endpoint answered 500", "smtp: 550 mailbox unavailable", "answered:x"]
        {
            assert_eq!(Trouble::read(old), Trouble::Other(old.to_owned()));
        }
        assert_eq!(Trouble::read("plan_now:annule"), Trouble::PlanNow(PlanStatus::Annule));
        // A server's own words that happen to spell a code stay its words.
        assert_eq!(Trouble::read(&Trouble::Other("timeout".to_owned()).stored()), Trouble::Other("timeout".to_owned()));
        assert_eq!(
            Trouble::read("echeance_now:payee:2027-01-15"),
            Trouble::EcheanceNow { status: EcheanceStatus::Payee, due_date: NaiveDate::from_ymd_opt(2027, 1, 15) }
        );
    }

    const DAY: i64 = 86_400_000;

    #[test]
    fn host_retries_back_off_then_stop_after_the_window() {
        assert_eq!(next_host_try(1, 0, 0, 3 * DAY), Some(60_000));
        assert_eq!(next_host_try(2, 0, 60_000, 3 * DAY), Some(360_000));
        assert_eq!(next_host_try(9, 0, DAY, 3 * DAY), Some(DAY + 18_000_000), "every five hours after the fifth");
        assert_eq!(next_host_try(20, 0, 3 * DAY - 1_000, 3 * DAY), None, "the window is over: failed");
    }

    #[test]
    fn three_days_of_retries_are_a_few_dozen_tries() {
        let (mut now, mut tries) = (0, 1);
        while let Some(next) = next_host_try(tries, 0, now, 3 * DAY) {
            now = next;
            tries += 1;
        }
        assert!((15..=20).contains(&tries), "{tries} tries in three days");
    }
}
