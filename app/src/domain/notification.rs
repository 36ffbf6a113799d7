//! The emails the product sends, and which status changes cause them.

use serde::{Deserialize, Serialize};

use super::ids::{AttemptNo, EcheanceId};
use super::plan_status::PlanStatus;
use super::status::EcheanceStatus;

/// What an email is about; one template per kind and locale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// The bank wants 3D Secure: the link to the recovery page.
    AuthenticationRequired,
    /// A reminder of the same link, a few days later.
    Reminder,
    /// The card was declined.
    PaymentFailed,
    /// The receipt.
    PaymentReceived,
    /// A new plan, with the signed link to accept it (one per plan).
    Invitation,
    /// A new admin's single-use link to choose a password (one per link).
    SetPassword,
    /// A single-use link that logs its owner in (asked for on the login page).
    LoginLink,
    /// A single-use link to choose a new password (« mot de passe oublié »).
    PasswordReset,
    /// A few days before a debit: what will be charged, when, to which card.
    UpcomingDebit,
    /// The plan is active (accepted, a card saved): its whole schedule.
    PlanSummary,
    /// Every échéance of the plan is collected.
    PlanCompleted,
    /// An échéance of the plan failed for good: what to do.
    PlanInDefault,
    /// The same default, told to each admin.
    AdminPlanInDefault,
    /// The saved card expires before a coming debit: replace it.
    CardExpiring,
    /// A cardholder disputed a payment: told to each admin, with the deadline for evidence.
    AdminDisputeOpened,
}

crate::spelled!(EmailKind {
    AuthenticationRequired => "authentication_required",
    Reminder => "reminder",
    PaymentFailed => "payment_failed",
    PaymentReceived => "payment_received",
    Invitation => "invitation",
    SetPassword => "set_password",
    LoginLink => "login_link",
    PasswordReset => "password_reset",
    UpcomingDebit => "upcoming_debit",
    PlanSummary => "plan_summary",
    PlanCompleted => "plan_completed",
    PlanInDefault => "plan_in_default",
    AdminPlanInDefault => "admin_plan_in_default",
    CardExpiring => "card_expiring",
    AdminDisputeOpened => "admin_dispute_opened",
});

impl EmailKind {
    /// The email a status change sends the customer, if any.
    #[must_use]
    pub fn caused_by(from: EcheanceStatus, to: EcheanceStatus) -> Option<Self> {
        use EcheanceStatus as S;
        match (from, to) {
            (_, S::EnAttente) => Some(Self::AuthenticationRequired),
            (_, S::Payee) => Some(Self::PaymentReceived),
            (S::EnCours | S::EnAttente, S::Echouee | S::EchoueeDefinitive) => Some(Self::PaymentFailed),
            _ => None,
        }
    }

    /// The outbox key that makes the same cause queue one email only: once
    /// per échéance for a receipt, once per attempt for the others (an
    /// invitation is about a plan: [`EmailKind::invitation_key`]).
    #[must_use]
    pub fn dedup_key(self, echeance: EcheanceId, attempt: i32) -> String {
        match self {
            Self::PaymentReceived => format!("{self}:e{echeance}"),
            Self::AuthenticationRequired
            | Self::Reminder
            | Self::PaymentFailed
            | Self::Invitation
            | Self::SetPassword
            | Self::LoginLink
            | Self::PasswordReset
            | Self::UpcomingDebit
            | Self::PlanSummary
            | Self::PlanCompleted
            | Self::PlanInDefault
            | Self::AdminPlanInDefault
            | Self::CardExpiring
            | Self::AdminDisputeOpened => {
                format!("{self}:e{echeance}:a{attempt}")
            }
        }
    }

    /// The emails a plan's status change sends: its customer's, and the admins' (see
    /// [`EmailKind::to_admins`]). A plan that comes back from a default to active is not
    /// summed up again.
    #[must_use]
    pub fn caused_by_plan(from: PlanStatus, to: PlanStatus) -> &'static [Self] {
        match (from, to) {
            (PlanStatus::EnAttenteClient, PlanStatus::Actif) => &[Self::PlanSummary],
            (_, PlanStatus::Termine) => &[Self::PlanCompleted],
            (_, PlanStatus::EnDefaut) => &[Self::PlanInDefault, Self::AdminPlanInDefault],
            _ => &[],
        }
    }

    /// About a plan as a whole (its variables are the plan's, not an échéance's).
    #[must_use]
    pub fn is_about_a_plan(self) -> bool {
        matches!(self, Self::PlanSummary | Self::PlanCompleted | Self::PlanInDefault | Self::AdminPlanInDefault)
    }

    /// Sent to every admin who can log in, not to the customer.
    #[must_use]
    pub fn to_admins(self) -> bool {
        matches!(self, Self::AdminPlanInDefault | Self::AdminDisputeOpened)
    }

    /// Its `link` logs someone in (a single-use token): kept in the outbox only until sent.
    #[must_use]
    pub fn carries_login_link(self) -> bool {
        matches!(self, Self::SetPassword | Self::LoginLink | Self::PasswordReset | Self::PaymentFailed)
    }

    /// The outbox key of the admins' email of dispute `dispute` (its row) to admin `admin`: one each.
    #[must_use]
    pub fn dispute_key(dispute: i64, admin: i64) -> String {
        format!("{}:d{dispute}:u{admin}", Self::AdminDisputeOpened)
    }

    /// The outbox key of a plan's email for its change to `version` (each real change of the
    /// plan once; `admin`: the admin it goes to).
    #[must_use]
    pub fn plan_key(self, plan: i64, version: i64, admin: Option<i64>) -> String {
        match admin {
            Some(admin) => format!("{self}:p{plan}:v{version}:u{admin}"),
            None => format!("{self}:p{plan}:v{version}"),
        }
    }

    /// The outbox key of the reminder before échéance `echeance` is debited on `due`: one
    /// per échéance and date (an échéance moved to another date is announced again).
    #[must_use]
    pub fn upcoming_debit_key(echeance: EcheanceId, due: chrono::NaiveDate) -> String {
        format!("{}:e{echeance}:d{due}", Self::UpcomingDebit)
    }

    /// The outbox key of the warning that saved card `card` (its row) expiring at the end of
    /// `month`/`year` will not last: one per card and expiry (a card the updater extended and
    /// that again expires too soon is warned of again).
    #[must_use]
    pub fn card_expiring_key(card: i64, year: i32, month: i32) -> String {
        format!("{}:m{card}:x{year:04}-{month:02}", Self::CardExpiring)
    }

    /// The card row and expiry (`year`, `month`) a card warning's key names.
    #[must_use]
    pub fn card_of_expiring_key(key: &str) -> Option<(i64, i32, i32)> {
        let mut parts = key.strip_prefix("card_expiring:m")?.split(":x");
        let card = parts.next()?.parse().ok()?;
        let (year, month) = parts.next()?.split_once('-')?;
        Some((card, year.parse().ok()?, month.parse().ok()?))
    }

    /// The outbox key of a plan's invitation: one per plan.
    #[must_use]
    pub fn invitation_key(plan: i64) -> String {
        format!("{}:p{plan}", Self::Invitation)
    }

    /// The outbox key of this email carrying login link `link`: one per link.
    #[must_use]
    pub fn link_key(self, link: i64) -> String {
        format!("{self}:l{link}")
    }

    /// The key of the `n`-th manual resend of this email for an attempt.
    #[must_use]
    pub fn resend_key(self, echeance: EcheanceId, attempt: AttemptNo, n: u64) -> String {
        format!("{self}:e{echeance}:a{attempt}:resend{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EcheanceStatus as S;
    use proptest::prelude::*;

    #[test]
    fn each_customer_facing_change_sends_its_email() {
        assert_eq!(EmailKind::caused_by(S::EnCours, S::EnAttente), Some(EmailKind::AuthenticationRequired));
        assert_eq!(EmailKind::caused_by(S::EnAttente, S::Payee), Some(EmailKind::PaymentReceived));
        assert_eq!(EmailKind::caused_by(S::EnCours, S::EchoueeDefinitive), Some(EmailKind::PaymentFailed));
        assert_eq!(EmailKind::caused_by(S::APayer, S::EnCours), None);
        assert_eq!(EmailKind::caused_by(S::EnAttente, S::Annulee), None);
    }

    #[test]
    fn a_receipt_is_sent_once_per_echeance_others_once_per_attempt() {
        let e = EcheanceId::new(7).expect("id");
        assert_eq!(EmailKind::PaymentReceived.dedup_key(e, 2), "payment_received:e7");
        assert_eq!(EmailKind::PaymentFailed.dedup_key(e, 2), "payment_failed:e7:a2");
        assert_ne!(EmailKind::PaymentFailed.dedup_key(e, 2), EmailKind::PaymentFailed.dedup_key(e, 3));
    }

    #[test]
    fn a_debit_is_announced_once_per_echeance_and_date() {
        let e = EcheanceId::new(7).expect("id");
        let day = |d| chrono::NaiveDate::from_ymd_opt(2027, 1, d).expect("date");
        assert_eq!(EmailKind::upcoming_debit_key(e, day(15)), "upcoming_debit:e7:d2027-01-15");
        assert_ne!(EmailKind::upcoming_debit_key(e, day(15)), EmailKind::upcoming_debit_key(e, day(22)));
    }

    #[test]
    fn a_plan_tells_its_customer_when_it_starts_ends_or_defaults_and_the_admins_of_a_default() {
        use PlanStatus as P;
        assert_eq!(EmailKind::caused_by_plan(P::EnAttenteClient, P::Actif), &[EmailKind::PlanSummary]);
        assert_eq!(EmailKind::caused_by_plan(P::EnDefaut, P::Actif), &[] as &[EmailKind], "a cured default");
        assert_eq!(EmailKind::caused_by_plan(P::Actif, P::Termine), &[EmailKind::PlanCompleted]);
        assert_eq!(
            EmailKind::caused_by_plan(P::Actif, P::EnDefaut),
            &[EmailKind::PlanInDefault, EmailKind::AdminPlanInDefault]
        );
        assert!(EmailKind::AdminPlanInDefault.to_admins() && !EmailKind::PlanInDefault.to_admins());
        assert_ne!(EmailKind::PlanInDefault.plan_key(3, 4, None), EmailKind::PlanInDefault.plan_key(3, 6, None));
        assert_ne!(
            EmailKind::AdminPlanInDefault.plan_key(3, 4, Some(1)),
            EmailKind::AdminPlanInDefault.plan_key(3, 4, Some(2))
        );
    }

    #[test]
    fn a_card_is_warned_of_once_per_expiry() {
        let key = EmailKind::card_expiring_key(5, 2027, 3);
        assert_eq!(key, "card_expiring:m5:x2027-03");
        assert_eq!(EmailKind::card_of_expiring_key(&key), Some((5, 2027, 3)));
        assert_ne!(key, EmailKind::card_expiring_key(5, 2030, 3));
        assert_eq!(EmailKind::card_of_expiring_key("upcoming_debit:e5:d2027-03-01"), None);
    }

    #[test]
    fn an_invitation_is_keyed_by_its_plan() {
        assert_eq!(EmailKind::invitation_key(12), "invitation:p12");
    }

    proptest! {
        /// Every email follows a real change, and only the changes the customer must hear about send one.
        #[test]
        fn emails_follow_real_transitions(from in proptest::sample::select(S::ALL.to_vec()), to in proptest::sample::select(S::ALL.to_vec())) {
            if let Some(kind) = EmailKind::caused_by(from, to) {
                prop_assert!(matches!(to, S::EnAttente | S::Payee | S::Echouee | S::EchoueeDefinitive), "{kind:?}");
            }
        }
    }
}
