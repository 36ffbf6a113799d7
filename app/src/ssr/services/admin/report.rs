//! The reconcile report, for the dashboard.

use crate::api::dto::{DriftView, ReportView};
use crate::ssr::clock::from_ms;
use crate::ssr::entities::reconcile_report;
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::reconcile::{self, Drift};
use crate::ssr::state::AppState;

/// A stored report, for the page.
///
/// # Errors
/// A stored report that does not parse.
pub fn report_view(
    state: &AppState,
    row: &reconcile_report::Model,
    drift: Vec<Drift>,
) -> Result<ReportView, ServiceError> {
    let tz = state.settings.schedule_timezone;
    Ok(ReportView {
        id: row.id,
        trigger: row.trigger.clone(),
        dry_run: row.dry_run,
        started_at: from_ms(row.started_at).with_timezone(&tz).naive_local(),
        checked: row.checked,
        fixed: row.fixed,
        unchanged: row.unchanged,
        errors: row.errors,
        stripe_calls: row.stripe_calls,
        events_replayed: row.events_replayed,
        drift: drift
            .into_iter()
            .map(|d| DriftView {
                echeance_id: d.echeance_id,
                local: d.local,
                stripe: d.stripe,
                resolved: d.resolved,
                fixed: d.fixed,
            })
            .collect(),
        error_messages: serde_json::from_str(&row.error_messages).map_err(anyhow::Error::from)?,
    })
}

/// The latest report, if any.
///
/// # Errors
/// Database failure.
pub async fn last_report(state: &AppState) -> Result<Option<ReportView>, ServiceError> {
    match reconcile::latest(state).await? {
        Some((row, drift)) => Ok(Some(report_view(state, &row, drift)?)),
        None => Ok(None),
    }
}
