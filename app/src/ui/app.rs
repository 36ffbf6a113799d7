//! The HTML shell, the router and the routes.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use super::admin::{AdminDashboard, AdminTemplates, AdminTimeline};
use super::authenticate::AuthenticatePage;
use super::i18n::{page_locale, texts};
use super::landing::HomePage;

/// The HTML document around the app. `stripe_js_url` is loaded once, in the head.
pub fn shell(options: LeptosOptions, stripe_js_url: String) -> impl IntoView {
    let locale = page_locale();
    view! {
        <!DOCTYPE html>
        <html lang=locale.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <script src=stripe_js_url></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(page_locale());
    view! {
        <Stylesheet id="leptos" href="/pkg/echeancier.css"/>
        <Title text="Échéancier"/>
        <Router>
            <Routes fallback=|| view! { <p class="empty">{texts().not_found}</p> }>
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                <Route path=path!("/payment/authenticate/:payment_intent_id") view=AuthenticatePage ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=AdminDashboard ssr=SsrMode::Async/>
                <Route path=path!("/admin/echeances/:id") view=AdminTimeline ssr=SsrMode::Async/>
                <Route path=path!("/admin/templates") view=AdminTemplates ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
