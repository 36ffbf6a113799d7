//! Payment plans' server functions: thin, the service decides.

use leptos::prelude::*;

use super::dto::{
    InvitationView, PlanAccepted, PlanCancelled, PlanCreated, PlanDefaults, PlanForm, PlanList, PlanView,
};
use super::error::AppError;

/// What the "Nouvel échéancier" form needs from the server.
#[server(endpoint = "admin/plans/defaults")]
pub async fn admin_plan_defaults() -> Result<PlanDefaults, AppError> {
    use super::context::{require_admin, state};
    let state = state()?;
    require_admin(&state).await?;
    Ok(PlanDefaults { today: state.today(), refuse_consumer_credit: state.settings.refuse_consumer_credit })
}

/// Creates a plan from the form, checked again here with the browser's own code.
#[server(endpoint = "admin/plans/create", input = server_fn::codec::Json)]
pub async fn admin_create_plan(form: PlanForm) -> Result<PlanCreated, AppError> {
    use super::context::{fail, require_admin, respond, state};
    use crate::domain::{Field, Invalid, Locale};
    use crate::ssr::services::plans::{self, NewCustomer, NewPlan};
    let state = state()?;
    let me = require_admin(&state).await?;
    let request = form.request().map_err(|e| respond(AppError::Invalid(Invalid::Schedule(e))))?;
    let locale = Locale::parse(&form.locale).map_err(|_| respond(AppError::Invalid(Invalid::Field(Field::Locale))))?;
    let input = NewPlan {
        customer: NewCustomer { email: form.email, name: form.name, locale },
        label: form.label,
        currency: form.currency,
        schedule: request,
        metadata: std::collections::BTreeMap::new(),
        send_invitation: true,
        return_url: None,
    };
    let created = plans::create(&state, Some(me.id), input).await.map_err(fail)?;
    plans::created_view(&created).map_err(fail)
}

/// The plans, newest first, of one status (its spelling, e.g. `actif`) or all.
#[server(endpoint = "admin/plans/list")]
pub async fn admin_plans(status: Option<String>, card: Option<String>, page: u64) -> Result<PlanList, AppError> {
    use super::context::{fail, require_admin, respond, state};
    use crate::domain::{Field, Invalid, PlanStatus};
    use crate::ssr::services::plans;
    let state = state()?;
    require_admin(&state).await?;
    let status = match status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(PlanStatus::parse(s).map_err(|_| respond(AppError::Invalid(Invalid::Field(Field::Status))))?),
        None => None,
    };
    // `card=expiring`: only the plans whose card will not last until their last échéance.
    let cards_running_out = match card.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => false,
        Some("expiring") => true,
        Some(_) => return Err(respond(AppError::Invalid(Invalid::Field(Field::CardFilter)))),
    };
    plans::list(&state, status, cards_running_out, page).await.map_err(fail)
}

/// One plan: customer, consent, échéances, history, and page `emails_page` of its emails (none:
/// the first, as a page loaded before there were pages asks).
#[server(endpoint = "admin/plans/view")]
pub async fn admin_plan(plan_id: i64, emails_page: Option<u64>) -> Result<PlanView, AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::services::plans;
    let state = state()?;
    require_admin(&state).await?;
    plans::view(&state, plan_id, emails_page.unwrap_or(0)).await.map_err(fail)
}

/// Moves one échéance still to pay of a plan to another date.
#[server(endpoint = "admin/plans/move")]
pub async fn admin_move_due_date(echeance_id: i64, due_date: String) -> Result<(), AppError> {
    use super::context::{echeance_id as parse_id, fail, require_admin, respond, state};
    use crate::domain::{Field, Invalid};
    use crate::ssr::services::plans;
    let state = state()?;
    let me = require_admin(&state).await?;
    let to = chrono::NaiveDate::parse_from_str(due_date.trim(), "%Y-%m-%d")
        .map_err(|_| respond(AppError::Invalid(Invalid::Field(Field::DueDate))))?;
    plans::move_due_date(&state, parse_id(echeance_id)?, to, me.id).await.map_err(fail)
}

/// Cancels a plan, its « je confirme » box ticked (refused while one of its échéances is in flight).
#[server(endpoint = "admin/plans/cancel")]
pub async fn admin_cancel_plan(
    plan_id: i64,
    refund: Option<String>,
    confirm: Option<String>,
) -> Result<PlanCancelled, AppError> {
    use super::context::{fail, require_admin, respond, state};
    use crate::ssr::services::{plans, refunds};
    let state = state()?;
    let me = require_admin(&state).await?;
    // The form's « je confirme » box: a cancel is for good, and may refund every paid échéance.
    if confirm.as_deref() != Some("on") {
        return Err(respond(AppError::Invalid(crate::domain::Invalid::Field(crate::domain::Field::Confirmation))));
    }
    let mut done = plans::cancel(&state, plan_id, me.id).await.map_err(fail)?;
    // « Rembourser aussi ce qui a été payé »: each collected échéance's own refund.
    if refund.as_deref() == Some("on") {
        (done.refunds_asked, done.refunds_refused) =
            refunds::refund_plan(&state, plan_id, me.id).await.map_err(fail)?;
    }
    Ok(done)
}

/// Erases the plan's customer (RGPD art. 17); refused while one of their échéances is in flight or disputed.
#[server(endpoint = "admin/plans/erase-customer")]
pub async fn admin_erase_customer(plan_id: i64, confirm: Option<String>) -> Result<(), AppError> {
    use super::context::{fail, require_admin, respond, state};
    use crate::ssr::services::erasure;
    let state = state()?;
    let me = require_admin(&state).await?;
    // The form's « je confirme » box: nothing is erased without it.
    if confirm.as_deref() != Some("on") {
        return Err(respond(AppError::Invalid(crate::domain::Invalid::Field(crate::domain::Field::Confirmation))));
    }
    erasure::erase_plan_customer(&state, plan_id, me.id).await.map(|_| ()).map_err(fail)
}

/// The plan an invitation link opens: nobody needs to be logged in, and nothing changes.
#[server(endpoint = "plans/invitation")]
pub async fn plan_invitation(plan_id: i64, token: String) -> Result<InvitationView, AppError> {
    use super::context::{fail, state};
    use crate::ssr::services::invitations;
    let state = state()?;
    invitations::open(&state, plan_id, &token, crate::ui::i18n::page_locale()).await.map_err(fail)
}

/// The customer accepts through the invitation link: the consent is recorded,
/// the link spent, and the customer logged in (to save the card next).
#[server(endpoint = "plans/accept")]
pub async fn accept_plan_invitation(plan_id: i64, token: String, terms: String) -> Result<PlanAccepted, AppError> {
    use super::context::{client_ip, fail, send_plain_form_to, set_cookie, state, user_agent};
    use crate::ssr::auth;
    use crate::ssr::services::invitations;
    use crate::ssr::services::plans::ConsentContext;
    let state = state()?;
    let context = ConsentContext { ip: client_ip(&state), user_agent: user_agent() };
    let locale = crate::ui::i18n::page_locale();
    let (accepted, session) =
        invitations::accept(&state, plan_id, &token, &terms, locale, context).await.map_err(fail)?;
    set_cookie(&auth::session_cookie(&state, &session.token));
    // The link is spent: the customer's home, where the accepted plan waits for a card.
    send_plain_form_to("/");
    Ok(accepted)
}

/// Where the caller's own plan stands (after saving the card on the acceptance page).
#[server(endpoint = "plans/status")]
pub async fn my_plan_status(plan_id: i64) -> Result<crate::domain::PlanStatus, AppError> {
    use super::context::{fail, require_user, state};
    use crate::ssr::services::plans;
    let state = state()?;
    let me = require_user(&state).await?;
    plans::status_for(&state, plan_id, me.id).await.map_err(fail)
}
