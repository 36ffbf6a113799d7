//! Read-only queries behind the pages.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::error::ServiceError;
use super::seed::DEMO_LOGINS;
use crate::api::dto::{DemoAccount, Landing, Me};
use crate::domain::EcheanceStatus;
use crate::ssr::config::Environment;
use crate::ssr::entities::echeance;
use crate::ssr::state::AppState;

/// The landing page's data.
///
/// # Errors
/// Database failure.
pub async fn landing(state: &AppState, me: Option<Me>) -> Result<Landing, ServiceError> {
    let demo_accounts = if state.settings.environment == Environment::Development {
        DEMO_LOGINS
            .iter()
            .map(|d| DemoAccount {
                email: d.email.to_owned(),
                password: d.password.to_owned(),
                role: d.role,
            })
            .collect()
    } else {
        Vec::new()
    };
    let echeance_count = echeance::Entity::find().count(&state.db).await?;
    let next_due = echeance::Entity::find()
        .filter(echeance::Column::Status.eq(EcheanceStatus::APayer.as_str()))
        .order_by_asc(echeance::Column::DueDate)
        .one(&state.db)
        .await?
        .map(|e| e.due_date);
    Ok(Landing {
        me,
        demo_accounts,
        echeance_count,
        next_due,
    })
}
