//! The reconcile report, for the dashboard.

use crate::api::dto::{DriftView, ReportView};
use crate::domain::{Actor, ReconcileProblem};
use crate::ssr::clock::from_ms;
use crate::ssr::entities::reconcile_report;
use crate::ssr::repo::users;
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::reconcile::{self, Drift};
use crate::ssr::state::AppState;

/// A stored report, for the page; `trigger_name`: the name of the admin who started it.
///
/// # Errors
/// A stored report that does not parse.
pub fn report_view(
    state: &AppState,
    row: &reconcile_report::Model,
    drift: Vec<Drift>,
    trigger_name: Option<String>,
) -> Result<ReportView, ServiceError> {
    let tz = state.settings.schedule_timezone;
    Ok(ReportView {
        id: row.id,
        trigger: Actor::parse(&row.trigger),
        trigger_name,
        dry_run: row.dry_run,
        started_at: from_ms(row.started_at).with_timezone(&tz).naive_local(),
        counts: row.counts(),
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
        problems: stored_problems(&row.error_messages)?,
    })
}

/// A report's problems as stored: typed, or (a report written before they were) lines of text.
fn stored_problems(json: &str) -> Result<Vec<ReconcileProblem>, ServiceError> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Typed(ReconcileProblem),
        Text(String),
    }
    let stored: Vec<Stored> = serde_json::from_str(json).map_err(anyhow::Error::from)?;
    Ok(stored
        .into_iter()
        .map(|line| match line {
            Stored::Typed(problem) => problem,
            Stored::Text(text) => ReconcileProblem::Written { text },
        })
        .collect())
}

/// The latest report, if any.
///
/// # Errors
/// Database failure.
pub async fn last_report(state: &AppState) -> Result<Option<ReportView>, ServiceError> {
    match reconcile::latest(state).await? {
        Some((row, drift)) => {
            let trigger = Actor::parse(&row.trigger);
            let name = users::admin_names(&state.db, [&trigger]).await?.of(&trigger);
            Ok(Some(report_view(state, &row, drift, name)?))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::StripeList;

    #[test]
    fn a_report_reads_its_problems_typed_and_an_older_one_its_lines() {
        let typed = serde_json::to_string(&[ReconcileProblem::Listing {
            list: StripeList::Disputes,
            detail: "Server(500)".to_owned(),
        }])
        .expect("serialises");
        assert_eq!(
            stored_problems(&typed).expect("reads"),
            [ReconcileProblem::Listing { list: StripeList::Disputes, detail: "Server(500)".to_owned() }]
        );
        assert_eq!(
            stored_problems(r#"["echeance 3: timeout"]"#).expect("reads"),
            [ReconcileProblem::Written { text: "echeance 3: timeout".to_owned() }]
        );
        assert!(stored_problems("[]").expect("reads").is_empty());
    }
}
