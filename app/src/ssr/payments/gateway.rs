//! The payment port: what the services ask of Stripe. One implementation
//! ([`super::stripe::StripeGateway`]) speaks to Stripe; tests use the same one
//! against a local peer.

use async_trait::async_trait;

use super::types::{
    ChargeSnapshot, CheckoutSessionSnapshot, CreatedRange, DisputeSnapshot, EventEnvelope, Page, PaymentIntentSnapshot,
    PaymentMethodSnapshot, RefundSnapshot, SetupIntentSnapshot, StripeErrorDetail,
};
use crate::domain::{Amount, AttemptNo, Currency, EcheanceId, IdempotencyKey, RefundReason, UserId};

/// A charge of a saved card. Every field comes from the attempt row (a re-send
/// with the same key must ask exactly the same).
#[derive(Clone, Debug)]
pub struct SavedCardCharge {
    /// The customer is on the page and pressed « Payer » (a customer-initiated
    /// payment: sent on-session, 3D Secure asked in the page); otherwise the
    /// merchant charges a customer who is away (`off_session`: the due-date run,
    /// the automatic retries, an admin).
    pub customer_present: bool,
    /// The amount.
    pub amount: Amount,
    /// The currency.
    pub currency: Currency,
    /// `cus_…`.
    pub customer: String,
    /// `pm_…`.
    pub payment_method: String,
    /// A card the customer just gave, saved by this payment for the later
    /// échéances (`setup_future_usage = off_session`: the customer's one
    /// authentication covers this payment and the merchant's later charges).
    pub saves_card: bool,
    /// Metadata `echeance_id`.
    pub echeance_id: EcheanceId,
    /// Metadata `attempt`.
    pub attempt: AttemptNo,
    /// Metadata `installation`: which database the charge belongs to.
    pub installation: String,
    /// Metadata `epoch` (sent from epoch 2 on: a request made before epochs existed is re-sent as it was).
    pub epoch: i32,
}

/// A refund of (part of) what a PaymentIntent collected. Every field comes
/// from the refund row (a re-send with the same key must ask exactly the same).
#[derive(Clone, Debug)]
pub struct RefundRequest {
    /// `pi_…`: the PaymentIntent that collected the money.
    pub payment_intent: String,
    /// How much goes back.
    pub amount: Amount,
    /// Why, in Stripe's words.
    pub reason: RefundReason,
    /// Metadata `echeance_id`.
    pub echeance_id: EcheanceId,
    /// Metadata `refund`: its rank among the échéance's refunds.
    pub seq: i32,
    /// Metadata `installation`.
    pub installation: String,
}

/// Why a transient failure happened; the outcome of a mutation is unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransientKind {
    /// No answer in time.
    Timeout,
    /// The connection failed or was cut.
    Connection,
    /// HTTP 429 (rate limit or lock timeout).
    RateLimited,
    /// HTTP 409 `idempotency_key_in_use`: the first request is still running.
    InFlight,
    /// HTTP 5xx.
    Server(u16),
}

/// A failed call to Stripe.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A card error (HTTP 402): declined, or authentication required. The
    /// PaymentIntent comes with it when Stripe sends it.
    #[error("card error ({:?}, {:?})", .detail.code, .detail.decline_code)]
    Card {
        /// Stripe's error.
        detail: StripeErrorDetail,
        /// The PaymentIntent the error is about.
        payment_intent: Option<Box<PaymentIntentSnapshot>>,
    },
    /// The outcome is unknown; the same request may be retried with the same key.
    #[error("transient failure: {kind:?}")]
    Transient {
        /// What happened.
        kind: TransientKind,
    },
    /// Stripe refused the request itself (4xx other than 402/409/429): retrying will not help.
    #[error("rejected by Stripe ({status}, {:?})", .detail.code)]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Stripe's error.
        detail: StripeErrorDetail,
        /// The PaymentIntent the refusal is about, when Stripe sends it (Stripe's error
        /// object carries one on any error of a request involving a PaymentIntent).
        payment_intent: Option<Box<PaymentIntentSnapshot>>,
    },
    /// A 2xx whose body could not be read: for a mutation, the outcome is unknown.
    #[error("unreadable response: {0}")]
    Decode(String),
}

impl GatewayError {
    /// The request may have been executed: retry with the same key, or look it up.
    #[must_use]
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Transient { .. } | Self::Decode(_))
    }

    /// Stripe answered 5xx: the request may have run, and that answer is saved
    /// for its idempotency key (replayed to every retry for a day), so what it
    /// did is read back rather than retried.
    #[must_use]
    pub fn is_server_error(&self) -> bool {
        matches!(self, Self::Transient { kind: TransientKind::Server(_) })
    }

    /// Stripe does not know an object of the request: a 404 on the object's
    /// own path, or `resource_missing` when it is named as a parameter
    /// (`No such customer: 'cus_…'` comes as a 400).
    #[must_use]
    pub fn unknown_object(&self) -> bool {
        match self {
            Self::Rejected { status, detail, .. } => names_unknown_object(*status, detail),
            Self::Card { .. } | Self::Transient { .. } | Self::Decode(_) => false,
        }
    }

    /// Stripe says the object does not exist, in its own words (`resource_missing`): not a
    /// bare 404, which a proxy or a wrong base URL could answer too.
    #[must_use]
    pub fn resource_missing(&self) -> bool {
        matches!(self, Self::Rejected { detail, .. } if detail.code.as_deref() == Some("resource_missing"))
    }
}

/// See [`GatewayError::unknown_object`].
#[must_use]
pub fn names_unknown_object(status: u16, detail: &StripeErrorDetail) -> bool {
    status == 404 || detail.code.as_deref() == Some("resource_missing")
}

/// What the services ask of Stripe. Every mutation takes its idempotency key.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Creates the Stripe customer of a user.
    async fn create_customer(
        &self,
        email: &str,
        name: &str,
        user_id: UserId,
        key: &IdempotencyKey,
    ) -> Result<String, GatewayError>;

    /// Creates a SetupIntent to save a card for off-session use.
    async fn create_setup_intent(
        &self,
        customer: &str,
        key: &IdempotencyKey,
    ) -> Result<SetupIntentSnapshot, GatewayError>;

    /// Reads a SetupIntent.
    async fn retrieve_setup_intent(&self, id: &str) -> Result<SetupIntentSnapshot, GatewayError>;

    /// Reads a PaymentMethod.
    async fn retrieve_payment_method(&self, id: &str) -> Result<PaymentMethodSnapshot, GatewayError>;

    /// Attaches a PaymentMethod to a customer.
    async fn attach_payment_method(
        &self,
        id: &str,
        customer: &str,
        key: &IdempotencyKey,
    ) -> Result<PaymentMethodSnapshot, GatewayError>;

    /// Creates and confirms a PaymentIntent on a saved card: off-session unless the customer is present.
    async fn charge_saved_card(
        &self,
        charge: &SavedCardCharge,
        key: &IdempotencyKey,
    ) -> Result<PaymentIntentSnapshot, GatewayError>;

    /// Reads a PaymentIntent.
    async fn retrieve_payment_intent(&self, id: &str) -> Result<PaymentIntentSnapshot, GatewayError>;

    /// One page of PaymentIntents created in `created`, newest first.
    async fn list_payment_intents(
        &self,
        created: CreatedRange,
        customer: Option<&str>,
        starting_after: Option<&str>,
    ) -> Result<Page<PaymentIntentSnapshot>, GatewayError>;

    /// Makes a PaymentIntent whose 3D Secure failed confirmable again with the
    /// saved card (update its payment method, confirm on-session): the customer's
    /// next 3DS try happens on the same PaymentIntent.
    async fn rearm_payment_intent(
        &self,
        id: &str,
        payment_method: &str,
        key: &IdempotencyKey,
    ) -> Result<PaymentIntentSnapshot, GatewayError>;

    /// Cancels a PaymentIntent.
    async fn cancel_payment_intent(
        &self,
        id: &str,
        key: &IdempotencyKey,
    ) -> Result<PaymentIntentSnapshot, GatewayError>;

    /// Refunds (part of) what a PaymentIntent collected.
    async fn create_refund(&self, refund: &RefundRequest, key: &IdempotencyKey)
    -> Result<RefundSnapshot, GatewayError>;

    /// Reads a charge (a dispute or refund of a charge made without a PaymentIntent names only
    /// the charge).
    async fn retrieve_charge(&self, id: &str) -> Result<ChargeSnapshot, GatewayError>;

    /// Reads a refund.
    async fn retrieve_refund(&self, id: &str) -> Result<RefundSnapshot, GatewayError>;

    /// One page of refunds created since `created_gte` (newest first).
    async fn list_refunds(
        &self,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> Result<Page<RefundSnapshot>, GatewayError>;

    /// One page of the refunds of PaymentIntent `payment_intent`, whenever made.
    async fn list_refunds_of(
        &self,
        payment_intent: &str,
        starting_after: Option<&str>,
    ) -> Result<Page<RefundSnapshot>, GatewayError>;

    /// One page of disputes created since `created_gte` (newest first).
    async fn list_disputes(
        &self,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> Result<Page<DisputeSnapshot>, GatewayError>;

    /// One page of events Stripe could not deliver to our endpoint.
    async fn list_undelivered_events(
        &self,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> Result<Page<EventEnvelope>, GatewayError>;

    /// Reads a legacy Checkout Session.
    async fn retrieve_checkout_session(&self, id: &str) -> Result<CheckoutSessionSnapshot, GatewayError>;

    /// Expires a legacy Checkout Session still open, so it can no longer collect.
    /// Stripe refuses it (400) once the session is complete or already expired.
    async fn expire_checkout_session(
        &self,
        id: &str,
        key: &IdempotencyKey,
    ) -> Result<CheckoutSessionSnapshot, GatewayError>;

    /// Deletes a Stripe customer (an erased customer's): their saved cards go with them.
    /// A DELETE is idempotent at Stripe, which takes no key for it; one already deleted is a 404.
    async fn delete_customer(&self, id: &str) -> Result<(), GatewayError>;

    /// Answers when Stripe can be reached with our key (health check).
    async fn ping(&self) -> Result<(), GatewayError>;
}
