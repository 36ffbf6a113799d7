//! Admins' side of email: editing templates (refused when they do not render,
//! with the engine's message; each save audited), previews with sample data, failed emails.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::error::ServiceError;
use crate::api::dto::{EmailPreview, EmailTemplateView, FailedEmailView};
use crate::domain::{EmailKind, Field, Invalid, Locale, UserId};
use crate::ssr::db;
use crate::ssr::email::templates::{self, TemplateSource};
use crate::ssr::entities::{admin_audit, email_outbox, email_template};
use crate::ssr::repo::queue::OutboxStatus;
use crate::ssr::state::AppState;

/// Every template.
///
/// # Errors
/// Database failure.
pub async fn list(state: &AppState) -> Result<Vec<EmailTemplateView>, ServiceError> {
    Ok(email_template::Entity::find()
        .order_by_asc(email_template::Column::Kind)
        .order_by_asc(email_template::Column::Locale)
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|t| {
            let kind = EmailKind::parse(&t.kind).ok()?;
            Some(EmailTemplateView { kind, locale: t.locale, subject: t.subject, html: t.html_body, text: t.text_body })
        })
        .collect())
}

fn parse(kind: &str, locale: &str) -> Result<(EmailKind, Locale), ServiceError> {
    let kind = EmailKind::parse(kind).map_err(|_| Invalid::Field(Field::EmailKind))?;
    let locale = Locale::parse(locale).map_err(|_| Invalid::Field(Field::Locale))?;
    Ok((kind, locale))
}

/// Renders `source` with sample data.
///
/// # Errors
/// `Invalid` with minijinja's message when the template does not render.
pub async fn preview(kind: &str, locale: &str, source: &TemplateSource) -> Result<EmailPreview, ServiceError> {
    let (kind, locale) = parse(kind, locale)?;
    let rendered = templates::render_bounded(source, &templates::sample_context(kind, locale))
        .await
        .map_err(|e| Invalid::Template(e.to_string()))?;
    Ok(EmailPreview { subject: rendered.subject, html: rendered.html, text: rendered.text })
}

/// Saves a template once it renders with sample data (within the render's
/// fuel, output and time bounds), and writes who saved what to the admin audit
/// log in the same transaction.
///
/// # Errors
/// `Invalid` (the engine's message), `NotFound`, database failure.
pub async fn save(
    state: &AppState,
    actor: UserId,
    kind: &str,
    locale: &str,
    source: &TemplateSource,
) -> Result<(), ServiceError> {
    preview(kind, locale, source).await?;
    let txn = db::begin_write(&state.db).await?;
    let result = email_template::Entity::update_many()
        .col_expr(email_template::Column::Subject, Expr::value(source.subject.clone()))
        .col_expr(email_template::Column::HtmlBody, Expr::value(source.html.clone()))
        .col_expr(email_template::Column::TextBody, Expr::value(source.text.clone()))
        .col_expr(email_template::Column::UpdatedAt, Expr::value(state.now_ms()))
        .filter(email_template::Column::Kind.eq(kind))
        .filter(email_template::Column::Locale.eq(locale))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(ServiceError::NotFound);
    }
    let detail = serde_json::json!({ "subject": source.subject, "html": source.html, "text": source.text });
    admin_audit::ActiveModel {
        actor_id: Set(actor.get()),
        action: Set("email_template.save".to_owned()),
        subject: Set(format!("{kind}/{locale}")),
        detail: Set(Some(detail.to_string())),
        created_at: Set(state.now_ms()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Emails that gave up, newest first (at most 50).
///
/// # Errors
/// Database failure.
pub async fn failed(state: &AppState) -> Result<Vec<FailedEmailView>, ServiceError> {
    Ok(email_outbox::Entity::find()
        .filter(email_outbox::Column::Status.eq(OutboxStatus::Failed))
        .order_by_desc(email_outbox::Column::Id)
        .limit(50)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| FailedEmailView {
            id: m.id,
            to: m.to_address,
            kind: m.kind,
            echeance_id: m.echeance_id,
            attempts: m.attempts,
            last_error: m.last_error.as_deref().map(crate::domain::Trouble::read),
        })
        .collect())
}
