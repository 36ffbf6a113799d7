//! Admins: the first one made by `server user create --admin`, the others
//! invited by an admin from the dashboard — each with a single-use,
//! expiring link to choose a password (emailed through the outbox in the
//! transaction that makes the account, or printed when asked: never a
//! password on a command line); listed; disabled, never the last active one.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TryInsertResult,
};

use super::error::ServiceError;
use super::links::{self, Purpose};
use crate::domain::{Email, Field, Invalid, Locale, Refusal, Role, UserId};
use crate::ssr::db;
use crate::ssr::entities::{admin_audit, session, user};
use crate::ssr::state::AppState;

/// Who to make an admin.
#[derive(Clone, Debug)]
pub struct NewAdmin {
    /// Their login.
    pub email: String,
    /// Their name.
    pub name: String,
    /// The language of their emails and pages.
    pub locale: Locale,
}

/// A new admin and the link that lets them choose a password.
#[derive(Clone, Debug)]
pub struct CreatedAdmin {
    /// The account.
    pub id: UserId,
    /// `{APP_BASE_URL}/password/set?token=…` (single use, 72 hours).
    pub link: String,
    /// Whether the link was queued by email.
    pub emailed: bool,
}

/// An admin, as the dashboard lists them.
#[derive(Clone, Debug)]
pub struct AdminRow {
    /// The account.
    pub id: i64,
    /// Login.
    pub email: String,
    /// Name.
    pub name: String,
    /// Has chosen a password.
    pub has_password: bool,
    /// Disabled (kept, never logged in again).
    pub disabled: bool,
    /// Logs in with a second factor.
    pub second_factor: bool,
}

/// Makes an admin account without a password and a link to choose one,
/// emailed (`email_it`) in the same transaction, and returned.
///
/// # Errors
/// `Invalid` (an address or name that does not read, an address taken), database failure.
pub async fn create(
    state: &AppState,
    by: Option<UserId>,
    input: NewAdmin,
    email_it: bool,
) -> Result<CreatedAdmin, ServiceError> {
    let email = Email::parse(&input.email).map_err(|_| Invalid::Field(Field::Email))?;
    let name = crate::domain::text::one_line(&input.name, 100).ok_or(Invalid::Field(Field::Name))?;
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    let new_admin = user::ActiveModel {
        email: Set(email.as_str().to_owned()),
        // No password until the link is used: nothing verifies against an empty hash.
        password_hash: Set(String::new()),
        role: Set(Role::Admin),
        display_name: Set(name.to_owned()),
        locale: Set(input.locale.code().to_owned()),
        created_at: Set(now),
        ..Default::default()
    };
    // The address taken, by anyone (two invites at once, a plan for that customer): the unique address says
    // so, under PostgreSQL's concurrent transactions too, where a read first would let both through.
    let inserted = user::Entity::insert(new_admin)
        .on_conflict(OnConflict::column(user::Column::Email).do_nothing().to_owned())
        .try_insert()
        .exec(&txn)
        .await?;
    let TryInsertResult::Inserted(done) = inserted else {
        return Err(Invalid::EmailTaken.into());
    };
    let created = user::Entity::find_by_id(done.last_insert_id)
        .one(&txn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("admin {} not read back", done.last_insert_id))?;
    let link = links::issue(state, &txn, &created, Purpose::SetPassword, email_it, now).await?;
    audit(&txn, by, "admin.create", &created.email, now).await?;
    txn.commit().await?;
    if email_it {
        state.wake.outbox.notify_one();
    }
    Ok(CreatedAdmin { id: UserId::new(created.id).map_err(anyhow::Error::from)?, link, emailed: email_it })
}

/// Every admin, active first, then by address.
///
/// # Errors
/// Database failure.
pub async fn list(state: &AppState) -> Result<Vec<AdminRow>, ServiceError> {
    let rows = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .order_by_asc(user::Column::DisabledAt.is_not_null())
        .order_by_asc(user::Column::Email)
        .all(&state.db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|u| AdminRow {
            id: u.id,
            has_password: !u.password_hash.is_empty(),
            disabled: u.disabled_at.is_some(),
            second_factor: u.totp_secret.is_some(),
            email: u.email,
            name: u.display_name,
        })
        .collect())
}

/// Disables admin `target` (their sessions end; the account and its trail
/// stay), unless no other active admin could log in then (one who chose a password).
///
/// # Errors
/// `NotFound` (no such active admin), `Refused(LastAdmin)`, database failure.
pub async fn disable(state: &AppState, by: Option<UserId>, target: i64) -> Result<(), ServiceError> {
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    // Every active admin, locked: two admins disabling each other at once cannot leave none.
    let active: Vec<user::Model> = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::DisabledAt.is_null())
        .order_by_asc(user::Column::Id)
        .lock_exclusive()
        .all(&txn)
        .await?;
    let Some(account) = active.iter().find(|u| u.id == target) else {
        return Err(ServiceError::NotFound);
    };
    // Someone must still be able to log in: an invited admin who never chose a password does not count.
    if !active.iter().any(|u| u.id != target && !u.password_hash.is_empty()) {
        return Err(Refusal::LastAdmin.into());
    }
    user::Entity::update_many()
        .col_expr(user::Column::DisabledAt, Expr::value(now))
        .filter(user::Column::Id.eq(target))
        .exec(&txn)
        .await?;
    session::Entity::delete_many().filter(session::Column::UserId.eq(target)).exec(&txn).await?;
    audit(&txn, by, "admin.disable", &account.email, now).await?;
    txn.commit().await?;
    Ok(())
}

/// The admin by address (the command line names them so).
///
/// # Errors
/// `NotFound`, database failure.
pub async fn by_email(state: &AppState, email: &str) -> Result<i64, ServiceError> {
    let email = Email::parse(email).map_err(|_| Invalid::Field(Field::Email))?;
    user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::Role.eq(Role::Admin))
        .into_tuple()
        .one(&state.db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// An admin action in the audit trail (`by`: none for the command line).
pub(crate) async fn audit(
    txn: &sea_orm::DatabaseTransaction,
    by: Option<UserId>,
    action: &str,
    subject: &str,
    now: i64,
) -> Result<(), ServiceError> {
    admin_audit::ActiveModel {
        actor_id: Set(by.map_or(0, UserId::get)),
        action: Set(action.to_owned()),
        subject: Set(subject.to_owned()),
        detail: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}
