//! Admins and ways back in: a user can be disabled (kept, for the audit
//! trail, but never logged in again), and single-use links — to set a
//! password (a new admin) — are stored as the SHA-256 of their token only,
//! with their purpose, expiry and use. The email that carries a
//! set-password link, in French and English.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, big_pk_auto, string, string_uniq};

use crate::m20261124_000002_email_templates::insert_missing;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    DisabledAt,
}

#[derive(DeriveIden)]
enum LoginLinks {
    Table,
    Id,
    UserId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

/// (kind, locale, subject, html, text)
const TEMPLATES: [(&str, &str, &str, &str, &str); 2] = [
    (
        "set_password",
        "fr",
        "{{ merchant }} : choisissez votre mot de passe",
        "<p>Bonjour {{ name }},</p>\n<p>Un compte d’administration vous a été ouvert sur {{ merchant }}. Choisissez votre mot de passe :</p>\n<p><a href=\"{{ link }}\">Choisir mon mot de passe</a></p>\n<p>Ce lien ne sert qu’une fois et reste valable jusqu’au {{ expires_on }}. Si vous n’attendiez pas ce message, ignorez-le.</p>",
        "Bonjour {{ name }},\n\nUn compte d’administration vous a été ouvert sur {{ merchant }}. Choisissez votre mot de passe :\n{{ link }}\n\nCe lien ne sert qu’une fois et reste valable jusqu’au {{ expires_on }}. Si vous n’attendiez pas ce message, ignorez-le.",
    ),
    (
        "set_password",
        "en",
        "{{ merchant }}: choose your password",
        "<p>Hello {{ name }},</p>\n<p>An admin account was opened for you on {{ merchant }}. Choose your password:</p>\n<p><a href=\"{{ link }}\">Choose my password</a></p>\n<p>This link works once, until {{ expires_on }}. If you did not expect this message, ignore it.</p>",
        "Hello {{ name }},\n\nAn admin account was opened for you on {{ merchant }}. Choose your password:\n{{ link }}\n\nThis link works once, until {{ expires_on }}. If you did not expect this message, ignore it.",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, like the others.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Users::Table).add_column(big_integer_null(Users::DisabledAt)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginLinks::Table)
                    .col(big_pk_auto(LoginLinks::Id))
                    .col(big_integer(LoginLinks::UserId))
                    .col(string(LoginLinks::Purpose))
                    .col(string_uniq(LoginLinks::TokenHash))
                    .col(big_integer(LoginLinks::ExpiresAt))
                    .col(big_integer_null(LoginLinks::UsedAt))
                    .col(big_integer(LoginLinks::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LoginLinks::Table, LoginLinks::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        insert_missing(manager, &TEMPLATES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LoginLinks::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::DisabledAt).to_owned()).await
    }
}
