//! The page frame: header with navigation, language switch and logout.

use leptos::prelude::*;

use crate::ui::form_token::FormToken;

use super::error_view::ErrorCard;
use super::i18n::texts;
use crate::api::dto::Me;
use crate::api::error::AppError;
use crate::api::session::{Logout, current_me};
use crate::domain::Role;

/// The page's `data-hydrated` attribute: `"false"` as the server renders it,
/// `"true"` once the WASM runs (what the browser tests wait for before typing).
pub fn hydration_marker() -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let hydrated = RwSignal::new(false);
    Effect::new(move || hydrated.set(true));
    move || if hydrated.get() { "true" } else { "false" }
}

/// A page that loads one thing: "loading" first, then the frame with the
/// signed-in person around what `render` makes of the data, or the error card
/// (session expired, forbidden…) when loading it failed.
#[component]
pub fn LoadedPage<T, F, V>(data: Resource<Result<T, AppError>>, render: F) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + Send + 'static,
{
    let tx = texts();
    let me = Resource::new(|| (), |()| current_me());
    view! {
        <Transition fallback=move || view! { <p>{tx.loading}</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    let me = me.await.ok().flatten();
                    match data.await {
                        Err(error) => view! { <Layout me><ErrorCard error/></Layout> }.into_any(),
                        Ok(value) => view! { <Layout me>{render(value)}</Layout> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// The header and the main column. `me` comes from the page's own data.
#[component]
pub fn Layout(#[prop(into)] me: Option<Me>, children: Children) -> impl IntoView {
    let tx = texts();
    let logout = ServerAction::<Logout>::new();
    Effect::new(move || {
        if let Some(Ok(())) = logout.value().get() {
            super::navigate::reload_to("/");
        }
    });
    let other = if tx.other_language == "English" { "en" } else { "fr" };
    view! {
        <header class="topbar">
            <a class="brand" href="/">{tx.app_name}</a>
            <nav>
                {me.clone().map(|m| view! {
                    <span class="who" data-testid="who">{m.display_name.clone()}</span>
                    {(m.role == Role::Admin).then(|| view! { <a href="/admin">{tx.dashboard}</a> })}
                })}
                <a href=format!("/lang/{other}") class="lang" rel="external">{tx.other_language}</a>
                {me.map(|_| view! {
                    <ActionForm action=logout attr:class="inline">
                        <FormToken/>
                        <button type="submit" class="link">{tx.logout}</button>
                    </ActionForm>
                })}
            </nav>
        </header>
        <main class="container">{children()}</main>
    }
}
