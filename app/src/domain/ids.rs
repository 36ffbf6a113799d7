//! Identifiers: positive database ids and attempt ranks, parsed once at the
//! edge and carried typed through the services and the payment port.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid identifier: {0}")]
pub struct InvalidId(pub String);

macro_rules! positive_id {
    ($(#[$doc:meta])* $name:ident($raw:ty), min = $min:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name($raw);

        impl $name {
            /// Parses a raw value.
            ///
            /// # Errors
            /// Below the minimum, or out of range.
            pub fn new(raw: impl Into<i64>) -> Result<Self, InvalidId> {
                let raw: i64 = raw.into();
                <$raw>::try_from(raw).ok().filter(|v| *v >= $min).map(Self).ok_or_else(|| InvalidId(raw.to_string()))
            }

            /// Parses a path or query segment.
            ///
            /// # Errors
            /// Not a whole number in range.
            pub fn parse(input: &str) -> Result<Self, InvalidId> {
                input.trim().parse::<i64>().map_err(|_| InvalidId(input.to_owned())).and_then(Self::new)
            }

            /// The raw value.
            #[must_use]
            pub fn get(self) -> $raw {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = InvalidId;
            fn try_from(value: i64) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> Self {
                i64::from(value.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

positive_id!(
    /// Database id of an échéance.
    EcheanceId(i64), min = 1
);
positive_id!(
    /// Database id of a user (customer or admin).
    UserId(i64), min = 1
);
positive_id!(
    /// The rank of a charge attempt for one échéance, from 1.
    AttemptNo(i32), min = 1
);

impl AttemptNo {
    /// The first attempt.
    pub const FIRST: Self = Self(1);

    /// The attempt after this one.
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_positive() {
        assert!(EcheanceId::new(0).is_err());
        assert!(EcheanceId::parse("12").is_ok());
        assert!(EcheanceId::parse("x").is_err());
        assert!(AttemptNo::new(0).is_err());
        assert!(AttemptNo::new(i64::from(i32::MAX) + 1).is_err());
        assert_eq!(AttemptNo::FIRST.next().get(), 2);
    }
}
