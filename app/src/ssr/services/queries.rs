//! Read-only queries behind the pages.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::error::ServiceError;
use super::seed::DEMO_LOGINS;
use crate::api::dto::{DemoAccount, Landing, Me};
use crate::domain::{EcheanceStatus, Role};
use crate::ssr::config::Environment;
use crate::ssr::entities::echeance;
use crate::ssr::state::AppState;

/// The landing page's data.
///
/// # Errors
/// Database failure.
pub async fn landing(state: &AppState, me: Option<Me>) -> Result<Landing, ServiceError> {
    // Visitors see the demo data only in development; in production, nothing of the database.
    if state.settings.environment != Environment::Development {
        return Ok(Landing {
            me,
            demo_accounts: Vec::new(),
            echeance_count: None,
            next_due: None,
            demo_invitations: Vec::new(),
            demo_plans: Vec::new(),
        });
    }
    let demo_accounts = DEMO_LOGINS
        .iter()
        .map(|d| DemoAccount { email: d.email.to_owned(), password: d.password.to_owned(), role: d.role })
        .collect();
    let echeance_count = echeance::Entity::find().count(&state.db).await?;
    let next_due = echeance::Entity::find()
        .filter(echeance::Column::Status.eq(EcheanceStatus::APayer))
        .order_by_asc(echeance::Column::DueDate)
        .one(&state.db)
        .await?
        .map(|e| e.due_date);
    Ok(Landing {
        me,
        demo_accounts,
        echeance_count: Some(echeance_count),
        next_due,
        demo_invitations: super::invitations::waiting(state, 3).await?,
        demo_plans: demo_plans(state).await?,
    })
}

/// The plans of the demo's customer accounts, by customer then plan.
async fn demo_plans(state: &AppState) -> Result<Vec<crate::api::dto::DemoPlan>, ServiceError> {
    use crate::ssr::entities::{payment_plan, user};
    let logins: Vec<&str> = DEMO_LOGINS.iter().filter(|d| d.role == Role::Customer).map(|d| d.email).collect();
    let customers = user::Entity::find().filter(user::Column::Email.is_in(logins)).all(&state.db).await?;
    let plans = payment_plan::Entity::find()
        .filter(payment_plan::Column::CustomerId.is_in(customers.iter().map(|c| c.id)))
        .order_by_asc(payment_plan::Column::CustomerId)
        .order_by_asc(payment_plan::Column::Id)
        .all(&state.db)
        .await?;
    Ok(plans
        .into_iter()
        .filter_map(|p| {
            let customer = customers.iter().find(|c| c.id == p.customer_id)?;
            Some(crate::api::dto::DemoPlan {
                id: p.id,
                label: p.label,
                customer_name: customer.display_name.clone(),
                status: p.status,
            })
        })
        .collect())
}

/// The checkout page's data for `user`.
///
/// # Errors
/// Database failure, or a row that does not parse.
pub async fn checkout(
    state: &AppState,
    user: &crate::ssr::auth::CurrentUser,
) -> Result<crate::api::dto::CheckoutData, ServiceError> {
    use crate::api::dto::{CardInfo, CheckoutData, EcheanceView};
    use crate::ssr::repo::echeances;
    // A plan not accepted yet is an offer, not a debt: its échéances show once it is accepted.
    let owed = sea_orm::Condition::any()
        .add(echeance::Column::PaymentPlanId.is_null())
        .add(echeance::Column::PaymentPlanId.in_subquery(super::plans::consented()));
    let rows = echeance::Entity::find()
        .filter(echeance::Column::UserId.eq(user.id.get()))
        .filter(owed)
        .order_by_asc(echeance::Column::DueDate)
        .order_by_asc(echeance::Column::Id)
        .all(&state.db)
        .await?;
    let plans = super::plans::of_customer(&state.db, user.id, super::host_api::keys::current_mode(state)).await?;
    // Their plans of the other Stripe mode, as the plans panel shows them.
    let elsewhere: HashSet<i64> = plans.iter().filter(|p| p.other_mode.is_some()).map(|p| p.id).collect();
    let echeances = rows
        .into_iter()
        .map(|e| {
            Ok(EcheanceView {
                other_mode: e.payment_plan_id.is_some_and(|plan| elsewhere.contains(&plan)),
                id: e.id,
                money: echeances::money(&e)?,
                label: e.label,
                due_date: e.due_date,
                awaiting_payment_intent: (e.status == EcheanceStatus::EnAttente)
                    .then_some(e.current_payment_intent_id)
                    .flatten(),
                status: e.status,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let card = super::cards::default_card(state, user.id).await?.map(CardInfo::from);
    Ok(CheckoutData {
        me: Me { id: user.id.get(), display_name: user.display_name.clone(), role: user.role, locale: user.locale },
        echeances,
        card,
        publishable_key: state.settings.stripe_publishable_key.clone(),
        plans,
    })
}
