//! Full page loads, for the moments the whole page must be rendered afresh
//! (after logging in or out, the session cookie changes everything).

/// Loads `path` as a new page. Does nothing on the server.
pub fn reload_to(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}
