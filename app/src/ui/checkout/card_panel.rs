//! The saved card, and saving or replacing it with Stripe Elements
//! (`confirmCardSetup`) driven from the WASM.

use leptos::prelude::*;

use crate::api::checkout::{save_card, start_card_setup};
use crate::api::dto::CardInfo;
use crate::domain::Locale;
use crate::ui::i18n::{js_failure_text, texts};
use crate::ui::layout::{NeedsScript, use_hydrated};
use crate::ui::stripe_js;

/// What the card form is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Closed,
    Preparing,
    Ready(String),
    Saving,
    Saved,
    Failed(String),
}

/// The card panel.
#[component]
pub fn CardPanel(card: Option<CardInfo>, publishable_key: String, on_saved: Callback<CardInfo>) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let step = RwSignal::new(Step::Closed);
    let has_card = card.is_some();
    // Stripe's card form is the script's: without it, the button waits and the panel says why.
    let script = use_hydrated();

    let open = move |_| {
        let key = publishable_key.clone();
        step.set(Step::Preparing);
        leptos::task::spawn_local(async move {
            match start_card_setup().await {
                Ok(setup) => {
                    // The container is rendered once the step is Ready; mount on the next tick.
                    step.set(Step::Ready(setup.client_secret));
                    leptos::task::tick().await;
                    if let Err(failure) = stripe_js::mount_card(&key, "card-element") {
                        step.set(Step::Failed(js_failure_text(&failure, locale)));
                    }
                }
                Err(error) => step.set(Step::Failed(error.message(locale))),
            }
        });
    };
    let save = move |_| {
        let Step::Ready(secret) = step.get() else { return };
        step.set(Step::Saving);
        leptos::task::spawn_local(async move {
            match stripe_js::confirm_card_setup(&secret).await {
                Ok(setup_intent) => match save_card(setup_intent).await {
                    Ok(card) => {
                        step.set(Step::Saved);
                        on_saved.run(card);
                    }
                    Err(error) => step.set(Step::Failed(error.message(locale))),
                },
                Err(failure) => step.set(Step::Failed(js_failure_text(&failure, locale))),
            }
        });
    };

    view! {
        <section class="card" data-testid="card-panel">
            <h2>{tx.card_title}</h2>
            {match card {
                Some(c) => view! {
                    <p data-testid="saved-card">
                        <strong>{c.brand.to_uppercase()}</strong>" •••• "{c.last4.clone()}" — "{tx.card_expires}" "
                        {format!("{:02}/{}", c.exp_month, c.exp_year)}
                    </p>
                }.into_any(),
                None => view! { <p class="muted">{tx.no_card}</p> }.into_any(),
            }}
            <NeedsScript hydrated=script text=tx.card_needs_script/>
            {move || match step.get() {
                Step::Closed | Step::Saved => view! {
                    <button type="button" data-testid="open-card-form" disabled=move || !script.get() on:click=open.clone()>
                        {if has_card { tx.replace_card } else { tx.add_card }}
                    </button>
                    {(step.get() == Step::Saved).then(|| view! { <p class="success" role="status">{tx.card_saved}</p> })}
                }.into_any(),
                Step::Preparing => view! { <p class="muted"><span class="spinner"></span>" "{tx.card_preparing}</p> }.into_any(),
                Step::Ready(_) | Step::Saving => view! {
                    <div id="card-element" class="card-element"></div>
                    <div class="actions">
                        <button type="button" class="primary" data-testid="save-card" disabled=move || step.get() == Step::Saving on:click=save>
                            {move || if step.get() == Step::Saving { tx.saving_card } else { tx.save_card }}
                        </button>
                        <button type="button" on:click=move |_| step.set(Step::Closed)>{tx.cancel}</button>
                    </div>
                }.into_any(),
                Step::Failed(message) => view! {
                    <p class="error" role="alert">{message}</p>
                    <button type="button" on:click=open.clone()>{if has_card { tx.replace_card } else { tx.add_card }}</button>
                }.into_any(),
            }}
        </section>
    }
}
