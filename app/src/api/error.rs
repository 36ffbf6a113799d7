//! The one error type that crosses the wire: a user-safe kind, never a cause.
//! Causes are logged once, on the server, where the error is made.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

use crate::domain::{Invalid, Locale, Refusal};

/// What went wrong, as the browser may know it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Not logged in (or the session expired).
    #[error("unauthenticated")]
    Unauthenticated,
    /// A login whose address and password match no account (which of the two is not said).
    #[error("wrong credentials")]
    WrongCredentials,
    /// Logged in, but not allowed.
    #[error("forbidden")]
    Forbidden,
    /// Does not exist (or is not yours: the same answer).
    #[error("not found")]
    NotFound,
    /// Bad input, and which.
    #[error("invalid: {0}")]
    Invalid(Invalid),
    /// The action does not apply now (already paid, charge in flight…), and why.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// Too many attempts; try again later.
    #[error("rate limited")]
    RateLimited,
    /// The link is invalid or expired.
    #[error("invalid or expired link")]
    InvalidLink,
    /// A dependency (Stripe, the database) is not answering; try again.
    #[error("unavailable")]
    Unavailable,
    /// A bug or an unexpected failure; details are in the server log.
    #[error("internal error")]
    Internal,
    /// The call itself failed (network, decoding).
    #[error("request failed")]
    Request(ServerFnErrorErr),
}

impl AppError {
    /// A sentence for the person in front of the screen: what happened and what to do.
    #[must_use]
    pub fn message(&self, locale: Locale) -> String {
        crate::ui::i18n::error_message(self, locale)
    }

    /// The same sentence for an administrator acting on a customer's behalf (the admin pages).
    #[must_use]
    pub fn admin_message(&self, locale: Locale) -> String {
        crate::ui::i18n::admin_error_message(self, locale)
    }

    /// The HTTP status the server answers with.
    #[must_use]
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Unauthenticated | Self::WrongCredentials => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Invalid(_) => 422,
            Self::Refused(_) => 409,
            Self::RateLimited => 429,
            Self::InvalidLink => 410,
            Self::Unavailable => 503,
            // What was sent could not be read (not JSON, a field missing or not of its kind): the
            // caller's to mend. (In a browser, these are the answer's decoding and the network.)
            Self::Request(
                ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_),
            ) => 400,
            Self::Internal | Self::Request(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let error = Self::Request(value);
        // On the server, a request it could not read never reached the function: its answer's
        // status is set here (400, not leptos' 500), as `respond` sets the function's own errors'.
        #[cfg(feature = "ssr")]
        if error.status_code() == 400 {
            return super::context::respond(error);
        }
        error
    }
}

impl From<ServerFnErrorErr> for AppError {
    fn from(value: ServerFnErrorErr) -> Self {
        Self::Request(value)
    }
}
