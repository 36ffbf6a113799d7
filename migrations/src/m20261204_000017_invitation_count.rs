//! The invitation email counts its échéances in the right number: a plan of
//! one read « en 1 échéances » / "in 1 installments". For the templates no
//! admin has edited (subject and bodies).

use sea_orm_migration::prelude::*;

use crate::m20261124_000002_email_templates::update_seeded_with_subject;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (locale, subject, html, text)
const INVITATION: [(&str, &str, &str, &str); 2] = [
    (
        "fr",
        "{{ merchant }} vous propose de payer {{ label }} en {{ count }} fois",
        "<p>Bonjour {{ customer_name }},</p>\n<p>{{ merchant }} vous propose de régler <strong>{{ label }}</strong> ({{ total }}) en {{ count }} échéance{% if count > 1 %}s{% endif %} :</p>\n<ul>\n{% for e in echeances %}<li>{{ e.due_date }} : {{ e.amount }}</li>\n{% endfor %}</ul>\n<p><a href=\"{{ link }}\">Voir et accepter l’échéancier</a></p>\n<p>Ce lien vous est personnel et reste valable jusqu’au {{ expires_on }}. Vous y enregistrerez la carte qui sera débitée à chaque date.</p>\n<p>— {{ merchant }}</p>",
        "Bonjour {{ customer_name }},\n\n{{ merchant }} vous propose de régler {{ label }} ({{ total }}) en {{ count }} échéance{% if count > 1 %}s{% endif %} :\n{% for e in echeances %}- {{ e.due_date }} : {{ e.amount }}\n{% endfor %}\nVoir et accepter l’échéancier : {{ link }}\n\nCe lien vous est personnel et reste valable jusqu’au {{ expires_on }}. Vous y enregistrerez la carte qui sera débitée à chaque date.\n\n— {{ merchant }}",
    ),
    (
        "en",
        "{{ merchant }} offers to let you pay {{ label }} in {{ count }} installment{% if count != 1 %}s{% endif %}",
        "<p>Hello {{ customer_name }},</p>\n<p>{{ merchant }} offers to let you pay <strong>{{ label }}</strong> ({{ total }}) in {{ count }} installment{% if count != 1 %}s{% endif %}:</p>\n<ul>\n{% for e in echeances %}<li>{{ e.due_date }}: {{ e.amount }}</li>\n{% endfor %}</ul>\n<p><a href=\"{{ link }}\">See and accept the payment plan</a></p>\n<p>This link is yours alone and works until {{ expires_on }}. There you will save the card to be charged on each date.</p>\n<p>— {{ merchant }}</p>",
        "Hello {{ customer_name }},\n\n{{ merchant }} offers to let you pay {{ label }} ({{ total }}) in {{ count }} installment{% if count != 1 %}s{% endif %}:\n{% for e in echeances %}- {{ e.due_date }}: {{ e.amount }}\n{% endfor %}\nSee and accept the payment plan: {{ link }}\n\nThis link is yours alone and works until {{ expires_on }}. There you will save the card to be charged on each date.\n\n— {{ merchant }}",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, like the others.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        update_seeded_with_subject(manager, "invitation", &INVITATION).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The earlier wording is not restored: « en 1 échéances » is no improvement.
        Ok(())
    }
}
