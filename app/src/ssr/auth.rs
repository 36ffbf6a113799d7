//! Accounts: argon2 password hashes, server-side sessions (the cookie holds a
//! random token, the database its SHA-256), a login rate limit per address
//! and per IP. Every server function asks [`require_user`] / [`require_admin`].

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, QueryFilter};
use sha2::{Digest, Sha256};

use super::entities::{login_attempt, login_link, login_throttle, session, user};
use super::services::error::ServiceError;
use super::services::second_factor::{self, Entry};
use super::state::AppState;
use crate::domain::{Admission, Email, Locale, Refusal, Role, Throttle, ThrottleState, UserId};

/// The session cookie's name on a plain-http development address.
pub const SESSION_COOKIE: &str = "echeancier_session";
/// The session cookie's name on https.
pub const HOST_SESSION_COOKIE: &str = "__Host-echeancier_session";
/// Login records are kept a month (who tried, from where), then purged.
const LOGIN_RECORD_TTL_MS: i64 = 30 * 24 * 3_600_000;
const SESSION_TTL_MS: i64 = 14 * 24 * 3_600_000;

/// The user behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentUser {
    /// Database id.
    pub id: UserId,
    /// Login.
    pub email: String,
    /// Shown name.
    pub display_name: String,
    /// Customer or admin.
    pub role: Role,
    /// Preferred language.
    pub locale: Locale,
    /// This session passed the second factor (an account with one has no other kind of session).
    pub second_factor: bool,
}

impl TryFrom<user::Model> for CurrentUser {
    type Error = ServiceError;
    fn try_from(u: user::Model) -> Result<Self, Self::Error> {
        Ok(Self {
            id: UserId::new(u.id).map_err(anyhow::Error::from)?,
            role: u.role,
            locale: Locale::from_code(&u.locale),
            second_factor: false,
            email: u.email,
            display_name: u.display_name,
        })
    }
}

/// Hashes a password with argon2id and a random salt.
///
/// # Errors
/// Only if argon2 itself fails.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::thread_rng());
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!(e))?.to_string())
}

/// Whether `password` matches the argon2 `hash` (slow on purpose: run it through `guards.hash`).
pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A freshly opened session: the cookie value to set.
#[derive(Clone, Debug)]
pub struct OpenedSession {
    /// The user.
    pub user: CurrentUser,
    /// The random token (goes in the cookie, never stored).
    pub token: String,
}

/// A throttle key quiet this long starts again from zero (and may be purged).
const FORGET_AFTER_MS: i64 = 3_600_000;
/// Per (address, client): five free tries, then 1 s, 2 s, 4 s… up to 15 min.
const PER_PAIR: Throttle = Throttle { free: 5, base_ms: 1_000, max_ms: 15 * 60_000, forget_after_ms: FORGET_AFTER_MS };
/// Per client, whatever the address (one client guessing many accounts).
const PER_CLIENT: Throttle =
    Throttle { free: 30, base_ms: 1_000, max_ms: 15 * 60_000, forget_after_ms: FORGET_AFTER_MS };
/// Per address, whatever the client (many clients guessing one account): slower to
/// start and capped at a minute, so nobody can keep the owner out for long.
const PER_ADDRESS: Throttle = Throttle { free: 100, base_ms: 1_000, max_ms: 60_000, forget_after_ms: FORGET_AFTER_MS };

/// Checks a login and opens a session (or, for an account with a second
/// factor, leads to the second step: [`second_factor::pass`]). Each throttle key is reserved (the try
/// counted as a failure) before the password is checked, so parallel tries
/// get no more guesses than sequential ones; a success clears the keys of the
/// address.
///
/// # Errors
/// `RateLimited` while a key asks to wait (or when password checks are queued
/// past their bound), `WrongCredentials` for a wrong address or password (the
/// same answer for both).
pub async fn login(state: &AppState, email: &str, password: &str, client: &str) -> Result<Entry, ServiceError> {
    let now = state.now_ms();
    let email = Email::parse(email).map_err(|_| ServiceError::WrongCredentials)?;
    let client = throttle_client(client);
    let pair = format!("pair:{}|{client}", email.as_str());
    let address = format!("address:{}", email.as_str());
    let client_key = format!("client:{client}");
    let keys = [(pair.as_str(), PER_PAIR), (client_key.as_str(), PER_CLIENT), (address.as_str(), PER_ADDRESS)];
    // Every key is asked first, and only then are tries taken: a key that says
    // wait costs the others nothing (the owner's own key is not spent while an
    // attacker holds the address's key closed).
    for (key, throttle) in keys {
        if let Admission::Wait(_) = throttle.admit(stored(state, key).await?, now) {
            return Err(ServiceError::RateLimited);
        }
    }
    for (key, throttle) in keys {
        reserve(state, key, throttle, now).await?;
    }
    // A disabled account answers like an unknown one (checked against the dummy hash).
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::DisabledAt.is_null())
        .one(&state.db)
        .await?;
    // Verify against a dummy hash when the user does not exist or has no password yet (a
    // customer invited with a plan, an invited admin), so timing does not tell.
    let found = found.filter(|u| !u.password_hash.is_empty());
    let hash = found.as_ref().map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let password = password.to_owned();
    let ok = state.guards.hash(move || verify_password(&password, &hash)).await? && found.is_some();
    login_attempt::ActiveModel {
        email: Set(email.as_str().to_owned()),
        ip: Set(client.to_owned()),
        succeeded: Set(ok),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let account = match (ok, found) {
        (true, Some(u)) => u,
        _ => return Err(ServiceError::WrongCredentials),
    };
    // The address's keys start again; the client's gets this try back (its own
    // successes do not use up a shared address's tries, nor reset its count).
    login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::Key.is_in([pair.as_str(), address.as_str()]))
        .exec(&state.db)
        .await?;
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::Failures, Expr::col(login_throttle::Column::Failures).sub(1))
        .filter(login_throttle::Column::Key.eq(client_key.as_str()))
        .filter(login_throttle::Column::Failures.gt(0))
        .exec(&state.db)
        .await?;
    let txn = super::db::begin_write(&state.db).await?;
    let entry = second_factor::enter(&txn, account, now).await?;
    txn.commit().await?;
    Ok(entry)
}

/// Opens a session for `user` (a login, or a signed link that logs its owner in).
///
/// # Errors
/// Database failure.
pub async fn open_session(
    db: &impl sea_orm::ConnectionTrait,
    user: CurrentUser,
    now: i64,
) -> Result<OpenedSession, ServiceError> {
    let token = random_token();
    session::ActiveModel {
        id: Set(token_id(&token)),
        user_id: Set(user.id.get()),
        created_at: Set(now),
        expires_at: Set(now + SESSION_TTL_MS),
        last_seen_at: Set(Some(now)),
        second_factor: Set(user.second_factor),
    }
    .insert(db)
    .await?;
    Ok(OpenedSession { user, token })
}

/// The client part of the throttle keys: an IPv6 address counts as its /64
/// (one subscriber's network; its 2^64 addresses are not 2^64 clients).
pub(crate) fn throttle_client(client: &str) -> String {
    match client.parse::<std::net::Ipv6Addr>() {
        Ok(ip) if ip.to_ipv4_mapped().is_none() => {
            let s = ip.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(ip) => ip.to_ipv4_mapped().map_or_else(|| client.to_owned(), |v4| v4.to_string()),
        Err(_) => client.to_owned(),
    }
}

fn throttle_state(row: &login_throttle::Model) -> ThrottleState {
    ThrottleState {
        failures: u32::try_from(row.failures).unwrap_or(0),
        next_allowed_at: row.next_allowed_at,
        updated_at: row.updated_at,
    }
}

/// The stored state of a throttle key (none: a new key).
pub(crate) async fn stored(state: &AppState, key: &str) -> Result<Option<ThrottleState>, ServiceError> {
    Ok(login_throttle::Entity::find_by_id(key.to_owned()).one(&state.db).await?.as_ref().map(throttle_state))
}

/// Takes one try on `key`: compare-and-swap on the stored state, so two
/// requests never both take the last free try.
pub(crate) async fn reserve(state: &AppState, key: &str, throttle: Throttle, now: i64) -> Result<(), ServiceError> {
    for _ in 0..16 {
        login_throttle::Entity::insert(login_throttle::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(0),
            next_allowed_at: Set(0),
            updated_at: Set(now),
        })
        .on_conflict(OnConflict::column(login_throttle::Column::Key).do_nothing().to_owned())
        .try_insert()
        .exec(&state.db)
        .await?;
        // The hourly purge may take a quiet key between the insert and this read: start again.
        let Some(row) = login_throttle::Entity::find_by_id(key.to_owned()).one(&state.db).await? else {
            continue;
        };
        let next = match throttle.admit(Some(throttle_state(&row)), now) {
            Admission::Wait(_) => return Err(ServiceError::RateLimited),
            Admission::Reserve(next) => next,
        };
        let taken = login_throttle::Entity::update_many()
            .col_expr(login_throttle::Column::Failures, Expr::value(i32::try_from(next.failures).unwrap_or(i32::MAX)))
            .col_expr(login_throttle::Column::NextAllowedAt, Expr::value(next.next_allowed_at))
            .col_expr(login_throttle::Column::UpdatedAt, Expr::value(next.updated_at))
            .filter(login_throttle::Column::Key.eq(key))
            .filter(login_throttle::Column::Failures.eq(row.failures))
            .filter(login_throttle::Column::NextAllowedAt.eq(row.next_allowed_at))
            .filter(login_throttle::Column::UpdatedAt.eq(row.updated_at))
            .exec(&state.db)
            .await?;
        if taken.rows_affected == 1 {
            return Ok(());
        }
    }
    // Sixteen lost races in a row: this key is under a flood.
    Err(ServiceError::RateLimited)
}

static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("no such user").unwrap_or_default());

/// 256 random bits, URL-safe: a session's or a single-use link's token (never stored).
#[must_use]
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a token: its SHA-256.
#[must_use]
pub fn token_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Closes the session of `token`.
///
/// # Errors
/// Database failure.
pub async fn logout(state: &AppState, token: &str) -> Result<(), ServiceError> {
    session::Entity::delete_by_id(token_id(token)).exec(&state.db).await?;
    Ok(())
}

/// The session cookie's name: `__Host-` on https (Secure, whole site, no
/// Domain: a sibling subdomain cannot plant or overwrite it); plain on a
/// development http address, where browsers refuse `__Host-`.
#[must_use]
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.app_base_url.scheme() == "https" { HOST_SESSION_COOKIE } else { SESSION_COOKIE }
}

/// The session token in a `Cookie` header.
#[must_use]
pub fn token_from_cookies<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The session token a request carries, if any.
#[must_use]
pub fn token_of_request<'a>(state: &AppState, headers: &'a http::HeaderMap) -> Option<&'a str> {
    let cookies = headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    token_from_cookies(cookies, cookie_name(state))
}

/// Sessions are touched at most this often (one write a minute, not one a request).
const TOUCH_EVERY_MS: i64 = 60_000;

/// The user of a session token, if the session is alive: not past its
/// lifetime, and used recently enough for its role (admins idle out sooner).
///
/// # Errors
/// Database failure.
pub async fn user_for_token(state: &AppState, token: &str) -> Result<Option<CurrentUser>, ServiceError> {
    let now = state.now_ms();
    let Some(session) = session::Entity::find_by_id(token_id(token)).one(&state.db).await? else {
        return Ok(None);
    };
    if session.expires_at < now {
        return Ok(None);
    }
    let Some(user) = user::Entity::find_by_id(session.user_id).one(&state.db).await? else {
        return Ok(None);
    };
    if user.disabled_at.is_some() {
        return Ok(None);
    }
    // A session opened by a first factor alone while the second factor was being turned on
    // (a login racing the enrolment) is no session.
    if user.totp_secret.is_some() && !session.second_factor {
        session::Entity::delete_by_id(session.id).exec(&state.db).await?;
        return Ok(None);
    }
    let mut user = CurrentUser::try_from(user)?;
    user.second_factor = session.second_factor;
    let idle = match user.role {
        Role::Admin => state.settings.session_idle_admin,
        Role::Customer => state.settings.session_idle_customer,
    };
    let last_seen = session.last_seen_at.unwrap_or(session.created_at);
    if now - last_seen > i64::try_from(idle.as_millis()).unwrap_or(i64::MAX) {
        session::Entity::delete_by_id(session.id).exec(&state.db).await?;
        return Ok(None);
    }
    if now - last_seen >= TOUCH_EVERY_MS {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(session.id))
            .exec(&state.db)
            .await?;
    }
    Ok(Some(user))
}

/// The user behind a request's session cookie, if any: the one way every
/// HTTP entry (server functions and plain routes) authenticates.
///
/// # Errors
/// Database failure.
pub async fn user_of_request(state: &AppState, headers: &http::HeaderMap) -> Result<Option<CurrentUser>, ServiceError> {
    match token_of_request(state, headers) {
        Some(token) => user_for_token(state, token).await,
        None => Ok(None),
    }
}

/// The logged-in user of a request, who must hold `role` when one is asked;
/// an admin's powers also need a second factor when the settings require one.
///
/// # Errors
/// `Unauthenticated` without a live session, `Forbidden` for another role,
/// `Refused(SecondFactorSetupRequired)` (see [`admin_powers`]), database failure.
pub async fn require(
    state: &AppState,
    headers: &http::HeaderMap,
    role: Option<Role>,
) -> Result<CurrentUser, ServiceError> {
    let user = user_of_request(state, headers).await?.ok_or(ServiceError::Unauthenticated)?;
    match role {
        Some(role) if user.role != role => Err(ServiceError::Forbidden),
        Some(Role::Admin) => admin_powers(state, user),
        _ => Ok(user),
    }
}

/// The admin, if they may act as one: when the settings require a second
/// factor (`ADMIN_TOTP_REQUIRED`), an admin whose session did not pass one may only set it up.
///
/// # Errors
/// `Refused(SecondFactorSetupRequired)`.
pub fn admin_powers(state: &AppState, admin: CurrentUser) -> Result<CurrentUser, ServiceError> {
    if state.settings.admin_totp_required && !admin.second_factor {
        return Err(Refusal::SecondFactorSetupRequired.into());
    }
    Ok(admin)
}

/// The logged-in admin setting up their second factor: the one thing
/// [`admin_powers`] leaves to an admin without one.
///
/// # Errors
/// `Unauthenticated`, `Forbidden` for a customer, database failure.
pub async fn require_admin_account(state: &AppState, headers: &http::HeaderMap) -> Result<CurrentUser, ServiceError> {
    let user = user_of_request(state, headers).await?.ok_or(ServiceError::Unauthenticated)?;
    if user.role != Role::Admin {
        return Err(ServiceError::Forbidden);
    }
    Ok(user)
}

/// Deletes sessions past their lifetime, login records past a month and links a day past their expiry;
/// returns how many rows went.
///
/// # Errors
/// Database failure.
pub async fn purge(state: &AppState) -> Result<u64, ServiceError> {
    let now = state.now_ms();
    let longest_idle = state.settings.session_idle_admin.max(state.settings.session_idle_customer);
    let idle_ms = i64::try_from(longest_idle.as_millis()).unwrap_or(i64::MAX);
    let sessions = session::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(session::Column::ExpiresAt.lt(now))
                .add(session::Column::LastSeenAt.lt(now.saturating_sub(idle_ms))),
        )
        .exec(&state.db)
        .await?;
    let attempts = login_attempt::Entity::delete_many()
        .filter(login_attempt::Column::CreatedAt.lt(now - LOGIN_RECORD_TTL_MS))
        .exec(&state.db)
        .await?;
    // Single-use links (set a password, log in, second steps) a day past their expiry.
    let links = login_link::Entity::delete_many()
        .filter(login_link::Column::ExpiresAt.lt(now - 24 * 3_600_000))
        .exec(&state.db)
        .await?;
    let throttles = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::UpdatedAt.lt(now - FORGET_AFTER_MS))
        .filter(login_throttle::Column::NextAllowedAt.lt(now))
        .exec(&state.db)
        .await?;
    Ok(sessions.rows_affected + attempts.rows_affected + links.rows_affected + throttles.rows_affected)
}

/// The `Set-Cookie` value opening a session.
#[must_use]
pub fn session_cookie(state: &AppState, token: &str) -> String {
    let secure = secure_attribute(state);
    format!("{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", cookie_name(state), SESSION_TTL_MS / 1000)
}

/// `; Secure` on https (where the `__Host-` cookies need it), nothing on a development http address.
fn secure_attribute(state: &AppState) -> &'static str {
    if state.settings.app_base_url.scheme() == "https" { "; Secure" } else { "" }
}

/// The second-step cookie's name (`__Host-` on https, like the session's).
#[must_use]
pub fn challenge_cookie_name(state: &AppState) -> &'static str {
    if state.settings.app_base_url.scheme() == "https" { "__Host-echeancier_2fa" } else { "echeancier_2fa" }
}

/// The `Set-Cookie` value holding a second-step challenge: this browser's only,
/// for its five minutes, never sent cross-site.
#[must_use]
pub fn challenge_cookie(state: &AppState, token: &str) -> String {
    let secure = secure_attribute(state);
    format!("{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=300{secure}", challenge_cookie_name(state))
}

/// The `Set-Cookie` value dropping the second-step challenge.
#[must_use]
pub fn clear_challenge_cookie(state: &AppState) -> String {
    let secure = secure_attribute(state);
    format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", challenge_cookie_name(state))
}

/// The second-step challenge a request carries, if any.
#[must_use]
pub fn challenge_of_request<'a>(state: &AppState, headers: &'a http::HeaderMap) -> Option<&'a str> {
    let cookies = headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    token_from_cookies(cookies, challenge_cookie_name(state))
}

/// The `Set-Cookie` value closing the session.
#[must_use]
pub fn clear_cookie(state: &AppState) -> String {
    let secure = secure_attribute(state);
    format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}", cookie_name(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn an_ipv6_client_is_throttled_as_its_64() {
        assert_eq!(throttle_client("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(throttle_client("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(throttle_client("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(throttle_client("203.0.113.9"), "203.0.113.9");
    }

    #[test]
    fn finds_the_session_cookie_among_others() {
        assert_eq!(token_from_cookies("a=1; echeancier_session=abc; b=2", SESSION_COOKIE), Some("abc"));
        assert_eq!(token_from_cookies("echeancier_session=abc", HOST_SESSION_COOKIE), None);
        assert_eq!(token_from_cookies("a=1", SESSION_COOKIE), None);
    }
}
