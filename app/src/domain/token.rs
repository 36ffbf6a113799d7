//! The signed, expiring link token of the 3D Secure recovery page.
//! `"{expires_unix}.{base64url(HMAC-SHA256(secret, "recovery:v1:{pi}:{expires}"))}"`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A token that proves the bearer received the recovery email for one PaymentIntent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryToken(String);

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
        let sig = mac(secret, payment_intent, expires_unix).finalize().into_bytes();
        Self(format!("{expires_unix}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// Checks a token from a link. Constant-time on the signature.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for anything malformed or forged, [`TokenError::Expired`]
    /// for a genuine token past `expires` (checked after the signature, so expiry
    /// says nothing about forged tokens).
    pub fn verify(secret: &[u8], payment_intent: &str, token: &str, now_unix: i64) -> Result<i64, TokenError> {
        let (expires, sig) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let expires: i64 = expires.parse().map_err(|_| TokenError::Invalid)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| TokenError::Invalid)?;
        mac(secret, payment_intent, expires).verify_slice(&sig).map_err(|_| TokenError::Invalid)?;
        if now_unix > expires { Err(TokenError::Expired) } else { Ok(expires) }
    }

    /// The string to put in the link's `token` query parameter.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn mac(secret: &[u8], payment_intent: &str, expires: i64) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any size"),
    };
    mac.update(format!("recovery:v1:{payment_intent}:{expires}").as_bytes());
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
    fn garbage_is_invalid_not_a_panic() {
        for junk in ["", ".", "abc", "12.", ".sig", "12.!!!", "99999999999999999999.a"] {
            assert_eq!(RecoveryToken::verify(SECRET, "pi_1", junk, 0), Err(TokenError::Invalid), "{junk}");
        }
    }
}
