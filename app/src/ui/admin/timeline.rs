//! `/admin/echeances/{id}`: one échéance, its actions and its timeline.

use leptos::prelude::*;

use crate::ui::form_token::FormToken;
use leptos_router::hooks::use_params_map;

use super::listing::parts_view;
use crate::api::admin::{
    AdminCancel, AdminRefund, AdminResendAuthentication, AdminRetry, AdminReviewLegacy, admin_timeline,
};
use crate::api::dto::{DisputeView, RefundForm, RefundTotals, RefundView, Timeline, TimelineEntry, TimelineEvent};
use crate::api::error::AppError;
use crate::domain::{Actor, DisputeStatus, EcheanceStatus, Locale, RefundReason};
use crate::ui::i18n::{
    actor_text, customer_line, dispute_reason_text, dispute_status_label, fill, format_datetime, refund_failure_text,
    refund_reason_label, refund_status_label, refund_totals_text, status_label, texts, timeline_text,
};
use crate::ui::layout::{LoadedPage, hydration_marker};
use crate::ui::live::reload_on_live;
use crate::ui::status_badge::StatusBadge;

/// The page.
#[component]
pub fn AdminTimeline() -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let hydrated = hydration_marker();
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0);
    let retry = ServerAction::<AdminRetry>::new();
    let cancel = ServerAction::<AdminCancel>::new();
    let resend = ServerAction::<AdminResendAuthentication>::new();
    let refund = ServerAction::<AdminRefund>::new();
    let review = ServerAction::<AdminReviewLegacy>::new();
    let data = Resource::new(
        move || {
            (
                id(),
                retry.version().get(),
                cancel.version().get(),
                resend.version().get(),
                refund.version().get(),
                review.version().get(),
            )
        },
        |(id, ..)| admin_timeline(id),
    );
    reload_on_live(
        move || data.refetch(),
        move |change| {
            change.echeance_id
                == params.with_untracked(|p| p.get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0))
        },
    );
    // What the last action pressed came to (an earlier one's answer is not left beside it): it is
    // the last from the moment it is sent, and says nothing until it is answered.
    let last = RwSignal::new(None::<Pressed>);
    let pending = [
        (Pressed::Retry, retry.pending()),
        (Pressed::Cancel, cancel.pending()),
        (Pressed::Resend, resend.pending()),
        (Pressed::Refund, refund.pending()),
        (Pressed::Review, review.pending()),
    ];
    for (pressed, sent) in pending {
        Effect::new(move |_| {
            if sent.get() {
                last.set(Some(pressed));
            }
        });
    }
    let under_way = move || pending.iter().any(|(pressed, sent)| last.get() == Some(*pressed) && sent.get());
    let feedback = move || {
        if under_way() {
            return None;
        }
        // Without JavaScript the page is served again with the one answer the form brought back.
        let answered = || {
            [
                (Pressed::Retry, retry.value().with(Option::is_some)),
                (Pressed::Cancel, cancel.value().with(Option::is_some)),
                (Pressed::Resend, resend.value().with(Option::is_some)),
                (Pressed::Refund, refund.value().with(Option::is_some)),
                (Pressed::Review, review.value().with(Option::is_some)),
            ]
            .into_iter()
            .find_map(|(pressed, answered)| answered.then_some(pressed))
        };
        let result = match last.get().or_else(answered)? {
            // A retry says what it came to (declined, awaiting 3D Secure, under way), not « done ».
            Pressed::Retry => retry.value().get().map(|r| r.map(Some)),
            Pressed::Cancel => done(cancel.value().get()),
            Pressed::Resend => done(resend.value().get()),
            Pressed::Review => done(review.value().get()),
            // Its own section shows what was refunded.
            Pressed::Refund => refund.value().get().and_then(Result::err).map(Err),
        }?;
        Some(match result {
            Err(e) => view! { <p class="error" role="alert">{e.admin_message(locale)}</p> }.into_any(),
            Ok(None) => view! { <p class="success" role="status">{tx.done}</p> }.into_any(),
            Ok(Some(status)) => {
                let class = match status {
                    EcheanceStatus::Payee => "success",
                    EcheanceStatus::Echouee | EcheanceStatus::EchoueeDefinitive => "error",
                    _ => "notice",
                };
                let text = fill(tx.retry_outcome, &[("status", status_label(status, locale))]);
                view! { <p class=class role="status" data-testid="retry-outcome">{text}</p> }.into_any()
            }
        })
    };

    let render = move |t: Timeline| {
        let id = t.row.id;
        view! {
            <p><a href="/admin">{tx.back_to_dashboard}</a></p>
            <h1 data-hydrated=hydrated>{format!("#{id} — {}", t.row.label)}</h1>
            <section class="card summary">
                <dl>
                    <dt>{tx.col_customer}</dt><dd>{customer_line(&t.row.customer, tx)}</dd>
                    <dt>{tx.col_amount}</dt><dd>{t.row.money.format(locale)}</dd>
                    <dt>{tx.col_due}</dt><dd>{locale.format_date(t.row.due_date)}</dd>
                    <dt>{tx.col_status}</dt><dd><StatusBadge status=t.row.status/></dd>
                    <dt>"PaymentIntent"</dt><dd><code translate="no">{t.row.payment_intent.clone().unwrap_or_else(|| "—".to_owned())}</code></dd>
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
                {t.can_review_legacy.then(|| view! {
                    <p class="warning">{tx.legacy_review_note}</p>
                    <ActionForm action=review attr:class="inline">
                        <FormToken/>
                        <input type="hidden" name="echeance_id" value=id.to_string()/>
                        <button type="submit" disabled=move || review.pending().get()>{tx.legacy_review_done}</button>
                    </ActionForm>
                })}
                {feedback}
            </section>
            {(!t.disputes.is_empty()).then(|| view! { <Disputes disputes=t.disputes.clone() locale/> })}
            {t.refund_totals.map(|totals| view! {
                <Refunds refunds=t.refunds.clone() totals form=t.refund_form echeance_id=id action=refund locale
                    latest=Signal::derive(move || last.get().is_none_or(|p| p == Pressed::Refund) && !under_way())/>
            })}
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

/// An action's answer that says nothing more than « done » (or its error).
fn done<T>(result: Option<Result<T, AppError>>) -> Option<Result<Option<EcheanceStatus>, AppError>> {
    result.map(|r| r.map(|_| None))
}

/// The page's actions, to say what the last one pressed came to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pressed {
    Retry,
    Cancel,
    Resend,
    Refund,
    Review,
}

/// One timeline entry, worded in the reader's language; its machine-readable
/// facts (kind, statuses, email kind, outcome) are attributes.
#[component]
pub(super) fn Entry(
    entry: TimelineEntry,
    locale: Locale,
    /// The échéance it is about (id, 1, 2, 3…), said on a plan's page.
    #[prop(optional)]
    about: Option<(i64, i32)>,
) -> impl IntoView {
    let tx = texts();
    let (kind_label, title, details) = timeline_text(&entry.event, locale);
    let (kind, from, to, email_kind, outcome) = match &entry.event {
        TimelineEvent::Attempt { outcome, .. } => ("tentative", None, None, None, Some(outcome.as_str())),
        TimelineEvent::Webhook { .. } => ("webhook", None, None, None, None),
        TimelineEvent::Email { kind, .. } => ("e-mail", None, None, Some(kind.as_str()), None),
        TimelineEvent::Audit { from, to, .. } => {
            ("audit", Some(from.map_or("", |s| s.as_str())), Some(to.as_str()), None, None)
        }
        TimelineEvent::Rescheduled { .. } => ("rescheduled", None, None, None, None),
        TimelineEvent::Refund { news, .. } => {
            ("refund", Some(news.from.map_or("", |s| s.as_str())), Some(news.to.as_str()), None, None)
        }
        TimelineEvent::Dispute { news, .. } => {
            ("dispute", Some(news.from.map_or("", |s| s.as_str())), Some(news.to.as_str()), None, None)
        }
    };
    view! {
        <li data-kind=kind data-from=from data-to=to data-email-kind=email_kind data-outcome=outcome>
            <span class="muted">{format_datetime(entry.at, tx)}</span>
            <span class="kind">{kind_label}</span>
            <span><strong>{parts_view(title)}</strong><br/><span class="muted">
                {details.into_iter().enumerate().map(|(i, detail)| view! {
                    {(i > 0).then_some(" · ")}
                    {parts_view(detail)}
                }).collect_view()}
                {about.map(|(id, seq)| view! {
                    " · "<a href=format!("/admin/echeances/{id}")>{fill(tx.plan_email_about, &[("seq", &seq.to_string())])}</a>
                })}
            </span></span>
        </li>
    }
}

/// What a payment (or a plan's) brought in, what went back or is going back, and what is kept; and
/// what chargebacks hold, when they do.
#[component]
pub(super) fn MoneyBack(totals: RefundTotals, locale: Locale, testid: &'static str) -> impl IntoView {
    let tx = texts();
    let held = (totals.disputed > 0).then(|| {
        let amount = totals.currency.format_minor(totals.disputed, locale);
        view! { <p class="warning" data-testid="disputed-held">{fill(tx.refund_totals_disputed, &[("amount", &amount)])}</p> }
    });
    view! {
        <p class="muted" data-testid=testid>{refund_totals_text(totals, locale, tx)}</p>
        {held}
    }
}

/// The refunds of a collected échéance, what was kept, and the form to refund more.
#[component]
fn Refunds(
    refunds: Vec<RefundView>,
    totals: RefundTotals,
    form: Option<RefundForm>,
    echeance_id: i64,
    action: ServerAction<AdminRefund>,
    locale: Locale,
    /// Whether the refund is the page's last action (its answer is not left beside a later one's).
    latest: Signal<bool>,
) -> impl IntoView {
    let tx = texts();
    let none = refunds.is_empty().then(|| view! { <p class="muted">{tx.refunds_none}</p> });
    let rows = refunds
        .into_iter()
        .map(|r| {
            let by = match &r.requested_by {
                Actor::Stripe(None) => tx.refund_by_stripe.to_owned(),
                actor => actor_text(actor, r.requested_by_name.as_deref(), tx),
            };
            let status = match &r.failure_reason {
                Some(why) => format!("{} ({})", refund_status_label(r.status, tx), refund_failure_text(why, tx)),
                None => refund_status_label(r.status, tx).to_owned(),
            };
            view! {
                <tr data-status=r.status.as_str()>
                    <td>{format_datetime(r.at, tx)}</td>
                    <td>{r.money.format(locale)}</td>
                    <td>{refund_reason_label(r.reason, tx)}</td>
                    <td>{status}</td>
                    <td>{by}</td>
                    <td><code translate="no">{r.stripe_refund_id.unwrap_or_else(|| "—".to_owned())}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="refunds-title">
            <h2 id="refunds-title">{tx.refunds}</h2>
            <MoneyBack totals locale testid="refund-totals"/>
            {none}
            <table>
                <thead><tr>
                    <th>{tx.col_date}</th><th>{tx.col_amount}</th><th>{tx.col_reason}</th>
                    <th>{tx.col_status}</th><th>{tx.col_by}</th><th>"Stripe"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {form.map(|form| {
                let left = form.left.amount.minor();
                let separator = if locale == Locale::Fr { ',' } else { '.' };
                let default = format!("{}{separator}{:02}", left / 100, left % 100);
                view! {
                    <ActionForm action attr:class="refund-form">
                        <FormToken/>
                        <input type="hidden" name="echeance_id" value=echeance_id.to_string()/>
                        <input type="hidden" name="seen" value=form.seen.to_string()/>
                        <label>{tx.refund_amount}
                            <input type="text" name="amount" inputmode="decimal" required value=default/>
                        </label>
                        <label>{tx.refund_reason}
                            <select name="reason">
                                {RefundReason::ALL.iter().map(|r| view! {
                                    <option value=r.as_str()>{refund_reason_label(Some(*r), tx)}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label class="confirm"><input type="checkbox" name="confirm" required/>{tx.refund_confirm}</label>
                        <button type="submit" class="danger" disabled=move || action.pending().get()>{tx.refund_button}</button>
                    </ActionForm>
                }
            })}
            {move || action.value().get().filter(|_| latest.get()).and_then(Result::ok).map(|status| view! {
                <p class="success" role="status">{fill(tx.refund_result, &[("status", refund_status_label(status, tx))])}</p>
            })}
        </section>
    }
}

/// The disputes of an échéance's payment: where each stands, the deadline for evidence, what a lost one cost.
#[component]
fn Disputes(disputes: Vec<DisputeView>, locale: Locale) -> impl IntoView {
    let tx = texts();
    let rows = disputes
        .into_iter()
        .map(|d| {
            let amount = d.money.format(locale);
            let outcome = match (d.status, d.evidence_due_by) {
                (DisputeStatus::Lost, _) => fill(tx.dispute_lost_amount, &[("amount", &amount)]),
                (_, Some(due)) => fill(tx.dispute_deadline, &[("at", &format_datetime(due, tx))]),
                _ => String::new(),
            };
            view! {
                <tr data-status=d.status.as_str()>
                    <td>{format_datetime(d.at, tx)}</td>
                    <td>
                        {amount}
                        {d.of_second_payment.then(|| view! { <br/><small>{tx.dispute_of_second_payment}</small> })}
                    </td>
                    <td>{d.reason.as_deref().map(|code| dispute_reason_text(code, tx).to_owned()).unwrap_or_default()}</td>
                    <td>{dispute_status_label(d.status, tx)}</td>
                    <td>{outcome}</td>
                    <td><code translate="no">{d.stripe_dispute_id}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="disputes-title">
            <h2 id="disputes-title">{tx.disputes}</h2>
            <table>
                <thead><tr>
                    <th>{tx.col_date}</th><th>{tx.col_amount}</th><th>{tx.col_reason}</th>
                    <th>{tx.col_status}</th><th></th><th>"Stripe"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
