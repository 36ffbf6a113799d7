//! A plan's invitation: the email with its signed link, queued in the
//! transaction that creates the plan; the acceptance page that link opens
//! (no session needed, nothing changes on a GET, so a mail scanner that
//! follows links accepts nothing); and the acceptance through it, which
//! records the consent, spends the link and logs the customer in, in one
//! transaction.
//!
//! The link works until the plan is accepted through it, cancelled, or
//! `INVITATION_TTL_DAYS` have passed; a forged, expired or spent link gets the
//! same answer, which says nothing about the plan.

use std::collections::HashSet;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use secrecy::ExposeSecret;

use super::error::ServiceError;
use super::host_api::keys;
use super::plans::{self, ConsentContext};
use crate::api::dto::{CardInfo, DemoInvitation, InvitationView, PlanAccepted};
use crate::domain::{Currency, EmailKind, InvitationToken, LinkHolder, Locale, PlanStatus, Refusal, Total, UserId};
use crate::ssr::auth::{self, CurrentUser, OpenedSession};
use crate::ssr::db;
use crate::ssr::email::outbox::{self, NewEmail};
use crate::ssr::entities::{echeance, payment_method, payment_plan, user};
use crate::ssr::repo::echeances;
use crate::ssr::state::AppState;
use crate::ui::i18n::{MandateTerms, mandate_text};

/// Queues the invitation to `plan` for `customer`, in the plan's creation transaction.
///
/// # Errors
/// A row that does not parse, database failure.
pub(crate) async fn queue(
    state: &AppState,
    txn: &DatabaseTransaction,
    plan: &payment_plan::Model,
    customer: &user::Model,
    rows: &[echeance::Model],
    now: i64,
) -> Result<(), ServiceError> {
    let locale = Locale::from_code(&customer.locale);
    let ttl_ms = i64::try_from(state.settings.invitation_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_ms = now.saturating_add(ttl_ms);
    let schedule = rows
        .iter()
        .map(|e| {
            Ok(serde_json::json!({
                "due_date": locale.format_date(e.due_date),
                "amount": echeances::money(e)?.format(locale),
            }))
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let context = serde_json::json!({
        "customer_name": customer.display_name,
        "merchant": state.settings.merchant_name,
        "label": plan.label,
        "count": rows.len(),
        "total": total(plan)?.format(locale),
        "echeances": schedule,
        "link": crate::ui::i18n::in_language(&link(state, plan.id, customer.id, LinkHolder::Inbox, expires_ms), locale),
        "expires_on": crate::ui::i18n::format_moment(state.local(expires_ms), locale),
        "site_url": state.settings.app_base_url.as_str(),
    });
    let invitation = (EmailKind::Invitation, EmailKind::invitation_key(plan.id));
    let email = NewEmail::about_plan(plan.id, customer, locale, invitation, context, now);
    outbox::enqueue(txn, email, now).await?;
    Ok(())
}

/// `{APP_BASE_URL}/plans/{plan}/accept?token=…`, given to `holder`, valid until `expires_ms`.
#[must_use]
pub fn link(state: &AppState, plan: i64, customer: i64, holder: LinkHolder, expires_ms: i64) -> String {
    let token = InvitationToken::sign(secret(state), plan, customer, holder, expires_ms / 1000);
    let base = state.settings.app_base_url.as_str().trim_end_matches('/');
    format!("{base}/plans/{plan}/accept?token={}", token.as_str())
}

/// What the invitation link shows: the schedule and the mandate, worded in `locale`.
///
/// # Errors
/// `InvalidLink` for an unknown plan, a forged, expired or spent token, or a
/// plan no longer waiting for its customer; database failure.
pub async fn open(state: &AppState, plan_id: i64, token: &str, locale: Locale) -> Result<InvitationView, ServiceError> {
    let (plan, expires_unix) = authorize(state, &state.db, plan_id, token, false).await?;
    let rows = plans::echeances_of(&state.db, plan.id).await?;
    let customer = customer_of(&state.db, &plan).await?;
    let echeances = plans::planned(&rows)?;
    let today = state.today();
    let due_now = echeances.first().filter(|e| e.due_date <= today).cloned();
    let mandate = mandate(state, &plan, &rows, locale)?;
    Ok(InvitationView {
        plan_id: plan.id,
        return_url: plan.return_url.clone(),
        terms: terms_digest(&mandate, &rows),
        mandate,
        total: total(&plan)?,
        label: plan.label,
        customer_name: customer.display_name,
        merchant: state.settings.merchant_name.clone(),
        echeances,
        consumer_credit: plan.consumer_credit,
        expires_on: state.local(expires_unix.saturating_mul(1000)).date(),
        due_now,
    })
}

/// The customer accepts through the link: the consent (the mandate worded in
/// `locale`, as the page showed it), the link spent and a session opened, in
/// one transaction. The plan is *actif* at once when a card is already saved.
/// `terms` is what the page showed ([`InvitationView::terms`]): a plan changed
/// since (an admin moved a date) is refused, so that a consent is never
/// recorded for terms the customer did not read.
///
/// # Errors
/// As [`open`], `Refused(TermsChanged)` when the terms are not the ones shown,
/// `Refused` for a finished plan or one of the other Stripe mode, database failure.
pub async fn accept(
    state: &AppState,
    plan_id: i64,
    token: &str,
    terms: &str,
    locale: Locale,
    context: ConsentContext,
) -> Result<(PlanAccepted, OpenedSession), ServiceError> {
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    let (plan, _) = authorize(state, &txn, plan_id, token, true).await?;
    let rows = plans::echeances_of(&txn, plan.id).await?;
    let text = mandate(state, &plan, &rows, locale)?;
    if terms_digest(&text, &rows) != terms {
        return Err(Refusal::TermsChanged.into());
    }
    let customer = customer_of(&txn, &plan).await?;
    let plan = plans::consent_locked(&txn, plan, text, context, keys::current_mode(state), now).await?;
    let spent = payment_plan::Entity::update_many()
        .col_expr(payment_plan::Column::InvitationUsedAt, Expr::value(now))
        .filter(payment_plan::Column::Id.eq(plan.id))
        .filter(payment_plan::Column::InvitationUsedAt.is_null())
        .exec(&txn)
        .await?;
    if spent.rows_affected != 1 {
        return Err(ServiceError::InvalidLink);
    }
    let session = auth::open_session(&txn, CurrentUser::try_from(customer)?, now).await?;
    txn.commit().await?;
    tracing::info!(plan.id = plan.id, status = plan.status.as_str(), "plan accepted through its invitation");
    let user_id = UserId::new(plan.customer_id).map_err(anyhow::Error::from)?;
    let card = super::cards::default_card(state, user_id).await?.map(CardInfo::from);
    let accepted =
        PlanAccepted { status: plan.status, card, publishable_key: state.settings.stripe_publishable_key.clone() };
    Ok((accepted, session))
}

/// The latest plans still waiting for their customer, with a fresh invitation
/// link each — what the development home page shows to reach the demo's.
///
/// # Errors
/// Database failure.
pub async fn waiting(state: &AppState, limit: u64) -> Result<Vec<DemoInvitation>, ServiceError> {
    let plans = payment_plan::Entity::find()
        .filter(payment_plan::Column::Status.eq(PlanStatus::EnAttenteClient))
        .filter(payment_plan::Column::InvitationUsedAt.is_null())
        // Accepted already (waiting only for a card): no invitation left to answer.
        .filter(payment_plan::Column::Id.not_in_subquery(plans::consented()))
        .order_by_desc(payment_plan::Column::Id)
        .limit(limit)
        .all(&state.db)
        .await?;
    let ttl_ms = i64::try_from(state.settings.invitation_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_ms = state.now_ms().saturating_add(ttl_ms);
    let mut waiting = Vec::with_capacity(plans.len());
    for plan in plans {
        let customer = customer_of(&state.db, &plan).await?;
        waiting.push(DemoInvitation {
            link: link(state, plan.id, plan.customer_id, LinkHolder::Inbox, expires_ms),
            label: plan.label,
            customer_name: customer.display_name,
        });
    }
    Ok(waiting)
}

/// From when the host's `acceptance_url` was signed in its own scope: the release that made it so
/// (8db383f7) landed on main before 2026-12-04 21:00 UTC, kept as a margin after it. A plan made
/// before may have given the host a link in the first scope; one made since had its first-scope
/// link from the email only (which used that scope until the next release).
const HOST_SCOPE_SINCE_MS: i64 = 1_796_418_000_000;

/// The plan a token opens, locked when `lock` (the acceptance), and the token's expiry.
async fn authorize(
    state: &AppState,
    db: &impl sea_orm::ConnectionTrait,
    plan_id: i64,
    token: &str,
    lock: bool,
) -> Result<(payment_plan::Model, i64), ServiceError> {
    let query = payment_plan::Entity::find_by_id(plan_id);
    let query = if lock { sea_orm::QuerySelect::lock_exclusive(query) } else { query };
    let plan = query.one(db).await?.ok_or(ServiceError::InvalidLink)?;
    let (expires, holder) =
        InvitationToken::verify(secret(state), plan.id, plan.customer_id, token, state.now_ms() / 1000)
            .map_err(|_| ServiceError::InvalidLink)?;
    if plan.status != PlanStatus::EnAttenteClient || plan.invitation_used_at.is_some() {
        return Err(ServiceError::InvalidLink);
    }
    // A link in the first scope: the host's too for a plan made before its links had their
    // own scope, and only for a plan that created its customer (the host was never given
    // others); made since, only the email's.
    let host_may_hold = match holder {
        LinkHolder::Inbox => false,
        LinkHolder::Host => true,
        LinkHolder::Either => plan.customer_created && plan.created_at < HOST_SCOPE_SINCE_MS,
    };
    if host_may_hold && !host_may_open(db, &plan).await? {
        return Err(ServiceError::InvalidLink);
    }
    Ok((plan, expires))
}

/// Whether the host site's link to `plan` may still open its customer's
/// account: only while the account is the one this plan created and holds
/// nothing else — no card saved, no other plan accepted. Past that, the link
/// would log its holder into what the customer reaches through their own
/// inbox (their other plans, a card a plan accepted here would charge).
///
/// # Errors
/// Database failure.
pub async fn host_may_open(
    db: &impl sea_orm::ConnectionTrait,
    plan: &payment_plan::Model,
) -> Result<bool, ServiceError> {
    Ok(host_may_open_of(db, std::slice::from_ref(plan)).await?.contains(&plan.id))
}

/// Of `plans`, the ones whose host site's link may still open the customer's
/// account ([`host_may_open`]), in two queries whatever their number.
///
/// # Errors
/// Database failure.
pub async fn host_may_open_of(
    db: &impl sea_orm::ConnectionTrait,
    plans: &[payment_plan::Model],
) -> Result<HashSet<i64>, ServiceError> {
    let created: Vec<&payment_plan::Model> = plans.iter().filter(|p| p.customer_created).collect();
    if created.is_empty() {
        return Ok(HashSet::new());
    }
    let customers: HashSet<i64> = created.iter().map(|p| p.customer_id).collect();
    // A card saved in either mode: the account holds it.
    let with_card: HashSet<i64> = payment_method::Entity::find()
        .filter(payment_method::Column::Usable.eq(true))
        .filter(payment_method::Column::UserId.is_in(customers.iter().copied()))
        .select_only()
        .column(payment_method::Column::UserId)
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let accepted: Vec<(i64, i64)> = payment_plan::Entity::find()
        .select_only()
        .column(payment_plan::Column::Id)
        .column(payment_plan::Column::CustomerId)
        .filter(payment_plan::Column::CustomerId.is_in(customers))
        .filter(payment_plan::Column::Id.in_subquery(plans::consented()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(created
        .into_iter()
        .filter(|plan| !with_card.contains(&plan.customer_id))
        .filter(|plan| !accepted.iter().any(|&(id, customer)| customer == plan.customer_id && id != plan.id))
        .map(|plan| plan.id)
        .collect())
}

pub(crate) fn mandate(
    state: &AppState,
    plan: &payment_plan::Model,
    rows: &[echeance::Model],
    locale: Locale,
) -> Result<String, ServiceError> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Err(anyhow::anyhow!("plan {} has no échéance", plan.id).into());
    };
    let terms = MandateTerms {
        merchant: &state.settings.merchant_name,
        label: &plan.label,
        count: rows.len(),
        total: total(plan)?,
        first: first.due_date,
        last: last.due_date,
    };
    Ok(mandate_text(&terms, locale))
}

/// A fingerprint of the terms a page shows: the mandate as worded, and each échéance's
/// number, date and amount (SHA-256, hex).
fn terms_digest(mandate: &str, rows: &[echeance::Model]) -> String {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    hash.update(mandate.as_bytes());
    for row in rows {
        hash.update(format!("\n{:?}|{}|{}|{}", row.seq, row.due_date, row.amount_cents, row.currency).as_bytes());
    }
    hex::encode(hash.finalize())
}

fn currency(plan: &payment_plan::Model) -> Result<Currency, ServiceError> {
    Ok(Currency::parse(&plan.currency).map_err(anyhow::Error::from)?)
}

fn total(plan: &payment_plan::Model) -> Result<Total, ServiceError> {
    Ok(Total::of(plan.total_cents, currency(plan)?))
}

async fn customer_of(
    db: &impl sea_orm::ConnectionTrait,
    plan: &payment_plan::Model,
) -> Result<user::Model, ServiceError> {
    user::Entity::find_by_id(plan.customer_id).one(db).await?.ok_or(ServiceError::NotFound)
}

/// Whether invitation `link` to `plan` (an email's, with its `token`) would still open: not
/// expired, signed with the secret in use. What an email holding it checks before it goes.
pub(crate) fn link_opens(state: &AppState, plan: &payment_plan::Model, link: &str) -> bool {
    let Some(token) = link.split_once("token=").map(|(_, rest)| rest.split('&').next().unwrap_or(rest)) else {
        return false;
    };
    InvitationToken::verify(secret(state), plan.id, plan.customer_id, token, state.now_ms() / 1000).is_ok()
}

fn secret(state: &AppState) -> &[u8] {
    state.settings.app_secret.expose_secret().as_bytes()
}
