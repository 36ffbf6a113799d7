//! The host site's side: its API keys (only a hash stored), the idempotency
//! records of its POSTs (the response kept, replayed for the same key and
//! body), its webhook endpoints (URL, wanted events, signing secrets), the
//! events sent to them and one delivery row per (event, endpoint) — written
//! in the transaction of the change they report, worked like the email
//! outbox. A plan keeps where the acceptance page sends the customer back, and
//! whether its customer was created with it (only then may the host site hold
//! the acceptance link, which logs the customer in).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, integer, integer_null, string, string_null, text, text_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Prefix,
    KeyHash,
    Mode,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ApiRequests {
    Table,
    Id,
    ApiKeyId,
    IdempotencyKey,
    Fingerprint,
    ResponseStatus,
    ResponseBody,
    LockedUntil,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Description,
    EventTypes,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    CreatedAt,
    DisabledAt,
}

#[derive(DeriveIden)]
enum HostEvents {
    Table,
    Id,
    PublicId,
    EventType,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum HostDeliveries {
    Table,
    Id,
    HostEventId,
    WebhookEndpointId,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastStatus,
    LastError,
    DeliveredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PaymentPlans {
    Table,
    ReturnUrl,
    CustomerCreated,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, like the others.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ApiKeys::Id))
                    .col(string(ApiKeys::Name))
                    .col(string(ApiKeys::Prefix))
                    .col(string(ApiKeys::KeyHash).unique_key())
                    .col(string(ApiKeys::Mode))
                    .col(big_integer(ApiKeys::CreatedAt))
                    .col(big_integer_null(ApiKeys::LastUsedAt))
                    .col(big_integer_null(ApiKeys::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiRequests::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ApiRequests::Id))
                    .col(big_integer(ApiRequests::ApiKeyId))
                    .col(string(ApiRequests::IdempotencyKey))
                    .col(string(ApiRequests::Fingerprint))
                    .col(integer_null(ApiRequests::ResponseStatus))
                    .col(text_null(ApiRequests::ResponseBody))
                    .col(big_integer_null(ApiRequests::LockedUntil))
                    .col(big_integer(ApiRequests::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_requests_key")
                            .from(ApiRequests::Table, ApiRequests::ApiKeyId)
                            .to(ApiKeys::Table, ApiKeys::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_api_requests_key_idempotency")
                    .table(ApiRequests::Table)
                    .col(ApiRequests::ApiKeyId)
                    .col(ApiRequests::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WebhookEndpoints::Id))
                    .col(text(WebhookEndpoints::Url))
                    .col(string_null(WebhookEndpoints::Description))
                    .col(text(WebhookEndpoints::EventTypes))
                    .col(string(WebhookEndpoints::Secret))
                    .col(string_null(WebhookEndpoints::PreviousSecret))
                    .col(big_integer_null(WebhookEndpoints::PreviousSecretUntil))
                    .col(big_integer(WebhookEndpoints::CreatedAt))
                    .col(big_integer_null(WebhookEndpoints::DisabledAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HostEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(HostEvents::Id))
                    .col(string(HostEvents::PublicId).unique_key())
                    .col(string(HostEvents::EventType))
                    .col(text(HostEvents::Payload))
                    .col(big_integer(HostEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HostDeliveries::Table)
                    .if_not_exists()
                    .col(big_pk_auto(HostDeliveries::Id))
                    .col(big_integer(HostDeliveries::HostEventId))
                    .col(big_integer(HostDeliveries::WebhookEndpointId))
                    .col(string(HostDeliveries::Status))
                    .col(integer(HostDeliveries::Attempts).default(0))
                    .col(big_integer(HostDeliveries::NextAttemptAt))
                    .col(big_integer_null(HostDeliveries::LockedUntil))
                    .col(integer_null(HostDeliveries::LastStatus))
                    .col(text_null(HostDeliveries::LastError))
                    .col(big_integer_null(HostDeliveries::DeliveredAt))
                    .col(big_integer(HostDeliveries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_host_deliveries_event")
                            .from(HostDeliveries::Table, HostDeliveries::HostEventId)
                            .to(HostEvents::Table, HostEvents::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_host_deliveries_endpoint")
                            .from(HostDeliveries::Table, HostDeliveries::WebhookEndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_host_deliveries_event_endpoint")
                    .table(HostDeliveries::Table)
                    .col(HostDeliveries::HostEventId)
                    .col(HostDeliveries::WebhookEndpointId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_host_deliveries_due")
                    .table(HostDeliveries::Table)
                    .col(HostDeliveries::Status)
                    .col(HostDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(PaymentPlans::Table).add_column(text_null(PaymentPlans::ReturnUrl)).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PaymentPlans::Table)
                    .add_column(boolean(PaymentPlans::CustomerCreated).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(PaymentPlans::Table).drop_column(PaymentPlans::CustomerCreated).to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(PaymentPlans::Table).drop_column(PaymentPlans::ReturnUrl).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(HostDeliveries::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(HostEvents::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(ApiRequests::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(ApiKeys::Table).if_exists().to_owned()).await?;
        Ok(())
    }
}
