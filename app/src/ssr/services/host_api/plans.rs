//! `/v1/plans` and `/v1/echeances`: what the host site calls. Each function
//! reads the raw request, calls the same service the dashboard calls, and
//! answers with the API's objects and errors. Nothing is written when a
//! request is refused.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};

use super::error::{Answer, ApiError};
use super::idempotency::{self, Held};
use super::keys::{self, Caller};
use super::objects::{self, PlanObject, echeance_object_of, parse_id};
use crate::domain::host_api::plan_status_of_token;
use crate::domain::{Actor, Field, Interval, Invalid, LinkHolder, Locale, PlanStatus, ScheduleRequest};
use crate::ssr::db;
use crate::ssr::entities::{echeance, payment_plan, user};
use crate::ssr::services::error::ServiceError;
use crate::ssr::services::invitations;
use crate::ssr::services::plans::{self, NewCustomer, NewPlan};
use crate::ssr::state::AppState;
use crate::ui::i18n::in_language;

/// Who pays: found by email, or created.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// The customer's address (an existing customer with it is reused).
    pub email: String,
    /// Their name.
    pub name: String,
    /// `fr` (default) or `en`: the language of their emails and pages.
    pub locale: Option<String>,
}

/// One échéance of an explicit schedule.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EcheanceInput {
    /// `YYYY-MM-DD`, today or later, after the previous one.
    pub due_date: String,
    /// Minor units (cents), at least Stripe's minimum charge.
    pub amount_cents: i64,
}

/// `POST /v1/plans`: either `total_cents` + `installments` + `first_due_date`
/// (+ `interval`), or `echeances`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlanRequest {
    /// Who pays.
    pub customer: CustomerInput,
    /// What it is for (shown to the customer).
    pub label: String,
    /// `eur`, `usd`, `gbp` or `chf`.
    pub currency: String,
    /// The total, split cent-exact (the remainder goes to the first échéances).
    pub total_cents: Option<i64>,
    /// 1 to 48 (any other 64-bit integer is refused as out of range, with a 422).
    pub installments: Option<i64>,
    /// `YYYY-MM-DD`.
    pub first_due_date: Option<String>,
    /// `month` (default; 31 January gives 28/29 February then 31 March) or `week`.
    pub interval: Option<String>,
    /// The échéances as given, in date order.
    pub echeances: Option<Vec<EcheanceInput>>,
    /// Up to 20 keys of 40 characters, values of 500: kept and echoed back. A key given twice is refused.
    #[serde(default, deserialize_with = "unique_keys")]
    pub metadata: BTreeMap<String, String>,
    /// Email the customer the invitation (default `true`).
    pub send_invitation: Option<bool>,
    /// Where the acceptance page sends the customer back (http or https).
    pub return_url: Option<String>,
}

/// Reads a JSON body into `T`, naming the parameter at fault.
///
/// # Errors
/// A 400 that says which parameter and why.
pub fn read_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("parameter_missing", "The body is empty: send a JSON object."));
    }
    // serde reads a struct from an array too: `[…]` is not the object a parameter list is.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::invalid("invalid_json", "The body must be a JSON object."));
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid("invalid_json", format!("The body is not valid JSON: {inner}."));
        }
        let message = inner.to_string();
        let named = |marker: &str| {
            let rest = message.strip_prefix(marker)?;
            let name = rest.split('`').next()?;
            Some(if path == "." { name.to_owned() } else { format!("{path}.{name}") })
        };
        if let Some(param) = named("missing field `") {
            return ApiError::invalid("parameter_missing", format!("Missing required parameter: {param}.")).on(param);
        }
        // An unknown field is already the last segment of the path.
        let unknown = message.strip_prefix("unknown field `").map(|_| path.clone());
        if let Some(param) = unknown {
            return ApiError::invalid("parameter_unknown", format!("Received unknown parameter: {param}.")).on(param);
        }
        if let Some(param) = named("duplicate field `") {
            return ApiError::invalid("parameter_invalid", format!("Parameter given twice: {param}.")).on(param);
        }
        if path == "." {
            return ApiError::invalid("invalid_json", "The body must be a JSON object.");
        }
        let param = path;
        let message = message.split(" at line ").next().unwrap_or_default().to_owned();
        ApiError::invalid("parameter_invalid", format!("Invalid {param}: {message}.")).on(param)
    })?;
    // One JSON value and nothing after it but white space: `{…}garbage` or two objects in a row
    // is not a request to guess at.
    reader.end().map_err(|e| ApiError::invalid("invalid_json", format!("The body is not valid JSON: {e}.")))?;
    Ok(value)
}

/// An object of strings whose keys are each given once: serde's map would keep the last of two
/// values silently, and what the host meant is not ours to guess.
fn unique_keys<'de, D: serde::Deserializer<'de>>(reader: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct Unique;
    impl<'de> serde::de::Visitor<'de> for Unique {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of strings")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut read = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, String>()? {
                if read.contains_key(&key) {
                    // Worded as serde words a struct's field given twice (see `read_body`).
                    return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
                }
                read.insert(key, value);
            }
            Ok(read)
        }
    }
    reader.deserialize_map(Unique)
}

fn date(value: &str, param: &str) -> Result<NaiveDate, ApiError> {
    // Exactly `YYYY-MM-DD`: chrono alone also reads `27-01-15` as the year 27, `2027-1-5`, signs
    // and spaces.
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    shaped.then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()).flatten().ok_or_else(|| {
        ApiError::invalid("parameter_invalid", format!("Invalid {param}: expected YYYY-MM-DD.")).on(param)
    })
}

fn schedule_of(body: &CreatePlanRequest) -> Result<ScheduleRequest, ApiError> {
    let split = body.total_cents.is_some() || body.installments.is_some() || body.first_due_date.is_some();
    match (&body.echeances, split) {
        (Some(_), true) => Err(ApiError::invalid(
            "parameter_invalid",
            "Give either total_cents, installments and first_due_date, or echeances, not both.",
        )
        .on("echeances")),
        (Some(list), false) => {
            if body.interval.is_some() {
                return Err(
                    ApiError::invalid("parameter_invalid", "interval only goes with total_cents.").on("interval")
                );
            }
            let mut dated = Vec::with_capacity(list.len());
            for (i, e) in list.iter().enumerate() {
                dated.push((date(&e.due_date, &format!("echeances[{i}].due_date"))?, e.amount_cents));
            }
            Ok(ScheduleRequest::Explicit(dated))
        }
        (None, true) => {
            let missing = |name: &str| {
                ApiError::invalid("parameter_missing", format!("Missing required parameter: {name}.")).on(name)
            };
            let total = body.total_cents.ok_or_else(|| missing("total_cents"))?;
            // Out of `u32`'s range is out of the schedule's too: the same refusal as 0 or 49.
            let count = body.installments.ok_or_else(|| missing("installments"))?;
            let count = u32::try_from(count.max(0)).unwrap_or(u32::MAX);
            let first_due =
                date(body.first_due_date.as_deref().ok_or_else(|| missing("first_due_date"))?, "first_due_date")?;
            let interval = match body.interval.as_deref() {
                None => Interval::Month,
                Some(i) => Interval::parse(i).map_err(|_| {
                    ApiError::invalid("parameter_invalid", "Invalid interval: week or month.").on("interval")
                })?,
            };
            Ok(ScheduleRequest::Split { total, count, first_due, interval })
        }
        (None, false) => Err(ApiError::invalid(
            "parameter_missing",
            "Missing the schedule: total_cents, installments and first_due_date, or echeances.",
        )
        .on("total_cents")),
    }
}

fn new_plan(body: CreatePlanRequest) -> Result<NewPlan, ApiError> {
    let schedule = schedule_of(&body)?;
    let locale = match body.customer.locale.as_deref().map(Locale::parse) {
        None => Locale::Fr,
        Some(Ok(locale)) => locale,
        Some(Err(_)) => return Err(ServiceError::from(Invalid::Field(Field::Locale)).into()),
    };
    Ok(NewPlan {
        customer: NewCustomer { email: body.customer.email, name: body.customer.name, locale },
        label: body.label,
        currency: body.currency,
        schedule,
        metadata: body.metadata,
        send_invitation: body.send_invitation.unwrap_or(true),
        return_url: body.return_url,
    })
}

/// The acceptance links the host site may hold (`acceptance_url`), by plan:
/// for a plan still waiting for its customer, until the link expires, and only
/// while its customer is the account the plan created and holds nothing else
/// ([`invitations::host_may_open`]): the link logs its holder in, and an
/// account with a card or another accepted plan is reached through its own
/// inbox, never through a link the host site holds. The link is signed for the
/// host (not the email's), so it stops opening the account once that is no
/// longer so, and carries the customer's language, as the email's does.
struct AcceptanceLinks(HashMap<i64, String>);

impl AcceptanceLinks {
    async fn of(
        state: &AppState,
        db: &impl ConnectionTrait,
        plans: &[payment_plan::Model],
    ) -> Result<Self, ServiceError> {
        let ttl_ms = i64::try_from(state.settings.invitation_ttl.as_millis()).unwrap_or(i64::MAX);
        let expiry = |plan: &payment_plan::Model| plan.created_at.saturating_add(ttl_ms);
        let waiting: Vec<payment_plan::Model> = plans
            .iter()
            .filter(|p| p.status == PlanStatus::EnAttenteClient && p.invitation_used_at.is_none())
            .filter(|p| expiry(p) > state.now_ms())
            .cloned()
            .collect();
        let may_open = invitations::host_may_open_of(db, &waiting).await?;
        let links = waiting
            .iter()
            .filter(|plan| may_open.contains(&plan.id))
            .map(|plan| (plan.id, invitations::link(state, plan.id, plan.customer_id, LinkHolder::Host, expiry(plan))))
            .collect();
        Ok(Self(links))
    }

    fn url(&self, plan: &payment_plan::Model, customer: &user::Model) -> Option<String> {
        self.0.get(&plan.id).map(|link| in_language(link, Locale::from_code(&customer.locale)))
    }
}

/// `POST /v1/plans`.
pub async fn create(state: &AppState, caller: Caller, idempotency_key: Option<&str>, body: &[u8]) -> Answer {
    let fingerprint = idempotency::fingerprint("POST", "/v1/plans", body);
    let held = match idempotency::begin(state, caller, idempotency_key, &fingerprint).await {
        Ok(held) => held,
        Err(answer) => return answer,
    };
    let input = match read_body::<CreatePlanRequest>(body).and_then(new_plan) {
        Ok(input) => input,
        Err(error) => return idempotency::settle(state, held, error.answer()).await,
    };
    let split = matches!(input.schedule, ScheduleRequest::Split { .. });
    match create_and_keep(state, held, &caller, input).await {
        Ok(answer) => answer,
        Err(e) => {
            let error = match e {
                // Consumer credit follows from the dates: a split asked for them with its count.
                ServiceError::Invalid(Invalid::ConsumerCredit) if split => ApiError::from(e).on("installments"),
                e => ApiError::from(e),
            };
            idempotency::settle(state, held, error.answer()).await
        }
    }
}

/// The plan, by the caller's key, and the record of the answer, in one transaction.
async fn create_and_keep(
    state: &AppState,
    held: Option<Held>,
    caller: &Caller,
    input: NewPlan,
) -> Result<Answer, ServiceError> {
    let txn = db::begin_write(&state.db).await?;
    let created = plans::create_in(state, &txn, &Actor::Host(Some(caller.key_id)), input).await?;
    let links = AcceptanceLinks::of(state, &txn, std::slice::from_ref(&created.plan)).await?;
    let object = objects::plan_object(&txn, created.plan, &|p, c| links.url(p, c)).await?;
    let answer = Answer::json(201, &object);
    if let Some(held) = held {
        idempotency::finish(&txn, held, &answer).await?;
    }
    txn.commit().await?;
    state.wake.outbox.notify_one();
    Ok(answer)
}

/// `GET /v1/plans/{id}`.
pub async fn get(state: &AppState, id: &str) -> Answer {
    match find(state, id).await {
        Ok(plan) => Answer::json(200, &plan),
        Err(error) => error.answer(),
    }
}

async fn find(state: &AppState, id: &str) -> Result<PlanObject, ApiError> {
    let id = parse_id("plan", id).ok_or_else(|| ApiError::not_found("plan"))?;
    // One moment of the plan: its échéances and their refunds agree with it.
    let db = crate::ssr::db::begin_read(&state.db).await.map_err(|e| ApiError::from(ServiceError::from(e)))?;
    let plan = in_mode(&db, state, id, ("plan", &objects::plan_id(id))).await?;
    let links = AcceptanceLinks::of(state, &db, std::slice::from_ref(&plan)).await?;
    Ok(objects::plan_object(&db, plan, &|p, c| links.url(p, c)).await?)
}

/// The query of `GET /v1/plans`.
#[derive(Debug, Default)]
pub struct ListQuery {
    /// Only this customer's plans.
    pub customer_email: Option<String>,
    /// Only plans in this status (`active`, …).
    pub status: Option<String>,
    /// 1 to 100 (10).
    pub limit: Option<String>,
    /// The last id of the previous page.
    pub starting_after: Option<String>,
}

/// A page of plans, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PlanList {
    /// `"list"`.
    #[schema(value_type = String)]
    pub object: &'static str,
    /// `/v1/plans`.
    #[schema(value_type = String)]
    pub url: &'static str,
    /// More after the last one (pass its id as `starting_after`).
    pub has_more: bool,
    /// The plans.
    pub data: Vec<PlanObject>,
}

/// `GET /v1/plans?customer_email=&status=&limit=&starting_after=`.
pub async fn list(state: &AppState, query: ListQuery) -> Answer {
    match list_page(state, query).await {
        Ok(answer) => answer,
        Err(error) => error.answer(),
    }
}

async fn list_page(state: &AppState, query: ListQuery) -> Result<Answer, ApiError> {
    let limit: u64 = match query.limit.as_deref() {
        None => 10,
        Some(l) => l.parse().ok().filter(|l| (1..=100).contains(l)).ok_or_else(|| {
            ApiError::invalid("parameter_invalid", "Invalid limit: an integer from 1 to 100.").on("limit")
        })?,
    };
    // One moment of the list: its plans, échéances and refunds agree with each other.
    let db = crate::ssr::db::begin_read(&state.db).await.map_err(|e| ApiError::from(ServiceError::from(e)))?;
    let mut select =
        payment_plan::Entity::find().filter(plans::of_mode_in_use(state)).order_by_desc(payment_plan::Column::Id);
    if let Some(status) = query.status.as_deref() {
        let status = plan_status_of_token(status).ok_or_else(|| {
            ApiError::invalid(
                "parameter_invalid",
                "Invalid status: draft, awaiting_customer, active, completed, defaulted or canceled.",
            )
            .on("status")
        })?;
        select = select.filter(payment_plan::Column::Status.eq(status));
    }
    if let Some(after) = query.starting_after.as_deref() {
        let after = parse_id("plan", after).ok_or_else(|| {
            ApiError::invalid("parameter_invalid", "Invalid starting_after: a plan id.").on("starting_after")
        })?;
        // A cursor is a plan these keys see, as on Stripe: one that is not is said, not read as a bare bound.
        let known = payment_plan::Entity::find_by_id(after)
            .filter(plans::of_mode_in_use(state))
            .count(&db)
            .await
            .map_err(|e| ApiError::from(ServiceError::from(e)))?;
        if known == 0 {
            return Err(ApiError::invalid("resource_missing", format!("No such plan: '{}'.", objects::plan_id(after)))
                .on("starting_after"));
        }
        select = select.filter(payment_plan::Column::Id.lt(after));
    }
    if let Some(email) = query.customer_email.as_deref() {
        // Not an address is a mistake to say, not an empty list (a `+` left unencoded reads as a space).
        let email = crate::domain::Email::parse(email).map_err(|_| {
            ApiError::invalid(
                "parameter_invalid",
                "Invalid customer_email: an email address (a + in it is sent as %2B).",
            )
            .on("customer_email")
        })?;
        let customer: Option<i64> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Email.eq(email.as_str()))
            .into_tuple()
            .one(&db)
            .await
            .map_err(|e| ApiError::from(ServiceError::from(e)))?;
        // An unknown address is an empty list, as on Stripe.
        select = select.filter(payment_plan::Column::CustomerId.eq(customer.unwrap_or(0)));
    }
    let mut plans = select.limit(limit + 1).all(&db).await.map_err(|e| ApiError::from(ServiceError::from(e)))?;
    let has_more = plans.len() as u64 > limit;
    plans.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let links = AcceptanceLinks::of(state, &db, &plans).await?;
    let data = objects::plan_objects(&db, plans, &|p, c| links.url(p, c)).await?;
    Ok(Answer::json(200, &PlanList { object: "list", url: "/v1/plans", has_more, data }))
}

/// `POST /v1/plans/{id}/cancel`: every échéance still to collect is
/// cancelled (a waiting PaymentIntent on Stripe first); refused while a
/// charge is in flight (retry in a minute).
pub async fn cancel(state: &AppState, caller: Caller, idempotency_key: Option<&str>, id: &str, body: &[u8]) -> Answer {
    let path = format!("/v1/plans/{id}/cancel");
    let fingerprint = idempotency::fingerprint("POST", &path, body);
    idempotency::run(state, caller, idempotency_key, &fingerprint, || async {
        let Some(plan_id) = parse_id("plan", id) else { return ApiError::not_found("plan").answer() };
        // No body, or `{}`: a body that is not JSON is told so, a parameter is named, as on POST /v1/plans.
        if !body.iter().all(u8::is_ascii_whitespace) {
            match read_body::<serde_json::Map<String, serde_json::Value>>(body) {
                Ok(parameters) => {
                    if let Some(name) = parameters.keys().next() {
                        return ApiError::invalid(
                            "parameter_unknown",
                            format!("Received unknown parameter: {name}. This request takes none."),
                        )
                        .on(name.clone())
                        .answer();
                    }
                }
                Err(error) => return error.answer(),
            }
        }
        if let Err(missing) = in_mode(&state.db, state, plan_id, ("plan", &objects::plan_id(plan_id))).await {
            return missing.answer();
        }
        match plans::cancel_as(state, plan_id, &Actor::Host(Some(caller.key_id)).stored()).await {
            // The plan is cancelled, some échéance is not yet (Stripe did not confirm): the same request finishes it.
            Ok(done) if done.left > 0 => ApiError::unavailable(
                "cancel_incomplete",
                format!(
                    "The plan is canceled; {} of its installments could not be canceled yet: retry this request.",
                    done.left
                ),
            )
            .answer(),
            Ok(_) => match find(state, id).await {
                Ok(plan) => Answer::json(200, &plan),
                Err(error) => error.answer(),
            },
            Err(ServiceError::NotFound) => ApiError::not_found("plan").answer(),
            Err(e) => ApiError::from(e).answer(),
        }
    })
    .await
}

/// Plan `id`, unless it is not there for the keys in use: as on Stripe, the keys of one mode do
/// not see the other mode's objects, and the 404 says where it is. `what` and `public_id` name
/// what the request asked for (the plan, or one of its échéances), for the 404.
async fn in_mode(
    db: &impl ConnectionTrait,
    state: &AppState,
    id: i64,
    (what, public_id): (&str, &str),
) -> Result<payment_plan::Model, ApiError> {
    let plan = payment_plan::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| ApiError::from(ServiceError::from(e)))?
        .ok_or_else(|| ApiError::not_found(what))?;
    match keys::other_mode(state, plan.mode) {
        Some(mode) => Err(ApiError::of_other_mode(what, public_id, mode)),
        None => Ok(plan),
    }
}

/// `GET /v1/echeances/{id}`.
pub async fn echeance(state: &AppState, id: &str) -> Answer {
    let Some(id) = parse_id("ech", id) else { return ApiError::not_found("echeance").answer() };
    let found = async {
        let from = |e: sea_orm::DbErr| ApiError::from(ServiceError::from(e));
        // One moment of the échéance: its row and its refunds agree.
        let db = crate::ssr::db::begin_read(&state.db).await.map_err(from)?;
        let row = echeance::Entity::find_by_id(id).one(&db).await.map_err(from)?;
        let row = row.ok_or_else(|| ApiError::not_found("echeance"))?;
        // Nor an échéance of the other mode's plan.
        if let Some(plan) = row.payment_plan_id {
            in_mode(&db, state, plan, ("echeance", &objects::echeance_id(id))).await?;
        }
        echeance_object_of(&db, &row).await.map_err(|e| match e {
            ServiceError::NotFound => ApiError::not_found("echeance"),
            e => ApiError::from(e),
        })
    };
    match found.await {
        Ok(object) => Answer::json(200, &object),
        Err(error) => error.answer(),
    }
}
