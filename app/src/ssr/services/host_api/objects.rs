//! The plan and the échéance as the API returns them, and as the host's
//! webhooks carry them (`data.object`): stable English tokens, amounts in
//! minor units, dates `YYYY-MM-DD`, instants in Unix seconds, and a
//! `version` that only grows, so a host can ignore an event older than what
//! it already has.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::domain::host_api::{echeance_status_token, plan_status_token};
use crate::domain::refund::amount_refunded;
use crate::ssr::entities::{echeance, payment_plan, user};
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::{plans, refunds};

/// `plan_42`.
#[must_use]
pub fn plan_id(id: i64) -> String {
    format!("plan_{id}")
}

/// `ech_42`.
#[must_use]
pub fn echeance_id(id: i64) -> String {
    format!("ech_{id}")
}

/// The number in `{prefix}_{n}`, if it is one of ours: written as we write it (digits, no sign,
/// no leading zero), so that one object has one id (`plan_07` and `plan_+7` are no one's).
#[must_use]
pub fn parse_id(prefix: &str, public: &str) -> Option<i64> {
    let digits = public.strip_prefix(prefix)?.strip_prefix('_')?;
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    (n > 0).then_some(n)
}

/// Who pays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CustomerObject {
    /// Address.
    pub email: String,
    /// Name.
    pub name: String,
    /// `fr` or `en`.
    pub locale: String,
}

/// An échéance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EcheanceObject {
    /// `ech_…`.
    pub id: String,
    /// `"echeance"`.
    #[schema(value_type = String)]
    pub object: &'static str,
    /// `plan_…`.
    pub plan: Option<String>,
    /// 1, 2, 3… in date order.
    pub seq: Option<i32>,
    /// `YYYY-MM-DD`.
    pub due_date: NaiveDate,
    /// Minor units.
    pub amount_cents: i64,
    /// `eur`.
    pub currency: String,
    /// Minor units refunded to the customer, arrived or on their way (as Stripe's
    /// `amount_refunded`); a chargeback is not a refund.
    pub amount_refunded_cents: i64,
    /// `scheduled`, `processing`, `requires_action`, `paid`, `failed`, `failed_permanently`, `canceled`, `refunded`, `disputed`.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// When collected (Unix seconds).
    pub paid_at: Option<i64>,
    /// Last change (Unix seconds).
    pub updated: i64,
    /// Grows at every change.
    pub version: i64,
}

/// A plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlanObject {
    /// `plan_…`.
    pub id: String,
    /// `"plan"`.
    #[schema(value_type = String)]
    pub object: &'static str,
    /// `draft`, `awaiting_customer`, `active`, `completed`, `defaulted`, `canceled`.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// Who pays.
    pub customer: CustomerObject,
    /// What it is for.
    pub label: String,
    /// `eur`.
    pub currency: String,
    /// Minor units; the échéances add up to it.
    pub total_cents: i64,
    /// A facility over three months (French consumer credit), flagged.
    pub consumer_credit: bool,
    /// In date order.
    pub echeances: Vec<EcheanceObject>,
    /// The host's own keys, as given.
    pub metadata: BTreeMap<String, String>,
    /// The signed page where the customer accepts (while the plan waits for them); never in an
    /// event (a link that logs its holder in is not kept with the events).
    pub acceptance_url: Option<String>,
    /// Where that page sends the customer back.
    pub return_url: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// Last change (Unix seconds).
    pub updated: i64,
    /// Grows at every change of the plan's status, and of `consumer_credit`.
    pub version: i64,
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// Échéance rows as the API shows them, their refunds read in one query.
///
/// # Errors
/// Database failure.
pub async fn echeance_objects(
    db: &impl ConnectionTrait,
    rows: &[echeance::Model],
) -> Result<Vec<EcheanceObject>, ServiceError> {
    let refund_rows = refunds::of_all(db, rows.iter().map(|e| e.id)).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let of_row = refund_rows.iter().filter(|r| r.echeance_id == row.id);
            echeance_object(row, amount_refunded(of_row.map(|r| (r.status, r.amount_cents))))
        })
        .collect())
}

/// One échéance row as the API shows it.
///
/// # Errors
/// Database failure.
pub async fn echeance_object_of(
    db: &impl ConnectionTrait,
    row: &echeance::Model,
) -> Result<EcheanceObject, ServiceError> {
    echeance_objects(db, std::slice::from_ref(row))
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("an échéance rendered to nothing").into())
}

/// An échéance row as the API shows it, `refunded` of it gone back.
fn echeance_object(row: &echeance::Model, refunded: i64) -> EcheanceObject {
    EcheanceObject {
        id: echeance_id(row.id),
        object: "echeance",
        plan: row.payment_plan_id.map(plan_id),
        seq: row.seq,
        due_date: row.due_date,
        amount_cents: row.amount_cents,
        currency: row.currency.clone(),
        amount_refunded_cents: refunded,
        status: echeance_status_token(row.status),
        paid_at: row.paid_at.map(secs),
        updated: secs(row.updated_at),
        version: row.version,
    }
}

/// Plans as the API shows them, their customers and échéances read in two
/// queries; `acceptance_url` gives each waiting plan's link (its customer at hand).
///
/// # Errors
/// Database failure.
pub async fn plan_objects(
    db: &impl ConnectionTrait,
    plans: Vec<payment_plan::Model>,
    acceptance_url: &(dyn Fn(&payment_plan::Model, &user::Model) -> Option<String> + Sync),
) -> Result<Vec<PlanObject>, ServiceError> {
    let (customers, rows) = plans::customers_and_echeances(db, &plans).await?;
    // Every plan's échéances with their refunds in one query, then back to their plans in order.
    let all: Vec<echeance::Model> = rows.into_values().flatten().collect();
    let mut echeances: BTreeMap<i64, Vec<EcheanceObject>> = BTreeMap::new();
    for (row, object) in all.iter().zip(echeance_objects(db, &all).await?) {
        echeances.entry(row.payment_plan_id.unwrap_or_default()).or_default().push(object);
    }
    plans
        .into_iter()
        .map(|plan| {
            let customer = customers
                .get(&plan.customer_id)
                .ok_or_else(|| anyhow::anyhow!("plan {} without its customer", plan.id))?;
            let metadata: BTreeMap<String, String> = serde_json::from_str(&plan.metadata).unwrap_or_default();
            Ok(PlanObject {
                id: plan_id(plan.id),
                object: "plan",
                status: plan_status_token(plan.status),
                customer: CustomerObject {
                    email: customer.email.clone(),
                    name: customer.display_name.clone(),
                    locale: customer.locale.clone(),
                },
                currency: plan.currency.clone(),
                total_cents: plan.total_cents,
                consumer_credit: plan.consumer_credit,
                echeances: echeances.remove(&plan.id).unwrap_or_default(),
                metadata,
                acceptance_url: acceptance_url(&plan, customer),
                return_url: plan.return_url.clone(),
                created: secs(plan.created_at),
                updated: secs(plan.updated_at),
                version: plan.version,
                label: plan.label,
            })
        })
        .collect()
}

/// One plan as the API shows it.
///
/// # Errors
/// Database failure.
pub async fn plan_object(
    db: &impl ConnectionTrait,
    plan: payment_plan::Model,
    acceptance_url: &(dyn Fn(&payment_plan::Model, &user::Model) -> Option<String> + Sync),
) -> Result<PlanObject, ServiceError> {
    plan_objects(db, vec![plan], acceptance_url)
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("a plan rendered to nothing").into())
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn public_ids_read_back_only_with_their_prefix() {
        assert_eq!(parse_id("plan", "plan_42"), Some(42));
        assert_eq!(parse_id("plan", "ech_42"), None);
        assert_eq!(parse_id("plan", "plan_"), None);
        assert_eq!(parse_id("plan", "plan_-3"), None);
        assert_eq!(parse_id("plan", "plan_0"), None);
        assert_eq!(parse_id("plan", "plan42"), None);
        assert_eq!(parse_id("ech", "ech_7"), Some(7));
        // One spelling per id: no sign, no leading zero, nothing around.
        for alias in ["plan_07", "plan_+7", "plan_ 7", "plan_7 ", "plan_٧", "plan_99999999999999999999"] {
            assert_eq!(parse_id("plan", alias), None, "{alias}");
        }
    }
}
