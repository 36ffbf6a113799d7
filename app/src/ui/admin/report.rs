//! A reconcile report with its drift list.

use leptos::prelude::*;

use super::listing::{RowsTable, parts_view};
use crate::api::dto::ReportView;
use crate::domain::Locale;
use crate::ui::i18n::{actor_text, fill, format_datetime, problem_parts, status_label, texts};

/// The report.
#[component]
pub fn Report(report: ReportView) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    view! {
        <div data-testid="reconcile-report">
            <p class="muted">{format!(
                "#{} — {} — {}",
                report.id,
                format_datetime(report.started_at, tx),
                fill(tx.report_started_by, &[("actor", &actor_text(&report.trigger, report.trigger_name.as_deref(), tx))]),
            )}</p>
            // `server reconcile --dry-run`: what it lists as resolved was not written.
            {report.dry_run.then(|| view! { <p class="warning" role="status" data-testid="report-dry-run">{tx.report_dry_run}</p> })}
            <div class="grid">
                <div class="total"><div class="muted">{tx.checked}</div><div class="n" data-testid="report-checked">{report.counts.checked}</div></div>
                <div class="total"><div class="muted">{tx.fixed}</div><div class="n" data-testid="report-fixed">{report.counts.fixed}</div></div>
                <div class="total"><div class="muted">{tx.unchanged}</div><div class="n">{report.counts.unchanged}</div></div>
                <div class="total"><div class="muted">{tx.errors}</div><div class="n">{report.counts.errors}</div></div>
                <div class="total"><div class="muted">{tx.stripe_calls}</div><div class="n">{report.counts.stripe_calls}</div></div>
                <div class="total"><div class="muted">{tx.events_replayed}</div><div class="n">{report.counts.events_replayed}</div></div>
            </div>
            <h3>{tx.drift}</h3>
            <RowsTable rows=report.drift empty=tx.no_drift row=move |d| view! {
                <tr>
                    <td><a href=format!("/admin/echeances/{}", d.echeance_id)>{d.echeance_id}</a></td>
                    <td data-status=d.local.as_str()>{status_label(d.local, locale)}</td>
                    <td><code translate="no">{d.stripe}</code></td>
                    <td data-status=d.resolved.as_str()>{status_label(d.resolved, locale)}{if d.fixed { " ✓" } else { "" }}</td>
                </tr>
            }>
                <th>"#"</th><th>{tx.here}</th><th>{tx.at_stripe}</th><th>{tx.resolved}</th>
            </RowsTable>
            {(!report.problems.is_empty()).then(|| view! {
                <ul class="error" data-testid="report-problems">
                    {report.problems.iter().map(|p| view! {
                        <li>{parts_view(problem_parts(p, locale))}</li>
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}
