//! The browser entry point: hydrates the server-rendered page. Nothing else.
//!
//! The pages are lazy routes (split out of this bundle by `cargo leptos build --split`):
//! hydration waits for the WASM of the page being shown before it takes over.

/// Called by the loader `HydrationScripts` writes into the page.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
