//! `users`: customers and admins.

use sea_orm::entity::prelude::*;

use crate::domain::Role;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub display_name: String,
    pub locale: String,
    pub created_at: i64,
    /// Set when an admin disabled the account: kept, never logged in again.
    pub disabled_at: Option<i64>,
    /// The admin's TOTP secret, sealed with the app's secret (none: no second factor).
    #[sea_orm(column_type = "Text", nullable)]
    pub totp_secret: Option<String>,
    /// A secret being enrolled, until a first code confirms it.
    #[sea_orm(column_type = "Text", nullable)]
    pub totp_pending: Option<String>,
    /// The last time step whose code was accepted: a code works once.
    pub totp_last_step: Option<i64>,
    /// When the second factor was turned on.
    pub totp_enabled_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}

/// Where an erased customer's pseudonymous address is (`efface-42@erased.invalid`): a reserved
/// domain that can receive nothing.
pub const ERASED_DOMAIN: &str = "erased.invalid";

impl Model {
    /// Whether the account was erased (its name and address replaced by a pseudonym).
    #[must_use]
    pub fn is_erased(&self) -> bool {
        self.email.strip_suffix(ERASED_DOMAIN).is_some_and(|local| local.ends_with('@'))
    }
}

impl From<Model> for crate::api::dto::CustomerRef {
    fn from(user: Model) -> Self {
        Self { erased: user.is_erased(), name: user.display_name, email: user.email }
    }
}
