//! `/admin/plans/{id}`: one plan — its customer, its progress, the consent the
//! customer gave, its échéances and its history — and « Annuler l’échéancier ».

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::listing::{Pager, RowsTable};
use super::timeline::{Entry, MoneyBack};
use crate::api::dto::{PlanCancelled, PlanView};
use crate::api::plans::{AdminCancelPlan, AdminEraseCustomer, AdminMoveDueDate, admin_plan};
use crate::domain::{EcheanceStatus, KeyMode, Locale};
use crate::ui::form_token::FormToken;
use crate::ui::i18n::{actor_text, cause_label, customer_line, fill, format_datetime, plan_status_label, texts};
use crate::ui::layout::LoadedPage;
use crate::ui::live::reload_on_live;
use crate::ui::status_badge::StatusBadge;

/// The page.
#[component]
pub fn AdminPlan() -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0);
    let query = use_query_map();
    let emails_page = move || query.read().get("emails_page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
    let cancel = ServerAction::<AdminCancelPlan>::new();
    let move_date = ServerAction::<AdminMoveDueDate>::new();
    let erase = ServerAction::<AdminEraseCustomer>::new();
    let data = Resource::new(
        move || (id(), emails_page(), cancel.version().get(), move_date.version().get(), erase.version().get()),
        |(id, emails_page, ..)| admin_plan(id, Some(emails_page)),
    );
    reload_on_live(
        move || data.refetch(),
        move |change| {
            change.plan_id
                == Some(params.with_untracked(|p| p.get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0)))
        },
    );
    let render = move |plan: PlanView| {
        let id = plan.summary.id;
        let movable = !plan.summary.status.is_over();
        let none_here = plan.emails.is_empty();
        view! {
            <p><a href="/admin">{tx.back_to_dashboard}</a></p>
            <h1>{fill(tx.plan_title, &[("id", &id.to_string()), ("label", &plan.summary.label)])}</h1>
            <section class="card summary">
                <dl>
                    <dt>{tx.col_customer}</dt><dd>{customer_line(&plan.summary.customer, tx)}</dd>
                    <dt>{tx.col_status}</dt>
                    <dd><span class="badge" data-testid="plan-status" data-status=plan.summary.status.as_str()>{plan_status_label(plan.summary.status, tx)}</span></dd>
                    <dt>{tx.plan_total}</dt><dd>{plan.summary.total.format(locale)}</dd>
                    <dt>{tx.plan_collected}</dt><dd>{plan.summary.collected.map_or_else(|| "—".to_owned(), |m| m.format(locale))}</dd>
                </dl>
                {plan.refund_totals.map(|totals| view! { <MoneyBack totals locale testid="plan-refund-totals"/> })}
                {plan.summary.no_card.then(|| view! { <p class="warning" data-testid="no-card">{tx.plan_no_card}</p> })}
                {plan.summary.card_runs_out.map(|(month, year)| view! {
                    <p class="warning" data-testid="card-runs-out">
                        {fill(tx.plan_card_runs_out, &[("expiry", &format!("{month:02}/{year}"))])}
                    </p>
                })}
                {plan.consumer_credit.then(|| view! { <p class="warning">{tx.consumer_credit_flag}</p> })}
                {plan.summary.other_mode.map(|mode| view! {
                    <p class="warning" data-testid="other-mode">
                        {match mode { KeyMode::Test => tx.plan_of_test_mode, KeyMode::Live => tx.plan_of_live_mode }}
                    </p>
                })}
            </section>
            <section class="card" aria-labelledby="plan-consent-title">
                <h2 id="plan-consent-title">{tx.plan_consent}</h2>
                {match plan.consent {
                    None => view! { <p class="empty">{tx.consent_none}</p> }.into_any(),
                    Some(c) => view! {
                        <p class="muted">{fill(tx.consent_given, &[
                            ("at", &format_datetime(c.at, tx)), ("ip", &c.ip), ("agent", &c.user_agent), ("version", &c.version),
                        ])}</p>
                        <blockquote>{c.text}</blockquote>
                    }.into_any(),
                }}
            </section>
            <section class="card" aria-labelledby="plan-echeances-title">
                <h2 id="plan-echeances-title">{tx.plan_echeances}</h2>
                <RowsTable rows=plan.echeances testid="plan-echeances" row=move |e| view! {
                    <tr data-seq=e.seq>
                        <td><a href=format!("/admin/echeances/{}", e.id)>{e.seq}</a></td>
                        <td>{locale.format_date(e.due_date)}</td>
                        <td>{e.money.format(locale)}</td>
                        <td><StatusBadge status=e.status/></td>
                        <td>
                            {(movable && e.status == EcheanceStatus::APayer).then(|| view! {
                                <ActionForm action=move_date attr:class="inline">
                                    <FormToken/>
                                    <input type="hidden" name="echeance_id" value=e.id.to_string()/>
                                    <input type="date" name="due_date" required value=e.due_date.to_string() aria-label=tx.col_move/>
                                    <button type="submit" disabled=move || move_date.pending().get()>{tx.move_due_date}</button>
                                </ActionForm>
                            })}
                        </td>
                    </tr>
                }>
                    <th>{tx.col_seq}</th><th>{tx.col_due}</th><th>{tx.col_amount}</th><th>{tx.col_status}</th><th>{tx.col_move}</th>
                </RowsTable>
                {move || move_date.value().get().map(|result| match result {
                    Ok(()) => view! { <p class="success" role="status">{tx.due_date_moved}</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.admin_message(locale)}</p> }.into_any(),
                })}
            </section>
            {plan.can_cancel.then(|| view! {
                <section class="card">
                    <h2>{tx.actions}</h2>
                    <ActionForm action=cancel attr:class="inline">
                        <FormToken/>
                        <input type="hidden" name="plan_id" value=id.to_string()/>
                        <label><input type="checkbox" name="refund"/>" "{tx.cancel_plan_refund}</label>
                        <label><input type="checkbox" name="confirm" required/>" "{tx.cancel_plan_confirm}</label>
                        <button type="submit" class="danger" data-testid="cancel-plan" disabled=move || cancel.pending().get()>{tx.cancel_plan}</button>
                    </ActionForm>
                </section>
            })}
            {move || cancel.value().get().map(|result| match result {
                Ok(done) => view! { <Outcome done/> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.admin_message(locale)}</p> }.into_any(),
            })}
            <section class="card" data-testid="erase-customer">
                <h2>{tx.erase_customer}</h2>
                <p class="muted">{tx.erase_customer_intro}</p>
                <ActionForm action=erase attr:class="inline">
                    <FormToken/>
                    <input type="hidden" name="plan_id" value=id.to_string()/>
                    <label><input type="checkbox" name="confirm" required/>" "{tx.erase_confirm}</label>
                    <button type="submit" class="danger" disabled=move || erase.pending().get()>{tx.erase_customer}</button>
                </ActionForm>
                {move || erase.value().get().map(|result| match result {
                    Ok(()) => view! { <p class="success" role="status">{tx.customer_erased}</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.admin_message(locale)}</p> }.into_any(),
                })}
            </section>
            <section class="card" aria-labelledby="plan-history-title">
                <h2 id="plan-history-title">{tx.plan_history}</h2>
                <ul class="timeline">
                    {plan.history.into_iter().map(|h| view! {
                        <li data-from=h.from.map(|s| s.as_str()) data-to=h.to.as_str()>
                            <span class="muted">{format_datetime(h.at, tx)}</span>
                            <span>
                                {h.from.map(|s| format!("{} → ", plan_status_label(s, tx)))}
                                <strong>{plan_status_label(h.to, tx)}</strong>
                                <br/>
                                <span class="muted">{format!("{} · {}", cause_label(h.cause, tx), fill(tx.tl_by, &[("actor", &actor_text(&h.actor, h.actor_name.as_deref(), tx))]))}</span>
                            </span>
                        </li>
                    }).collect_view()}
                </ul>
            </section>
            <section class="card" aria-labelledby="plan-emails-title">
                <h2 id="plan-emails-title">{tx.plan_emails}</h2>
                {if plan.emails.is_empty() {
                    let none = if plan.emails_page == 0 { tx.plan_emails_none } else { tx.plan_emails_past_the_last };
                    view! { <p class="muted">{none}</p> }.into_any()
                } else {
                    view! {
                        <ul class="timeline" data-testid="plan-emails">
                            {plan.emails.into_iter().map(|e| match e.echeance {
                                Some(about) => view! { <Entry entry=e.entry locale about/> }.into_any(),
                                None => view! { <Entry entry=e.entry locale/> }.into_any(),
                            }).collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
                <Pager
                    previous=(plan.emails_page > 0).then(|| {
                        // Past the last page (a link kept from before some were deleted): back to the first.
                        emails_link(id, if none_here { 0 } else { plan.emails_page - 1 })
                    })
                    next=plan.more_emails.then(|| emails_link(id, plan.emails_page + 1))
                    labels=(tx.plan_emails_newer, tx.plan_emails_older)
                />
            </section>
        }
    };
    view! { <LoadedPage data render/> }
}

/// Page `page` of plan `id`'s emails, its section in view.
fn emails_link(id: i64, page: u64) -> String {
    format!("/admin/plans/{id}?emails_page={page}#plan-emails-title")
}

/// What the cancel did, in words.
#[component]
fn Outcome(done: PlanCancelled) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    view! {
        <div role="status" data-testid="plan-cancelled">
            <p class="success">{tx.plan_cancel_done.of(u64::from(done.cancelled), locale)}</p>
            {(done.paid_meanwhile > 0).then(|| view! {
                <p class="notice">{tx.plan_cancel_paid.of(u64::from(done.paid_meanwhile), locale)}</p>
            })}
            {(done.left > 0).then(|| view! {
                <p class="error">{tx.plan_cancel_left.of(u64::from(done.left), locale)}</p>
            })}
            {(done.refunds_asked > 0).then(|| view! {
                <p class="notice">{tx.plan_refunds_asked.of(u64::from(done.refunds_asked), locale)}</p>
            })}
            {(done.refunds_refused > 0).then(|| view! {
                <p class="error">{tx.plan_refunds_refused.of(u64::from(done.refunds_refused), locale)}</p>
            })}
        </div>
    }
}
