//! Invitations: a plan's invitation link works once (the customer accepts
//! through it, then it is spent), and the invitation email's templates in
//! French and English.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer_null;

use crate::m20261124_000002_email_templates::insert_missing;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaymentPlans {
    Table,
    InvitationUsedAt,
}

#[derive(DeriveIden)]
enum EmailTemplates {
    Table,
    Kind,
}

/// (kind, locale, subject, html, text)
const TEMPLATES: [(&str, &str, &str, &str, &str); 2] = [
    (
        "invitation",
        "fr",
        "{{ merchant }} vous propose de payer {{ label }} en {{ count }} fois",
        "<p>Bonjour {{ customer_name }},</p>\n<p>{{ merchant }} vous propose de régler <strong>{{ label }}</strong> ({{ total }}) en {{ count }} échéances :</p>\n<ul>\n{% for e in echeances %}<li>{{ e.due_date }} : {{ e.amount }}</li>\n{% endfor %}</ul>\n<p><a href=\"{{ link }}\">Voir et accepter l’échéancier</a></p>\n<p>Ce lien vous est personnel et reste valable jusqu’au {{ expires_on }}. Vous y enregistrerez la carte qui sera débitée à chaque date.</p>\n<p>— {{ merchant }}</p>",
        "Bonjour {{ customer_name }},\n\n{{ merchant }} vous propose de régler {{ label }} ({{ total }}) en {{ count }} échéances :\n{% for e in echeances %}- {{ e.due_date }} : {{ e.amount }}\n{% endfor %}\nVoir et accepter l’échéancier : {{ link }}\n\nCe lien vous est personnel et reste valable jusqu’au {{ expires_on }}. Vous y enregistrerez la carte qui sera débitée à chaque date.\n\n— {{ merchant }}",
    ),
    (
        "invitation",
        "en",
        "{{ merchant }} offers to let you pay {{ label }} in {{ count }} installments",
        "<p>Hello {{ customer_name }},</p>\n<p>{{ merchant }} offers to let you pay <strong>{{ label }}</strong> ({{ total }}) in {{ count }} installments:</p>\n<ul>\n{% for e in echeances %}<li>{{ e.due_date }}: {{ e.amount }}</li>\n{% endfor %}</ul>\n<p><a href=\"{{ link }}\">See and accept the payment plan</a></p>\n<p>This link is yours alone and works until {{ expires_on }}. There you will save the card to be charged on each date.</p>\n<p>— {{ merchant }}</p>",
        "Hello {{ customer_name }},\n\n{{ merchant }} offers to let you pay {{ label }} ({{ total }}) in {{ count }} installments:\n{% for e in echeances %}- {{ e.due_date }}: {{ e.amount }}\n{% endfor %}\nSee and accept the payment plan: {{ link }}\n\nThis link is yours alone and works until {{ expires_on }}. There you will save the card to be charged on each date.\n\n— {{ merchant }}",
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
            .alter_table(
                Table::alter()
                    .table(PaymentPlans::Table)
                    .add_column(big_integer_null(PaymentPlans::InvitationUsedAt))
                    .to_owned(),
            )
            .await?;
        insert_missing(manager, &TEMPLATES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(EmailTemplates::Table)
                    .and_where(Expr::col(EmailTemplates::Kind).eq("invitation"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(PaymentPlans::Table).drop_column(PaymentPlans::InvitationUsedAt).to_owned(),
            )
            .await
    }
}
