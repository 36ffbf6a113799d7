//! The HTML shell, the router and the routes.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, path};

use super::admin::{
    AdminAdmins, AdminDashboard, AdminIntegration, AdminNewPlan, AdminPlan, AdminPlans, AdminSecurity, AdminTemplates,
    AdminTimeline,
};
use super::authenticate::AuthenticatePage;
use super::i18n::{page_locale, texts};
use super::invitation::InvitationPage;
use super::landing::{HomePage, LoginLinkPage, SecondFactorPage};
use super::password::SetPasswordPage;
use super::receipt::ReceiptPage;

/// The HTML document around the app (rendered on the server only). Stripe.js
/// (`stripe_js_url`) is loaded in the head of the pages that use it; the page's
/// Content-Security-Policy carries the nonce Leptos puts on its own scripts.
pub fn shell(options: LeptosOptions, stripe_js_url: String) -> impl IntoView {
    let locale = page_locale();
    let nonce = leptos::nonce::use_nonce();
    set_page_policy(nonce.as_ref());
    remember_link_language();
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

/// A link that names its language (an email's) on a browser that has chosen none: remembered
/// as if chosen, so the pages after it (a login's redirect, the card form) speak it too.
#[cfg(feature = "ssr")]
fn remember_link_language() {
    use super::i18n::{lang_cookie_value, link_language};
    if let Some(locale) = use_context::<http::request::Parts>().and_then(|p| link_language(&p)) {
        crate::api::context::set_cookie(&lang_cookie_value(locale));
    }
}

#[cfg(not(feature = "ssr"))]
fn remember_link_language() {}

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

/// An address that is no page (answered 404 by the server's file handler, which renders it):
/// said in the reader's language, with the way home.
#[component]
fn NotFound() -> impl IntoView {
    let tx = texts();
    view! {
        <p class="empty">{tx.not_found}</p>
        <p><a href="/">{tx.back_home}</a></p>
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
            <Routes fallback=NotFound>
                <Route path=path!("/") view={Lazy::<Home>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/payment/authenticate/:payment_intent_id") view={Lazy::<Authenticate>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/plans/:id/accept") view={Lazy::<Invitation>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin") view={Lazy::<Dashboard>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/echeances/:id") view={Lazy::<Timeline>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/templates") view={Lazy::<Templates>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/plans") view={Lazy::<Plans>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/integration") view={Lazy::<Integration>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/admins") view={Lazy::<Admins>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/password/set") view={Lazy::<SetPassword>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/login/link") view={Lazy::<LoginLink>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/login/code") view={Lazy::<SecondFactor>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/security") view={Lazy::<Security>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/plans/new") view={Lazy::<NewPlan>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/plans/:id") view={Lazy::<Plan>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/receipts/:id") view={Lazy::<Receipt>::new()} ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// The pages are lazy routes in three faces: `cargo leptos build --split` cuts the browser
/// bundle at each face, so a customer's page never downloads the admin dashboard's WASM, nor an
/// admin's the checkout's. One split point per page made a chunk for every set of pages sharing
/// some code: a page loaded 40 to 165 files; a face is a handful. A page's data is its
/// component's own resources, so a route's `data` has nothing to start.
macro_rules! lazy_pages {
    ($($route:ident => $face:ident($page:expr) loaded by $preload:ident),* $(,)?) => {$(
        struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            async fn view(_route: Self) -> AnyView {
                $face($page).await
            }

            /// Hydration and navigation wait for the face's WASM before they call `view`.
            async fn preload() {
                #[cfg(target_arch = "wasm32")]
                $preload().await;
            }
        }
    )*};
}

lazy_pages! {
    Home => customer_face(CustomerPage::Home) loaded by __preload_customer_face,
    Authenticate => customer_face(CustomerPage::Authenticate) loaded by __preload_customer_face,
    Invitation => customer_face(CustomerPage::Invitation) loaded by __preload_customer_face,
    Receipt => customer_face(CustomerPage::Receipt) loaded by __preload_customer_face,
    SetPassword => account_face(AccountPage::SetPassword) loaded by __preload_account_face,
    LoginLink => account_face(AccountPage::LoginLink) loaded by __preload_account_face,
    SecondFactor => account_face(AccountPage::SecondFactor) loaded by __preload_account_face,
    Dashboard => admin_face(AdminPage::Dashboard) loaded by __preload_admin_face,
    Timeline => admin_face(AdminPage::Timeline) loaded by __preload_admin_face,
    Templates => admin_face(AdminPage::Templates) loaded by __preload_admin_face,
    Plans => admin_face(AdminPage::Plans) loaded by __preload_admin_face,
    Integration => admin_face(AdminPage::Integration) loaded by __preload_admin_face,
    Admins => admin_face(AdminPage::Admins) loaded by __preload_admin_face,
    Security => admin_face(AdminPage::Security) loaded by __preload_admin_face,
    NewPlan => admin_face(AdminPage::NewPlan) loaded by __preload_admin_face,
    Plan => admin_face(AdminPage::Plan) loaded by __preload_admin_face,
}

/// The customer's pages: the home page (login, or the portal), the 3D Secure page, a plan's
/// invitation, a receipt.
#[derive(Clone, Copy)]
#[repr(u8)]
enum CustomerPage {
    Home,
    Authenticate,
    Invitation,
    Receipt,
}

#[lazy]
fn customer_face(page: CustomerPage) -> AnyView {
    match page {
        CustomerPage::Home => view! { <HomePage/> }.into_any(),
        CustomerPage::Authenticate => view! { <AuthenticatePage/> }.into_any(),
        CustomerPage::Invitation => view! { <InvitationPage/> }.into_any(),
        CustomerPage::Receipt => view! { <ReceiptPage/> }.into_any(),
    }
}

/// Getting into an account: choosing a password, a login link, the second factor.
#[derive(Clone, Copy)]
#[repr(u8)]
enum AccountPage {
    SetPassword,
    LoginLink,
    SecondFactor,
}

#[lazy]
fn account_face(page: AccountPage) -> AnyView {
    match page {
        AccountPage::SetPassword => view! { <SetPasswordPage/> }.into_any(),
        AccountPage::LoginLink => view! { <LoginLinkPage/> }.into_any(),
        AccountPage::SecondFactor => view! { <SecondFactorPage/> }.into_any(),
    }
}

/// The admin dashboard's pages.
#[derive(Clone, Copy)]
#[repr(u8)]
enum AdminPage {
    Dashboard,
    Timeline,
    Templates,
    Plans,
    Integration,
    Admins,
    Security,
    NewPlan,
    Plan,
}

#[lazy]
fn admin_face(page: AdminPage) -> AnyView {
    match page {
        AdminPage::Dashboard => view! { <AdminDashboard/> }.into_any(),
        AdminPage::Timeline => view! { <AdminTimeline/> }.into_any(),
        AdminPage::Templates => view! { <AdminTemplates/> }.into_any(),
        AdminPage::Plans => view! { <AdminPlans/> }.into_any(),
        AdminPage::Integration => view! { <AdminIntegration/> }.into_any(),
        AdminPage::Admins => view! { <AdminAdmins/> }.into_any(),
        AdminPage::Security => view! { <AdminSecurity/> }.into_any(),
        AdminPage::NewPlan => view! { <AdminNewPlan/> }.into_any(),
        AdminPage::Plan => view! { <AdminPlan/> }.into_any(),
    }
}
