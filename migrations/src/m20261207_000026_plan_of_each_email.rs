//! An email knows the plan it is about (`email_outbox.payment_plan_id`): a plan's page lists what
//! was sent about it — its invitation, default and summary emails, and those of its échéances —
//! with where each stands. Rows written before take their plan here: an échéance's from the
//! échéance, a plan's own from its dedup key (`invitation:p{plan}`, `{kind}:p{plan}:v{version}…`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer_null;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    PaymentPlanId,
}

const BY_PLAN: &str = "ix_email_outbox_plan";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .add_column(big_integer_null(EmailOutbox::PaymentPlanId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name(BY_PLAN).table(EmailOutbox::Table).col(EmailOutbox::PaymentPlanId).to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE email_outbox SET payment_plan_id = \
             (SELECT e.payment_plan_id FROM echeances e WHERE e.id = email_outbox.echeance_id) \
             WHERE echeance_id IS NOT NULL",
        )
        .await?;
        // A plan's own: the number right after its key's first `:p` (`invitation:p12`,
        // `plan_in_default:p7:v3`); no other key has a `:p` part, and these have no échéance. A
        // key whose first `:p` no digit follows is left without a plan, the same on both engines.
        let (of_key, has_key) = match db.get_database_backend() {
            DbBackend::Postgres => {
                let after = "substring(dedup_key from position(':p' in dedup_key) + 2)";
                (
                    format!("CAST(substring({after} from '^[0-9]+') AS BIGINT)"),
                    format!("position(':p' in dedup_key) > 0 AND {after} ~ '^[0-9]'"),
                )
            }
            _ => {
                let after = "substr(dedup_key, instr(dedup_key, ':p') + 2)";
                (format!("CAST({after} AS INTEGER)"), format!("instr(dedup_key, ':p') > 0 AND {after} GLOB '[0-9]*'"))
            }
        };
        db.execute_unprepared(&format!(
            "UPDATE email_outbox SET payment_plan_id = {of_key} WHERE echeance_id IS NULL AND {has_key}"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(BY_PLAN).table(EmailOutbox::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(EmailOutbox::Table).drop_column(EmailOutbox::PaymentPlanId).to_owned())
            .await
    }
}
