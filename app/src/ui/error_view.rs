//! An error the person can read: what happened and what to do.

use leptos::prelude::*;

use super::i18n::texts;
use crate::api::error::AppError;
use crate::domain::Locale;

/// A whole-page error card (session expired, forbidden, invalid link…).
#[component]
pub fn ErrorCard(error: AppError) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let login = matches!(error, AppError::Unauthenticated);
    // An admin the settings keep out until they set up a second factor: the way there.
    let set_up = matches!(error, AppError::Refused(crate::domain::Refusal::SecondFactorSetupRequired));
    view! {
        <section class="card" data-testid="error-card">
            <p class="error" role="alert">{error.message(locale)}</p>
            <p>
                {if set_up {
                    view! { <a class="button primary" href="/admin/security">{tx.security_begin}</a> }.into_any()
                } else {
                    view! { <a href="/">{if login { tx.login } else { tx.back_home }}</a> }.into_any()
                }}
            </p>
        </section>
    }
}
