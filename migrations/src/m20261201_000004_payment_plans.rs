//! Payment plans (*échéanciers*): a customer's total split into dated
//! échéances, with its own status, and the customer's consent to the
//! off-session charges (the record a merchant needs under SCA), and the
//! plan's own audit trail (one row per status change, like the échéances').
//!
//! The `plans` and `subscriptions` tables of the original design stay as they
//! were (a catalogue and its subscribers); a payment plan is per customer.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, integer_null, string, string_null, text, text_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaymentPlans {
    Table,
    Id,
    CustomerId,
    Label,
    Currency,
    TotalCents,
    Status,
    ConsumerCredit,
    Metadata,
    CreatedBy,
    Version,
    CreatedAt,
    UpdatedAt,
    AcceptedAt,
    CanceledAt,
}

#[derive(DeriveIden)]
enum PlanConsents {
    Table,
    Id,
    PaymentPlanId,
    UserId,
    MandateVersion,
    MandateText,
    Ip,
    UserAgent,
    AcceptedAt,
}

#[derive(DeriveIden)]
enum PlanAudit {
    Table,
    Id,
    PaymentPlanId,
    FromStatus,
    ToStatus,
    Event,
    Cause,
    Actor,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Echeances {
    Table,
    PaymentPlanId,
    Seq,
}

#[derive(DeriveIden)]
enum Users {
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
                    .table(PaymentPlans::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PaymentPlans::Id))
                    .col(big_integer(PaymentPlans::CustomerId))
                    .col(string(PaymentPlans::Label))
                    .col(string(PaymentPlans::Currency))
                    .col(big_integer(PaymentPlans::TotalCents).check(Expr::col(PaymentPlans::TotalCents).gt(0)))
                    .col(string(PaymentPlans::Status))
                    .col(boolean(PaymentPlans::ConsumerCredit))
                    .col(text(PaymentPlans::Metadata))
                    .col(big_integer_null(PaymentPlans::CreatedBy))
                    .col(big_integer(PaymentPlans::Version).default(0))
                    .col(big_integer(PaymentPlans::CreatedAt))
                    .col(big_integer(PaymentPlans::UpdatedAt))
                    .col(big_integer_null(PaymentPlans::AcceptedAt))
                    .col(big_integer_null(PaymentPlans::CanceledAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_plans_customer")
                            .from(PaymentPlans::Table, PaymentPlans::CustomerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_payment_plans_customer")
                    .table(PaymentPlans::Table)
                    .col(PaymentPlans::CustomerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlanConsents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PlanConsents::Id))
                    .col(big_integer(PlanConsents::PaymentPlanId).unique_key())
                    .col(big_integer(PlanConsents::UserId))
                    .col(string(PlanConsents::MandateVersion))
                    .col(text(PlanConsents::MandateText))
                    .col(string(PlanConsents::Ip))
                    .col(text(PlanConsents::UserAgent))
                    .col(big_integer(PlanConsents::AcceptedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_plan_consents_plan")
                            .from(PlanConsents::Table, PlanConsents::PaymentPlanId)
                            .to(PaymentPlans::Table, PaymentPlans::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlanAudit::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PlanAudit::Id))
                    .col(big_integer(PlanAudit::PaymentPlanId))
                    .col(string_null(PlanAudit::FromStatus))
                    .col(string(PlanAudit::ToStatus))
                    .col(string(PlanAudit::Event))
                    .col(string(PlanAudit::Cause))
                    .col(string(PlanAudit::Actor))
                    .col(text_null(PlanAudit::Detail))
                    .col(big_integer(PlanAudit::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_plan_audit_plan")
                            .from(PlanAudit::Table, PlanAudit::PaymentPlanId)
                            .to(PaymentPlans::Table, PaymentPlans::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_plan_audit_plan")
                    .table(PlanAudit::Table)
                    .col(PlanAudit::PaymentPlanId)
                    .to_owned(),
            )
            .await?;
        // SQLite cannot add a foreign key to an existing table: the plan of an
        // échéance is checked by the service that writes both.
        manager
            .alter_table(
                Table::alter()
                    .table(Echeances::Table)
                    .add_column(big_integer_null(Echeances::PaymentPlanId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Echeances::Table).add_column(integer_null(Echeances::Seq)).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_echeances_plan_seq")
                    .table(Echeances::Table)
                    .col(Echeances::PaymentPlanId)
                    .col(Echeances::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_echeances_plan_seq").table(Echeances::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Echeances::Table).drop_column(Echeances::Seq).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Echeances::Table).drop_column(Echeances::PaymentPlanId).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(PlanAudit::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(PlanConsents::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(PaymentPlans::Table).if_exists().to_owned()).await?;
        Ok(())
    }
}
