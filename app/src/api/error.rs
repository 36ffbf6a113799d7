//! The one error type that crosses the wire: a user-safe kind, never a cause.
//! Causes are logged once, on the server, where the error is made.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

use crate::domain::Locale;

/// What went wrong, as the browser may know it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Not logged in (or the session expired).
    #[error("non connecté")]
    Unauthenticated,
    /// Logged in, but not allowed.
    #[error("accès refusé")]
    Forbidden,
    /// Does not exist (or is not yours: the same answer).
    #[error("introuvable")]
    NotFound,
    /// Bad input; the message says which field and why (in French).
    #[error("{0}")]
    Validation(String),
    /// The action does not apply now (already paid, charge in flight…); the message says why.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; try again later.
    #[error("trop de tentatives")]
    RateLimited,
    /// The link is invalid or expired.
    #[error("lien invalide ou expiré")]
    InvalidLink,
    /// A dependency (Stripe, the database) is not answering; try again.
    #[error("service momentanément indisponible")]
    Unavailable,
    /// A bug or an unexpected failure; details are in the server log.
    #[error("erreur interne")]
    Internal,
    /// The call itself failed (network, decoding).
    #[error("échec de la requête")]
    Request(ServerFnErrorErr),
}

impl AppError {
    /// A sentence for the person in front of the screen: what happened and what to do.
    #[must_use]
    pub fn message(&self, locale: Locale) -> String {
        let fr = locale == Locale::Fr;
        match self {
            Self::Unauthenticated => {
                if fr { "Votre session a expiré. Reconnectez-vous pour continuer." } else { "Your session has expired. Please log in again." }
            }
            .to_owned(),
            Self::Forbidden => if fr {
                "Vous n'avez pas accès à cette page. Connectez-vous avec le bon compte."
            } else {
                "You do not have access to this page. Log in with the right account."
            }
            .to_owned(),
            Self::NotFound => if fr {
                "Cet élément est introuvable. Revenez à la liste et réessayez."
            } else {
                "This item cannot be found. Go back to the list and try again."
            }
            .to_owned(),
            Self::Validation(msg) | Self::Conflict(msg) => msg.clone(),
            Self::RateLimited => if fr {
                "Trop de tentatives. Patientez quelques minutes avant de réessayer."
            } else {
                "Too many attempts. Wait a few minutes before trying again."
            }
            .to_owned(),
            Self::InvalidLink => if fr {
                "Ce lien n'est plus valide (expiré ou incorrect). Connectez-vous pour retrouver vos échéances, ou demandez un nouveau lien."
            } else {
                "This link is no longer valid (expired or incorrect). Log in to see your installments, or ask for a new link."
            }
            .to_owned(),
            Self::Unavailable => if fr {
                "Le service de paiement ne répond pas pour le moment. Aucun débit n'a été fait en double ; réessayez dans quelques minutes."
            } else {
                "The payment service is not answering right now. Nothing was charged twice; try again in a few minutes."
            }
            .to_owned(),
            Self::Internal => if fr {
                "Une erreur inattendue s'est produite. Réessayez ; si elle persiste, contactez le support."
            } else {
                "An unexpected error occurred. Try again; if it persists, contact support."
            }
            .to_owned(),
            Self::Request(_) => if fr {
                "La connexion au serveur a échoué. Vérifiez votre connexion internet et réessayez."
            } else {
                "The connection to the server failed. Check your internet connection and try again."
            }
            .to_owned(),
        }
    }

    /// The HTTP status the server answers with.
    #[must_use]
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Validation(_) => 422,
            Self::Conflict(_) => 409,
            Self::RateLimited => 429,
            Self::InvalidLink => 410,
            Self::Unavailable => 503,
            Self::Internal | Self::Request(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Request(value)
    }
}

impl From<ServerFnErrorErr> for AppError {
    fn from(value: ServerFnErrorErr) -> Self {
        Self::Request(value)
    }
}
