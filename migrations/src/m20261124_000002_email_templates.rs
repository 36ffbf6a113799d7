//! The email templates, in French and English (admins edit them afterwards;
//! this migration only inserts the ones that do not exist yet).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum EmailTemplates {
    Table,
    Kind,
    Locale,
    Subject,
    HtmlBody,
    TextBody,
    UpdatedAt,
}

/// (kind, locale, subject, html, text)
const TEMPLATES: [(&str, &str, &str, &str, &str); 8] = [
    (
        "authentication_required",
        "fr",
        "Action requise : confirmez votre paiement de {{ amount }}",
        "<p>Bonjour {{ customer_name }},</p>\n<p>Votre banque demande une confirmation (3D Secure) pour le paiement de <strong>{{ amount }}</strong> — {{ label }}, échéance du {{ due_date }}.</p>\n<p><a href=\"{{ link }}\">Confirmer mon paiement</a></p>\n<p>Ce lien est valable jusqu'au {{ expires_on }}. Sans confirmation, le paiement ne sera pas effectué.</p>\n<p>— Échéancier</p>",
        "Bonjour {{ customer_name }},\n\nVotre banque demande une confirmation (3D Secure) pour le paiement de {{ amount }} — {{ label }}, échéance du {{ due_date }}.\n\nConfirmez votre paiement : {{ link }}\n\nCe lien est valable jusqu'au {{ expires_on }}. Sans confirmation, le paiement ne sera pas effectué.\n\n— Échéancier",
    ),
    (
        "authentication_required",
        "en",
        "Action required: confirm your payment of {{ amount }}",
        "<p>Hello {{ customer_name }},</p>\n<p>Your bank asks you to confirm (3D Secure) the payment of <strong>{{ amount }}</strong> — {{ label }}, due on {{ due_date }}.</p>\n<p><a href=\"{{ link }}\">Confirm my payment</a></p>\n<p>This link is valid until {{ expires_on }}. Without confirmation, the payment will not go through.</p>\n<p>— Échéancier</p>",
        "Hello {{ customer_name }},\n\nYour bank asks you to confirm (3D Secure) the payment of {{ amount }} — {{ label }}, due on {{ due_date }}.\n\nConfirm your payment: {{ link }}\n\nThis link is valid until {{ expires_on }}. Without confirmation, the payment will not go through.\n\n— Échéancier",
    ),
    (
        "reminder",
        "fr",
        "Rappel : votre paiement de {{ amount }} attend votre confirmation",
        "<p>Bonjour {{ customer_name }},</p>\n<p>Votre paiement de <strong>{{ amount }}</strong> ({{ label }}) attend toujours la confirmation demandée par votre banque.</p>\n<p><a href=\"{{ link }}\">Confirmer mon paiement</a> — lien valable jusqu'au {{ expires_on }}.</p>\n<p>— Échéancier</p>",
        "Bonjour {{ customer_name }},\n\nVotre paiement de {{ amount }} ({{ label }}) attend toujours la confirmation demandée par votre banque.\n\nConfirmez votre paiement : {{ link }} (lien valable jusqu'au {{ expires_on }})\n\n— Échéancier",
    ),
    (
        "reminder",
        "en",
        "Reminder: your payment of {{ amount }} awaits your confirmation",
        "<p>Hello {{ customer_name }},</p>\n<p>Your payment of <strong>{{ amount }}</strong> ({{ label }}) still awaits the confirmation your bank asked for.</p>\n<p><a href=\"{{ link }}\">Confirm my payment</a> — link valid until {{ expires_on }}.</p>\n<p>— Échéancier</p>",
        "Hello {{ customer_name }},\n\nYour payment of {{ amount }} ({{ label }}) still awaits the confirmation your bank asked for.\n\nConfirm your payment: {{ link }} (link valid until {{ expires_on }})\n\n— Échéancier",
    ),
    (
        "payment_failed",
        "fr",
        "Votre paiement de {{ amount }} n'a pas abouti",
        "<p>Bonjour {{ customer_name }},</p>\n<p>Votre banque a refusé le paiement de <strong>{{ amount }}</strong> ({{ label }}, échéance du {{ due_date }}).</p>\n<p>Vérifiez votre carte ou enregistrez-en une autre sur <a href=\"{{ site_url }}\">votre espace</a>, puis réessayez.</p>\n<p>— Échéancier</p>",
        "Bonjour {{ customer_name }},\n\nVotre banque a refusé le paiement de {{ amount }} ({{ label }}, échéance du {{ due_date }}).\n\nVérifiez votre carte ou enregistrez-en une autre sur votre espace ({{ site_url }}), puis réessayez.\n\n— Échéancier",
    ),
    (
        "payment_failed",
        "en",
        "Your payment of {{ amount }} did not go through",
        "<p>Hello {{ customer_name }},</p>\n<p>Your bank declined the payment of <strong>{{ amount }}</strong> ({{ label }}, due on {{ due_date }}).</p>\n<p>Check your card or save another one in <a href=\"{{ site_url }}\">your account</a>, then try again.</p>\n<p>— Échéancier</p>",
        "Hello {{ customer_name }},\n\nYour bank declined the payment of {{ amount }} ({{ label }}, due on {{ due_date }}).\n\nCheck your card or save another one in your account ({{ site_url }}), then try again.\n\n— Échéancier",
    ),
    (
        "payment_received",
        "fr",
        "Reçu : paiement de {{ amount }} bien reçu",
        "<p>Bonjour {{ customer_name }},</p>\n<p>Nous avons bien reçu votre paiement de <strong>{{ amount }}</strong> pour {{ label }} (échéance du {{ due_date }}). Merci !</p>\n<p>— Échéancier</p>",
        "Bonjour {{ customer_name }},\n\nNous avons bien reçu votre paiement de {{ amount }} pour {{ label }} (échéance du {{ due_date }}). Merci !\n\n— Échéancier",
    ),
    (
        "payment_received",
        "en",
        "Receipt: payment of {{ amount }} received",
        "<p>Hello {{ customer_name }},</p>\n<p>We received your payment of <strong>{{ amount }}</strong> for {{ label }} (due on {{ due_date }}). Thank you!</p>\n<p>— Échéancier</p>",
        "Hello {{ customer_name }},\n\nWe received your payment of {{ amount }} for {{ label }} (due on {{ due_date }}). Thank you!\n\n— Échéancier",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional): one connection applies
    /// the whole migration, and a crash never leaves it half done.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        insert_missing(manager, &TEMPLATES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.exec_stmt(Query::delete().from_table(EmailTemplates::Table).to_owned()).await
    }
}

/// Inserts the templates of `templates` that do not exist yet (an admin's edit is kept).
pub(crate) async fn insert_missing(
    manager: &SchemaManager<'_>,
    templates: &[(&str, &str, &str, &str, &str)],
) -> Result<(), DbErr> {
    for &(kind, locale, subject, html, text) in templates {
        let insert = Query::insert()
            .into_table(EmailTemplates::Table)
            .columns([
                EmailTemplates::Kind,
                EmailTemplates::Locale,
                EmailTemplates::Subject,
                EmailTemplates::HtmlBody,
                EmailTemplates::TextBody,
                EmailTemplates::UpdatedAt,
            ])
            .values_panic([kind.into(), locale.into(), subject.into(), html.into(), text.into(), 0_i64.into()])
            .on_conflict(OnConflict::columns([EmailTemplates::Kind, EmailTemplates::Locale]).do_nothing().to_owned())
            .to_owned();
        manager.exec_stmt(insert).await?;
    }
    Ok(())
}

/// Replaces the bodies (locale, html, text) of `kind`'s templates that are as they were
/// seeded (never saved by an admin: `updated_at` 0); an admin's edit is kept.
pub(crate) async fn update_seeded(
    manager: &SchemaManager<'_>,
    kind: &str,
    bodies: &[(&str, &str, &str)],
) -> Result<(), DbErr> {
    for &(locale, html, text) in bodies {
        let values = [(EmailTemplates::HtmlBody, html.into()), (EmailTemplates::TextBody, text.into())];
        update_unedited(manager, kind, locale, values).await?;
    }
    Ok(())
}

/// As [`update_seeded`], the subject too: `(locale, subject, html, text)`.
pub(crate) async fn update_seeded_with_subject(
    manager: &SchemaManager<'_>,
    kind: &str,
    templates: &[(&str, &str, &str, &str)],
) -> Result<(), DbErr> {
    for &(locale, subject, html, text) in templates {
        let values = [
            (EmailTemplates::Subject, subject.into()),
            (EmailTemplates::HtmlBody, html.into()),
            (EmailTemplates::TextBody, text.into()),
        ];
        update_unedited(manager, kind, locale, values).await?;
    }
    Ok(())
}

/// Sets `values` on the template `kind` in `locale` if no admin has edited it.
async fn update_unedited<const N: usize>(
    manager: &SchemaManager<'_>,
    kind: &str,
    locale: &str,
    values: [(EmailTemplates, SimpleExpr); N],
) -> Result<(), DbErr> {
    let update = Query::update()
        .table(EmailTemplates::Table)
        .values(values)
        .and_where(Expr::col(EmailTemplates::Kind).eq(kind))
        .and_where(Expr::col(EmailTemplates::Locale).eq(locale))
        .and_where(Expr::col(EmailTemplates::UpdatedAt).eq(0))
        .to_owned();
    manager.exec_stmt(update).await.map(drop)
}
