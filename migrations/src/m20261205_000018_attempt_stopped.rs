//! When an attempt's PaymentIntent was stopped on Stripe after it could still
//! collect (declined and waiting for another payment method, or waiting for
//! 3D Secure on an attempt no longer current): cancelled, or found gone. An
//! attempt stopped so is never asked to stop again, and every one not stopped
//! is, before an échéance is charged again or cancelled — not only the latest.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChargeAttempts {
    Table,
    StoppedAt,
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
                    .add_column(big_integer_null(ChargeAttempts::StoppedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(ChargeAttempts::Table).drop_column(ChargeAttempts::StoppedAt).to_owned())
            .await
    }
}
