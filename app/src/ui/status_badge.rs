//! A status, as a coloured badge.

use leptos::prelude::*;

use super::i18n::status_label;
use crate::domain::{EcheanceStatus, Locale};

/// The badge of `status`.
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<EcheanceStatus>) -> impl IntoView {
    let locale = use_context::<Locale>().unwrap_or_default();
    view! {
        <span class=move || format!("badge {}", status.get().as_str()) data-status=move || status.get().as_str()>
            {move || status_label(status.get(), locale)}
        </span>
    }
}
