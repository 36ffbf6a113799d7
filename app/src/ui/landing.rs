//! `/`: the checkout for a logged-in customer; for everyone else, what the
//! product is, the login form, the ways back in (a login link, a new
//! password) and, in development, the demo accounts; `/login/link`; `/login/code`.

use leptos::prelude::*;

use crate::ui::form_token::FormToken;

use super::checkout::CheckoutPage;
use super::i18n::{fill, plan_status_label, texts};
use super::layout::{FormPage, Layout, link_token, use_hydrated};
use crate::api::dto::Landing;
use crate::api::error::AppError;
use crate::api::session::{
    LogInWithLink, Login, PassSecondFactor, RequestLoginLink, RequestPasswordReset, landing_data,
};
use crate::domain::{Locale, Role};

/// The home page.
#[component]
pub fn HomePage() -> impl IntoView {
    let tx = texts();
    let data = Resource::new(|| (), |()| landing_data());
    view! {
        <Suspense fallback=move || view! { <p>{tx.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) if d.me.as_ref().is_some_and(|m| m.role == Role::Customer) => view! { <CheckoutPage/> }.into_any(),
                    other => view! { <LandingPage data=other.ok()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// « Pas de mot de passe, ou oublié ? »: a login link or a password-reset link by email.
#[component]
fn BackIn() -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let login_link = ServerAction::<RequestLoginLink>::new();
    let reset = ServerAction::<RequestPasswordReset>::new();
    let answer = move |result: Option<Result<(), AppError>>| {
        result.map(|r| match r {
            Ok(()) => view! { <p class="notice" role="status">{tx.link_sent}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message(locale)}</p> }.into_any(),
        })
    };
    // A browser without JavaScript comes back here once its request went through.
    let query = leptos_router::hooks::use_query_map();
    let sent_without_script = move || {
        let asked = login_link.value().get().is_some() || reset.value().get().is_some();
        (!asked && crate::api::session::says_link_sent(&query.read()))
            .then(|| view! { <p class="notice" role="status">{tx.link_sent}</p> })
    };
    view! {
        <section class="card" data-testid="back-in">
            <h2>{tx.back_in_title}</h2>
            <p class="muted">{tx.back_in_intro}</p>
            <ActionForm action=login_link attr:class="inline">
                <FormToken/>
                <label>{tx.email}" "<input type="email" name="email" required autocomplete="username"/></label>
                <button type="submit" disabled=move || login_link.pending().get()>{tx.login_link_request}</button>
            </ActionForm>
            {move || answer(login_link.value().get())}
            <ActionForm action=reset attr:class="inline">
                <FormToken/>
                <label>{tx.email}" "<input type="email" name="email" required autocomplete="username"/></label>
                <button type="submit" disabled=move || reset.pending().get()>{tx.password_forgotten}</button>
            </ActionForm>
            {move || answer(reset.value().get())}
            {sent_without_script}
        </section>
    }
}

/// `/login/link?token=…`: the page an emailed login link opens. Opening it
/// changes nothing (a mail scanner may open it first); « Me connecter » spends it.
#[component]
pub fn LoginLinkPage() -> impl IntoView {
    let tx = texts();
    let token = link_token();
    let log_in = ServerAction::<LogInWithLink>::new();
    view! {
        <FormPage title=tx.login_link_title intro=tx.login_link_intro outcome=log_in.value()>
            <ActionForm action=log_in>
                <FormToken/>
                <input type="hidden" name="token" value=token/>
                <button type="submit" class="primary" disabled=move || log_in.pending().get()>{tx.login_link_button}</button>
            </ActionForm>
        </FormPage>
    }
}

/// `/login/code`: the second step of an admin's login — a code from the
/// authenticator app, or a recovery code. The challenge is a cookie of the
/// browser that passed the first step.
#[component]
pub fn SecondFactorPage() -> impl IntoView {
    let tx = texts();
    let pass = ServerAction::<PassSecondFactor>::new();
    let restart = view! { <p><a href="/">{tx.code_restart}</a></p> }.into_any();
    view! {
        <FormPage title=tx.code_title intro=tx.code_intro outcome=pass.value() testid="second-factor" footer=restart>
            <ActionForm action=pass attr:class="stack">
                <FormToken/>
                <label>{tx.security_code}
                    <input type="text" name="code" required autocomplete="one-time-code" maxlength="20" autofocus/>
                </label>
                <button type="submit" class="primary" disabled=move || pass.pending().get()>{tx.code_button}</button>
            </ActionForm>
        </FormPage>
    }
}

/// The landing page for visitors and admins.
#[component]
fn LandingPage(data: Option<Landing>) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let login = ServerAction::<Login>::new();
    let show_passwords = RwSignal::new(false);
    let hydrated = use_hydrated();
    let admin = data.as_ref().and_then(|d| d.me.as_ref()).is_some_and(|m| m.role == Role::Admin);
    // Once logged in, load the next page afresh (the session cookie, or the second step's, is now set).
    Effect::new(move || {
        if let Some(Ok(next)) = login.value().get() {
            super::navigate::reload_to(&next);
        }
    });
    let me = data.as_ref().and_then(|d| d.me.clone());
    view! {
        <Layout me>
            <section class="hero">
                <h1>{tx.app_name}</h1>
                <p class="tagline">{tx.tagline}</p>
                <p class="hydration" data-hydrated=move || if hydrated.get() { "true" } else { "false" }>
                    {move || hydrated.get().then_some(tx.interactive)}
                </p>
            </section>
            {data.clone().and_then(|d| d.echeance_count.map(|count| (count, d))).map(|(count, d)| view! {
                <section class="card stats">
                    <p><strong data-testid="echeance-count">{count}</strong>" "{tx.echeances_in_base.of(count, locale)}</p>
                    {d.next_due.map(|date| view! { <p>{fill(tx.labelled, &[("label", tx.next_due)])}<strong>{locale.format_date(date)}</strong></p> })}
                </section>
            })}
            {if admin {
                view! { <section class="card"><a class="button primary" href="/admin">{tx.go_to_dashboard}</a></section> }.into_any()
            } else {
                view! {
                    <section class="card" data-testid="login">
                        <h2>{tx.login}</h2>
                        <ActionForm action=login attr:class="stack">
                            <FormToken/>
                            <label>{tx.email}<input type="email" name="email" required autocomplete="username"/></label>
                            <label>{tx.password}<input type="password" name="password" required autocomplete="current-password"/></label>
                            <button type="submit" class="primary" disabled=move || login.pending().get()>{tx.login}</button>
                        </ActionForm>
                        {move || login.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.message(locale)}</p> })}
                    </section>
                    <BackIn/>
                }.into_any()
            }}
            {data.filter(|d| !d.demo_accounts.is_empty()).map(|d| view! {
                <section class="card demo">
                    <h2>{tx.demo_accounts}</h2>
                    <button type="button" class="link" data-testid="toggle-passwords" on:click=move |_| show_passwords.update(|v| *v = !*v)>
                        {move || if show_passwords.get() { tx.hide_passwords } else { tx.show_passwords }}
                    </button>
                    <ul>
                        {d.demo_accounts.into_iter().map(|a| {
                            let password = a.password.clone();
                            view! {
                                <li>
                                    <code translate="no">{a.email}</code>" — "
                                    {if a.role == Role::Admin { tx.role_admin } else { tx.role_customer }}
                                    " — "<code translate="no" class="password">{move || if show_passwords.get() { password.clone() } else { "••••••••".to_owned() }}</code>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {(!d.demo_plans.is_empty()).then(|| view! {
                        <h3>{tx.demo_plans}</h3>
                        <ul data-testid="demo-plans">
                            {d.demo_plans.into_iter().map(|p| view! {
                                <li>
                                    <a href=format!("/admin/plans/{}", p.id)>{p.label}</a>" — "{p.customer_name}
                                    " — "{plan_status_label(p.status, tx)}
                                </li>
                            }).collect_view()}
                        </ul>
                    })}
                    {(!d.demo_invitations.is_empty()).then(|| view! {
                        <h3>{tx.demo_invitations}</h3>
                        <ul data-testid="demo-invitations">
                            {d.demo_invitations.into_iter().map(|i| view! {
                                <li><a href=i.link>{format!("{} — {}", i.label, i.customer_name)}</a></li>
                            }).collect_view()}
                        </ul>
                    })}
                </section>
            })}
        </Layout>
    }
}
