//! Shows what is being paid, runs the bank's 3D Secure at once
//! on the same PaymentIntent from the WASM (`confirmCardPayment`, or
//! `handleNextAction` on one already confirmed: `ThreeDsStep`), then asks
//! the server — which asks Stripe — what became of it.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::authenticate::{confirm_authentication, load_authentication_page};
use crate::api::dto::AuthenticationPage;
use crate::domain::{EcheanceStatus, Locale};
use crate::ui::error_view::ErrorCard;
use crate::ui::i18n::{js_failure_text, texts};
use crate::ui::layout::Layout;
use crate::ui::live::{Heard, on_payment_intent_live};
use crate::ui::status_badge::StatusBadge;
use crate::ui::stripe_js;

/// Where the 3DS flow stands in this browser.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Flow {
    Idle,
    Authenticating,
    Checking,
    Done(EcheanceStatus),
    Failed(String),
}

/// The page.
#[component]
pub fn AuthenticatePage() -> impl IntoView {
    let tx = texts();
    let params = use_params_map();
    let query = use_query_map();
    let payment_intent = move || params.read().get("payment_intent_id").unwrap_or_default();
    let token = move || query.read().get("token");
    let attempt = RwSignal::new(0u32);
    let data = Resource::new(
        move || (payment_intent(), token(), attempt.get()),
        // From the second load on, the customer pressed "Réessayer": the server may re-arm.
        |(pi, token, retries)| load_authentication_page(pi, token, retries > 0),
    );

    view! {
        <Transition fallback=move || view! { <p>{tx.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => view! { <Layout me=None><h1>{tx.auth_title}</h1><ErrorCard error/></Layout> }.into_any(),
                    Ok(page) => view! {
                        <Layout me=None>
                            <h1>{tx.auth_title}</h1>
                            <Authenticate
                                page
                                payment_intent=params.with_untracked(|p| p.get("payment_intent_id").unwrap_or_default())
                                token=query.with_untracked(|q| q.get("token"))
                                retry=Callback::new(move |()| attempt.update(|n| *n += 1))
                            />
                        </Layout>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Authenticate(
    page: AuthenticationPage,
    payment_intent: String,
    token: Option<String>,
    retry: Callback<()>,
) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let flow = RwSignal::new(Flow::Idle);
    let status = RwSignal::new(page.status);
    // Paid, cancelled or refused elsewhere (a webhook, the reconciler, another tab): shown as it happens.
    on_payment_intent_live(&payment_intent, token.as_deref(), move |heard| {
        if let Heard::Change(change) = heard {
            status.set(change.status);
        }
    });

    // As soon as the page runs in the browser, launch the bank's pop-up.
    if let (Some(secret), Some(step)) = (page.client_secret.clone(), page.step.clone()) {
        let key = page.publishable_key.clone();
        Effect::new(move |ran: Option<()>| {
            if ran.is_some() {
                return;
            }
            let (key, secret, step, pi, token) =
                (key.clone(), secret.clone(), step.clone(), payment_intent.clone(), token.clone());
            flow.set(Flow::Authenticating);
            leptos::task::spawn_local(async move {
                let browser_said = stripe_js::authenticate_payment(&key, &secret, &step).await;
                // Whatever the browser says, only Stripe's status counts: ask the server.
                flow.set(Flow::Checking);
                match confirm_authentication(pi, token).await {
                    Ok(now) => {
                        status.set(now);
                        flow.set(match (now, browser_said) {
                            (EcheanceStatus::Payee, _) => Flow::Done(now),
                            (_, Err(failure)) => Flow::Failed(js_failure_text(&failure, locale)),
                            (_, Ok(())) => Flow::Done(now),
                        });
                    }
                    Err(error) => flow.set(Flow::Failed(error.message(locale))),
                }
            });
        });
    }

    let waiting = page.client_secret.is_some();
    let can_retry = page.can_retry;
    view! {
        <section class="card summary">
            <p>{tx.auth_intro}</p>
            <dl>
                <dt>{tx.auth_what}</dt>
                <dd data-testid="auth-label">{page.label.clone()}</dd>
                <dt>{tx.col_amount}</dt>
                <dd data-testid="auth-amount">{page.money.format(locale)}</dd>
                <dt>{tx.col_due}</dt>
                <dd>{locale.format_date(page.due_date)}</dd>
                <dt>{tx.col_status}</dt>
                <dd><StatusBadge status/></dd>
            </dl>
        </section>
        <section class="card" data-testid="auth-outcome">
            {move || match (flow.get(), status.get()) {
                (_, EcheanceStatus::Payee) | (Flow::Done(EcheanceStatus::Payee), _) => {
                    if waiting { view! { <p class="success" role="status">{tx.auth_success}</p> }.into_any() }
                    else { view! { <p class="notice" role="status">{tx.auth_already_paid}</p> }.into_any() }
                }
                (Flow::Authenticating, _) => view! { <p class="muted"><span class="spinner"></span>" "{tx.auth_running}</p> }.into_any(),
                (Flow::Checking, _) => view! { <p class="muted"><span class="spinner"></span>" "{tx.auth_checking}</p> }.into_any(),
                // Stripe's word, whatever the browser said: under way (after 3D Secure, the bank settles it).
                (_, EcheanceStatus::EnCours) => view! { <p class="notice" role="status">{tx.auth_processing}</p> }.into_any(),
                // Declined, or its payment stopped, since (the bank's answer after processing, live;
                // a decline Stripe.js reported keeps its own words below): what to do next is in the
                // portal (another card, « Payer »).
                (Flow::Idle | Flow::Done(_), EcheanceStatus::Echouee | EcheanceStatus::EchoueeDefinitive) => view! {
                    <p class="error" role="alert">{tx.declined_notice}</p>
                    <p><a href="/">{tx.invitation_to_portal}</a></p>
                }.into_any(),
                (_, EcheanceStatus::APayer) => view! {
                    <p class="error" role="alert">{tx.not_charged_notice}</p>
                    <p><a href="/">{tx.invitation_to_portal}</a></p>
                }.into_any(),
                (Flow::Failed(_) | Flow::Done(_), EcheanceStatus::EnAttente) => view! {
                    <p class="error" role="alert">{tx.auth_failed}</p>
                    <button type="button" class="primary" data-testid="auth-retry" on:click=move |_| retry.run(())>{tx.auth_retry}</button>
                }.into_any(),
                (Flow::Failed(message), _) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                (Flow::Idle, EcheanceStatus::EnAttente) if can_retry => view! {
                    <p class="error" role="alert">{tx.auth_failed}</p>
                    <button type="button" class="primary" data-testid="auth-retry" on:click=move |_| retry.run(())>{tx.auth_retry}</button>
                }.into_any(),
                (Flow::Idle, _) if waiting => view! {
                    <noscript><p class="notice">{tx.auth_noscript}</p></noscript>
                    <p class="muted"><span class="spinner"></span>" "{tx.loading}</p>
                }.into_any(),
                (_, _) => view! { <p class="notice">{tx.auth_not_waiting}</p> }.into_any(),
            }}
        </section>
    }
}
