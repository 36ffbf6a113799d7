//! The dashboard's text search at 100,000 échéances, on SQLite.
//!
//! A search looks for a substring of the échéance's label and of its customer's
//! email and name: without an index that reads every row (118 ms at 100,000).
//! FTS5 tables with the trigram tokenizer index those columns by their
//! three-character pieces and answer `LIKE '%…%'` exactly, so the search reads
//! only the rows that hold the text. They keep no copy of the rows (external
//! content: they read `echeances` and `users`) but their pieces, and triggers
//! keep them in step with whatever writes those tables, in the same
//! transaction. With `secure-delete` the pieces of a row rewritten or deleted
//! (an erased customer's name and address) are removed from the index at once,
//! not left behind a delete marker until segments merge, nor copied into the
//! next backup.
//!
//! PostgreSQL gets nothing here: it reads the columns with a parallel scan,
//! and an index for `LIKE '%…%'` there needs the `pg_trgm` extension, which
//! the application's database user may not be allowed to create.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: [&str; 12] = [
    "CREATE VIRTUAL TABLE echeance_search USING fts5(label, content='echeances', content_rowid='id', tokenize='trigram')",
    "INSERT INTO echeance_search (echeance_search, rank) VALUES ('secure-delete', 1)",
    "INSERT INTO echeance_search (echeance_search) VALUES ('rebuild')",
    "CREATE TRIGGER echeance_search_insert AFTER INSERT ON echeances BEGIN
        INSERT INTO echeance_search (rowid, label) VALUES (NEW.id, NEW.label);
    END",
    "CREATE TRIGGER echeance_search_delete AFTER DELETE ON echeances BEGIN
        INSERT INTO echeance_search (echeance_search, rowid, label) VALUES ('delete', OLD.id, OLD.label);
    END",
    "CREATE TRIGGER echeance_search_update AFTER UPDATE OF id, label ON echeances
    WHEN OLD.id IS NOT NEW.id OR OLD.label IS NOT NEW.label BEGIN
        INSERT INTO echeance_search (echeance_search, rowid, label) VALUES ('delete', OLD.id, OLD.label);
        INSERT INTO echeance_search (rowid, label) VALUES (NEW.id, NEW.label);
    END",
    "CREATE VIRTUAL TABLE user_search USING fts5(email, display_name, content='users', content_rowid='id', tokenize='trigram')",
    "INSERT INTO user_search (user_search, rank) VALUES ('secure-delete', 1)",
    "INSERT INTO user_search (user_search) VALUES ('rebuild')",
    "CREATE TRIGGER user_search_insert AFTER INSERT ON users BEGIN
        INSERT INTO user_search (rowid, email, display_name) VALUES (NEW.id, NEW.email, NEW.display_name);
    END",
    "CREATE TRIGGER user_search_delete AFTER DELETE ON users BEGIN
        INSERT INTO user_search (user_search, rowid, email, display_name)
        VALUES ('delete', OLD.id, OLD.email, OLD.display_name);
    END",
    "CREATE TRIGGER user_search_update AFTER UPDATE OF id, email, display_name ON users
    WHEN OLD.id IS NOT NEW.id OR OLD.email IS NOT NEW.email OR OLD.display_name IS NOT NEW.display_name BEGIN
        INSERT INTO user_search (user_search, rowid, email, display_name)
        VALUES ('delete', OLD.id, OLD.email, OLD.display_name);
        INSERT INTO user_search (rowid, email, display_name) VALUES (NEW.id, NEW.email, NEW.display_name);
    END",
];

const DOWN: [&str; 8] = [
    "DROP TRIGGER user_search_update",
    "DROP TRIGGER user_search_delete",
    "DROP TRIGGER user_search_insert",
    "DROP TABLE user_search",
    "DROP TRIGGER echeance_search_update",
    "DROP TRIGGER echeance_search_delete",
    "DROP TRIGGER echeance_search_insert",
    "DROP TABLE echeance_search",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &DOWN).await
    }
}

/// Each statement, on SQLite only.
async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(());
    }
    for statement in statements {
        manager.get_connection().execute_unprepared(statement).await?;
    }
    Ok(())
}
