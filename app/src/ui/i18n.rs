//! Interface texts in French and English, and the locale of the page.

use leptos::prelude::*;

use crate::domain::{EcheanceStatus, Locale};

/// The locale of this page: French unless the person chose English (the
/// `lang` cookie set by `/lang/en`); in the browser, read back from
/// `<html lang>` (which the server wrote), so both sides render the same thing.
#[must_use]
pub fn page_locale() -> Locale {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>().map(|p| locale_of_request(&p.headers)).unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .map(|e| Locale::from_code(&e.get_attribute("lang").unwrap_or_default()))
            .unwrap_or_default()
    }
}

/// The locale a request asks for: the `lang` cookie (set by `/lang/en`), else French.
#[cfg(feature = "ssr")]
#[must_use]
pub fn locale_of_request(headers: &http::HeaderMap) -> Locale {
    headers
        .get(http::header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| {
            c.split(';')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| *k == "lang")
                .map(|(_, v)| Locale::from_code(v))
        })
        .unwrap_or_default()
}

/// The texts of the current page's locale (from context).
#[must_use]
pub fn texts() -> &'static Texts {
    Texts::of(use_context::<Locale>().unwrap_or_default())
}

/// Every interface string.
#[derive(Debug)]
pub struct Texts {
    /// Échéancier
    pub app_name: &'static str,
    /// Vos paiements en plusieurs fois, prélevés au bon moment — jamais deux fois.
    pub tagline: &'static str,
    /// Se connecter
    pub login: &'static str,
    /// Se déconnecter
    pub logout: &'static str,
    /// Adresse e-mail
    pub email: &'static str,
    /// Mot de passe
    pub password: &'static str,
    /// Comptes de démonstration
    pub demo_accounts: &'static str,
    /// administratrice
    pub role_admin: &'static str,
    /// cliente / client
    pub role_customer: &'static str,
    /// échéances enregistrées
    pub echeances_in_base: &'static str,
    /// Prochaine échéance à payer
    pub next_due: &'static str,
    /// Page interactive
    pub interactive: &'static str,
    /// Afficher les mots de passe
    pub show_passwords: &'static str,
    /// Masquer les mots de passe
    pub hide_passwords: &'static str,
    /// Chargement…
    pub loading: &'static str,
    /// Mes échéances
    pub my_echeances: &'static str,
    /// Tableau de bord
    pub dashboard: &'static str,
    /// English
    pub other_language: &'static str,
    /// Page introuvable.
    pub not_found: &'static str,
    /// Retour à l'accueil
    pub back_home: &'static str,
    /// Ouvrir le tableau de bord
    pub go_to_dashboard: &'static str,
    /// Échéance
    pub col_label: &'static str,
    /// Date
    pub col_due: &'static str,
    /// Montant
    pub col_amount: &'static str,
    /// Statut
    pub col_status: &'static str,
    /// Action
    pub col_action: &'static str,
    /// Client
    pub col_customer: &'static str,
    /// Tentatives
    pub col_attempts: &'static str,
    /// Payer
    pub pay: &'static str,
    /// Paiement en cours…
    pub paying: &'static str,
    /// Authentifier le paiement
    pub authenticate: &'static str,
    /// Vous n'avez aucune échéance.
    pub no_echeances: &'static str,
    /// Ma carte
    pub card_title: &'static str,
    /// Aucune carte enregistrée. Enregistrez une carte pour payer vos échéances.
    pub no_card: &'static str,
    /// Enregistrer une carte
    pub add_card: &'static str,
    /// Remplacer la carte
    pub replace_card: &'static str,
    /// Enregistrer la carte
    pub save_card: &'static str,
    /// Annuler
    pub cancel: &'static str,
    /// Carte enregistrée.
    pub card_saved: &'static str,
    /// expire fin
    pub card_expires: &'static str,
    /// Préparation du formulaire sécurisé…
    pub card_preparing: &'static str,
    /// Enregistrement…
    pub saving_card: &'static str,
    /// Enregistrez une carte pour payer.
    pub need_card_to_pay: &'static str,
    /// Paiement reçu, merci !
    pub paid_now: &'static str,
    /// Votre banque demande une authentification 3D Secure pour ce paiement.
    pub action_required_notice: &'static str,
    /// Le paiement a été refusé par votre banque. Vérifiez votre carte ou enregistrez-en une autre, puis réessayez.
    pub declined_notice: &'static str,
    /// Le paiement est en cours de traitement ; le statut se met à jour tout seul.
    pub processing_notice: &'static str,
    /// Authentification du paiement
    pub auth_title: &'static str,
    /// Votre banque demande de confirmer ce paiement avec 3D Secure.
    pub auth_intro: &'static str,
    /// Authentification en cours… suivez les instructions de votre banque.
    pub auth_running: &'static str,
    /// Vérification du paiement auprès de Stripe…
    pub auth_checking: &'static str,
    /// Paiement confirmé. Merci !
    pub auth_success: &'static str,
    /// L'authentification n'a pas abouti. Votre échéance reste en attente : vous pouvez réessayer.
    pub auth_failed: &'static str,
    /// Réessayer l'authentification
    pub auth_retry: &'static str,
    /// Cette échéance est déjà payée. Ce lien ne permet pas de payer une seconde fois.
    pub auth_already_paid: &'static str,
    /// Cette échéance n'attend pas d'authentification.
    pub auth_not_waiting: &'static str,
    /// L'authentification 3D Secure a besoin de JavaScript. Activez-le puis rechargez cette page, ou ouvrez le lien dans un autre navigateur.
    pub auth_noscript: &'static str,
    /// Vous payez
    pub auth_what: &'static str,
    /// échéance du
    pub due_on: &'static str,
    /// Tableau de bord des échéances
    pub admin_title: &'static str,
    /// Filtres
    pub filters: &'static str,
    /// Tous les statuts
    pub all_statuses: &'static str,
    /// Échéance du
    pub filter_from: &'static str,
    /// au
    pub filter_to: &'static str,
    /// Montant min. (€)
    pub filter_min: &'static str,
    /// Montant max. (€)
    pub filter_max: &'static str,
    /// Recherche
    pub search: &'static str,
    /// libellé, client, n° ou pi_…
    pub search_hint: &'static str,
    /// Filtrer
    pub apply: &'static str,
    /// Réinitialiser
    pub reset: &'static str,
    /// Exporter en CSV
    pub export_csv: &'static str,
    /// Totaux par statut
    pub totals: &'static str,
    /// Encaissements des 30 derniers jours
    pub chart_title: &'static str,
    /// résultat(s)
    pub results: &'static str,
    /// Précédent
    pub previous: &'static str,
    /// Suivant
    pub next: &'static str,
    /// Page
    pub page: &'static str,
    /// sur
    pub of: &'static str,
    /// Réconcilier maintenant
    pub reconcile_now: &'static str,
    /// Réconciliation en cours…
    pub reconciling: &'static str,
    /// Dernière réconciliation
    pub last_report: &'static str,
    /// Aucune réconciliation pour l'instant.
    pub no_report: &'static str,
    /// Vérifiées
    pub checked: &'static str,
    /// Corrigées
    pub fixed: &'static str,
    /// Inchangées
    pub unchanged: &'static str,
    /// Erreurs
    pub errors: &'static str,
    /// Appels Stripe
    pub stripe_calls: &'static str,
    /// Webhooks rejoués
    pub events_replayed: &'static str,
    /// Écarts avec Stripe
    pub drift: &'static str,
    /// Aucun écart.
    pub no_drift: &'static str,
    /// Ici
    pub here: &'static str,
    /// Chez Stripe
    pub at_stripe: &'static str,
    /// Résolu en
    pub resolved: &'static str,
    /// Chronologie
    pub timeline: &'static str,
    /// Actions
    pub actions: &'static str,
    /// Relancer le prélèvement
    pub retry_charge: &'static str,
    /// Annuler l'échéance
    pub cancel_echeance: &'static str,
    /// Renvoyer l'e-mail 3D Secure
    pub resend_email: &'static str,
    /// Annuler définitivement cette échéance ?
    pub confirm_cancel: &'static str,
    /// C'est fait.
    pub done: &'static str,
    /// e-mail(s) en échec
    pub failed_emails: &'static str,
    /// webhook(s) en échec
    pub failed_webhooks: &'static str,
    /// Retour au tableau de bord
    pub back_to_dashboard: &'static str,
    /// Modèles d'e-mails
    pub templates: &'static str,
    /// Aucune échéance ne correspond à ces filtres.
    pub no_results: &'static str,
    /// Connectez-vous pour voir cette page.
    pub login_needed: &'static str,
    /// Les modèles utilisent la syntaxe Jinja ({{ variable }}) ; le HTML est échappé automatiquement. Un modèle qui ne s'affiche pas avec les données d'exemple est refusé.
    pub templates_intro: &'static str,
    /// Sujet
    pub subject: &'static str,
    /// Corps HTML
    pub html_body: &'static str,
    /// Corps texte
    pub text_body: &'static str,
    /// Aperçu
    pub preview: &'static str,
    /// Enregistrer
    pub save: &'static str,
    /// Modèle enregistré.
    pub saved: &'static str,
    /// Aperçu avec des données d'exemple
    pub preview_title: &'static str,
    /// E-mails en échec
    pub failed_emails_title: &'static str,
    /// Renvoyer les e-mails en échec
    pub retry_failed_emails: &'static str,
    /// Authentification requise (3D Secure)
    pub kind_authentication_required: &'static str,
    /// Rappel d'authentification
    pub kind_reminder: &'static str,
    /// Paiement refusé
    pub kind_payment_failed: &'static str,
    /// Reçu de paiement
    pub kind_payment_received: &'static str,
}

const FR: Texts = Texts {
    app_name: "Échéancier",
    tagline: "Vos paiements en plusieurs fois, prélevés au bon moment — jamais deux fois.",
    login: "Se connecter",
    logout: "Se déconnecter",
    email: "Adresse e-mail",
    password: "Mot de passe",
    demo_accounts: "Comptes de démonstration",
    role_admin: "administratrice",
    role_customer: "cliente / client",
    echeances_in_base: "échéances enregistrées",
    next_due: "Prochaine échéance à payer",
    interactive: "Page interactive",
    show_passwords: "Afficher les mots de passe",
    hide_passwords: "Masquer les mots de passe",
    loading: "Chargement…",
    my_echeances: "Mes échéances",
    dashboard: "Tableau de bord",
    other_language: "English",
    not_found: "Page introuvable.",
    back_home: "Retour à l'accueil",
    go_to_dashboard: "Ouvrir le tableau de bord",
    col_label: "Échéance",
    col_due: "Date",
    col_amount: "Montant",
    col_status: "Statut",
    col_action: "Action",
    col_customer: "Client",
    col_attempts: "Tentatives",
    pay: "Payer",
    paying: "Paiement en cours…",
    authenticate: "Authentifier le paiement",
    no_echeances: "Vous n'avez aucune échéance.",
    card_title: "Ma carte",
    no_card: "Aucune carte enregistrée. Enregistrez une carte pour payer vos échéances.",
    add_card: "Enregistrer une carte",
    replace_card: "Remplacer la carte",
    save_card: "Enregistrer la carte",
    cancel: "Annuler",
    card_saved: "Carte enregistrée.",
    card_expires: "expire fin",
    card_preparing: "Préparation du formulaire sécurisé…",
    saving_card: "Enregistrement…",
    need_card_to_pay: "Enregistrez une carte pour payer.",
    paid_now: "Paiement reçu, merci !",
    action_required_notice: "Votre banque demande une authentification 3D Secure pour ce paiement.",
    declined_notice: "Le paiement a été refusé par votre banque. Vérifiez votre carte ou enregistrez-en une autre, puis réessayez.",
    processing_notice: "Le paiement est en cours de traitement ; le statut se met à jour tout seul.",
    auth_title: "Authentification du paiement",
    auth_intro: "Votre banque demande de confirmer ce paiement avec 3D Secure.",
    auth_running: "Authentification en cours… suivez les instructions de votre banque.",
    auth_checking: "Vérification du paiement auprès de Stripe…",
    auth_success: "Paiement confirmé. Merci !",
    auth_failed: "L'authentification n'a pas abouti. Votre échéance reste en attente : vous pouvez réessayer.",
    auth_retry: "Réessayer l'authentification",
    auth_already_paid: "Cette échéance est déjà payée. Ce lien ne permet pas de payer une seconde fois.",
    auth_not_waiting: "Cette échéance n'attend pas d'authentification.",
    auth_noscript: "L'authentification 3D Secure a besoin de JavaScript. Activez-le puis rechargez cette page, ou ouvrez le lien dans un autre navigateur.",
    auth_what: "Vous payez",
    due_on: "échéance du",
    admin_title: "Tableau de bord des échéances",
    filters: "Filtres",
    all_statuses: "Tous les statuts",
    filter_from: "Échéance du",
    filter_to: "au",
    filter_min: "Montant min. (€)",
    filter_max: "Montant max. (€)",
    search: "Recherche",
    search_hint: "libellé, client, n° ou pi_…",
    apply: "Filtrer",
    reset: "Réinitialiser",
    export_csv: "Exporter en CSV",
    totals: "Totaux par statut",
    chart_title: "Encaissements des 30 derniers jours",
    results: "résultat(s)",
    previous: "Précédent",
    next: "Suivant",
    page: "Page",
    of: "sur",
    reconcile_now: "Réconcilier maintenant",
    reconciling: "Réconciliation en cours…",
    last_report: "Dernière réconciliation",
    no_report: "Aucune réconciliation pour l'instant.",
    checked: "Vérifiées",
    fixed: "Corrigées",
    unchanged: "Inchangées",
    errors: "Erreurs",
    stripe_calls: "Appels Stripe",
    events_replayed: "Webhooks rejoués",
    drift: "Écarts avec Stripe",
    no_drift: "Aucun écart.",
    here: "Ici",
    at_stripe: "Chez Stripe",
    resolved: "Résolu en",
    timeline: "Chronologie",
    actions: "Actions",
    retry_charge: "Relancer le prélèvement",
    cancel_echeance: "Annuler l'échéance",
    resend_email: "Renvoyer l'e-mail 3D Secure",
    confirm_cancel: "Annuler définitivement cette échéance ?",
    done: "C'est fait.",
    failed_emails: "e-mail(s) en échec",
    failed_webhooks: "webhook(s) en échec",
    back_to_dashboard: "Retour au tableau de bord",
    templates: "Modèles d'e-mails",
    no_results: "Aucune échéance ne correspond à ces filtres.",
    login_needed: "Connectez-vous pour voir cette page.",
    templates_intro: "Les modèles utilisent la syntaxe Jinja ({{ variable }}) ; le HTML est échappé automatiquement. Un modèle qui ne s'affiche pas avec les données d'exemple est refusé.",
    subject: "Sujet",
    html_body: "Corps HTML",
    text_body: "Corps texte",
    preview: "Aperçu",
    save: "Enregistrer",
    saved: "Modèle enregistré.",
    preview_title: "Aperçu avec des données d'exemple",
    failed_emails_title: "E-mails en échec",
    retry_failed_emails: "Renvoyer les e-mails en échec",
    kind_authentication_required: "Authentification requise (3D Secure)",
    kind_reminder: "Rappel d'authentification",
    kind_payment_failed: "Paiement refusé",
    kind_payment_received: "Reçu de paiement",
};

const EN: Texts = Texts {
    app_name: "Échéancier",
    tagline: "Your installment payments, collected on time — never twice.",
    login: "Log in",
    logout: "Log out",
    email: "Email address",
    password: "Password",
    demo_accounts: "Demo accounts",
    role_admin: "administrator",
    role_customer: "customer",
    echeances_in_base: "installments on record",
    next_due: "Next installment due",
    interactive: "Interactive page",
    show_passwords: "Show passwords",
    hide_passwords: "Hide passwords",
    loading: "Loading…",
    my_echeances: "My installments",
    dashboard: "Dashboard",
    other_language: "Français",
    not_found: "Page not found.",
    back_home: "Back to the home page",
    go_to_dashboard: "Open the dashboard",
    col_label: "Installment",
    col_due: "Due date",
    col_amount: "Amount",
    col_status: "Status",
    col_action: "Action",
    col_customer: "Customer",
    col_attempts: "Attempts",
    pay: "Pay",
    paying: "Payment in progress…",
    authenticate: "Authenticate the payment",
    no_echeances: "You have no installments.",
    card_title: "My card",
    no_card: "No card saved. Save a card to pay your installments.",
    add_card: "Save a card",
    replace_card: "Replace the card",
    save_card: "Save the card",
    cancel: "Cancel",
    card_saved: "Card saved.",
    card_expires: "expires end of",
    card_preparing: "Preparing the secure form…",
    saving_card: "Saving…",
    need_card_to_pay: "Save a card to pay.",
    paid_now: "Payment received, thank you!",
    action_required_notice: "Your bank asks for 3D Secure authentication for this payment.",
    declined_notice: "Your bank declined the payment. Check your card or save another one, then try again.",
    processing_notice: "The payment is being processed; the status updates by itself.",
    auth_title: "Payment authentication",
    auth_intro: "Your bank asks you to confirm this payment with 3D Secure.",
    auth_running: "Authentication in progress… follow your bank's instructions.",
    auth_checking: "Checking the payment with Stripe…",
    auth_success: "Payment confirmed. Thank you!",
    auth_failed: "Authentication did not succeed. Your installment is still waiting: you can try again.",
    auth_retry: "Try the authentication again",
    auth_already_paid: "This installment is already paid. This link cannot be used to pay twice.",
    auth_not_waiting: "This installment is not waiting for authentication.",
    auth_noscript: "3D Secure authentication needs JavaScript. Turn it on and reload this page, or open the link in another browser.",
    auth_what: "You are paying",
    due_on: "due on",
    admin_title: "Installments dashboard",
    filters: "Filters",
    all_statuses: "All statuses",
    filter_from: "Due from",
    filter_to: "to",
    filter_min: "Min. amount (€)",
    filter_max: "Max. amount (€)",
    search: "Search",
    search_hint: "label, customer, # or pi_…",
    apply: "Filter",
    reset: "Reset",
    export_csv: "Export as CSV",
    totals: "Totals by status",
    chart_title: "Collected over the last 30 days",
    results: "result(s)",
    previous: "Previous",
    next: "Next",
    page: "Page",
    of: "of",
    reconcile_now: "Reconcile now",
    reconciling: "Reconciling…",
    last_report: "Last reconciliation",
    no_report: "No reconciliation yet.",
    checked: "Checked",
    fixed: "Fixed",
    unchanged: "Unchanged",
    errors: "Errors",
    stripe_calls: "Stripe calls",
    events_replayed: "Webhooks replayed",
    drift: "Drift from Stripe",
    no_drift: "No drift.",
    here: "Here",
    at_stripe: "At Stripe",
    resolved: "Resolved as",
    timeline: "Timeline",
    actions: "Actions",
    retry_charge: "Retry the charge",
    cancel_echeance: "Cancel the installment",
    resend_email: "Resend the 3D Secure email",
    confirm_cancel: "Cancel this installment for good?",
    done: "Done.",
    failed_emails: "failed email(s)",
    failed_webhooks: "failed webhook(s)",
    back_to_dashboard: "Back to the dashboard",
    templates: "Email templates",
    no_results: "No installment matches these filters.",
    login_needed: "Log in to see this page.",
    templates_intro: "Templates use Jinja syntax ({{ variable }}); HTML is escaped automatically. A template that does not render with the sample data is refused.",
    subject: "Subject",
    html_body: "HTML body",
    text_body: "Text body",
    preview: "Preview",
    save: "Save",
    saved: "Template saved.",
    preview_title: "Preview with sample data",
    failed_emails_title: "Failed emails",
    retry_failed_emails: "Send the failed emails again",
    kind_authentication_required: "Authentication required (3D Secure)",
    kind_reminder: "Authentication reminder",
    kind_payment_failed: "Payment declined",
    kind_payment_received: "Payment receipt",
};

impl Texts {
    /// The texts of `locale`.
    #[must_use]
    pub fn of(locale: Locale) -> &'static Self {
        match locale {
            Locale::Fr => &FR,
            Locale::En => &EN,
        }
    }
}

/// The name of an email kind.
#[must_use]
pub fn email_kind_label(kind: &str, tx: &Texts) -> &'static str {
    match kind {
        "authentication_required" => tx.kind_authentication_required,
        "reminder" => tx.kind_reminder,
        "payment_failed" => tx.kind_payment_failed,
        "payment_received" => tx.kind_payment_received,
        _ => "?",
    }
}

/// The label of a status, as customers and admins read it.
#[must_use]
pub fn status_label(status: EcheanceStatus, locale: Locale) -> &'static str {
    let fr = locale == Locale::Fr;
    match status {
        EcheanceStatus::APayer => {
            if fr {
                "À payer"
            } else {
                "To pay"
            }
        }
        EcheanceStatus::EnCours => {
            if fr {
                "En cours"
            } else {
                "Processing"
            }
        }
        EcheanceStatus::EnAttente => {
            if fr {
                "Action requise"
            } else {
                "Action required"
            }
        }
        EcheanceStatus::Payee => {
            if fr {
                "Payée"
            } else {
                "Paid"
            }
        }
        EcheanceStatus::Echouee => {
            if fr {
                "Échouée"
            } else {
                "Failed"
            }
        }
        EcheanceStatus::EchoueeDefinitive => {
            if fr {
                "Échouée (définitif)"
            } else {
                "Failed (final)"
            }
        }
        EcheanceStatus::Annulee => {
            if fr {
                "Annulée"
            } else {
                "Cancelled"
            }
        }
        EcheanceStatus::Remboursee => {
            if fr {
                "Remboursée"
            } else {
                "Refunded"
            }
        }
        EcheanceStatus::Contestee => {
            if fr {
                "Contestée"
            } else {
                "Disputed"
            }
        }
    }
}
