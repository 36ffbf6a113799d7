//! A Stripe-shaped simulator, fast enough never to be the bottleneck of a
//! bench: PaymentIntents (create with confirm, retrieve, list with `created`
//! filters and cursors, cancel), Events (list, with `delivery_success`),
//! Stripe's error shapes and idempotency keys (the code the test layer runs,
//! `tests/api/helpers/stripe_semantics.rs`), a round-trip latency added to
//! every answer, and Stripe's rate limits (per endpoint, and for the account)
//! answered with real 429s. It sends no webhooks: a bench sends the events it
//! measures itself.
//!
//! Everything lives in memory. A bench seeds it directly ([`Simulator::seed`])
//! and reads what it was asked ([`Simulator::calls`]).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::any;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::stripe_semantics::{
    Begin, CreatedBounds, IdempotencyKeys, endpoint_of, fingerprint, list_limit, list_response, page_of, rate_limited,
    stripe_error,
};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How the simulator behaves.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Added to every answer (Stripe's round trip from a European server: ~50 ms).
    pub latency: Duration,
    /// Requests a second per endpoint before 429s (Stripe's default: 25); `None`: no limit.
    pub per_endpoint: Option<u32>,
    /// Requests a second for the whole account (Stripe, live mode: 100); `None`: no limit.
    pub per_account: Option<u32>,
}

/// Stripe's rate limits: a token bucket per key (an endpoint, or the account), `per_second`
/// tokens a second, as many at most (a second's worth of burst).
struct EndpointLimits {
    per_second: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl EndpointLimits {
    fn new(per_second: u32) -> Self {
        Self { per_second: f64::from(per_second.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `endpoint`; `false`: answer 429.
    fn admit(&self, endpoint: &str) -> bool {
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        let (tokens, at) = buckets.entry(endpoint.to_owned()).or_insert((self.per_second, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.per_second);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// PaymentIntents by id, and their ids in Stripe's list order (oldest first here;
/// lists read it backwards).
#[derive(Default)]
struct PaymentIntents {
    by_id: HashMap<String, Value>,
    order: Vec<(i64, String)>,
    position: HashMap<String, usize>,
}

impl PaymentIntents {
    fn insert(&mut self, pi: Value) {
        let id = pi["id"].as_str().unwrap_or_default().to_owned();
        let created = pi["created"].as_i64().unwrap_or(0);
        // Kept sorted by creation: an object made later with an earlier date (a seed) is placed.
        let at = self.order.partition_point(|(c, _)| *c <= created);
        if at == self.order.len() {
            self.position.insert(id.clone(), at);
            self.order.push((created, id.clone()));
        } else {
            self.order.insert(at, (created, id.clone()));
            for (i, (_, id)) in self.order.iter().enumerate().skip(at) {
                self.position.insert(id.clone(), i);
            }
        }
        self.by_id.insert(id, pi);
    }
}

struct Inner {
    config: Config,
    limits: Option<EndpointLimits>,
    account: Option<EndpointLimits>,
    keys: IdempotencyKeys,
    payment_intents: Mutex<PaymentIntents>,
    events: Mutex<Vec<Value>>,
    calls: Mutex<BTreeMap<String, u64>>,
    throttled: Mutex<BTreeMap<String, u64>>,
    next_id: AtomicU64,
}

/// The running simulator.
pub struct Simulator {
    /// Its base URL (`STRIPE_API_BASE`).
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Simulator {
    /// Starts it on a free loopback port.
    pub async fn start(config: Config) -> Self {
        let inner = Arc::new(Inner {
            config,
            limits: config.per_endpoint.map(EndpointLimits::new),
            account: config.per_account.map(EndpointLimits::new),
            keys: IdempotencyKeys::default(),
            payment_intents: Mutex::new(PaymentIntents::default()),
            events: Mutex::new(Vec::new()),
            calls: Mutex::new(BTreeMap::new()),
            throttled: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the simulator");
        let url = format!("http://{}/", listener.local_addr().expect("address"));
        let app = Router::new().fallback(any(handle)).with_state(inner.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the simulator serves");
        });
        Self { url, inner, task }
    }

    /// A PaymentIntent as if made earlier, `created` (Unix seconds), with `status`.
    pub fn seed(&self, created: i64, amount: i64, customer: &str, status: &str, metadata: &[(&str, String)]) -> String {
        let id = self.inner.id("pi");
        self.seed_with_id(&id, created, amount, customer, status, metadata);
        id
    }

    /// The same, with its id.
    pub fn seed_with_id(
        &self,
        id: &str,
        created: i64,
        amount: i64,
        customer: &str,
        status: &str,
        metadata: &[(&str, String)],
    ) {
        let metadata: serde_json::Map<String, Value> =
            metadata.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect();
        let mut pi = payment_intent(id, created, amount, "eur", Some(customer), Some("pm_card_visa"), status, metadata);
        if status == "requires_payment_method" {
            // What Stripe keeps after an off-session charge the bank wanted authenticated.
            pi["last_payment_error"] = json!({ "type": "card_error", "code": "authentication_required",
                "decline_code": "authentication_required",
                "message": "Your card was declined. This transaction requires authentication." });
        }
        lock(&self.inner.payment_intents).insert(pi);
    }

    /// An event Stripe sent (or failed to send: `delivered` false), listed by `GET /v1/events`.
    pub fn record_event(&self, mut event: Value, delivered: bool) {
        event["pending_webhooks"] = json!(u8::from(!delivered));
        lock(&self.inner.events).push(event);
    }

    /// Requests received, per endpoint (429s included).
    pub fn calls(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.calls).clone()
    }

    /// Requests answered 429, per endpoint.
    pub fn throttled(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.throttled).clone()
    }
}

impl Inner {
    fn id(&self, prefix: &str) -> String {
        format!("{prefix}_sim{:010}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }
}

/// A succeeded PaymentIntent `id` of 10.00 € of `customer`, as a webhook carries it.
pub fn payment_intent_of(id: &str, customer: &str, metadata: &[(&str, String)]) -> Value {
    let metadata: serde_json::Map<String, Value> =
        metadata.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect();
    payment_intent(id, now(), 1_000, "eur", Some(customer), Some("pm_card_visa"), "succeeded", metadata)
}

/// Event `id`, `payment_intent.succeeded` for `pi`, made at `created`, as Stripe sends it.
pub fn succeeded_event(id: &str, created: i64, pi: Value) -> Value {
    json!({
        "id": id, "object": "event", "api_version": "2026-09-30",
        "created": created, "livemode": false, "pending_webhooks": 1,
        "request": { "id": Value::Null, "idempotency_key": Value::Null },
        "type": "payment_intent.succeeded", "data": { "object": pi },
    })
}

#[allow(clippy::too_many_arguments)]
fn payment_intent(
    id: &str,
    created: i64,
    amount: i64,
    currency: &str,
    customer: Option<&str>,
    payment_method: Option<&str>,
    status: &str,
    metadata: serde_json::Map<String, Value>,
) -> Value {
    let charge = (status == "succeeded").then(|| format!("ch_{}", &id[3..]));
    json!({
        "id": id, "object": "payment_intent", "amount": amount,
        "amount_received": if status == "succeeded" { amount } else { 0 },
        "currency": currency, "customer": customer, "payment_method": payment_method,
        "status": status, "created": created, "livemode": false, "metadata": metadata,
        "client_secret": format!("{id}_secret_sim"), "latest_charge": charge,
        "last_payment_error": Value::Null, "next_action": Value::Null, "cancellation_reason": Value::Null,
        "capture_method": "automatic", "confirmation_method": "automatic", "payment_method_types": ["card"],
        "setup_future_usage": Value::Null,
    })
}

async fn handle(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let endpoint = endpoint_of(&parts.method, &path);
    *lock(&inner.calls).entry(endpoint.clone()).or_default() += 1;
    let over = inner.limits.as_ref().is_some_and(|l| !l.admit(&endpoint))
        || inner.account.as_ref().is_some_and(|l| !l.admit("account"));
    let response = if over {
        *lock(&inner.throttled).entry(endpoint.clone()).or_default() += 1;
        rate_limited()
    } else {
        let query: HashMap<String, String> =
            url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect();
        let key = parts.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        match (key, parts.method == Method::POST) {
            (Some(key), true) => {
                let print = fingerprint(&body);
                match inner.keys.begin(&key, &endpoint, &print) {
                    Begin::Execute => {
                        let (status, answer) = body_of(route(&inner, &parts.method, &path, &query, &body)).await;
                        inner.keys.finish(key, &endpoint, print, status, &answer);
                        json_response(status, answer)
                    }
                    Begin::Replay(status, answer) => {
                        let mut response = json_response(status, answer);
                        response.headers_mut().insert("idempotent-replayed", "true".parse().expect("header"));
                        response
                    }
                    Begin::Refuse(refusal) => refusal,
                }
            }
            _ => route(&inner, &parts.method, &path, &query, &body),
        }
    };
    // The round trip: what the request would have cost over the network, whatever the work took.
    if let Some(rest) = inner.config.latency.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    response
}

fn json_response(status: u16, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert("content-type", "application/json".parse().expect("header"));
    response
}

fn answer(value: &Value) -> Response {
    json_response(200, Bytes::from(value.to_string()))
}

async fn body_of(response: Response) -> (u16, Bytes) {
    let status = response.status().as_u16();
    (status, axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap_or_default())
}

fn missing(what: &str) -> Response {
    stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", Some("resource_missing"), &format!("No such {what}"))
}

fn route(inner: &Inner, method: &Method, path: &str, query: &HashMap<String, String>, body: &[u8]) -> Response {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "payment_intents"]) => create_payment_intent(inner, body),
        ("GET", ["v1", "payment_intents"]) => list_payment_intents(inner, query),
        ("GET", ["v1", "payment_intents", id]) => {
            lock(&inner.payment_intents).by_id.get(*id).map_or_else(|| missing("payment_intent"), answer)
        }
        ("POST", ["v1", "payment_intents", id, "cancel"]) => {
            let mut store = lock(&inner.payment_intents);
            let Some(pi) = store.by_id.get_mut(*id) else {
                return missing("payment_intent");
            };
            if matches!(pi["status"].as_str(), Some("succeeded" | "canceled")) {
                let status = pi["status"].as_str().unwrap_or_default().to_owned();
                return stripe_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("payment_intent_unexpected_state"),
                    &format!("You cannot cancel this PaymentIntent because it has a status of {status}."),
                );
            }
            pi["status"] = json!("canceled");
            pi["cancellation_reason"] = json!("requested_by_customer");
            answer(pi)
        }
        ("GET", ["v1", "events"]) => {
            let events = lock(&inner.events);
            let bounds = CreatedBounds::of(query);
            let undelivered_only = query.get("delivery_success").is_some_and(|v| v == "false");
            let items: Vec<Value> = events
                .iter()
                .filter(|e| bounds.admits(e["created"].as_i64().unwrap_or(0)))
                .filter(|e| !undelivered_only || e["pending_webhooks"].as_i64().unwrap_or(0) > 0)
                .cloned()
                .collect();
            page_of("/v1/events", items, query)
        }
        ("GET", ["v1", "refunds" | "disputes"]) => list_response(path, Vec::new(), false),
        ("GET", ["v1", "balance"]) => {
            answer(&json!({ "object": "balance", "available": [], "pending": [], "livemode": false }))
        }
        ("POST", ["v1", "customers"]) => {
            let id = inner.id("cus");
            answer(&json!({ "id": id, "object": "customer", "created": now(), "livemode": false }))
        }
        _ => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            None,
            &format!("Unrecognized request URL ({method}: {path}): the bench's simulator does not have it"),
        ),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn create_payment_intent(inner: &Inner, body: &[u8]) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let Some(amount) = get("amount").and_then(|a| a.parse::<i64>().ok()).filter(|a| *a > 0) else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: amount.",
        );
    };
    let currency = get("currency").unwrap_or("eur");
    let metadata: serde_json::Map<String, Value> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[").and_then(|k| k.strip_suffix(']')).map(|k| (k.to_owned(), json!(v)))
        })
        .collect();
    let payment_method = get("payment_method");
    let confirmed = get("confirm") == Some("true");
    let declined = payment_method.is_some_and(|pm| pm.contains("chargeDeclined"));
    let status = match (confirmed, payment_method.is_some(), declined) {
        (true, true, false) => "succeeded",
        (true, true, true) | (_, false, _) => "requires_payment_method",
        (false, true, _) => "requires_confirmation",
    };
    let id = inner.id("pi");
    let mut pi = payment_intent(&id, now(), amount, currency, get("customer"), payment_method, status, metadata);
    if let Some(usage) = get("setup_future_usage") {
        pi["setup_future_usage"] = json!(usage);
    }
    if confirmed && declined {
        let error = json!({ "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
            "message": "Your card was declined." });
        pi["last_payment_error"] = error.clone();
        lock(&inner.payment_intents).insert(pi.clone());
        let mut body = error;
        body["payment_intent"] = pi;
        return json_response(402, Bytes::from(json!({ "error": body }).to_string()));
    }
    lock(&inner.payment_intents).insert(pi.clone());
    answer(&pi)
}

fn list_payment_intents(inner: &Inner, query: &HashMap<String, String>) -> Response {
    let store = lock(&inner.payment_intents);
    let bounds = CreatedBounds::of(query);
    let limit = list_limit(query);
    let customer = query.get("customer");
    // Newest first: from the cursor (or the newest) back in time.
    let end = match query.get("starting_after") {
        Some(after) => match store.position.get(after) {
            Some(at) => *at,
            None => {
                return stripe_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &format!("No such payment_intent: '{after}'"),
                );
            }
        },
        None => store.order.len(),
    };
    let mut data = Vec::with_capacity(limit);
    let mut has_more = false;
    for (created, id) in store.order[..end].iter().rev() {
        if !bounds.admits(*created) {
            continue;
        }
        let pi = &store.by_id[id];
        if customer.is_some_and(|c| pi["customer"].as_str() != Some(c.as_str())) {
            continue;
        }
        if data.len() == limit {
            has_more = true;
            break;
        }
        data.push(pi.clone());
    }
    list_response("/v1/payment_intents", data, has_more)
}

/// Measures the simulator itself: `GET /v1/payment_intents/{id}` from `concurrency`
/// clients for `duration`, no latency, no limit. Returns requests a second.
pub async fn self_test(concurrency: usize, duration: Duration) -> f64 {
    let sim = Simulator::start(Config { latency: Duration::ZERO, per_endpoint: None, per_account: None }).await;
    let id = sim.seed(now(), 1_000, "cus_self", "succeeded", &[]);
    let url = format!("{}v1/payment_intents/{id}", sim.url);
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + duration;
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("client");
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, done) = (client.clone(), url.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let ok = client.get(&url).basic_auth("sk_test_bench", Some("")).send().await;
                    if ok.is_ok_and(|r| r.status().is_success()) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let n = done.load(Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    let rate = n as f64 / started.elapsed().as_secs_f64();
    rate
}
