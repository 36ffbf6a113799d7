//! The customer pays a plan ahead: every échéance still to pay, now,
//! on-session — one PaymentIntent each, each through the same charge (its own
//! attempt row and idempotency key, exactly as one « Payer »), in order,
//! stopping at the first that does not succeed (the bank wants 3D Secure, the
//! card is declined) or cannot be charged now, so nothing runs on behind the
//! customer's back. What was paid before a stop is said, never hidden behind an error.

use super::charge::{self, Trigger};
use super::error::ServiceError;
use super::plans;
use crate::api::dto::{PaidAhead, PayOutcome};
use crate::domain::{EcheanceId, EcheanceStatus, PaymentEvent, Refusal, UserId};
use crate::ssr::entities::echeance;
use crate::ssr::state::AppState;

/// Pays every échéance of `plan_id` still payable now, for its own customer.
///
/// # Errors
/// `NotFound` (unknown plan, or another customer's), `Refused` (plan over,
/// nothing left to pay now — settled, under way or awaiting 3D Secure — or the
/// first charge refused as a single « Payer » would be), Stripe unavailable,
/// database failure.
pub async fn pay_remaining(state: &AppState, plan_id: i64, customer: UserId) -> Result<PaidAhead, ServiceError> {
    let (plan, rows) = plans::get(&state.db, plan_id).await?;
    if plan.customer_id != customer.get() {
        return Err(ServiceError::NotFound);
    }
    if plan.status.is_over() {
        return Err(Refusal::PlanOver.into());
    }
    let payable: Vec<EcheanceId> = rows
        .iter()
        .filter(|e| e.status.is_payable())
        .map(|e| EcheanceId::new(e.id).map_err(anyhow::Error::from))
        .collect::<Result<_, _>>()?;
    let open = waiting(&rows);
    if payable.is_empty() {
        // Nothing to charge now: why, as « Payer » on what is left would answer (the state
        // machine's refusal; one awaiting the customer first, the one they can act on).
        let first = open.iter().max_by_key(|s| **s == EcheanceStatus::EnAttente);
        let refused = first.and_then(|s| s.transition(PaymentEvent::ChargeStarted).err());
        return Err(refused.map_or(Refusal::Settled, Refusal::from).into());
    }
    let left = u32::try_from(open.len()).unwrap_or(u32::MAX);
    let mut paid = 0;
    for id in payable {
        let result = match charge::charge(state, id, Trigger::Customer(customer)).await {
            Ok(result) => result,
            // Nothing collected yet: the refusal is the answer, as for one « Payer ».
            Err(refused) if paid == 0 => return Err(refused),
            // Some were: they are paid, and the answer says so, with why it stopped.
            Err(interrupted) => {
                tracing::warn!(plan.id = plan_id, paid, error = %interrupted, "pay-ahead interrupted");
                return Ok(PaidAhead { paid, stopped: None, interrupted: Some(interrupted.into()), left });
            }
        };
        if result.status != EcheanceStatus::Payee {
            return Ok(PaidAhead { paid, stopped: Some(PayOutcome::from(result)), interrupted: None, left });
        }
        paid += 1;
    }
    // Read again: one under way before may have been paid meanwhile (unread, what was paid is
    // still the answer, with what was left before).
    let left = match plans::get(&state.db, plan_id).await {
        Ok((_, now)) => u32::try_from(waiting(&now).len()).unwrap_or(u32::MAX),
        Err(e) => {
            tracing::warn!(plan.id = plan_id, error = %e, "pay-ahead: the plan could not be read again");
            left
        }
    };
    Ok(PaidAhead { paid, stopped: None, interrupted: None, left })
}

/// The statuses of a plan's échéances neither settled nor payable: a payment under way, or one
/// awaiting the customer's 3D Secure.
fn waiting(rows: &[echeance::Model]) -> Vec<EcheanceStatus> {
    rows.iter().map(|e| e.status).filter(|s| !s.is_settled() && !s.is_payable()).collect()
}
