//! The emails the product sends.

use serde::{Deserialize, Serialize};

/// What an email is about; one template per kind and locale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EmailKind {
    /// The bank wants 3D Secure: the link to the recovery page.
    AuthenticationRequired,
    /// A reminder of the same link, a few days later.
    Reminder,
    /// The card was declined.
    PaymentFailed,
    /// The receipt.
    PaymentReceived,
}

impl EmailKind {
    /// Every kind.
    pub const ALL: [Self; 4] =
        [Self::AuthenticationRequired, Self::Reminder, Self::PaymentFailed, Self::PaymentReceived];

    /// The database spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthenticationRequired => "authentication_required",
            Self::Reminder => "reminder",
            Self::PaymentFailed => "payment_failed",
            Self::PaymentReceived => "payment_received",
        }
    }

    /// Parses the database spelling.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}
