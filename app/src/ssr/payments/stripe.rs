//! The Stripe adapter: the only code that speaks to Stripe.
//!
//! Requests are built with async-stripe's typed builders (or its raw
//! `RequestBuilder` where a builder lacks a parameter) and sent by our own
//! pooled reqwest transport, so that every error keeps its HTTP status and
//! body (a 402 carries the PaymentIntent), and responses decode into the lean
//! structs of [`super::types`]. Transient failures are retried here, a few
//! times, with the **same** idempotency key; the services decide what an
//! outcome that stays unknown means.

use async_trait::async_trait;
use rand::Rng as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use stripe_client_core::{RequestBuilder, StripeMethod, StripeRequest};
use url::Url;

use super::gateway::{GatewayError, PaymentGateway, RefundRequest, SavedCardCharge, TransientKind};
use super::rate_limit::RateLimiter;
use super::types;
use crate::domain::{IdempotencyKey, UserId};

/// How the adapter reaches Stripe.
#[derive(Clone, Debug)]
pub struct StripeConfig {
    /// `https://api.stripe.com/` or a local peer.
    pub api_base: Url,
    /// `sk_…`.
    pub secret_key: SecretString,
    /// One HTTP call.
    pub timeout: Duration,
    /// Requests per second per endpoint.
    pub rate_limit_per_sec: u32,
    /// Tries per call for transient failures (same idempotency key each time).
    pub max_tries: u32,
}

/// Speaks to Stripe.
#[derive(Debug)]
pub struct StripeGateway {
    http: reqwest::Client,
    config: StripeConfig,
    limiter: RateLimiter,
}

/// The pieces of one request, cloneable for retries.
#[derive(Clone, Debug)]
struct Prepared {
    method: reqwest::Method,
    path: String,
    query: Option<String>,
    body: Option<String>,
}

impl From<RequestBuilder> for Prepared {
    fn from(rb: RequestBuilder) -> Self {
        let method = match rb.method {
            StripeMethod::Get => reqwest::Method::GET,
            StripeMethod::Post => reqwest::Method::POST,
            StripeMethod::Delete => reqwest::Method::DELETE,
        };
        Self { method, path: rb.path, query: rb.query, body: rb.body }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(flatten)]
    detail: types::StripeErrorDetail,
    payment_intent: Option<Box<types::PaymentIntentSnapshot>>,
}

#[derive(serde::Serialize)]
struct CreatePaymentIntentForm<'a> {
    amount: i64,
    currency: &'a str,
    customer: &'a str,
    payment_method: &'a str,
    confirm: bool,
    off_session: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    setup_future_usage: Option<&'static str>,
    payment_method_types: [&'a str; 1],
    metadata: BTreeMap<&'static str, String>,
}

/// `POST /v1/refunds`: a refund of a PaymentIntent, with our ids in its metadata.
#[derive(serde::Serialize)]
struct CreateRefundForm<'a> {
    payment_intent: &'a str,
    amount: i64,
    reason: &'static str,
    metadata: BTreeMap<&'static str, String>,
}

#[derive(serde::Serialize)]
struct ListEventsQuery<'a> {
    delivery_success: bool,
    created: BTreeMap<&'static str, i64>,
    limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_after: Option<&'a str>,
}

/// `GET /v1/{refunds,disputes}`: a page of what was created since a time.
#[derive(serde::Serialize)]
struct ListCreatedQuery<'a> {
    created: BTreeMap<&'static str, i64>,
    limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_after: Option<&'a str>,
}

/// `GET /v1/refunds?payment_intent=`: every refund of one payment.
#[derive(serde::Serialize)]
struct RefundsOfQuery<'a> {
    payment_intent: &'a str,
    limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_after: Option<&'a str>,
}

impl StripeGateway {
    /// Builds the adapter.
    ///
    /// # Errors
    /// The HTTP client cannot be built (TLS roots).
    pub fn new(config: StripeConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("echeancier/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let limiter = RateLimiter::new(config.rate_limit_per_sec);
        Ok(Self { http, config, limiter })
    }

    /// Sends one logical call: rate-limited, retried on transient failures with the same key.
    #[tracing::instrument(skip_all, fields(stripe.endpoint = endpoint))]
    async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        request: impl Into<Prepared>,
        key: Option<&IdempotencyKey>,
    ) -> Result<T, GatewayError> {
        let request = request.into();
        let mut tries = 0;
        loop {
            tries += 1;
            if let Err(full) = self.limiter.acquire(endpoint).await {
                // Nothing was sent: the same as Stripe's own 429, and said at once.
                tracing::warn!(error = %full, "Stripe rate-limit queue full");
                return Err(GatewayError::Transient { kind: TransientKind::RateLimited });
            }
            match self.send_once::<T>(&request, key).await {
                Err(GatewayError::Transient { kind }) if tries < self.config.max_tries => {
                    let delay = backoff(tries, &kind);
                    tracing::warn!(
                        ?kind,
                        tries,
                        delay_ms = delay.as_millis() as u64,
                        "transient Stripe failure, retrying with the same key"
                    );
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        request: &Prepared,
        key: Option<&IdempotencyKey>,
    ) -> Result<T, GatewayError> {
        let base = self.config.api_base.as_str().trim_end_matches('/');
        let mut url = format!("{base}/v1{}", request.path);
        if let Some(q) = request.query.as_deref().filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(q);
        }
        let mut http = self
            .http
            .request(request.method.clone(), url)
            .bearer_auth(self.config.secret_key.expose_secret())
            .header("Stripe-Version", stripe_shared::version::VERSION.as_str());
        if let Some(key) = key {
            http = http.header("Idempotency-Key", key.as_str());
        }
        if let Some(body) = &request.body {
            http = http.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(body.clone());
        }
        let response = http.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport_error)?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| GatewayError::Decode(e.to_string()));
        }
        Err(classify(status, &bytes))
    }
}

fn transport_error(e: reqwest::Error) -> GatewayError {
    let kind = if e.is_timeout() { TransientKind::Timeout } else { TransientKind::Connection };
    tracing::warn!(error = %e, "Stripe transport error");
    GatewayError::Transient { kind }
}

/// Maps a non-2xx answer to what it means for the caller.
fn classify(status: u16, body: &[u8]) -> GatewayError {
    let parsed: Option<ErrorObject> = serde_json::from_slice::<ErrorBody>(body).ok().map(|b| b.error);
    let (detail, payment_intent) = parsed.map(|e| (e.detail, e.payment_intent)).unwrap_or_default();
    match status {
        402 => GatewayError::Card { detail, payment_intent },
        409 if detail.code.as_deref() == Some("idempotency_key_in_use") => {
            GatewayError::Transient { kind: TransientKind::InFlight }
        }
        429 => GatewayError::Transient { kind: TransientKind::RateLimited },
        500..=599 => GatewayError::Transient { kind: TransientKind::Server(status) },
        _ => GatewayError::Rejected { status, detail, payment_intent },
    }
}

fn backoff(tries: u32, kind: &TransientKind) -> Duration {
    let base_ms: u64 = match kind {
        TransientKind::RateLimited | TransientKind::InFlight => 500,
        TransientKind::Timeout | TransientKind::Connection | TransientKind::Server(_) => 250,
    };
    let exp = base_ms.saturating_mul(1 << tries.saturating_sub(1).min(6));
    let jitter = rand::thread_rng().gen_range(0..=exp / 2);
    Duration::from_millis(exp + jitter)
}

fn derived(key: &IdempotencyKey, suffix: &str) -> Result<IdempotencyKey, GatewayError> {
    key.derived(suffix).map_err(|e| GatewayError::Rejected {
        status: 0,
        detail: types::StripeErrorDetail { message: Some(e.to_string()), ..types::StripeErrorDetail::default() },
        payment_intent: None,
    })
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn create_customer(
        &self,
        email: &str,
        name: &str,
        user_id: UserId,
        key: &IdempotencyKey,
    ) -> Result<String, GatewayError> {
        let req = stripe_core::customer::CreateCustomer::new()
            .email(email)
            .name(name)
            .metadata(HashMap::from([("user_id".to_owned(), user_id.to_string())]));
        let customer: IdOnly = self.call("customers.create", req.build(), Some(key)).await?;
        Ok(customer.id)
    }

    async fn create_setup_intent(
        &self,
        customer: &str,
        key: &IdempotencyKey,
    ) -> Result<types::SetupIntentSnapshot, GatewayError> {
        let req = stripe_core::setup_intent::CreateSetupIntent::new()
            .customer(customer)
            .usage(stripe_core::setup_intent::CreateSetupIntentUsage::OffSession);
        self.call("setup_intents.create", req.build(), Some(key)).await
    }

    async fn retrieve_setup_intent(&self, id: &str) -> Result<types::SetupIntentSnapshot, GatewayError> {
        let req = stripe_core::setup_intent::RetrieveSetupIntent::new(id);
        self.call("setup_intents.retrieve", req.build(), None).await
    }

    async fn retrieve_payment_method(&self, id: &str) -> Result<types::PaymentMethodSnapshot, GatewayError> {
        let req = stripe_payment::payment_method::RetrievePaymentMethod::new(id);
        self.call("payment_methods.retrieve", req.build(), None).await
    }

    async fn attach_payment_method(
        &self,
        id: &str,
        customer: &str,
        key: &IdempotencyKey,
    ) -> Result<types::PaymentMethodSnapshot, GatewayError> {
        let req = stripe_payment::payment_method::AttachPaymentMethod::new(id).customer(customer);
        self.call("payment_methods.attach", req.build(), Some(key)).await
    }

    async fn charge_saved_card(
        &self,
        charge: &SavedCardCharge,
        key: &IdempotencyKey,
    ) -> Result<types::PaymentIntentSnapshot, GatewayError> {
        // The typed builder has no `payment_method_types`; without it, recent API
        // versions enable automatic payment methods, which want a `return_url`.
        let mut form = CreatePaymentIntentForm {
            amount: charge.amount.minor(),
            currency: charge.currency.code(),
            customer: &charge.customer,
            payment_method: &charge.payment_method,
            confirm: true,
            off_session: !charge.customer_present,
            setup_future_usage: charge.saves_card.then_some("off_session"),
            payment_method_types: ["card"],
            metadata: BTreeMap::from([
                ("echeance_id", charge.echeance_id.to_string()),
                ("attempt", charge.attempt.to_string()),
                ("installation", charge.installation.clone()),
            ]),
        };
        if charge.epoch > 1 {
            form.metadata.insert("epoch", charge.epoch.to_string());
        }
        let req = RequestBuilder::new(StripeMethod::Post, "/payment_intents").form(&form);
        self.call("payment_intents.create", req, Some(key)).await
    }

    async fn retrieve_payment_intent(&self, id: &str) -> Result<types::PaymentIntentSnapshot, GatewayError> {
        let req = stripe_core::payment_intent::RetrievePaymentIntent::new(id);
        self.call("payment_intents.retrieve", req.build(), None).await
    }

    async fn list_payment_intents(
        &self,
        created: types::CreatedRange,
        customer: Option<&str>,
        starting_after: Option<&str>,
    ) -> Result<types::Page<types::PaymentIntentSnapshot>, GatewayError> {
        let bounds = stripe_types::RangeBoundsTs { gte: Some(created.gte), lt: created.lt, ..Default::default() };
        let mut req = stripe_core::payment_intent::ListPaymentIntent::new()
            .created(stripe_types::RangeQueryTs::Bounds(bounds))
            .limit(100_i64);
        if let Some(customer) = customer {
            req = req.customer(customer);
        }
        if let Some(after) = starting_after {
            req = req.starting_after(after);
        }
        self.call("payment_intents.list", req.build(), None).await
    }

    async fn rearm_payment_intent(
        &self,
        id: &str,
        payment_method: &str,
        key: &IdempotencyKey,
    ) -> Result<types::PaymentIntentSnapshot, GatewayError> {
        let update = stripe_core::payment_intent::UpdatePaymentIntent::new(id).payment_method(payment_method);
        let _: IdOnly = self.call("payment_intents.update", update.build(), Some(&derived(key, "pm")?)).await?;
        let confirm = stripe_core::payment_intent::ConfirmPaymentIntent::new(id);
        self.call("payment_intents.confirm", confirm.build(), Some(&derived(key, "confirm")?)).await
    }

    async fn cancel_payment_intent(
        &self,
        id: &str,
        key: &IdempotencyKey,
    ) -> Result<types::PaymentIntentSnapshot, GatewayError> {
        let req = stripe_core::payment_intent::CancelPaymentIntent::new(id);
        self.call("payment_intents.cancel", req.build(), Some(key)).await
    }

    async fn create_refund(
        &self,
        refund: &RefundRequest,
        key: &IdempotencyKey,
    ) -> Result<types::RefundSnapshot, GatewayError> {
        let form = CreateRefundForm {
            payment_intent: &refund.payment_intent,
            amount: refund.amount.minor(),
            reason: refund.reason.as_str(),
            metadata: BTreeMap::from([
                ("echeance_id", refund.echeance_id.to_string()),
                ("refund", refund.seq.to_string()),
                ("installation", refund.installation.clone()),
            ]),
        };
        let req = RequestBuilder::new(StripeMethod::Post, "/refunds").form(&form);
        self.call("refunds.create", req, Some(key)).await
    }

    async fn retrieve_charge(&self, id: &str) -> Result<types::ChargeSnapshot, GatewayError> {
        let req = RequestBuilder::new(StripeMethod::Get, format!("/charges/{id}"));
        self.call("charges.retrieve", req, None).await
    }

    async fn retrieve_refund(&self, id: &str) -> Result<types::RefundSnapshot, GatewayError> {
        let req = RequestBuilder::new(StripeMethod::Get, format!("/refunds/{id}"));
        self.call("refunds.retrieve", req, None).await
    }

    async fn list_refunds(
        &self,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> Result<types::Page<types::RefundSnapshot>, GatewayError> {
        let query = ListCreatedQuery { created: BTreeMap::from([("gte", created_gte)]), limit: 100, starting_after };
        let req = RequestBuilder::new(StripeMethod::Get, "/refunds").query(&query);
        self.call("refunds.list", req, None).await
    }

    async fn list_refunds_of(
        &self,
        payment_intent: &str,
        starting_after: Option<&str>,
    ) -> Result<types::Page<types::RefundSnapshot>, GatewayError> {
        let query = RefundsOfQuery { payment_intent, limit: 100, starting_after };
        let req = RequestBuilder::new(StripeMethod::Get, "/refunds").query(&query);
        self.call("refunds.list", req, None).await
    }

    async fn list_disputes(
        &self,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> Result<types::Page<types::DisputeSnapshot>, GatewayError> {
        let query = ListCreatedQuery { created: BTreeMap::from([("gte", created_gte)]), limit: 100, starting_after };
        let req = RequestBuilder::new(StripeMethod::Get, "/disputes").query(&query);
        self.call("disputes.list", req, None).await
    }

    async fn list_undelivered_events(
        &self,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> Result<types::Page<types::EventEnvelope>, GatewayError> {
        let query = ListEventsQuery {
            delivery_success: false,
            created: BTreeMap::from([("gte", created_gte)]),
            limit: 100,
            starting_after,
        };
        let req = RequestBuilder::new(StripeMethod::Get, "/events").query(&query);
        self.call("events.list", req, None).await
    }

    async fn retrieve_checkout_session(&self, id: &str) -> Result<types::CheckoutSessionSnapshot, GatewayError> {
        let req = RequestBuilder::new(StripeMethod::Get, format!("/checkout/sessions/{id}"));
        self.call("checkout_sessions.retrieve", req, None).await
    }

    async fn expire_checkout_session(
        &self,
        id: &str,
        key: &IdempotencyKey,
    ) -> Result<types::CheckoutSessionSnapshot, GatewayError> {
        let req = RequestBuilder::new(StripeMethod::Post, format!("/checkout/sessions/{id}/expire"));
        self.call("checkout_sessions.expire", req, Some(key)).await
    }

    async fn delete_customer(&self, id: &str) -> Result<(), GatewayError> {
        let req = RequestBuilder::new(StripeMethod::Delete, format!("/customers/{id}"));
        let _: serde_json::Value = self.call("customers.delete", req, None).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), GatewayError> {
        let req = RequestBuilder::new(StripeMethod::Get, "/balance");
        let _: serde_json::Value = self.call("balance.retrieve", req, None).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_402_keeps_the_payment_intent_and_codes() {
        let body = br#"{"error":{"type":"card_error","code":"authentication_required","payment_intent":{"id":"pi_1","status":"requires_payment_method","amount":500,"currency":"eur","client_secret":"pi_1_secret"}}}"#;
        match classify(402, body) {
            GatewayError::Card { detail, payment_intent } => {
                assert_eq!(detail.code.as_deref(), Some("authentication_required"));
                assert_eq!(payment_intent.map(|p| p.id), Some("pi_1".to_owned()));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_402_carrying_a_real_stripe_payment_intent_keeps_it() {
        let pi: serde_json::Value =
            serde_json::from_str(include_str!("fixtures/payment_intent.json")).expect("fixture");
        let body = serde_json::json!({"error": {"type": "card_error", "code": "authentication_required",
            "decline_code": "authentication_required", "message": "Authentication required.",
            "doc_url": "https://stripe.com/docs/error-codes/authentication-required", "payment_intent": pi}});
        match classify(402, body.to_string().as_bytes()) {
            GatewayError::Card { detail, payment_intent } => {
                assert_eq!(detail.code.as_deref(), Some("authentication_required"));
                assert_eq!(payment_intent.map(|p| p.id), Some("pi_1PgafyB7WZ01zgkWSjxsAJo3".to_owned()));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_400_carrying_a_real_stripe_payment_intent_keeps_it() {
        // Stripe's error object carries the PaymentIntent on any error of a request involving one.
        let pi: serde_json::Value =
            serde_json::from_str(include_str!("fixtures/payment_intent.json")).expect("fixture");
        let body = serde_json::json!({"error": {"type": "invalid_request_error",
            "code": "payment_intent_unexpected_state", "message": "This PaymentIntent's state is unexpected.",
            "payment_intent": pi}});
        match classify(400, body.to_string().as_bytes()) {
            GatewayError::Rejected { status: 400, detail, payment_intent } => {
                assert_eq!(detail.kind.as_deref(), Some("invalid_request_error"));
                assert_eq!(payment_intent.map(|p| p.id), Some("pi_1PgafyB7WZ01zgkWSjxsAJo3".to_owned()));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn throttling_conflicts_and_server_errors_are_transient_others_are_not() {
        assert!(classify(429, b"{}").outcome_unknown());
        assert!(classify(500, b"<html>").outcome_unknown());
        assert!(
            classify(409, br#"{"error":{"type":"idempotency_error","code":"idempotency_key_in_use"}}"#)
                .outcome_unknown()
        );
        assert!(!classify(400, br#"{"error":{"type":"idempotency_error"}}"#).outcome_unknown());
        assert!(matches!(classify(404, b"{}"), GatewayError::Rejected { status: 404, .. }));
        assert!(classify(404, b"{}").unknown_object());
        // Gone for good only when Stripe says so in its words (a proxy's bare 404 is not Stripe's).
        assert!(!classify(404, b"{}").resource_missing());
        let gone = br#"{"error":{"type":"invalid_request_error","code":"resource_missing","param":"intent"}}"#;
        assert!(classify(404, gone).resource_missing());
        let missing = br#"{"error":{"type":"invalid_request_error","code":"resource_missing","param":"customer"}}"#;
        assert!(classify(400, missing).unknown_object(), "real Stripe names a missing parameter object with a 400");
        assert!(!classify(400, br#"{"error":{"type":"invalid_request_error"}}"#).unknown_object());
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let first = backoff(1, &TransientKind::Timeout);
        let third = backoff(3, &TransientKind::Timeout);
        assert!(first <= Duration::from_millis(375));
        assert!(third >= Duration::from_millis(1_000));
        assert!(backoff(40, &TransientKind::RateLimited) <= Duration::from_secs(48));
    }
}
