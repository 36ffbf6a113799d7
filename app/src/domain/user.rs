//! Users: roles and validated emails.

use serde::{Deserialize, Serialize};

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Pays their own échéances.
    Customer,
    /// Works on the dashboard.
    Admin,
}

impl Role {
    /// The database spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Admin => "admin",
        }
    }

    /// Parses the database spelling.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "customer" => Some(Self::Customer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A syntactically plausible, normalised (trimmed, lower-case) email address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// Parses what a person typed.
    ///
    /// # Errors
    /// Not `local@domain.tld`, or longer than 254 characters.
    pub fn parse(input: &str) -> Result<Self, String> {
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
        if valid { Ok(Self(value)) } else { Err("Adresse e-mail invalide.".to_owned()) }
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
        for r in [Role::Customer, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
