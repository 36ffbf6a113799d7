//! Users: roles and validated emails.

use serde::{Deserialize, Serialize};

use super::reason::{Field, Invalid};

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Pays their own échéances.
    Customer,
    /// Works on the dashboard.
    Admin,
}

crate::spelled!(Role { Customer => "customer", Admin => "admin" });

/// A syntactically plausible, normalised (trimmed, lower-case) email address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// Parses what a person typed.
    ///
    /// # Errors
    /// Not `local@domain.tld`, or longer than 254 characters.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.trim().to_lowercase();
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !value.contains(char::is_whitespace)
                    && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
            });
        if valid { Ok(Self(value)) } else { Err(Invalid::Field(Field::Email)) }
    }

    /// The address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").map(|e| e.as_str().to_owned()),
            Ok("alice@example.com".to_owned())
        );
        for bad in ["", "alice", "@example.com", "alice@", "alice@example", "a b@example.com", "alice@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(*r));
        }
        assert!(Role::parse("root").is_err());
    }
}
