//! An email knows the plan it is about (`email_outbox.payment_plan_id`): a plan's page lists what
//! was sent about it — its invitation, default and summary emails, and those of its échéances —
//! with where each stands. Rows written before take their plan here: an échéance's from the
//! échéance, a plan's own from its dedup key (`invitation:p{plan}`, `{kind}:p{plan}:v{version}…`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer_null;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    PaymentPlanId,
}

const BY_PLAN: &str = "ix_email_outbox_plan";

/// The plan a plan email's dedup key names: its `p{plan}` part.
fn plan_of_key(key: &str) -> Option<i64> {
    key.split(':').skip(1).find_map(|part| part.strip_prefix('p')?.parse().ok())
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
        let plan_emails = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT id, dedup_key FROM email_outbox WHERE echeance_id IS NULL AND dedup_key LIKE '%:p%'",
            ))
            .await?;
        for row in plan_emails {
            let (id, key): (i64, String) = (row.try_get("", "id")?, row.try_get("", "dedup_key")?);
            let Some(plan) = plan_of_key(&key) else { continue };
            let update = Query::update()
                .table(EmailOutbox::Table)
                .value(EmailOutbox::PaymentPlanId, plan)
                .and_where(Expr::col(EmailOutbox::Id).eq(id))
                .to_owned();
            manager.exec_stmt(update).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(BY_PLAN).table(EmailOutbox::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(EmailOutbox::Table).drop_column(EmailOutbox::PaymentPlanId).to_owned())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::plan_of_key;

    #[test]
    fn a_plan_emails_key_names_its_plan_and_no_other_key_does() {
        assert_eq!(plan_of_key("invitation:p12"), Some(12));
        assert_eq!(plan_of_key("plan_in_default:p7:v3"), Some(7));
        assert_eq!(plan_of_key("admin_plan_in_default:p7:v3:u2"), Some(7));
        assert_eq!(plan_of_key("login_link:l4"), None);
        assert_eq!(plan_of_key("admin_dispute_opened:d5:u2"), None);
        assert_eq!(plan_of_key("password_reset:l9"), None);
    }
}
