//! Account queries shared by several services.

use sea_orm::{DatabaseTransaction, EntityTrait, QuerySelect};

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
