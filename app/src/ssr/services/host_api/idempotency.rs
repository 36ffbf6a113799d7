//! `Idempotency-Key` with Stripe's semantics: the same key and body replay
//! the first answer (a refusal of what ran included) for 24 hours; the same
//! key with another request is refused; a second request while the first runs
//! gets 409 and nothing executes twice. A request refused before it ran (a
//! `400`, a `422`) or told "not now" keeps nothing: the key is given back. A
//! request whose process died keeps the key for a one-minute lease, then the
//! next retry runs it. A key belongs to the mode (test or live), as on Stripe it belongs to the
//! account: a retry sent with another API key of the same mode (the host replaced its key
//! meanwhile) is the same request.
//!
//! A creation writes its answer in its own transaction ([`finish`] with the
//! caller's transaction): the plan and the record of having made it commit
//! together, so a host retrying a timed-out creation never gets two plans.

use anyhow::anyhow;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TryInsertResult};
use sha2::{Digest, Sha256};

use super::error::{Answer, ApiError};
use super::keys::Caller;
use crate::ssr::entities::api_request;
use crate::ssr::services::error::ServiceError;
use crate::ssr::state::AppState;

/// How long a request holds its key before a retry may take it over.
const LEASE_MS: i64 = 60_000;
/// How long an answer is replayed.
const RETENTION_MS: i64 = 24 * 3_600_000;
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// The key is ours until [`finish`] or [`release`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    id: i64,
    lease: i64,
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Claim {
    /// Run it; the key is held.
    Fresh(Held),
    /// Send this again.
    Replay(Answer),
    /// Refuse it (another request's key, or one still running).
    Refused(ApiError),
}

/// What makes two requests the same: method, path and parameters — as
/// Stripe compares them, not the bytes: the same JSON with its keys in another
/// order or other white space is the same request, and an empty body is `{}`.
/// A body that is not JSON, or that gives a key twice (refused, where its
/// parsed value would keep only the last), is taken as it is.
#[must_use]
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let canonical = if body.iter().all(u8::is_ascii_whitespace) {
        Some(b"{}".to_vec())
    } else if serde_json::from_slice::<KeysOnce>(body).is_err() {
        None
    } else {
        serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|v| serde_json::to_vec(&sorted(v)).ok())
    };
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b" ");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    hash.update(canonical.as_deref().unwrap_or(body));
    hex::encode(hash.finalize())
}

/// JSON in which no object gives a key twice (it does not deserialize otherwise).
struct KeysOnce;

impl<'de> serde::Deserialize<'de> for KeysOnce {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KeysOnceVisitor)
    }
}

struct KeysOnceVisitor;

impl<'de> serde::de::Visitor<'de> for KeysOnceVisitor {
    type Value = KeysOnce;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<KeysOnce, E> {
        Ok(KeysOnce)
    }

    fn visit_i64<E>(self, _: i64) -> Result<KeysOnce, E> {
        Ok(KeysOnce)
    }

    fn visit_u64<E>(self, _: u64) -> Result<KeysOnce, E> {
        Ok(KeysOnce)
    }

    fn visit_f64<E>(self, _: f64) -> Result<KeysOnce, E> {
        Ok(KeysOnce)
    }

    fn visit_str<E>(self, _: &str) -> Result<KeysOnce, E> {
        Ok(KeysOnce)
    }

    fn visit_unit<E>(self) -> Result<KeysOnce, E> {
        Ok(KeysOnce)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<KeysOnce, A::Error> {
        while items.next_element::<KeysOnce>()?.is_some() {}
        Ok(KeysOnce)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut entries: A) -> Result<KeysOnce, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = entries.next_key::<String>()? {
            if !seen.insert(key) {
                return Err(serde::de::Error::custom("a key given twice"));
            }
            entries.next_value::<KeysOnce>()?;
        }
        Ok(KeysOnce)
    }
}

/// `value` with every object's keys in order (whatever map serde_json is built with).
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Takes `key` for a request with `fingerprint`.
///
/// # Errors
/// Database failure.
pub async fn claim(state: &AppState, caller: Caller, key: &str, fingerprint: &str) -> Result<Claim, ServiceError> {
    let now = state.now_ms();
    for _ in 0..3 {
        let existing = api_request::Entity::find()
            .filter(api_request::Column::Mode.eq(caller.mode))
            .filter(api_request::Column::IdempotencyKey.eq(key))
            .one(&state.db)
            .await?;
        match existing {
            Some(row) if row.created_at < now - RETENTION_MS => {
                api_request::Entity::delete_by_id(row.id).exec(&state.db).await?;
            }
            Some(row) => return decide(state, row, fingerprint, now).await,
            None => {
                let lease = now + LEASE_MS;
                let row = api_request::ActiveModel {
                    api_key_id: Set(caller.key_id),
                    mode: Set(caller.mode),
                    idempotency_key: Set(key.to_owned()),
                    fingerprint: Set(fingerprint.to_owned()),
                    response_status: Set(None),
                    response_body: Set(None),
                    locked_until: Set(Some(lease)),
                    created_at: Set(now),
                    ..Default::default()
                };
                let inserted = api_request::Entity::insert(row)
                    .on_conflict(
                        OnConflict::columns([api_request::Column::Mode, api_request::Column::IdempotencyKey])
                            .do_nothing()
                            .to_owned(),
                    )
                    .try_insert()
                    .exec(&state.db)
                    .await?;
                if let TryInsertResult::Inserted(result) = inserted {
                    return Ok(Claim::Fresh(Held { id: result.last_insert_id, lease }));
                }
                // Another request took the key between our read and our write: read it again.
            }
        }
    }
    Err(anyhow!("idempotency key {key:?} kept changing under us").into())
}

async fn decide(state: &AppState, row: api_request::Model, fingerprint: &str, now: i64) -> Result<Claim, ServiceError> {
    if row.fingerprint != fingerprint {
        return Ok(Claim::Refused(ApiError::idempotency_mismatch()));
    }
    if let (Some(status), Some(body)) = (row.response_status, row.response_body) {
        let status = u16::try_from(status).map_err(anyhow::Error::from)?;
        return Ok(Claim::Replay(Answer { status, body, retry_after: None, transient: false }));
    }
    if row.locked_until.is_some_and(|until| until > now) {
        return Ok(Claim::Refused(ApiError::idempotency_in_use()));
    }
    // The request that held it died before answering (nothing of it committed): take it over.
    let lease = now + LEASE_MS;
    let mut takeover = api_request::Entity::update_many()
        .col_expr(api_request::Column::LockedUntil, Expr::value(lease))
        .filter(api_request::Column::Id.eq(row.id))
        .filter(api_request::Column::ResponseStatus.is_null());
    takeover = match row.locked_until {
        Some(until) => takeover.filter(api_request::Column::LockedUntil.eq(until)),
        None => takeover.filter(api_request::Column::LockedUntil.is_null()),
    };
    if takeover.exec(&state.db).await?.rows_affected == 1 {
        tracing::warn!(api_request.id = row.id, "idempotency key taken over from a request that never answered");
        return Ok(Claim::Fresh(Held { id: row.id, lease }));
    }
    Ok(Claim::Refused(ApiError::idempotency_in_use()))
}

/// Keeps `answer` for the key, in `db` (the caller's transaction when the
/// request wrote anything).
///
/// # Errors
/// The lease was lost (another request took the key over: roll back), database failure.
pub async fn finish(db: &impl ConnectionTrait, held: Held, answer: &Answer) -> Result<(), ServiceError> {
    let kept = api_request::Entity::update_many()
        .col_expr(api_request::Column::ResponseStatus, Expr::value(i32::from(answer.status)))
        .col_expr(api_request::Column::ResponseBody, Expr::value(answer.body.clone()))
        .col_expr(api_request::Column::LockedUntil, Expr::value(Option::<i64>::None))
        .filter(api_request::Column::Id.eq(held.id))
        .filter(api_request::Column::LockedUntil.eq(held.lease))
        .exec(db)
        .await?;
    if kept.rows_affected != 1 {
        return Err(anyhow!("the idempotency key's lease was lost").into());
    }
    Ok(())
}

/// Forgets the requests older than the replay window (their answers may
/// hold a webhook secret or a live acceptance link). Returns how many.
///
/// # Errors
/// Database failure.
pub async fn purge_expired(state: &AppState) -> Result<u64, ServiceError> {
    let done = api_request::Entity::delete_many()
        .filter(api_request::Column::CreatedAt.lt(state.now_ms() - RETENTION_MS))
        .exec(&state.db)
        .await?;
    Ok(done.rows_affected)
}

/// Gives the key back without an answer (ours failed: the retry runs again).
///
/// # Errors
/// Database failure.
pub async fn release(state: &AppState, held: Held) -> Result<(), ServiceError> {
    api_request::Entity::delete_many()
        .filter(api_request::Column::Id.eq(held.id))
        .filter(api_request::Column::LockedUntil.eq(held.lease))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// After a request that wrote nothing of its own (or in its own
/// transactions): keeps an answer that will always be the same (a 2xx, a
/// refusal of what ran), gives the key back after one that may change (a
/// 5xx, a 429, a charge still in flight) or a request refused before it ran
/// (a `400`, a `422`), so the retry runs again ([`Answer::replayed`]).
pub async fn settle(state: &AppState, held: Option<Held>, answer: Answer) -> Answer {
    let Some(held) = held else { return answer };
    let kept = if answer.replayed() { finish(&state.db, held, &answer).await } else { release(state, held).await };
    if let Err(e) = kept {
        tracing::warn!(error = %e, "idempotency record not written");
    }
    answer
}

/// Runs `op` under the request's key, if it has one: replays, refuses, or
/// runs and keeps the answer.
pub async fn run<Op, Fut>(state: &AppState, caller: Caller, key: Option<&str>, fingerprint: &str, op: Op) -> Answer
where
    Op: FnOnce() -> Fut,
    Fut: Future<Output = Answer>,
{
    let held = match begin(state, caller, key, fingerprint).await {
        Ok(held) => held,
        Err(answer) => return answer,
    };
    let answer = op().await;
    settle(state, held, answer).await
}

/// The first half of [`run`], for a request that writes its answer itself:
/// `Ok(held key or none)` to go on, `Err(answer)` to send at once.
///
/// # Errors
/// The answer to send instead (a replay, a refusal).
pub async fn begin(
    state: &AppState,
    caller: Caller,
    key: Option<&str>,
    fingerprint: &str,
) -> Result<Option<Held>, Answer> {
    let Some(key) = key else { return Ok(None) };
    match claim(state, caller, key, fingerprint).await {
        Ok(Claim::Fresh(held)) => Ok(Some(held)),
        Ok(Claim::Replay(answer)) => Err(answer),
        Ok(Claim::Refused(error)) => Err(error.answer()),
        Err(e) => Err(ApiError::from(e).answer()),
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn the_fingerprint_tells_bodies_and_paths_apart() {
        let a = fingerprint("POST", "/v1/plans", b"{\"a\":1}");
        assert_eq!(a, fingerprint("POST", "/v1/plans", b"{\"a\":1}"));
        assert_ne!(a, fingerprint("POST", "/v1/plans", b"{\"a\":2}"));
        assert_ne!(a, fingerprint("POST", "/v1/plans/plan_1/cancel", b"{\"a\":1}"));
        // The parameters, not the bytes: key order and white space do not count, an empty body is `{}`.
        let nested = fingerprint("POST", "/v1/plans", br#"{"b":{"y":1,"x":[{"q":2,"p":1}]},"a":"z"}"#);
        assert_eq!(
            nested,
            fingerprint("POST", "/v1/plans", b" {\"a\": \"z\",\n \"b\": {\"x\": [{\"p\":1,\"q\":2}], \"y\": 1}}")
        );
        assert_ne!(nested, fingerprint("POST", "/v1/plans", br#"{"b":{"y":1,"x":[{"q":2,"p":2}]},"a":"z"}"#));
        assert_ne!(nested, fingerprint("POST", "/v1/plans", br#"{"b":{"y":1,"x":[{"p":1},{"q":2}]},"a":"z"}"#));
        let cancel = "/v1/plans/plan_1/cancel";
        assert_eq!(fingerprint("POST", cancel, b""), fingerprint("POST", cancel, b" {} "));
        assert_ne!(fingerprint("POST", cancel, b"not json"), fingerprint("POST", cancel, b"not  json"));
        // A key given twice is refused; its retry without the first value is another request.
        let twice = fingerprint("POST", "/v1/plans", br#"{"b":{"a":1,"a":2}}"#);
        assert_ne!(twice, fingerprint("POST", "/v1/plans", br#"{"b":{"a":2}}"#));
        assert_eq!(twice, fingerprint("POST", "/v1/plans", br#"{"b":{"a":1,"a":2}}"#));
    }
}
