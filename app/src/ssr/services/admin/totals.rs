//! The count and sum of every échéance by status and currency, as the
//! database's triggers keep them (`echeance_totals`): the dashboard reads a
//! few rows instead of every échéance, and a worker folds the changes
//! appended since into one row per status and currency.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ExprTrait, QuerySelect,
};
use std::collections::HashMap;

use crate::domain::EcheanceStatus;
use crate::ssr::entities::echeance_total;
use crate::ssr::services::error::ServiceError;

/// (status, currency, count, sum in minor units), for each status and currency
/// that has échéances.
pub type Grouped = Vec<(EcheanceStatus, String, i64, i64)>;

/// Every échéance's count and sum by status and currency.
///
/// # Errors
/// Database failure.
pub async fn kept(db: &impl ConnectionTrait) -> Result<Grouped, ServiceError> {
    let sums: Vec<(String, String, i64, i64)> = echeance_total::Entity::find()
        .select_only()
        .column(echeance_total::Column::Status)
        .column(echeance_total::Column::Currency)
        .column_as(echeance_total::Column::N.sum().cast_as("bigint"), "n")
        .column_as(echeance_total::Column::Cents.sum().cast_as("bigint"), "cents")
        .group_by(echeance_total::Column::Status)
        .group_by(echeance_total::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    Ok(sums
        .into_iter()
        // A group whose count is back to 0 is gone; one with money left and no échéance is drift, shown.
        .filter(|(_, _, n, cents)| *n != 0 || *cents != 0)
        .filter_map(|(status, currency, n, cents)| match status.parse::<EcheanceStatus>() {
            Ok(status) => Some((status, currency, n, cents)),
            Err(_) => {
                tracing::warn!(status, n, cents, "kept totals: a status that does not parse is left out");
                None
            }
        })
        .collect())
}

/// Rows past which [`fold_when_grown`] folds.
pub const FOLD_FROM: u64 = 64;

/// Folds when more than [`FOLD_FROM`] rows wait (the serving process's worker
/// asks every 10 seconds): the totals stay a few rows to sum, and an idle
/// installation writes nothing. Returns how many rows were folded.
///
/// # Errors
/// Database failure.
pub async fn fold_when_grown(db: &DatabaseConnection) -> Result<usize, ServiceError> {
    use sea_orm::PaginatorTrait;
    if echeance_total::Entity::find().count(db).await? <= FOLD_FROM {
        return Ok(0);
    }
    fold(db).await
}

/// Folds every change appended so far into one row per status and currency,
/// in one transaction; returns how many rows were folded. The rows it deletes
/// are exactly the ones it sums (`DELETE … RETURNING`), so a change appended
/// meanwhile, or a fold running at once on another instance, is never counted
/// twice nor lost.
///
/// # Errors
/// Database failure.
pub async fn fold(db: &DatabaseConnection) -> Result<usize, ServiceError> {
    let txn = crate::ssr::db::begin_write(db).await?;
    let gone = echeance_total::Entity::delete_many().exec_with_returning(&txn).await?;
    let mut sums: HashMap<(String, String), (i64, i64)> = HashMap::new();
    for row in &gone {
        let sum = sums.entry((row.status.clone(), row.currency.clone())).or_default();
        sum.0 += row.n;
        sum.1 += row.cents;
    }
    let folded: Vec<echeance_total::ActiveModel> = sums
        .into_iter()
        .filter(|(_, (n, cents))| *n != 0 || *cents != 0)
        .map(|((status, currency), (n, cents))| echeance_total::ActiveModel {
            status: Set(status),
            currency: Set(currency),
            n: Set(n),
            cents: Set(cents),
            ..Default::default()
        })
        .collect();
    if !folded.is_empty() {
        echeance_total::Entity::insert_many(folded).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(gone.len())
}
