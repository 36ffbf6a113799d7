//! What Stripe does on every request, written once for the two Stripe-shaped
//! servers of the test and bench support code: the layer in front of the local
//! peer (`stripe_layer.rs`) and the bench's simulator (`server/benches/bench/`).
//!
//! - the endpoint a request counts against (Stripe's rate limits are per endpoint:
//!   `GET /v1/payment_intents/{id}` for different ids is one endpoint);
//! - Stripe's error body;
//! - idempotency keys: the first answer for a key replayed (errors included),
//!   400 `idempotency_error` for the key reused with other parameters, 409
//!   `idempotency_key_in_use` while the first request runs; a validation failure
//!   (4xx before execution, but a 402 decline) is not saved;
//! - lists: newest first, `starting_after` cursors, `limit` (1 to 100, default 10),
//!   `created[gt|gte|lt|lte]`.

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `POST /v1/payment_intents/pi_123/confirm` → `POST /v1/payment_intents/{id}/confirm`.
pub fn endpoint_of(method: &Method, path: &str) -> String {
    let normalized: Vec<String> = path
        .split('/')
        .map(|seg| {
            let is_id = seg.split_once('_').is_some_and(|(prefix, rest)| {
                matches!(prefix, "pi" | "cus" | "pm" | "seti" | "evt" | "ch" | "cs" | "re" | "dp") && !rest.is_empty()
            }) || seg.starts_with("cs_test");
            if is_id { "{id}".to_owned() } else { seg.to_owned() }
        })
        .collect();
    format!("{method} {}", normalized.join("/"))
}

/// Stripe's error body: `{"error": {"type", "code"?, "message"}}`.
pub fn stripe_error(status: StatusCode, kind: &str, code: Option<&str>, message: &str) -> Response {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// The 429 Stripe answers past an endpoint's rate.
pub fn rate_limited() -> Response {
    stripe_error(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", Some("rate_limit"), "Too many requests.")
}

/// Form parameters, sorted: the same request encoded in another order is the same request.
pub fn fingerprint(body: &[u8]) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

enum KeyState {
    InFlight,
    Done { endpoint: String, fingerprint: String, status: u16, body: Bytes },
}

/// What to do with a request that carries an idempotency key.
pub enum Begin {
    /// First use: run it, then [`IdempotencyKeys::finish`].
    Execute,
    /// Seen and done: this is the first answer, to send again.
    Replay(u16, Bytes),
    /// Refused (`idempotency_key_in_use`, or the key reused with other parameters).
    Refuse(Response),
}

/// Stripe's idempotency keys.
#[derive(Default)]
pub struct IdempotencyKeys {
    keys: Mutex<HashMap<String, KeyState>>,
}

impl IdempotencyKeys {
    /// A request with `key` for `endpoint` with these parameters arrives.
    pub fn begin(&self, key: &str, endpoint: &str, fingerprint: &str) -> Begin {
        let mut keys = lock(&self.keys);
        match keys.get(key) {
            Some(KeyState::InFlight) => Begin::Refuse(stripe_error(
                StatusCode::CONFLICT,
                "idempotency_error",
                Some("idempotency_key_in_use"),
                "There is currently another in-progress request using this Idempotent Key.",
            )),
            Some(KeyState::Done { endpoint: e, fingerprint: f, status, body }) => {
                if e != endpoint || f != fingerprint {
                    return Begin::Refuse(stripe_error(
                        StatusCode::BAD_REQUEST,
                        "idempotency_error",
                        None,
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    ));
                }
                Begin::Replay(*status, body.clone())
            }
            None => {
                keys.insert(key.to_owned(), KeyState::InFlight);
                Begin::Execute
            }
        }
    }

    /// The request that began with `key` was answered `status`, `body`.
    pub fn finish(&self, key: String, endpoint: &str, fingerprint: String, status: u16, body: &Bytes) {
        let mut keys = lock(&self.keys);
        // Stripe saves the result once execution began; validation failures are not saved.
        if (400..500).contains(&status) && status != 402 {
            keys.remove(&key);
        } else {
            keys.insert(key, KeyState::Done { endpoint: endpoint.to_owned(), fingerprint, status, body: body.clone() });
        }
    }

    /// Saves an answer for `key` whatever its status: a refusal on the object's state (not on the
    /// request's parameters), which Stripe gives once execution began — the stricter reading.
    pub fn save(&self, key: String, endpoint: &str, fingerprint: String, status: u16, body: &Bytes) {
        let state = KeyState::Done { endpoint: endpoint.to_owned(), fingerprint, status, body: body.clone() };
        lock(&self.keys).insert(key, state);
    }

    /// Forgets every key (Stripe prunes keys after 24 hours).
    pub fn clear(&self) {
        lock(&self.keys).clear();
    }
}

/// Stripe's `created[gt|gte|lt|lte]` list filter over objects with a `created` field.
pub fn created_filter(params: &HashMap<String, String>) -> impl Fn(&Value) -> bool + '_ {
    let bounds = CreatedBounds::of(params);
    move |o: &Value| bounds.admits(o["created"].as_i64().unwrap_or(0))
}

/// The bounds of a `created` filter.
#[derive(Clone, Copy, Debug, Default)]
pub struct CreatedBounds {
    gte: Option<i64>,
    gt: Option<i64>,
    lte: Option<i64>,
    lt: Option<i64>,
}

impl CreatedBounds {
    /// Read from a list's query parameters.
    pub fn of(params: &HashMap<String, String>) -> Self {
        let bound = |k: &str| params.get(k).and_then(|v| v.parse::<i64>().ok());
        Self {
            gte: bound("created[gte]"),
            gt: bound("created[gt]"),
            lte: bound("created[lte]"),
            lt: bound("created[lt]"),
        }
    }

    /// Whether an object created at `created` is listed.
    pub fn admits(&self, created: i64) -> bool {
        self.gte.is_none_or(|b| created >= b)
            && self.gt.is_none_or(|b| created > b)
            && self.lte.is_none_or(|b| created <= b)
            && self.lt.is_none_or(|b| created < b)
    }
}

/// A list's `limit`: 10 unless told, 1 to 100.
pub fn list_limit(params: &HashMap<String, String>) -> usize {
    params.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10).clamp(1, 100)
}

/// One page of a list already in Stripe's order (newest first), from its `starting_after` cursor.
pub fn page_in_order(url: &str, items: &[Value], params: &HashMap<String, String>) -> Response {
    let limit = list_limit(params);
    let start = match params.get("starting_after") {
        Some(after) => items.iter().position(|o| o["id"] == after.as_str()).map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let slice: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    let has_more = start + slice.len() < items.len();
    list_response(url, slice, has_more)
}

/// A list's body.
pub fn list_response(url: &str, data: Vec<Value>, has_more: bool) -> Response {
    axum::Json(json!({ "object": "list", "url": url, "has_more": has_more, "data": data })).into_response()
}

/// Applies Stripe's ordering (newest first) and cursor to a list kept in the order things were made.
pub fn page_of(url: &str, mut items: Vec<Value>, params: &HashMap<String, String>) -> Response {
    // Making order, reversed, is newest first (stable for equal timestamps).
    items.reverse();
    items.sort_by_key(|o| std::cmp::Reverse(o["created"].as_i64().unwrap_or(0)));
    page_in_order(url, &items, params)
}
