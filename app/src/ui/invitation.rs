//! `/plans/{id}/accept?token=…`: the page a plan's invitation email opens. It
//! shows the whole schedule and the off-session mandate; « J’accepte » records
//! the consent and logs the customer in; then the card (Stripe Elements from
//! the WASM, as in the portal), after which the plan is *actif*. When the first
//! échéance is already due and no card is saved, the card is given to pay it:
//! one PaymentIntent that also saves the card for the later échéances
//! (`setup_future_usage`), so the bank asks once.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::checkout::{Pay, pay_with_new_card};
use crate::api::dto::{CardInfo, InvitationView, PlanAccepted, PlannedEcheance};
use crate::api::plans::{AcceptPlanInvitation, my_plan_status, plan_invitation};
use crate::domain::plan::card_lasts_until;
use crate::domain::{EcheanceStatus, Locale, PlanStatus};
use crate::ui::checkout::{CardPanel, PayNotice};
use crate::ui::error_view::ErrorCard;
use crate::ui::form_token::FormToken;
use crate::ui::i18n::{fill, js_failure_text, texts};
use crate::ui::layout::{Layout, hydration_marker};
use crate::ui::stripe_js;

/// The page.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let tx = texts();
    let params = use_params_map();
    let query = use_query_map();
    let plan_id = move || params.read().get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0);
    let token = move || query.read().get("token").unwrap_or_default();
    // Keyed on the link only: accepting spends it, and the page keeps what it showed.
    let data = Resource::new(move || (plan_id(), token()), |(id, token)| plan_invitation(id, token));
    let hydrated = hydration_marker();

    view! {
        <Transition fallback=move || view! { <p>{tx.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => view! { <Layout me=None><h1>{tx.invitation_title}</h1><ErrorCard error/></Layout> }.into_any(),
                    Ok(invitation) => view! {
                        <Layout me=None>
                            <h1 data-hydrated=hydrated>{tx.invitation_title}</h1>
                            <Invitation invitation token=query.with_untracked(|q| q.get("token").unwrap_or_default())/>
                        </Layout>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Invitation(invitation: InvitationView, token: String) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let accept = ServerAction::<AcceptPlanInvitation>::new();
    let last_due = invitation.echeances.last().map(|e| e.due_date);
    let intro = fill(
        &tx.invitation_intro.of(u64::try_from(invitation.echeances.len()).unwrap_or(u64::MAX), locale),
        &[("name", &invitation.customer_name), ("merchant", &invitation.merchant), ("label", &invitation.label)],
    );
    let id = invitation.plan_id;
    view! {
        <section class="card">
            <p>{intro}</p>
            <table data-testid="invitation-echeances">
                <thead><tr><th>{tx.col_seq}</th><th>{tx.col_due}</th><th>{tx.col_amount}</th></tr></thead>
                <tbody>
                    {invitation.echeances.iter().map(|e| view! {
                        <tr>
                            <td>{e.seq}</td>
                            <td>{locale.format_date(e.due_date)}</td>
                            <td>{e.money.format(locale)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
                <tfoot><tr><th colspan="2">{tx.plan_total}</th><th data-testid="invitation-total">{invitation.total.format(locale)}</th></tr></tfoot>
            </table>
        </section>
        {move || match accept.value().get() {
            Some(Ok(accepted)) => view! {
                <CardStep accepted plan_id=id last_due due_now=invitation.due_now.clone() return_url=invitation.return_url.clone()/>
            }.into_any(),
            failed => {
                let (mandate, token, terms) = (invitation.mandate.clone(), token.clone(), invitation.terms.clone());
                view! {
                <section class="card">
                    <h2>{tx.invitation_mandate}</h2>
                    <blockquote data-testid="mandate">{mandate}</blockquote>
                    <ActionForm action=accept>
                        <FormToken/>
                        <input type="hidden" name="plan_id" value=id.to_string()/>
                        <input type="hidden" name="token" value=token/>
                        <input type="hidden" name="terms" value=terms/>
                        <button type="submit" class="primary" data-testid="accept-plan" disabled=move || accept.pending().get()>
                            {move || if accept.pending().get() { tx.invitation_accepting } else { tx.invitation_accept }}
                        </button>
                    </ActionForm>
                    {failed.and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.message(locale)}</p> })}
                    <p class="muted">{fill(tx.invitation_expires, &[("date", &locale.format_date(invitation.expires_on))])}</p>
                </section>
                }.into_any()
            }
        }}
    }
}

/// After « J’accepte »: the card, unless one is saved already; then the plan's status as the server
/// has it, and the first échéance paid here when it is already due (on-session: the customer is on
/// the page; 3D Secure runs on its own page) — with the card typed for it when none is saved.
#[component]
fn CardStep(
    accepted: PlanAccepted,
    plan_id: i64,
    last_due: Option<chrono::NaiveDate>,
    due_now: Option<PlannedEcheance>,
    return_url: Option<String>,
) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let status = RwSignal::new(accepted.status);
    let card = RwSignal::new(accepted.card.clone());
    // No card yet and the first échéance due: the payment saves the card.
    let pays_with_new_card = due_now.is_some() && accepted.card.is_none();
    let on_saved = Callback::new(move |saved: CardInfo| {
        card.set(Some(saved));
        leptos::task::spawn_local(async move {
            if let Ok(now) = my_plan_status(plan_id).await {
                status.set(now);
            }
        });
    });
    let short_lived = move || {
        card.get()
            .zip(last_due)
            .filter(|(c, last)| !card_lasts_until(c.exp_month, c.exp_year, *last))
            .map(|(_, last)| last)
    };
    view! {
        <section class="card" data-testid="plan-accepted" data-status=move || status.get().as_str()>
            {move || if status.get() == PlanStatus::Actif {
                view! {
                    <p class="success" role="status">{tx.invitation_active}</p>
                    <p><a href="/" data-testid="to-portal">{tx.invitation_to_portal}</a></p>
                    {return_url.clone().map(|url| view! {
                        <p><a href=url rel="noreferrer" data-testid="return-to-site">{tx.invitation_return}</a></p>
                    })}
                }.into_any()
            } else {
                view! { <p>{if pays_with_new_card { tx.invitation_pay_step } else { tx.invitation_card_step }}</p> }.into_any()
            }}
            {move || short_lived().map(|last| view! {
                <p class="warning" data-testid="card-short-lived">
                    {fill(tx.card_expires_before_plan, &[("date", &locale.format_date(last))])}
                </p>
            })}
        </section>
        {due_now.map(|first| if pays_with_new_card {
            view! { <PayFirstWithCard first publishable_key=accepted.publishable_key.clone() on_paid=on_saved/> }.into_any()
        } else {
            view! { <PayFirst first active=Signal::derive(move || status.get() == PlanStatus::Actif)/> }.into_any()
        })}
        {move || {
            let publishable_key = accepted.publishable_key.clone();
            // Once the first payment saved the card, it can be replaced here like any other.
            (!pays_with_new_card || card.get().is_some())
                .then(|| view! { <CardPanel card=card.get() publishable_key on_saved/> })
        }}
    }
}

/// Where paying the first échéance with a new card stands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum FirstPayment {
    /// The card input is there (or being mounted).
    Ready,
    /// Stripe.js, then the server, are at work.
    Paying,
    /// The server answered with this status (paid, declined…).
    Answered(EcheanceStatus),
    /// Refused before any payment (an invalid card, Stripe.js missing…), in words.
    Failed(String),
}

/// The first échéance, due now, paid with the card typed here: Stripe.js turns
/// the card into a PaymentMethod, the server pays the échéance with it on-session
/// with `setup_future_usage = off_session` (one PaymentIntent; the card is saved
/// when it succeeds). When the bank asks for 3D Secure, it runs on that
/// PaymentIntent's own page.
#[component]
fn PayFirstWithCard(first: PlannedEcheance, publishable_key: String, on_paid: Callback<CardInfo>) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let step = RwSignal::new(FirstPayment::Ready);
    let amount = first.money.format(locale);
    let id = first.id;
    Effect::new(move || {
        let key = publishable_key.clone();
        leptos::task::spawn_local(async move {
            // The container is on the page once this component is: mount on the next tick.
            leptos::task::tick().await;
            if let Err(failure) = stripe_js::mount_card(&key, "first-card-element") {
                step.set(FirstPayment::Failed(js_failure_text(&failure, locale)));
            }
        });
    });
    let pay = move |_| {
        if step.get_untracked() == FirstPayment::Paying {
            return;
        }
        step.set(FirstPayment::Paying);
        leptos::task::spawn_local(async move {
            let payment_method = match stripe_js::create_payment_method().await {
                Ok(pm) => pm,
                Err(failure) => return step.set(FirstPayment::Failed(js_failure_text(&failure, locale))),
            };
            match pay_with_new_card(id, payment_method).await {
                Ok(outcome) => {
                    if let Some(pi) = outcome.authenticate_payment_intent {
                        crate::ui::navigate::reload_to(&format!("/payment/authenticate/{pi}"));
                        return;
                    }
                    step.set(FirstPayment::Answered(outcome.status));
                    if let Some(card) = outcome.saved_card {
                        on_paid.run(card);
                    }
                }
                Err(error) => step.set(FirstPayment::Failed(error.message(locale))),
            }
        });
    };
    let paid = move || step.get() == FirstPayment::Answered(EcheanceStatus::Payee);
    let button = fill(tx.invitation_pay_first_with_card, &[("amount", &amount)]);
    view! {
        <section class="card" data-testid="pay-first">
            <p>{fill(tx.invitation_pay_first, &[("amount", &amount)])}</p>
            <div style:display=move || if paid() { "none" } else { "" }>
                <p class="muted">{tx.invitation_card_saved_by_payment}</p>
                <div id="first-card-element" class="card-element"></div>
                <div class="actions">
                    <button type="button" class="primary" data-testid="pay-first-button"
                        disabled=move || step.get() == FirstPayment::Paying on:click=pay>
                        {button}
                    </button>
                </div>
            </div>
            {move || match step.get() {
                FirstPayment::Answered(EcheanceStatus::Payee) => {
                    view! { <p class="success" role="status">{tx.invitation_first_paid}</p> }.into_any()
                }
                // Not paid here: the portal shows where the échéance stands and what can be done.
                FirstPayment::Answered(status) => view! {
                    <PayNotice status not_live=true/>
                    <p><a href="/">{tx.invitation_to_portal}</a></p>
                }.into_any(),
                FirstPayment::Failed(message) => view! {
                    <p class="error" role="alert">{message}</p>
                    <p><a href="/">{tx.invitation_to_portal}</a></p>
                }.into_any(),
                FirstPayment::Ready | FirstPayment::Paying => ().into_any(),
            }}
        </section>
    }
}

/// « Payer maintenant » for the first échéance already due, once the plan is active.
#[component]
fn PayFirst(first: PlannedEcheance, active: Signal<bool>) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let pay = ServerAction::<Pay>::new();
    let amount = first.money.format(locale);
    // Its payment is being processed: pressed again, it would only be refused.
    let under_way = move || matches!(pay.value().get(), Some(Ok(outcome)) if outcome.status == EcheanceStatus::EnCours);
    // 3D Secure runs on the PaymentIntent's own page, which opens the bank's window at once.
    Effect::new(move || {
        if let Some(Ok(outcome)) = pay.value().get()
            && let Some(pi) = outcome.authenticate_payment_intent
        {
            crate::ui::navigate::reload_to(&format!("/payment/authenticate/{pi}"));
        }
    });
    view! {
        <section class="card" data-testid="pay-first">
            <p>{fill(tx.invitation_pay_first, &[("amount", &amount)])}</p>
            {move || match pay.value().get() {
                Some(Ok(outcome)) if outcome.status == EcheanceStatus::Payee => {
                    view! { <p class="success" role="status">{tx.invitation_first_paid}</p> }.into_any()
                }
                result => {
                    let amount = amount.clone();
                    view! {
                        <ActionForm action=pay>
                            <FormToken/>
                            <input type="hidden" name="echeance_id" value=first.id.to_string()/>
                            <button type="submit" class="primary" data-testid="pay-first-button"
                                disabled=move || !active.get() || pay.pending().get() || under_way()>
                                {fill(tx.invitation_pay_first_button, &[("amount", &amount)])}
                            </button>
                        </ActionForm>
                        // Not paid (declined, under way): said as the portal says it, with the way there.
                        {result.map(|answer| match answer {
                            Ok(outcome) => view! {
                                <PayNotice status=outcome.status not_live=true/>
                                <p><a href="/">{tx.invitation_to_portal}</a></p>
                            }.into_any(),
                            Err(e) => view! { <p class="error" role="alert">{e.message(locale)}</p> }.into_any(),
                        })}
                    }.into_any()
                }
            }}
        </section>
    }
}
