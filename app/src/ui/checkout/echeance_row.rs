//! One échéance of the checkout table, with its action.

use leptos::prelude::*;

use crate::ui::form_token::FormToken;

use crate::api::checkout::Pay;
use crate::api::dto::EcheanceView;
use crate::domain::{EcheanceStatus, Locale};
use crate::ui::i18n::texts;
use crate::ui::status_badge::StatusBadge;

/// A row: label, date, amount, status, and "Payer" / "Authentifier" / in progress.
#[component]
pub fn EcheanceRow(echeance: EcheanceView, pay: ServerAction<Pay>, has_card: bool) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let status = echeance.status;
    let id = echeance.id;
    let action = match (status, echeance.awaiting_payment_intent.clone()) {
        // Neither paid nor authenticated with the keys in use: said instead.
        (s, _) if echeance.other_mode && (s.is_payable() || s == EcheanceStatus::EnAttente) => view! {
            <span class="muted" data-testid=format!("other-mode-{id}")>{tx.echeance_other_mode}</span>
        }
        .into_any(),
        (EcheanceStatus::EnAttente, Some(pi)) => view! {
            <a class="button primary" href=format!("/payment/authenticate/{pi}")>{tx.authenticate}</a>
        }
        .into_any(),
        (EcheanceStatus::EnCours, _) => view! { <span class="muted"><span class="spinner"></span>" "{tx.paying}</span> }.into_any(),
        (s, _) if s.is_payable() && has_card => view! {
            <ActionForm action=pay attr:class="inline">
                <FormToken/>
                <input type="hidden" name="echeance_id" value=id.to_string()/>
                <button
                    type="submit"
                    class="primary"
                    data-testid=format!("pay-{id}")
                    disabled=move || pay.pending().get()
                >
                    {move || if pay.pending().get() && pay.input().get().is_some_and(|i| i.echeance_id == id) { tx.paying } else { tx.pay }}
                </button>
            </ActionForm>
        }
        .into_any(),
        (s, _) if s.is_payable() => view! { <span class="muted">{tx.need_card_to_pay}</span> }.into_any(),
        (s, _) if s.was_collected() => view! { <a href=format!("/receipts/{id}")>{tx.receipt_open}</a> }.into_any(),
        _ => ().into_any(),
    };
    view! {
        <tr data-testid=format!("echeance-{id}") data-status=status.as_str()>
            <td>{echeance.label.clone()}</td>
            <td>{locale.format_date(echeance.due_date)}</td>
            <td class="amount">{echeance.money.format(locale)}</td>
            <td><StatusBadge status/></td>
            <td>{action}</td>
        </tr>
    }
}
