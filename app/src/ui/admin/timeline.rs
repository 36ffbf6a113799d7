//! `/admin/echeances/{id}`: one échéance, its actions and its timeline.

use leptos::prelude::*;

use crate::ui::form_token::FormToken;
use leptos_router::hooks::use_params_map;

use crate::api::admin::{AdminCancel, AdminResendAuthentication, AdminRetry, admin_timeline};
use crate::api::dto::{Timeline, TimelineEntry, TimelineEvent};
use crate::domain::Locale;
use crate::ui::i18n::{format_datetime, texts, timeline_text};
use crate::ui::layout::LoadedPage;
use crate::ui::live::reload_on_live;
use crate::ui::status_badge::StatusBadge;

/// The page.
#[component]
pub fn AdminTimeline() -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0);
    let retry = ServerAction::<AdminRetry>::new();
    let cancel = ServerAction::<AdminCancel>::new();
    let resend = ServerAction::<AdminResendAuthentication>::new();
    let data = Resource::new(
        move || (id(), retry.version().get(), cancel.version().get(), resend.version().get()),
        |(id, ..)| admin_timeline(id),
    );
    reload_on_live(
        move || data.refetch(),
        move |change| {
            change.echeance_id
                == params.with_untracked(|p| p.get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0))
        },
    );
    let feedback = move || {
        let errors = [
            retry.value().get().and_then(Result::err),
            cancel.value().get().and_then(Result::err),
            resend.value().get().and_then(Result::err),
        ];
        match errors.into_iter().flatten().next() {
            Some(e) => Some(view! { <p class="error" role="alert">{e.message(locale)}</p> }.into_any()),
            None if retry.value().get().is_some()
                || cancel.value().get().is_some()
                || resend.value().get().is_some() =>
            {
                Some(view! { <p class="success" role="status">{tx.done}</p> }.into_any())
            }
            None => None,
        }
    };

    let render = move |t: Timeline| {
        let id = t.row.id;
        view! {
            <p><a href="/admin">{tx.back_to_dashboard}</a></p>
            <h1>{format!("#{id} — {}", t.row.label)}</h1>
            <section class="card summary">
                <dl>
                    <dt>{tx.col_customer}</dt><dd>{format!("{} <{}>", t.row.customer_name, t.row.customer_email)}</dd>
                    <dt>{tx.col_amount}</dt><dd>{t.row.money.format(locale)}</dd>
                    <dt>{tx.col_due}</dt><dd>{locale.format_date(t.row.due_date)}</dd>
                    <dt>{tx.col_status}</dt><dd><StatusBadge status=t.row.status/></dd>
                    <dt>"PaymentIntent"</dt><dd><code>{t.row.payment_intent.clone().unwrap_or_else(|| "—".to_owned())}</code></dd>
                </dl>
            </section>
            <section class="card">
                <h2>{tx.actions}</h2>
                <div class="actions">
                    {t.can_retry.then(|| view! {
                        <ActionForm action=retry attr:class="inline">
                            <FormToken/>
                            <input type="hidden" name="echeance_id" value=id.to_string()/>
                            <button type="submit" class="primary" disabled=move || retry.pending().get()>{tx.retry_charge}</button>
                        </ActionForm>
                    })}
                    {t.can_resend.then(|| view! {
                        <ActionForm action=resend attr:class="inline">
                            <FormToken/>
                            <input type="hidden" name="echeance_id" value=id.to_string()/>
                            <button type="submit" disabled=move || resend.pending().get()>{tx.resend_email}</button>
                        </ActionForm>
                    })}
                    {t.can_cancel.then(|| view! {
                        <ActionForm action=cancel attr:class="inline">
                            <FormToken/>
                            <input type="hidden" name="echeance_id" value=id.to_string()/>
                            <button type="submit" class="danger" disabled=move || cancel.pending().get()>{tx.cancel_echeance}</button>
                        </ActionForm>
                    })}
                </div>
                {feedback}
            </section>
            <section class="card">
                <h2>{tx.timeline}</h2>
                <ul class="timeline" data-testid="timeline">
                    {t.entries.into_iter().map(|e| view! { <Entry entry=e locale/> }).collect_view()}
                </ul>
            </section>
        }
    };
    view! { <LoadedPage data render/> }
}

/// One timeline entry, worded in the reader's language; its machine-readable
/// facts (kind, statuses, email kind, outcome) are attributes.
#[component]
fn Entry(entry: TimelineEntry, locale: Locale) -> impl IntoView {
    let tx = texts();
    let (kind_label, title, details) = timeline_text(&entry.event, locale);
    let (kind, from, to, email_kind, outcome) = match &entry.event {
        TimelineEvent::Attempt { outcome, .. } => ("tentative", None, None, None, Some(outcome.as_str())),
        TimelineEvent::Webhook { .. } => ("webhook", None, None, None, None),
        TimelineEvent::Email { kind, .. } => ("e-mail", None, None, Some(kind.as_str()), None),
        TimelineEvent::Audit { from, to, .. } => {
            ("audit", Some(from.map_or("", |s| s.as_str())), Some(to.as_str()), None, None)
        }
    };
    view! {
        <li data-kind=kind data-from=from data-to=to data-email-kind=email_kind data-outcome=outcome>
            <span class="muted">{format_datetime(entry.at, tx)}</span>
            <span class="kind">{kind_label}</span>
            <span><strong>{title}</strong><br/><span class="muted">{details.join(" · ")}</span></span>
        </li>
    }
}
