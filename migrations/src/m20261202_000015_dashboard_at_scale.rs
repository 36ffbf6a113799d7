//! The dashboard at 100,000 échéances.
//!
//! Its totals by status and currency are kept as they change rather than summed
//! over every échéance per page: triggers append each change (an échéance made,
//! moved to another status, currency or amount, deleted) to `echeance_totals`
//! as signed rows, so no two transactions ever wait on one counter, and a
//! scheduled job folds the rows into one per status and currency. Whatever
//! writes an échéance, in whichever transaction, moves the totals with it.
//! The chart of the last 30 days reads an index that holds what it sums.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string};
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::m20261124_000001_initial::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PAID: &str = "ix_echeances_paid";

const SQLITE_TRIGGERS: [&str; 3] = [
    "CREATE TRIGGER echeance_totals_insert AFTER INSERT ON echeances BEGIN
        INSERT INTO echeance_totals (status, currency, n, cents) VALUES (NEW.status, NEW.currency, 1, NEW.amount_cents);
    END",
    "CREATE TRIGGER echeance_totals_update AFTER UPDATE OF status, currency, amount_cents ON echeances
    WHEN OLD.status IS NOT NEW.status OR OLD.currency IS NOT NEW.currency OR OLD.amount_cents IS NOT NEW.amount_cents
    BEGIN
        INSERT INTO echeance_totals (status, currency, n, cents)
        VALUES (OLD.status, OLD.currency, -1, -OLD.amount_cents), (NEW.status, NEW.currency, 1, NEW.amount_cents);
    END",
    "CREATE TRIGGER echeance_totals_delete AFTER DELETE ON echeances BEGIN
        INSERT INTO echeance_totals (status, currency, n, cents) VALUES (OLD.status, OLD.currency, -1, -OLD.amount_cents);
    END",
];

const POSTGRES_TRIGGERS: [&str; 3] = [
    "CREATE FUNCTION echeance_totals_track() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO echeance_totals (status, currency, n, cents) VALUES (OLD.status, OLD.currency, -1, -OLD.amount_cents);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO echeance_totals (status, currency, n, cents) VALUES (NEW.status, NEW.currency, 1, NEW.amount_cents);
        END IF;
        RETURN NULL;
    END $$",
    "CREATE TRIGGER echeance_totals_insert_delete AFTER INSERT OR DELETE ON echeances
    FOR EACH ROW EXECUTE FUNCTION echeance_totals_track()",
    "CREATE TRIGGER echeance_totals_update AFTER UPDATE OF status, currency, amount_cents ON echeances
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.currency IS DISTINCT FROM NEW.currency
        OR OLD.amount_cents IS DISTINCT FROM NEW.amount_cents)
    EXECUTE FUNCTION echeance_totals_track()",
];

#[derive(DeriveIden)]
enum EcheanceTotals {
    Table,
    Id,
    Status,
    Currency,
    N,
    Cents,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EcheanceTotals::Table)
                    .col(big_pk_auto(EcheanceTotals::Id))
                    .col(string(EcheanceTotals::Status))
                    .col(string(EcheanceTotals::Currency))
                    .col(big_integer(EcheanceTotals::N))
                    .col(big_integer(EcheanceTotals::Cents))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            // No échéance written by another instance or a command between the sums and the
            // triggers (it would be in neither): writers wait until this migration commits.
            // SQLite's migrations already hold its only write lock.
            db.execute_unprepared("LOCK TABLE echeances IN SHARE ROW EXCLUSIVE MODE").await?;
        }
        db.execute_unprepared(
            "INSERT INTO echeance_totals (status, currency, n, cents)
             SELECT status, currency, COUNT(*), SUM(amount_cents) FROM echeances GROUP BY status, currency",
        )
        .await?;
        let triggers = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_TRIGGERS,
            _ => SQLITE_TRIGGERS,
        };
        for trigger in triggers {
            db.execute_unprepared(trigger).await?;
        }
        index(manager, PAID, Alias::new("echeances"), &["paid_at", "status", "amount_cents"], false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(PAID).table(Alias::new("echeances")).to_owned()).await?;
        let db = manager.get_connection();
        let drops: &[&str] = match manager.get_database_backend() {
            DatabaseBackend::Postgres => &[
                "DROP TRIGGER echeance_totals_update ON echeances",
                "DROP TRIGGER echeance_totals_insert_delete ON echeances",
                "DROP FUNCTION echeance_totals_track()",
            ],
            _ => &[
                "DROP TRIGGER echeance_totals_insert",
                "DROP TRIGGER echeance_totals_update",
                "DROP TRIGGER echeance_totals_delete",
            ],
        };
        for drop in drops {
            db.execute_unprepared(drop).await?;
        }
        manager.drop_table(Table::drop().table(EcheanceTotals::Table).to_owned()).await
    }
}
