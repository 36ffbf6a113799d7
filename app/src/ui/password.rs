//! `/password/set?token=…`: a new admin, or someone who forgot their password,
//! chooses one through the single-use link they were sent, and is logged in.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::accounts::SetPassword;
use crate::domain::Locale;
use crate::ui::i18n::texts;
use crate::ui::layout::{Layout, hydration_marker};

/// The page.
#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let save = ServerAction::<SetPassword>::new();
    let hydrated = hydration_marker();
    Effect::new(move || {
        if let Some(Ok(next)) = save.value().get() {
            crate::ui::navigate::reload_to(&next);
        }
    });
    view! {
        <Layout me=None>
            <h1 data-hydrated=hydrated>{tx.password_title}</h1>
            <section class="card">
                <p class="muted">{tx.password_intro}</p>
                <ActionForm action=save>
                    <input type="hidden" name="token" value=token/>
                    <label>{tx.password_field}" "<input type="password" name="password" required minlength="12" maxlength="128" autocomplete="new-password"/></label>
                    <label>{tx.password_again}" "<input type="password" name="again" required minlength="12" maxlength="128" autocomplete="new-password"/></label>
                    <button type="submit" class="primary" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { tx.password_saving } else { tx.password_save }}
                    </button>
                </ActionForm>
                {move || save.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.message(locale)}</p> })}
            </section>
        </Layout>
    }
}
