//! Installation epochs: a database restored from a backup starts a new epoch,
//! part of every idempotency key made after it (and of the PaymentIntents'
//! metadata), so the ids and attempt numbers it hands out again never replay
//! an answer Stripe keeps for a request made after the backup. Each attempt
//! keeps the epoch it was made in: its keys and its metadata stay its own.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::integer;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChargeAttempts {
    Table,
    Epoch,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, like the others.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ChargeAttempts::Table)
                    .add_column(integer(ChargeAttempts::Epoch).default(1))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(ChargeAttempts::Table).drop_column(ChargeAttempts::Epoch).to_owned())
            .await
    }
}
