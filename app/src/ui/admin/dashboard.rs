//! `/admin`: filters (a GET form, so it works without JavaScript), totals by
//! status, the daily chart, the paged table, CSV export, reconcile now.

use leptos::prelude::*;

use super::listing::{Pager, RowsTable, StatusSelect, parts_view};
use crate::ui::form_token::FormToken;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::chart::DailyChart;
use super::report::Report;
use crate::api::admin::{AdminReconcileNow, admin_echeances, admin_last_report};
use crate::api::dto::FailedEmailView;
use crate::api::dto::{AdminFilter, AdminPage};
use crate::api::emails::{AdminRetryFailedEmails, admin_failed_emails};
use crate::api::session::current_me;
use crate::domain::{EcheanceStatus, Locale};
use crate::ui::error_view::ErrorCard;
use crate::ui::i18n::{customer_shown, email_kind_label, fill, status_label, texts, trouble_parts};
use crate::ui::layout::Layout;
use crate::ui::live::reload_on_live;
use crate::ui::status_badge::StatusBadge;

/// The dashboard.
#[component]
pub fn AdminDashboard() -> impl IntoView {
    let tx = texts();
    let query = use_query_map();
    let filter = move || AdminFilter::from_pairs(&*query.read());
    let page = move || query.read().get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
    let reconcile = ServerAction::<AdminReconcileNow>::new();
    let data = Resource::new(move || (filter(), page(), reconcile.version().get()), |(f, p, _)| admin_echeances(f, p));
    let report = Resource::new(move || reconcile.version().get(), |_| admin_last_report());
    let me = Resource::new(|| (), |()| current_me());
    let retry_emails = ServerAction::<AdminRetryFailedEmails>::new();
    let failed = Resource::new(move || retry_emails.version().get(), |_| admin_failed_emails());
    // Statuses, totals and the chart follow what the server pushes.
    reload_on_live(move || data.refetch(), |_| true);

    view! {
        <Transition fallback=move || view! { <p>{tx.loading}</p> }>
            {move || Suspend::new(async move {
                let filter = filter();
                let me = me.await.ok().flatten();
                match (data.await, report.await, failed.await) {
                    (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => view! { <Layout me><ErrorCard error/></Layout> }.into_any(),
                    (Ok(page), Ok(last), Ok(failed)) => view! {
                        <Layout me>
                            <h1>{tx.admin_title}</h1>
                            <p class="actions">
                                <a class="button" href="/admin/plans" data-testid="plans-link">{tx.plans_title}</a>
                                <a class="button" href="/admin/integration" data-testid="integration-link">{tx.integration_link}</a>
                                <a class="button primary" href="/admin/plans/new" data-testid="new-plan">{tx.new_plan}</a>
                                <a class="button" href="/admin/templates">{tx.templates}</a>
                                <a class="button" href="/admin/admins">{tx.admins_title}</a>
                                <a class="button" href="/admin/security">{tx.security_link}</a>
                            </p>
                            <Filters filter=filter.clone()/>
                            <Totals page=page.clone()/>
                            {(!failed.is_empty()).then(|| view! { <FailedEmails failed=failed.clone() retry=retry_emails/> })}
                            <section class="card">
                                <h2>{tx.chart_title}</h2>
                                {page.daily.iter().cloned().map(|series| view! { <DailyChart series/> }).collect_view()}
                            </section>
                            <Table page/>
                            <section class="card">
                                <h2>{tx.last_report}</h2>
                                <ActionForm action=reconcile>
                                    <FormToken/>
                                    <button type="submit" class="primary" data-testid="reconcile-now" disabled=move || reconcile.pending().get()>
                                        {move || if reconcile.pending().get() { tx.reconciling } else { tx.reconcile_now }}
                                    </button>
                                </ActionForm>
                                {move || reconcile.value().get().and_then(Result::err).map(|e| {
                                    let locale = use_context::<Locale>().unwrap_or_default();
                                    view! { <p class="error" role="alert">{e.admin_message(locale)}</p> }
                                })}
                                {match last {
                                    Some(report) => view! { <Report report/> }.into_any(),
                                    None => view! { <p class="empty">{tx.no_report}</p> }.into_any(),
                                }}
                            </section>
                        </Layout>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Filters(filter: AdminFilter) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let selected = filter.status.clone().unwrap_or_default();
    view! {
        <section class="card">
            <h2>{tx.filters}</h2>
            <Form method="GET" action="/admin" attr:class="filters" attr:data-testid="filters">
                <StatusSelect options=EcheanceStatus::ALL.iter().map(|&s| (s.as_str(), status_label(s, locale))).collect() selected/>
                <label>{tx.col_customer}<input type="text" name="customer" value=filter.customer.clone().unwrap_or_default()/></label>
                <label>{tx.filter_from}<input type="date" name="due_from" value=filter.due_from.clone().unwrap_or_default()/></label>
                <label>{tx.filter_to}<input type="date" name="due_to" value=filter.due_to.clone().unwrap_or_default()/></label>
                <label>{tx.filter_min}<input type="text" inputmode="decimal" name="amount_min" value=filter.amount_min.clone().unwrap_or_default()/></label>
                <label>{tx.filter_max}<input type="text" inputmode="decimal" name="amount_max" value=filter.amount_max.clone().unwrap_or_default()/></label>
                <label>{tx.search}<input type="search" name="q" placeholder=tx.search_hint value=filter.q.clone().unwrap_or_default()/></label>
                <div class="actions">
                    <button type="submit" class="primary">{tx.apply}</button>
                    <a class="button" href="/admin">{tx.reset}</a>
                </div>
            </Form>
        </section>
    }
}

#[component]
fn Totals(page: AdminPage) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    view! {
        <section class="card">
            <h2>{tx.totals}</h2>
            <div class="grid" data-testid="totals">
                {page.totals.into_iter().map(|t| view! {
                    <div class="total" data-status=t.status.as_str()>
                        <StatusBadge status=t.status/>
                        <div class="n">{t.count}</div>
                        <div class="muted">{t.money.format(locale)}</div>
                    </div>
                }).collect_view()}
            </div>
            {(page.failed_emails > 0 || page.failed_webhooks > 0).then(|| view! {
                <p class="error" role="alert">
                    {format!(
                        "{} · {}",
                        tx.failed_emails_count.of(page.failed_emails, locale),
                        tx.failed_webhooks_count.of(page.failed_webhooks, locale)
                    )}
                </p>
            })}
        </section>
    }
}

#[component]
fn Table(page: AdminPage) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let query = page.query.clone();
    let link = move |p: u64| {
        if query.is_empty() { format!("/admin?page={p}") } else { format!("/admin?{query}&page={p}") }
    };
    let export = if page.query.is_empty() {
        "/admin/export.csv".to_owned()
    } else {
        format!("/admin/export.csv?{}", page.query)
    };
    view! {
        <section class="card">
            <div class="pager">
                <strong data-testid="result-count">{page.total}</strong>" "{tx.results.of(page.total, locale)}
                <a class="button" href=export rel="external" download="echeances.csv">{tx.export_csv}</a>
            </div>
            <RowsTable rows=page.rows empty=tx.no_results testid="admin-table" row=move |r| view! {
                <tr data-testid=format!("row-{}", r.id)>
                    <td><a href=format!("/admin/echeances/{}", r.id)>{r.id}</a></td>
                    <td><a href=format!("/admin/echeances/{}", r.id)>{r.label.clone()}</a></td>
                    <td>{customer_shown(&r.customer, tx).to_owned()}<br/><span class="muted">{r.customer.email.clone()}</span></td>
                    <td>{locale.format_date(r.due_date)}</td>
                    <td class="amount">{r.money.format(locale)}</td>
                    <td><StatusBadge status=r.status/></td>
                    <td class="optional">{r.attempts}</td>
                </tr>
            }>
                <th>"#"</th><th>{tx.col_label}</th><th>{tx.col_customer}</th><th>{tx.col_due}</th>
                <th class="amount">{tx.col_amount}</th><th>{tx.col_status}</th><th class="optional">{tx.col_attempts}</th>
            </RowsTable>
            <Pager
                previous=(page.page > 0).then(|| link(page.page - 1))
                next=(page.page + 1 < page.pages).then(|| link(page.page + 1))
                position=fill(tx.page_of, &[("page", &(page.page + 1).to_string()), ("pages", &page.pages.to_string())])
            />
        </section>
    }
}

#[component]
fn FailedEmails(failed: Vec<FailedEmailView>, retry: ServerAction<AdminRetryFailedEmails>) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    view! {
        <section class="card" data-testid="failed-emails">
            <h2>{tx.failed_emails_title}</h2>
            <table>
                <tbody>
                    {failed.into_iter().map(|m| view! {
                        <tr>
                            <td>{m.to}</td>
                            <td>{email_kind_label(m.kind, tx)}</td>
                            <td>{m.echeance_id.map(|id| view! { <a href=format!("/admin/echeances/{id}")>{format!("#{id}")}</a> })}</td>
                            <td>{m.attempts}</td>
                            <td class="muted">{m.last_error.map(|t| parts_view(trouble_parts(&t, locale)))}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <ActionForm action=retry>
                <FormToken/>
                <button type="submit" disabled=move || retry.pending().get()>{tx.retry_failed_emails}</button>
            </ActionForm>
        </section>
    }
}
