//! The page frame: header with navigation, language switch and logout.

use leptos::prelude::*;

use crate::ui::form_token::FormToken;

use super::error_view::ErrorCard;
use super::i18n::texts;
use crate::api::dto::Me;
use crate::api::error::AppError;
use crate::api::session::{Logout, current_me};
use crate::domain::{Locale, Role};

/// Whether the page's script runs: `false` as the server renders it (and for good in a browser
/// without JavaScript), `true` once the WASM has hydrated the page.
pub fn use_hydrated() -> Signal<bool> {
    let hydrated = RwSignal::new(false);
    Effect::new(move || hydrated.set(true));
    hydrated.into()
}

/// The page's `data-hydrated` attribute: `"false"` as the server renders it,
/// `"true"` once the WASM runs (what the browser tests wait for before typing).
pub fn hydration_marker() -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    marker_of(use_hydrated())
}

/// [`hydration_marker`] of a page that also reads `hydrated` itself.
pub fn marker_of(hydrated: Signal<bool>) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || if hydrated.get() { "true" } else { "false" }
}

/// Said where the page's script does not run (as the server renders the page, and for good in
/// a browser without JavaScript) next to what waits for it: why it waits (`text`).
#[component]
pub fn NeedsScript(hydrated: Signal<bool>, text: &'static str) -> impl IntoView {
    move || (!hydrated.get()).then(|| view! { <p class="notice" role="note">{text}</p> })
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
    let other = use_context::<Locale>().unwrap_or_default().other().code();
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

/// A page of one form, sent by someone not logged in yet (from an emailed link, or at the
/// second step of a login): `title`, `intro`, the form the children hold, and what `footer`
/// adds under it. The form's answer is the address the browser goes to next; a refusal is
/// shown under the form.
#[component]
pub fn FormPage(
    title: &'static str,
    intro: &'static str,
    /// The form's action's answer.
    outcome: MappedSignal<Option<Result<String, AppError>>>,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(optional)] footer: Option<AnyView>,
    children: Children,
) -> impl IntoView {
    let locale = use_context::<Locale>().unwrap_or_default();
    let hydrated = hydration_marker();
    Effect::new(move || {
        if let Some(Ok(next)) = outcome.get() {
            super::navigate::reload_to(&next);
        }
    });
    view! {
        <Layout me=None>
            <h1 data-hydrated=hydrated>{title}</h1>
            <section class="card" data-testid=testid>
                <p class="muted">{intro}</p>
                {children()}
                {move || outcome.get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.message(locale)}</p> })}
                {footer}
            </section>
        </Layout>
    }
}

/// The `token` of the page's address, for the hidden field of a [`FormPage`]'s form.
pub fn link_token() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = leptos_router::hooks::use_query_map();
    move || query.read().get("token").unwrap_or_default()
}
