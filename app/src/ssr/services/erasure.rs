//! Erasing a customer (RGPD art. 17) without breaking the accounting trail:
//! their name and email address are replaced by a pseudonym in every text
//! column of every table (rendered email contexts, host events, stored API
//! answers, webhooks, audit details included), their cards and sessions are
//! deleted, their Stripe customer too; amounts, dates, statuses and the
//! audit trail stay. Refused while an échéance is in flight (en cours, waiting
//! for 3D Secure, a payment processing) or disputed;
//! what is still to collect is cancelled first, through the state machines.
//! Written to the admin audit log.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
};

use super::error::ServiceError;
use super::host_api::keys;
use crate::domain::{EcheanceId, EcheanceStatus, PlanStatus, Refusal, Role, UserId};
use crate::ssr::db;
use crate::ssr::entities::{
    admin_audit, echeance, login_link, payment_method, payment_plan, session, stripe_customer, user,
};
use crate::ssr::services::transitions::Cause;
use crate::ssr::services::webhooks::checkout;
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
/// Refused first, before anything changes, while an échéance is in flight or
/// disputed, or an original site's Checkout payment is processing (or collected
/// another amount than its échéance's, which an admin reviews first). Then the
/// Checkout Sessions still linked to an échéance are closed on Stripe (one that
/// collected is recorded). Then the account is closed
/// (disabled, its sessions and links gone: nothing
/// of theirs can start from then on); then what is still to collect is
/// cancelled and the Stripe customer deleted; then, in one transaction that
/// checks again that nothing is in flight, their name and address are
/// scrubbed. A failure midway leaves a closed account that `erase` finishes
/// when run again.
///
/// # Errors
/// `NotFound` (no such customer), `Refused(ErasureBlocked)` while an échéance is
/// in flight or disputed, `Refused(ErasureLegacyToReview)` while an échéance to collect is held
/// by a Checkout Session of another amount, `Refused(OtherMode)` while one sent to Stripe is of a
/// plan of the other Stripe mode, `Unavailable` when Stripe does not answer, database failure.
pub async fn erase(state: &AppState, customer: i64, by: UserId) -> Result<Erased, ServiceError> {
    let actor = crate::domain::Actor::Admin(by.get()).stored();
    // Refused before anything changes, here or on Stripe.
    let rows = echeance::Entity::find().filter(echeance::Column::UserId.eq(customer)).all(&state.db).await?;
    if rows.iter().any(|e| in_flight(e, false)) || open_dispute(&state.db, &rows).await? {
        return Err(Refusal::ErasureBlocked.into());
    }
    // What of a plan of the other Stripe mode was sent to Stripe cannot be stopped there with
    // these keys (its plan's cancel is refused): nothing is closed before.
    for row in rows.iter().filter(|e| !e.status.is_settled() && e.current_attempt_no > 0) {
        if super::plans::of_other_mode(&state.db, state, row).await?.is_some() {
            return Err(Refusal::OtherMode.into());
        }
    }
    if let Some(refusal) = held_by_checkout(state, &rows).await? {
        return Err(refusal.into());
    }
    if payment_processing(state, &rows).await? {
        return Err(Refusal::ErasureBlocked.into());
    }
    close_checkout_sessions(state, &rows, &actor).await?;
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    let account = user::Entity::find_by_id(customer)
        .lock_exclusive()
        .one(&txn)
        .await?
        .filter(|u| u.role == Role::Customer)
        .ok_or(ServiceError::NotFound)?;
    blocked(&txn, customer).await?;
    user::Entity::update_many()
        .col_expr(user::Column::DisabledAt, Expr::value(now))
        .filter(user::Column::Id.eq(customer))
        .filter(user::Column::DisabledAt.is_null())
        .exec(&txn)
        .await?;
    session::Entity::delete_many().filter(session::Column::UserId.eq(customer)).exec(&txn).await?;
    login_link::Entity::delete_many().filter(login_link::Column::UserId.eq(customer)).exec(&txn).await?;
    txn.commit().await?;

    // What is still to collect is cancelled, through the plans' and échéances' own cancels.
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
    // Their Stripe customer of the mode in use is deleted; the other mode's is out of these keys'
    // reach: kept, for the reconciler to delete once it runs on that mode's keys.
    let mode = keys::current_mode(state);
    if let Some(stripe_customer) = super::cards::customer_of(&state.db, customer, mode).await? {
        match state.gateway.delete_customer(&stripe_customer).await {
            Err(e) if !e.unknown_object() => return Err(e.into()),
            _ => {}
        }
    }
    if let Some(left) = super::cards::customer_of(&state.db, customer, mode.other()).await? {
        tracing::warn!(
            user.id = customer,
            stripe.customer = %left,
            mode = mode.other().as_str(),
            "the erased customer's Stripe record of the other mode is deleted by the first reconciliation on that mode's keys"
        );
    }

    let pseudonym = Erased {
        email: format!("efface-{customer}@{}", user::ERASED_DOMAIN),
        name: format!("Client effacé n°{customer}"),
    };
    let txn = db::begin_write(&state.db).await?;
    blocked(&txn, customer).await?;
    scrub(&txn, customer, &account.email, &account.display_name, &pseudonym).await?;
    user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value(pseudonym.email.clone()))
        .col_expr(user::Column::DisplayName, Expr::value(pseudonym.name.clone()))
        .col_expr(user::Column::PasswordHash, Expr::value(String::new()))
        .filter(user::Column::Id.eq(customer))
        .exec(&txn)
        .await?;
    payment_method::Entity::delete_many().filter(payment_method::Column::UserId.eq(customer)).exec(&txn).await?;
    stripe_customer::Entity::delete_many()
        .filter(stripe_customer::Column::UserId.eq(customer))
        .filter(keys::of_mode(stripe_customer::Column::Mode, mode))
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

/// What [`forget_left_at_stripe`] did.
#[derive(Debug, Default)]
pub struct LeftAtStripe {
    /// Stripe calls made.
    pub calls: u32,
    /// The first error met (the records it and later errors kept wait for the next run).
    pub error: Option<ServiceError>,
}

/// Deletes at Stripe the records of erased customers made with the keys in use that an erasure
/// made on the other mode's keys could not reach, and then forgets them (one Stripe already
/// forgot too). The reconciler's step (any run but a dry one). A record Stripe refuses to delete
/// is kept for the next run, the others deleted all the same; when Stripe does not answer, the
/// rest waits for the next run.
///
/// # Errors
/// Database failure reading the records.
pub async fn forget_left_at_stripe(state: &AppState) -> Result<LeftAtStripe, ServiceError> {
    // Erased: a customer's closed account under its pseudonym (an address of that domain alone
    // could be anyone's).
    let erased = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Role.eq(Role::Customer))
        .filter(user::Column::DisabledAt.is_not_null())
        .filter(user::Column::Email.ends_with(format!("@{}", user::ERASED_DOMAIN)))
        .into_query();
    let left = stripe_customer::Entity::find()
        .filter(keys::of_mode(stripe_customer::Column::Mode, keys::current_mode(state)))
        .filter(stripe_customer::Column::UserId.in_subquery(erased))
        .order_by_asc(stripe_customer::Column::Id)
        .all(&state.db)
        .await?;
    let mut done = LeftAtStripe::default();
    for record in left {
        done.calls += 1;
        let deleted = match state.gateway.delete_customer(&record.stripe_customer_id).await {
            Err(e) if !e.unknown_object() => Err(ServiceError::from(e)),
            _ => stripe_customer::Entity::delete_by_id(record.id).exec(&state.db).await.map_err(ServiceError::from),
        };
        match deleted {
            Ok(_) => tracing::info!(
                user.id = record.user_id,
                stripe.customer = %record.stripe_customer_id,
                "an erased customer's Stripe record left by the other mode's keys is deleted"
            ),
            Err(e) => {
                tracing::warn!(user.id = record.user_id, error = %e, "an erased customer's Stripe record is kept for the next run");
                // Stripe not answering: the others are not asked about either (each would wait for
                // every retry); a refusal is this record's alone.
                let down = matches!(e, ServiceError::Unavailable);
                done.error.get_or_insert(e);
                if down {
                    break;
                }
            }
        }
    }
    Ok(done)
}

/// Refused while one of the customer's échéances is in flight (en cours, waiting for 3D Secure,
/// still linked to a Checkout Session that could collect) or disputed.
async fn blocked(txn: &DatabaseTransaction, customer: i64) -> Result<(), ServiceError> {
    let rows = echeance::Entity::find().filter(echeance::Column::UserId.eq(customer)).all(txn).await?;
    if rows.iter().any(|e| in_flight(e, true)) || open_dispute(txn, &rows).await? {
        return Err(Refusal::ErasureBlocked.into());
    }
    Ok(())
}

/// Whether a dispute of one of échéances `rows` is not decided yet — a second payment's included,
/// which leaves its échéance « payée »: the bank may still ask for evidence about that customer.
async fn open_dispute(db: &impl sea_orm::ConnectionTrait, rows: &[echeance::Model]) -> Result<bool, ServiceError> {
    let disputes = super::disputes::of_all(db, rows.iter().map(|e| e.id)).await?;
    Ok(disputes.iter().any(|d| !d.status.is_decided()))
}

/// An échéance in flight (en cours, waiting for 3D Secure) or disputed; with `linked`, one
/// still linked to a Checkout Session (closed before, a session that stays linked could collect).
fn in_flight(e: &echeance::Model, linked: bool) -> bool {
    e.status.is_pending_on_stripe()
        || e.status == EcheanceStatus::Contestee
        || (linked && e.checkout_session_id.is_some() && !e.status.is_settled())
}

/// The échéances still to collect that the original site's Checkout Sessions hold.
fn linked_to_sessions(rows: &[echeance::Model]) -> impl Iterator<Item = (&echeance::Model, &str)> {
    rows.iter().filter(|e| !e.status.is_settled()).filter_map(|e| Some((e, e.checkout_session_id.as_deref()?)))
}

/// Whether one of these Checkout Sessions holds the erasure back (read only: asked before any
/// session is closed, so a refused erasure leaves the others as they were): a payment being
/// processed, or one of another amount than its échéance's, which an admin reviews first.
async fn held_by_checkout(state: &AppState, rows: &[echeance::Model]) -> Result<Option<Refusal>, ServiceError> {
    for (row, session_id) in linked_to_sessions(rows) {
        let session = state.gateway.retrieve_checkout_session(session_id).await?;
        if checkout::other_amount(&session, row) {
            return Ok(Some(Refusal::ErasureLegacyToReview));
        }
        if checkout::payment_processing(state, &session).await? {
            return Ok(Some(Refusal::ErasureBlocked));
        }
    }
    Ok(None)
}

/// Whether an earlier PaymentIntent of one of these échéances still to collect is being processed
/// (confirmed again from the customer's page after it was declined): its cancel would be refused.
async fn payment_processing(state: &AppState, rows: &[echeance::Model]) -> Result<bool, ServiceError> {
    for row in rows.iter().filter(|e| !e.status.is_settled()) {
        if super::cancel::payment_processing(state, row).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The original site's Checkout Sessions still linked to one of the customer's
/// échéances to collect are closed on Stripe, before anything else: one still
/// open is expired, one that collected is recorded (the échéance is paid); one
/// whose payment started meanwhile refuses the erasure.
async fn close_checkout_sessions(state: &AppState, rows: &[echeance::Model], actor: &str) -> Result<(), ServiceError> {
    for (row, _) in linked_to_sessions(rows) {
        match checkout::close_before_charge(state, row, Cause::Admin, actor).await {
            Err(ServiceError::Refused(Refusal::LegacyPaymentPending)) => return Err(Refusal::ErasureBlocked.into()),
            Err(e) => return Err(e),
            // Paid meanwhile, for another amount.
            Ok(checkout::Legacy::OtherAmount) => return Err(Refusal::ErasureLegacyToReview.into()),
            Ok(checkout::Legacy::Free | checkout::Legacy::Collected) => {}
        }
    }
    Ok(())
}

/// Erases the customer of plan `plan_id` (the plan page's button).
///
/// # Errors
/// As [`erase`].
pub async fn erase_plan_customer(state: &AppState, plan_id: i64, by: UserId) -> Result<Erased, ServiceError> {
    let plan = payment_plan::Entity::find_by_id(plan_id).one(&state.db).await?.ok_or(ServiceError::NotFound)?;
    erase(state, plan.customer_id, by).await
}

/// Names shorter than this are not searched for in free text (they would match inside
/// unrelated words and ids); the account's own row is rewritten whatever its length.
const NAME_MIN_CHARS: usize = 4;

/// In every table, the rows that hold the address in a text column, and the
/// rows the customer owns (a `user_id` or `customer_id` column naming them),
/// get the address and the name — as written, and as JSON writes them inside
/// a string — replaced by the pseudonym's in every text column.
async fn scrub(
    txn: &DatabaseTransaction,
    customer: i64,
    email: &str,
    name: &str,
    pseudonym: &Erased,
) -> Result<(), ServiceError> {
    let backend = txn.get_database_backend();
    let json = |s: &str| serde_json::to_string(s).unwrap_or_default().trim_matches('"').to_owned();
    let mut pairs = vec![(email.to_owned(), pseudonym.email.clone())];
    if name.chars().count() >= NAME_MIN_CHARS {
        pairs.push((name.to_owned(), pseudonym.name.clone()));
    }
    for (from, to) in pairs.clone() {
        if json(&from) != from {
            pairs.push((json(&from), json(&to)));
        }
    }
    let placeholder = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    };
    for table in schema(txn).await? {
        let quoted: Vec<String> = table.text.iter().map(|c| quote(c)).collect();
        let mut values: Vec<sea_orm::Value> = Vec::new();
        let mut bind = |v: sea_orm::Value| {
            values.push(v);
            placeholder(values.len())
        };
        let replaced: Vec<(String, String)> =
            pairs.iter().map(|(f, t)| (bind(f.clone().into()), bind(t.clone().into()))).collect();
        let sets: Vec<String> = quoted
            .iter()
            .map(|c| {
                let expr = replaced.iter().fold(c.clone(), |acc, (f, t)| format!("REPLACE({acc}, {f}, {t})"));
                format!("{c} = {expr}")
            })
            .collect();
        let email_at = &replaced[0].0;
        let mut wheres: Vec<String> = quoted
            .iter()
            .map(|c| match backend {
                DbBackend::Postgres => format!("strpos({c}, {email_at}) > 0"),
                _ => format!("instr({c}, {email_at}) > 0"),
            })
            .collect();
        if let Some(owner) = &table.owner {
            wheres.push(format!("{} = {}", quote(owner), bind(customer.into())));
        }
        let sql = format!("UPDATE {} SET {} WHERE {}", quote(&table.name), sets.join(", "), wheres.join(" OR "));
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    Ok(())
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A table: its text columns, and the column naming the customer who owns a row, if any.
struct Table {
    name: String,
    text: Vec<String>,
    owner: Option<String>,
}

async fn schema(conn: &impl ConnectionTrait) -> Result<Vec<Table>, ServiceError> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT table_name::text AS t, column_name::text AS c, \
             (data_type IN ('text', 'character varying'))::int AS is_text FROM information_schema.columns \
             WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        }
        _ => {
            "SELECT m.name AS t, p.name AS c, \
             (upper(p.type) LIKE '%TEXT%' OR upper(p.type) LIKE '%CHAR%' OR upper(p.type) LIKE '%CLOB%') AS is_text \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
        }
    };
    let mut tables: Vec<Table> = Vec::new();
    for row in conn.query_all_raw(Statement::from_string(backend, sql)).await? {
        let table: String = row.try_get("", "t")?;
        let column: String = row.try_get("", "c")?;
        let is_text: i32 = row.try_get("", "is_text")?;
        if table == "seaql_migrations" {
            continue;
        }
        if tables.last().is_none_or(|t| t.name != table) {
            tables.push(Table { name: table, text: Vec::new(), owner: None });
        }
        let Some(current) = tables.last_mut() else { continue };
        if is_text == 1 {
            current.text.push(column);
        } else if matches!(column.as_str(), "user_id" | "customer_id") {
            current.owner = Some(column);
        }
    }
    tables.retain(|t| !t.text.is_empty());
    Ok(tables)
}

/// Every table's text columns (the migrations' bookkeeping aside).
///
/// # Errors
/// Database failure.
pub async fn text_columns(conn: &impl ConnectionTrait) -> Result<Vec<(String, Vec<String>)>, ServiceError> {
    Ok(schema(conn).await?.into_iter().map(|t| (t.name, t.text)).collect())
}
