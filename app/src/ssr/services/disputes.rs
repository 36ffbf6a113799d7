//! Disputes, as Stripe reports them (webhooks, the reconciler): one row per
//! dispute of the payment that collected an échéance, with its status, the
//! amount at stake and the deadline for evidence. A dispute seen for the first
//! time tells every admin, in the transaction that writes it. The échéance's
//! own status follows the dispute's events (see the webhook dispatch).
//!
//! A dispute first seen, or whose status moved, is a line of its échéance's history written in
//! the same transaction ([`transitions::note`], a [`DisputeNews`]): the admin reads when and who
//! said so, and the screens open on the échéance reload — its status does not change while a
//! chargeback goes from « réponse attendue » to « en cours d’examen ».

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::effects;
use super::error::ServiceError;
use super::plans::By;
use super::transitions;
use super::webhooks::dispatch::{Applied, Paid, paid_by};
use crate::domain::{Currency, DisputeNews, DisputeStatus, EmailKind, Locale};
use crate::ssr::clock::{from_ms, stripe_created_ms};
use crate::ssr::db;
use crate::ssr::email::outbox::{self, NewEmail};
use crate::ssr::entities::{dispute, user};
use crate::ssr::payments::types::DisputeSnapshot;
use crate::ssr::repo::echeances;
use crate::ssr::state::AppState;
use crate::ui::i18n::{Texts, dispute_reason_text};

/// What a dispute's report found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    /// The échéance its payment collected.
    pub echeance: i64,
    /// The dispute was decided before this report (a late or repeated event of its open days):
    /// it opens nothing again.
    pub already_decided: bool,
    /// Of a second payment of the échéance (a double charge): the échéance does not move.
    pub second_payment: bool,
}

/// Brings dispute `snapshot`'s row up to date (written, with the admins' emails, the first
/// time it is seen open), as `by` reports it; returns the échéance it is about — or why none is (yet).
///
/// # Errors
/// Database failure.
pub(crate) async fn observe(
    state: &AppState,
    snapshot: &DisputeSnapshot,
    by: &By<'_>,
) -> Result<Result<Seen, Applied>, ServiceError> {
    let Some(pi) = snapshot.payment_intent.as_ref().map(|p| p.id().to_owned()) else {
        return Ok(Err(Applied::Ignored("no-payment-intent".to_owned())));
    };
    // A second payment's dispute is written and told too (it was ignored: money the bank takes
    // back that no one here heard of), apart from the échéance's own payment.
    let (echeance, second_payment) = match paid_by(state, &pi).await? {
        Ok(Paid { echeance, second }) => (echeance, second),
        Err(not_now) => return Ok(Err(not_now)),
    };
    let now = state.now_ms();
    let reported = snapshot.known_status();
    let due_by = snapshot.evidence_details.as_ref().and_then(|e| e.due_by).map(|s| s.saturating_mul(1000));
    let txn = db::begin_write(&state.db).await?;
    let locked = echeances::lock(&txn, echeances::id(&echeance)?).await?;
    let known = dispute::Entity::find().filter(dispute::Column::StripeDisputeId.eq(&snapshot.id)).one(&txn).await?;
    let already_decided = known.as_ref().is_some_and(|row| row.status.is_decided());
    // What it was first recorded as stays what it is: one dispute never moves the échéance on one
    // event and not on the next.
    let second_payment = known.as_ref().map_or(second_payment, |row| row.of_second_payment);
    // A word Stripe does not document (yet) changes nothing known, nor does a report of an
    // earlier round (a retried event of earlier days: an earlier deadline) or of an earlier stage
    // (see `DisputeStatus::updated_by`); a dispute first seen with such a word is taken as a
    // chargeback to answer — the admins are told rather than left unaware.
    let deadline = match (due_by, known.as_ref().and_then(|row| row.evidence_due_by)) {
        (Some(new), Some(known)) => new.cmp(&known),
        (Some(_), None) => std::cmp::Ordering::Greater,
        (None, _) => std::cmp::Ordering::Equal,
    };
    let status = match (reported, &known) {
        (Some(reported), Some(row)) => row.status.updated_by(reported, deadline),
        (Some(reported), None) => reported,
        (None, Some(row)) => row.status,
        (None, None) => DisputeStatus::NeedsResponse,
    };
    // Only a report taken as it is says where its amount and deadline stand.
    let current = reported == Some(status) && deadline.is_ge();
    if reported.is_none() {
        tracing::warn!(dispute = %snapshot.id, status = ?snapshot.status, "dispute status not read; kept {status}");
    }
    match known {
        // A decided dispute stays decided: a late event of its open days (events come in any
        // order, retried for days) does not reopen it.
        Some(_) if already_decided => {}
        Some(row) => {
            let decided = status.is_decided();
            let was = row.status;
            let mut active: dispute::ActiveModel = row.into();
            active.status = Set(status);
            if snapshot.amount > 0 && current {
                active.amount_cents = Set(snapshot.amount);
            }
            if decided {
                active.evidence_due_by = Set(None);
            } else if due_by.is_some() && current {
                active.evidence_due_by = Set(due_by);
            }
            active.updated_at = Set(now);
            let row = active.update(&txn).await?;
            if DisputeNews::is_news(Some(was), status) {
                tell(&txn, (&locked, &row), Some(was), by, now).await?;
            }
        }
        None => {
            let open_due = due_by.filter(|_| !status.is_decided());
            let row = dispute::ActiveModel {
                echeance_id: Set(echeance.id),
                stripe_dispute_id: Set(snapshot.id.clone()),
                payment_intent_id: Set(pi),
                amount_cents: Set(if snapshot.amount > 0 { snapshot.amount } else { echeance.amount_cents }),
                currency: Set(echeance.currency.clone()),
                reason: Set(snapshot.reason.clone()),
                status: Set(status),
                evidence_due_by: Set(open_due),
                created_at: Set(stripe_created_ms(snapshot.created, now)),
                updated_at: Set(now),
                of_second_payment: Set(second_payment),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            // First seen decided (its close came first, or an old one the reconciler found): nothing to answer.
            if !row.status.is_decided() {
                tell_admins(state, &txn, &echeance, &row, now).await?;
            }
            tell(&txn, (&locked, &row), None, by, now).await?;
        }
    }
    txn.commit().await?;
    state.wake.outbox.notify_one();
    Ok(Ok(Seen { echeance: echeance.id, already_decided, second_payment }))
}

/// Writes dispute `row`'s news on its échéance's history, in `txn`, at `at`: first seen (`was`
/// none), or moved from `was` to its status.
async fn tell(
    txn: &sea_orm::DatabaseTransaction,
    (echeance, row): (&crate::ssr::entities::echeance::Model, &dispute::Model),
    was: Option<DisputeStatus>,
    by: &By<'_>,
    at: i64,
) -> Result<(), ServiceError> {
    let news = DisputeNews {
        dispute: row.stripe_dispute_id.clone(),
        amount: row.amount_cents,
        currency: Currency::parse(&row.currency).map_err(anyhow::Error::from)?,
        from: was,
        to: row.status,
        reason: row.reason.clone(),
        of_second_payment: row.of_second_payment,
    };
    let detail = serde_json::to_string(&news).map_err(anyhow::Error::from)?;
    transitions::note(txn, echeance, DisputeNews::EVENT, by.cause, by.actor, detail, at).await
}

/// Every admin who can log in is emailed of a new dispute: the payment, the customer, the deadline.
async fn tell_admins(
    state: &AppState,
    txn: &impl ConnectionTrait,
    echeance: &crate::ssr::entities::echeance::Model,
    row: &dispute::Model,
    now: i64,
) -> Result<(), ServiceError> {
    let customer = user::Entity::find_by_id(echeance.user_id).one(txn).await?.ok_or(ServiceError::NotFound)?;
    let base = state.settings.app_base_url.as_str().trim_end_matches('/');
    for admin in effects::admins_to_tell(txn).await? {
        let locale = Locale::from_code(&admin.locale);
        let mut context = effects::email_context(state, echeance, &customer, locale)?;
        context["reader_name"] = serde_json::json!(admin.display_name);
        context["customer_email"] = serde_json::json!(customer.email);
        context["of_second_payment"] = serde_json::json!(row.of_second_payment);
        let reason = row.reason.as_deref().map(|code| dispute_reason_text(code, Texts::of(locale)));
        context["reason"] = serde_json::json!(reason.unwrap_or_default());
        // First seen under review (the evidence sent already): no deadline to press for.
        let due_by = row.evidence_due_by.filter(|_| row.status.awaits_evidence());
        context["evidence_due_by"] = serde_json::json!(due_by.map_or_else(String::new, |ms| {
            locale.format_date(from_ms(ms).with_timezone(&state.settings.schedule_timezone).date_naive())
        }));
        context["link"] =
            serde_json::json!(crate::ui::i18n::in_language(&format!("{base}/admin/echeances/{}", echeance.id), locale));
        let email = NewEmail {
            dedup_key: EmailKind::dispute_key(row.id, admin.id),
            kind: EmailKind::AdminDisputeOpened,
            locale,
            to: admin.email.clone(),
            user_id: Some(admin.id),
            echeance_id: Some(echeance.id),
            payment_plan_id: echeance.payment_plan_id,
            context,
            send_after: now,
        };
        outbox::enqueue(txn, email, now).await?;
    }
    Ok(())
}

/// The disputes of échéances `echeances` (one échéance's: `[id]`), oldest first.
///
/// # Errors
/// Database failure.
pub async fn of_all(
    db: &impl ConnectionTrait,
    echeances: impl IntoIterator<Item = i64>,
) -> Result<Vec<dispute::Model>, ServiceError> {
    Ok(dispute::Entity::find()
        .filter(dispute::Column::EcheanceId.is_in(echeances))
        .order_by_asc(dispute::Column::CreatedAt)
        .all(db)
        .await?)
}

/// What follows a failed refund of PaymentIntent `payment_intent`: when a dispute of it is still
/// open (disputed after a refund in full, which left the échéance « remboursée »), the money stayed
/// and is disputed — its opening, applied after the failure (read under the échéance's lock).
///
/// # Errors
/// Database failure.
pub async fn after_refund_failed(
    db: &impl ConnectionTrait,
    payment_intent: &str,
) -> Result<Option<crate::domain::PaymentEvent>, ServiceError> {
    let rows = dispute::Entity::find().filter(dispute::Column::PaymentIntentId.eq(payment_intent)).all(db).await?;
    Ok(rows.iter().any(|row| !row.status.is_decided()).then_some(crate::domain::PaymentEvent::DisputeOpened))
}

/// Whether a dispute of PaymentIntent `payment_intent` was lost: the money went back by the
/// dispute, whatever a refund of the same payment later says.
///
/// # Errors
/// Database failure.
pub async fn lost_for(db: &impl ConnectionTrait, payment_intent: &str) -> Result<bool, ServiceError> {
    Ok(dispute::Entity::find()
        .filter(dispute::Column::PaymentIntentId.eq(payment_intent))
        .filter(dispute::Column::Status.eq(DisputeStatus::Lost))
        .one(db)
        .await?
        .is_some())
}
