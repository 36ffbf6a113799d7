//! The services' error: a few kinds the caller reacts to, and everything else
//! as `Unexpected`, logged once where it is turned into an [`AppError`].

use crate::api::error::AppError;

/// A service call that did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such thing.
    #[error("not found")]
    NotFound,
    /// The caller may not do this (another customer's échéance, a customer on an admin page).
    #[error("forbidden")]
    Forbidden,
    /// Does not apply now; the message is for the user (French).
    #[error("{0}")]
    Conflict(String),
    /// Bad input; the message is for the user (French).
    #[error("{0}")]
    Validation(String),
    /// An invalid or expired signed link.
    #[error("invalid or expired link")]
    InvalidLink,
    /// Not logged in.
    #[error("unauthenticated")]
    Unauthenticated,
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

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => Self::NotFound,
            ServiceError::Forbidden => Self::Forbidden,
            ServiceError::Conflict(m) => Self::Conflict(m),
            ServiceError::Validation(m) => Self::Validation(m),
            ServiceError::InvalidLink => Self::InvalidLink,
            ServiceError::Unauthenticated => Self::Unauthenticated,
            ServiceError::RateLimited => Self::RateLimited,
            ServiceError::Unavailable => Self::Unavailable,
            ServiceError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "unexpected failure");
                Self::Internal
            }
        }
    }
}
