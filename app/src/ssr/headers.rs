//! The Content-Security-Policy of the site's pages: scripts only from the
//! site, with the page's nonce (Leptos puts it on its hydration scripts), and
//! from Stripe.js's origins (`js.stripe.com`, `*.js.stripe.com`, or the
//! configured `STRIPE_JS_URL`); Stripe's frames and API, as Stripe's CSP guide
//! lists them; nothing may frame the site.

use super::config::Settings;

/// The policy of an HTML page rendered with `nonce`.
#[must_use]
pub fn page_policy(settings: &Settings, nonce: &str) -> String {
    let stripe_js = settings.stripe_js_url.origin().ascii_serialization();
    format!(
        "default-src 'self'; \
         script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval' {stripe_js} https://js.stripe.com https://*.js.stripe.com; \
         style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: https://*.stripe.com; \
         connect-src 'self' {stripe_js} https://api.stripe.com; \
         frame-src {stripe_js} https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy of every other answer (server functions, files, plain routes).
pub const DEFAULT_POLICY: &str =
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Whether the page at `path` uses Stripe.js (the checkout and the 3D Secure page).
#[must_use]
pub fn page_uses_stripe_js(path: &str) -> bool {
    path == "/"
        || path.starts_with("/payment/authenticate/")
        || (path.starts_with("/plans/") && path.ends_with("/accept"))
}
