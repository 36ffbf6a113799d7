//! Verifies `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` against the raw
//! body: HMAC-SHA256 of `"{t}.{body}"`, computed once per configured endpoint
//! secret and compared in constant time with every well-formed `v1`. The
//! header is bounded and checked for shape before anything is hashed, so the
//! cost of a request never grows with what an attacker puts in the header.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

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

/// The longest `Stripe-Signature` header looked at: a timestamp and a few
/// signatures (Stripe sends one `v1` per endpoint secret, and a `v0` in test
/// mode). A longer one is refused before any hashing.
pub const MAX_HEADER_BYTES: usize = 1024;
/// The most `v1` signatures a header may carry.
pub const MAX_SIGNATURES: usize = 8;
/// A `v1` is the hex of an HMAC-SHA256: 32 bytes.
const SIGNATURE_BYTES: usize = 32;

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
    check(header, body, secrets, now, tolerance_secs).0
}

/// [`verify`], and how many HMACs it computed: at most one per secret,
/// whatever the header holds, and none for a header refused on its shape.
pub fn check(
    header: Option<&str>,
    body: &[u8],
    secrets: &[SecretString],
    now: i64,
    tolerance_secs: i64,
) -> (Result<(), SignatureError>, usize) {
    let Some((timestamp, signatures)) = header.and_then(parse) else {
        return (Err(SignatureError::Malformed), 0);
    };
    let mut computed = 0;
    let matched = secrets.iter().any(|secret| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        computed += 1;
        let expected = mac.finalize().into_bytes();
        // Constant time per candidate; every candidate is compared.
        signatures.iter().fold(false, |found, sig| found | bool::from(expected.as_slice().ct_eq(sig)))
    });
    let result = if !matched {
        Err(SignatureError::Mismatch)
    } else if (now - timestamp).abs() > tolerance_secs {
        Err(SignatureError::Stale)
    } else {
        Ok(())
    };
    (result, computed)
}

/// The timestamp and the well-formed `v1` signatures of a header, or `None`
/// when the header is too long, has no timestamp, no usable `v1`, or too many.
fn parse(header: &str) -> Option<(i64, Vec<[u8; SIGNATURE_BYTES]>)> {
    if header.len() > MAX_HEADER_BYTES {
        return None;
    }
    let mut timestamp: Option<i64> = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse().ok(),
            Some(("v1", sig)) => {
                let mut bytes = [0u8; SIGNATURE_BYTES];
                if hex::decode_to_slice(sig, &mut bytes).is_ok() {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    (!signatures.is_empty() && signatures.len() <= MAX_SIGNATURES).then_some(())?;
    Some((timestamp?, signatures))
}

/// Signs a payload the way Stripe does: `t={timestamp},v1={hex}`.
#[must_use]
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    sign_with_each(&[secret], timestamp, body)
}

/// Signs with every secret, one `v1` each (a rolled endpoint secret keeps the
/// previous one valid for a while: the receiver accepts either).
#[must_use]
pub fn sign_with_each(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any size"),
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        header.push_str(",v1=");
        header.push_str(&hex::encode(mac.finalize().into_bytes()));
    }
    header
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
    fn a_rolled_secret_signs_with_both_and_either_verifies() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign_with_each(&["whsec_new", "whsec_old"], 1_000, body);
        assert_eq!(header.matches("v1=").count(), 2);
        assert!(header.starts_with("t=1000,v1="));
        assert_eq!(verify(Some(&header), body, &secrets(&["whsec_old"]), 1_000, 300), Ok(()));
        assert_eq!(verify(Some(&header), body, &secrets(&["whsec_new"]), 1_000, 300), Ok(()));
        assert_eq!(sign_with_each(&["whsec_new"], 1_000, body), sign("whsec_new", 1_000, body));
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

    #[test]
    fn hostile_headers_are_refused_before_any_hashing() {
        let body = vec![b'x'; 256 * 1024];
        let keys = secrets(&["whsec_a", "whsec_b"]);
        let many = format!("t=1000{}", ",v1=".repeat(40_000));
        assert_eq!(check(Some(&many), &body, &keys, 1_000, 300), (Err(SignatureError::Malformed), 0));
        let well_formed = format!(",v1={}", "ab".repeat(32));
        let too_many = format!("t=1000{}", well_formed.repeat(MAX_SIGNATURES + 1));
        assert!(too_many.len() <= MAX_HEADER_BYTES, "refused for its count, not its length");
        assert_eq!(check(Some(&too_many), &body, &keys, 1_000, 300), (Err(SignatureError::Malformed), 0));
        let short = format!("t=1000,v1={}", "ab".repeat(31));
        assert_eq!(check(Some(&short), &body, &keys, 1_000, 300), (Err(SignatureError::Malformed), 0));
    }

    #[test]
    fn one_hmac_per_secret_whatever_the_number_of_signatures() {
        let body = br#"{"id":"evt_1"}"#;
        let keys = secrets(&["whsec_a", "whsec_b", "whsec_c"]);
        let forged = format!("t=1000{}", format!(",v1={}", "cd".repeat(32)).repeat(MAX_SIGNATURES));
        assert_eq!(check(Some(&forged), body, &keys, 1_000, 300), (Err(SignatureError::Mismatch), 3));
        let genuine = sign("whsec_c", 1_000, body);
        assert_eq!(check(Some(&genuine), body, &keys, 1_000, 300), (Ok(()), 3));
        assert_eq!(check(Some(&sign("whsec_a", 1_000, body)), body, &keys, 1_000, 300), (Ok(()), 1));
    }
}
