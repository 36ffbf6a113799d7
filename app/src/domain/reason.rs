//! Why something was refused, as data: services return these, the wire
//! carries them, and the interface words them in the reader's language
//! (`ui::i18n`). No sentence is written here.

use serde::{Deserialize, Serialize};

use super::status::{EcheanceStatus, TransitionError};

/// Why an action does not apply now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// A charge is already in flight for this échéance.
    #[error("a charge is already in flight")]
    AlreadyInProgress,
    /// The customer must first complete 3D Secure.
    #[error("waiting for the customer's 3D Secure")]
    AwaitingCustomer,
    /// The échéance was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The échéance is already settled (paid, refunded, disputed).
    #[error("already settled")]
    Settled,
    /// The échéance cannot be paid in its current state.
    #[error("not payable now")]
    NotPayableNow,
    /// The échéance is not due yet: only its customer pays ahead (an admin's charge goes
    /// off-session, on a mandate for the schedule's dates).
    #[error("not due yet")]
    NotDueYet,
    /// The schedule decided on a snapshot; the échéance is no longer due.
    #[error("no longer due")]
    NoLongerDue,
    /// The customer paid while the admin was cancelling.
    #[error("paid meanwhile")]
    PaidMeanwhile,
    /// Stripe did not cancel the waiting PaymentIntent; nothing was cancelled.
    #[error("Stripe did not cancel the payment")]
    CancelNotConfirmed,
    /// The échéance does not wait for 3D Secure.
    #[error("not waiting for authentication")]
    NotAwaitingAuthentication,
    /// There is no PaymentIntent to authenticate.
    #[error("nothing to authenticate")]
    NothingToAuthenticate,
    /// The 3D Secure link expired; the next attempt will make a new one.
    #[error("link expired")]
    LinkExpired,
    /// A reconciliation is running already.
    #[error("a reconciliation is already running")]
    ReconcileRunning,
    /// A customer is erased only when no échéance is in flight (en cours, waiting for 3D Secure)
    /// and no dispute is open.
    #[error("an échéance is in flight or disputed")]
    ErasureBlocked,
    /// A customer is not erased while one of their échéances still to collect is held by the
    /// original site's Checkout Session that collected another amount than its own: an admin
    /// cancels that échéance first (its money stays in the drift until marked as reviewed).
    #[error("a legacy Checkout payment of another amount is to review")]
    ErasureLegacyToReview,
    /// The customer's account is closed (its erasure has begun): no new plan is written for it.
    #[error("the customer's account is closed")]
    AccountClosed,
    /// The plan changed (an admin moved a date) after the page the customer accepts from was
    /// opened: nothing is recorded, the page is to be read again.
    #[error("the plan changed since the page was opened")]
    TermsChanged,
    /// The échéance's plan has no consent on record: nothing of it is charged, by anyone,
    /// before its customer accepts it.
    #[error("the plan is not accepted yet")]
    NotAccepted,
    /// The plan was made with the Stripe keys of the other mode (test, the installation now on
    /// live keys, or the reverse): its customer, cards and payments are in that mode on Stripe,
    /// out of these keys' reach. Nothing of it is charged until the installation runs on that
    /// mode's keys again.
    #[error("the plan belongs to the other Stripe mode")]
    OtherMode,
    /// The last active admin cannot be disabled (no one could get back in).
    #[error("the last active admin")]
    LastAdmin,
    /// The settings require admins to use a second factor: set it up first (`/admin/security`).
    #[error("set up a second factor first")]
    SecondFactorSetupRequired,
    /// The settings require admins to use a second factor: it cannot be turned off.
    #[error("a second factor is required")]
    SecondFactorRequired,
    /// The second factor is on already (turn it off before enrolling another app).
    #[error("the second factor is on already")]
    SecondFactorOn,
    /// The second factor is not on.
    #[error("the second factor is off")]
    SecondFactorOff,
    /// No key waits for its first code (never begun, or begun again since, elsewhere): begin again.
    #[error("no enrolment waits for a code")]
    EnrolmentGone,
    /// The account's second-factor key was sealed under another `APP_SECRET` (changed since): no
    /// code can be checked until the second factor is reset (by another admin's CLI).
    #[error("the second-factor key does not open with this APP_SECRET")]
    SecondFactorUnreadable,
    /// The database was restored from a backup: no charge until a reconcile has covered the window since.
    #[error("restored from a backup: waiting for a reconciliation")]
    RestorePending,
    /// Stripe refused the request (a 4xx that is not a card error).
    #[error("Stripe refused the request")]
    StripeRefused,
    /// Stripe does not know the object (a PaymentIntent, customer or card it no longer has).
    #[error("unknown to Stripe")]
    UnknownToStripe,
    /// A payment started on the original site's Checkout is still being processed.
    #[error("a legacy Checkout payment is in progress")]
    LegacyPaymentPending,
    /// The original site's Checkout collected another amount (or currency) than the
    /// échéance's: nothing is charged over it until an admin has looked.
    #[error("a legacy Checkout payment of another amount: to review")]
    LegacyPaymentToReview,
    /// Only a cancelled échéance still linked to the original site's Checkout Session has a
    /// legacy payment to mark as reviewed.
    #[error("no legacy Checkout payment to review")]
    NothingToReview,
    /// The plan is finished or cancelled.
    #[error("the plan is over")]
    PlanOver,
    /// Only an échéance still to pay (not in flight, not settled) can be moved to another date.
    #[error("only an échéance still to pay can be moved")]
    DueDateFixed,
    /// Nothing was collected for this échéance: there is nothing to refund.
    #[error("nothing collected to refund")]
    NotCollected,
    /// A disputed payment is not refunded: the dispute decides where the money goes.
    #[error("disputed: the dispute decides")]
    Disputed,
    /// Everything collected was refunded already (or is on its way back).
    #[error("fully refunded")]
    FullyRefunded,
    /// Someone refunded this échéance since the page was read: read it again.
    #[error("the refunds changed since the page was read")]
    RefundsChanged,
}

impl From<TransitionError> for Refusal {
    fn from(refused: TransitionError) -> Self {
        match refused {
            TransitionError::AlreadyInProgress => Self::AlreadyInProgress,
            TransitionError::AwaitingCustomer => Self::AwaitingCustomer,
            TransitionError::Settled(EcheanceStatus::Annulee) => Self::Cancelled,
            TransitionError::Settled(_) => Self::Settled,
            TransitionError::NotApplicable { .. } => Self::NotPayableNow,
        }
    }
}

/// A field of a form or request that did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    /// A status filter.
    Status,
    /// The plans list's card filter (`expiring`).
    CardFilter,
    /// The start of a date range.
    DueFrom,
    /// The end of a date range.
    DueTo,
    /// A minimum amount.
    AmountMin,
    /// A maximum amount.
    AmountMax,
    /// An email kind.
    EmailKind,
    /// A language code.
    Locale,
    /// An email address.
    Email,
    /// A person's name.
    Name,
    /// What a plan is for.
    Label,
    /// An échéance's due date.
    DueDate,
    /// The host's metadata (at most 20 keys of 40 characters, values of 500).
    Metadata,
    /// Where the acceptance page sends the customer back (an http(s) address).
    ReturnUrl,
    /// A webhook endpoint's address (https; http outside production).
    EndpointUrl,
    /// The event types a webhook endpoint wants.
    EventTypes,
    /// A note (at most 200 characters).
    Description,
    /// A new password (12 to 128 characters, typed twice alike).
    Password,
    /// The box that confirms an action that cannot be undone.
    Confirmation,
    /// An amount of money.
    Amount,
    /// Why (a refund's reason).
    Reason,
}

/// Why input was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Invalid {
    /// This field does not parse.
    #[error("invalid {0:?}")]
    Field(Field),
    /// The start of the date range is after its end.
    #[error("date range inverted")]
    DateRangeInverted,
    /// No saved card: save one before paying.
    #[error("no saved card")]
    NoCard,
    /// The card was not confirmed in the browser.
    #[error("card not confirmed")]
    CardNotConfirmed,
    /// The account's current password, asked again before a change, was not typed right.
    #[error("wrong password")]
    WrongPassword,
    /// The second factor's code is not the one the app shows now (or it was used already), nor a
    /// recovery code not used yet.
    #[error("wrong code")]
    WrongCode,
    /// The first code of an enrolment is not the one the app shows now for the key being set up.
    #[error("wrong setup code")]
    WrongSetupCode,
    /// The bank refused the card.
    #[error("card refused")]
    CardRefused,
    /// Only cards are accepted.
    #[error("not a card")]
    CardsOnly,
    /// A template that does not render; the renderer's own words (technical, for the admin who wrote it).
    #[error("template refused: {0}")]
    Template(String),
    /// An amount under the smallest charge Stripe accepts in its currency.
    #[error("below the minimum charge of {0}")]
    BelowMinimum(crate::domain::Money),
    /// A plan's schedule, with every problem on its field.
    #[error("{0}")]
    Schedule(crate::domain::ScheduleInvalid),
    /// The plan is consumer credit under French law and the settings refuse those.
    #[error("consumer credit refused")]
    ConsumerCredit,
    /// Fixture input (test-only commands).
    #[error("{0}")]
    Fixture(String),
    /// An account with this address exists already.
    #[error("address taken")]
    EmailTaken,
    /// A plan asked without its invitation email for a customer who has an
    /// account already: their acceptance link (which logs its holder in) only
    /// ever goes to their own inbox, so nothing else could let them accept.
    #[error("the invitation must be emailed to an existing customer")]
    InvitationNeeded,
    /// The customer's address is an administrator's account: a plan is for a customer, and an
    /// admin is never turned into a payer.
    #[error("the address is an administrator's")]
    AdminEmail,
    /// A refund of more than what is left to refund (that much at most).
    #[error("more than the {0} left to refund")]
    RefundTooLarge(crate::domain::Money),
    /// A webhook endpoint over the most a mode's keys may have enabled at once (that many).
    #[error("at most {0} webhook endpoints enabled at once")]
    TooManyEndpoints(u32),
}

impl From<crate::domain::money::BelowMinimum> for Invalid {
    fn from(refused: crate::domain::money::BelowMinimum) -> Self {
        Self::BelowMinimum(refused.minimum)
    }
}
