//! Verifies `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` against the raw
//! body: HMAC-SHA256 of `"{t}.{body}"` with each configured endpoint secret,
//! compared in constant time with every `v1`.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Why a webhook is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or one without `t=` or `v1=`.
    #[error("missing or malformed Stripe-Signature header")]
    Malformed,
    /// The timestamp is further from now than the tolerance.
    #[error("timestamp outside the tolerance")]
    Stale,
    /// No `v1` matches any secret.
    #[error("no signature matches")]
    Mismatch,
}

/// Checks a webhook's signature. `now` and `tolerance_secs` in seconds.
///
/// # Errors
/// See [`SignatureError`]; the timestamp is checked only once a signature
/// matches, so a forged request learns nothing about clocks.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[SecretString],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse().ok(),
            Some(("v1", sig)) => {
                if let Ok(bytes) = hex::decode(sig) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let matched = secrets.iter().any(|secret| {
        signatures.iter().any(|sig| {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
                return false;
            };
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.verify_slice(sig).is_ok()
        })
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Signs a payload the way Stripe does (for tests and the local tooling).
#[must_use]
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any size"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter().map(|s| SecretString::from((*s).to_owned())).collect()
    }

    #[test]
    fn accepts_any_configured_secret_and_any_v1() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("whsec_new", 1_000, body);
        assert_eq!(verify(Some(&header), body, &secrets(&["whsec_old", "whsec_new"]), 1_000, 300), Ok(()));
        let rolled = format!("{header},v1={}", "00".repeat(32));
        let rolled = rolled.replacen("t=1000,", "t=1000,v1=abcd,", 1);
        assert_eq!(verify(Some(&rolled), body, &secrets(&["whsec_new"]), 1_100, 300), Ok(()));
    }

    #[test]
    fn refuses_forged_stale_tampered_and_malformed() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("whsec_a", 1_000, body);
        assert_eq!(verify(Some(&header), body, &secrets(&["whsec_b"]), 1_000, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(Some(&header), body, &secrets(&["whsec_a"]), 1_301, 300), Err(SignatureError::Stale));
        assert_eq!(
            verify(Some(&header), br#"{"id":"evt_2"}"#, &secrets(&["whsec_a"]), 1_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(None, body, &secrets(&["whsec_a"]), 1_000, 300), Err(SignatureError::Malformed));
        assert_eq!(verify(Some("t=abc"), body, &secrets(&["whsec_a"]), 1_000, 300), Err(SignatureError::Malformed));
        assert_eq!(verify(Some("v1=00"), body, &secrets(&["whsec_a"]), 1_000, 300), Err(SignatureError::Malformed));
    }
}
