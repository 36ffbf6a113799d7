//! `/` for a logged-in customer.

use leptos::prelude::*;

use super::card_panel::CardPanel;
use super::echeance_row::EcheanceRow;
use super::plans_panel::PlansPanel;
use crate::api::checkout::{Pay, PayPlanRemaining, load_checkout};
use crate::domain::EcheanceStatus;
use crate::ui::error_view::ErrorCard;
use crate::ui::i18n::texts;
use crate::ui::layout::{Layout, hydration_marker};
use crate::ui::live::on_live;

/// What a payment the customer just made came to, in words.
#[component]
pub fn PayNotice(
    status: EcheanceStatus,
    /// On a page that does not follow the status live (the invitation's): a payment under way is
    /// to be followed in the portal, not « here ».
    #[prop(optional)]
    not_live: bool,
) -> impl IntoView {
    let tx = texts();
    match status {
        EcheanceStatus::Payee => view! { <p class="success" role="status">{tx.paid_now}</p> }.into_any(),
        EcheanceStatus::EnAttente => {
            view! { <p class="notice" role="status">{tx.action_required_notice}</p> }.into_any()
        }
        EcheanceStatus::Echouee | EcheanceStatus::EchoueeDefinitive => {
            view! { <p class="error" role="alert">{tx.declined_notice}</p> }.into_any()
        }
        // Only while the outcome is really unknown.
        EcheanceStatus::EnCours => {
            let text = if not_live { tx.processing_notice_portal } else { tx.processing_notice };
            view! { <p class="notice" role="status">{text}</p> }.into_any()
        }
        EcheanceStatus::APayer => view! { <p class="error" role="alert">{tx.not_charged_notice}</p> }.into_any(),
        EcheanceStatus::Annulee => view! { <p class="error" role="alert">{tx.refused_cancelled}</p> }.into_any(),
        EcheanceStatus::Remboursee | EcheanceStatus::Contestee => {
            view! { <p class="notice" role="status">{tx.refused_settled}</p> }.into_any()
        }
    }
}

/// The checkout page. Its data reloads after every action, and whenever the
/// server pushes a change of one of the customer's échéances (`ui::live`),
/// so statuses move without a page reload.
#[component]
pub fn CheckoutPage() -> impl IntoView {
    let tx = texts();
    let pay = ServerAction::<Pay>::new();
    let pay_all = ServerAction::<PayPlanRemaining>::new();
    let refresh = RwSignal::new(0u32);
    let data =
        Resource::new(move || (pay.version().get(), pay_all.version().get(), refresh.get()), |_| load_checkout());
    on_live(move |_| refresh.update(|n| *n += 1));
    // The customer is here: when the bank asks for 3D Secure, it runs at once on the
    // same PaymentIntent (the 3DS page opens the bank's window as it loads).
    Effect::new(move || {
        if let Some(Ok(outcome)) = pay.value().get()
            && let Some(pi) = outcome.authenticate_payment_intent
        {
            crate::ui::navigate::reload_to(&format!("/payment/authenticate/{pi}"));
        }
    });
    let hydrated = hydration_marker();

    view! {
        <Transition fallback=move || view! { <p>{tx.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => view! { <Layout me=None><ErrorCard error/></Layout> }.into_any(),
                    Ok(checkout) => {
                        let has_card = checkout.card.is_some();
                        let me = checkout.me.clone();
                        let publishable_key = checkout.publishable_key.clone();
                        let collected: Vec<_> =
                            checkout.echeances.iter().filter(|e| e.status.was_collected()).cloned().collect();
                        let statuses: Vec<(i64, EcheanceStatus)> = checkout.echeances.iter().map(|e| (e.id, e.status)).collect();
                        view! {
                            <Layout me=Some(me)>
                                <h1 data-hydrated=hydrated>{tx.my_echeances}</h1>
                                <CardPanel card=checkout.card.clone() publishable_key on_saved=Callback::new(move |_| refresh.update(|n| *n += 1))/>
                                <PlansPanel plans=checkout.plans.clone() pay_all has_card/>
                                <section class="card">
                                    {if checkout.echeances.is_empty() {
                                        view! { <p class="empty">{tx.no_echeances}</p> }.into_any()
                                    } else {
                                        view! {
                                            <table data-testid="echeances">
                                                <thead>
                                                    <tr>
                                                        <th>{tx.col_label}</th>
                                                        <th>{tx.col_due}</th>
                                                        <th class="amount">{tx.col_amount}</th>
                                                        <th>{tx.col_status}</th>
                                                        <th>{tx.col_action}</th>
                                                    </tr>
                                                </thead>
                                                <tbody>
                                                    {checkout.echeances.into_iter().map(|e| view! { <EcheanceRow echeance=e pay has_card/> }).collect_view()}
                                                </tbody>
                                            </table>
                                        }.into_any()
                                    }}
                                    {move || pay.value().get().map(|result| match result {
                                        Ok(outcome) => {
                                            // Where that échéance stands now (a payment under way is followed live),
                                            // not where the click left it.
                                            let now = statuses.iter().find(|(id, _)| *id == outcome.echeance_id);
                                            view! { <PayNotice status=now.map_or(outcome.status, |(_, s)| *s)/> }.into_any()
                                        }
                                        Err(error) => {
                                            let locale = use_context::<crate::domain::Locale>().unwrap_or_default();
                                            view! { <p class="error" role="alert">{error.message(locale)}</p> }.into_any()
                                        }
                                    })}
                                </section>
                                {(!collected.is_empty()).then(|| view! { <Receipts echeances=collected/> })}
                            </Layout>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// « Mes reçus »: every échéance collected, each opening its printable receipt.
#[component]
fn Receipts(echeances: Vec<crate::api::dto::EcheanceView>) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<crate::domain::Locale>().unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="receipts-title">
            <h2 id="receipts-title">{tx.receipts}</h2>
            <ul class="receipts">
                {echeances.into_iter().map(|e| view! {
                    <li>
                        <a href=format!("/receipts/{}", e.id)>
                            {crate::ui::i18n::fill(tx.receipt_link, &[("label", &e.label), ("amount", &e.money.format(locale))])}
                        </a>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}
