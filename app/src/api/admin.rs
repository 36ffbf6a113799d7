//! The admin dashboard's server functions. Every one checks the caller is an admin.

use leptos::prelude::*;

use super::dto::{AdminFilter, AdminPage, ReportView, Timeline};
use super::error::AppError;
#[cfg(feature = "ssr")]
use crate::domain::Refusal;
use crate::domain::{EcheanceStatus, RefundStatus};

/// One page of échéances under a filter.
#[server(endpoint = "admin/echeances", input = server_fn::codec::Json)]
pub async fn admin_echeances(filter: AdminFilter, page: u64) -> Result<AdminPage, AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::services::admin::{self, Filter};
    let state = state()?;
    require_admin(&state).await?;
    let filter = Filter::parse(&filter).map_err(fail)?;
    admin::list(&state, &filter, page).await.map_err(fail)
}

/// Everything that happened to one échéance.
#[server(endpoint = "admin/timeline")]
pub async fn admin_timeline(echeance_id: i64) -> Result<Timeline, AppError> {
    use super::context::{echeance_id as parse_id, fail, require_admin, state};
    use crate::ssr::services::admin;
    let state = state()?;
    require_admin(&state).await?;
    admin::timeline(&state, parse_id(echeance_id)?).await.map_err(fail)
}

/// The latest reconcile report.
#[server(endpoint = "admin/report")]
pub async fn admin_last_report() -> Result<Option<ReportView>, AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::services::admin;
    let state = state()?;
    require_admin(&state).await?;
    admin::last_report(&state).await.map_err(fail)
}

/// Runs the reconciler now (over the last 48 hours) and returns its report.
#[server(endpoint = "admin/reconcile")]
pub async fn admin_reconcile_now() -> Result<ReportView, AppError> {
    use super::context::{fail, require_admin, respond, state};
    use crate::ssr::services::{admin, reconcile};
    let state = state()?;
    let me = require_admin(&state).await?;
    let options = reconcile::Options {
        since: std::time::Duration::from_secs(48 * 3600),
        dry_run: false,
        trigger: crate::domain::Actor::Admin(me.id.get()),
    };
    match reconcile::run(&state, &options, &reconcile::Silent).await {
        Ok(_) => {}
        Err(reconcile::ReconcileError::AlreadyRunning) => {
            return Err(respond(AppError::Refused(Refusal::ReconcileRunning)));
        }
        Err(reconcile::ReconcileError::Service(e)) => return Err(fail(e)),
    }
    admin::last_report(&state).await.map_err(fail)?.ok_or_else(|| respond(AppError::Internal))
}

/// Charges an échéance again (admin's retry).
#[server(endpoint = "admin/retry")]
pub async fn admin_retry(echeance_id: i64) -> Result<EcheanceStatus, AppError> {
    use super::context::{echeance_id as parse_id, fail, require_admin, state};
    use crate::ssr::services::charge::{self, Trigger};
    let state = state()?;
    let me = require_admin(&state).await?;
    Ok(charge::charge(&state, parse_id(echeance_id)?, Trigger::Admin(me.id)).await.map_err(fail)?.status)
}

/// Cancels an échéance.
#[server(endpoint = "admin/cancel")]
pub async fn admin_cancel(echeance_id: i64) -> Result<EcheanceStatus, AppError> {
    use super::context::{echeance_id as parse_id, fail, require_admin, state};
    use crate::ssr::services::admin;
    let state = state()?;
    let me = require_admin(&state).await?;
    admin::cancel(&state, parse_id(echeance_id)?, me.id).await.map_err(fail)
}

/// Sends the 3D Secure email again.
#[server(endpoint = "admin/resend")]
pub async fn admin_resend_authentication(echeance_id: i64) -> Result<(), AppError> {
    use super::context::{echeance_id as parse_id, fail, require_admin, state};
    use crate::ssr::services::admin;
    let state = state()?;
    require_admin(&state).await?;
    admin::resend_authentication_email(&state, parse_id(echeance_id)?).await.map_err(fail)
}

/// Marks the money the original site's Checkout Session kept for a cancelled échéance as reviewed.
#[server(endpoint = "admin/review-legacy")]
pub async fn admin_review_legacy(echeance_id: i64) -> Result<(), AppError> {
    use super::context::{echeance_id as parse_id, fail, require_admin, state};
    use crate::ssr::services::admin;
    let state = state()?;
    let me = require_admin(&state).await?;
    admin::review_legacy_payment(&state, parse_id(echeance_id)?, me.id).await.map_err(fail)
}

/// Refunds all or part of a collected échéance; the échéance moves when Stripe says the money did.
#[server(endpoint = "admin/refund")]
pub async fn admin_refund(
    echeance_id: i64,
    seen: i32,
    amount: String,
    reason: String,
    confirm: Option<String>,
) -> Result<RefundStatus, AppError> {
    use super::context::{echeance_id as parse_id, fail, require_admin, state};
    use crate::ssr::services::refunds::{self, Ask};
    let state = state()?;
    let me = require_admin(&state).await?;
    let ask = Ask::read(parse_id(echeance_id)?, seen, &amount, &reason, confirm.as_deref() == Some("on"))
        .map_err(|invalid| fail(invalid.into()))?;
    refunds::refund(&state, ask, me.id).await.map_err(fail)
}
