//! What a reconcile run could not do, as data: the page words it in the reader's language,
//! around the technical cause (the adapter's or the database's own words, kept as they said them).

use serde::{Deserialize, Serialize};

/// What a reconcile run counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileCounts {
    /// Échéances and sessions checked.
    pub checked: u32,
    /// Changed to match Stripe.
    pub fixed: u32,
    /// Already matching (or still pending on Stripe).
    pub unchanged: u32,
    /// Could not be checked.
    pub errors: u32,
    /// Logical calls made to Stripe.
    pub stripe_calls: u32,
    /// Undelivered events put back in the inbox.
    pub events_replayed: u32,
}

impl std::fmt::Display for ReconcileCounts {
    /// « checked 2, fixed 1, unchanged 1, errors 0, stripe calls 3, events replayed 0 » (logs and the command line).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "checked {}, fixed {}, unchanged {}, errors {}, stripe calls {}, events replayed {}",
            self.checked, self.fixed, self.unchanged, self.errors, self.stripe_calls, self.events_replayed
        )
    }
}

/// One thing a reconcile run could not check or apply; `detail` is the technical cause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "about", rename_all = "snake_case")]
pub enum ReconcileProblem {
    /// An échéance's PaymentIntent could not be read or its answer applied.
    Echeance {
        /// The échéance.
        id: i64,
        /// The cause.
        detail: String,
    },
    /// The original site's Checkout Session holding an échéance could not be read or applied.
    Session {
        /// The échéance it holds.
        echeance: i64,
        /// The cause.
        detail: String,
    },
    /// A Stripe object of the window could not be read or applied.
    Object {
        /// What it is.
        kind: StripeObject,
        /// Its Stripe id.
        id: String,
        /// The cause.
        detail: String,
    },
    /// A PaymentIntent made before the database was restored could not be read or applied.
    EarlierEpoch {
        /// Its Stripe id.
        payment_intent: String,
        /// The cause.
        detail: String,
    },
    /// A Stripe list of the window could not be read (what it covers was not checked).
    Listing {
        /// Which list.
        list: StripeList,
        /// The cause.
        detail: String,
    },
    /// The list of the window's PaymentIntents could not be read: each échéance was read on
    /// its own instead.
    ListingFellBack {
        /// The cause.
        detail: String,
    },
    /// One of the run's steps failed.
    Step {
        /// Which.
        step: ReconcileStep,
        /// The cause.
        detail: String,
    },
    /// Stripe does not list undelivered events here (a test peer): nothing was replayed.
    ReplayUnavailable {
        /// The cause.
        detail: String,
    },
    /// A report written before problems were typed: its line as it was written.
    Written {
        /// The line.
        text: String,
    },
}

/// The Stripe objects a reconcile run reads one by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StripeObject {
    /// A dispute.
    Dispute,
    /// A refund.
    Refund,
    /// A charge.
    Charge,
    /// A PaymentIntent.
    PaymentIntent,
    /// A webhook event.
    Event,
}

/// The Stripe lists a reconcile run reads over its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StripeList {
    /// The window's refunds.
    Refunds,
    /// The window's disputes.
    Disputes,
    /// Every refund of one payment.
    RefundsOfPayment,
}

/// The steps of a reconcile run besides reading Stripe's objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcileStep {
    /// Putting the webhooks that failed back in the inbox.
    RequeueFailedWebhooks,
    /// Finding the PaymentIntents that succeeded after their attempt was given up.
    LateSuccesses,
    /// Applying the events replayed from Stripe.
    ApplyReplayedEvents,
    /// Deleting at Stripe the records of customers erased while the keys of another mode were in use.
    ErasedCustomersLeft,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_stored_with_what_it_is_about() {
        let problem = ReconcileProblem::Listing { list: StripeList::Refunds, detail: "Server(500)".to_owned() };
        let stored = serde_json::to_string(&problem).expect("serialises");
        assert_eq!(stored, r#"{"about":"listing","list":"refunds","detail":"Server(500)"}"#);
        assert_eq!(serde_json::from_str::<ReconcileProblem>(&stored).expect("reads"), problem);
    }
}
