//! The first échéance paid with a new card saves that card: one PaymentIntent
//! sent with `setup_future_usage = off_session` (the customer authenticates
//! once, for the payment and the mandate). The attempt remembers that it
//! saves its card (a re-send with the same key must ask the same), and the
//! card's row waits, unusable, until Stripe says that payment succeeded.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::boolean;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChargeAttempts {
    Table,
    SavesCard,
}

#[derive(DeriveIden)]
enum PaymentMethods {
    Table,
    Usable,
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
                    .add_column(boolean(ChargeAttempts::SavesCard).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PaymentMethods::Table)
                    .add_column(boolean(PaymentMethods::Usable).default(true))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(PaymentMethods::Table).drop_column(PaymentMethods::Usable).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(ChargeAttempts::Table).drop_column(ChargeAttempts::SavesCard).to_owned())
            .await
    }
}
