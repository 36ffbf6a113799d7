//! The services' error: *why* a call did not do what was asked, as data the
//! interface words in the reader's language, and everything else as
//! `Unexpected`, logged once where it is turned into an [`AppError`].

use crate::api::error::AppError;
use crate::domain::{Invalid, Refusal};
use crate::ssr::payments::GatewayError;

/// A service call that did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such thing.
    #[error("not found")]
    NotFound,
    /// The caller may not do this (another customer's échéance, a customer on an admin page).
    #[error("forbidden")]
    Forbidden,
    /// Does not apply now, and why.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// Bad input, and which.
    #[error("invalid: {0}")]
    Invalid(Invalid),
    /// An invalid or expired signed link.
    #[error("invalid or expired link")]
    InvalidLink,
    /// Not logged in.
    #[error("unauthenticated")]
    Unauthenticated,
    /// A login whose address and password match no account (which of the two is not said).
    #[error("wrong credentials")]
    WrongCredentials,
    /// Too many attempts.
    #[error("rate limited")]
    RateLimited,
    /// Stripe did not answer; nothing was lost, try again.
    #[error("payment provider unavailable")]
    Unavailable,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Unexpected(anyhow::Error::new(e).context("database"))
    }
}

impl From<Refusal> for ServiceError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl From<Invalid> for ServiceError {
    fn from(invalid: Invalid) -> Self {
        Self::Invalid(invalid)
    }
}

/// The one conversion of a Stripe failure: its cause is logged here, once,
/// and "Stripe refused" stays apart from "Stripe did not answer".
impl From<GatewayError> for ServiceError {
    fn from(e: GatewayError) -> Self {
        match &e {
            GatewayError::Transient { .. } | GatewayError::Decode(_) => {
                tracing::warn!(error = %e, "Stripe did not answer usably");
                Self::Unavailable
            }
            GatewayError::Rejected { .. } if e.unknown_object() => {
                tracing::warn!(error = %e, "Stripe does not know the object");
                Self::Refused(Refusal::UnknownToStripe)
            }
            GatewayError::Rejected { .. } => {
                tracing::warn!(error = %e, "Stripe refused the request");
                Self::Refused(Refusal::StripeRefused)
            }
            GatewayError::Card { .. } => {
                tracing::info!(error = %e, "the bank refused the card");
                Self::Invalid(Invalid::CardRefused)
            }
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => Self::NotFound,
            ServiceError::Forbidden => Self::Forbidden,
            ServiceError::Refused(r) => Self::Refused(r),
            ServiceError::Invalid(i) => Self::Invalid(i),
            ServiceError::InvalidLink => Self::InvalidLink,
            ServiceError::Unauthenticated => Self::Unauthenticated,
            ServiceError::WrongCredentials => Self::WrongCredentials,
            ServiceError::RateLimited => Self::RateLimited,
            ServiceError::Unavailable => Self::Unavailable,
            ServiceError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "unexpected failure");
                Self::Internal
            }
        }
    }
}
