//! The page frame: header with navigation, language switch and logout.

use leptos::prelude::*;

use crate::ui::form_token::FormToken;

use super::i18n::texts;
use crate::api::dto::Me;
use crate::api::session::Logout;
use crate::domain::Role;

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
