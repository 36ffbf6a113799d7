//! Closed sets of values with one stable spelling each (database columns,
//! URLs, the wire): one macro writes `ALL`, `as_str`, `parse`,
//! `FromStr` and `Display`, so no spelling is ever typed twice.

/// A spelling that is not one of a type's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownSpelling {
    /// The type that was parsed.
    pub kind: &'static str,
    /// What was read.
    pub value: String,
}

/// Gives an enum of unit variants its spellings.
///
/// ```ignore
/// spelled!(Role { Customer => "customer", Admin => "admin" });
/// ```
#[macro_export]
macro_rules! spelled {
    ($ty:ident { $($variant:ident => $spelling:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable spelling (database, URLs, wire).
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $spelling),+
                }
            }

            /// Parses the stable spelling.
            ///
            /// # Errors
            /// A spelling that is not one of ours.
            pub fn parse(value: &str) -> Result<Self, $crate::domain::spelling::UnknownSpelling> {
                Self::ALL.iter().copied().find(|v| v.as_str() == value).ok_or_else(|| {
                    $crate::domain::spelling::UnknownSpelling { kind: stringify!($ty), value: value.to_owned() }
                })
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::domain::spelling::UnknownSpelling;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
