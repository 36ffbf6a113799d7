//! Who or what set something in motion: a charge's origin, a transition's cause.

use serde::{Deserialize, Serialize};

use super::status::EcheanceStatus;

/// Who asked for a charge attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeOrigin {
    /// The customer's "Payer".
    Customer,
    /// An admin's retry.
    Admin,
    /// The due-date run.
    DueDate,
    /// The automatic retry of a soft decline.
    AutoRetry,
    /// Made after the backup this database was restored from, found on Stripe by the reconciler.
    Restored,
}

crate::spelled!(ChargeOrigin {
    Customer => "customer",
    Admin => "admin",
    DueDate => "due_date",
    AutoRetry => "auto_retry",
    Restored => "restored",
});

/// Who or what caused a transition (kept in the audit log).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A charge: the customer's "Payer" or an admin's retry.
    Charge,
    /// The due-date run or the automatic retry schedule.
    Schedule,
    /// A Stripe webhook.
    Webhook,
    /// The check with Stripe after 3D Secure.
    Confirm,
    /// The reconciler.
    Reconciler,
    /// An admin action.
    Admin,
    /// The recovery-link expiry.
    Recovery,
    /// The customer's own action that is not a charge (accepting a plan, saving a card).
    Customer,
}

crate::spelled!(Cause {
    Charge => "charge",
    Schedule => "schedule",
    Webhook => "webhook",
    Confirm => "confirm",
    Reconciler => "reconciler",
    Admin => "admin",
    Recovery => "recovery",
    Customer => "customer",
});

impl ChargeOrigin {
    /// The status a scheduled charge of this origin is taken from (a due
    /// échéance never tried, or a soft decline whose retry time came);
    /// `None` for a person's charge, which the state machine alone decides.
    #[must_use]
    pub fn scheduled_from(self) -> Option<EcheanceStatus> {
        match self {
            Self::DueDate => Some(EcheanceStatus::APayer),
            Self::AutoRetry => Some(EcheanceStatus::Echouee),
            Self::Customer | Self::Admin | Self::Restored => None,
        }
    }

    /// Whether a charge of this origin waits for its échéance's date: an admin's and an automatic
    /// retry go off-session on the customer's mandate, which allows charges at the schedule's dates,
    /// not before (an échéance not due yet is charged by the due-date run; its customer may pay it
    /// ahead, on-session, and a decline of that is retried from its date on). The due-date run checks
    /// its own day; the reconciler sends nothing new.
    #[must_use]
    pub fn waits_for_due_date(self) -> bool {
        matches!(self, Self::Admin | Self::AutoRetry)
    }

    /// Whether a charge of this origin may go out for an échéance due on `due_date`, `today`.
    #[must_use]
    pub fn may_charge(self, due_date: chrono::NaiveDate, today: chrono::NaiveDate) -> bool {
        !self.waits_for_due_date() || due_date <= today
    }

    /// The cause an attempt of this origin writes in the audit log.
    #[must_use]
    pub fn cause(self) -> Cause {
        match self {
            Self::Customer | Self::Admin => Cause::Charge,
            Self::DueDate | Self::AutoRetry => Cause::Schedule,
            Self::Restored => Cause::Reconciler,
        }
    }
}
