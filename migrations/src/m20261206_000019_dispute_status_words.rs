//! A dispute's status is read as one of the eight words Stripe documents for it
//! (`DisputeStatus`). Rows stored before kept Stripe's word as it came:
//! `charge_refunded`, withdrawn from Stripe's API (the merchant refunded the charge
//! while it was disputed), reads as `prevented` — decided, the money gone by the
//! refund, not held by the dispute; any other word as a chargeback to answer, what
//! a dispute first seen with a word this version does not know is taken for —
//! rather than failing to load with its échéance.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Disputes {
    Table,
    Status,
}

/// Stripe's dispute statuses, as this migration knows them (the domain's list may grow later).
const DOCUMENTED: [&str; 8] = [
    "warning_needs_response",
    "warning_under_review",
    "warning_closed",
    "needs_response",
    "under_review",
    "won",
    "lost",
    "prevented",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, like the others.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let withdrawn = Query::update()
            .table(Disputes::Table)
            .value(Disputes::Status, "prevented")
            .and_where(Expr::col(Disputes::Status).eq("charge_refunded"))
            .to_owned();
        manager.exec_stmt(withdrawn).await?;
        let unknown = Query::update()
            .table(Disputes::Table)
            .value(Disputes::Status, "needs_response")
            .and_where(Expr::col(Disputes::Status).is_not_in(DOCUMENTED))
            .to_owned();
        manager.exec_stmt(unknown).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The words replaced are not kept: nothing to restore.
        Ok(())
    }
}
