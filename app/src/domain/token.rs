//! Signed, expiring link tokens: `"{expires_unix}.{base64url(HMAC-SHA256(secret, scope))}"`,
//! where the scope names what the link opens — `recovery:v1:{pi}:{expires}` for
//! the 3D Secure recovery page, `invitation:v2:{plan}:{customer}:{expires}` for
//! a plan's invitation emailed to its customer, `invitation:host:v1:…` for the
//! one handed to the host site — so a token for one thing never opens another.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A token that proves the bearer received the recovery email for one PaymentIntent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryToken(String);

/// A token that proves the bearer received the invitation to one plan, sent to its customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationToken(String);

/// Why a token is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not produced by this server for this PaymentIntent.
    #[error("invalid link")]
    Invalid,
    /// Past its expiry.
    #[error("expired link")]
    Expired,
}

impl RecoveryToken {
    /// Signs a token for `payment_intent` valid until `expires_unix`.
    #[must_use]
    pub fn sign(secret: &[u8], payment_intent: &str, expires_unix: i64) -> Self {
        Self(sign(secret, &format!("recovery:v1:{payment_intent}"), expires_unix))
    }

    /// Checks a token from a link. Constant-time on the signature.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for anything malformed or forged, [`TokenError::Expired`]
    /// for a genuine token past `expires` (checked after the signature, so expiry
    /// says nothing about forged tokens).
    pub fn verify(secret: &[u8], payment_intent: &str, token: &str, now_unix: i64) -> Result<i64, TokenError> {
        verify(secret, &format!("recovery:v1:{payment_intent}"), token, now_unix)
    }

    /// The string to put in the link's `token` query parameter.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who an invitation link was given to: the customer's own inbox, or the host
/// site (`acceptance_url`), which may hold it only while the account is new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkHolder {
    /// The invitation email.
    Inbox,
    /// The REST API's `acceptance_url`.
    Host,
    /// Signed in the first scope (`invitation:v1`), which the email's link and the
    /// host's `acceptance_url` shared until 2026-12-04: either, so to be held
    /// to the host's rule wherever the host could have been given it.
    Either,
}

impl LinkHolder {
    /// Tried in this order when a token is checked.
    const ALL: [Self; 3] = [Self::Inbox, Self::Host, Self::Either];

    fn scope(self, plan: i64, customer: i64) -> String {
        match self {
            Self::Inbox => format!("invitation:v2:{plan}:{customer}"),
            Self::Host => format!("invitation:host:v1:{plan}:{customer}"),
            Self::Either => format!("invitation:v1:{plan}:{customer}"),
        }
    }
}

impl InvitationToken {
    /// Signs a token for the invitation to `plan`, for `customer`, given to `holder`, valid until `expires_unix`.
    #[must_use]
    pub fn sign(secret: &[u8], plan: i64, customer: i64, holder: LinkHolder, expires_unix: i64) -> Self {
        Self(sign(secret, &holder.scope(plan, customer), expires_unix))
    }

    /// Checks a token from an invitation link, as [`RecoveryToken::verify`] does;
    /// gives its expiry and who it was given to.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] (malformed, forged, another plan or customer), [`TokenError::Expired`].
    pub fn verify(
        secret: &[u8],
        plan: i64,
        customer: i64,
        token: &str,
        now_unix: i64,
    ) -> Result<(i64, LinkHolder), TokenError> {
        for holder in LinkHolder::ALL {
            match verify(secret, &holder.scope(plan, customer), token, now_unix) {
                Err(TokenError::Invalid) => continue,
                checked => return checked.map(|expires| (expires, holder)),
            }
        }
        Err(TokenError::Invalid)
    }

    /// The string to put in the link's `token` query parameter.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn sign(secret: &[u8], scope: &str, expires_unix: i64) -> String {
    let sig = mac(secret, scope, expires_unix).finalize().into_bytes();
    format!("{expires_unix}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn verify(secret: &[u8], scope: &str, token: &str, now_unix: i64) -> Result<i64, TokenError> {
    let (expires, sig) = token.split_once('.').ok_or(TokenError::Invalid)?;
    let expires: i64 = expires.parse().map_err(|_| TokenError::Invalid)?;
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| TokenError::Invalid)?;
    mac(secret, scope, expires).verify_slice(&sig).map_err(|_| TokenError::Invalid)?;
    if now_unix > expires { Err(TokenError::Expired) } else { Ok(expires) }
}

fn mac(secret: &[u8], scope: &str, expires: i64) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any size"),
    };
    mac.update(format!("{scope}:{expires}").as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a server secret of some length";

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let t = RecoveryToken::sign(SECRET, "pi_123", 1_000);
        assert_eq!(RecoveryToken::verify(SECRET, "pi_123", t.as_str(), 999), Ok(1_000));
        assert_eq!(RecoveryToken::verify(SECRET, "pi_123", t.as_str(), 1_001), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_is_bound_to_its_payment_intent_secret_and_expiry() {
        let t = RecoveryToken::sign(SECRET, "pi_123", 1_000);
        assert_eq!(RecoveryToken::verify(SECRET, "pi_456", t.as_str(), 0), Err(TokenError::Invalid));
        assert_eq!(RecoveryToken::verify(b"other", "pi_123", t.as_str(), 0), Err(TokenError::Invalid));
        let extended = t.as_str().replacen("1000", "9999", 1);
        assert_eq!(RecoveryToken::verify(SECRET, "pi_123", &extended, 0), Err(TokenError::Invalid));
    }

    #[test]
    fn an_invitation_token_opens_only_its_plan_for_its_customer() {
        let t = InvitationToken::sign(SECRET, 7, 12, LinkHolder::Inbox, 1_000);
        assert_eq!(InvitationToken::verify(SECRET, 7, 12, t.as_str(), 999), Ok((1_000, LinkHolder::Inbox)));
        // The host's link is told apart from the inbox's (it may open the account only while it is new).
        let host = InvitationToken::sign(SECRET, 7, 12, LinkHolder::Host, 1_000);
        assert_ne!(host.as_str(), t.as_str());
        assert_eq!(InvitationToken::verify(SECRET, 7, 12, host.as_str(), 999), Ok((1_000, LinkHolder::Host)));
        assert_eq!(InvitationToken::verify(SECRET, 7, 12, host.as_str(), 1_001), Err(TokenError::Expired));
        assert_eq!(InvitationToken::verify(SECRET, 7, 13, host.as_str(), 0), Err(TokenError::Invalid));
        assert_eq!(InvitationToken::verify(SECRET, 7, 12, t.as_str(), 1_001), Err(TokenError::Expired));
        assert_eq!(InvitationToken::verify(SECRET, 8, 12, t.as_str(), 0), Err(TokenError::Invalid));
        assert_eq!(InvitationToken::verify(SECRET, 7, 13, t.as_str(), 0), Err(TokenError::Invalid));
        // A link signed in the scope both shared before is told apart from both.
        let either = InvitationToken::sign(SECRET, 7, 12, LinkHolder::Either, 1_000);
        assert!(either.as_str() != t.as_str() && either.as_str() != host.as_str());
        assert_eq!(InvitationToken::verify(SECRET, 7, 12, either.as_str(), 999), Ok((1_000, LinkHolder::Either)));
        assert_eq!(InvitationToken::verify(SECRET, 7, 12, either.as_str(), 1_001), Err(TokenError::Expired));
        assert_eq!(InvitationToken::verify(SECRET, 8, 12, either.as_str(), 0), Err(TokenError::Invalid));
        // Nor does a recovery token open an invitation (the scopes differ).
        let recovery = RecoveryToken::sign(SECRET, "7:12", 1_000);
        assert_eq!(InvitationToken::verify(SECRET, 7, 12, recovery.as_str(), 0), Err(TokenError::Invalid));
    }

    #[test]
    fn garbage_is_invalid_not_a_panic() {
        for junk in ["", ".", "abc", "12.", ".sig", "12.!!!", "99999999999999999999.a"] {
            assert_eq!(RecoveryToken::verify(SECRET, "pi_1", junk, 0), Err(TokenError::Invalid), "{junk}");
        }
    }
}
