//! Money going back. Refunds an admin asks for (and those Stripe tells of, made
//! elsewhere): one row per refund of an échéance, written with its
//! deterministic idempotency key before Stripe is called; its status is
//! Stripe's, read back from the answer, the refund webhooks and the
//! reconciler. Disputes: one row per dispute of the payment that collected an
//! échéance — its status, amount and deadline for evidence, as Stripe says.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, integer, string, string_null, string_uniq, text_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    EcheanceId,
    Seq,
    PaymentIntentId,
    AmountCents,
    Currency,
    Reason,
    IdempotencyKey,
    Status,
    StripeRefundId,
    FailureReason,
    RequestedBy,
    StripeCalls,
    NextCheckAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Disputes {
    Table,
    Id,
    EcheanceId,
    StripeDisputeId,
    PaymentIntentId,
    AmountCents,
    Currency,
    Reason,
    Status,
    EvidenceDueBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Echeances {
    Table,
    Id,
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
                    .table(Refunds::Table)
                    .col(big_pk_auto(Refunds::Id))
                    .col(big_integer(Refunds::EcheanceId))
                    .col(integer(Refunds::Seq))
                    .col(string(Refunds::PaymentIntentId))
                    .col(big_integer(Refunds::AmountCents))
                    .col(string(Refunds::Currency))
                    .col(string_null(Refunds::Reason))
                    .col(string_uniq(Refunds::IdempotencyKey))
                    .col(string(Refunds::Status))
                    .col(string_null(Refunds::StripeRefundId).unique_key())
                    .col(text_null(Refunds::FailureReason))
                    .col(string(Refunds::RequestedBy))
                    .col(integer(Refunds::StripeCalls).default(0))
                    .col(big_integer_null(Refunds::NextCheckAt))
                    .col(big_integer(Refunds::CreatedAt))
                    .col(big_integer(Refunds::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refunds_echeance")
                            .from(Refunds::Table, Refunds::EcheanceId)
                            .to(Echeances::Table, Echeances::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_refunds_echeance_seq")
                    .table(Refunds::Table)
                    .col(Refunds::EcheanceId)
                    .col(Refunds::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refunds_next_check")
                    .table(Refunds::Table)
                    .col(Refunds::NextCheckAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Disputes::Table)
                    .col(big_pk_auto(Disputes::Id))
                    .col(big_integer(Disputes::EcheanceId))
                    .col(string_uniq(Disputes::StripeDisputeId))
                    .col(string(Disputes::PaymentIntentId))
                    .col(big_integer(Disputes::AmountCents))
                    .col(string(Disputes::Currency))
                    .col(string_null(Disputes::Reason))
                    .col(string(Disputes::Status))
                    .col(big_integer_null(Disputes::EvidenceDueBy))
                    .col(big_integer(Disputes::CreatedAt))
                    .col(big_integer(Disputes::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_disputes_echeance")
                            .from(Disputes::Table, Disputes::EcheanceId)
                            .to(Echeances::Table, Echeances::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_disputes_echeance")
                    .table(Disputes::Table)
                    .col(Disputes::EcheanceId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Disputes::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Refunds::Table).to_owned()).await
    }
}
