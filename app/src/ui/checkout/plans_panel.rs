//! « Mes échéanciers »: each of the customer's plans with its progress, what
//! remains and when, and « Tout payer maintenant » (every échéance still to
//! pay, now, on-session; 3D Secure on its page when the bank asks).

use leptos::prelude::*;

use super::page::PayNotice;
use crate::api::checkout::PayPlanRemaining;
use crate::api::dto::{PaidAhead, PlanRow};
use crate::domain::{EcheanceStatus, Locale, PlanStatus};
use crate::ui::form_token::FormToken;
use crate::ui::i18n::{fill, plan_status_label, texts};

/// The plans, and the outcome of the last « Tout payer ».
#[component]
pub fn PlansPanel(plans: Vec<PlanRow>, pay_all: ServerAction<PayPlanRemaining>, has_card: bool) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    // The bank wants 3D Secure for one of them: its own page, which opens the bank's window at once.
    Effect::new(move || {
        if let Some(Ok(done)) = pay_all.value().get()
            && let Some(pi) = done.stopped.and_then(|s| s.authenticate_payment_intent)
        {
            crate::ui::navigate::reload_to(&format!("/payment/authenticate/{pi}"));
        }
    });
    (!plans.is_empty()).then(|| {
        view! {
            <section class="card" data-testid="my-plans">
                <h2>{tx.my_plans}</h2>
                <ul class="plans">
                    {plans.into_iter().map(|p| {
                        // A plan of the other Stripe mode is not paid from here (the payment would be refused).
                        let collectable = matches!(p.status, PlanStatus::Actif | PlanStatus::EnDefaut) && p.other_mode.is_none();
                        view! {
                            <li data-testid=format!("plan-{}", p.id) data-status=p.status.as_str()>
                                <strong>{p.label.clone()}</strong>" "
                                <span class="badge" data-status=p.status.as_str()>{plan_status_label(p.status, tx)}</span>
                                <p class="muted">{fill(&tx.plan_progress.of(u64::from(p.progress.0), locale), &[
                                    ("count", &p.progress.1.to_string()),
                                    ("total", &p.total.format(locale)),
                                ])}
                                {p.next_due.map(|d| format!(" — {}", fill(tx.plan_next, &[("date", &locale.format_date(d))])))}</p>
                                {p.other_mode.filter(|_| p.remaining.is_some()).map(|_| view! {
                                    <p class="muted" data-testid="other-mode">{tx.refused_other_mode}</p>
                                })}
                                // What can be charged now: not what is under way or awaits 3D Secure.
                                {p.payable.filter(|_| collectable && has_card).map(|payable| view! {
                                    <ActionForm action=pay_all attr:class="inline">
                                        <FormToken/>
                                        <input type="hidden" name="plan_id" value=p.id.to_string()/>
                                        <button type="submit" data-testid=format!("pay-plan-{}", p.id) disabled=move || pay_all.pending().get()>
                                            {fill(tx.pay_all_remaining, &[("amount", &payable.format(locale))])}
                                        </button>
                                    </ActionForm>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                {move || pay_all.value().get().map(|result| match result {
                    Ok(done) if done.interrupted.is_some() => {
                        let reason = done.interrupted.as_ref().map(|e| e.message(locale)).unwrap_or_default();
                        let text = tx.paid_ahead_interrupted.of(u64::from(done.paid), locale);
                        view! { <p class="error" role="alert">{fill(&text, &[("reason", &reason)])}</p> }.into_any()
                    }
                    Ok(done) if done.stopped.is_none() && done.left == 0 => view! {
                        <p class="success" role="status">{tx.paid_ahead.of(u64::from(done.paid), locale)}</p>
                    }.into_any(),
                    // Some were under way or awaiting 3D Secure before: the plan is not settled yet.
                    Ok(done) if done.stopped.is_none() => view! {
                        <p class="notice" role="status">{tx.paid_ahead_some_left.of(u64::from(done.paid), locale)}</p>
                    }.into_any(),
                    // The first one did not go through: said as one « Payer » says it.
                    Ok(PaidAhead { paid: 0, stopped: Some(first), .. }) => view! { <PayNotice status=first.status/> }.into_any(),
                    Ok(done) if done.stopped.as_ref().is_some_and(|s| s.status == EcheanceStatus::EnCours) => view! {
                        <p class="notice" role="status">{tx.paid_ahead_stopped_processing.of(u64::from(done.paid), locale)}</p>
                    }.into_any(),
                    Ok(done) => view! {
                        <p class="error" role="alert">{tx.paid_ahead_stopped.of(u64::from(done.paid), locale)}</p>
                    }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.message(locale)}</p> }.into_any(),
                })}
            </section>
        }
    })
}
