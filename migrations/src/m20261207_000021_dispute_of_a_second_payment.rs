//! A dispute of a second payment of an échéance (two PaymentIntents of it succeeded: a double
//! charge, listed by the reconciler as drift): recorded and told to the admins like any other —
//! it was ignored — but apart from the échéance's own payment: its status does not move, and the
//! money sums (what was paid, went back, is held) do not count it against that payment.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::boolean;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Disputes {
    Table,
    OfSecondPayment,
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
                    .table(Disputes::Table)
                    .add_column(boolean(Disputes::OfSecondPayment).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Disputes::Table).drop_column(Disputes::OfSecondPayment).to_owned())
            .await
    }
}
