//! Single-use links that let someone in: a new admin's link to choose a
//! password, a login link, a password-reset link. Only the SHA-256 of a
//! link's token is stored, with its purpose and expiry; spending it is one
//! guarded update, so two uses racing each other cannot both succeed.
//!
//! Asking for a link (the login page) answers the same whether the address
//! has an account or not, and is throttled per (address, client), per client
//! and per address (a cap whose wait never passes a minute), every request
//! counted alike — so the throttle cannot tell either.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use super::error::ServiceError;
use super::second_factor::{self, Entry};
use crate::domain::{Admission, Email, EmailKind, Field, Invalid, Locale, Throttle};
use crate::ssr::auth;
use crate::ssr::db;
use crate::ssr::email::outbox::{self, NewEmail};
use crate::ssr::entities::{login_link, session, user};
use crate::ssr::state::AppState;

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A new admin chooses a password (72 hours).
    SetPassword,
    /// Log in at once (15 minutes).
    Login,
    /// Choose a new password (1 hour).
    ResetPassword,
    /// The second step of an admin's login: the first factor passed, a code is awaited (5 minutes).
    /// Never emailed: its token is a cookie of the browser that passed the first step.
    SecondFactor,
    /// A customer whose payment failed logs in to pay it now or replace the card (7 days).
    /// Sent inside the payment-failed email, which is written with it.
    PayNow,
}

crate::spelled!(Purpose {
    SetPassword => "set_password",
    Login => "login",
    ResetPassword => "reset_password",
    SecondFactor => "second_factor",
    PayNow => "pay_now",
});

impl Purpose {
    /// How long a link of this purpose works.
    #[must_use]
    pub fn ttl_ms(self) -> i64 {
        match self {
            Self::SetPassword => 72 * 3_600_000,
            Self::Login => 15 * 60_000,
            Self::ResetPassword => 3_600_000,
            Self::SecondFactor => 5 * 60_000,
            Self::PayNow => 7 * 24 * 3_600_000,
        }
    }

    fn email(self) -> Option<EmailKind> {
        match self {
            Self::SetPassword => Some(EmailKind::SetPassword),
            Self::Login => Some(EmailKind::LoginLink),
            Self::ResetPassword => Some(EmailKind::PasswordReset),
            Self::SecondFactor | Self::PayNow => None,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Login | Self::PayNow => "login/link",
            Self::SetPassword | Self::ResetPassword => "password/set",
            Self::SecondFactor => "login/code",
        }
    }
}

/// Asking for links, per (address, client): three free, then one a minute, up to one every 15 minutes.
const PER_PAIR: Throttle = Throttle { free: 3, base_ms: 60_000, max_ms: 15 * 60_000, forget_after_ms: 3_600_000 };
/// Per client, whatever the address (one client asking for many addresses).
const PER_CLIENT: Throttle = Throttle { free: 10, base_ms: 60_000, max_ms: 3_600_000, forget_after_ms: 3_600_000 };
/// Per address, whatever the client: a cap on the mail one address can be sent, whose wait never
/// passes a minute (nobody keeps its owner out of their own login link for long).
const PER_ADDRESS: Throttle = Throttle { free: 20, base_ms: 10_000, max_ms: 60_000, forget_after_ms: 3_600_000 };

/// Writes a link for `account` and, when `email_it`, its email in the same
/// transaction; returns the link (`{APP_BASE_URL}/{path}?token=…`).
///
/// # Errors
/// Database failure.
pub async fn issue(
    state: &AppState,
    txn: &DatabaseTransaction,
    account: &user::Model,
    purpose: Purpose,
    email_it: bool,
    now: i64,
) -> Result<String, ServiceError> {
    let (row, token) = store(txn, account.id, purpose, now).await?;
    let expires_at = row.expires_at;
    let base = state.settings.app_base_url.as_str().trim_end_matches('/');
    let locale = Locale::from_code(&account.locale);
    let link = crate::ui::i18n::in_language(&format!("{base}/{}?token={token}", purpose.path()), locale);
    if email_it && let Some(kind) = purpose.email() {
        let context = serde_json::json!({
            "name": account.display_name,
            "merchant": state.settings.merchant_name,
            "link": link,
            "expires_on": crate::ui::i18n::format_moment(state.local(expires_at), locale),
            "minutes": purpose.ttl_ms() / 60_000,
            "site_url": state.settings.app_base_url.as_str(),
        });
        let email = NewEmail {
            dedup_key: kind.link_key(row.id),
            kind,
            locale,
            to: account.email.clone(),
            user_id: Some(account.id),
            echeance_id: None,
            payment_plan_id: None,
            context,
            send_after: now,
        };
        outbox::enqueue(txn, email, now).await?;
    }
    Ok(link)
}

/// Writes a link row of `purpose` for `user_id`; returns it with its token (never stored).
///
/// # Errors
/// Database failure.
pub(crate) async fn store(
    txn: &DatabaseTransaction,
    user_id: i64,
    purpose: Purpose,
    now: i64,
) -> Result<(login_link::Model, String), ServiceError> {
    let token = auth::random_token();
    let row = login_link::ActiveModel {
        user_id: Set(user_id),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(auth::token_id(&token)),
        expires_at: Set(now + purpose.ttl_ms()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok((row, token))
}

/// The live link of `token` if it is of `purpose` (unused, unexpired); nothing is spent.
///
/// # Errors
/// Database failure.
pub(crate) async fn find(
    db: &impl sea_orm::ConnectionTrait,
    token: &str,
    purpose: Purpose,
    now: i64,
) -> Result<Option<login_link::Model>, ServiceError> {
    Ok(login_link::Entity::find()
        .filter(login_link::Column::TokenHash.eq(auth::token_id(token)))
        .one(db)
        .await?
        .filter(|l| l.purpose == purpose.as_str() && l.used_at.is_none() && l.expires_at > now))
}

/// Spends the link of `token` if it is one of `purposes`, unused, unexpired and its account
/// not disabled; returns the account.
///
/// # Errors
/// `InvalidLink` otherwise; database failure.
pub async fn spend(
    txn: &DatabaseTransaction,
    token: &str,
    purposes: &[Purpose],
    now: i64,
) -> Result<user::Model, ServiceError> {
    let link = login_link::Entity::find()
        .filter(login_link::Column::TokenHash.eq(auth::token_id(token)))
        .one(txn)
        .await?
        .filter(|l| purposes.iter().any(|p| p.as_str() == l.purpose) && l.used_at.is_none() && l.expires_at > now)
        .ok_or(ServiceError::InvalidLink)?;
    let account = user::Entity::find_by_id(link.user_id)
        .one(txn)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or(ServiceError::InvalidLink)?;
    // Spent once: a second use racing this one finds it used.
    let spent = login_link::Entity::update_many()
        .col_expr(login_link::Column::UsedAt, Expr::value(now))
        .filter(login_link::Column::Id.eq(link.id))
        .filter(login_link::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    if spent.rows_affected != 1 {
        return Err(ServiceError::InvalidLink);
    }
    Ok(account)
}

/// « Recevoir un lien de connexion » / « Mot de passe oublié »: emails a link of
/// `purpose` to the account of `email` if there is one (not disabled); the
/// answer is the same either way.
///
/// # Errors
/// `Invalid` for an address that does not read, `RateLimited` past the
/// throttle of the address or of the client (counted for every request),
/// database failure.
pub async fn request(state: &AppState, email: &str, purpose: Purpose, client: &str) -> Result<(), ServiceError> {
    let email = Email::parse(email).map_err(|_| Invalid::Field(Field::Email))?;
    let now = state.now_ms();
    let client = auth::throttle_client(client);
    let pair = format!("link-pair:{}|{client}", email.as_str());
    let address = format!("link-address:{}", email.as_str());
    let client = format!("link-client:{client}");
    let keys = [(pair.as_str(), PER_PAIR), (client.as_str(), PER_CLIENT), (address.as_str(), PER_ADDRESS)];
    for (key, throttle) in keys {
        if let Admission::Wait(_) = throttle.admit(auth::stored(state, key).await?, now) {
            return Err(ServiceError::RateLimited);
        }
    }
    for (key, throttle) in keys {
        auth::reserve(state, key, throttle, now).await?;
    }
    let txn = db::begin_write(&state.db).await?;
    let account = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::DisabledAt.is_null())
        .one(&txn)
        .await?;
    if let Some(account) = account {
        issue(state, &txn, &account, purpose, true, now).await?;
    }
    txn.commit().await?;
    state.wake.outbox.notify_one();
    Ok(())
}

/// Logs in through a login link (spent): a session, or the second step for an
/// admin whose account has a second factor (a link is a first factor only).
///
/// # Errors
/// `InvalidLink` (unknown, used, expired, another purpose, a disabled account); database failure.
pub async fn log_in(state: &AppState, token: &str) -> Result<Entry, ServiceError> {
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    let account = spend(&txn, token, &[Purpose::Login, Purpose::PayNow], now).await?;
    let entry = second_factor::enter(&txn, account, now).await?;
    txn.commit().await?;
    Ok(entry)
}

/// Sets the password of a set-password or reset link's account (typed twice),
/// ends their other sessions and logs them in — or, for an account with a
/// second factor, leads to the second step; the link is spent.
///
/// # Errors
/// `Invalid(Field(Password))` for a password out of 12–128 characters or typed
/// differently (nothing is spent); `InvalidLink` as [`spend`]; database failure.
pub async fn set_password(state: &AppState, token: &str, password: &str, again: &str) -> Result<Entry, ServiceError> {
    const CHARS: std::ops::RangeInclusive<usize> = 12..=128;
    if !CHARS.contains(&password.chars().count()) || password != again {
        return Err(Invalid::Field(Field::Password).into());
    }
    let owned = password.to_owned();
    let hash = state.guards.hash(move || auth::hash_password(&owned)).await??;
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    let account = spend(&txn, token, &[Purpose::SetPassword, Purpose::ResetPassword], now).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .filter(user::Column::Id.eq(account.id))
        .exec(&txn)
        .await?;
    // Whoever knew the old password is logged out, and the account's other links stop working.
    session::Entity::delete_many().filter(session::Column::UserId.eq(account.id)).exec(&txn).await?;
    login_link::Entity::update_many()
        .col_expr(login_link::Column::UsedAt, Expr::value(now))
        .filter(login_link::Column::UserId.eq(account.id))
        .filter(login_link::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    let entry = second_factor::enter(&txn, account, now).await?;
    txn.commit().await?;
    Ok(entry)
}
