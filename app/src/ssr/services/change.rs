//! A status change as its consequences receive it (the emails it causes, the host's webhook
//! events): the row as it is now, the status it left, and when. The one writer of each status
//! builds it once and hands the same value to every consequence.

use crate::domain::{EcheanceStatus, PlanStatus};
use crate::ssr::entities::{echeance, payment_plan};

/// `row` went from `from` to the status it holds now, at `at` (ms).
#[derive(Debug)]
pub struct Change<'a, Row, Status> {
    /// The row after the change.
    pub row: &'a Row,
    /// The status before.
    pub from: Status,
    /// When (ms since the epoch).
    pub at: i64,
}

/// An échéance's transition.
pub type EcheanceChange<'a> = Change<'a, echeance::Model, EcheanceStatus>;

/// A plan's status change.
pub type PlanChange<'a> = Change<'a, payment_plan::Model, PlanStatus>;
