//! The installation id: created once per database, part of every idempotency key.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait};

use super::entities::app_setting;

const KEY: &str = "installation_id";

/// Reads the installation id, creating it on first use.
///
/// # Errors
/// Database failure.
pub async fn installation_id(db: &DatabaseConnection) -> Result<String, DbErr> {
    let fresh = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    app_setting::Entity::insert(app_setting::ActiveModel { key: Set(KEY.to_owned()), value: Set(fresh) })
        .on_conflict(OnConflict::column(app_setting::Column::Key).do_nothing().to_owned())
        .try_insert()
        .exec(db)
        .await?;
    let row = app_setting::Entity::find_by_id(KEY.to_owned()).one(db).await?;
    row.map(|r| r.value).ok_or_else(|| DbErr::RecordNotFound(KEY.to_owned()))
}
