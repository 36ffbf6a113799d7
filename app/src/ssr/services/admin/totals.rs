//! The count and sum of every échéance by status and currency, as the
//! database's triggers keep them (`echeance_totals`): the dashboard reads a
//! few rows instead of every échéance, and a scheduled job folds the changes
//! appended since into one row per status and currency.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ExprTrait, QuerySelect,
    TransactionTrait,
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
    let sums: Grouped = echeance_total::Entity::find()
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
    Ok(sums.into_iter().filter(|(_, _, n, _)| *n != 0).collect())
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
    let txn = db.begin().await?;
    let gone = echeance_total::Entity::delete_many().exec_with_returning(&txn).await?;
    let mut sums: HashMap<(EcheanceStatus, String), (i64, i64)> = HashMap::new();
    for row in &gone {
        let sum = sums.entry((row.status, row.currency.clone())).or_default();
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
