//! The HTML shell, the router and the routes.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use super::admin::{
    AdminAdmins, AdminDashboard, AdminIntegration, AdminNewPlan, AdminPlan, AdminPlans, AdminSecurity, AdminTemplates,
    AdminTimeline,
};
use super::authenticate::AuthenticatePage;
use super::i18n::{page_locale, texts};
use super::invitation::InvitationPage;
use super::landing::HomePage;

/// The HTML document around the app (rendered on the server only). Stripe.js
/// (`stripe_js_url`) is loaded in the head of the pages that use it; the page's
/// Content-Security-Policy carries the nonce Leptos puts on its own scripts.
pub fn shell(options: LeptosOptions, stripe_js_url: String) -> impl IntoView {
    let locale = page_locale();
    let nonce = leptos::nonce::use_nonce();
    set_page_policy(nonce.as_ref());
    let stripe_js = page_needs_stripe_js().then(|| view! { <script src=stripe_js_url nonce=nonce></script> });
    view! {
        <!DOCTYPE html>
        <html lang=locale.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                {stripe_js}
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

/// Puts the page's Content-Security-Policy, with the nonce of its scripts, on the answer.
#[cfg(feature = "ssr")]
fn set_page_policy(nonce: Option<&leptos::nonce::Nonce>) {
    use crate::ssr::headers;
    if let (Some(response), Some(state), Some(nonce)) =
        (use_context::<leptos_axum::ResponseOptions>(), use_context::<crate::ssr::state::AppState>(), nonce)
        && let Ok(policy) = http::HeaderValue::from_str(&headers::page_policy(&state.settings, nonce))
    {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, policy);
    }
}

/// Whether the page being rendered takes a card (the checkout, the 3DS page).
#[cfg(feature = "ssr")]
fn page_needs_stripe_js() -> bool {
    use_context::<http::request::Parts>().is_some_and(|p| crate::ssr::headers::page_uses_stripe_js(p.uri.path()))
}

#[cfg(not(feature = "ssr"))]
fn set_page_policy(_: Option<&leptos::nonce::Nonce>) {}

#[cfg(not(feature = "ssr"))]
fn page_needs_stripe_js() -> bool {
    false
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
                <Route path=path!("/plans/:id/accept") view=InvitationPage ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=AdminDashboard ssr=SsrMode::Async/>
                <Route path=path!("/admin/echeances/:id") view=AdminTimeline ssr=SsrMode::Async/>
                <Route path=path!("/admin/templates") view=AdminTemplates ssr=SsrMode::Async/>
                <Route path=path!("/admin/plans") view=AdminPlans ssr=SsrMode::Async/>
                <Route path=path!("/admin/integration") view=AdminIntegration ssr=SsrMode::Async/>
                <Route path=path!("/admin/admins") view=AdminAdmins ssr=SsrMode::Async/>
                <Route path=path!("/password/set") view=crate::ui::password::SetPasswordPage ssr=SsrMode::Async/>
                <Route path=path!("/login/link") view=crate::ui::landing::LoginLinkPage ssr=SsrMode::Async/>
                <Route path=path!("/login/code") view=crate::ui::landing::SecondFactorPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/security") view=AdminSecurity ssr=SsrMode::Async/>
                <Route path=path!("/admin/plans/new") view=AdminNewPlan ssr=SsrMode::Async/>
                <Route path=path!("/admin/plans/:id") view=AdminPlan ssr=SsrMode::Async/>
                <Route path=path!("/receipts/:id") view=crate::ui::receipt::ReceiptPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
