//! Admins' second factor: a TOTP authenticator app (RFC 6238: six digits,
//! 30-second steps, one step of drift either way) and ten single-use recovery
//! codes for the day the phone is lost.
//!
//! - **Entering.** Every way in that proves the first factor (a password, a
//!   login link, a new password through a link) goes through [`enter`]: an
//!   account with a second factor gets no session but a five-minute challenge
//!   (a single-use link row of purpose `second_factor`, its token a cookie of
//!   that browser), which [`pass`] exchanges for a session against a code.
//!   The session row says it passed; a session of an account with a second
//!   factor that did not pass (a login racing the enrolment) is no session.
//! - **A code works once.** The step of the last accepted code is kept and a
//!   code is accepted only for a later step (a guarded update: two requests
//!   racing with one code cannot both pass); a recovery code is spent by a
//!   guarded update too. Wrong codes are throttled per account.
//! - **The secret** is sealed with the app's secret before it is stored: a copy
//!   of the database alone gives no codes. Recovery codes are stored as HMACs under it.
//! - **Enforced by a setting** (`ADMIN_TOTP_REQUIRED`): an admin without a
//!   second factor may then only set one up ([`crate::ssr::auth::require`]), and
//!   nobody can turn theirs off. An admin who lost both the app and the codes is
//!   reset from the command line (`server user reset-second-factor`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use secrecy::ExposeSecret;
use sha2::Sha256;
use totp_rs::{Builder, Secret, Totp};

use super::error::ServiceError;
use super::links::{self, Purpose};
use crate::domain::{Invalid, Refusal, Throttle, UserId};
use crate::ssr::auth::{self, CurrentUser, OpenedSession};
use crate::ssr::entities::{login_attempt, login_link, login_throttle, recovery_code, session, user};
use crate::ssr::state::AppState;
use crate::ssr::{db, repo};

/// Recovery codes given at once.
pub const RECOVERY_CODES: usize = 10;
/// Wrong codes per account: five free, then 1 s, 2 s, 4 s… up to five minutes.
const PER_ACCOUNT: Throttle = Throttle { free: 5, base_ms: 1_000, max_ms: 5 * 60_000, forget_after_ms: 3_600_000 };
/// Recovery codes are drawn from letters and digits that cannot be misread (no 0/o, 1/l/i).
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Where a first factor leads.
#[derive(Clone, Debug)]
pub enum Entry {
    /// Logged in.
    Session(OpenedSession),
    /// A code is awaited: the challenge's token (a cookie of this browser, never a URL).
    SecondFactor(String),
}

/// What the security page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The second factor is on.
    pub on: bool,
    /// The settings require it of every admin.
    pub required: bool,
    /// Recovery codes not used yet.
    pub codes_left: u64,
}

/// A secret being enrolled: what the authenticator app needs.
#[derive(Clone, Debug)]
pub struct Enrollment {
    /// The secret in base32, for typing it in.
    pub secret: String,
    /// The `otpauth://` URI (what the QR code holds).
    pub uri: String,
    /// The QR code, an SVG drawing.
    pub qr_svg: String,
}

/// After the first factor: a session, or — when the account has a second factor — a challenge.
///
/// # Errors
/// Database failure.
pub async fn enter(txn: &DatabaseTransaction, account: user::Model, now: i64) -> Result<Entry, ServiceError> {
    if account.totp_secret.is_some() {
        let (_, token) = links::store(txn, account.id, Purpose::SecondFactor, now).await?;
        return Ok(Entry::SecondFactor(token));
    }
    Ok(Entry::Session(auth::open_session(txn, CurrentUser::try_from(account)?, now).await?))
}

/// The second step of a login: the challenge's code (from the app, or a recovery code) opens the session.
///
/// # Errors
/// `Unauthenticated` for a challenge unknown, used or expired (log in again),
/// `RateLimited` after too many wrong codes on the account, `Invalid(WrongCode)`
/// for a wrong or already used code; database failure.
pub async fn pass(state: &AppState, challenge: &str, code: &str, client: &str) -> Result<OpenedSession, ServiceError> {
    let now = state.now_ms();
    let link =
        links::find(&state.db, challenge, Purpose::SecondFactor, now).await?.ok_or(ServiceError::Unauthenticated)?;
    let account = user::Entity::find_by_id(link.user_id)
        .one(&state.db)
        .await?
        .filter(|u| u.disabled_at.is_none() && u.totp_secret.is_some())
        .ok_or(ServiceError::Unauthenticated)?;
    let key = throttle_key(account.id);
    auth::reserve(state, &key, PER_ACCOUNT, now).await?;
    let txn = db::begin_write(&state.db).await?;
    let used = accept(state, &txn, &account, code, now).await?;
    login_attempt::ActiveModel {
        email: Set(account.email.clone()),
        ip: Set(auth::throttle_client(client)),
        succeeded: Set(used.is_some()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let Some(used) = used else {
        txn.commit().await?;
        return Err(Invalid::WrongCode.into());
    };
    links::spend(&txn, challenge, &[Purpose::SecondFactor], now).await.map_err(|_| ServiceError::Unauthenticated)?;
    login_throttle::Entity::delete_by_id(key).exec(&txn).await?;
    if used == Used::RecoveryCode {
        audit(&txn, account.id, "second_factor.recovery_code_used", now).await?;
    }
    let mut user = CurrentUser::try_from(account)?;
    user.second_factor = true;
    let opened = auth::open_session(&txn, user, now).await?;
    txn.commit().await?;
    Ok(opened)
}

/// Where the admin's second factor stands.
///
/// # Errors
/// Database failure.
pub async fn status(state: &AppState, me: UserId) -> Result<Status, ServiceError> {
    let account = account(state, me).await?;
    let codes_left = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(account.id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(&state.db)
        .await?;
    Ok(Status {
        on: account.totp_secret.is_some(),
        required: state.settings.admin_totp_required,
        codes_left: if account.totp_secret.is_some() { codes_left } else { 0 },
    })
}

/// Starts enrolling an authenticator app: a new secret, kept aside until a first code confirms it.
///
/// # Errors
/// `Refused(SecondFactorOn)` when one is on already; database failure.
pub async fn begin(state: &AppState, me: UserId) -> Result<Enrollment, ServiceError> {
    let account = account(state, me).await?;
    if account.totp_secret.is_some() {
        return Err(Refusal::SecondFactorOn.into());
    }
    let mut bytes = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    user::Entity::update_many()
        .col_expr(user::Column::TotpPending, Expr::value(seal(state, &bytes)))
        .filter(user::Column::Id.eq(account.id))
        .exec(&state.db)
        .await?;
    let totp = totp_of(&bytes, Some((&state.settings.merchant_name, &account.email)))?;
    let uri = totp.to_url().map_err(|e| anyhow::anyhow!("otpauth URI: {e:?}"))?;
    Ok(Enrollment { secret: totp.secret().to_base32(), qr_svg: qr_svg(&uri)?, uri })
}

/// Confirms the enrolment with the password and a first code: the second
/// factor is on, this session counts as having passed it, the admin's other
/// sessions end (they did not), and the recovery codes are returned — shown
/// once, stored only as keyed hashes. The password is asked again so that a
/// session alone (a cookie taken, a login link read in the mailbox) cannot
/// tie the account to someone else's phone.
///
/// # Errors
/// `Invalid(WrongPassword)` for a wrong password, `Invalid(WrongSetupCode)` for a code that is
/// not the pending key's, `Refused(EnrolmentGone)` when no key waits (never begun, or begun again
/// elsewhere), `Refused(SecondFactorOn)` when one is on already (or was turned on meanwhile),
/// `RateLimited`; database failure.
pub async fn confirm(
    state: &AppState,
    me: UserId,
    session_token: &str,
    password: &str,
    code: &str,
) -> Result<Vec<String>, ServiceError> {
    let now = state.now_ms();
    let account = account(state, me).await?;
    if account.totp_secret.is_some() {
        return Err(Refusal::SecondFactorOn.into());
    }
    let key = throttle_key(account.id);
    auth::reserve(state, &key, PER_ACCOUNT, now).await?;
    let (typed, hash) = (password.to_owned(), account.password_hash.clone());
    if !state.guards.hash(move || auth::verify_password(&typed, &hash)).await? {
        return Err(Invalid::WrongPassword.into());
    }
    let pending = account.totp_pending.clone().ok_or(Refusal::EnrolmentGone)?;
    let bytes = unseal(state, &pending).secret().ok_or(Refusal::EnrolmentGone)?;
    let step = step_of(&bytes, &digits_of(code), now)?.ok_or(Invalid::WrongSetupCode)?;
    let txn = db::begin_write(&state.db).await?;
    let turned_on = user::Entity::update_many()
        .col_expr(user::Column::TotpSecret, Expr::value(pending.clone()))
        .col_expr(user::Column::TotpPending, Expr::value(Option::<String>::None))
        .col_expr(user::Column::TotpLastStep, Expr::value(step))
        .col_expr(user::Column::TotpEnabledAt, Expr::value(now))
        .filter(user::Column::Id.eq(account.id))
        .filter(user::Column::TotpSecret.is_null())
        .filter(user::Column::TotpPending.eq(pending))
        .exec(&txn)
        .await?;
    if turned_on.rows_affected != 1 {
        // Turned on meanwhile, or another enrolment began: this code was for a secret no longer kept.
        drop(txn);
        let now_on = self::account(state, me).await?.totp_secret.is_some();
        return Err(if now_on { Refusal::SecondFactorOn } else { Refusal::EnrolmentGone }.into());
    }
    let this_session = auth::token_id(session_token);
    session::Entity::update_many()
        .col_expr(session::Column::SecondFactor, Expr::value(true))
        .filter(session::Column::Id.eq(this_session.as_str()))
        .filter(session::Column::UserId.eq(account.id))
        .exec(&txn)
        .await?;
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(account.id))
        .filter(session::Column::Id.ne(this_session))
        .exec(&txn)
        .await?;
    let codes = new_recovery_codes(state, &txn, account.id, now).await?;
    login_throttle::Entity::delete_by_id(key).exec(&txn).await?;
    audit(&txn, account.id, "second_factor.enabled", now).await?;
    txn.commit().await?;
    Ok(codes)
}

/// New recovery codes (the old ones stop working), against a current code.
///
/// # Errors
/// `Refused(SecondFactorOff)`, `RateLimited`, `Invalid(WrongCode)`; database failure.
pub async fn renew_codes(state: &AppState, me: UserId, code: &str) -> Result<Vec<String>, ServiceError> {
    let now = state.now_ms();
    let (account, txn) = checked(state, me, code, now).await?;
    let codes = new_recovery_codes(state, &txn, account.id, now).await?;
    audit(&txn, account.id, "second_factor.codes_renewed", now).await?;
    txn.commit().await?;
    Ok(codes)
}

/// Turns the second factor off, against a current code — unless the settings require it.
///
/// # Errors
/// `Refused(SecondFactorRequired)`, `Refused(SecondFactorOff)`, `RateLimited`,
/// `Invalid(WrongCode)`; database failure.
pub async fn turn_off(state: &AppState, me: UserId, code: &str) -> Result<(), ServiceError> {
    if state.settings.admin_totp_required {
        return Err(Refusal::SecondFactorRequired.into());
    }
    let now = state.now_ms();
    let (account, txn) = checked(state, me, code, now).await?;
    clear(&txn, account.id, now).await?;
    audit(&txn, account.id, "second_factor.disabled", now).await?;
    txn.commit().await?;
    Ok(())
}

/// The command line's way back for an admin who lost the app and the codes:
/// the second factor off, their sessions ended. When the settings require
/// one, they set it up again at their next login.
///
/// # Errors
/// `NotFound` (no such admin); database failure.
pub async fn reset(state: &AppState, email: &str) -> Result<(), ServiceError> {
    let id = super::admins::by_email(state, email).await?;
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    clear(&txn, id, now).await?;
    session::Entity::delete_many().filter(session::Column::UserId.eq(id)).exec(&txn).await?;
    super::admins::audit(&txn, None, "second_factor.reset", &format!("user:{id}"), now).await?;
    txn.commit().await?;
    Ok(())
}

/// The throttle key of an account's codes (wrong codes at login, enrolment, renewal, turning off).
fn throttle_key(user_id: i64) -> String {
    format!("second-factor:{user_id}")
}

/// The account, its second factor on, and a current code accepted (throttled), in an open transaction.
async fn checked(
    state: &AppState,
    me: UserId,
    code: &str,
    now: i64,
) -> Result<(user::Model, DatabaseTransaction), ServiceError> {
    let account = account(state, me).await?;
    if account.totp_secret.is_none() {
        return Err(Refusal::SecondFactorOff.into());
    }
    let key = throttle_key(account.id);
    auth::reserve(state, &key, PER_ACCOUNT, now).await?;
    let txn = db::begin_write(&state.db).await?;
    if accept(state, &txn, &account, code, now).await?.is_none() {
        return Err(Invalid::WrongCode.into());
    }
    login_throttle::Entity::delete_by_id(key).exec(&txn).await?;
    Ok((account, txn))
}

async fn account(state: &AppState, me: UserId) -> Result<user::Model, ServiceError> {
    user::Entity::find_by_id(me.get()).one(&state.db).await?.ok_or(ServiceError::NotFound)
}

/// What a code turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Used {
    /// The app's code of a step not used before.
    AppCode,
    /// One of the recovery codes, now spent.
    RecoveryCode,
}

/// Accepts `code` for `account` in `txn` and spends it (its step, or the recovery code); none if wrong or used.
///
/// The account's row is locked first ([`repo::users::lock`]): what spends a code and then
/// replaces or deletes all of them (a renewal, turning off) takes turns with every other use
/// of the account's codes. Without it, on PostgreSQL, two renewals with two recovery codes
/// each locked their own code and then waited for the other's: a deadlock, and a 500.
async fn accept(
    state: &AppState,
    txn: &DatabaseTransaction,
    account: &user::Model,
    code: &str,
    now: i64,
) -> Result<Option<Used>, ServiceError> {
    let account = &repo::users::lock(txn, UserId::new(account.id).map_err(anyhow::Error::from)?).await?;
    let code = digits_of(code);
    // Sealed under another APP_SECRET: the recovery codes' hashes are keyed by it too, so no
    // code of either kind can be right; the admin is told so rather than « wrong code ».
    let unsealed = account.totp_secret.as_deref().map(|sealed| unseal(state, sealed));
    if unsealed == Some(Unsealed::Foreign) {
        tracing::error!(
            user_id = account.id,
            "second factor sealed under another APP_SECRET: reset it (`server user reset-second-factor`)"
        );
        return Err(Refusal::SecondFactorUnreadable.into());
    }
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let (bytes, tagged) = match unsealed {
            Some(Unsealed::Secret(bytes)) => (bytes, true),
            Some(Unsealed::Untagged(bytes)) => (bytes, false),
            Some(Unsealed::Foreign) | None => return Ok(None),
        };
        let Some(step) = step_of(&bytes, &code, now)? else {
            return Ok(None);
        };
        // Only a later step than the last accepted one: a code seen over a shoulder is spent.
        let mut spend = user::Entity::update_many().col_expr(user::Column::TotpLastStep, Expr::value(step));
        if let (false, Ok(secret)) = (tagged, <[u8; 20]>::try_from(bytes.as_slice())) {
            // An untagged seal that just gave a right code: sealed again, with its tag.
            spend = spend.col_expr(user::Column::TotpSecret, Expr::value(seal(state, &secret)));
        }
        let spent = spend
            .filter(user::Column::Id.eq(account.id))
            .filter(
                sea_orm::Condition::any()
                    .add(user::Column::TotpLastStep.is_null())
                    .add(user::Column::TotpLastStep.lt(step)),
            )
            .exec(txn)
            .await?;
        return Ok((spent.rows_affected == 1).then_some(Used::AppCode));
    }
    let spent = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::UserId.eq(account.id))
        .filter(recovery_code::Column::CodeHash.eq(recovery_hash(state, account.id, &code)))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    Ok((spent.rows_affected == 1).then_some(Used::RecoveryCode))
}

/// A code as typed, without its spaces and dashes ("123 456", "abcde-fghjk").
fn digits_of(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect()
}

/// The time step `code` belongs to (now, or one step either side), if it is right.
fn step_of(secret: &[u8], code: &str, now_ms: i64) -> Result<Option<i64>, ServiceError> {
    let totp = totp_of(secret, None)?;
    let now = u64::try_from(now_ms / 1000).unwrap_or(0);
    Ok(totp.check(code, now).and_then(|step| i64::try_from(step).ok()))
}

fn totp_of(secret: &[u8], label: Option<(&str, &str)>) -> Result<Totp, ServiceError> {
    let builder = Builder::new().with_secret(Secret::from(secret.to_vec()));
    // The issuer and account are only for the app's display; a colon would split them.
    let builder = match label {
        Some((issuer, account)) => {
            builder.with_issuer(Some(issuer.replace(':', " "))).with_account_name(account.replace(':', " "))
        }
        None => builder,
    };
    Ok(builder.build().map_err(|e| anyhow::anyhow!("TOTP: {e:?}"))?)
}

/// Bytes of a sealed secret's tag.
const TAG: usize = 16;

/// Seals a secret: `v2.` and, in base64, a random nonce, the secret XORed with
/// HMAC-SHA256(app secret, nonce) — a fresh pad per sealing — and a tag,
/// HMAC-SHA256(app secret, nonce and sealed bytes) cut to [`TAG`] bytes: what
/// another `APP_SECRET` (or a changed row) would open is refused, not read as another key.
fn seal(state: &AppState, secret: &[u8; 20]) -> String {
    let mut nonce = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut nonce);
    let pad = pad(state, &nonce);
    let mut sealed = nonce.to_vec();
    sealed.extend(secret.iter().zip(pad.iter()).map(|(s, p)| s ^ p));
    let tag = tag(state, &sealed).finalize().into_bytes();
    sealed.extend_from_slice(&tag[..TAG]);
    format!("v2.{}", URL_SAFE_NO_PAD.encode(sealed))
}

/// A sealed secret, opened.
#[derive(Debug, PartialEq, Eq)]
enum Unsealed {
    /// The secret, from a `v2.` seal whose tag holds.
    Secret(Vec<u8>),
    /// The secret, from a `v1.` seal (no tag, written before `v2.`): bytes that cannot be told
    /// from another secret's when `APP_SECRET` changed. Sealed again as `v2.` once a code of it is accepted.
    Untagged(Vec<u8>),
    /// Not a seal of this `APP_SECRET`: its tag does not hold, or it does not parse.
    Foreign,
}

fn unseal(state: &AppState, sealed: &str) -> Unsealed {
    let open = |raw: &[u8]| -> Option<Vec<u8>> {
        let (nonce, body) = raw.split_at_checked(16)?;
        let pad = pad(state, nonce);
        (body.len() <= pad.len()).then(|| body.iter().zip(pad.iter()).map(|(s, p)| s ^ p).collect())
    };
    let decode = |prefix: &str| sealed.strip_prefix(prefix).and_then(|b| URL_SAFE_NO_PAD.decode(b).ok());
    if let Some(raw) = decode("v2.") {
        let opened = raw.split_at_checked(raw.len().saturating_sub(TAG)).and_then(|(sealed, given)| {
            tag(state, sealed).verify_truncated_left(given).ok()?;
            open(sealed)
        });
        return opened.map_or(Unsealed::Foreign, Unsealed::Secret);
    }
    decode("v1.").as_deref().and_then(open).map_or(Unsealed::Foreign, Unsealed::Untagged)
}

impl Unsealed {
    /// The secret, when it opened (tagged or not).
    fn secret(self) -> Option<Vec<u8>> {
        match self {
            Self::Secret(bytes) | Self::Untagged(bytes) => Some(bytes),
            Self::Foreign => None,
        }
    }
}

fn pad(state: &AppState, nonce: &[u8]) -> [u8; 32] {
    keyed(state, b"echeancier-totp-seal:", nonce).finalize().into_bytes().into()
}

fn tag(state: &AppState, sealed: &[u8]) -> Hmac<Sha256> {
    keyed(state, b"echeancier-totp-tag:", sealed)
}

fn keyed(state: &AppState, purpose: &[u8], bytes: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(state.settings.app_secret.expose_secret().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(purpose);
    mac.update(bytes);
    mac
}

/// Writes [`RECOVERY_CODES`] new codes for `user_id` (the old ones deleted); returns them as shown.
async fn new_recovery_codes(
    state: &AppState,
    txn: &DatabaseTransaction,
    user_id: i64,
    now: i64,
) -> Result<Vec<String>, ServiceError> {
    let codes: Vec<String> = {
        let mut rng = rand::thread_rng();
        (0..RECOVERY_CODES)
            .map(|_| {
                (0..10)
                    .map(|_| char::from(CODE_ALPHABET[rand::Rng::gen_range(&mut rng, 0..CODE_ALPHABET.len())]))
                    .collect()
            })
            .collect()
    };
    recovery_code::Entity::delete_many().filter(recovery_code::Column::UserId.eq(user_id)).exec(txn).await?;
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    for chars in codes {
        recovery_code::ActiveModel {
            user_id: Set(user_id),
            code_hash: Set(recovery_hash(state, user_id, &chars)),
            used_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        shown.push(format!("{}-{}", &chars[..5], &chars[5..]));
    }
    Ok(shown)
}

/// What is stored of a recovery code (typed with or without its dash, in any case): an
/// HMAC-SHA256 keyed with the app's secret, so a copy of the database alone cannot be
/// searched for the codes (ten letters of 31 are about 50 bits: not enough against a GPU).
fn recovery_hash(state: &AppState, user_id: i64, code: &str) -> String {
    recovery_hash_with(state.settings.app_secret.expose_secret().as_bytes(), user_id, code)
}

fn recovery_hash_with(key: &[u8], user_id: i64, code: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("echeancier-recovery-code:{user_id}:{}", code.to_ascii_lowercase()).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn clear(db: &impl ConnectionTrait, user_id: i64, now: i64) -> Result<(), ServiceError> {
    user::Entity::update_many()
        .col_expr(user::Column::TotpSecret, Expr::value(Option::<String>::None))
        .col_expr(user::Column::TotpPending, Expr::value(Option::<String>::None))
        .col_expr(user::Column::TotpLastStep, Expr::value(Option::<i64>::None))
        .col_expr(user::Column::TotpEnabledAt, Expr::value(Option::<i64>::None))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    recovery_code::Entity::delete_many().filter(recovery_code::Column::UserId.eq(user_id)).exec(db).await?;
    // A second step begun before is over: it must not come back to life with a later enrolment.
    login_link::Entity::update_many()
        .col_expr(login_link::Column::UsedAt, Expr::value(now))
        .filter(login_link::Column::UserId.eq(user_id))
        .filter(login_link::Column::Purpose.eq(Purpose::SecondFactor.as_str()))
        .filter(login_link::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The admin's own change to their second factor, in the audit trail.
async fn audit(txn: &DatabaseTransaction, user_id: i64, action: &str, now: i64) -> Result<(), ServiceError> {
    let by = UserId::new(user_id).map_err(anyhow::Error::from)?;
    super::admins::audit(txn, Some(by), action, &format!("user:{user_id}"), now).await
}

/// The QR code of `text` as an SVG drawing (one path of dark modules, a quiet zone of four).
fn qr_svg(text: &str) -> Result<String, ServiceError> {
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium)
        .map_err(|e| anyhow::anyhow!("QR code: {e:?}"))?;
    let size = qr.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    let full = size + 8;
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" width=\"200\" height=\"200\" \
         shape-rendering=\"crispEdges\" role=\"img\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B (SHA-1, 8 digits there; the last six here are the same HOTP values).
    #[test]
    fn codes_follow_rfc_6238() {
        let totp = totp_of(b"12345678901234567890", None).expect("totp");
        for (time, code) in
            [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")]
        {
            assert_eq!(totp.check(code, time), Some(time / 30), "at {time}");
            assert_eq!(totp.check(code, time + 90), None, "three steps later at {time}");
        }
    }

    #[test]
    fn a_recovery_code_reads_the_same_in_any_case_with_or_without_its_dash() {
        let stored = recovery_hash_with(b"key", 7, "abcdefghjk");
        assert_eq!(recovery_hash_with(b"key", 7, &digits_of("ABCDE-FGHJK")), stored);
        assert_ne!(recovery_hash_with(b"key", 8, "abcdefghjk"), stored, "bound to its account");
        assert_ne!(recovery_hash_with(b"other key", 7, "abcdefghjk"), stored, "keyed with the app's secret");
    }

    #[test]
    fn the_qr_code_is_an_svg_of_dark_modules() {
        let svg = qr_svg("otpauth://totp/Echeancier:admin@example.test?secret=JBSWY3DPEHPK3PXP").expect("qr");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>") && svg.contains("h1v1h-1z"));
    }
}
