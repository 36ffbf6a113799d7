//! `echeance_totals`: signed changes to the count and sum of the échéances by
//! status and currency, appended by the database's triggers and folded by
//! `services::admin::totals`. Never written by hand otherwise.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "echeance_totals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// An `EcheanceStatus`'s spelling, read as text: a row that does not parse is
    /// skipped by the reader and kept by the fold, never a reason to fail.
    pub status: String,
    pub currency: String,
    pub n: i64,
    pub cents: i64,
}

impl ActiveModelBehavior for ActiveModel {}
