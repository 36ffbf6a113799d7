//! Interface texts in French and English, and the locale of the page.

use leptos::prelude::*;

use crate::domain::{EcheanceStatus, Locale};

/// The locale of this page: from the `lang` cookie or `Accept-Language` on the
/// server; from `<html lang>` in the browser (which the server wrote), so both
/// sides render the same thing.
#[must_use]
pub fn page_locale() -> Locale {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .map(|p| locale_of_request(&p.headers))
            .unwrap_or_default()
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

/// The locale a request asks for: `lang` cookie first, then `Accept-Language`, else French.
#[cfg(feature = "ssr")]
#[must_use]
pub fn locale_of_request(headers: &http::HeaderMap) -> Locale {
    let cookie = headers
        .get(http::header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| {
            c.split(';')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| *k == "lang")
                .map(|(_, v)| v.to_owned())
        });
    match cookie {
        Some(code) => Locale::from_code(&code),
        None => headers
            .get(http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Locale::from_code)
            .unwrap_or_default(),
    }
}

/// The texts of the current page's locale (from context).
#[must_use]
pub fn texts() -> &'static Texts {
    Texts::of(use_context::<Locale>().unwrap_or_default())
}

/// Every interface string.
#[derive(Debug)]
pub struct Texts {
    /// Product name.
    pub app_name: &'static str,
    /// Tagline on the landing page.
    pub tagline: &'static str,
    /// "Log in".
    pub login: &'static str,
    /// "Log out".
    pub logout: &'static str,
    /// Email label.
    pub email: &'static str,
    /// Password label.
    pub password: &'static str,
    /// Demo accounts heading.
    pub demo_accounts: &'static str,
    /// Role labels.
    pub role_admin: &'static str,
    /// Role labels.
    pub role_customer: &'static str,
    /// Landing summary: how many échéances.
    pub echeances_in_base: &'static str,
    /// Next due date label.
    pub next_due: &'static str,
    /// Shown when the WASM has hydrated (interactive).
    pub interactive: &'static str,
    /// Toggle to show the demo passwords.
    pub show_passwords: &'static str,
    /// Toggle to hide the demo passwords.
    pub hide_passwords: &'static str,
    /// "Loading…".
    pub loading: &'static str,
    /// Link to the checkout.
    pub my_echeances: &'static str,
    /// Link to the dashboard.
    pub dashboard: &'static str,
    /// Language switch label.
    pub other_language: &'static str,
    /// Not found page.
    pub not_found: &'static str,
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
