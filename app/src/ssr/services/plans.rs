//! Payment plans: a merchant creates one for a customer (the dashboard and,
//! later, the REST API call [`create`]), the customer accepts it ([`accept`]),
//! and its status follows its échéances ([`follow`], called by the one writer
//! of échéance statuses in the same transaction).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::anyhow;
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, ExprTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, TryInsertResult,
};

use super::change::PlanChange;
use super::error::ServiceError;
use super::host_api::keys;
use super::transitions::Audit;
use crate::api::dto::{
    ConsentView, CustomerRef, PlanCancelled, PlanCreated, PlanEcheanceView, PlanEmail, PlanHistoryEntry, PlanList,
    PlanRow, PlanView, PlannedEcheance, RefundTotals,
};
use crate::domain::{
    Actor, Cause, Currency, EcheanceId, EcheanceStatus, Email, Field, HostEvent, Invalid, KeyMode, Locale, Money,
    PlanEvent, PlanStatus, Progress, Refusal, Rescheduled, Role, Schedule, ScheduleInvalid, ScheduleRequest, Total,
    UserId,
};
use crate::domain::{plan, text};
use crate::ssr::clock::from_ms;
use crate::ssr::db;
use crate::ssr::entities::{
    admin_audit, dispute, echeance, email_outbox, payment_method, payment_plan, plan_audit, plan_consent, refund, user,
};
use crate::ssr::repo::echeances;
use crate::ssr::state::AppState;

/// The customer a plan is for: found by email, or created without a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCustomer {
    /// Address (the key: an existing customer with it is reused).
    pub email: String,
    /// Name, for a new customer.
    pub name: String,
    /// Language of a new customer's emails and pages.
    pub locale: Locale,
}

/// What a merchant asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPlan {
    /// Who pays.
    pub customer: NewCustomer,
    /// What it is for (shown to the customer).
    pub label: String,
    /// ISO code.
    pub currency: String,
    /// The échéances, split or listed.
    pub schedule: ScheduleRequest,
    /// The host's own keys (an order id), kept and echoed back.
    pub metadata: BTreeMap<String, String>,
    /// Email the customer the invitation (the host site may send its own link instead).
    pub send_invitation: bool,
    /// Where the acceptance page sends the customer back (http or https).
    pub return_url: Option<String>,
}

/// A plan as written.
#[derive(Clone, Debug)]
pub struct CreatedPlan {
    /// The plan.
    pub plan: payment_plan::Model,
    /// Its échéances, in order.
    pub echeances: Vec<echeance::Model>,
}

/// Where the customer accepted from (kept with the consent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentContext {
    /// Client address.
    pub ip: String,
    /// Browser.
    pub user_agent: String,
}

/// The version of the mandate text stored with each consent: bump it when the
/// wording in `ui::i18n` changes.
pub const MANDATE_VERSION: &str = "2026-12-01";

/// Who moves a plan, why, and when (for its audit row).
#[derive(Clone, Copy, Debug)]
pub struct By<'a> {
    /// Why.
    pub cause: Cause,
    /// `admin:3`, `customer:7`, `system`.
    pub actor: &'a str,
    /// When (epoch ms).
    pub now: i64,
}

const MAX_LABEL: usize = 200;
const MAX_METADATA_KEYS: usize = 20;
const MAX_METADATA_LEN: usize = 500;

/// Checks a request and writes the plan, its customer when new, and its
/// échéances in one transaction; nothing is written when anything is refused.
/// `created_by`: the admin; none for the host site.
///
/// # Errors
/// `Invalid` with the first refused field (every schedule problem at once),
/// database failure.
pub async fn create(state: &AppState, created_by: Option<UserId>, input: NewPlan) -> Result<CreatedPlan, ServiceError> {
    let by = created_by.map_or(Actor::Host(None), |id| Actor::Admin(id.get()));
    let txn = db::begin_write(&state.db).await?;
    let created = create_in(state, &txn, &by, input).await?;
    txn.commit().await?;
    state.wake.outbox.notify_one();
    Ok(created)
}

/// [`create`] inside the caller's transaction (the REST API writes its
/// idempotency record in the same one), by `by` (an admin, or the host site
/// through one of its API keys): nothing is written before every check passed;
/// the caller commits, then wakes the outbox.
///
/// # Errors
/// As [`create`].
pub async fn create_in(
    state: &AppState,
    txn: &DatabaseTransaction,
    by: &Actor,
    input: NewPlan,
) -> Result<CreatedPlan, ServiceError> {
    let email = Email::parse(&input.customer.email)?;
    let name = text::one_line(&input.customer.name, MAX_LABEL).ok_or(Invalid::Field(Field::Name))?;
    let label = text::one_line(&input.label, MAX_LABEL).ok_or(Invalid::Field(Field::Label))?;
    if input.metadata.len() > MAX_METADATA_KEYS
        || input.metadata.iter().any(|(k, v)| {
            k.is_empty()
                || k.contains(char::is_control)
                || k.chars().count() > 40
                || !text::storable(v, MAX_METADATA_LEN)
        })
    {
        return Err(Invalid::Field(Field::Metadata).into());
    }
    let return_url = match input.return_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => Some(web_address(url).ok_or(Invalid::Field(Field::ReturnUrl))?),
        None => None,
    };
    let schedule = Schedule::build(&input.currency, &input.schedule, state.today()).map_err(Invalid::Schedule)?;
    let consumer_credit = schedule.is_consumer_credit();
    if consumer_credit && state.settings.refuse_consumer_credit {
        return Err(Invalid::ConsumerCredit.into());
    }

    let now = state.now_ms();
    let actor = by.stored();
    let (customer, customer_created) = find_or_create_customer(txn, &email, name, input.customer.locale, now).await?;
    if !customer_created && !input.send_invitation {
        return Err(Invalid::InvitationNeeded.into());
    }
    let status = PlanStatus::Brouillon.transition(PlanEvent::Invited).map_err(anyhow::Error::from)?;
    let plan = payment_plan::ActiveModel {
        consumer_credit: Set(consumer_credit),
        metadata: Set(serde_json::to_string(&input.metadata).map_err(anyhow::Error::from)?),
        created_by: Set(by.admin_id()),
        return_url: Set(return_url),
        customer_created: Set(customer_created),
        mode: Set(Some(keys::current_mode(state))),
        ..new_row(customer.id, label, schedule.currency(), schedule.total(), status, now)
    }
    .insert(txn)
    .await?;
    let by = By { cause: Cause::Admin, actor: &actor, now };
    audit(txn, plan.id, None, status, "Created", by).await?;

    let count = schedule.installments().len();
    let mut rows = Vec::with_capacity(count);
    for installment in schedule.installments() {
        let money = Money { amount: installment.amount, currency: schedule.currency() };
        let row_label = format!("{label} — {}/{count}", installment.seq);
        let row = echeance::ActiveModel {
            payment_plan_id: Set(Some(plan.id)),
            seq: Set(Some(i32::try_from(installment.seq).map_err(anyhow::Error::from)?)),
            ..echeances::new_row(customer.id, row_label, money, installment.due_date, EcheanceStatus::APayer, now)
        }
        .insert(txn)
        .await?;
        let (to, detail) = (EcheanceStatus::APayer, Some(format!("plan={}", plan.id)));
        let (cause, actor) = (Cause::Admin, actor.as_str());
        let entry = Audit { echeance_id: row.id, from: None, to, what: "PlanCreated", cause, actor, detail, at: now };
        super::transitions::audit(txn, entry).await?;
        rows.push(row);
    }
    if input.send_invitation {
        super::invitations::queue(state, txn, &plan, &customer, &rows, now).await?;
    }
    tracing::info!(plan.id = plan.id, customer.id = customer.id, echeances = count, consumer_credit, "plan created");
    Ok(CreatedPlan { plan, echeances: rows })
}

/// An absolute http(s) address, as given (at most 2,000 characters).
fn web_address(input: &str) -> Option<String> {
    let url = url::Url::parse(input).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some() && input.len() <= 2000)
        .then(|| url.to_string())
}

async fn find_or_create_customer(
    txn: &DatabaseTransaction,
    email: &Email,
    name: &str,
    locale: Locale,
    now: i64,
) -> Result<(user::Model, bool), ServiceError> {
    // A plan is for a customer: an admin's address is refused, not turned into a payer.
    // A closed account (its erasure has begun, and may be cancelling its plans right now) gets no new one.
    let existing = |user: user::Model| -> Result<(user::Model, bool), ServiceError> {
        if user.role != Role::Customer {
            Err(Invalid::AdminEmail.into())
        } else if user.disabled_at.is_some() {
            Err(Refusal::AccountClosed.into())
        } else {
            Ok((user, false))
        }
    };
    let by_email = || user::Entity::find().filter(user::Column::Email.eq(email.as_str()));
    if let Some(user) = by_email().one(txn).await? {
        return existing(user);
    }
    let new_customer = user::ActiveModel {
        email: Set(email.as_str().to_owned()),
        // No password: the invitation link logs the customer in.
        password_hash: Set(String::new()),
        role: Set(Role::Customer),
        display_name: Set(name.to_owned()),
        locale: Set(locale.code().to_owned()),
        created_at: Set(now),
        ..Default::default()
    };
    // Another request may write the same new address between the read above and this insert (PostgreSQL's
    // transactions do not wait for each other before it): the insert then waits for that one, steps aside,
    // and the plan goes to the account it wrote, instead of a unique-key failure.
    let inserted = user::Entity::insert(new_customer)
        .on_conflict(OnConflict::column(user::Column::Email).do_nothing().to_owned())
        .try_insert()
        .exec(txn)
        .await?;
    match inserted {
        TryInsertResult::Inserted(done) => {
            let created = user::Entity::find_by_id(done.last_insert_id).one(txn).await?;
            Ok((created.ok_or_else(|| anyhow::anyhow!("customer {} not read back", done.last_insert_id))?, true))
        }
        TryInsertResult::Conflicted | TryInsertResult::Empty => {
            let user = by_email().one(txn).await?;
            existing(user.ok_or_else(|| anyhow::anyhow!("a new customer's address was taken, then not found"))?)
        }
    }
}

/// The plans of the Stripe mode of the keys in use (not of [`keys::other_mode`]): the only ones the schedules
/// send to Stripe and the host API's keys see. A plan made with the other mode's keys has its
/// customer, cards and payments in that mode on Stripe, out of these keys' reach.
#[must_use]
pub fn of_mode_in_use(state: &AppState) -> Condition {
    keys::of_mode(payment_plan::Column::Mode, keys::current_mode(state))
}

/// The échéances of `plans`, and those of no plan (the original site's).
#[must_use]
pub fn echeances_in(plans: Select<payment_plan::Entity>) -> Condition {
    let ids = plans.select_only().column(payment_plan::Column::Id).into_query();
    Condition::any()
        .add(echeance::Column::PaymentPlanId.is_null())
        .add(echeance::Column::PaymentPlanId.in_subquery(ids))
}

/// The ids of the échéances of the plans of [`of_mode_in_use`], and of those of no plan (whose
/// mode is not known): the only ones the schedules, the follow-ups, the link expiry and the
/// reconciler take to Stripe with the keys in use (`…EcheanceId.in_subquery(…)`).
#[must_use]
pub fn echeances_of_mode_in_use(state: &AppState) -> sea_orm::sea_query::SelectStatement {
    echeance::Entity::find()
        .select_only()
        .column(echeance::Column::Id)
        .filter(echeances_in(payment_plan::Entity::find().filter(of_mode_in_use(state))))
        .into_query()
}

/// The other mode, when échéance `row` is of a plan made with that mode's Stripe keys: its
/// customer, cards and payments are out of these keys' reach, nothing of it is asked of Stripe.
///
/// # Errors
/// Database failure.
pub async fn of_other_mode(
    db: &impl sea_orm::ConnectionTrait,
    state: &AppState,
    row: &echeance::Model,
) -> Result<Option<KeyMode>, ServiceError> {
    let Some(plan) = row.payment_plan_id else { return Ok(None) };
    let mode: Option<Option<KeyMode>> = payment_plan::Entity::find_by_id(plan)
        .select_only()
        .column(payment_plan::Column::Mode)
        .into_tuple()
        .one(db)
        .await?;
    Ok(keys::other_mode(state, mode.flatten()))
}

/// Who writes the demo data, in which mode, when.
pub(crate) struct Seeding {
    /// The demo admin.
    pub admin: i64,
    /// The mode of the Stripe key in use.
    pub mode: KeyMode,
    /// When (epoch ms).
    pub now: i64,
}

/// Demo data (`server seed-demo`): a plan written as it stands after its history — `status`
/// with a « Seeded » audit row, accepted if it was ever active — whose échéances and consent
/// the caller writes.
///
/// # Errors
/// Database failure.
pub(crate) async fn seeded(
    txn: &DatabaseTransaction,
    customer: i64,
    label: &str,
    total_cents: i64,
    status: PlanStatus,
    seeding: &Seeding,
) -> Result<payment_plan::Model, ServiceError> {
    let &Seeding { admin: created_by, mode, now } = seeding;
    let was_active = matches!(status, PlanStatus::Actif | PlanStatus::Termine | PlanStatus::EnDefaut);
    let plan = payment_plan::ActiveModel {
        created_by: Set(Some(created_by)),
        accepted_at: Set(was_active.then_some(now)),
        mode: Set(Some(mode)),
        ..new_row(customer, label, Currency::Eur, total_cents, status, now)
    }
    .insert(txn)
    .await?;
    let actor = Actor::System(crate::domain::SystemJob::SeedDemo).stored();
    let by = By { cause: Cause::Admin, actor: &actor, now };
    audit(txn, plan.id, None, status, "Seeded", by).await?;
    Ok(plan)
}

/// A new plan's row: not accepted, not cancelled, no metadata, no return page.
fn new_row(
    customer: i64,
    label: &str,
    currency: Currency,
    total_cents: i64,
    status: PlanStatus,
    now: i64,
) -> payment_plan::ActiveModel {
    payment_plan::ActiveModel {
        customer_id: Set(customer),
        label: Set(label.to_owned()),
        currency: Set(currency.code().to_owned()),
        total_cents: Set(total_cents),
        status: Set(status),
        consumer_credit: Set(false),
        metadata: Set("{}".to_owned()),
        created_by: Set(None),
        version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        accepted_at: Set(None),
        canceled_at: Set(None),
        return_url: Set(None),
        customer_created: Set(false),
        mode: Set(None),
        ..Default::default()
    }
}

/// Whether the customer's consent to plan `plan_id` is on record.
///
/// # Errors
/// Database failure.
pub async fn is_accepted(db: &impl sea_orm::ConnectionTrait, plan_id: i64) -> Result<bool, ServiceError> {
    Ok(plan_consent::Entity::find().filter(plan_consent::Column::PaymentPlanId.eq(plan_id)).one(db).await?.is_some())
}

/// The ids of the plans whose customer's consent is on record (a subquery).
pub(crate) fn consented() -> sea_orm::sea_query::SelectStatement {
    plan_consent::Entity::find().select_only().column(plan_consent::Column::PaymentPlanId).into_query()
}

/// The customer accepts the plan: the consent is recorded (the mandate text as
/// shown, its version, when, from where), and the plan becomes active at once
/// if a card the keys in use can charge off-session is already saved — otherwise
/// when one is ([`card_saved`]). Accepting twice changes nothing.
///
/// # Errors
/// `NotFound`, `Forbidden` (another customer's plan), `Refused` (cancelled or
/// finished plan, a plan of the other Stripe mode), database failure.
pub async fn accept(
    state: &AppState,
    plan_id: i64,
    customer: UserId,
    mandate_text: String,
    context: ConsentContext,
) -> Result<payment_plan::Model, ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let plan = lock(&txn, plan_id).await?;
    if plan.customer_id != customer.get() {
        return Err(ServiceError::Forbidden);
    }
    let plan = consent_locked(&txn, plan, mandate_text, context, keys::current_mode(state), state.now_ms()).await?;
    txn.commit().await?;
    Ok(plan)
}

/// [`accept`] on a plan locked in `txn` and known to be the customer's, with the keys of
/// `mode_in_use`.
///
/// # Errors
/// `Refused` (cancelled or finished plan, a plan of the other mode: its consent would be to
/// charges these keys cannot make), database failure.
pub(crate) async fn consent_locked(
    txn: &DatabaseTransaction,
    plan: payment_plan::Model,
    mandate_text: String,
    context: ConsentContext,
    mode_in_use: KeyMode,
    now: i64,
) -> Result<payment_plan::Model, ServiceError> {
    if plan.status.is_over() {
        return Err(Refusal::PlanOver.into());
    }
    if plan.mode.is_some_and(|mode| mode != mode_in_use) {
        return Err(Refusal::OtherMode.into());
    }
    let customer = UserId::new(plan.customer_id).map_err(anyhow::Error::from)?;
    record_consent(txn, &plan, mandate_text, context, now).await?;
    let usable_card = has_card(txn, customer.get(), mode_in_use).await?;
    let event = PlanEvent::CustomerAnswered { consent: true, usable_card };
    let actor = Actor::Customer(customer.get()).stored();
    transition(txn, plan, event, By { cause: Cause::Customer, actor: &actor, now }).await
}

/// Writes the customer's consent to `plan` (the mandate as shown, its version, when, from
/// where), unless it is on record already. The plan's status is the caller's to move.
///
/// # Errors
/// Database failure.
pub(crate) async fn record_consent(
    txn: &DatabaseTransaction,
    plan: &payment_plan::Model,
    mandate_text: String,
    context: ConsentContext,
    now: i64,
) -> Result<(), ServiceError> {
    if !is_accepted(txn, plan.id).await? {
        plan_consent::ActiveModel {
            payment_plan_id: Set(plan.id),
            user_id: Set(plan.customer_id),
            mandate_version: Set(MANDATE_VERSION.to_owned()),
            mandate_text: Set(mandate_text),
            ip: Set(context.ip),
            user_agent: Set(context.user_agent.chars().take(500).collect()),
            accepted_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Makes active every plan that has its customer's consent and waits for a card the customer
/// has. Accepting a plan and saving a card at the same moment can each miss the other on
/// PostgreSQL (each reads before the other commits, and neither takes the other's lock): the
/// due-date run calls this first, so such a plan is collected from its first date on.
///
/// # Errors
/// Database failure.
pub async fn activate_ready(state: &AppState) -> Result<(), ServiceError> {
    let mode = keys::current_mode(state);
    let with_a_card =
        super::cards::usable_of_anyone(mode).select_only().column(payment_method::Column::UserId).into_query();
    let customers: Vec<i64> = payment_plan::Entity::find()
        .select_only()
        .column(payment_plan::Column::CustomerId)
        .distinct()
        .filter(payment_plan::Column::Status.eq(PlanStatus::EnAttenteClient))
        .filter(of_mode_in_use(state))
        .filter(payment_plan::Column::Id.in_subquery(consented()))
        .filter(payment_plan::Column::CustomerId.in_subquery(with_a_card))
        .into_tuple()
        .all(&state.db)
        .await?;
    for customer in customers {
        let txn = db::begin_write(&state.db).await?;
        if has_card(&txn, customer, mode).await? {
            tracing::warn!(customer.id = customer, "a consented plan waited for a card its customer has: made active");
            card_saved(&txn, customer, mode, state.now_ms()).await?;
        }
        txn.commit().await?;
    }
    Ok(())
}

/// A card was saved with the keys of `mode`: every plan of that mode of the customer that has
/// consent and waits for a card becomes active (the other mode's plans wait for a card of
/// theirs). Called in the transaction that saves the card.
///
/// # Errors
/// Database failure.
pub async fn card_saved(txn: &DatabaseTransaction, customer: i64, mode: KeyMode, now: i64) -> Result<(), ServiceError> {
    let actor = Actor::Customer(customer).stored();
    let waiting: Vec<i64> = payment_plan::Entity::find()
        .select_only()
        .column(payment_plan::Column::Id)
        .filter(payment_plan::Column::CustomerId.eq(customer))
        .filter(keys::of_mode(payment_plan::Column::Mode, mode))
        .filter(payment_plan::Column::Status.eq(PlanStatus::EnAttenteClient))
        .filter(payment_plan::Column::Id.in_subquery(consented()))
        .into_tuple()
        .all(txn)
        .await?;
    for id in waiting {
        let plan = lock(txn, id).await?;
        let event = PlanEvent::CustomerAnswered { consent: true, usable_card: true };
        transition(txn, plan, event, By { cause: Cause::Customer, actor: &actor, now }).await?;
    }
    Ok(())
}

/// Moves the plan of an échéance whose status just changed: called by
/// `transitions::apply` in its transaction, after the échéance row is written. `emails`: false
/// when the échéance's change only undid its own claim — the plan is back where it was, and its
/// customer and admins were told of that status already (the host site hears of every move).
///
/// # Errors
/// Database failure.
pub async fn follow(
    txn: &DatabaseTransaction,
    echeance: &echeance::Model,
    by: By<'_>,
    emails: bool,
) -> Result<(), ServiceError> {
    let Some(plan_id) = echeance.payment_plan_id else {
        return Ok(());
    };
    let plan = lock(txn, plan_id).await?;
    let statuses: Vec<EcheanceStatus> = echeance::Entity::find()
        .select_only()
        .column(echeance::Column::Status)
        .filter(echeance::Column::PaymentPlanId.eq(plan_id))
        .into_tuple()
        .all(txn)
        .await?;
    let event = PlanEvent::EcheancesMoved(Progress::of(statuses));
    transition_telling(txn, plan, event, by, emails).await?;
    Ok(())
}

/// The plan of an échéance, locked until `txn` ends (`None`: an échéance from
/// before plans, imported from the original site, collected as it always was).
/// Lock order: the échéance first, then its plan (as [`follow`] does).
///
/// # Errors
/// Database failure, or a plan that does not exist.
pub async fn lock_of(
    txn: &DatabaseTransaction,
    echeance: &echeance::Model,
) -> Result<Option<payment_plan::Model>, ServiceError> {
    match echeance.payment_plan_id {
        Some(plan_id) => Ok(Some(lock(txn, plan_id).await?)),
        None => Ok(None),
    }
}

/// An admin cancels a plan. Refused, with nothing changed, while one of its
/// échéances is in flight (its outcome is settled within minutes; cancel
/// again then): checked under the plan's lock, which every charge of the plan
/// takes, so no charge can start in between. The plan is *annulé* first —
/// nothing of it can be charged from then on — then each échéance still to
/// collect is cancelled through the échéance's own cancel, which cancels a
/// waiting PaymentIntent on Stripe before the échéance leaves *en attente*.
/// Cancelling an *annulé* plan again finishes what Stripe left undone.
///
/// # Errors
/// `Refused` (finished plan, a charge in flight), `NotFound`, database failure.
pub async fn cancel(state: &AppState, plan_id: i64, admin: UserId) -> Result<PlanCancelled, ServiceError> {
    cancel_as(state, plan_id, &Actor::Admin(admin.get()).stored()).await
}

/// [`cancel`] on behalf of `actor` (`admin:3`, or the host's `api_key:2`).
///
/// # Errors
/// As [`cancel`].
pub async fn cancel_as(state: &AppState, plan_id: i64, actor: &str) -> Result<PlanCancelled, ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let plan = lock(&txn, plan_id).await?;
    if plan.status == PlanStatus::Termine {
        return Err(Refusal::PlanOver.into());
    }
    let open: Vec<(i64, EcheanceStatus, i32)> = echeance::Entity::find()
        .select_only()
        .column(echeance::Column::Id)
        .column(echeance::Column::Status)
        .column(echeance::Column::CurrentAttemptNo)
        .filter(echeance::Column::PaymentPlanId.eq(plan_id))
        .filter(echeance::Column::Status.is_in(EcheanceStatus::matching(|s| !s.is_settled())))
        .order_by_asc(echeance::Column::Seq)
        .into_tuple()
        .all(&txn)
        .await?;
    // A plan of the other Stripe mode is cancelled only while none of its échéances still to
    // collect was ever sent to Stripe: a PaymentIntent of it could not be stopped with these keys
    // (nor would one in flight be settled with them: said first).
    if keys::other_mode(state, plan.mode).is_some() && open.iter().any(|(_, _, attempts)| *attempts > 0) {
        return Err(Refusal::OtherMode.into());
    }
    if open.iter().any(|(_, s, _)| *s == EcheanceStatus::EnCours) {
        return Err(Refusal::AlreadyInProgress.into());
    }
    let by = By { cause: Cause::Admin, actor, now: state.now_ms() };
    transition(&txn, plan, PlanEvent::Canceled, by).await?;
    txn.commit().await?;

    let mut done = PlanCancelled::default();
    for (id, _, _) in open {
        match super::admin::actions::cancel_as(state, echeances::id_of(id)?, actor).await {
            Ok(_) => done.cancelled += 1,
            Err(ServiceError::Refused(Refusal::PaidMeanwhile)) => done.paid_meanwhile += 1,
            Err(e) => {
                tracing::warn!(plan.id = plan_id, echeance.id = id, error = %e, "échéance of a cancelled plan not cancelled yet");
                done.left += 1;
            }
        }
    }
    tracing::info!(plan.id = plan_id, ?done, "plan cancelled");
    Ok(done)
}

/// The statuses of plans the due-date run collects (for its selection).
#[must_use]
pub fn scheduled_statuses(state: &AppState) -> Vec<PlanStatus> {
    PlanStatus::collected_by_schedule(state.settings.plan_on_default)
}

/// A plan with its échéances, in order.
///
/// # Errors
/// `NotFound`, database failure.
pub async fn get(
    db: &impl sea_orm::ConnectionTrait,
    plan_id: i64,
) -> Result<(payment_plan::Model, Vec<echeance::Model>), ServiceError> {
    let plan = payment_plan::Entity::find_by_id(plan_id).one(db).await?.ok_or(ServiceError::NotFound)?;
    Ok((plan, echeances_of(db, plan_id).await?))
}

/// A plan's échéances, in order (the plan itself already read).
///
/// # Errors
/// Database failure.
pub async fn echeances_of(
    db: &impl sea_orm::ConnectionTrait,
    plan_id: i64,
) -> Result<Vec<echeance::Model>, ServiceError> {
    Ok(echeance::Entity::find()
        .filter(echeance::Column::PaymentPlanId.eq(plan_id))
        .order_by_asc(echeance::Column::Seq)
        .all(db)
        .await?)
}

async fn lock(txn: &DatabaseTransaction, plan_id: i64) -> Result<payment_plan::Model, ServiceError> {
    payment_plan::Entity::find_by_id(plan_id).lock_exclusive().one(txn).await?.ok_or(ServiceError::NotFound)
}

/// Whether `customer` has a card the keys of `mode` can charge (and their Stripe customer there).
async fn has_card(txn: &DatabaseTransaction, customer: i64, mode: KeyMode) -> Result<bool, ServiceError> {
    let card = super::cards::usable(mode, customer).one(txn).await?;
    Ok(card.is_some() && super::cards::customer_of(txn, customer, mode).await?.is_some())
}

/// The one writer of a plan's status: asks the pure state machine, writes
/// with a version check and appends the audit row.
async fn transition(
    txn: &DatabaseTransaction,
    plan: payment_plan::Model,
    event: PlanEvent,
    by: By<'_>,
) -> Result<payment_plan::Model, ServiceError> {
    transition_telling(txn, plan, event, by, true).await
}

/// [`transition`], with the emails of the change only when `emails`.
async fn transition_telling(
    txn: &DatabaseTransaction,
    plan: payment_plan::Model,
    event: PlanEvent,
    by: By<'_>,
    emails: bool,
) -> Result<payment_plan::Model, ServiceError> {
    let now = by.now;
    let from = plan.status;
    let to = match from.transition(event) {
        Ok(to) => to,
        Err(refused) => {
            tracing::info!(plan.id = plan.id, ?event, %refused, "plan event does not apply");
            return Ok(plan);
        }
    };
    if to == from {
        return Ok(plan);
    }
    let mut update = payment_plan::Entity::update_many()
        .col_expr(payment_plan::Column::Status, Expr::value(to))
        .col_expr(payment_plan::Column::Version, Expr::col(payment_plan::Column::Version).add(1))
        .col_expr(payment_plan::Column::UpdatedAt, Expr::value(now))
        .filter(payment_plan::Column::Id.eq(plan.id))
        .filter(payment_plan::Column::Version.eq(plan.version));
    let accepted_at = if to == PlanStatus::Actif && plan.accepted_at.is_none() { Some(now) } else { plan.accepted_at };
    let canceled_at = if to == PlanStatus::Annule { Some(now) } else { plan.canceled_at };
    update = update
        .col_expr(payment_plan::Column::AcceptedAt, Expr::value(accepted_at))
        .col_expr(payment_plan::Column::CanceledAt, Expr::value(canceled_at));
    if update.exec(txn).await?.rows_affected != 1 {
        return Err(anyhow!("plan {} changed under a held lock", plan.id).into());
    }
    let event_name = match event {
        PlanEvent::Invited => "Invited",
        PlanEvent::CustomerAnswered { .. } => "CustomerAnswered",
        PlanEvent::EcheancesMoved(_) => "EcheancesMoved",
        PlanEvent::Canceled => "Canceled",
    };
    audit(txn, plan.id, Some(from), to, event_name, by).await?;
    tracing::info!(plan.id = plan.id, from = from.as_str(), to = to.as_str(), "plan status changed");
    let plan = payment_plan::Model {
        status: to,
        version: plan.version + 1,
        updated_at: now,
        accepted_at,
        canceled_at,
        ..plan
    };
    let change = PlanChange { row: &plan, from, at: now };
    super::outgoing::events::plan_changed(txn, &change).await?;
    if emails {
        super::effects::plan_changed(txn, &change).await?;
    }
    Ok(plan)
}

async fn audit(
    txn: &DatabaseTransaction,
    plan_id: i64,
    from: Option<PlanStatus>,
    to: PlanStatus,
    event: &str,
    by: By<'_>,
) -> Result<(), ServiceError> {
    plan_audit::ActiveModel {
        payment_plan_id: Set(plan_id),
        from_status: Set(from),
        to_status: Set(to),
        event: Set(event.to_owned()),
        cause: Set(by.cause),
        actor: Set(by.actor.to_owned()),
        detail: Set(None),
        created_at: Set(by.now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// An admin moves one échéance still to pay to another date: not in the
/// past, still between its neighbours (a plan's dates always increase), and
/// — when the plan now spans more than three months — flagged as consumer
/// credit, or refused when the setting says so. Under the échéance's lock,
/// then its plan's (the order every charge takes), so no charge starts in
/// between; written to the admin audit.
///
/// # Errors
/// `Refused` (in flight, settled, cancelled, plan over), `Invalid` (the date),
/// `NotFound`, database failure.
pub async fn move_due_date(
    state: &AppState,
    echeance_id: EcheanceId,
    to: NaiveDate,
    admin: UserId,
) -> Result<(), ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let row = echeances::lock(&txn, echeance_id).await?;
    let refusal = match row.status {
        EcheanceStatus::APayer => None,
        EcheanceStatus::EnCours => Some(Refusal::AlreadyInProgress),
        EcheanceStatus::EnAttente => Some(Refusal::AwaitingCustomer),
        EcheanceStatus::Annulee => Some(Refusal::Cancelled),
        _ => Some(Refusal::DueDateFixed),
    };
    if let Some(refusal) = refusal {
        return Err(refusal.into());
    }
    let plan = lock_of(&txn, &row).await?;
    let siblings = match &plan {
        Some(plan) if plan.status.is_over() => return Err(Refusal::PlanOver.into()),
        Some(plan) => echeances_of(&txn, plan.id).await?,
        None => vec![row.clone()],
    };
    if row.due_date == to {
        // Nothing moves: nothing written, no one told.
        return Ok(());
    }
    let mut dates: Vec<NaiveDate> = siblings.iter().map(|e| e.due_date).collect();
    let index = siblings.iter().position(|e| e.id == row.id).ok_or(ServiceError::NotFound)?;
    let seq = u32::try_from(index + 1).map_err(anyhow::Error::from)?;
    plan::check_move(&dates, seq, to, state.today()).map_err(|p| Invalid::Schedule(ScheduleInvalid(vec![p])))?;
    dates[index] = to;
    let now = state.now_ms();
    let mut plan_now = None;
    if let (Some(plan), Some(first), Some(last)) = (plan, dates.first(), dates.last()) {
        let credit = plan::spans_consumer_credit(*first, *last);
        if credit && !plan.consumer_credit && state.settings.refuse_consumer_credit {
            return Err(Invalid::ConsumerCredit.into());
        }
        // Consumer credit now, or no longer: the plan is another one for the host (a new version, news of it).
        let changed = credit != plan.consumer_credit;
        let version = plan.version + i64::from(changed);
        let updated = payment_plan::Entity::update_many()
            .col_expr(payment_plan::Column::ConsumerCredit, Expr::value(credit))
            .col_expr(payment_plan::Column::Version, Expr::value(version))
            .col_expr(payment_plan::Column::UpdatedAt, Expr::value(now))
            .filter(payment_plan::Column::Id.eq(plan.id))
            .filter(payment_plan::Column::Version.eq(plan.version))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(anyhow!("plan {} changed under a held lock", plan.id).into());
        }
        if changed {
            plan_now = Some(payment_plan::Model { consumer_credit: credit, version, updated_at: now, ..plan });
        }
    }
    let moved = echeance::Entity::update_many()
        .col_expr(echeance::Column::DueDate, Expr::value(to))
        .col_expr(echeance::Column::Version, Expr::col(echeance::Column::Version).add(1))
        .col_expr(echeance::Column::UpdatedAt, Expr::value(now))
        .filter(echeance::Column::Id.eq(row.id))
        .filter(echeance::Column::Version.eq(row.version))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(anyhow!("échéance {} changed under a held lock", row.id).into());
    }
    let after = echeance::Model { due_date: to, version: row.version + 1, updated_at: now, ..row.clone() };
    let news = HostEvent::EcheanceRescheduled;
    let mut told = super::outgoing::events::echeance_news(&txn, &after, news, now, keys::current_mode(state)).await?;
    if let Some(plan) = &plan_now {
        // After the move: the plan's échéances as they are now.
        told |= super::outgoing::events::plan_news(&txn, plan, HostEvent::PlanUpdated, now).await?;
    }
    // The échéance's own history says it (its page, and its screens, hear of it), beside the admins' trail.
    let moved = serde_json::to_string(&Rescheduled { from: row.due_date, to }).map_err(anyhow::Error::from)?;
    let by = Actor::Admin(admin.get()).stored();
    super::transitions::note(&txn, &after, Rescheduled::EVENT, Cause::Admin, &by, moved, now).await?;
    admin_audit::ActiveModel {
        actor_id: Set(admin.get()),
        action: Set("move_due_date".to_owned()),
        subject: Set(format!("echeance:{}", row.id)),
        detail: Set(Some(format!("{} -> {to}", row.due_date))),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    if told {
        state.wake.host.notify_one();
    }
    tracing::info!(echeance.id = row.id, from = %row.due_date, %to, "due date moved");
    Ok(())
}

/// Plans per page of the list.
const PLANS_PER_PAGE: u64 = 50;

/// The plans, newest first, of one status or all, a page at a time.
///
/// # Errors
/// A row that does not parse, database failure.
pub async fn list(
    state: &AppState,
    status: Option<PlanStatus>,
    cards_running_out: bool,
    page: u64,
) -> Result<PlanList, ServiceError> {
    let mut query = payment_plan::Entity::find().order_by_desc(payment_plan::Column::Id);
    if let Some(status) = status {
        query = query.filter(payment_plan::Column::Status.eq(status));
    }
    if cards_running_out {
        // Plans still to collect whose card will not last: read whole (the card is another
        // table's), then paged.
        let open: Vec<PlanStatus> = PlanStatus::ALL.iter().copied().filter(|s| !s.is_over()).collect();
        let plans = query.filter(payment_plan::Column::Status.is_in(open)).all(&state.db).await?;
        let skip = usize::try_from(page.saturating_mul(PLANS_PER_PAGE)).unwrap_or(usize::MAX);
        let per_page = usize::try_from(PLANS_PER_PAGE).unwrap_or(usize::MAX);
        let mut rows: Vec<PlanRow> = rows_of(&state.db, plans, keys::current_mode(state))
            .await?
            .into_iter()
            .filter(|r| r.card_runs_out.is_some() || r.no_card)
            .skip(skip)
            .collect();
        let has_more = rows.len() > per_page;
        rows.truncate(per_page);
        return Ok(PlanList { rows, page, has_more });
    }
    let (plans, has_more) = crate::ssr::repo::page::fetch(&state.db, query, page, PLANS_PER_PAGE).await?;
    let rows = rows_of(&state.db, plans, keys::current_mode(state)).await?;
    Ok(PlanList { rows, page, has_more })
}

/// The list's lines of `plans`: customer, progress, collected, remaining, next date.
///
/// # Errors
/// A row that does not parse, database failure.
pub async fn rows_of(
    db: &impl sea_orm::ConnectionTrait,
    plans: Vec<payment_plan::Model>,
    mode_in_use: KeyMode,
) -> Result<Vec<PlanRow>, ServiceError> {
    let (customers, mut echeances_of) = customers_and_echeances(db, &plans).await?;
    // Each customer's card the due-date run charges (the default first, then the newest), in
    // the mode of each plan.
    let mode_of = |plan: &payment_plan::Model| plan.mode.unwrap_or(mode_in_use);
    let modes: BTreeSet<KeyMode> = plans.iter().map(mode_of).collect();
    let mut card_of: BTreeMap<(KeyMode, i64), payment_method::Model> = BTreeMap::new();
    for mode in modes {
        for card in super::cards::usable_of(mode, customers.keys().copied()).all(db).await? {
            card_of.entry((mode, card.user_id)).or_insert(card);
        }
    }
    let consented: BTreeSet<i64> = plan_consent::Entity::find()
        .select_only()
        .column(plan_consent::Column::PaymentPlanId)
        .filter(plan_consent::Column::PaymentPlanId.is_in(plans.iter().map(|p| p.id)))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    plans
        .into_iter()
        .map(|plan| {
            let rows = echeances_of.remove(&plan.id).unwrap_or_default();
            let (customer, card) = (customers.get(&plan.customer_id), card_of.get(&(mode_of(&plan), plan.customer_id)));
            let consented = consented.contains(&plan.id);
            line(plan, &rows, customer, card, consented, mode_in_use)
        })
        .collect()
}

/// A plan's line in the list, from its échéances in order, its customer, the card the due-date
/// run would charge and whether the customer consented: customer, progress, collected, remaining,
/// next date, card warnings.
///
/// # Errors
/// A currency that does not parse.
fn line(
    plan: payment_plan::Model,
    rows: &[echeance::Model],
    customer: Option<&user::Model>,
    card: Option<&payment_method::Model>,
    consented: bool,
    mode_in_use: KeyMode,
) -> Result<PlanRow, ServiceError> {
    let currency = Currency::parse(&plan.currency).map_err(anyhow::Error::from)?;
    let sum = |minor: i64| Total::of(minor, currency);
    let collected_rows: Vec<&echeance::Model> = rows.iter().filter(|e| e.status.was_collected()).collect();
    let collected: i64 = collected_rows.iter().map(|e| e.amount_cents).sum();
    let remaining: i64 = rows.iter().filter(|e| !e.status.is_settled()).map(|e| e.amount_cents).sum();
    let payable: i64 = rows.iter().filter(|e| e.status.is_payable()).map(|e| e.amount_cents).sum();
    // The card will not last until the plan's last échéance still to collect.
    let last_due = rows.iter().filter(|e| !e.status.is_settled()).map(|e| e.due_date).max();
    let open = !plan.status.is_over() && last_due.is_some();
    let card_runs_out = match (card, last_due) {
        (Some(card), Some(last)) if open && !plan::card_lasts_until(card.exp_month, card.exp_year, last) => {
            Some((u32::try_from(card.exp_month).unwrap_or(0), card.exp_year))
        }
        _ => None,
    };
    Ok(PlanRow {
        card_runs_out,
        // Before the customer's answer the card is still to come; once they consented, a plan with
        // no card to charge is stuck (it stays « en attente du client » until one is saved).
        no_card: open && card.is_none() && (consented || !plan.status.awaits_customer()),
        id: plan.id,
        customer: customer.cloned().map(CustomerRef::from).unwrap_or_default(),
        status: plan.status,
        total: sum(plan.total_cents),
        collected: if collected == 0 { None } else { Some(sum(collected)) },
        remaining: if remaining == 0 { None } else { Some(sum(remaining)) },
        payable: if payable == 0 { None } else { Some(sum(payable)) },
        progress: (
            u32::try_from(collected_rows.len()).unwrap_or(u32::MAX),
            u32::try_from(rows.len()).unwrap_or(u32::MAX),
        ),
        next_due: rows.iter().find(|e| !e.status.is_settled()).map(|e| e.due_date),
        other_mode: keys::other_than(plan.mode, mode_in_use),
        label: plan.label,
    })
}

/// The customers of `plans`, by id, and their échéances in order, by plan id: two queries for any number of plans.
///
/// # Errors
/// Database failure.
pub async fn customers_and_echeances(
    db: &impl sea_orm::ConnectionTrait,
    plans: &[payment_plan::Model],
) -> Result<(BTreeMap<i64, user::Model>, BTreeMap<i64, Vec<echeance::Model>>), ServiceError> {
    let customers = user::Entity::find()
        .filter(user::Column::Id.is_in(plans.iter().map(|p| p.customer_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut echeances_of: BTreeMap<i64, Vec<echeance::Model>> = BTreeMap::new();
    for row in echeance::Entity::find()
        .filter(echeance::Column::PaymentPlanId.is_in(plans.iter().map(|p| p.id)))
        .order_by_asc(echeance::Column::Seq)
        .all(db)
        .await?
    {
        echeances_of.entry(row.payment_plan_id.unwrap_or_default()).or_default().push(row);
    }
    Ok((customers, echeances_of))
}

/// A customer's plans, newest first, as the list shows them.
///
/// # Errors
/// A row that does not parse, database failure.
pub async fn of_customer(
    db: &impl sea_orm::ConnectionTrait,
    customer: UserId,
    mode_in_use: KeyMode,
) -> Result<Vec<PlanRow>, ServiceError> {
    let plans = payment_plan::Entity::find()
        .filter(payment_plan::Column::CustomerId.eq(customer.get()))
        .order_by_desc(payment_plan::Column::Id)
        .all(db)
        .await?;
    rows_of(db, plans, mode_in_use).await
}

/// The status of a plan of `customer` (another customer's plan is `NotFound`).
///
/// # Errors
/// `NotFound`, database failure.
pub async fn status_for(state: &AppState, plan_id: i64, customer: UserId) -> Result<PlanStatus, ServiceError> {
    let plan = payment_plan::Entity::find_by_id(plan_id)
        .filter(payment_plan::Column::CustomerId.eq(customer.get()))
        .one(&state.db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(plan.status)
}

/// A plan just written, as the dashboard shows it.
///
/// # Errors
/// A row that does not parse.
pub fn created_view(created: &CreatedPlan) -> Result<PlanCreated, ServiceError> {
    Ok(PlanCreated {
        id: created.plan.id,
        status: created.plan.status,
        consumer_credit: created.plan.consumer_credit,
        echeances: planned(&created.echeances)?,
    })
}

/// A plan's échéances as the merchant planned them (id, number, date, amount).
///
/// # Errors
/// A row that does not parse.
pub fn planned(rows: &[echeance::Model]) -> Result<Vec<PlannedEcheance>, ServiceError> {
    rows.iter()
        .map(|e| {
            Ok(PlannedEcheance {
                id: e.id,
                seq: e.seq.unwrap_or_default(),
                due_date: e.due_date,
                money: echeances::money(e)?,
            })
        })
        .collect()
}

/// What the plan's collected échéances brought in, what went back and what is kept, once money
/// left or is leaving (a refund sent, pending or succeeded; a chargeback open or lost): each
/// échéance counted as its timeline counts it.
fn money_back<'a>(
    currency: Currency,
    collected: impl Iterator<Item = &'a echeance::Model>,
    refund_rows: &[refund::Model],
    dispute_rows: &[dispute::Model],
) -> Option<RefundTotals> {
    let totals = collected.fold(RefundTotals::none(currency), |totals, e| {
        let refunds = refund_rows.iter().filter(|r| r.echeance_id == e.id).map(|r| (r.status, r.amount_cents));
        // A second payment's dispute holds none of the échéance's own money.
        let disputes = dispute_rows.iter().filter(|d| d.echeance_id == e.id && !d.of_second_payment);
        totals.add(e.amount_cents, refunds, disputes.map(|d| (d.status, d.amount_cents)))
    });
    (totals.kept != totals.paid).then_some(totals)
}

/// How many of a plan's emails its page shows at once (a plan of many échéances over years has
/// hundreds).
const EMAILS_PER_PAGE: u64 = 20;

/// One plan with its customer, consent, échéances and history, and page `emails_page` (from 0)
/// of its emails, newest first, for the dashboard.
///
/// # Errors
/// `NotFound`, a row that does not parse, database failure.
pub async fn view(state: &AppState, plan_id: i64, emails_page: u64) -> Result<PlanView, ServiceError> {
    // One moment of the plan: its échéances, consent and history agree with each other.
    let db = crate::ssr::db::begin_read(&state.db).await?;
    let (plan, rows) = get(&db, plan_id).await?;
    let customer = user::Entity::find_by_id(plan.customer_id).one(&db).await?.ok_or(ServiceError::NotFound)?;
    let in_use = keys::current_mode(state);
    let card = super::cards::usable(plan.mode.unwrap_or(in_use), plan.customer_id).one(&db).await?;
    let can_cancel = !plan.status.is_over() || rows.iter().any(|e| !e.status.is_settled());
    let consumer_credit = plan.consumer_credit;
    let consent = plan_consent::Entity::find().filter(plan_consent::Column::PaymentPlanId.eq(plan_id)).one(&db).await?;
    let summary = line(plan, &rows, Some(&customer), card.as_ref(), consent.is_some(), in_use)?;
    let history = plan_audit::Entity::find()
        .filter(plan_audit::Column::PaymentPlanId.eq(plan_id))
        .order_by_asc(plan_audit::Column::Id)
        .all(&db)
        .await?;
    let actors: Vec<Actor> = history.iter().map(|h| Actor::parse(&h.actor)).collect();
    let names = crate::ssr::repo::users::admin_names(&db, &actors).await?;
    let collected = rows.iter().filter(|e| e.status.was_collected());
    let refund_rows = super::refunds::of_all(&db, collected.clone().map(|e| e.id)).await?;
    let dispute_rows = super::disputes::of_all(&db, collected.clone().map(|e| e.id)).await?;
    let emails = email_outbox::Entity::find()
        .filter(email_outbox::Column::PaymentPlanId.eq(plan_id))
        .order_by_desc(email_outbox::Column::Id);
    let (emails, more_emails) = crate::ssr::repo::page::fetch(&db, emails, emails_page, EMAILS_PER_PAGE).await?;
    db.commit().await?;
    let refund_totals = money_back(summary.total.currency, collected, &refund_rows, &dispute_rows);
    let tz = state.settings.schedule_timezone;
    let local = |ms: i64| from_ms(ms).with_timezone(&tz).naive_local();
    let echeances = rows
        .iter()
        .map(|e| {
            Ok(PlanEcheanceView {
                id: e.id,
                seq: e.seq.unwrap_or_default(),
                due_date: e.due_date,
                money: echeances::money(e)?,
                status: e.status,
            })
        })
        .collect::<Result<_, ServiceError>>()?;
    Ok(PlanView {
        summary,
        consumer_credit,
        consent: consent.map(|c| ConsentView {
            at: local(c.accepted_at),
            ip: c.ip,
            user_agent: c.user_agent,
            version: c.mandate_version,
            text: c.mandate_text,
        }),
        echeances,
        refund_totals,
        history: history
            .into_iter()
            .zip(actors)
            .map(|(h, actor)| PlanHistoryEntry {
                at: local(h.created_at),
                from: h.from_status,
                to: h.to_status,
                cause: h.cause,
                actor_name: names.of(&actor),
                actor,
            })
            .collect(),
        emails: emails
            .into_iter()
            .map(|m| {
                let seq_of = |id: i64| rows.iter().find(|e| e.id == id).map(|e| (id, e.seq.unwrap_or_default()));
                PlanEmail {
                    id: m.id,
                    echeance: m.echeance_id.and_then(seq_of),
                    entry: super::admin::timeline::email_entry(m, tz),
                }
            })
            .collect(),
        emails_page,
        more_emails,
        can_cancel,
    })
}
