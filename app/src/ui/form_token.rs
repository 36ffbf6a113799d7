//! The hidden field every form carries: the session's cross-site token, for
//! the browsers that send neither `Sec-Fetch-Site` nor `Origin` (see
//! `ssr::csrf`). Rendered on the server; hydration leaves the value as it is.

use leptos::prelude::*;

/// `<input type="hidden" name="csrf" …>` with the session's token.
#[component]
pub fn FormToken() -> impl IntoView {
    view! { <input type="hidden" name="csrf" value=token()/> }
}

#[cfg(feature = "ssr")]
fn token() -> String {
    match (use_context::<crate::ssr::state::AppState>(), use_context::<http::request::Parts>()) {
        (Some(state), Some(parts)) => crate::ssr::csrf::token_for_request(&state, &parts.headers),
        _ => String::new(),
    }
}

#[cfg(not(feature = "ssr"))]
fn token() -> String {
    String::new()
}
