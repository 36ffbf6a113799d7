//! Queuing emails: a row in `email_outbox`, written in the caller's
//! transaction, unique on its dedup key so a duplicate cause queues nothing.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, TryInsertResult};

use crate::domain::{EmailKind, Locale};
use crate::ssr::entities::email_outbox;
use crate::ssr::repo::queue::OutboxStatus;

/// An email to queue.
#[derive(Clone, Debug)]
pub struct NewEmail {
    /// Unique per cause: `"{kind}:e{echeance}:a{attempt}"`.
    pub dedup_key: String,
    /// Template kind.
    pub kind: EmailKind,
    /// Template locale.
    pub locale: Locale,
    /// Recipient.
    pub to: String,
    /// Recipient user.
    pub user_id: Option<i64>,
    /// Échéance it is about.
    pub echeance_id: Option<i64>,
    /// Plan it is about (its own email, or one of its échéances').
    pub payment_plan_id: Option<i64>,
    /// Template variables.
    pub context: serde_json::Value,
    /// Not before (epoch ms).
    pub send_after: i64,
}

impl NewEmail {
    /// An email to `customer` about `echeance`, in the customer's language, to send now.
    #[must_use]
    pub fn about(
        echeance: &crate::ssr::entities::echeance::Model,
        customer: &crate::ssr::entities::user::Model,
        kind: EmailKind,
        dedup_key: String,
        context: serde_json::Value,
    ) -> Self {
        Self {
            dedup_key,
            kind,
            locale: Locale::from_code(&customer.locale),
            to: customer.email.clone(),
            user_id: Some(customer.id),
            echeance_id: Some(echeance.id),
            payment_plan_id: echeance.payment_plan_id,
            context,
            send_after: 0,
        }
    }

    /// An email to `reader` about plan `plan` as a whole (no échéance of it), in `locale`, to send
    /// from `now`.
    #[must_use]
    pub fn about_plan(
        plan: i64,
        reader: &crate::ssr::entities::user::Model,
        locale: Locale,
        (kind, dedup_key): (EmailKind, String),
        context: serde_json::Value,
        now: i64,
    ) -> Self {
        Self {
            dedup_key,
            kind,
            locale,
            to: reader.email.clone(),
            user_id: Some(reader.id),
            echeance_id: None,
            payment_plan_id: Some(plan),
            context,
            send_after: now,
        }
    }
}

/// Queues an email unless one with the same dedup key exists. Returns whether a row was written.
///
/// # Errors
/// Database failure.
pub async fn enqueue(db: &impl ConnectionTrait, email: NewEmail, now_ms: i64) -> Result<bool, DbErr> {
    let row = email_outbox::ActiveModel {
        dedup_key: Set(email.dedup_key),
        kind: Set(email.kind),
        locale: Set(email.locale.code().to_owned()),
        to_address: Set(email.to),
        user_id: Set(email.user_id),
        echeance_id: Set(email.echeance_id),
        payment_plan_id: Set(email.payment_plan_id),
        context: Set(email.context.to_string()),
        status: Set(OutboxStatus::Pending),
        attempts: Set(0),
        send_after: Set(email.send_after),
        next_attempt_at: Set(email.send_after),
        locked_until: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(now_ms),
        ..Default::default()
    };
    let result = email_outbox::Entity::insert(row)
        .on_conflict(OnConflict::column(email_outbox::Column::DedupKey).do_nothing().to_owned())
        .try_insert()
        .exec(db)
        .await?;
    Ok(matches!(result, TryInsertResult::Inserted(_)))
}
