//! A layer in front of localstripe that adds what Stripe documents and the
//! peer lacks (`../shared/STRIPE.md`), so the product is tested against
//! Stripe's behaviour, never a simulator quirk:
//!
//! - idempotent replay of the first answer for a key (errors included), 400
//!   `idempotency_error` for a reused key with other parameters, 409
//!   `idempotency_key_in_use` while the first request runs; validation
//!   failures (4xx before execution) are not saved; keys can be pruned;
//! - list filters on `GET /v1/refunds` (`created[…]`, each naming its
//!   PaymentIntent) and `delivery_success` on `GET /v1/events` (the peer's own
//!   process, `scripts/stripe_peer.py`, filters PaymentIntents by `customer`
//!   and `created`, newest first);
//! - the card updater and detached cards (kept by the peer, which sends their events);
//! - disputes (`GET /v1/disputes`): opened and closed by the test, kept and listed
//!   here, their events signed and sent like the peer's (and listed with them);
//!   refund failures (kept by the peer, `scripts/stripe_peer.py`, which sends their events);
//! - test and live kept apart: an object made through the layer with a test key is, for a live
//!   key, `resource_missing` ("No such customer: 'cus_…'; a similar object exists in test mode,
//!   but a live mode key was used to make this request"), 404 when the path names it, 400 when a
//!   parameter does; and the reverse;
//! - a decline as Stripe answers it: the 402 carries the PaymentIntent;
//! - the off-session SCA demand as Stripe answers it: HTTP 402
//!   `authentication_required` carrying the PaymentIntent, which every later
//!   read (by id or in a list) shows as Stripe keeps it: `requires_payment_method`
//!   with that `last_payment_error`, until Stripe.js confirms it in the page
//!   (the peer's `_authenticate`), the server confirms it or cancels it;
//! - `GET /v1/checkout/sessions/{id}` and `POST …/expire` on sessions the test declares;
//! - faults on demand: 429 bursts, 5xx before or after execution, responses
//!   cut after the upstream succeeded, answers held back, requests that reach
//!   Stripe after the caller gave up on them;
//! - webhook delivery with its own outcome per event: forwarded, dropped
//!   (later listed as undelivered), or held and released shuffled and repeated.
//!
//! It also counts the calls the product makes, per endpoint.

use app::domain::KeyMode;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

use super::stripe_semantics::{
    Begin, IdempotencyKeys, created_filter, endpoint_of, fingerprint, page_of, rate_limited, stripe_error,
};

/// What to do to the next matching request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Forward, keep the answer for its key, then cut the response off (a lost response).
    DropResponse,
    /// Answer 429 without forwarding.
    RateLimited,
    /// Answer 500 without forwarding (Stripe never started; nothing saved).
    Unavailable,
    /// Answer 403 without forwarding, as Stripe answers a restricted key that lacks the
    /// permission (nothing done).
    Forbidden,
    /// Forward, then answer 500 and save that 500 for the key (Stripe failed mid-way).
    ErrorAfterExecution,
    /// Answer 500 and save that 500 for the key without forwarding (Stripe began, then failed
    /// before it did anything: the key replays the 500 for a day, nothing was done).
    ErrorBeforeExecution,
    /// Forward, notify, then never answer.
    HoldAfterUpstream(Arc<Notify>),
    /// Wait this long before handling the request.
    Delay(std::time::Duration),
    /// Cut the connection at once (the caller sees a lost request), and let the
    /// request reach Stripe this much later, when the caller has given up on it.
    ArriveLate(std::time::Duration),
    /// Forward a PaymentIntent's creation, then answer 400 `invalid_request_error` carrying
    /// the PaymentIntent as it stands (a refusal at its confirmation), saved for the key.
    RejectCarryingIntent,
    /// Forward a PaymentIntent's creation without its confirmation (the PaymentIntent exists,
    /// `requires_confirmation`), then answer 400 `invalid_request_error` carrying it, saved for the key.
    RejectAtConfirmation,
    /// The request's PaymentIntent starts processing just before it (the customer's page
    /// confirmed it again meanwhile), as [`StripeLayer::set_processing`] shows it.
    StartsProcessing,
}

/// Faults drawn at random for every request (the chaos run), from a seed so a run can be replayed.
#[derive(Clone, Copy, Debug)]
pub struct Chaos {
    /// The seed of the draws.
    pub seed: u64,
    /// Percent of POSTs whose response is lost after Stripe executed them.
    pub lost_pct: u64,
    /// Percent of POSTs answered 5xx (half before execution, half after it, saved for the key).
    pub error_pct: u64,
    /// Percent of requests that start a burst of 429s (the next 3 to 8 requests).
    pub burst_pct: u64,
}

/// How webhooks from the peer reach the product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Forward each event once, as it comes.
    Forward,
    /// Do not deliver (recorded as a failed delivery).
    Drop,
    /// Keep events for [`StripeLayer::take_held`].
    Hold,
}

struct HeldEvent {
    signature: String,
    body: Bytes,
}

/// Full listings read from the peer, by path, with the generation they were read at.
type Listings = HashMap<String, (u64, Vec<Value>)>;

struct Inner {
    upstream: String,
    http: reqwest::Client,
    keys: IdempotencyKeys,
    faults: Mutex<VecDeque<(String, Fault)>>,
    calls: Mutex<BTreeMap<String, u64>>,
    sent: Mutex<Vec<(String, String)>>,
    /// The `Idempotency-Key` of every mutation, in order.
    keys_sent: Mutex<Vec<String>>,
    sca_as_402: Mutex<bool>,
    /// PaymentIntents whose off-session SCA demand was answered 402: the peer keeps them in
    /// `requires_action`, Stripe in `requires_payment_method`; reads show Stripe's state.
    awaiting_customer: Mutex<HashSet<String>>,
    /// PaymentIntents shown `processing` (a payment the bank has not settled yet): reads say
    /// so, and a cancel or a confirmation is refused, as Stripe refuses them then.
    processing: Mutex<HashSet<String>>,
    webhook_target: Mutex<Option<String>>,
    delivery: Mutex<Delivery>,
    delivered: Mutex<HashMap<String, bool>>,
    /// Event types the peer tried to deliver, in order.
    attempted: Mutex<Vec<String>>,
    held: Mutex<Vec<HeldEvent>>,
    sessions: Mutex<HashMap<String, Value>>,
    disputes: Mutex<Vec<Value>>,
    /// The secret webhooks are signed with (what the peer was given), and the clock that
    /// dates them (the app's: Stripe's clock agrees with the product's).
    signing: Mutex<Option<(String, Arc<dyn app::ssr::clock::Clock>)>>,
    /// Events the layer sent itself (for objects the peer lacks), listed with the peer's.
    events: Mutex<Vec<Value>>,
    chaos: Mutex<Option<(Chaos, u64, u32)>>,
    drawn: Mutex<BTreeMap<&'static str, u64>>,
    /// Bumped by every change sent upstream; with the cache on, a full listing is read again only after one.
    generation: std::sync::atomic::AtomicU64,
    listed: Mutex<Option<Listings>>,
    /// The mode of the key that made each object made through a layer, by id: the peer's, shared
    /// by every layer in front of it ([`modes_of`]).
    modes: Modes,
}

/// Objects' modes by id.
type Modes = Arc<Mutex<HashMap<String, KeyMode>>>;

/// The modes of the objects of the peer at `upstream`, kept for the peer (one Stripe account),
/// not for one layer: an app started later on the same database and peer (another instance, the
/// same installation on other keys) has its own layer, and Stripe still knows which mode made what.
fn modes_of(upstream: &str) -> Modes {
    static BY_PEER: std::sync::LazyLock<Mutex<HashMap<String, Modes>>> = std::sync::LazyLock::new(Mutex::default);
    lock(&BY_PEER).entry(upstream.trim_end_matches('/').to_owned()).or_default().clone()
}

/// The running layer.
pub struct StripeLayer {
    /// Where the product sends its Stripe calls (`STRIPE_API_BASE`).
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StripeLayer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StripeLayer {
    /// Starts in front of the peer at `upstream` (e.g. `http://127.0.0.1:8420`).
    pub async fn start(upstream: &str) -> Self {
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            keys: IdempotencyKeys::default(),
            faults: Mutex::default(),
            calls: Mutex::default(),
            sent: Mutex::default(),
            keys_sent: Mutex::default(),
            sca_as_402: Mutex::new(true),
            awaiting_customer: Mutex::default(),
            processing: Mutex::default(),
            webhook_target: Mutex::default(),
            delivery: Mutex::new(Delivery::Forward),
            delivered: Mutex::default(),
            attempted: Mutex::default(),
            held: Mutex::default(),
            sessions: Mutex::default(),
            disputes: Mutex::default(),
            signing: Mutex::default(),
            events: Mutex::default(),
            chaos: Mutex::default(),
            drawn: Mutex::default(),
            generation: std::sync::atomic::AtomicU64::new(0),
            listed: Mutex::default(),
            modes: modes_of(upstream),
        });
        let router = Router::new().route("/_layer/relay", post(relay)).fallback(any(proxy)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the Stripe layer");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, inner, task }
    }

    /// Object `id`, made on the peer directly (as Stripe.js makes a card), is of `mode`.
    pub fn made_with(&self, id: &str, mode: KeyMode) {
        lock(&self.inner.modes).insert(id.to_owned(), mode);
    }

    /// The URL the peer should deliver webhooks to.
    pub fn relay_url(&self) -> String {
        format!("{}/_layer/relay", self.url)
    }

    /// Where relayed webhooks go (the product's `/stripe/webhook`).
    pub fn set_webhook_target(&self, url: &str) {
        *lock(&self.inner.webhook_target) = Some(url.to_owned());
    }

    /// Whether an off-session SCA demand is answered as Stripe does (402) or as the peer does (200 `requires_action`).
    pub fn set_sca_as_402(&self, yes: bool) {
        *lock(&self.inner.sca_as_402) = yes;
    }

    /// Shows PaymentIntent `id` as `processing` from now on (a payment the customer's page confirmed,
    /// not settled by the bank yet), or, `false`, as the peer has it again.
    pub fn set_processing(&self, id: &str, yes: bool) {
        let mut processing = lock(&self.inner.processing);
        if yes {
            processing.insert(id.to_owned());
        } else {
            processing.remove(id);
        }
    }

    /// Queues a fault for the next request to `endpoint` (`"POST /v1/payment_intents"`).
    pub fn inject(&self, endpoint: &str, fault: Fault) {
        lock(&self.inner.faults).push_back((endpoint.to_owned(), fault));
    }

    /// How webhooks are delivered from now on.
    pub fn set_delivery(&self, delivery: Delivery) {
        *lock(&self.inner.delivery) = delivery;
    }

    /// Takes the held deliveries out (signature header, body), undelivered.
    pub fn take_held(&self) -> Vec<(String, Vec<u8>)> {
        std::mem::take(&mut *lock(&self.inner.held)).into_iter().map(|e| (e.signature, e.body.to_vec())).collect()
    }

    /// Completes (or fails) the 3D Secure of a PaymentIntent the way the customer's
    /// browser does: the peer's Stripe.js `confirmCardPayment`, through this layer.
    pub async fn authenticate(&self, payment_intent: &str, client_secret: &str, success: bool) -> Value {
        let response = self
            .inner
            .http
            .post(format!("{}/v1/payment_intents/{payment_intent}/_authenticate?success={success}", self.url))
            .json(&json!({ "key": super::peer::PUBLISHABLE_KEY, "client_secret": client_secret }))
            .send()
            .await
            .expect("the layer answers");
        response.json().await.expect("JSON")
    }

    /// A change made at Stripe outside the product (the merchant's Dashboard), through this layer.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        super::peer::post_form(&self.inner.http, &self.url, path, form).await
    }

    /// Waits until the peer has tried to deliver an event of `event_type` (whatever became of it).
    ///
    /// # Panics
    /// When it has not within `within`.
    pub async fn wait_for_delivery_attempt(&self, event_type: &str, within: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while !lock(&self.inner.attempted).iter().any(|t| t == event_type) {
            assert!(tokio::time::Instant::now() < deadline, "the peer never tried to deliver {event_type}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Forgets every idempotency key (Stripe prunes keys after at least 24 hours).
    pub fn prune_keys(&self) {
        self.inner.keys.clear();
    }

    /// Declares a legacy Checkout Session the product may look up.
    pub fn put_checkout_session(&self, session: Value) {
        let id = session["id"].as_str().expect("session id").to_owned();
        lock(&self.inner.sessions).insert(id, session);
    }

    /// Draws faults at random from now on (`None`: no more random faults).
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        *lock(&self.inner.chaos) = chaos.map(|c| (c, c.seed.max(1), 0));
    }

    /// Reads a full listing from the peer once per change made through this layer,
    /// not once per page (the chaos run's 10,000 PaymentIntents). Only for a layer
    /// that is the peer's sole client: a change made around it would go unseen.
    pub fn cache_listings(&self) {
        *lock(&self.inner.listed) = Some(HashMap::new());
    }

    /// The faults drawn at random so far, by kind.
    pub fn faults_drawn(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.inner.drawn).clone()
    }

    /// Stripe's card updater gives card `payment_method` a new expiry and last four digits:
    /// the peer keeps them and sends `payment_method.automatically_updated`.
    pub async fn update_card(&self, payment_method: &str, exp_month: u32, exp_year: i32, last4: &str) {
        let url = format!("{}/_config/payment_methods/{payment_method}/update_card", self.inner.upstream);
        let form =
            [("exp_month", exp_month.to_string()), ("exp_year", exp_year.to_string()), ("last4", last4.to_owned())];
        let answer = self.inner.http.post(url).form(&form).send().await.expect("the peer answers");
        assert!(answer.status().is_success(), "the peer updated card {payment_method}: {}", answer.status());
        self.inner.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Signs the events the layer sends with `secret` (the one the peer signs with), dated by `clock`.
    pub fn set_signing(&self, secret: &str, clock: Arc<dyn app::ssr::clock::Clock>) {
        *lock(&self.inner.signing) = Some((secret.to_owned(), clock));
    }

    /// Now, in Unix seconds, on the clock the layer's events are dated by.
    fn now(&self) -> i64 {
        lock(&self.inner.signing).as_ref().map_or_else(|| chrono::Utc::now().timestamp(), |(_, c)| c.now().timestamp())
    }

    /// The cardholder disputes PaymentIntent `payment_intent` (its whole amount, evidence due in a
    /// week): the dispute is kept and listed, and Stripe's `charge.dispute.created` is sent,
    /// signed, through the delivery mode. Returns its id.
    pub async fn open_dispute(&self, payment_intent: &str) -> String {
        let pi = super::peer::get_json(
            &self.inner.http,
            &self.inner.upstream,
            &format!("/v1/payment_intents/{payment_intent}"),
        )
        .await;
        let now = chrono::Utc::now().timestamp();
        let id = format!("dp_layer_{}", lock(&self.inner.disputes).len() + 1);
        let dispute = json!({
            "id": id, "object": "dispute", "payment_intent": payment_intent, "charge": pi["latest_charge"].clone(),
            "amount": pi["amount"].clone(), "currency": pi["currency"].clone(), "reason": "fraudulent",
            "status": "needs_response", "created": now, "livemode": false, "is_charge_refundable": false,
            "evidence_details": { "due_by": now + 7 * 86_400, "has_evidence": false, "past_due": false, "submission_count": 0 },
        });
        self.put_dispute(dispute.clone());
        self.emit("charge.dispute.created", dispute).await;
        id
    }

    /// The merchant's evidence for dispute `id` reached the bank (sent from Stripe's Dashboard):
    /// it is under review, kept so, and `charge.dispute.updated` sent.
    pub async fn review_dispute(&self, id: &str) {
        let dispute = {
            let mut disputes = lock(&self.inner.disputes);
            let dispute = disputes.iter_mut().find(|d| d["id"] == id).expect("a dispute the layer opened");
            dispute["status"] = json!("under_review");
            dispute["evidence_details"]["has_evidence"] = json!(true);
            dispute["evidence_details"]["submission_count"] = json!(1);
            dispute.clone()
        };
        self.emit("charge.dispute.updated", dispute).await;
    }

    /// Dispute `id` is decided, won or lost: kept so, and `charge.dispute.closed` sent.
    pub async fn close_dispute(&self, id: &str, won: bool) {
        let dispute = {
            let mut disputes = lock(&self.inner.disputes);
            let dispute = disputes.iter_mut().find(|d| d["id"] == id).expect("a dispute the layer opened");
            dispute["status"] = json!(if won { "won" } else { "lost" });
            dispute["evidence_details"]["due_by"] = Value::Null;
            dispute.clone()
        };
        self.emit("charge.dispute.closed", dispute).await;
    }

    /// Sends an event about an object the layer keeps, signed as the peer signs its own,
    /// through the delivery mode, and lists it with the peer's events.
    async fn emit(&self, event_type: &str, object: Value) {
        let secret = lock(&self.inner.signing).as_ref().map(|(s, _)| s.clone()).expect("the layer's signing secret");
        let now = self.now();
        let id = format!("evt_layer_{}", lock(&self.inner.events).len() + 1);
        let event = json!({ "id": id, "object": "event", "type": event_type, "created": now, "livemode": false,
            "api_version": "2026-09-30", "data": { "object": object } });
        lock(&self.inner.events).push(event.clone());
        let body = Bytes::from(event.to_string());
        let signature = app::ssr::payments::webhook_signature::sign(&secret, now, &body);
        lock(&self.inner.attempted).push(event_type.to_owned());
        let mode = *lock(&self.inner.delivery);
        match mode {
            Delivery::Forward => forward_event(&self.inner, &id, &signature, body).await,
            Delivery::Drop => {
                lock(&self.inner.delivered).insert(id, false);
            }
            Delivery::Hold => lock(&self.inner.held).push(HeldEvent { signature, body }),
        }
    }

    /// Declares (or updates, by id) a dispute the bank opened: the peer has none.
    pub fn put_dispute(&self, dispute: Value) {
        let mut disputes = lock(&self.inner.disputes);
        disputes.retain(|d| d["id"] != dispute["id"]);
        disputes.push(dispute);
    }

    /// Refund `id` failed (the bank could not send the money back): the peer keeps it
    /// failed for every later read and, `with_events`, sends Stripe's `refund.failed`
    /// (`scripts/stripe_peer.py`); without, only a read of the refund can tell.
    pub async fn fail_refund(&self, id: &str, with_events: bool) {
        let events = if with_events { "all" } else { "none" };
        let url = format!("{}/_config/refunds/{id}/fail?events={events}", self.inner.upstream);
        let answer = self.inner.http.post(url).send().await.expect("the peer answers");
        assert!(answer.status().is_success(), "the peer failed refund {id}: {}", answer.status());
        self.inner.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// A declared legacy Checkout Session's status, as Stripe has it now.
    pub fn checkout_session_status(&self, id: &str) -> Option<String> {
        lock(&self.inner.sessions).get(id).and_then(|s| s["status"].as_str().map(str::to_owned))
    }

    /// Calls the product made to `endpoint` so far.
    pub fn calls(&self, endpoint: &str) -> u64 {
        lock(&self.inner.calls).get(endpoint).copied().unwrap_or(0)
    }

    /// The form bodies the product sent to `endpoint`, in order: what was asked of Stripe.
    pub fn sent(&self, endpoint: &str) -> Vec<HashMap<String, String>> {
        lock(&self.inner.sent)
            .iter()
            .filter(|(e, _)| e == endpoint)
            .map(|(_, body)| url::form_urlencoded::parse(body.as_bytes()).into_owned().collect())
            .collect()
    }

    /// The idempotency keys the product sent, in order (a retry sends its key again).
    pub fn keys(&self) -> Vec<String> {
        lock(&self.inner.keys_sent).clone()
    }

    /// Every call the product made so far, by endpoint.
    pub fn all_calls(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.calls).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn proxy(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let endpoint = endpoint_of(&parts.method, &path);
    *lock(&inner.calls).entry(endpoint.clone()).or_default() += 1;
    lock(&inner.sent).push((endpoint.clone(), String::from_utf8_lossy(&body).into_owned()));
    if let Some(key) = parts.headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        lock(&inner.keys_sent).push(key.to_owned());
    }

    let fault = {
        let mut faults = lock(&inner.faults);
        faults.iter().position(|(e, _)| *e == endpoint).and_then(|i| faults.remove(i)).map(|(_, f)| f)
    }
    .or_else(|| {
        let drawn = draw_fault(&inner, &parts.method, &path)?;
        let kind = match drawn {
            Fault::DropResponse => "response lost after execution",
            Fault::Unavailable => "5xx before execution",
            Fault::ErrorAfterExecution => "5xx after execution",
            Fault::RateLimited => "429",
            _ => "other",
        };
        *lock(&inner.drawn).entry(kind).or_default() += 1;
        Some(drawn)
    });
    if let Some(Fault::Delay(pause)) = &fault {
        tokio::time::sleep(*pause).await;
    }
    match &fault {
        Some(Fault::RateLimited) => {
            return rate_limited();
        }
        Some(Fault::Unavailable) => {
            return stripe_error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", None, "Temporary failure.");
        }
        Some(Fault::Forbidden) => {
            let message = "The provided key does not have the required permissions for this endpoint.";
            return stripe_error(StatusCode::FORBIDDEN, "invalid_request_error", None, message);
        }
        _ => {}
    }

    let mode = mode_of_key(&parts.headers);
    if let Some(missing) = of_the_other_mode(&inner, mode, &path, &query, &body) {
        return missing;
    }
    if let (Some(Fault::StartsProcessing), Some(rest)) = (&fault, path.strip_prefix("/v1/payment_intents/")) {
        let id = rest.split('/').next().unwrap_or_default();
        lock(&inner.processing).insert(id.to_owned());
    }
    if let Some(answer) = leave_awaiting_customer(&inner, &parts.method, &path, &parts.headers).await {
        return answer;
    }
    if parts.method == Method::GET && path == "/v1/refunds" {
        return list_refunds(&inner, &parts.headers, &query).await;
    }
    if parts.method == Method::GET && path == "/v1/disputes" {
        let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let created = created_filter(&params);
        let items: Vec<Value> = lock(&inner.disputes).iter().filter(|d| created(d)).cloned().collect();
        return page_of("/v1/disputes", items, &params);
    }
    if parts.method == Method::GET && path == "/v1/events" {
        return list_events(&inner, &parts.headers, &query).await;
    }
    if parts.method == Method::POST
        && let Some(id) = path.strip_prefix("/v1/checkout/sessions/").and_then(|p| p.strip_suffix("/expire"))
    {
        // With its idempotency key, as every POST: replayed, refused, or run and saved (a 5xx after
        // the expiry too).
        let key = parts.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let print = fingerprint(&body);
        if let Some(key) = &key {
            match inner.keys.begin(key, &endpoint, &print) {
                Begin::Execute => {}
                Begin::Replay(status, saved) => {
                    let mut response = json_answer(status, saved);
                    response.headers_mut().insert("idempotent-replayed", "true".parse().expect("header"));
                    return response;
                }
                Begin::Refuse(refusal) => return refusal,
            }
        }
        let (status, saved) = match fault {
            Some(Fault::ErrorBeforeExecution) => (500, failed_midway()),
            Some(Fault::ErrorAfterExecution) => {
                expire_session(&inner, id);
                (500, failed_midway())
            }
            _ => {
                let answer = expire_session(&inner, id);
                let status = answer.status().as_u16();
                (status, axum::body::to_bytes(answer.into_body(), 1 << 20).await.unwrap_or_default())
            }
        };
        if let Some(key) = key {
            inner.keys.finish(key, &endpoint, print, status, &saved);
        }
        return json_answer(status, saved);
    }
    if parts.method == Method::GET
        && let Some(id) = path.strip_prefix("/v1/checkout/sessions/")
    {
        return match lock(&inner.sessions).get(id) {
            Some(session) => axum::Json(session.clone()).into_response(),
            None => stripe_error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("resource_missing"),
                "No such checkout session.",
            ),
        };
    }

    let key = parts.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let call = Call {
        method: parts.method.clone(),
        path: path.clone(),
        query: query.clone(),
        headers: parts.headers.clone(),
        body,
    };
    if let Some(Fault::ArriveLate(later)) = &fault {
        let (inner, later) = (inner.clone(), *later);
        tokio::spawn(async move {
            tokio::time::sleep(later).await;
            let _ = execute(&inner, &call, key, &endpoint, &None).await;
        });
        return cut_response();
    }
    let (status, answer, replayed) = match execute(&inner, &call, key, &endpoint, &fault).await {
        Ok(done) => done,
        Err(refusal) => return refusal,
    };
    if parts.method == Method::POST && (200..300).contains(&status) {
        made_in(&inner, mode, &answer);
    }
    match fault {
        Some(Fault::DropResponse) => cut_response(),
        Some(Fault::HoldAfterUpstream(notify)) => {
            notify.notify_one();
            std::future::pending::<Response>().await
        }
        _ => {
            let answer = if parts.method == Method::GET { as_stripe_keeps_it(&inner, answer) } else { answer };
            let mut response = json_answer(status, answer);
            if replayed {
                response.headers_mut().insert("idempotent-replayed", "true".parse().expect("header"));
            }
            response
        }
    }
}

/// The mode of the request's secret key (`Bearer sk_live_…`, or as the basic auth's user): live
/// for a live key, test for any other, as `KeyMode::of_stripe_key` reads it.
fn mode_of_key(headers: &HeaderMap) -> KeyMode {
    use base64::Engine as _;
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return KeyMode::Test;
    };
    let key = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.to_owned(),
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("basic") => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(token).unwrap_or_default();
            String::from_utf8_lossy(&decoded).split(':').next().unwrap_or_default().to_owned()
        }
        _ => String::new(),
    };
    KeyMode::of_stripe_key(&key)
}

/// Keeps the mode of the object a successful POST answered with (its first, for an object made
/// earlier with the other mode's key is not this request's to change: the request was refused).
fn made_in(inner: &Inner, mode: KeyMode, answer: &[u8]) {
    let Ok(object) = serde_json::from_slice::<Value>(answer) else { return };
    if let Some(id) = object["id"].as_str() {
        lock(&inner.modes).entry(id.to_owned()).or_insert(mode);
    }
}

/// Stripe's answer to a request that names an object of the other mode, in its path (404) or in
/// a parameter (400, naming it): `resource_missing`, nothing done.
fn of_the_other_mode(inner: &Inner, mode: KeyMode, path: &str, query: &str, body: &[u8]) -> Option<Response> {
    let modes = lock(&inner.modes);
    let other = |id: &str| modes.get(id).is_some_and(|made| *made != mode);
    let missing = |status: StatusCode, id: &str, param: Option<&str>| {
        let what = match id.split('_').next().unwrap_or_default() {
            "cus" => "customer",
            "pm" => "PaymentMethod",
            "pi" => "payment_intent",
            "seti" => "setupintent",
            "re" => "refund",
            _ => "object",
        };
        let (made, used) = (mode.other().as_str(), mode.as_str());
        let message = format!(
            "No such {what}: '{id}'; a similar object exists in {made} mode, but a {used} mode key was used to make this request."
        );
        let mut error = json!({ "type": "invalid_request_error", "code": "resource_missing", "message": message });
        if let Some(param) = param {
            error["param"] = json!(param);
        }
        (status, axum::Json(json!({ "error": error }))).into_response()
    };
    if let Some(id) = path.split('/').find(|segment| other(segment)) {
        return Some(missing(StatusCode::NOT_FOUND, id, None));
    }
    let params = url::form_urlencoded::parse(query.as_bytes()).chain(url::form_urlencoded::parse(body));
    for (name, value) in params {
        if other(&value) {
            return Some(missing(StatusCode::BAD_REQUEST, &value, Some(&name)));
        }
    }
    None
}

/// A JSON answer with `status`.
fn json_answer(status: u16, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    response.headers_mut().insert("content-type", "application/json".parse().expect("header"));
    response
}

/// `POST /v1/checkout/sessions/{id}/expire`: only an open session expires.
fn expire_session(inner: &Inner, id: &str) -> Response {
    let mut sessions = lock(&inner.sessions);
    match sessions.get_mut(id) {
        Some(session) if session["status"] == "open" => {
            session["status"] = json!("expired");
            axum::Json(session.clone()).into_response()
        }
        Some(_) => stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            "Only Checkout Sessions with a status in [\"open\"] can be expired.",
        ),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
            "No such checkout session.",
        ),
    }
}

/// A response cut off after its first bytes: the caller sees a lost connection.
fn cut_response() -> Response {
    let cut = futures::stream::iter(vec![
        Ok::<Bytes, std::io::Error>(Bytes::from_static(b"{\"id\":")),
        Err(std::io::Error::other("connection lost")),
    ]);
    let mut response = Response::new(Body::from_stream(cut));
    response.headers_mut().insert("content-type", "application/json".parse().expect("header"));
    response
}

/// A fault drawn for this request when the chaos run is on.
fn draw_fault(inner: &Inner, method: &Method, path: &str) -> Option<Fault> {
    let mut chaos = lock(&inner.chaos);
    let (config, state, burst) = chaos.as_mut()?;
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state % 100
    };
    if *burst > 0 {
        *burst -= 1;
        return Some(Fault::RateLimited);
    }
    if next() < config.burst_pct {
        *burst = u32::try_from(2 + next() % 6).unwrap_or(2);
        return Some(Fault::RateLimited);
    }
    if *method != Method::POST || path.ends_with("/_authenticate") {
        return None;
    }
    let roll = next();
    if roll < config.lost_pct {
        Some(Fault::DropResponse)
    } else if roll < config.lost_pct + config.error_pct {
        Some(if roll % 2 == 0 { Fault::Unavailable } else { Fault::ErrorAfterExecution })
    } else {
        None
    }
}

/// One request to pass upstream.
struct Call {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Call {
    /// A read of `path` with the caller's credentials.
    fn get(path: String, headers: &HeaderMap) -> Self {
        Self { method: Method::GET, path, query: String::new(), headers: headers.clone(), body: Bytes::new() }
    }

    /// The same request without form parameters `names`.
    fn without(&self, names: &[&str]) -> Self {
        let pairs = url::form_urlencoded::parse(&self.body).into_owned().filter(|(k, _)| !names.contains(&k.as_str()));
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        Self {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body: Bytes::from(body),
        }
    }
}

/// Runs a request the way Stripe does with its idempotency key: replay, refuse, or execute and save.
async fn execute(
    inner: &Inner,
    call: &Call,
    key: Option<String>,
    endpoint: &str,
    fault: &Option<Fault>,
) -> Result<(u16, Bytes, bool), Response> {
    let print = fingerprint(&call.body);
    let key = key.filter(|_| call.method == Method::POST);
    if let Some(key) = &key {
        match inner.keys.begin(key, endpoint, &print) {
            Begin::Execute => {}
            Begin::Replay(status, body) => return Ok((status, body, true)),
            Begin::Refuse(refusal) => return Err(refusal),
        }
    }
    if let Some((status, answer)) = refused_while_processing(inner, &call.method, &call.path) {
        if let Some(key) = key {
            inner.keys.save(key, endpoint, print, status, &answer);
        }
        return Ok((status, answer, false));
    }
    if let Some(Fault::ErrorBeforeExecution) = fault {
        let answer = failed_midway();
        if let Some(key) = key {
            inner.keys.finish(key, endpoint, print, 500, &answer);
        }
        return Ok((500, answer, false));
    }
    let unconfirmed;
    let call = match fault {
        Some(Fault::RejectAtConfirmation) => {
            // `off_session` goes with `confirm` (Stripe refuses one without the other).
            unconfirmed = call.without(&["confirm", "off_session"]);
            &unconfirmed
        }
        _ => call,
    };
    let (status, answer) = forward(inner, call).await;
    let (status, answer) = stripe_shape(inner, &call.method, &call.path, &call.body, status, answer);
    let (status, answer) = decline_with_payment_intent(inner, call, status, answer).await;
    let (status, answer) = match fault {
        Some(Fault::ErrorAfterExecution) => (500, failed_midway()),
        Some(Fault::RejectCarryingIntent | Fault::RejectAtConfirmation) => rejected_carrying_intent(status, answer),
        _ => (status, answer),
    };
    if let Some(key) = key {
        inner.keys.finish(key, endpoint, print, status, &answer);
    }
    Ok((status, answer, false))
}

/// The 500 Stripe answers (and saves for the key) when it fails once it began.
fn failed_midway() -> Bytes {
    Bytes::from_static(br#"{"error":{"type":"api_error","message":"An unknown error occurred."}}"#)
}

async fn forward(inner: &Inner, call: &Call) -> (u16, Bytes) {
    if call.method != Method::GET {
        inner.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    let (path, query) = (&call.path, &call.query);
    let url = if query.is_empty() {
        format!("{}{path}", inner.upstream)
    } else {
        format!("{}{path}?{query}", inner.upstream)
    };
    let mut request = inner.http.request(call.method.clone(), url).body(call.body.clone());
    for name in ["authorization", "content-type"] {
        if let Some(v) = call.headers.get(name) {
            request = request.header(name, v.clone());
        }
    }
    let answer = match request.send().await {
        Ok(r) => (r.status().as_u16(), r.bytes().await.unwrap_or_default()),
        Err(_) => (502, Bytes::from_static(br#"{"error":{"type":"api_error","message":"peer unreachable"}}"#)),
    };
    if call.method != Method::GET {
        // Again once done: a listing read while the change ran must not be kept.
        inner.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    answer
}

/// Off-session SCA as Stripe answers it: 402 `authentication_required` with the PaymentIntent.
fn stripe_shape(
    inner: &Inner,
    method: &Method,
    path: &str,
    request: &[u8],
    status: u16,
    answer: Bytes,
) -> (u16, Bytes) {
    if !(*method == Method::POST && path == "/v1/payment_intents" && status == 200 && *lock(&inner.sca_as_402)) {
        return (status, answer);
    }
    let off_session = url::form_urlencoded::parse(request).any(|(k, v)| k == "off_session" && v == "true");
    let Ok(mut pi) = serde_json::from_slice::<Value>(&answer) else {
        return (status, answer);
    };
    if !(off_session && pi["status"] == "requires_action") {
        return (status, answer);
    }
    let error = authentication_required();
    if let Some(id) = pi["id"].as_str() {
        lock(&inner.awaiting_customer).insert(id.to_owned());
    }
    awaiting_customer(&mut pi);
    let mut body = error;
    body["payment_intent"] = pi;
    (402, Bytes::from(json!({ "error": body }).to_string()))
}

/// The error Stripe leaves on a PaymentIntent whose off-session charge the bank refused without 3DS.
fn authentication_required() -> Value {
    json!({ "type": "card_error", "code": "authentication_required", "decline_code": "authentication_required",
        "message": "Your card was declined. This transaction requires authentication." })
}

/// A PaymentIntent as Stripe keeps it after an off-session SCA demand.
fn awaiting_customer(pi: &mut Value) {
    pi["status"] = json!("requires_payment_method");
    pi["next_action"] = Value::Null;
    pi["last_payment_error"] = authentication_required();
}

/// A cancel or a confirmation of a PaymentIntent shown `processing`: refused, as Stripe refuses
/// them (once it has started on the request: the refusal is saved for its key).
fn refused_while_processing(inner: &Inner, method: &Method, path: &str) -> Option<(u16, Bytes)> {
    let (id, action) = path.strip_prefix("/v1/payment_intents/")?.split_once('/')?;
    if *method != Method::POST || !matches!(action, "cancel" | "confirm") || !lock(&inner.processing).contains(id) {
        return None;
    }
    let message = format!("You cannot {action} this PaymentIntent because it has a status of processing.");
    let error = json!({ "error": { "type": "invalid_request_error", "code": "payment_intent_unexpected_state",
        "message": message } });
    Some((400, Bytes::from(error.to_string())))
}

/// A read (one PaymentIntent or a list) with the PaymentIntents awaiting the customer, or
/// shown processing, as Stripe keeps them.
fn as_stripe_keeps_it(inner: &Inner, answer: Bytes) -> Bytes {
    let waiting = lock(&inner.awaiting_customer).clone();
    let processing = lock(&inner.processing).clone();
    if waiting.is_empty() && processing.is_empty() {
        return answer;
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&answer) else { return answer };
    let mut changed = false;
    let mut fix = |pi: &mut Value| {
        let id = pi["id"].as_str().unwrap_or_default().to_owned();
        if pi["object"] == "payment_intent" && processing.contains(&id) {
            pi["status"] = json!("processing");
            pi["next_action"] = Value::Null;
            pi["last_payment_error"] = Value::Null;
            changed = true;
        } else if pi["object"] == "payment_intent" && waiting.contains(&id) {
            awaiting_customer(pi);
            changed = true;
        }
    };
    match body["data"].as_array_mut() {
        Some(items) => items.iter_mut().for_each(&mut fix),
        None => fix(&mut body),
    }
    if changed { Bytes::from(body.to_string()) } else { answer }
}

/// What ends the wait on the customer, as Stripe would: Stripe.js confirming in
/// the page (the peer's `_authenticate`: forwarded), a cancel (forwarded), or
/// the server confirming again (Stripe asks for 3DS: `requires_action`, which
/// is the peer's own state, so it is read rather than confirmed twice).
async fn leave_awaiting_customer(inner: &Inner, method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
    if *method != Method::POST {
        return None;
    }
    let rest = path.strip_prefix("/v1/payment_intents/")?;
    let (id, action) = rest.split_once('/')?;
    // Processing: refused as Stripe refuses it (in `execute`, saved for the key).
    if lock(&inner.processing).contains(id) {
        return None;
    }
    if !matches!(action, "_authenticate" | "cancel" | "confirm") || !lock(&inner.awaiting_customer).remove(id) {
        return None;
    }
    if action != "confirm" {
        return None;
    }
    let read = Call::get(format!("/v1/payment_intents/{id}"), headers);
    let (status, body) = forward(inner, &read).await;
    Some(json_answer(status, body))
}

/// A decline as Stripe answers it: the 402 `card_error` carries the PaymentIntent
/// it left in `requires_payment_method` (the peer's carries only the charge id).
async fn decline_with_payment_intent(inner: &Inner, call: &Call, status: u16, answer: Bytes) -> (u16, Bytes) {
    if !(call.method == Method::POST && call.path == "/v1/payment_intents" && status == 402) {
        return (status, answer);
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&answer) else { return (status, answer) };
    let charge = body["error"]["charge"].as_str().map(str::to_owned);
    let (Some(charge), true) = (charge, body["error"]["payment_intent"].is_null()) else { return (status, answer) };
    let get = |path: String| {
        let mut request = inner.http.get(format!("{}{path}", inner.upstream));
        if let Some(v) = call.headers.get("authorization") {
            request = request.header("authorization", v.clone());
        }
        async move { request.send().await.ok()?.json::<Value>().await.ok() }
    };
    let Some(pi_id) =
        get(format!("/v1/charges/{charge}")).await.and_then(|c| c["payment_intent"].as_str().map(str::to_owned))
    else {
        return (status, answer);
    };
    let Some(pi) = get(format!("/v1/payment_intents/{pi_id}")).await else { return (status, answer) };
    body["error"]["payment_intent"] = pi;
    (status, Bytes::from(body.to_string()))
}

/// A 400 `invalid_request_error` carrying the PaymentIntent of a creation's answer (its body on a
/// 200, the error's on a 402); the answer unchanged when it holds none.
fn rejected_carrying_intent(status: u16, answer: Bytes) -> (u16, Bytes) {
    let Ok(body) = serde_json::from_slice::<Value>(&answer) else { return (status, answer) };
    let pi = if status == 200 { body } else { body["error"]["payment_intent"].clone() };
    if pi["object"] != "payment_intent" {
        return (status, answer);
    }
    let error = json!({ "error": { "type": "invalid_request_error", "code": "payment_intent_unexpected_state",
        "message": "This PaymentIntent could not be confirmed.", "payment_intent": pi } });
    (400, Bytes::from(error.to_string()))
}

/// Every object of an upstream list, following its cursor.
async fn upstream_all(inner: &Inner, headers: &HeaderMap, path: &str, extra: &str) -> Vec<Value> {
    // A paged listing asks for every page: the peer is read once per change, not once per page.
    let key = format!("{path}?{extra}");
    let generation = inner.generation.load(std::sync::atomic::Ordering::SeqCst);
    if let Some((seen, items)) = lock(&inner.listed).as_ref().and_then(|cache| cache.get(&key))
        && *seen == generation
    {
        return items.clone();
    }
    let all = upstream_pages(inner, headers, path, extra).await;
    if let Some(cache) = lock(&inner.listed).as_mut() {
        cache.insert(key, (generation, all.clone()));
    }
    all
}

async fn upstream_pages(inner: &Inner, headers: &HeaderMap, path: &str, extra: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        // The peer serves a page of any size, and scans its whole store for each page:
        // one page for everything, not one scan per hundred objects.
        let mut query = format!("limit=1000000{extra}");
        if let Some(a) = &after {
            query.push_str(&format!("&starting_after={a}"));
        }
        let call = Call { query, ..Call::get(path.to_owned(), headers) };
        let (status, body) = forward(inner, &call).await;
        let page: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let data = page["data"].as_array().cloned().unwrap_or_default();
        if status != 200 || data.is_empty() {
            return all;
        }
        after = data.last().and_then(|o| o["id"].as_str()).map(str::to_owned);
        all.extend(data);
        if page["has_more"] != true {
            return all;
        }
    }
}

/// Refunds as Stripe lists them: filtered by `created` and `payment_intent`, each naming its PaymentIntent
/// (the peer leaves it empty for a refund made on the charge).
async fn list_refunds(inner: &Inner, headers: &HeaderMap, query: &str) -> Response {
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let created = created_filter(&params);
    let mut items = Vec::new();
    for mut refund in upstream_all(inner, headers, "/v1/refunds", "").await.into_iter().filter(|r| created(r)) {
        if refund["payment_intent"].is_null()
            && let Some(charge) = refund["charge"].as_str()
        {
            let read = Call::get(format!("/v1/charges/{charge}"), headers);
            let (_, body) = forward(inner, &read).await;
            refund["payment_intent"] =
                serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)["payment_intent"].clone();
        }
        if params.get("payment_intent").is_some_and(|pi| refund["payment_intent"] != pi.as_str()) {
            continue;
        }
        items.push(refund);
    }
    page_of("/v1/refunds", items, &params)
}

async fn list_events(inner: &Inner, headers: &HeaderMap, query: &str) -> Response {
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let wanted = params.get("delivery_success").map(|v| v == "true");
    let created = created_filter(&params);
    let delivered = lock(&inner.delivered).clone();
    let mut all = upstream_all(inner, headers, "/v1/events", "").await;
    all.extend(lock(&inner.events).iter().cloned());
    all.sort_by_key(|e| std::cmp::Reverse(e["created"].as_i64().unwrap_or(0)));
    let items: Vec<Value> = all
        .into_iter()
        .filter(|e| created(e))
        .filter(|e| match wanted {
            None => true,
            Some(w) => e["id"].as_str().and_then(|id| delivered.get(id)).is_some_and(|ok| *ok == w),
        })
        .collect();
    page_of("/v1/events", items, &params)
}

/// Webhooks from the peer: forwarded, dropped or held, per the delivery mode.
async fn relay(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let event = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    lock(&inner.attempted).push(event["type"].as_str().unwrap_or_default().to_owned());
    let mode = *lock(&inner.delivery);
    match mode {
        Delivery::Forward => {
            forward_event(&inner, &id, &signature, body).await;
        }
        Delivery::Drop => {
            lock(&inner.delivered).insert(id, false);
        }
        Delivery::Hold => lock(&inner.held).push(HeldEvent { signature, body }),
    }
    StatusCode::OK
}

async fn forward_event(inner: &Inner, id: &str, signature: &str, body: Bytes) {
    let target = lock(&inner.webhook_target).clone();
    let ok = match target {
        Some(url) => inner
            .http
            .post(url)
            .header("stripe-signature", signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success()),
        None => false,
    };
    let mut delivered = lock(&inner.delivered);
    let entry = delivered.entry(id.to_owned()).or_insert(ok);
    *entry |= ok;
}

/// A deterministic shuffle (xorshift), so a failing order can be replayed.
pub fn shuffle_in_place<T>(items: &mut [T], seed: u64) {
    let mut x = seed.max(1);
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let j = usize::try_from(x % (i as u64 + 1)).unwrap_or(0);
        items.swap(i, j);
    }
}
