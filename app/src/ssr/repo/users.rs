//! Account queries shared by several services.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};

use crate::domain::UserId;
use crate::ssr::entities::user;
use crate::ssr::services::error::ServiceError;

/// Reads account `id` and locks its row until `txn` ends (`FOR UPDATE` on
/// PostgreSQL; SQLite's write transaction is already exclusive). What one
/// account's writes share (its cards, its second factor) takes this lock
/// first, so that they run in turn instead of locking each other's rows in
/// opposite orders.
///
/// # Errors
/// `NotFound`, database failure.
pub async fn lock(txn: &DatabaseTransaction, id: UserId) -> Result<user::Model, ServiceError> {
    user::Entity::find_by_id(id.get()).lock_exclusive().one(txn).await?.ok_or(ServiceError::NotFound)
}

/// The names of the admins some actors are, by account id.
#[derive(Debug, Default)]
pub struct AdminNames(HashMap<i64, String>);

impl AdminNames {
    /// The name of `actor`, when it is an admin whose account is known.
    #[must_use]
    pub fn of(&self, actor: &crate::domain::Actor) -> Option<String> {
        actor.admin_id().and_then(|id| self.0.get(&id).cloned())
    }
}

/// The names of the admins `actors` name (`admin:3` → its account's name): one query.
///
/// # Errors
/// Database failure.
pub async fn admin_names<'a>(
    db: &impl ConnectionTrait,
    actors: impl IntoIterator<Item = &'a crate::domain::Actor>,
) -> Result<AdminNames, ServiceError> {
    let ids: Vec<i64> = actors.into_iter().filter_map(crate::domain::Actor::admin_id).collect();
    if ids.is_empty() {
        return Ok(AdminNames::default());
    }
    let rows = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(db).await?;
    Ok(AdminNames(rows.into_iter().map(|u| (u.id, u.display_name)).collect()))
}
