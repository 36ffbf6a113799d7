//! The outbox worker: takes due rows, renders their template, sends them
//! through SMTP, and retries with backoff until the SMTP server takes them.
//! A row is marked failed only after the last retry (it then shows on the
//! dashboard); an SMTP server down for hours loses nothing.

use anyhow::anyhow;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use super::mailer::{MailError, OutgoingEmail, message_id};
use super::templates::{self, Rendered};
use crate::domain::{ChargeOrigin, EcheanceStatus, EmailKind, Locale, PlanStatus, Trouble};
use crate::ssr::entities::{echeance, email_outbox, payment_method, payment_plan};
use crate::ssr::repo::attempts;
use crate::ssr::repo::queue::{self, OutboxStatus};
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::host_api::keys;
use crate::ssr::services::links::Purpose;
use crate::ssr::services::{cards, invitations, plans, reminders};
use crate::ssr::state::AppState;

/// What happened to one row.
enum Outcome {
    Sent,
    /// Not now: looked at again later ([`later_ms`]), the attempt not counted.
    Later(Trouble),
    Cancelled(Trouble),
    /// Dropped, its dedup key freed: its cause may queue it again (a card's warning that has no
    /// debit to name now is owed one when a debit it will not last until comes near).
    Withdrawn(Trouble),
    Retry(String),
    Failed(String),
}

/// Sends up to `limit` due emails. Returns how many rows were handled.
///
/// # Errors
/// Database failure while claiming.
pub async fn send_pending(state: &AppState, limit: u64) -> Result<usize, ServiceError> {
    let now = state.now_ms();
    let claimed = now + LEASE_MS;
    let rows = queue::claim::<email_outbox::Entity>(&state.db, limit, now, claimed).await?;
    let count = rows.len();
    for row in rows {
        // Still ours (the batch may have outlasted its lease): else another worker sends it.
        let held = state.now_ms() + LEASE_MS;
        if !queue::renew::<email_outbox::Entity>(&state.db, row.id, claimed, held).await? {
            tracing::warn!(email.id = row.id, "email taken by another worker meanwhile: not sent here");
            continue;
        }
        let outcome = deliver(state, &row, held).await;
        record(state, &row, held, outcome).await?;
    }
    Ok(count)
}

/// How soon an email that waits ([`Outcome::Later`]) is looked at again: for a charge's
/// outcome, in a minute; for the keys of another mode, which change only at a start, in an hour.
fn later_ms(reason: &Trouble) -> i64 {
    match reason {
        Trouble::OtherMode(_) => 3_600_000,
        _ => 60_000,
    }
}

/// How long a worker holds an email it sends.
const LEASE_MS: i64 = 120_000;
/// How long a send may take, well within its lease.
const SEND_WITHIN: std::time::Duration = std::time::Duration::from_secs(90);

async fn deliver(state: &AppState, row: &email_outbox::Model, held: i64) -> Outcome {
    let kind = row.kind;
    match no_longer_relevant(state, row, kind).await {
        Ok(Some(reason @ (Trouble::ChargeUnderWay | Trouble::OtherMode(_)))) => return Outcome::Later(reason),
        Ok(Some(reason)) => return Outcome::Cancelled(reason),
        Ok(None) => {}
        // Not known to be still true: neither sent nor dropped on a guess.
        Err(e) => return Outcome::Retry(format!("checking it: {e}")),
    }
    // A card's warning names the first debit its card will not last until: the one to come now.
    let now_named;
    let row = if kind == EmailKind::CardExpiring {
        match card_warning_now(state, row, held).await {
            Ok(Some(named)) => {
                now_named = named;
                &now_named
            }
            Ok(None) => return Outcome::Withdrawn(Trouble::NoDebitMissed),
            Err(e) => return Outcome::Retry(format!("checking it: {e}")),
        }
    } else {
        row
    };
    let rendered = match render(state, row, kind).await {
        Ok(r) => r,
        // An admin can fix the template: keep retrying until then.
        Err(e) => return Outcome::Retry(format!("template: {e}")),
    };
    let email = OutgoingEmail {
        to: row.to_address.clone(),
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        dedup_key: row.dedup_key.clone(),
        message_id: message_id(row.id, &row.dedup_key, state.settings.app_base_url.host_str()),
    };
    // Well within the email's lease: SMTP's timeouts are per step, and a send has several.
    match tokio::time::timeout(SEND_WITHIN, state.mailer.send(&email)).await {
        Ok(Ok(())) => Outcome::Sent,
        Ok(Err(MailError::Invalid(e))) => Outcome::Failed(e),
        Ok(Err(MailError::Transport(e))) => Outcome::Retry(e),
        Err(_) => Outcome::Retry(format!("SMTP did not answer within {} s", SEND_WITHIN.as_secs())),
    }
}

/// A 3DS email or reminder about an échéance that no longer waits for its
/// customer is not sent, nor the invitation to a plan no longer waiting for its
/// customer (accepted, cancelled), nor the notice of a debit that will not happen
/// on its date (paid ahead, moved, cancelled, its plan no longer collected), nor a
/// plan's default once cured or its summary once cancelled, nor the warning of a card
/// replaced or extended since, nor a failed payment's once paid,
/// cancelled or failed again with a newer email — an email held back by an SMTP outage must
/// not tell something that is no longer true. A failed payment's waits while the échéance is
/// charged again.
///
/// A plan's default email while a charge of one of its échéances is under way is not dropped
/// but waits (`ChargeUnderWay`): the claim made the plan active again, and may still be given
/// up unsent, the plan back in default with nobody told again (sent if the plan is in default
/// again, dropped if the charge cured it).
///
/// An invitation or a 3D Secure email whose link has expired is not sent either (`LinkExpired`:
/// its page would refuse it). A card's warning still true is brought up to date before it goes
/// ([`card_warning_now`]: the debit it names may have passed).
///
/// Still true, an email that asks its reader to act through Stripe — accept a plan, authenticate
/// a payment, expect a debit, replace a card, pay a failed échéance or one of a plan in default —
/// about a plan or card of the other Stripe mode than the keys in use (queued before they
/// changed) waits for its mode's keys (`OtherMode`): with these, its link is refused, its debit
/// does not happen and a card saved is not one its plan can be charged on.
///
/// # Errors
/// The database did not answer: whether it is still true is not known.
async fn no_longer_relevant(
    state: &AppState,
    row: &email_outbox::Model,
    kind: EmailKind,
) -> Result<Option<Trouble>, ServiceError> {
    if kind == EmailKind::UpcomingDebit {
        let Some(echeance) = echeance_of(state, row).await? else { return Ok(None) };
        let Some(announced) = row.dedup_key.rsplit(':').next().and_then(|d| d.strip_prefix('d')) else {
            return Ok(None);
        };
        let still = ChargeOrigin::DueDate.scheduled_from() == Some(echeance.status)
            && echeance.due_date.to_string() == announced
            && echeance.due_date >= state.today()
            && still_collected(state, echeance.payment_plan_id).await?;
        if !still {
            return Ok(Some(Trouble::EcheanceNow { status: echeance.status, due_date: Some(echeance.due_date) }));
        }
        return of_other_mode(state, &echeance).await;
    }
    if kind == EmailKind::CardExpiring {
        // Replaced, removed, or extended by the card updater since: nothing to warn of.
        let Some((card, year, month)) = EmailKind::card_of_expiring_key(&row.dedup_key) else { return Ok(None) };
        let Some(saved) = payment_method::Entity::find_by_id(card).one(&state.db).await? else {
            return Ok(Some(Trouble::CardReplaced));
        };
        let mode = saved.mode.unwrap_or_else(|| keys::current_mode(state));
        let charged = cards::usable(mode, saved.user_id).one(&state.db).await?;
        let same = charged.is_some_and(|c| c.id == card && (c.exp_year, c.exp_month) == (year, month));
        if !same {
            return Ok(Some(Trouble::CardReplaced));
        }
        return Ok(keys::other_mode(state, saved.mode).map(Trouble::OtherMode));
    }
    if kind == EmailKind::PaymentFailed {
        // Paid or cancelled since: it would tell what is no longer so. Its link to pay it
        // (written with it) lasts seven days.
        let Some(echeance) = echeance_of(state, row).await? else { return Ok(None) };
        let charging = match echeance.status {
            EcheanceStatus::Echouee | EcheanceStatus::EchoueeDefinitive => false,
            // Charged again: it may still be given up unsent, the échéance failed as before with
            // nobody told again.
            EcheanceStatus::EnCours => true,
            status => return Ok(Some(Trouble::EcheanceNow { status, due_date: None })),
        };
        // Failed again since: the newer email tells that try.
        if superseded(state, row, Condition::all().add(email_outbox::Column::EcheanceId.eq(echeance.id))).await? {
            return Ok(Some(Trouble::Superseded));
        }
        if row.created_at.saturating_add(Purpose::PayNow.ttl_ms()) <= state.now_ms() {
            return Ok(Some(Trouble::LinkExpired));
        }
        if let Some(other) = of_other_mode(state, &echeance).await? {
            return Ok(Some(other));
        }
        return Ok(charging.then_some(Trouble::ChargeUnderWay));
    }
    if matches!(kind, EmailKind::PlanInDefault | EmailKind::AdminPlanInDefault | EmailKind::PlanSummary) {
        let Some(plan) = plan_of(state, row).await? else { return Ok(None) };
        let stale = match kind {
            EmailKind::PlanSummary => plan.status == PlanStatus::Annule,
            _ => plan.status != PlanStatus::EnDefaut,
        };
        if stale {
            if kind != EmailKind::PlanSummary {
                let charging = echeance::Entity::find()
                    .filter(echeance::Column::PaymentPlanId.eq(plan.id))
                    .filter(echeance::Column::Status.eq(EcheanceStatus::EnCours))
                    .one(&state.db)
                    .await?;
                if charging.is_some() {
                    return Ok(Some(Trouble::ChargeUnderWay));
                }
            }
            return Ok(Some(Trouble::PlanNow(plan.status)));
        }
        if kind == EmailKind::PlanSummary {
            return Ok(None);
        }
        // In default again since, and told again: that newer email is the one to send.
        let same = Condition::all()
            .add(email_outbox::Column::ToAddress.eq(row.to_address.as_str()))
            .add(email_outbox::Column::PaymentPlanId.eq(plan.id));
        if superseded(state, row, same).await? {
            return Ok(Some(Trouble::Superseded));
        }
        // The customer's asks them to save a card and pay; the admins' only tells.
        let asks = kind == EmailKind::PlanInDefault;
        return Ok(keys::other_mode(state, plan.mode).filter(|_| asks).map(Trouble::OtherMode));
    }
    if kind == EmailKind::Invitation {
        let Some(plan) = plan_of(state, row).await? else { return Ok(None) };
        let waiting = plan.status == PlanStatus::EnAttenteClient && plan.invitation_used_at.is_none();
        if !waiting {
            return Ok(Some(Trouble::PlanNow(plan.status)));
        }
        let context = serde_json::from_str::<serde_json::Value>(&row.context).unwrap_or_default();
        if !context["link"].as_str().is_some_and(|link| invitations::link_opens(state, &plan, link)) {
            return Ok(Some(Trouble::LinkExpired));
        }
        return Ok(keys::other_mode(state, plan.mode).map(Trouble::OtherMode));
    }
    if !matches!(kind, EmailKind::AuthenticationRequired | EmailKind::Reminder) {
        return Ok(None);
    }
    let Some(echeance) = echeance_of(state, row).await? else { return Ok(None) };
    let waiting = echeance.status == EcheanceStatus::EnAttente
        && attempt_of_dedup_key(&row.dedup_key) == Some(echeance.current_attempt_no);
    if !waiting {
        return Ok(Some(Trouble::EcheanceNow { status: echeance.status, due_date: None }));
    }
    if let Some(attempt) = attempts::of(&state.db, echeance.id, echeance.current_attempt_no).await?
        && attempt.token_expires_at.is_some_and(|t| t <= state.now_ms())
    {
        return Ok(Some(Trouble::LinkExpired));
    }
    of_other_mode(state, &echeance).await
}

/// Card warning `row` as it goes now ([`reminders::card_warning_now`]): rewritten, and written
/// back while this worker holds it (`held`), when the debit it named is no longer the first its
/// card will miss (charged, paid ahead, moved, cancelled since it was queued); `None` when the
/// card misses no debit to come (or the warnings are off).
///
/// # Errors
/// Database failure, or the row taken by another worker meanwhile (not sent here).
async fn card_warning_now(
    state: &AppState,
    row: &email_outbox::Model,
    held: i64,
) -> Result<Option<email_outbox::Model>, ServiceError> {
    let card = match EmailKind::card_of_expiring_key(&row.dedup_key) {
        Some((card, _, _)) => payment_method::Entity::find_by_id(card).one(&state.db).await?,
        None => None,
    };
    let Some(card) = card else { return Ok(None) };
    let Some((debit, locale, context)) = reminders::card_warning_now(state, &card, state.today()).await? else {
        return Ok(None);
    };
    let context = context.to_string();
    let same = (row.echeance_id, row.locale.as_str(), row.context.as_str())
        == (Some(debit.id), locale.code(), context.as_str());
    if same {
        return Ok(Some(row.clone()));
    }
    tracing::info!(email.id = row.id, echeance.id = debit.id, "card warning rewritten for the debit it will now miss");
    let rewritten = email_outbox::Model {
        echeance_id: Some(debit.id),
        payment_plan_id: debit.payment_plan_id,
        locale: locale.code().to_owned(),
        context,
        ..row.clone()
    };
    let written = email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::EcheanceId, Expr::value(rewritten.echeance_id))
        .col_expr(email_outbox::Column::PaymentPlanId, Expr::value(rewritten.payment_plan_id))
        .col_expr(email_outbox::Column::Locale, Expr::value(rewritten.locale.as_str()))
        .col_expr(email_outbox::Column::Context, Expr::value(rewritten.context.as_str()))
        .filter(email_outbox::Column::Id.eq(row.id))
        .filter(queue::outcome_of::<email_outbox::Entity>(false, held))
        .exec(&state.db)
        .await?;
    if written.rows_affected != 1 {
        return Err(ServiceError::Unexpected(anyhow!("email {} taken by another worker meanwhile", row.id)));
    }
    Ok(Some(rewritten))
}

/// The échéance `row` is about, if any.
async fn echeance_of(state: &AppState, row: &email_outbox::Model) -> Result<Option<echeance::Model>, ServiceError> {
    let Some(id) = row.echeance_id else { return Ok(None) };
    Ok(echeance::Entity::find_by_id(id).one(&state.db).await?)
}

/// Whether a newer email of `row`'s kind that `same` says is about the same thing is pending or
/// sent: that one tells what this one would.
async fn superseded(state: &AppState, row: &email_outbox::Model, same: Condition) -> Result<bool, ServiceError> {
    let newer = email_outbox::Entity::find()
        .filter(email_outbox::Column::Kind.eq(row.kind))
        .filter(email_outbox::Column::Id.gt(row.id))
        .filter(same)
        .filter(email_outbox::Column::Status.is_in([OutboxStatus::Pending, OutboxStatus::Sent]))
        .one(&state.db)
        .await?;
    Ok(newer.is_some())
}

/// `OtherMode` when `echeance` is of a plan made with the other mode's keys.
async fn of_other_mode(state: &AppState, echeance: &echeance::Model) -> Result<Option<Trouble>, ServiceError> {
    Ok(plans::of_other_mode(&state.db, state, echeance).await?.map(Trouble::OtherMode))
}

/// The plan `row` is about, if any.
async fn plan_of(state: &AppState, row: &email_outbox::Model) -> Result<Option<payment_plan::Model>, ServiceError> {
    let Some(id) = row.payment_plan_id else { return Ok(None) };
    Ok(payment_plan::Entity::find_by_id(id).one(&state.db).await?)
}

/// Whether the due-date run still collects the échéances of `plan` (none: an échéance on its own).
async fn still_collected(state: &AppState, plan: Option<i64>) -> Result<bool, ServiceError> {
    let Some(plan) = plan else {
        return Ok(true);
    };
    let found = payment_plan::Entity::find_by_id(plan).one(&state.db).await?;
    Ok(found.is_some_and(|p| plans::scheduled_statuses(state).contains(&p.status)))
}

/// The attempt number in a dedup key `kind:e{échéance}:a{attempt}[:…]`.
fn attempt_of_dedup_key(key: &str) -> Option<i32> {
    key.split(':').find_map(|part| part.strip_prefix('a')?.parse().ok())
}

async fn render(state: &AppState, row: &email_outbox::Model, kind: EmailKind) -> anyhow::Result<Rendered> {
    let source = templates::load(&state.db, kind, Locale::from_code(&row.locale)).await?;
    let context =
        templates::with_defaults(kind, serde_json::from_str(&row.context)?, state.settings.app_base_url.as_str());
    templates::render_bounded(&source, &context).await.map_err(|e| anyhow!(e))
}

/// Writes what became of an email ([`queue::outcome_of`]: sent whoever holds it now; anything else
/// only while this worker still holds it, `held`).
async fn record(state: &AppState, row: &email_outbox::Model, held: i64, outcome: Outcome) -> Result<(), ServiceError> {
    let now = state.now_ms();
    let attempts = if matches!(outcome, Outcome::Later(_)) { row.attempts } else { row.attempts + 1 };
    // Sent is done whoever holds the row now; not sent (to try again, dropped, refused), only
    // while this worker holds it.
    let done = matches!(outcome, Outcome::Sent);
    let update = email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::Attempts, Expr::value(attempts))
        .col_expr(email_outbox::Column::LockedUntil, Expr::value(Option::<i64>::None))
        .filter(email_outbox::Column::Id.eq(row.id))
        .filter(queue::outcome_of::<email_outbox::Entity>(done, held));
    let update = match outcome {
        Outcome::Sent => {
            tracing::info!(email.id = row.id, kind = row.kind.as_str(), "email sent");
            // A link that logs its reader in is the reader's alone once sent: not kept here.
            let update = match serde_json::from_str::<serde_json::Value>(&row.context) {
                Ok(mut context) if row.kind.carries_login_link() && context.get("link").is_some() => {
                    context["link"] = serde_json::json!("");
                    update.col_expr(email_outbox::Column::Context, Expr::value(context.to_string()))
                }
                _ => update,
            };
            update
                .col_expr(email_outbox::Column::Status, Expr::value(OutboxStatus::Sent))
                .col_expr(email_outbox::Column::SentAt, Expr::value(now))
                .col_expr(email_outbox::Column::LastError, Expr::value(Option::<String>::None))
        }
        Outcome::Later(reason) => update
            .col_expr(email_outbox::Column::NextAttemptAt, Expr::value(now + later_ms(&reason)))
            .col_expr(email_outbox::Column::LastError, Expr::value(reason.stored())),
        Outcome::Cancelled(reason) => update
            .col_expr(email_outbox::Column::Status, Expr::value(OutboxStatus::Cancelled))
            .col_expr(email_outbox::Column::LastError, Expr::value(reason.stored())),
        Outcome::Withdrawn(reason) => update
            .col_expr(email_outbox::Column::Status, Expr::value(OutboxStatus::Cancelled))
            .col_expr(email_outbox::Column::LastError, Expr::value(reason.stored()))
            .col_expr(email_outbox::Column::DedupKey, Expr::value(format!("{}:withdrawn:{}", row.dedup_key, row.id))),
        Outcome::Failed(reason) => {
            tracing::error!(email.id = row.id, kind = row.kind.as_str(), "email failed for good");
            update
                .col_expr(email_outbox::Column::Status, Expr::value(OutboxStatus::Failed))
                .col_expr(email_outbox::Column::LastError, Expr::value(reason))
        }
        Outcome::Retry(reason) if u32::try_from(attempts).unwrap_or(u32::MAX) >= state.settings.email_max_attempts => {
            tracing::error!(email.id = row.id, kind = row.kind.as_str(), attempts, "email failed after its last retry");
            update
                .col_expr(email_outbox::Column::Status, Expr::value(OutboxStatus::Failed))
                .col_expr(email_outbox::Column::LastError, Expr::value(reason))
        }
        Outcome::Retry(reason) => {
            let delay = retry_delay_ms(state.settings.email_retry_base.as_millis(), attempts);
            tracing::warn!(email.id = row.id, attempts, delay_ms = delay, "email not sent; will retry");
            update
                .col_expr(email_outbox::Column::NextAttemptAt, Expr::value(now + delay))
                .col_expr(email_outbox::Column::LastError, Expr::value(reason))
        }
    };
    if update.exec(&state.db).await?.rows_affected != 1 {
        tracing::warn!(email.id = row.id, "an email's lease ran out while it was tried: another worker tries it");
    }
    Ok(())
}

/// `base × 2^(attempts-1)`, capped at 15 minutes.
fn retry_delay_ms(base_ms: u128, attempts: i32) -> i64 {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
    let delay = base_ms.saturating_mul(1 << exp).min(15 * 60 * 1000);
    i64::try_from(delay).unwrap_or(i64::MAX)
}

/// Puts failed emails back in the queue (an admin's action once SMTP is fixed).
///
/// # Errors
/// Database failure.
pub async fn retry_failed(state: &AppState) -> Result<u64, ServiceError> {
    let now = state.now_ms();
    let result = email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::Status, Expr::value(OutboxStatus::Pending))
        .col_expr(email_outbox::Column::Attempts, Expr::value(0))
        .col_expr(email_outbox::Column::NextAttemptAt, Expr::value(now))
        .filter(email_outbox::Column::Status.eq(OutboxStatus::Failed))
        .exec(&state.db)
        .await?;
    state.wake.outbox.notify_one();
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::retry_delay_ms;

    #[test]
    fn the_attempt_is_read_from_the_dedup_key_exactly() {
        use super::attempt_of_dedup_key;
        assert_eq!(attempt_of_dedup_key("authentication_required:e12:a1"), Some(1));
        assert_eq!(attempt_of_dedup_key("authentication_required:e12:a10:resend0"), Some(10));
        assert_eq!(attempt_of_dedup_key("payment_received:e12"), None);
    }

    #[test]
    fn retries_back_off_and_stay_bounded() {
        assert_eq!(retry_delay_ms(30_000, 1), 30_000);
        assert_eq!(retry_delay_ms(30_000, 2), 60_000);
        assert_eq!(retry_delay_ms(30_000, 30), 900_000);
    }
}
