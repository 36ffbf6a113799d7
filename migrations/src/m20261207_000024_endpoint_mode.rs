//! A webhook endpoint belongs to the mode (test or live) of the keys in use when it was made, as a
//! Stripe endpoint does: the news of a live plan never reaches an endpoint of the test days (a
//! staging site, say), nor the reverse. Endpoints made before this take the mode in use when the
//! upgraded version first starts (the column is left empty here: the Stripe key is not the
//! migration's to read).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Mode,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookEndpoints::Table)
                    .add_column(string_null(WebhookEndpoints::Mode))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(WebhookEndpoints::Table).drop_column(WebhookEndpoints::Mode).to_owned())
            .await
    }
}
