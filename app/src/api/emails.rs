//! Admins' email tools: templates, previews, failed emails.

use leptos::prelude::*;

use super::dto::{EmailPreview, EmailTemplateView, FailedEmailView};
use super::error::AppError;

/// Every template.
#[server(endpoint = "admin/templates")]
pub async fn admin_templates() -> Result<Vec<EmailTemplateView>, AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::services::email_admin;
    let state = state()?;
    require_admin(&state).await?;
    email_admin::list(&state).await.map_err(fail)
}

/// Renders a template being edited with sample data.
#[server(endpoint = "admin/templates/preview")]
pub async fn admin_preview_template(
    kind: String,
    locale: String,
    subject: String,
    html: String,
    text: String,
) -> Result<EmailPreview, AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::email::templates::TemplateSource;
    use crate::ssr::services::email_admin;
    let state = state()?;
    require_admin(&state).await?;
    email_admin::preview(&kind, &locale, &TemplateSource { subject, html, text }).await.map_err(fail)
}

/// Saves a template (refused when it does not render).
#[server(endpoint = "admin/templates/save")]
pub async fn admin_save_template(
    kind: String,
    locale: String,
    subject: String,
    html: String,
    text: String,
) -> Result<(), AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::email::templates::TemplateSource;
    use crate::ssr::services::email_admin;
    let state = state()?;
    let admin = require_admin(&state).await?;
    email_admin::save(&state, admin.id, &kind, &locale, &TemplateSource { subject, html, text }).await.map_err(fail)
}

/// Emails that gave up after their last retry.
#[server(endpoint = "admin/emails/failed")]
pub async fn admin_failed_emails() -> Result<Vec<FailedEmailView>, AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::services::email_admin;
    let state = state()?;
    require_admin(&state).await?;
    email_admin::failed(&state).await.map_err(fail)
}

/// Queues every failed email again.
#[server(endpoint = "admin/emails/retry")]
pub async fn admin_retry_failed_emails() -> Result<u64, AppError> {
    use super::context::{fail, require_admin, state};
    use crate::ssr::email::sender;
    let state = state()?;
    require_admin(&state).await?;
    sender::retry_failed(&state).await.map_err(fail)
}
