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
    /// Parses what a person typed: an address a mail server takes (RFC 5322's dot-atoms, letters
    /// of any script allowed), so that nothing accepted here is refused when the email is sent.
    ///
    /// # Errors
    /// Not `local@domain.tld` made of those, or longer than 254 characters.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        /// Dot-separated, non-empty parts of `allowed` characters.
        fn dot_atom(text: &str, allowed: impl Fn(char) -> bool) -> bool {
            text.split('.').all(|part| !part.is_empty() && part.chars().all(&allowed))
        }
        let value = input.trim().to_lowercase();
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                dot_atom(local, |c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
                    && domain.contains('.')
                    && dot_atom(domain, |c| c.is_alphanumeric() || c == '-')
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
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@.com",
            "a\0b@example.com",
            "jean..dupont@example.com",
            ".jean@example.com",
            "jean.@example.com",
            "a(b@example.com",
            "a\\b@example.com",
            "a@b@example.com",
            "x@exa..mple.com",
            "x@example.com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["jean.dupont+facture@example.com", "o'neil@example.co.uk", "zoé@exemple.fr", "a_b-c@ex-ample.com"]
        {
            assert_eq!(Email::parse(good).map(|e| e.as_str().to_owned()), Ok(good.to_owned()), "{good}");
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
