//! Accounts: argon2 password hashes, server-side sessions (the cookie holds a
//! random token, the database its SHA-256), a login rate limit per address
//! and per IP. Every server function asks [`require_user`] / [`require_admin`].

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use sha2::{Digest, Sha256};

use super::entities::{login_attempt, session, user};
use super::services::error::ServiceError;
use super::state::AppState;
use crate::domain::{Email, Locale, Role, UserId};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "echeancier_session";
const SESSION_TTL_MS: i64 = 14 * 24 * 3_600_000;
const WINDOW_MS: i64 = 15 * 60_000;
const MAX_FAILURES_PER_EMAIL: u64 = 5;
const MAX_FAILURES_PER_IP: u64 = 30;

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
}

impl TryFrom<user::Model> for CurrentUser {
    type Error = ServiceError;
    fn try_from(u: user::Model) -> Result<Self, Self::Error> {
        Ok(Self {
            id: UserId::new(u.id).map_err(anyhow::Error::from)?,
            role: u.role,
            locale: Locale::from_code(&u.locale),
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

fn verify_password(password: &str, hash: &str) -> bool {
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

/// Checks a login and opens a session.
///
/// # Errors
/// `RateLimited` after too many failures, `Unauthenticated` for a wrong
/// address or password (the same answer for both).
pub async fn login(state: &AppState, email: &str, password: &str, ip: &str) -> Result<OpenedSession, ServiceError> {
    let now = state.now_ms();
    let email = Email::parse(email).map_err(|_| ServiceError::Unauthenticated)?;
    let since = now - WINDOW_MS;
    let failures = |column: login_attempt::Column, value: String| {
        login_attempt::Entity::find()
            .filter(column.eq(value))
            .filter(login_attempt::Column::Succeeded.eq(false))
            .filter(login_attempt::Column::CreatedAt.gte(since))
            .count(&state.db)
    };
    if failures(login_attempt::Column::Email, email.as_str().to_owned()).await? >= MAX_FAILURES_PER_EMAIL
        || failures(login_attempt::Column::Ip, ip.to_owned()).await? >= MAX_FAILURES_PER_IP
    {
        return Err(ServiceError::RateLimited);
    }
    let found = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&state.db).await?;
    // Verify against a dummy hash when the user does not exist, so timing does not tell.
    let ok = match &found {
        Some(u) => verify_password(password, &u.password_hash),
        None => {
            let _ = verify_password(password, &DUMMY_HASH);
            false
        }
    };
    login_attempt::ActiveModel {
        email: Set(email.as_str().to_owned()),
        ip: Set(ip.to_owned()),
        succeeded: Set(ok),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let user = match (ok, found) {
        (true, Some(u)) => CurrentUser::try_from(u)?,
        _ => return Err(ServiceError::Unauthenticated),
    };
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    session::ActiveModel {
        id: Set(token_id(&token)),
        user_id: Set(user.id.get()),
        created_at: Set(now),
        expires_at: Set(now + SESSION_TTL_MS),
    }
    .insert(&state.db)
    .await?;
    Ok(OpenedSession { user, token })
}

static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("no such user").unwrap_or_default());

fn token_id(token: &str) -> String {
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

/// The session token in a `Cookie` header.
#[must_use]
pub fn token_from_cookies(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
}

/// The user of a session token, if the session is alive.
///
/// # Errors
/// Database failure.
pub async fn user_for_token(state: &AppState, token: &str) -> Result<Option<CurrentUser>, ServiceError> {
    let Some(session) = session::Entity::find_by_id(token_id(token)).one(&state.db).await? else {
        return Ok(None);
    };
    if session.expires_at < state.now_ms() {
        return Ok(None);
    }
    user::Entity::find_by_id(session.user_id).one(&state.db).await?.map(CurrentUser::try_from).transpose()
}

/// The user behind a request's session cookie, if any: the one way every
/// HTTP entry (server functions and plain routes) authenticates.
///
/// # Errors
/// Database failure.
pub async fn user_of_request(state: &AppState, headers: &http::HeaderMap) -> Result<Option<CurrentUser>, ServiceError> {
    let cookies = headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    match token_from_cookies(cookies) {
        Some(token) => user_for_token(state, token).await,
        None => Ok(None),
    }
}

/// The logged-in user of a request, who must hold `role` when one is asked.
///
/// # Errors
/// `Unauthenticated` without a live session, `Forbidden` for another role, database failure.
pub async fn require(
    state: &AppState,
    headers: &http::HeaderMap,
    role: Option<Role>,
) -> Result<CurrentUser, ServiceError> {
    let user = user_of_request(state, headers).await?.ok_or(ServiceError::Unauthenticated)?;
    match role {
        Some(role) if user.role != role => Err(ServiceError::Forbidden),
        _ => Ok(user),
    }
}

/// The `Set-Cookie` value opening a session.
#[must_use]
pub fn session_cookie(state: &AppState, token: &str) -> String {
    let secure = if state.settings.app_base_url.scheme() == "https" { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", SESSION_TTL_MS / 1000)
}

/// The `Set-Cookie` value closing the session.
#[must_use]
pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
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
    fn finds_the_session_cookie_among_others() {
        assert_eq!(token_from_cookies("a=1; echeancier_session=abc; b=2"), Some("abc"));
        assert_eq!(token_from_cookies("a=1"), None);
    }
}
