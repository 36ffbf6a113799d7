//! Erasing a customer (RGPD art. 17) without breaking the accounting trail:
//! their name and email address are replaced by a pseudonym in every text
//! column of every table (rendered email contexts, host events, stored API
//! answers, webhooks, audit details included), their cards and sessions are
//! deleted, their Stripe customer too; amounts, dates, statuses and the
//! audit trail stay. Refused while an échéance is in flight (en cours, waiting
//! for 3D Secure) or disputed; what is still to collect is cancelled first,
//! through the state machines. Written to the admin audit log.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, Statement,
};

use super::error::ServiceError;
use crate::domain::{EcheanceId, EcheanceStatus, PlanStatus, Refusal, Role, UserId};
use crate::ssr::db;
use crate::ssr::entities::{
    admin_audit, echeance, login_link, login_throttle, payment_method, payment_plan, session, user,
};
use crate::ssr::state::AppState;

/// What is left of an erased customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erased {
    /// The pseudonymous address that replaced theirs.
    pub email: String,
    /// The pseudonym that replaced their name.
    pub name: String,
}

/// Erases customer `customer` on behalf of admin `by`.
///
/// # Errors
/// `NotFound` (no such customer), `Refused(ErasureBlocked)` while an échéance is
/// in flight or disputed, `Unavailable` when Stripe does not answer (nothing is
/// erased then), database failure.
pub async fn erase(state: &AppState, customer: i64, by: UserId) -> Result<Erased, ServiceError> {
    let account = user::Entity::find_by_id(customer)
        .one(&state.db)
        .await?
        .filter(|u| u.role == Role::Customer)
        .ok_or(ServiceError::NotFound)?;
    let pseudonym =
        Erased { email: format!("efface-{customer}@erased.invalid"), name: format!("Client effacé n°{customer}") };
    let rows = echeance::Entity::find().filter(echeance::Column::UserId.eq(customer)).all(&state.db).await?;
    if rows.iter().any(|e| e.status.is_pending_on_stripe() || e.status == EcheanceStatus::Contestee) {
        return Err(Refusal::ErasureBlocked.into());
    }
    // What is still to collect is cancelled, through the plans' and échéances' own cancels.
    let actor = format!("admin:{by}");
    let plans =
        payment_plan::Entity::find().filter(payment_plan::Column::CustomerId.eq(customer)).all(&state.db).await?;
    for plan in plans.iter().filter(|p| !p.status.is_over() && p.status != PlanStatus::Annule) {
        super::plans::cancel_as(state, plan.id, &actor).await?;
    }
    for row in echeance::Entity::find().filter(echeance::Column::UserId.eq(customer)).all(&state.db).await? {
        if !row.status.is_settled() {
            let id = EcheanceId::new(row.id).map_err(anyhow::Error::from)?;
            super::admin::actions::cancel_as(state, id, &actor).await?;
        }
    }
    if let Some(stripe_customer) = &account.stripe_customer_id {
        match state.gateway.delete_customer(stripe_customer).await {
            Err(e) if !e.unknown_object() => return Err(e.into()),
            _ => {}
        }
    }

    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    // Only this customer's rows and rows that name their (unique) address lose the name.
    scrub_every_text_column(&txn, &account.email, &account.display_name, &pseudonym).await?;
    user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value(pseudonym.email.clone()))
        .col_expr(user::Column::DisplayName, Expr::value(pseudonym.name.clone()))
        .col_expr(user::Column::PasswordHash, Expr::value(String::new()))
        .col_expr(user::Column::DisabledAt, Expr::value(now))
        .filter(user::Column::Id.eq(customer))
        .exec(&txn)
        .await?;
    payment_method::Entity::delete_many().filter(payment_method::Column::UserId.eq(customer)).exec(&txn).await?;
    session::Entity::delete_many().filter(session::Column::UserId.eq(customer)).exec(&txn).await?;
    login_link::Entity::delete_many().filter(login_link::Column::UserId.eq(customer)).exec(&txn).await?;
    // Throttle keys are made of addresses.
    login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::Key.contains(account.email.as_str()))
        .exec(&txn)
        .await?;
    admin_audit::ActiveModel {
        actor_id: Set(by.get()),
        action: Set("customer.erase".to_owned()),
        subject: Set(format!("user:{customer}")),
        detail: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    tracing::info!(user.id = customer, "customer erased");
    Ok(pseudonym)
}

/// Erases the customer of plan `plan_id` (the plan page's button).
///
/// # Errors
/// As [`erase`].
pub async fn erase_plan_customer(state: &AppState, plan_id: i64, by: UserId) -> Result<Erased, ServiceError> {
    let plan = payment_plan::Entity::find_by_id(plan_id).one(&state.db).await?.ok_or(ServiceError::NotFound)?;
    erase(state, plan.customer_id, by).await
}

/// In every table, every row that holds `email` in a text column gets `email`
/// and `name` replaced by the pseudonym's in all its text columns.
async fn scrub_every_text_column(
    txn: &DatabaseTransaction,
    email: &str,
    name: &str,
    pseudonym: &Erased,
) -> Result<(), ServiceError> {
    let backend = txn.get_database_backend();
    for (table, columns) in text_columns(txn).await? {
        let quoted: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
        let (email_at, name_at, pseudo_email_at, pseudo_name_at) = match backend {
            DbBackend::Postgres => ("$1", "$2", "$3", "$4"),
            _ => ("?1", "?2", "?3", "?4"),
        };
        let contains = match backend {
            DbBackend::Postgres => |c: &str, p: &str| format!("strpos({c}, {p}) > 0"),
            _ => |c: &str, p: &str| format!("instr({c}, {p}) > 0"),
        };
        let sets: Vec<String> = quoted
            .iter()
            .map(|c| format!("{c} = REPLACE(REPLACE({c}, {email_at}, {pseudo_email_at}), {name_at}, {pseudo_name_at})"))
            .collect();
        let wheres: Vec<String> = quoted.iter().map(|c| contains(c, email_at)).collect();
        let sql =
            format!("UPDATE \"{}\" SET {} WHERE {}", table.replace('"', "\"\""), sets.join(", "), wheres.join(" OR "));
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [email.into(), name.into(), pseudonym.email.clone().into(), pseudonym.name.clone().into()],
        ))
        .await?;
    }
    Ok(())
}

/// Every table's text columns (the migrations' bookkeeping aside).
///
/// # Errors
/// Database failure.
pub async fn text_columns(conn: &impl ConnectionTrait) -> Result<Vec<(String, Vec<String>)>, ServiceError> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying') \
             ORDER BY table_name, ordinal_position"
        }
        _ => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND (upper(p.type) LIKE '%TEXT%' OR upper(p.type) LIKE '%CHAR%' OR upper(p.type) LIKE '%CLOB%') \
             ORDER BY m.name, p.cid"
        }
    };
    let rows = conn.query_all_raw(Statement::from_string(backend, sql)).await?;
    let mut tables: Vec<(String, Vec<String>)> = Vec::new();
    for row in rows {
        let table: String = row.try_get("", "t")?;
        let column: String = row.try_get("", "c")?;
        if table == "seaql_migrations" {
            continue;
        }
        match tables.last_mut() {
            Some((t, columns)) if *t == table => columns.push(column),
            _ => tables.push((table, vec![column])),
        }
    }
    Ok(tables)
}
