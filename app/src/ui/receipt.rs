//! `/receipts/{id}`: one collected échéance's receipt, laid out to be printed
//! (or saved as PDF from the browser's print dialog).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::checkout::receipt;
use crate::api::dto::ReceiptView;
use crate::domain::Locale;
use crate::ui::i18n::{customer_line, fill, format_datetime, status_label, texts};
use crate::ui::layout::LoadedPage;

/// The page.
#[component]
pub fn ReceiptPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0);
    let data = Resource::new(id, receipt);
    let render = move |r: ReceiptView| view! { <Receipt receipt=r/> };
    view! { <LoadedPage data render/> }
}

#[component]
fn Receipt(receipt: ReceiptView) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let r = receipt;
    let refunded = (r.refunded > 0).then(|| {
        let amount = r.money.currency.format_minor(r.refunded, locale);
        view! { <dt>{tx.receipt_refunded}</dt><dd>{amount}</dd> }
    });
    view! {
        <p class="no-print"><a href="/">{tx.back_to_portal}</a></p>
        <article class="card receipt" data-testid="receipt">
            <h1>{fill(tx.receipt_title, &[("number", &r.echeance_id.to_string())])}</h1>
            <dl>
                <dt>{tx.receipt_merchant}</dt><dd>{r.merchant.clone()}</dd>
                <dt>{tx.receipt_customer}</dt><dd>{customer_line(&r.customer, tx)}</dd>
                <dt>{tx.receipt_for}</dt><dd>{r.label.clone()}</dd>
                {r.plan_label.clone().map(|plan| view! { <dt>{tx.receipt_plan}</dt><dd>{plan}</dd> })}
                <dt>{tx.col_amount}</dt><dd data-testid="receipt-amount">{r.money.format(locale)}</dd>
                <dt>{tx.col_due}</dt><dd>{locale.format_date(r.due_date)}</dd>
                {r.paid_at.map(|at| view! { <dt>{tx.receipt_paid_at}</dt><dd>{format_datetime(at, tx)}</dd> })}
                {r.card.clone().map(|card| view! { <dt>{tx.receipt_card}</dt><dd>{card}</dd> })}
                {r.payment_intent.clone().map(|pi| view! { <dt>{tx.receipt_reference}</dt><dd><code translate="no">{pi}</code></dd> })}
                {refunded}
                <dt>{tx.col_status}</dt><dd>{status_label(r.status, locale)}</dd>
            </dl>
            <p class="muted no-print">{tx.receipt_print_hint}</p>
        </article>
    }
}
