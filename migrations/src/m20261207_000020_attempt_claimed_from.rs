//! What an attempt's claim took the échéance from: its status and its retry date. An attempt
//! given up before anything reached Stripe (an earlier PaymentIntent still being processed, a
//! send Stripe never saw) gives them back — an « échouée définitive » is not made « à payer » for
//! the due-date run to charge, an « échouée » keeps its retry date. Null for attempts written
//! before: given up so, they leave the échéance « à payer » as they always did.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer_null, string_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChargeAttempts {
    Table,
    ClaimedFrom,
    ClaimedRetryAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, like the others.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        let add = |column: ColumnDef| Table::alter().table(ChargeAttempts::Table).add_column(column).to_owned();
        manager.alter_table(add(string_null(ChargeAttempts::ClaimedFrom))).await?;
        manager.alter_table(add(big_integer_null(ChargeAttempts::ClaimedRetryAt))).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [ChargeAttempts::ClaimedRetryAt, ChargeAttempts::ClaimedFrom] {
            manager.alter_table(Table::alter().table(ChargeAttempts::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
