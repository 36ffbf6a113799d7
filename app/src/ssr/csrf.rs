//! Cross-site request forgery: every state-changing request a browser sends
//! with the session cookie must come from the site itself. Modern browsers say
//! where a request comes from (`Sec-Fetch-Site`, else `Origin`); a request that
//! says neither (an old browser, or a script) must carry the session's form
//! token, which every form holds in a hidden `csrf` field. A request without a
//! session cookie has no ambient credential to abuse and is left alone (the
//! login form is covered by the headers of every browser that sends them).
//! Entry points that carry no cookie — the Stripe webhook's signature (and a
//! host API's bearer keys, when there is one) — are not browser requests and
//! are not checked here.

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::auth;
use super::state::AppState;

/// The form field and header that carry the token.
pub const FIELD: &str = "csrf";
/// The header alternative to the form field.
pub const HEADER: &str = "x-csrf-token";

/// What the request's own headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// From the site itself.
    SameOrigin,
    /// From another site (or a sibling subdomain): refused.
    Foreign,
    /// The browser said nothing: the token decides.
    Unknown,
}

/// Where a request comes from, by `Sec-Fetch-Site`, else by `Origin` compared
/// with the site's origin (or, in development, with the origin the `Host`
/// header names, so `localhost` and `127.0.0.1` both work).
#[must_use]
pub fn provenance(headers: &http::HeaderMap, site_origin: &str, also: Option<&str>) -> Provenance {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(site) = header("sec-fetch-site") {
        return if site.eq_ignore_ascii_case("same-origin") { Provenance::SameOrigin } else { Provenance::Foreign };
    }
    match header("origin") {
        Some(origin) if origin == site_origin || also.is_some_and(|a| a == origin) => Provenance::SameOrigin,
        Some(_) => Provenance::Foreign,
        None => Provenance::Unknown,
    }
}

/// The site's origin (`https://host[:port]`), from `APP_BASE_URL`.
#[must_use]
pub fn site_origin(state: &AppState) -> String {
    state.settings.app_base_url.origin().ascii_serialization()
}

/// The form token of a session: an HMAC of the session token, so it needs no
/// storage and dies with the session.
#[must_use]
pub fn token_for_session(state: &AppState, session_token: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(state.settings.app_secret.expose_secret().as_bytes()).expect("any key length");
    mac.update(b"csrf|");
    mac.update(session_token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The form token for the session of a request (empty without one).
#[must_use]
pub fn token_for_request(state: &AppState, headers: &http::HeaderMap) -> String {
    auth::token_of_request(state, headers).map(|t| token_for_session(state, t)).unwrap_or_default()
}

/// Whether `presented` is the token of the request's session.
#[must_use]
pub fn valid(state: &AppState, headers: &http::HeaderMap, presented: &str) -> bool {
    let expected = token_for_request(state, headers);
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.trim().as_bytes()))
}

/// The `csrf` field of an `application/x-www-form-urlencoded` body.
#[must_use]
pub fn field_of_form(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(k, _)| k == FIELD).map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header"));
        }
        h
    }

    const SITE: &str = "https://pay.example";

    #[test]
    fn fetch_metadata_wins() {
        assert_eq!(provenance(&headers(&[("sec-fetch-site", "same-origin")]), SITE, None), Provenance::SameOrigin);
        for other in ["cross-site", "same-site", "none"] {
            let h = headers(&[("sec-fetch-site", other), ("origin", SITE)]);
            assert_eq!(provenance(&h, SITE, None), Provenance::Foreign, "{other}");
        }
    }

    #[test]
    fn origin_is_compared_with_the_site() {
        assert_eq!(provenance(&headers(&[("origin", SITE)]), SITE, None), Provenance::SameOrigin);
        assert_eq!(provenance(&headers(&[("origin", "https://evil.example")]), SITE, None), Provenance::Foreign);
        assert_eq!(provenance(&headers(&[("origin", "null")]), SITE, None), Provenance::Foreign);
        assert_eq!(provenance(&headers(&[("origin", "https://pay.example.evil")]), SITE, None), Provenance::Foreign);
        assert_eq!(provenance(&headers(&[]), SITE, None), Provenance::Unknown);
    }

    #[test]
    fn reads_the_token_field_of_a_form() {
        assert_eq!(field_of_form(b"echeance_id=3&csrf=abc%20d"), Some("abc d".to_owned()));
        assert_eq!(field_of_form(b"echeance_id=3"), None);
    }
}
