//! The admins' email of a new dispute says when the disputed payment is a second collection of an
//! échéance already paid (a double charge): the échéance's own payment is not at stake, and the
//! dispute of a duplicate is better accepted than fought (no call for evidence then) — for the
//! templates no admin has edited.

use sea_orm_migration::prelude::*;

use crate::m20261124_000002_email_templates::update_seeded_with_subject;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (locale, subject, html, text)
const DISPUTE_OPENED: [(&str, &str, &str, &str); 2] = [
    (
        "fr",
        "Contestation{% if of_second_payment %} d’un paiement en double{% endif %} : {{ amount }} de {{ customer_name }}",
        "<p>Bonjour {{ reader_name }},</p>\n<p>{{ customer_name }} ({{ customer_email }}) conteste auprès de sa banque le paiement de <strong>{{ amount }}</strong> — {{ label }}, échéance du {{ due_date }}{% if reason %} (motif : {{ reason }}){% endif %}.</p>\n{% if of_second_payment %}<p>Ce paiement est un second encaissement de l’échéance, qui était déjà payée : un double prélèvement. Le paiement de l’échéance n’est pas en cause : la banque reprend le doublon. Acceptez la contestation dans le tableau de bord Stripe plutôt que d’envoyer des preuves.</p>\n{% elif evidence_due_by %}<p>Les preuves sont à envoyer dans le tableau de bord Stripe avant le <strong>{{ evidence_due_by }}</strong> ; sans réponse, la contestation est perdue.</p>\n{% endif %}<p><a href=\"{{ link }}\">Voir l’échéance</a></p>\n<p>— Échéancier</p>",
        "Bonjour {{ reader_name }},\n\n{{ customer_name }} ({{ customer_email }}) conteste auprès de sa banque le paiement de {{ amount }} — {{ label }}, échéance du {{ due_date }}{% if reason %} (motif : {{ reason }}){% endif %}.\n{% if of_second_payment %}Ce paiement est un second encaissement de l’échéance, qui était déjà payée : un double prélèvement. Le paiement de l’échéance n’est pas en cause : la banque reprend le doublon. Acceptez la contestation dans le tableau de bord Stripe plutôt que d’envoyer des preuves.\n{% elif evidence_due_by %}Les preuves sont à envoyer dans le tableau de bord Stripe avant le {{ evidence_due_by }} ; sans réponse, la contestation est perdue.\n{% endif %}\nVoir l’échéance : {{ link }}\n\n— Échéancier",
    ),
    (
        "en",
        "Dispute{% if of_second_payment %} of a double charge{% endif %}: {{ amount }} from {{ customer_name }}",
        "<p>Hello {{ reader_name }},</p>\n<p>{{ customer_name }} ({{ customer_email }}) disputes with their bank the payment of <strong>{{ amount }}</strong> — {{ label }}, due on {{ due_date }}{% if reason %} (reason: {{ reason }}){% endif %}.</p>\n{% if of_second_payment %}<p>This payment is a second collection of the installment, which was already paid: a double charge. The installment's own payment is not at stake: the bank is taking the duplicate back. Accept the dispute in the Stripe Dashboard rather than sending evidence.</p>\n{% elif evidence_due_by %}<p>Evidence is to be sent from the Stripe Dashboard before <strong>{{ evidence_due_by }}</strong>; without an answer, the dispute is lost.</p>\n{% endif %}<p><a href=\"{{ link }}\">See the installment</a></p>\n<p>— Échéancier</p>",
        "Hello {{ reader_name }},\n\n{{ customer_name }} ({{ customer_email }}) disputes with their bank the payment of {{ amount }} — {{ label }}, due on {{ due_date }}{% if reason %} (reason: {{ reason }}){% endif %}.\n{% if of_second_payment %}This payment is a second collection of the installment, which was already paid: a double charge. The installment's own payment is not at stake: the bank is taking the duplicate back. Accept the dispute in the Stripe Dashboard rather than sending evidence.\n{% elif evidence_due_by %}Evidence is to be sent from the Stripe Dashboard before {{ evidence_due_by }}; without an answer, the dispute is lost.\n{% endif %}\nSee the installment: {{ link }}\n\n— Échéancier",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, like the others.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        update_seeded_with_subject(manager, "admin_dispute_opened", &DISPUTE_OPENED).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The earlier wording is not restored: an email that calls a double charge an ordinary
        // dispute is no improvement (and its variable is still given).
        Ok(())
    }
}
