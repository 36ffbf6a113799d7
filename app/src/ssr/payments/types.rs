//! The adapter's own lean view of Stripe objects: only the fields the product
//! reads, every optional one optional, unknown ones ignored. The same structs
//! decode real Stripe, the local peer and webhook payloads of any API version.

use serde::Deserialize;
use std::collections::HashMap;

use crate::domain::is_soft_decline;
use crate::domain::{DisputeStatus, PaymentEvent, RefundStatus};

/// An expandable field: Stripe sends an id, or the object when expanded.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum IdOrObject {
    /// Just the id.
    Id(String),
    /// The expanded object; only its id is read.
    Object {
        /// Its id.
        id: String,
    },
}

impl IdOrObject {
    /// The id either way.
    #[must_use]
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}

/// `last_payment_error` of a PaymentIntent, or the `error` of an API error body.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct StripeErrorDetail {
    /// `card_error`, `invalid_request_error`, `api_error`, `idempotency_error`…
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `card_declined`, `authentication_required`, `payment_intent_authentication_failure`…
    pub code: Option<String>,
    /// The bank's reason (`insufficient_funds`, …).
    pub decline_code: Option<String>,
    /// Stripe's human message (logged, never shown as is).
    pub message: Option<String>,
}

impl StripeErrorDetail {
    /// Refused as a request (a detached card, a deleted customer, a bad parameter), not a
    /// card's decline nor Stripe failing.
    #[must_use]
    pub fn is_invalid_request(&self) -> bool {
        self.kind.as_deref() == Some("invalid_request_error")
    }
}

/// Stripe's PaymentIntent status, with room for values this version does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentIntentStatus {
    /// Needs a payment method (new, or the last one failed).
    RequiresPaymentMethod,
    /// Ready to confirm.
    RequiresConfirmation,
    /// The customer must act (3D Secure).
    RequiresAction,
    /// Asynchronous payment under way.
    Processing,
    /// Authorized, not captured.
    RequiresCapture,
    /// Cancelled.
    Canceled,
    /// Collected.
    Succeeded,
    /// A status this version does not know.
    Other(String),
}

impl PaymentIntentStatus {
    /// Stripe cancels a PaymentIntent in this status (waiting for a payment method, a
    /// confirmation or the customer; `processing` only in rare cases, not counted here).
    #[must_use]
    pub fn is_cancellable(&self) -> bool {
        matches!(
            self,
            Self::RequiresPaymentMethod | Self::RequiresConfirmation | Self::RequiresAction | Self::RequiresCapture
        )
    }
}

impl From<&str> for PaymentIntentStatus {
    fn from(value: &str) -> Self {
        match value {
            "requires_payment_method" => Self::RequiresPaymentMethod,
            "requires_confirmation" => Self::RequiresConfirmation,
            "requires_action" => Self::RequiresAction,
            "processing" => Self::Processing,
            "requires_capture" => Self::RequiresCapture,
            "canceled" => Self::Canceled,
            "succeeded" => Self::Succeeded,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// What the product reads of a PaymentIntent.
#[derive(Clone, Debug, Deserialize)]
pub struct PaymentIntentSnapshot {
    /// `pi_…`.
    pub id: String,
    /// Raw status; see [`PaymentIntentSnapshot::status`].
    #[serde(rename = "status")]
    pub raw_status: String,
    /// Minor units.
    pub amount: i64,
    /// Lower-case ISO code.
    pub currency: String,
    /// `cus_…`.
    pub customer: Option<IdOrObject>,
    /// Given only to the owner's 3D Secure page.
    pub client_secret: Option<String>,
    /// Our `echeance_id` and `attempt`.
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    /// Why the last confirmation failed.
    pub last_payment_error: Option<StripeErrorDetail>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    /// `pm_…`.
    pub payment_method: Option<IdOrObject>,
    /// `ch_…`.
    pub latest_charge: Option<IdOrObject>,
}

/// Which attempt of which database epoch made a PaymentIntent (our metadata).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttemptRef {
    /// `echeance_id`.
    pub echeance: i64,
    /// `attempt`.
    pub attempt: i32,
    /// `epoch`: the installation epoch the attempt was made in.
    pub epoch: i32,
}

impl AttemptRef {
    /// Whether it names attempt row `(echeance, attempt_no, epoch)`.
    #[must_use]
    pub fn names(&self, echeance: i64, attempt_no: i32, epoch: i32) -> bool {
        (self.echeance, self.attempt, self.epoch) == (echeance, attempt_no, epoch)
    }
}

impl PaymentIntentSnapshot {
    /// The status as an enum.
    #[must_use]
    pub fn status(&self) -> PaymentIntentStatus {
        PaymentIntentStatus::from(self.raw_status.as_str())
    }

    /// Our attempt, from our metadata, when present, well formed and written by
    /// `installation` (another database sharing the Stripe account — staging, a
    /// reset development copy — writes the same ids for other échéances). The
    /// installation epoch is `epoch` (absent: 1, as before epochs existed).
    #[must_use]
    pub fn attempt_ref(&self, installation: &str) -> Option<AttemptRef> {
        if self.metadata.get("installation").map(String::as_str) != Some(installation) {
            return None;
        }
        let epoch = match self.metadata.get("epoch") {
            None => 1,
            Some(e) => e.parse().ok().filter(|e| *e >= 1)?,
        };
        let echeance = self.metadata.get("echeance_id")?.parse().ok()?;
        let attempt = self.metadata.get("attempt")?.parse().ok()?;
        Some(AttemptRef { echeance, attempt, epoch })
    }

    /// Whether its metadata says another installation made it (another database on the same
    /// Stripe account). No `installation` at all (the original site's Checkout) is not another's.
    #[must_use]
    pub fn made_by_another(&self, installation: &str) -> bool {
        self.metadata.get("installation").is_some_and(|made_by| made_by != installation)
    }

    /// Whether it is for `amount` minor units of `currency` (what the attempt asked).
    #[must_use]
    pub fn is_for(&self, amount: i64, currency: &str) -> bool {
        self.amount == amount && self.currency.eq_ignore_ascii_case(currency)
    }

    /// The one place where a Stripe PaymentIntent status becomes a domain event.
    /// `None`: nothing to tell yet (a fresh PaymentIntent never confirmed).
    #[must_use]
    pub fn payment_event(&self) -> Option<PaymentEvent> {
        let error = self.last_payment_error.as_ref();
        match self.status() {
            PaymentIntentStatus::Succeeded => Some(PaymentEvent::Succeeded),
            PaymentIntentStatus::Processing | PaymentIntentStatus::RequiresCapture => Some(PaymentEvent::Processing),
            PaymentIntentStatus::RequiresAction | PaymentIntentStatus::RequiresConfirmation => {
                Some(PaymentEvent::AuthenticationRequired)
            }
            PaymentIntentStatus::Canceled => Some(PaymentEvent::Abandoned),
            PaymentIntentStatus::RequiresPaymentMethod => error.map(PaymentEvent::from),
            PaymentIntentStatus::Other(_) => None,
        }
    }
}

impl From<&StripeErrorDetail> for PaymentEvent {
    /// A card error, mapped: SCA demands and failed 3DS wait for the customer;
    /// everything else is a decline, soft or hard.
    fn from(error: &StripeErrorDetail) -> Self {
        let code = error.code.as_deref();
        let decline = error.decline_code.as_deref();
        match (code, decline) {
            (Some("authentication_required"), _) | (_, Some("authentication_required")) => Self::AuthenticationRequired,
            (Some("payment_intent_authentication_failure"), _) => Self::AuthenticationFailed,
            _ => Self::Declined { retryable: is_soft_decline(code, decline) },
        }
    }
}

/// What the product reads of a SetupIntent.
#[derive(Clone, Debug, Deserialize)]
pub struct SetupIntentSnapshot {
    /// `seti_…`.
    pub id: String,
    /// `requires_payment_method`, `requires_action`, `succeeded`, …
    pub status: String,
    /// For Stripe.js in the owner's browser.
    pub client_secret: Option<String>,
    /// The card saved, once succeeded.
    pub payment_method: Option<IdOrObject>,
    /// `cus_…`.
    pub customer: Option<IdOrObject>,
}

impl SetupIntentSnapshot {
    /// The card is saved for off-session use.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.status == "succeeded"
    }
}

/// The card part of a PaymentMethod.
#[derive(Clone, Debug, Deserialize)]
pub struct CardSnapshot {
    /// `visa`, `mastercard`, …
    pub brand: String,
    /// Last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: i32,
    /// Expiry year.
    pub exp_year: i32,
}

/// What the product reads of a PaymentMethod.
#[derive(Clone, Debug, Deserialize)]
pub struct PaymentMethodSnapshot {
    /// `pm_…`.
    pub id: String,
    /// Present for cards.
    pub card: Option<CardSnapshot>,
    /// `cus_…` once attached.
    pub customer: Option<IdOrObject>,
}

/// A legacy Checkout Session (the original site's flow).
#[derive(Clone, Debug, Deserialize)]
pub struct CheckoutSessionSnapshot {
    /// `cs_…`.
    pub id: String,
    /// `open`, `complete`, `expired`.
    pub status: Option<String>,
    /// `paid`, `unpaid`, `no_payment_required`.
    pub payment_status: Option<String>,
    /// The PaymentIntent it created, if any.
    pub payment_intent: Option<IdOrObject>,
    /// Our `echeance_id`.
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    /// Set by the original site to the échéance id.
    pub client_reference_id: Option<String>,
    /// What it collects, in minor units (`null` on a session that collects nothing).
    pub amount_total: Option<i64>,
    /// Three-letter ISO code, lowercase (`null` likewise).
    pub currency: Option<String>,
}

impl CheckoutSessionSnapshot {
    /// Whether it says it was paid.
    #[must_use]
    pub fn is_paid(&self) -> bool {
        self.payment_status.as_deref() == Some("paid")
    }

    /// Whether it expired: it will never collect.
    #[must_use]
    pub fn is_expired(&self) -> bool {
        self.status.as_deref() == Some("expired")
    }

    /// Whether it is still open: its customer may yet pay on Stripe's page.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.status.as_deref() == Some("open")
    }

    /// Complete and unpaid: a delayed payment under way, or failed.
    #[must_use]
    pub fn is_complete_unpaid(&self) -> bool {
        self.status.as_deref() == Some("complete") && self.payment_status.as_deref() == Some("unpaid")
    }

    /// Where it stands in Stripe's own words: `complete/paid` (`?` for what it does not say).
    #[must_use]
    pub fn status_words(&self) -> String {
        format!("{}/{}", self.status.as_deref().unwrap_or("?"), self.payment_status.as_deref().unwrap_or("?"))
    }

    /// Where it stands and what it collected, in Stripe's own words: `complete/paid 5999 eur`.
    #[must_use]
    pub fn summary(&self) -> String {
        let amount = self.amount_total.map_or_else(|| "?".to_owned(), |amount| amount.to_string());
        format!("{} {amount} {}", self.status_words(), self.currency.as_deref().unwrap_or("?"))
    }

    /// Whether it is for `amount` minor units of `currency` (an échéance's); a session that
    /// does not say what it collects is not.
    #[must_use]
    pub fn is_for(&self, amount: i64, currency: &str) -> bool {
        self.amount_total == Some(amount) && self.currency.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(currency))
    }
}

/// What the product reads of a Charge (refund events).
#[derive(Clone, Debug, Deserialize)]
pub struct ChargeSnapshot {
    /// `ch_…`.
    pub id: String,
    /// The PaymentIntent it belongs to.
    pub payment_intent: Option<IdOrObject>,
    /// Amount charged.
    #[serde(default)]
    pub amount: i64,
    /// Amount refunded so far.
    #[serde(default)]
    pub amount_refunded: i64,
    /// Entirely refunded.
    #[serde(default)]
    pub refunded: bool,
}

/// What the product reads of a Dispute.
#[derive(Clone, Debug, Deserialize)]
pub struct DisputeSnapshot {
    /// `dp_…`.
    pub id: String,
    /// The disputed PaymentIntent.
    pub payment_intent: Option<IdOrObject>,
    /// The disputed charge.
    pub charge: Option<IdOrObject>,
    /// Stripe's reason code.
    pub reason: Option<String>,
    /// `warning_needs_response` … `won`, `lost`, `prevented` (read by [`Self::known_status`]).
    #[serde(default)]
    pub status: Option<String>,
    /// The disputed amount (what is lost if the dispute is).
    #[serde(default)]
    pub amount: i64,
    /// Its currency.
    #[serde(default)]
    pub currency: Option<String>,
    /// The deadline for evidence.
    #[serde(default)]
    pub evidence_details: Option<EvidenceDetails>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
}

impl DisputeSnapshot {
    /// Its status, when it is a word Stripe documents.
    #[must_use]
    pub fn known_status(&self) -> Option<DisputeStatus> {
        self.status.as_deref().and_then(DisputeStatus::from_stripe)
    }
}

/// A dispute's `evidence_details`: what the product reads of it.
#[derive(Clone, Debug, Deserialize)]
pub struct EvidenceDetails {
    /// Unix seconds: the last moment to send evidence (null once it cannot be sent).
    #[serde(default)]
    pub due_by: Option<i64>,
}

/// What the product reads of a Refund.
#[derive(Clone, Debug, Deserialize)]
pub struct RefundSnapshot {
    /// `re_…`.
    pub id: String,
    /// `pending`, `succeeded`, `failed`, `canceled`, `requires_action`.
    pub status: Option<String>,
    /// The refunded PaymentIntent.
    pub payment_intent: Option<IdOrObject>,
    /// Amount refunded.
    #[serde(default)]
    pub amount: i64,
    /// The refunded charge.
    #[serde(default)]
    pub charge: Option<IdOrObject>,
    /// Why it was made, in Stripe's words (`requested_by_customer`, …).
    #[serde(default)]
    pub reason: Option<String>,
    /// Why the bank could not send it back (`expired_or_canceled_card`, …).
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// Our `echeance_id` and `refund` (its rank), when we asked for it.
    #[serde(default)]
    pub metadata: Option<std::collections::HashMap<String, String>>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
}

impl RefundSnapshot {
    /// Its status, when it is a word Stripe documents.
    #[must_use]
    pub fn known_status(&self) -> Option<RefundStatus> {
        self.status.as_deref().and_then(RefundStatus::from_stripe)
    }
}

/// A Stripe event, from a webhook or the Events API. `data.object` is kept raw
/// and decoded by type when processed.
#[derive(Clone, Debug, Deserialize)]
pub struct EventEnvelope {
    /// `evt_…`.
    pub id: String,
    /// `payment_intent.succeeded`, …
    #[serde(rename = "type")]
    pub event_type: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    /// Live or test mode.
    #[serde(default)]
    pub livemode: bool,
    /// The object the event is about.
    pub data: EventData,
}

/// `data` of an event.
#[derive(Clone, Debug, Deserialize)]
pub struct EventData {
    /// The object as it was when the event happened.
    pub object: serde_json::Value,
}

/// The `created` bounds of a listing, Unix seconds: from `gte` (inclusive) to
/// `lt` (exclusive), or without end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreatedRange {
    /// Created at or after.
    pub gte: i64,
    /// Created before.
    pub lt: Option<i64>,
}

impl CreatedRange {
    /// Everything created at or after `gte`.
    #[must_use]
    pub const fn since(gte: i64) -> Self {
        Self { gte, lt: None }
    }
}

/// One page of a list endpoint.
#[derive(Clone, Debug, Deserialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub data: Vec<T>,
    /// More pages follow.
    #[serde(default)]
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pi(json: serde_json::Value) -> PaymentIntentSnapshot {
        serde_json::from_value(json).expect("decodes")
    }

    #[test]
    fn decodes_a_minimal_peer_payment_intent_with_an_expanded_charge() {
        let p = pi(serde_json::json!({
            "id": "pi_1", "status": "succeeded", "amount": 1000, "currency": "eur",
            "customer": "cus_1", "metadata": {"echeance_id": "7", "attempt": "2", "installation": "inst_1"},
            "latest_charge": {"id": "ch_1", "object": "charge"}, "extra": [1, 2]
        }));
        assert_eq!(p.attempt_ref("inst_1"), Some(AttemptRef { echeance: 7, attempt: 2, epoch: 1 }));
        assert_eq!(p.attempt_ref("inst_other"), None, "another installation's metadata is not ours");
        assert!(p.made_by_another("inst_other") && !p.made_by_another("inst_1"));
        let restored = pi(serde_json::json!({
            "id": "pi_2", "status": "succeeded", "amount": 1000, "currency": "eur",
            "metadata": {"echeance_id": "7", "attempt": "2", "installation": "inst_1", "epoch": "3"}
        }));
        assert_eq!(restored.attempt_ref("inst_1"), Some(AttemptRef { echeance: 7, attempt: 2, epoch: 3 }));
        let garbled = pi(serde_json::json!({
            "id": "pi_3", "status": "succeeded", "amount": 1000, "currency": "eur",
            "metadata": {"echeance_id": "7", "attempt": "2", "installation": "inst_1", "epoch": "0"}
        }));
        assert_eq!(garbled.attempt_ref("inst_1"), None, "an epoch that is not one of ours");
        assert_eq!(p.latest_charge.as_ref().map(IdOrObject::id), Some("ch_1"));
        assert_eq!(p.payment_event(), Some(PaymentEvent::Succeeded));
    }

    #[test]
    fn stripe_statuses_map_to_domain_events() {
        let with = |status: &str, error: serde_json::Value| {
            pi(serde_json::json!({"id": "pi", "status": status, "amount": 1, "currency": "eur", "last_payment_error": error}))
                .payment_event()
        };
        assert_eq!(with("requires_action", serde_json::Value::Null), Some(PaymentEvent::AuthenticationRequired));
        assert_eq!(
            with("requires_payment_method", serde_json::json!({"code": "authentication_required"})),
            Some(PaymentEvent::AuthenticationRequired)
        );
        assert_eq!(
            with("requires_payment_method", serde_json::json!({"code": "payment_intent_authentication_failure"})),
            Some(PaymentEvent::AuthenticationFailed)
        );
        assert_eq!(
            with(
                "requires_payment_method",
                serde_json::json!({"code": "card_declined", "decline_code": "insufficient_funds"})
            ),
            Some(PaymentEvent::Declined { retryable: true })
        );
        assert_eq!(
            with(
                "requires_payment_method",
                serde_json::json!({"code": "card_declined", "decline_code": "stolen_card"})
            ),
            Some(PaymentEvent::Declined { retryable: false })
        );
        assert_eq!(with("requires_payment_method", serde_json::Value::Null), None);
        assert_eq!(with("canceled", serde_json::Value::Null), Some(PaymentEvent::Abandoned));
        assert_eq!(with("something_new", serde_json::Value::Null), None);
    }

    /// Real Stripe shapes (`fixtures/`, from Stripe's own API fixtures), as a JSON value to adjust.
    fn fixture(name: &str) -> serde_json::Value {
        let raw = match name {
            "payment_intent" => include_str!("fixtures/payment_intent.json"),
            "setup_intent" => include_str!("fixtures/setup_intent.json"),
            "payment_method" => include_str!("fixtures/payment_method.json"),
            "charge" => include_str!("fixtures/charge.json"),
            "dispute" => include_str!("fixtures/dispute.json"),
            "refund" => include_str!("fixtures/refund.json"),
            "checkout.session" => include_str!("fixtures/checkout.session.json"),
            "event" => include_str!("fixtures/event.json"),
            other => panic!("no fixture {other}"),
        };
        serde_json::from_str(raw).expect("fixture is JSON")
    }

    #[test]
    fn real_stripe_objects_decode_with_every_field_nulls_and_expandable_ids() {
        let p: PaymentIntentSnapshot = serde_json::from_value(fixture("payment_intent")).expect("PaymentIntent");
        assert_eq!((p.id.as_str(), p.amount, p.currency.as_str()), ("pi_1PgafyB7WZ01zgkWSjxsAJo3", 1099, "usd"));
        assert_eq!(p.status(), PaymentIntentStatus::RequiresPaymentMethod);
        assert!(p.customer.is_none() && p.latest_charge.is_none() && p.attempt_ref("inst_1").is_none());
        assert!(!p.made_by_another("inst_1"), "no installation in its metadata: nobody else's");
        assert_eq!(p.last_payment_error.as_ref().and_then(|e| e.kind.as_deref()), Some("idempotency_error"));

        let s: SetupIntentSnapshot = serde_json::from_value(fixture("setup_intent")).expect("SetupIntent");
        assert!(!s.succeeded() && s.client_secret.is_some() && s.payment_method.is_none());

        let m: PaymentMethodSnapshot = serde_json::from_value(fixture("payment_method")).expect("PaymentMethod");
        let card = m.card.expect("a card");
        assert_eq!(
            (card.brand.as_str(), card.last4.as_str(), card.exp_month, card.exp_year),
            ("visa", "4242", 8, 2030)
        );

        let c: ChargeSnapshot = serde_json::from_value(fixture("charge")).expect("Charge");
        assert_eq!(
            (c.id.as_str(), c.amount, c.amount_refunded, c.refunded),
            ("ch_1PgafuB7WZ01zgkWXYmPNZs8", 100, 0, false)
        );

        let d: DisputeSnapshot = serde_json::from_value(fixture("dispute")).expect("Dispute");
        assert_eq!(d.charge.as_ref().map(IdOrObject::id), Some("ch_1PgafuB7WZ01zgkWXYmPNZs8"));
        assert_eq!(d.reason.as_deref(), Some("general"));
        assert_eq!(d.status.as_deref(), Some("warning_needs_response"));
        assert_eq!(d.known_status(), Some(DisputeStatus::WarningNeedsResponse));
        assert_eq!((d.amount, d.evidence_details.and_then(|e| e.due_by)), (1000, Some(1_723_679_999)));

        let r: RefundSnapshot = serde_json::from_value(fixture("refund")).expect("Refund");
        assert_eq!(
            (r.id.as_str(), r.status.as_deref(), r.payment_intent.is_none()),
            ("re_1Pgc72B7WZ01zgkWqPvrRrPE", Some("succeeded"), true)
        );
        assert_eq!(r.known_status(), Some(RefundStatus::Succeeded));

        let cs: CheckoutSessionSnapshot = serde_json::from_value(fixture("checkout.session")).expect("Session");
        assert_eq!((cs.status.as_deref(), cs.payment_status.as_deref()), (Some("open"), Some("unpaid")));
        assert!(cs.is_open() && !cs.is_expired() && !cs.is_complete_unpaid() && !cs.is_paid());
        assert_eq!(cs.payment_intent.as_ref().map(IdOrObject::id), Some("pi_1PgafyB7WZ01zgkWSjxsAJo3"));
        assert!(!cs.is_for(0, "eur"), "it says nothing of what it collects (null): not for any amount");
        let mut paid = fixture("checkout.session");
        paid["amount_total"] = 6_000.into();
        paid["currency"] = "eur".into();
        let paid: CheckoutSessionSnapshot = serde_json::from_value(paid).expect("Session");
        assert!(paid.is_for(6_000, "EUR") && !paid.is_for(5_999, "eur") && !paid.is_for(6_000, "usd"));

        let e: EventEnvelope = serde_json::from_value(fixture("event")).expect("Event");
        assert_eq!(
            (e.id.as_str(), e.event_type.as_str(), e.livemode),
            ("evt_1Pgc76B7WZ01zgkWwyRHS12y", "plan.created", false)
        );
    }

    #[test]
    fn a_real_payment_intent_in_each_state_we_act_on_maps_to_its_event() {
        let with = |changes: serde_json::Value| -> PaymentIntentSnapshot {
            let mut pi = fixture("payment_intent");
            if let (Some(pi), Some(changes)) = (pi.as_object_mut(), changes.as_object()) {
                pi.extend(changes.clone());
            }
            serde_json::from_value(pi).expect("decodes")
        };
        let ours = serde_json::json!({"echeance_id": "7", "attempt": "2", "installation": "inst_1"});
        let sca = with(serde_json::json!({
            "customer": {"id": "cus_1", "object": "customer"}, "metadata": ours,
            "last_payment_error": {"type": "card_error", "code": "authentication_required",
                "decline_code": "authentication_required", "message": "Authentication required", "doc_url": null}
        }));
        assert_eq!(sca.payment_event(), Some(PaymentEvent::AuthenticationRequired));
        assert_eq!(
            (sca.attempt_ref("inst_1"), sca.customer.as_ref().map(IdOrObject::id)),
            (Some(AttemptRef { echeance: 7, attempt: 2, epoch: 1 }), Some("cus_1"))
        );
        let paid =
            with(serde_json::json!({"status": "succeeded", "last_payment_error": null, "latest_charge": "ch_1"}));
        assert_eq!(paid.payment_event(), Some(PaymentEvent::Succeeded));
        assert_eq!(paid.latest_charge.as_ref().map(IdOrObject::id), Some("ch_1"));
        let declined = with(serde_json::json!({"last_payment_error":
            {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}}));
        assert_eq!(declined.payment_event(), Some(PaymentEvent::Declined { retryable: true }));
        assert_eq!(with(serde_json::json!({"status": "canceled"})).payment_event(), Some(PaymentEvent::Abandoned));
    }
}
