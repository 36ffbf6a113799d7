//! The payment-failed email says why, in words the customer can act on, when
//! the next automatic try is, and carries a link that logs the customer in to
//! pay now or replace the card — for the templates no admin has edited; and the
//! admins' email of a new dispute, with the deadline for evidence.

use sea_orm_migration::prelude::*;

use crate::m20261124_000002_email_templates::{insert_missing, update_seeded};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (locale, html, text)
const BODIES: [(&str, &str, &str); 2] = [
    (
        "fr",
        "<p>Bonjour {{ customer_name }},</p>\n<p>Le paiement de <strong>{{ amount }}</strong> ({{ label }}, échéance du {{ due_date }}) n’a pas abouti{% if reason %} : {{ reason }}{% endif %}.</p>\n{% if retry_on %}<p>Nous réessaierons automatiquement le {{ retry_on }}.</p>\n{% endif %}<p>Vous pouvez payer dès maintenant ou enregistrer une autre carte, qui servira pour toutes les échéances à venir :</p>\n<p><a href=\"{{ link }}\">Payer ou changer de carte</a></p>\n<p>Ce lien vous connecte à votre espace ; il ne sert qu’une fois et reste valable 7 jours.</p>\n<p>— Échéancier</p>",
        "Bonjour {{ customer_name }},\n\nLe paiement de {{ amount }} ({{ label }}, échéance du {{ due_date }}) n’a pas abouti{% if reason %} : {{ reason }}{% endif %}.\n{% if retry_on %}Nous réessaierons automatiquement le {{ retry_on }}.\n{% endif %}\nVous pouvez payer dès maintenant ou enregistrer une autre carte, qui servira pour toutes les échéances à venir :\n{{ link }}\n\nCe lien vous connecte à votre espace ; il ne sert qu’une fois et reste valable 7 jours.\n\n— Échéancier",
    ),
    (
        "en",
        "<p>Hello {{ customer_name }},</p>\n<p>The payment of <strong>{{ amount }}</strong> ({{ label }}, due on {{ due_date }}) did not go through{% if reason %}: {{ reason }}{% endif %}.</p>\n{% if retry_on %}<p>We will try again automatically on {{ retry_on }}.</p>\n{% endif %}<p>You can pay now or save another card, which will be used for every coming installment:</p>\n<p><a href=\"{{ link }}\">Pay or change card</a></p>\n<p>This link logs you in to your account; it works once, for 7 days.</p>\n<p>— Échéancier</p>",
        "Hello {{ customer_name }},\n\nThe payment of {{ amount }} ({{ label }}, due on {{ due_date }}) did not go through{% if reason %}: {{ reason }}{% endif %}.\n{% if retry_on %}We will try again automatically on {{ retry_on }}.\n{% endif %}\nYou can pay now or save another card, which will be used for every coming installment:\n{{ link }}\n\nThis link logs you in to your account; it works once, for 7 days.\n\n— Échéancier",
    ),
];

/// (kind, locale, subject, html, text)
const NEW_TEMPLATES: [(&str, &str, &str, &str, &str); 2] = [
    (
        "admin_dispute_opened",
        "fr",
        "Contestation : {{ amount }} de {{ customer_name }}",
        "<p>Bonjour {{ reader_name }},</p>\n<p>{{ customer_name }} ({{ customer_email }}) conteste auprès de sa banque le paiement de <strong>{{ amount }}</strong> — {{ label }}, échéance du {{ due_date }}{% if reason %} (motif : {{ reason }}){% endif %}.</p>\n{% if evidence_due_by %}<p>Les preuves sont à envoyer dans le tableau de bord Stripe avant le <strong>{{ evidence_due_by }}</strong> ; sans réponse, la contestation est perdue.</p>\n{% endif %}<p><a href=\"{{ link }}\">Voir l’échéance</a></p>\n<p>— Échéancier</p>",
        "Bonjour {{ reader_name }},\n\n{{ customer_name }} ({{ customer_email }}) conteste auprès de sa banque le paiement de {{ amount }} — {{ label }}, échéance du {{ due_date }}{% if reason %} (motif : {{ reason }}){% endif %}.\n{% if evidence_due_by %}Les preuves sont à envoyer dans le tableau de bord Stripe avant le {{ evidence_due_by }} ; sans réponse, la contestation est perdue.\n{% endif %}\nVoir l’échéance : {{ link }}\n\n— Échéancier",
    ),
    (
        "admin_dispute_opened",
        "en",
        "Dispute: {{ amount }} from {{ customer_name }}",
        "<p>Hello {{ reader_name }},</p>\n<p>{{ customer_name }} ({{ customer_email }}) disputes with their bank the payment of <strong>{{ amount }}</strong> — {{ label }}, due on {{ due_date }}{% if reason %} (reason: {{ reason }}){% endif %}.</p>\n{% if evidence_due_by %}<p>Evidence is to be sent from the Stripe Dashboard before <strong>{{ evidence_due_by }}</strong>; without an answer, the dispute is lost.</p>\n{% endif %}<p><a href=\"{{ link }}\">See the installment</a></p>\n<p>— Échéancier</p>",
        "Hello {{ reader_name }},\n\n{{ customer_name }} ({{ customer_email }}) disputes with their bank the payment of {{ amount }} — {{ label }}, due on {{ due_date }}{% if reason %} (reason: {{ reason }}){% endif %}.\n{% if evidence_due_by %}Evidence is to be sent from the Stripe Dashboard before {{ evidence_due_by }}; without an answer, the dispute is lost.\n{% endif %}\nSee the installment: {{ link }}\n\n— Échéancier",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, like the others.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        insert_missing(manager, &NEW_TEMPLATES).await?;
        update_seeded(manager, "payment_failed", &BODIES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The earlier payment-failed bodies are not restored: an email without its link is no improvement.
        let delete = Query::delete()
            .from_table(Alias::new("email_templates"))
            .and_where(Expr::col(Alias::new("kind")).eq("admin_dispute_opened"))
            .to_owned();
        manager.exec_stmt(delete).await
    }
}
