//! `/admin/plans`: every plan, newest first, filtered by status — customer,
//! progress, what is collected, the next échéance — each opening its page.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::listing::{Pager, RowsTable, StatusSelect};
use crate::api::dto::PlanList;
use crate::api::plans::admin_plans;
use crate::domain::{KeyMode, Locale, PlanStatus};
use crate::ui::i18n::{customer_shown, fill, plan_status_label, texts};
use crate::ui::layout::LoadedPage;
use crate::ui::live::reload_on_live;

/// The page.
#[component]
pub fn AdminPlans() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.read().get("status").filter(|s| !s.is_empty());
    let page = move || query.read().get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
    let card = move || query.read().get("card").filter(|c| !c.is_empty());
    let data =
        Resource::new(move || (status(), card(), page()), |(status, card, page)| admin_plans(status, card, page));
    reload_on_live(move || data.refetch(), |change| change.plan_id.is_some());
    let render = move |list: PlanList| {
        view! { <Plans list selected=status().unwrap_or_default() cards_running_out=card().is_some()/> }
    };
    view! { <LoadedPage data render/> }
}

#[component]
fn Plans(list: PlanList, selected: String, cards_running_out: bool) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let link = {
        let selected = selected.clone();
        let card = if cards_running_out { "expiring" } else { "" };
        move |page: u64| format!("/admin/plans?status={selected}&card={card}&page={page}")
    };
    view! {
        <p><a href="/admin">{tx.back_to_dashboard}</a></p>
        <h1>{tx.plans_title}</h1>
        <section class="card">
            <Form method="GET" action="/admin/plans" attr:class="filters">
                <StatusSelect
                    options=PlanStatus::ALL.iter().map(|&s| (s.as_str(), plan_status_label(s, tx))).collect()
                    selected
                    testid="plans-status"
                />
                <label class="inline">
                    <input type="checkbox" name="card" value="expiring" checked=cards_running_out/>
                    {tx.plans_cards_running_out}
                </label>
                <div class="actions">
                    <button type="submit" class="primary">{tx.apply}</button>
                    <a class="button primary" href="/admin/plans/new">{tx.new_plan}</a>
                </div>
            </Form>
        </section>
        <section class="card">
            <RowsTable rows=list.rows empty=tx.plans_none testid="plans" row=move |p| view! {
                <tr data-status=p.status.as_str()>
                    <td><a href=format!("/admin/plans/{}", p.id)>{p.label}</a></td>
                    <td>{customer_shown(&p.customer, tx).to_owned()}<br/><span class="muted">{p.customer.email}</span></td>
                    <td><span class="badge" data-status=p.status.as_str()>{plan_status_label(p.status, tx)}</span></td>
                    <td class="amount">{p.total.format(locale)}</td>
                    <td class="amount">
                        {p.collected.map_or_else(|| "—".to_owned(), |m| m.format(locale))}
                        <br/><span class="muted">{format!("{}/{}", p.progress.0, p.progress.1)}</span>
                    </td>
                    <td>
                        {p.next_due.map_or_else(|| "—".to_owned(), |d| locale.format_date(d))}
                        {p.no_card.then(|| view! {
                            <br/><span class="warning" data-testid="no-card">{tx.plan_no_card}</span>
                        })}
                        {p.other_mode.map(|mode| view! {
                            <br/><span class="warning" data-testid="other-mode">
                                {match mode { KeyMode::Test => tx.plan_mode_test, KeyMode::Live => tx.plan_mode_live }}
                            </span>
                        })}
                        {p.card_runs_out.map(|(month, year)| view! {
                            <br/><span class="warning" data-testid="card-runs-out">
                                {fill(tx.plan_card_runs_out, &[("expiry", &format!("{month:02}/{year}"))])}
                            </span>
                        })}
                    </td>
                </tr>
            }>
                <th>{tx.plan_label}</th><th>{tx.col_customer}</th><th>{tx.col_status}</th>
                <th class="amount">{tx.plan_total}</th><th class="amount">{tx.plan_collected}</th>
                <th>{tx.col_next_due}</th>
            </RowsTable>
            <Pager previous=(list.page > 0).then(|| link(list.page - 1)) next=list.has_more.then(|| link(list.page + 1))/>
        </section>
    }
}
