//! The échéance state machine. Pure: no I/O, no clock. Every status change
//! in the product goes through [`EcheanceStatus::transition`].

use serde::{Deserialize, Serialize};

/// Where an échéance stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EcheanceStatus {
    /// Payable: never charged, or a previous attempt was abandoned.
    APayer,
    /// A charge was sent to Stripe and its outcome is not known yet.
    EnCours,
    /// The bank asked for 3D Secure: the customer must act.
    EnAttente,
    /// Stripe collected the money.
    Payee,
    /// Declined; the retry schedule will try again.
    Echouee,
    /// Declined and the automatic schedule gave up; the customer or an admin may still pay.
    EchoueeDefinitive,
    /// Cancelled by an admin; nothing will be collected.
    Annulee,
    /// Paid, then fully refunded.
    Remboursee,
    /// Paid, then disputed by the cardholder.
    Contestee,
}

/// Something that happened to an échéance's payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentEvent {
    /// A charge is claimed (customer, schedule or admin).
    ChargeStarted,
    /// Stripe reports the PaymentIntent succeeded.
    Succeeded,
    /// Stripe reports the PaymentIntent is processing.
    Processing,
    /// The bank requires the customer to authenticate (3D Secure).
    AuthenticationRequired,
    /// The customer's 3D Secure failed or was cancelled; the PaymentIntent can still be confirmed.
    AuthenticationFailed,
    /// The card was declined.
    Declined {
        /// Whether the automatic schedule may try again.
        retryable: bool,
    },
    /// The PaymentIntent was cancelled or given up (expired link): payable again with a new attempt.
    Abandoned,
    /// The current attempt was given up before anything of it reached Stripe (an earlier
    /// PaymentIntent still being processed, a send Stripe never saw): its claim is undone, the
    /// échéance back to the status it was claimed from — nothing happened to the payment.
    GivenUpUnsent {
        /// The status its claim took the échéance from.
        before: EcheanceStatus,
    },
    /// An admin cancels the échéance.
    Canceled,
    /// A refund was issued.
    Refunded {
        /// The whole amount was refunded.
        full: bool,
    },
    /// The cardholder opened a dispute.
    DisputeOpened,
    /// The dispute was decided: `won` by the merchant (the money stays), or lost
    /// (the money went back to the cardholder).
    DisputeClosed {
        /// The merchant won.
        won: bool,
    },
    /// A refund Stripe could not send (the money never left): collected again.
    RefundFailed,
}

impl PaymentEvent {
    /// It only undoes what the échéance's own claim did (see [`Self::GivenUpUnsent`]): nothing
    /// happened to the payment, so nobody — the customer, the host site — is told of it.
    #[must_use]
    pub fn undoes_a_claim(self) -> bool {
        matches!(self, Self::GivenUpUnsent { .. })
    }
}

/// Why an event does not apply to a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// A charge is already in flight for this échéance.
    #[error("a charge is already in flight")]
    AlreadyInProgress,
    /// The customer must first complete 3D Secure on the current PaymentIntent.
    #[error("waiting for the customer's authentication")]
    AwaitingCustomer,
    /// The échéance is settled; the event cannot change it.
    #[error("already settled ({0})")]
    Settled(EcheanceStatus),
    /// The event does not apply to the status (stale or out-of-order information).
    #[error("{event:?} does not apply to {from}")]
    NotApplicable {
        /// Status the échéance was in.
        from: EcheanceStatus,
        /// Event that was refused.
        event: PaymentEvent,
    },
}

crate::spelled!(EcheanceStatus {
    APayer => "a_payer",
    EnCours => "en_cours",
    EnAttente => "en_attente",
    Payee => "payee",
    Echouee => "echouee",
    EchoueeDefinitive => "echouee_definitive",
    Annulee => "annulee",
    Remboursee => "remboursee",
    Contestee => "contestee",
});

impl EcheanceStatus {
    /// Every status for which `predicate` holds: the lists used in SQL
    /// filters are derived from the state machine's own predicates.
    #[must_use]
    pub fn matching(predicate: impl Fn(Self) -> bool) -> Vec<Self> {
        Self::ALL.iter().copied().filter(|s| predicate(*s)).collect()
    }

    /// The one function that decides a status change.
    ///
    /// `Ok(self)` means the event is already reflected (a duplicate): nothing to write.
    ///
    /// # Errors
    /// The event does not apply; the status stays as it is.
    pub fn transition(self, event: PaymentEvent) -> Result<Self, TransitionError> {
        use EcheanceStatus as S;
        use PaymentEvent as E;
        let not_applicable = Err(TransitionError::NotApplicable { from: self, event });
        match (self, event) {
            // Claiming a charge.
            (S::APayer | S::Echouee | S::EchoueeDefinitive, E::ChargeStarted) => Ok(S::EnCours),
            (S::EnCours, E::ChargeStarted) => Err(TransitionError::AlreadyInProgress),
            (S::EnAttente, E::ChargeStarted) => Err(TransitionError::AwaitingCustomer),

            // Stripe's success wins over every open state.
            (S::APayer | S::EnCours | S::EnAttente | S::Echouee | S::EchoueeDefinitive, E::Succeeded) => Ok(S::Payee),
            (S::Payee | S::Remboursee | S::Contestee, E::Succeeded) => Ok(self),

            (S::EnCours, E::Processing) => Ok(S::EnCours),
            // Authenticated, and the bank has not settled it yet: the customer has nothing left to
            // do (no reminder, no retry); the follow-up asks Stripe until it succeeds or fails.
            (S::EnAttente, E::Processing) => Ok(S::EnCours),

            (S::EnCours | S::EnAttente, E::AuthenticationRequired | E::AuthenticationFailed) => Ok(S::EnAttente),

            (S::EnCours | S::EnAttente, E::Declined { retryable: true }) => Ok(S::Echouee),
            (S::EnCours | S::EnAttente, E::Declined { retryable: false }) => Ok(S::EchoueeDefinitive),
            (S::Echouee | S::EchoueeDefinitive, E::Declined { .. }) => Ok(self),

            (S::EnCours | S::EnAttente, E::Abandoned) => Ok(S::APayer),
            (S::APayer, E::Abandoned) => Ok(S::APayer),
            // A claim is taken from a status a claim accepts (« à payer », « échouée », « échouée
            // définitive »): that one comes back, never a status a claim could not have left.
            (S::EnCours, E::GivenUpUnsent { before }) => Ok(if before.is_payable() { before } else { S::APayer }),
            (S::APayer | S::Echouee | S::EchoueeDefinitive, E::GivenUpUnsent { .. }) => Ok(self),

            (S::APayer | S::EnAttente | S::Echouee | S::EchoueeDefinitive, E::Canceled) => Ok(S::Annulee),
            (S::Annulee, E::Canceled) => Ok(S::Annulee),
            (S::EnCours, E::Canceled) => Err(TransitionError::AlreadyInProgress),

            (S::Payee | S::Contestee, E::Refunded { full: true }) => Ok(S::Remboursee),
            (S::Payee | S::Contestee | S::Remboursee, E::Refunded { full: false }) => Ok(self),
            (S::Remboursee, E::Refunded { full: true }) => Ok(self),

            (S::Payee, E::DisputeOpened) => Ok(S::Contestee),
            // Disputed after it was refunded in full (a cardholder may): the money is already back
            // with the customer whatever the bank decides — never « payée » again by a dispute won.
            (S::Contestee | S::Remboursee, E::DisputeOpened) => Ok(self),

            (S::Contestee, E::DisputeClosed { won: true }) => Ok(S::Payee),
            // Lost, even when its opening was never seen: the bank took the money back.
            (S::Contestee | S::Payee, E::DisputeClosed { won: false }) => Ok(S::Remboursee),
            (S::Payee | S::Remboursee, E::DisputeClosed { won: true })
            | (S::Remboursee, E::DisputeClosed { won: false }) => Ok(self),

            (S::Remboursee, E::RefundFailed) => Ok(S::Payee),
            (S::Payee | S::Contestee, E::RefundFailed) => Ok(self),

            (S::Payee | S::Annulee | S::Remboursee | S::Contestee, _) => Err(TransitionError::Settled(self)),
            (
                S::APayer | S::EnCours | S::EnAttente | S::Echouee | S::EchoueeDefinitive,
                E::Processing
                | E::AuthenticationRequired
                | E::AuthenticationFailed
                | E::Declined { .. }
                | E::Abandoned
                // Waiting for 3D Secure is a PaymentIntent's doing: no unsent attempt left it so.
                | E::GivenUpUnsent { .. }
                | E::Refunded { .. }
                | E::DisputeOpened
                | E::DisputeClosed { .. }
                | E::RefundFailed,
            ) => not_applicable,
        }
    }

    /// Settled: no payment event except a refund or dispute will move it again.
    #[must_use]
    pub fn is_settled(self) -> bool {
        match self {
            Self::Payee | Self::Annulee | Self::Remboursee | Self::Contestee => true,
            Self::APayer | Self::EnCours | Self::EnAttente | Self::Echouee | Self::EchoueeDefinitive => false,
        }
    }

    /// The customer may press "Payer".
    #[must_use]
    pub fn is_payable(self) -> bool {
        self.transition(PaymentEvent::ChargeStarted).is_ok()
    }

    /// A PaymentIntent is live and Stripe's answer is awaited (what the reconciler checks).
    #[must_use]
    pub fn is_pending_on_stripe(self) -> bool {
        match self {
            Self::EnCours | Self::EnAttente => true,
            Self::APayer
            | Self::Payee
            | Self::Echouee
            | Self::EchoueeDefinitive
            | Self::Annulee
            | Self::Remboursee
            | Self::Contestee => false,
        }
    }

    /// Money may still arrive for it without a new attempt: payable (a legacy
    /// Checkout Session may still complete) or a charge in flight.
    #[must_use]
    pub fn is_awaiting_money(self) -> bool {
        self == Self::APayer || self.is_pending_on_stripe()
    }

    /// Money was collected (possibly refunded or disputed since).
    #[must_use]
    pub fn was_collected(self) -> bool {
        match self {
            Self::Payee | Self::Remboursee | Self::Contestee => true,
            Self::APayer
            | Self::EnCours
            | Self::EnAttente
            | Self::Echouee
            | Self::EchoueeDefinitive
            | Self::Annulee => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EcheanceStatus as S;
    use PaymentEvent as E;
    use proptest::prelude::*;

    fn any_status() -> impl Strategy<Value = EcheanceStatus> {
        proptest::sample::select(EcheanceStatus::ALL.to_vec())
    }

    fn any_event() -> impl Strategy<Value = PaymentEvent> {
        prop_oneof![
            Just(E::ChargeStarted),
            Just(E::Succeeded),
            Just(E::Processing),
            Just(E::AuthenticationRequired),
            Just(E::AuthenticationFailed),
            any::<bool>().prop_map(|retryable| E::Declined { retryable }),
            Just(E::Abandoned),
            any_status().prop_map(|before| E::GivenUpUnsent { before }),
            Just(E::Canceled),
            any::<bool>().prop_map(|full| E::Refunded { full }),
            any::<bool>().prop_map(|won| E::DisputeClosed { won }),
            Just(E::RefundFailed),
            Just(E::DisputeOpened),
        ]
    }

    /// Applies events the way every writer does: a refused event leaves the status unchanged.
    fn apply_all(start: EcheanceStatus, events: &[PaymentEvent]) -> EcheanceStatus {
        events.iter().fold(start, |s, e| s.transition(*e).unwrap_or(s))
    }

    #[test]
    fn a_late_failure_after_success_changes_nothing() {
        assert_eq!(S::Payee.transition(E::Declined { retryable: true }), Err(TransitionError::Settled(S::Payee)));
        assert_eq!(S::Payee.transition(E::Succeeded), Ok(S::Payee));
    }

    #[test]
    fn a_dispute_lost_is_money_taken_back_even_when_its_opening_was_missed() {
        assert_eq!(S::Payee.transition(E::DisputeClosed { won: false }), Ok(S::Remboursee));
        assert_eq!(S::Contestee.transition(E::DisputeClosed { won: false }), Ok(S::Remboursee));
        assert_eq!(S::Payee.transition(E::DisputeClosed { won: true }), Ok(S::Payee));
    }

    #[test]
    fn a_second_claim_is_refused_while_in_flight() {
        assert_eq!(S::EnCours.transition(E::ChargeStarted), Err(TransitionError::AlreadyInProgress));
        assert_eq!(S::EnAttente.transition(E::ChargeStarted), Err(TransitionError::AwaitingCustomer));
    }

    #[test]
    fn sca_then_success_is_paid_and_cancelled_3ds_stays_waiting() {
        let s = apply_all(S::APayer, &[E::ChargeStarted, E::AuthenticationRequired]);
        assert_eq!(s, S::EnAttente);
        assert_eq!(s.transition(E::AuthenticationFailed), Ok(S::EnAttente));
        assert_eq!(s.transition(E::Succeeded), Ok(S::Payee));
        // 3D Secure done, the bank still processing: under way, no longer waiting for the customer.
        assert_eq!(S::EnAttente.transition(E::Processing), Ok(S::EnCours));
        assert_eq!(apply_all(s, &[E::Processing, E::Succeeded]), S::Payee);
    }

    #[test]
    fn an_abandoned_payment_intent_makes_the_echeance_payable_again() {
        assert_eq!(S::EnAttente.transition(E::Abandoned), Ok(S::APayer));
        assert!(S::APayer.is_payable());
    }

    #[test]
    fn an_attempt_given_up_unsent_gives_back_the_status_it_was_claimed_from() {
        for before in [S::APayer, S::Echouee, S::EchoueeDefinitive] {
            let claimed = before.transition(E::ChargeStarted).expect("claimed");
            assert_eq!(claimed.transition(E::GivenUpUnsent { before }), Ok(before), "{before:?}");
            assert_eq!(before.transition(E::GivenUpUnsent { before }), Ok(before), "said twice: {before:?}");
        }
        // Not a status a claim leaves: payable, as an abandonment makes it.
        assert_eq!(S::EnCours.transition(E::GivenUpUnsent { before: S::Payee }), Ok(S::APayer));
        assert_eq!(S::EnCours.transition(E::GivenUpUnsent { before: S::EnCours }), Ok(S::APayer));
        // Waiting for 3D Secure: a PaymentIntent of its attempt exists, the claim is not undone blindly.
        let waiting = E::GivenUpUnsent { before: S::Echouee };
        assert!(matches!(S::EnAttente.transition(waiting), Err(TransitionError::NotApplicable { .. })));
        // Paid meanwhile (the earlier PaymentIntent's success): nothing to give back.
        let paid = E::GivenUpUnsent { before: S::EchoueeDefinitive };
        assert_eq!(S::Payee.transition(paid), Err(TransitionError::Settled(S::Payee)));
    }

    #[test]
    fn statuses_round_trip_through_their_database_spelling() {
        for s in EcheanceStatus::ALL {
            assert_eq!(EcheanceStatus::parse(s.as_str()), Ok(*s));
        }
        assert_eq!(EcheanceStatus::matching(EcheanceStatus::is_pending_on_stripe), [S::EnCours, S::EnAttente]);
        assert!(EcheanceStatus::parse("paid").is_err());
    }

    proptest! {
        /// Once collected, no event sequence makes an échéance payable, pending or cancelled again.
        #[test]
        fn collected_money_is_never_forgotten(start in any_status(), events in proptest::collection::vec(any_event(), 0..40)) {
            let mut s = start;
            let mut collected = s.was_collected();
            for e in events {
                s = s.transition(e).unwrap_or(s);
                collected |= s.was_collected();
                if collected {
                    prop_assert!(s.was_collected(), "{s:?} after collection");
                }
            }
        }

        /// Applying any event twice in a row is the same as applying it once (duplicate webhooks).
        #[test]
        fn duplicate_events_are_no_ops(start in any_status(), event in any_event()) {
            let once = start.transition(event).unwrap_or(start);
            let twice = once.transition(event).unwrap_or(once);
            if event != E::ChargeStarted {
                prop_assert_eq!(once, twice);
            }
        }

        /// A success reaches `Payee` from every open state, whatever came before it, in any order.
        #[test]
        fn success_wins_over_any_order_of_stripe_events(
            events in proptest::collection::vec(prop_oneof![
                Just(E::Processing), Just(E::AuthenticationRequired), Just(E::AuthenticationFailed),
                any::<bool>().prop_map(|retryable| E::Declined { retryable }),
            ], 0..12),
            cut in 0usize..12,
        ) {
            let cut = cut.min(events.len());
            let mut sequence = events.clone();
            sequence.insert(cut, E::Succeeded);
            prop_assert_eq!(apply_all(S::EnCours, &sequence), S::Payee);
        }

        /// Settled statuses only move along refund and dispute edges, each by its own event:
        /// back to « payée » only when a dispute is won or a refund never left.
        #[test]
        fn settled_statuses_only_move_along_refund_and_dispute_edges(start in any_status(), event in any_event()) {
            if let Ok(next) = start.transition(event)
                && start.is_settled()
                && next != start
            {
                prop_assert!(matches!(
                    (start, event, next),
                    (S::Payee | S::Contestee, E::Refunded { full: true }, S::Remboursee)
                        | (S::Contestee | S::Payee, E::DisputeClosed { won: false }, S::Remboursee)
                        | (S::Payee, E::DisputeOpened, S::Contestee)
                        | (S::Contestee, E::DisputeClosed { won: true }, S::Payee)
                        | (S::Remboursee, E::RefundFailed, S::Payee)
                ), "{start:?} -{event:?}-> {next:?}");
            }
        }

        /// A refund in full and a dispute reach the same end in whatever order Stripe's events
        /// come (the dispute's opening before its close): the money went back to the customer.
        #[test]
        fn a_refund_in_full_and_a_dispute_end_refunded_in_any_order(won in any::<bool>(), refund_at in 0usize..3) {
            let mut sequence = vec![E::DisputeOpened, E::DisputeClosed { won }];
            sequence.insert(refund_at, E::Refunded { full: true });
            prop_assert_eq!(apply_all(S::Payee, &sequence), S::Remboursee, "{:?}", sequence);
        }

        /// A refused event never changes the status (writers keep the old one).
        #[test]
        fn refusals_are_total(start in any_status(), event in any_event()) {
            match start.transition(event) {
                Ok(_) => {}
                Err(TransitionError::NotApplicable { from, .. }) => prop_assert_eq!(from, start),
                Err(TransitionError::Settled(from)) => prop_assert_eq!(from, start),
                Err(TransitionError::AlreadyInProgress) => prop_assert!(matches!(start, S::EnCours)),
                Err(TransitionError::AwaitingCustomer) => prop_assert_eq!(start, S::EnAttente),
            }
        }
    }
}
