//! The emails of a customer's plan, in French and English: a coming debit, a
//! saved card that will not last until one,
//! the plan in place (its whole schedule), fully paid, in default — and the
//! admins' email of a default; and the receipt that now says which card paid,
//! what the plan still has to collect and when — for the receipts no admin has
//! edited (an edit is kept).

use sea_orm_migration::prelude::*;

use crate::m20261124_000002_email_templates::{EmailTemplates, insert_missing, update_seeded};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (kind, locale, subject, html, text)
const NEW_TEMPLATES: [(&str, &str, &str, &str, &str); 12] = [
    (
        "upcoming_debit",
        "fr",
        "Prochain prélèvement le {{ due_date }} : {{ amount }}",
        "<p>Bonjour {{ customer_name }},</p>\n<p>Le {{ due_date }}, <strong>{{ amount }}</strong> seront prélevés pour {{ label }}{% if card %} sur votre carte {{ card }}{% endif %}.</p>\n{% if remaining %}<p>Il restera ensuite {{ remaining }} à régler ({{ remaining_count }} échéance{% if remaining_count > 1 %}s{% endif %}).</p>\n{% endif %}<p>Pour changer de carte ou payer dès maintenant : <a href=\"{{ portal_url }}\">votre espace</a>.</p>\n<p>— Échéancier</p>",
        "Bonjour {{ customer_name }},\n\nLe {{ due_date }}, {{ amount }} seront prélevés pour {{ label }}{% if card %} sur votre carte {{ card }}{% endif %}.\n{% if remaining %}Il restera ensuite {{ remaining }} à régler ({{ remaining_count }} échéance{% if remaining_count > 1 %}s{% endif %}).\n{% endif %}\nPour changer de carte ou payer dès maintenant : {{ portal_url }}\n\n— Échéancier",
    ),
    (
        "upcoming_debit",
        "en",
        "Next debit on {{ due_date }}: {{ amount }}",
        "<p>Hello {{ customer_name }},</p>\n<p>On {{ due_date }}, <strong>{{ amount }}</strong> will be charged for {{ label }}{% if card %} to your card {{ card }}{% endif %}.</p>\n{% if remaining %}<p>{{ remaining }} will then remain to pay ({{ remaining_count }} installment{% if remaining_count != 1 %}s{% endif %}).</p>\n{% endif %}<p>To change your card or pay now: <a href=\"{{ portal_url }}\">your account</a>.</p>\n<p>— Échéancier</p>",
        "Hello {{ customer_name }},\n\nOn {{ due_date }}, {{ amount }} will be charged for {{ label }}{% if card %} to your card {{ card }}{% endif %}.\n{% if remaining %}{{ remaining }} will then remain to pay ({{ remaining_count }} installment{% if remaining_count != 1 %}s{% endif %}).\n{% endif %}\nTo change your card or pay now: {{ portal_url }}\n\n— Échéancier",
    ),
    (
        "plan_summary",
        "fr",
        "Votre échéancier « {{ label }} » est en place",
        "<p>Bonjour {{ reader_name }},</p>\n<p>Votre échéancier « {{ label }} » est en place : {{ total }} en {{ count }} échéance{% if count > 1 %}s{% endif %}{% if card %}, prélevées sur votre carte {{ card }}{% endif %}.</p>\n<ul>\n{% for e in echeances %}<li>{{ e.due_date }} : {{ e.amount }}{% if e.paid %} (réglée){% endif %}</li>\n{% endfor %}</ul>\n<p>Chaque échéance est prélevée à sa date ; un e-mail vous prévient quelques jours avant. <a href=\"{{ site_url }}\">Suivre mes échéances</a></p>\n<p>— Échéancier</p>",
        "Bonjour {{ reader_name }},\n\nVotre échéancier « {{ label }} » est en place : {{ total }} en {{ count }} échéance{% if count > 1 %}s{% endif %}{% if card %}, prélevées sur votre carte {{ card }}{% endif %}.\n\n{% for e in echeances %}- {{ e.due_date }} : {{ e.amount }}{% if e.paid %} (réglée){% endif %}\n{% endfor %}\nChaque échéance est prélevée à sa date ; un e-mail vous prévient quelques jours avant.\nSuivre mes échéances : {{ site_url }}\n\n— Échéancier",
    ),
    (
        "plan_summary",
        "en",
        "Your plan “{{ label }}” is in place",
        "<p>Hello {{ reader_name }},</p>\n<p>Your plan “{{ label }}” is in place: {{ total }} in {{ count }} installment{% if count != 1 %}s{% endif %}{% if card %}, charged to your card {{ card }}{% endif %}.</p>\n<ul>\n{% for e in echeances %}<li>{{ e.due_date }}: {{ e.amount }}{% if e.paid %} (paid){% endif %}</li>\n{% endfor %}</ul>\n<p>Each installment is charged on its date; an email tells you a few days before. <a href=\"{{ site_url }}\">Follow my installments</a></p>\n<p>— Échéancier</p>",
        "Hello {{ reader_name }},\n\nYour plan “{{ label }}” is in place: {{ total }} in {{ count }} installment{% if count != 1 %}s{% endif %}{% if card %}, charged to your card {{ card }}{% endif %}.\n\n{% for e in echeances %}- {{ e.due_date }}: {{ e.amount }}{% if e.paid %} (paid){% endif %}\n{% endfor %}\nEach installment is charged on its date; an email tells you a few days before.\nFollow my installments: {{ site_url }}\n\n— Échéancier",
    ),
    (
        "plan_completed",
        "fr",
        "Votre échéancier « {{ label }} » est soldé",
        "<p>Bonjour {{ reader_name }},</p>\n<p>« {{ label }} » est soldé : {{ paid_count }} échéance{% if paid_count > 1 %}s{% endif %} réglée{% if paid_count > 1 %}s{% endif %}, {{ paid_total }} en tout. Merci !</p>\n<p><a href=\"{{ site_url }}\">Mes échéances</a></p>\n<p>— Échéancier</p>",
        "Bonjour {{ reader_name }},\n\n« {{ label }} » est soldé : {{ paid_count }} échéance{% if paid_count > 1 %}s{% endif %} réglée{% if paid_count > 1 %}s{% endif %}, {{ paid_total }} en tout. Merci !\n\nMes échéances : {{ site_url }}\n\n— Échéancier",
    ),
    (
        "plan_completed",
        "en",
        "Your plan “{{ label }}” is settled",
        "<p>Hello {{ reader_name }},</p>\n<p>“{{ label }}” is settled: {{ paid_count }} installment{% if paid_count != 1 %}s{% endif %} paid, {{ paid_total }} in all. Thank you!</p>\n<p><a href=\"{{ site_url }}\">My installments</a></p>\n<p>— Échéancier</p>",
        "Hello {{ reader_name }},\n\n“{{ label }}” is settled: {{ paid_count }} installment{% if paid_count != 1 %}s{% endif %} paid, {{ paid_total }} in all. Thank you!\n\nMy installments: {{ site_url }}\n\n— Échéancier",
    ),
    (
        "plan_in_default",
        "fr",
        "Échéancier « {{ label }} » : un paiement n’a pas pu aboutir",
        "<p>Bonjour {{ reader_name }},</p>\n<p>Votre banque a refusé le paiement de <strong>{{ failed_amount }}</strong> (échéance du {{ failed_due_date }}) de « {{ label }} », et il ne sera pas retenté automatiquement.</p>\n<p>Pour régulariser, enregistrez une autre carte et réglez cette échéance depuis <a href=\"{{ site_url }}\">votre espace</a>.</p>\n<p>— Échéancier</p>",
        "Bonjour {{ reader_name }},\n\nVotre banque a refusé le paiement de {{ failed_amount }} (échéance du {{ failed_due_date }}) de « {{ label }} », et il ne sera pas retenté automatiquement.\n\nPour régulariser, enregistrez une autre carte et réglez cette échéance depuis votre espace : {{ site_url }}\n\n— Échéancier",
    ),
    (
        "plan_in_default",
        "en",
        "Plan “{{ label }}”: a payment did not go through",
        "<p>Hello {{ reader_name }},</p>\n<p>Your bank declined the payment of <strong>{{ failed_amount }}</strong> (due on {{ failed_due_date }}) of “{{ label }}”, and it will not be retried automatically.</p>\n<p>To settle it, save another card and pay this installment from <a href=\"{{ site_url }}\">your account</a>.</p>\n<p>— Échéancier</p>",
        "Hello {{ reader_name }},\n\nYour bank declined the payment of {{ failed_amount }} (due on {{ failed_due_date }}) of “{{ label }}”, and it will not be retried automatically.\n\nTo settle it, save another card and pay this installment from your account: {{ site_url }}\n\n— Échéancier",
    ),
    (
        "admin_plan_in_default",
        "fr",
        "Échéancier en défaut : {{ customer_name }} — {{ label }}",
        "<p>Bonjour {{ reader_name }},</p>\n<p>L’échéance du {{ failed_due_date }} ({{ failed_amount }}) de l’échéancier « {{ label }} » de {{ customer_name }} a échoué définitivement : l’échéancier est en défaut.</p>\n<p><a href=\"{{ site_url }}admin/plans/{{ plan_id }}\">Voir l’échéancier</a></p>",
        "Bonjour {{ reader_name }},\n\nL’échéance du {{ failed_due_date }} ({{ failed_amount }}) de l’échéancier « {{ label }} » de {{ customer_name }} a échoué définitivement : l’échéancier est en défaut.\n\n{{ site_url }}admin/plans/{{ plan_id }}",
    ),
    (
        "admin_plan_in_default",
        "en",
        "Plan in default: {{ customer_name }} — {{ label }}",
        "<p>Hello {{ reader_name }},</p>\n<p>The installment due on {{ failed_due_date }} ({{ failed_amount }}) of {{ customer_name }}’s plan “{{ label }}” failed for good: the plan is in default.</p>\n<p><a href=\"{{ site_url }}admin/plans/{{ plan_id }}\">See the plan</a></p>",
        "Hello {{ reader_name }},\n\nThe installment due on {{ failed_due_date }} ({{ failed_amount }}) of {{ customer_name }}’s plan “{{ label }}” failed for good: the plan is in default.\n\n{{ site_url }}admin/plans/{{ plan_id }}",
    ),
    (
        "card_expiring",
        "fr",
        "Votre carte {{ card }} expire avant votre prochain prélèvement",
        "<p>Bonjour {{ customer_name }},</p>\n<p>Votre carte {{ card }} expire fin {{ expires }}, avant le prélèvement de <strong>{{ amount }}</strong> prévu le {{ due_date }} ({{ label }}).</p>\n<p>Enregistrez une nouvelle carte depuis <a href=\"{{ portal_url }}\">votre espace</a> : elle servira pour toutes les échéances à venir.</p>\n<p>— Échéancier</p>",
        "Bonjour {{ customer_name }},\n\nVotre carte {{ card }} expire fin {{ expires }}, avant le prélèvement de {{ amount }} prévu le {{ due_date }} ({{ label }}).\n\nEnregistrez une nouvelle carte depuis votre espace : {{ portal_url }}\nElle servira pour toutes les échéances à venir.\n\n— Échéancier",
    ),
    (
        "card_expiring",
        "en",
        "Your card {{ card }} expires before your next debit",
        "<p>Hello {{ customer_name }},</p>\n<p>Your card {{ card }} expires at the end of {{ expires }}, before the debit of <strong>{{ amount }}</strong> due on {{ due_date }} ({{ label }}).</p>\n<p>Save a new card in <a href=\"{{ portal_url }}\">your account</a>: it will serve every installment to come.</p>\n<p>— Échéancier</p>",
        "Hello {{ customer_name }},\n\nYour card {{ card }} expires at the end of {{ expires }}, before the debit of {{ amount }} due on {{ due_date }} ({{ label }}).\n\nSave a new card in your account: {{ portal_url }}\nIt will serve every installment to come.\n\n— Échéancier",
    ),
];

/// The receipt, (locale, html, text); its subject stays.
const RECEIPTS: [(&str, &str, &str); 2] = [
    (
        "fr",
        "<p>Bonjour {{ customer_name }},</p>\n<p>Nous avons bien reçu votre paiement de <strong>{{ amount }}</strong> pour {{ label }} (échéance du {{ due_date }}){% if card %}, réglé avec votre carte {{ card }}{% endif %}. Merci !</p>\n{% if remaining %}<p>Reste à régler : {{ remaining }} ({{ remaining_count }} échéance{% if remaining_count > 1 %}s{% endif %}), prochaine échéance le {{ next_due_date }}.</p>\n{% elif in_plan %}<p>Votre échéancier est entièrement réglé.</p>\n{% endif %}<p><a href=\"{{ portal_url }}\">Voir mes échéances</a></p>\n<p>— Échéancier</p>",
        "Bonjour {{ customer_name }},\n\nNous avons bien reçu votre paiement de {{ amount }} pour {{ label }} (échéance du {{ due_date }}){% if card %}, réglé avec votre carte {{ card }}{% endif %}. Merci !\n{% if remaining %}Reste à régler : {{ remaining }} ({{ remaining_count }} échéance{% if remaining_count > 1 %}s{% endif %}), prochaine échéance le {{ next_due_date }}.\n{% elif in_plan %}Votre échéancier est entièrement réglé.\n{% endif %}\nVos échéances : {{ portal_url }}\n\n— Échéancier",
    ),
    (
        "en",
        "<p>Hello {{ customer_name }},</p>\n<p>We received your payment of <strong>{{ amount }}</strong> for {{ label }} (due on {{ due_date }}){% if card %}, paid with your card {{ card }}{% endif %}. Thank you!</p>\n{% if remaining %}<p>Still to pay: {{ remaining }} ({{ remaining_count }} installment{% if remaining_count != 1 %}s{% endif %}), the next one on {{ next_due_date }}.</p>\n{% elif in_plan %}<p>Your plan is fully paid.</p>\n{% endif %}<p><a href=\"{{ portal_url }}\">See my installments</a></p>\n<p>— Échéancier</p>",
        "Hello {{ customer_name }},\n\nWe received your payment of {{ amount }} for {{ label }} (due on {{ due_date }}){% if card %}, paid with your card {{ card }}{% endif %}. Thank you!\n{% if remaining %}Still to pay: {{ remaining }} ({{ remaining_count }} installment{% if remaining_count != 1 %}s{% endif %}), the next one on {{ next_due_date }}.\n{% elif in_plan %}Your plan is fully paid.\n{% endif %}\nYour installments: {{ portal_url }}\n\n— Échéancier",
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
        update_seeded(manager, "payment_received", &RECEIPTS).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let delete = Query::delete()
            .from_table(EmailTemplates::Table)
            .and_where(Expr::col(EmailTemplates::Kind).is_in(NEW_TEMPLATES.iter().map(|t| t.0)))
            .to_owned();
        manager.exec_stmt(delete).await
    }
}
