//! The plan's own state machine. Pure, like the échéance's: a plan's status
//! changes only through [`PlanStatus::transition`], moved by explicit actions
//! (invite, accept, cancel) and by its échéances' statuses.

use serde::{Deserialize, Serialize};

use super::status::EcheanceStatus;

/// Where a plan stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Saved, not sent to the customer yet.
    Brouillon,
    /// Sent: waiting for the customer's consent and card.
    EnAttenteClient,
    /// Consent and a usable card exist: the due-date run collects it.
    Actif,
    /// Nothing remains to collect, and something was collected.
    Termine,
    /// An échéance failed for good; the plan waits for it to be collected.
    EnDefaut,
    /// Cancelled: nothing more will be collected.
    Annule,
}

crate::spelled!(PlanStatus {
    Brouillon => "brouillon",
    EnAttenteClient => "en_attente_client",
    Actif => "actif",
    Termine => "termine",
    EnDefaut => "en_defaut",
    Annule => "annule",
});

/// Where a plan's échéances stand, counted from their statuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Not settled yet: still to collect (including those failed for good).
    pub to_collect: u32,
    /// Declined and given up by the automatic schedule.
    pub failed_for_good: u32,
    /// Money collected (refunded or disputed since counts: it was collected).
    pub collected: u32,
}

impl Progress {
    /// Counts a plan's échéances.
    #[must_use]
    pub fn of(statuses: impl IntoIterator<Item = EcheanceStatus>) -> Self {
        statuses.into_iter().fold(Self::default(), |mut p, s| {
            p.to_collect += u32::from(!s.is_settled());
            p.failed_for_good += u32::from(s == EcheanceStatus::EchoueeDefinitive);
            p.collected += u32::from(s.was_collected());
            p
        })
    }

    /// The status these échéances give a plan the customer has accepted.
    #[must_use]
    pub fn accepted_status(self) -> PlanStatus {
        match (self.to_collect, self.failed_for_good, self.collected) {
            (0, _, 0) => PlanStatus::Annule,
            (0, _, _) => PlanStatus::Termine,
            (_, 0, _) => PlanStatus::Actif,
            _ => PlanStatus::EnDefaut,
        }
    }
}

/// Something that happened to a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanEvent {
    /// The invitation was sent to the customer.
    Invited,
    /// The customer answered: consent recorded or not, a usable card saved or not.
    CustomerAnswered {
        /// The off-session mandate was accepted and recorded.
        consent: bool,
        /// A card that can be charged off-session is saved.
        usable_card: bool,
    },
    /// One of its échéances changed status; here is where they all stand now.
    EcheancesMoved(Progress),
    /// An admin (or the host site) cancels the plan.
    Canceled,
}

/// Why an event does not apply to a plan's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PlanTransitionError {
    /// The plan is over (terminé); it cannot be cancelled or reopened.
    #[error("the plan is already {0}")]
    Finished(PlanStatus),
    /// The event does not apply to the status.
    #[error("{event:?} does not apply to a plan {from}")]
    NotApplicable {
        /// Status the plan was in.
        from: PlanStatus,
        /// Event that was refused.
        event: PlanEvent,
    },
}

impl PlanStatus {
    /// The one function that decides a plan's status change. `Ok(self)`:
    /// nothing to write.
    ///
    /// # Errors
    /// The event does not apply; the status stays as it is.
    pub fn transition(self, event: PlanEvent) -> Result<Self, PlanTransitionError> {
        use PlanEvent as E;
        use PlanStatus as S;
        match (self, event) {
            (S::Brouillon | S::EnAttenteClient, E::Invited) => Ok(S::EnAttenteClient),
            (S::EnAttenteClient, E::CustomerAnswered { consent: true, usable_card: true }) => Ok(S::Actif),
            (S::EnAttenteClient, E::CustomerAnswered { .. }) => Ok(self),
            // A new card, or consent given again: the plan's course does not change.
            (S::Actif | S::EnDefaut | S::Termine, E::CustomerAnswered { .. }) => Ok(self),
            (S::Actif | S::EnDefaut, E::EcheancesMoved(progress)) => Ok(progress.accepted_status()),
            // Not accepted yet: no échéance was charged; over: nothing moves it again.
            (S::Brouillon | S::EnAttenteClient | S::Termine | S::Annule, E::EcheancesMoved(_)) => Ok(self),
            (S::Brouillon | S::EnAttenteClient | S::Actif | S::EnDefaut | S::Annule, E::Canceled) => Ok(S::Annule),
            (S::Termine, E::Canceled) => Err(PlanTransitionError::Finished(self)),
            (S::Brouillon | S::Annule, E::CustomerAnswered { .. })
            | (S::Actif | S::EnDefaut | S::Termine | S::Annule, E::Invited) => {
                Err(PlanTransitionError::NotApplicable { from: self, event })
            }
        }
    }

    /// The due-date run charges this plan's échéances: an active plan always;
    /// a plan in default only when the merchant chose to keep charging.
    #[must_use]
    pub fn is_collected_by_schedule(self, on_default: DefaultPolicy) -> bool {
        match self {
            Self::Actif => true,
            Self::EnDefaut => on_default == DefaultPolicy::KeepCharging,
            Self::Brouillon | Self::EnAttenteClient | Self::Termine | Self::Annule => false,
        }
    }

    /// Every status the due-date run collects under `on_default` (the list
    /// its SQL selection uses).
    #[must_use]
    pub fn collected_by_schedule(on_default: DefaultPolicy) -> Vec<Self> {
        Self::ALL.iter().copied().filter(|s| s.is_collected_by_schedule(on_default)).collect()
    }

    /// Nothing will move it again.
    #[must_use]
    pub fn is_over(self) -> bool {
        matches!(self, Self::Termine | Self::Annule)
    }

    /// Draft or sent: the plan waits for its customer — their consent, or, consent given, the
    /// card that makes it active.
    #[must_use]
    pub fn awaits_customer(self) -> bool {
        matches!(self, Self::Brouillon | Self::EnAttenteClient)
    }
}

/// What the due-date run does with the other échéances of a plan in default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultPolicy {
    /// Keep charging the next échéances on their dates.
    #[default]
    KeepCharging,
    /// Stop until the failed échéance is collected.
    Stop,
}

crate::spelled!(DefaultPolicy { KeepCharging => "keep_charging", Stop => "stop" });

#[cfg(test)]
mod tests {
    use super::*;
    use EcheanceStatus as ES;
    use PlanEvent as E;
    use PlanStatus as S;
    use proptest::prelude::*;

    fn any_status() -> impl Strategy<Value = PlanStatus> {
        proptest::sample::select(PlanStatus::ALL.to_vec())
    }

    fn any_echeances() -> impl Strategy<Value = Vec<EcheanceStatus>> {
        proptest::collection::vec(proptest::sample::select(EcheanceStatus::ALL.to_vec()), 1..=48)
    }

    fn any_event() -> impl Strategy<Value = PlanEvent> {
        prop_oneof![
            Just(E::Invited),
            (any::<bool>(), any::<bool>())
                .prop_map(|(consent, usable_card)| E::CustomerAnswered { consent, usable_card }),
            any_echeances().prop_map(|e| E::EcheancesMoved(Progress::of(e))),
            Just(E::Canceled),
        ]
    }

    fn apply_all(start: PlanStatus, events: &[PlanEvent]) -> PlanStatus {
        events.iter().fold(start, |s, e| s.transition(*e).unwrap_or(s))
    }

    const READY: PlanEvent = E::CustomerAnswered { consent: true, usable_card: true };

    #[test]
    fn a_plan_goes_from_draft_to_finished_through_its_echeances() {
        let moved = |e: &[EcheanceStatus]| E::EcheancesMoved(Progress::of(e.iter().copied()));
        let mut s = S::Brouillon;
        for (event, expected) in [
            (E::Invited, S::EnAttenteClient),
            (E::CustomerAnswered { consent: true, usable_card: false }, S::EnAttenteClient),
            (READY, S::Actif),
            (moved(&[ES::Payee, ES::EnAttente, ES::APayer]), S::Actif),
            (moved(&[ES::Payee, ES::EchoueeDefinitive, ES::APayer]), S::EnDefaut),
            // The customer pays the failed échéance: the default is cured.
            (moved(&[ES::Payee, ES::Payee, ES::APayer]), S::Actif),
            (moved(&[ES::Payee, ES::Payee, ES::Annulee]), S::Termine),
            (moved(&[ES::Remboursee, ES::Payee, ES::Annulee]), S::Termine),
        ] {
            s = s.transition(event).expect("applies");
            assert_eq!(s, expected, "after {event:?}");
        }
        assert_eq!(s.transition(E::Canceled), Err(PlanTransitionError::Finished(S::Termine)));
    }

    #[test]
    fn a_problem_the_customer_can_fix_is_not_a_default() {
        for waiting in [ES::EnAttente, ES::Echouee, ES::EnCours] {
            assert_eq!(S::Actif.transition(E::EcheancesMoved(Progress::of([ES::Payee, waiting]))), Ok(S::Actif));
        }
    }

    #[test]
    fn everything_cancelled_and_nothing_collected_is_a_cancelled_plan() {
        assert_eq!(S::Actif.transition(E::EcheancesMoved(Progress::of([ES::Annulee, ES::Annulee]))), Ok(S::Annule));
    }

    #[test]
    fn the_schedule_collects_active_plans_and_defaulted_ones_only_when_told() {
        use DefaultPolicy::{KeepCharging, Stop};
        let charged = PlanStatus::collected_by_schedule;
        assert_eq!(charged(KeepCharging), vec![S::Actif, S::EnDefaut]);
        assert_eq!(charged(Stop), vec![S::Actif]);
    }

    proptest! {
        #[test]
        fn no_plan_is_collected_before_the_customer_consents_with_a_usable_card(
            events in proptest::collection::vec(any_event().prop_filter("not ready", |e| *e != READY), 0..20),
        ) {
            for start in [S::Brouillon, S::EnAttenteClient] {
                let end = apply_all(start, &events);
                prop_assert!(matches!(end, S::Brouillon | S::EnAttenteClient | S::Annule), "{end:?}");
            }
        }

        #[test]
        fn finished_and_cancelled_plans_never_move(events in proptest::collection::vec(any_event(), 0..20)) {
            prop_assert_eq!(apply_all(S::Termine, &events), S::Termine);
            prop_assert_eq!(apply_all(S::Annule, &events), S::Annule);
        }

        #[test]
        fn every_event_applied_twice_is_applied_once(from in any_status(), event in any_event()) {
            if let Ok(once) = from.transition(event) {
                prop_assert_eq!(once.transition(event), Ok(once));
            }
        }

        #[test]
        fn an_accepted_plan_follows_its_echeances(echeances in any_echeances(), from in prop_oneof![Just(S::Actif), Just(S::EnDefaut)]) {
            let p = Progress::of(echeances.iter().copied());
            let to = from.transition(E::EcheancesMoved(p)).expect("applies");
            let open = echeances.iter().any(|s| !s.is_settled());
            let failed = echeances.contains(&ES::EchoueeDefinitive);
            let paid = echeances.iter().any(|s| s.was_collected());
            prop_assert_eq!(to == S::EnDefaut, failed);
            prop_assert_eq!(to == S::Actif, open && !failed);
            prop_assert_eq!(to == S::Termine, !open && paid);
            prop_assert_eq!(to == S::Annule, !open && !paid);
        }
    }
}
