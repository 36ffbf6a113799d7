//! Getting back in: the emails that carry a single-use login link and a
//! password-reset link, in French and English (the links themselves are
//! rows of `login_links`, made by the previous migration).

use sea_orm_migration::prelude::*;

use crate::m20261124_000002_email_templates::insert_missing;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (kind, locale, subject, html, text)
const TEMPLATES: [(&str, &str, &str, &str, &str); 4] = [
    (
        "login_link",
        "fr",
        "{{ merchant }} : votre lien de connexion",
        "<p>Bonjour {{ name }},</p>\n<p>Voici votre lien pour vous connecter à {{ merchant }} :</p>\n<p><a href=\"{{ link }}\">Me connecter</a></p>\n<p>Il ne sert qu’une fois et reste valable {{ minutes }} minutes. Si vous ne l’avez pas demandé, ignorez ce message : rien ne change sans ce lien.</p>",
        "Bonjour {{ name }},\n\nVoici votre lien pour vous connecter à {{ merchant }} :\n{{ link }}\n\nIl ne sert qu’une fois et reste valable {{ minutes }} minutes. Si vous ne l’avez pas demandé, ignorez ce message : rien ne change sans ce lien.",
    ),
    (
        "login_link",
        "en",
        "{{ merchant }}: your login link",
        "<p>Hello {{ name }},</p>\n<p>Here is your link to log in to {{ merchant }}:</p>\n<p><a href=\"{{ link }}\">Log me in</a></p>\n<p>It works once, for {{ minutes }} minutes. If you did not ask for it, ignore this message: nothing changes without the link.</p>",
        "Hello {{ name }},\n\nHere is your link to log in to {{ merchant }}:\n{{ link }}\n\nIt works once, for {{ minutes }} minutes. If you did not ask for it, ignore this message: nothing changes without the link.",
    ),
    (
        "password_reset",
        "fr",
        "{{ merchant }} : choisir un nouveau mot de passe",
        "<p>Bonjour {{ name }},</p>\n<p>Pour choisir un nouveau mot de passe sur {{ merchant }} :</p>\n<p><a href=\"{{ link }}\">Choisir un nouveau mot de passe</a></p>\n<p>Ce lien ne sert qu’une fois et reste valable {{ minutes }} minutes. Si vous ne l’avez pas demandé, ignorez ce message : votre mot de passe ne change pas.</p>",
        "Bonjour {{ name }},\n\nPour choisir un nouveau mot de passe sur {{ merchant }} :\n{{ link }}\n\nCe lien ne sert qu’une fois et reste valable {{ minutes }} minutes. Si vous ne l’avez pas demandé, ignorez ce message : votre mot de passe ne change pas.",
    ),
    (
        "password_reset",
        "en",
        "{{ merchant }}: choose a new password",
        "<p>Hello {{ name }},</p>\n<p>To choose a new password on {{ merchant }}:</p>\n<p><a href=\"{{ link }}\">Choose a new password</a></p>\n<p>This link works once, for {{ minutes }} minutes. If you did not ask for it, ignore this message: your password does not change.</p>",
        "Hello {{ name }},\n\nTo choose a new password on {{ merchant }}:\n{{ link }}\n\nThis link works once, for {{ minutes }} minutes. If you did not ask for it, ignore this message: your password does not change.",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, like the others.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        insert_missing(manager, &TEMPLATES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(Alias::new("email_templates"))
                    .and_where(Expr::col(Alias::new("kind")).is_in(["login_link", "password_reset"]))
                    .to_owned(),
            )
            .await
    }
}
