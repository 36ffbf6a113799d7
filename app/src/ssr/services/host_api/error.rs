//! The API's answers and errors as the host's developers know them from
//! Stripe: `{"error": {"type", "code", "message", "param"}}`, stable English
//! codes, the HTTP status that says what to do (fix the request, log in,
//! wait, retry). A service's refusal is translated here and only here.

use serde::Serialize;

use crate::domain::host_api::HostEvent;
use crate::domain::{Field, Invalid, KeyMode, PlanField, PlanProblem, Refusal};
use crate::ssr::services::error::ServiceError;

/// A response as sent, and as kept for an idempotent replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
    /// Seconds to wait (a 429).
    pub retry_after: Option<u64>,
    /// "Not now": the same request may succeed later, so an idempotency key
    /// is given back instead of keeping this answer.
    pub transient: bool,
}

impl Answer {
    /// `value` as JSON with `status`.
    #[must_use]
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
        Self { status, body, retry_after: None, transient: false }
    }

    /// Whether a retry under the same idempotency key gets this answer again. Not a "not now"
    /// (the same request may succeed later), nor a request refused before anything ran — a `400`
    /// that does not read, a `422` whose values are refused: as Stripe keeps no answer for a
    /// validation failure, the host may correct the request and send it with the same key.
    #[must_use]
    pub fn replayed(&self) -> bool {
        !self.transient && !matches!(self.status, 400 | 422)
    }
}

/// What went wrong, for the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    /// HTTP status (not in the body).
    #[serde(skip)]
    pub status: u16,
    /// `invalid_request_error`, `authentication_error`, `idempotency_error`, `rate_limit_error`, `api_error`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// A stable token (`parameter_invalid`, `amount_below_minimum`, …).
    #[schema(value_type = String)]
    pub code: &'static str,
    /// For the developer reading the log, in English.
    pub message: String,
    /// The parameter at fault (`customer.email`, `echeances[2].amount_cents`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// Seconds to wait (a 429; sent as `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// Retrying the same request later may succeed (a charge in flight, a 429).
    #[serde(skip)]
    pub transient: bool,
}

/// Every error's body: `{"error": {…}}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ApiError,
}

impl ApiError {
    fn new(status: u16, kind: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, kind, code, message: message.into(), param: None, retry_after: None, transient: status >= 500 }
    }

    /// Names the parameter at fault.
    #[must_use]
    pub fn on(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// 400: the request does not read.
    #[must_use]
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", code, message)
    }

    /// 422: the request reads, and is refused (a schedule Stripe could not collect, consumer credit).
    #[must_use]
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(422, "invalid_request_error", code, message)
    }

    /// 404.
    #[must_use]
    pub fn not_found(what: &str) -> Self {
        Self::new(404, "invalid_request_error", "resource_missing", format!("No such {what}."))
    }

    /// 404 for an object of mode `mode` asked for with the other mode's key, worded as Stripe's
    /// (the host sees which keys it needs).
    #[must_use]
    pub fn of_other_mode(what: &str, id: &str, mode: KeyMode) -> Self {
        let (mode, used) = (mode.as_str(), mode.other().as_str());
        Self::new(
            404,
            "invalid_request_error",
            "resource_missing",
            format!(
                "No such {what}: '{id}'; a similar object exists in {mode} mode, but a {used} mode key was used to make this request."
            ),
        )
    }

    /// 413: a body over the API's limit.
    #[must_use]
    pub fn too_large(max_bytes: usize) -> Self {
        Self::new(
            413,
            "invalid_request_error",
            "request_too_large",
            format!("The request body is over {} KB.", max_bytes / 1024),
        )
    }

    /// 404 for a path that is not in the API.
    #[must_use]
    pub fn unrecognized_url() -> Self {
        Self::new(404, "invalid_request_error", "resource_missing", "Unrecognized request URL: see /v1/openapi.json.")
    }

    /// 503: not done this time, nothing lost; the same request may be retried.
    #[must_use]
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(503, "api_error", code, message)
    }

    /// 401: no key, a wrong one, a revoked one — one answer for all.
    #[must_use]
    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "authentication_error",
            "invalid_api_key",
            "Missing or invalid API key: send `Authorization: Bearer ek_…`.",
        )
    }

    /// 429 with the seconds to wait.
    #[must_use]
    pub fn rate_limited(wait_ms: i64) -> Self {
        let secs = u64::try_from(wait_ms.max(1)).unwrap_or(1).div_ceil(1000).max(1);
        Self {
            retry_after: Some(secs),
            transient: true,
            ..Self::new(429, "rate_limit_error", "rate_limit", "Too many requests with this key; retry later.")
        }
    }

    /// 409: the request conflicts with the resource's state.
    #[must_use]
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(409, "invalid_request_error", code, message)
    }

    /// The same `Idempotency-Key` with another request.
    #[must_use]
    pub fn idempotency_mismatch() -> Self {
        Self::new(
            400,
            "idempotency_error",
            "idempotency_key_reused",
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
        )
    }

    /// The same `Idempotency-Key` while its first request is still running.
    #[must_use]
    pub fn idempotency_in_use() -> Self {
        Self::new(
            409,
            "idempotency_error",
            "idempotency_key_in_use",
            "A request with this idempotency key is still being processed; retry in a moment.",
        )
    }

    /// 500: ours (logged where it happened).
    #[must_use]
    pub fn internal() -> Self {
        Self::new(500, "api_error", "internal_error", "Something went wrong on our side; retry later.")
    }

    /// The answer to send.
    #[must_use]
    pub fn answer(&self) -> Answer {
        Answer {
            retry_after: self.retry_after,
            transient: self.transient,
            ..Answer::json(self.status, &ErrorResponse { error: self.clone() })
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound | ServiceError::Forbidden | ServiceError::InvalidLink => Self::not_found("object"),
            ServiceError::Refused(refusal) => refused(refusal),
            ServiceError::Invalid(invalid) => of_invalid(&invalid),
            ServiceError::Unauthenticated | ServiceError::WrongCredentials => Self::unauthorized(),
            ServiceError::RateLimited => Self::rate_limited(1000),
            ServiceError::Unavailable => {
                Self::unavailable("stripe_unavailable", "Stripe did not answer; nothing changed, retry.")
            }
            ServiceError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "unexpected failure in the REST API");
                Self::internal()
            }
        }
    }
}

fn refused(refusal: Refusal) -> ApiError {
    // (code, whether the same request may succeed later)
    let (code, transient) = match refusal {
        Refusal::PlanOver => ("plan_over", false),
        Refusal::AlreadyInProgress => ("charge_in_progress", true),
        Refusal::AwaitingCustomer => ("awaiting_customer", false),
        Refusal::Cancelled => ("canceled", false),
        Refusal::Settled | Refusal::PaidMeanwhile => ("already_settled", false),
        Refusal::CancelNotConfirmed | Refusal::StripeRefused | Refusal::UnknownToStripe => ("stripe_refused", true),
        Refusal::ReconcileRunning | Refusal::LegacyPaymentPending | Refusal::RestorePending => {
            ("try_again_later", true)
        }
        Refusal::NotPayableNow
        | Refusal::NoLongerDue
        | Refusal::NotDueYet
        | Refusal::NotAwaitingAuthentication
        | Refusal::NothingToAuthenticate
        | Refusal::NothingToReview
        | Refusal::LinkExpired
        | Refusal::DueDateFixed
        | Refusal::LastAdmin
        | Refusal::SecondFactorSetupRequired
        | Refusal::SecondFactorRequired
        | Refusal::SecondFactorOn
        | Refusal::SecondFactorOff
        | Refusal::EnrolmentGone
        | Refusal::SecondFactorUnreadable
        | Refusal::ErasureBlocked
        | Refusal::ErasureLegacyToReview
        | Refusal::NotCollected
        | Refusal::Disputed
        | Refusal::FullyRefunded => ("not_applicable", false),
        Refusal::RefundsChanged => ("refunds_changed", false),
        Refusal::AccountClosed => ("account_closed", false),
        Refusal::LegacyPaymentToReview => ("payment_to_review", false),
        Refusal::NotAccepted => ("plan_not_accepted", false),
        Refusal::OtherMode => ("other_mode", false),
        Refusal::TermsChanged => ("terms_changed", false),
    };
    ApiError { transient, ..ApiError::conflict(code, format!("Refused: {refusal}.")) }
}

/// The API's name of a field.
#[must_use]
pub fn param_of_field(field: Field) -> Option<&'static str> {
    Some(match field {
        Field::Email => "customer.email",
        Field::Name => "customer.name",
        Field::Locale => "customer.locale",
        Field::Label => "label",
        Field::Metadata => "metadata",
        Field::ReturnUrl => "return_url",
        Field::EndpointUrl => "url",
        Field::EventTypes => "enabled_events",
        Field::Description => "description",
        Field::DueDate => "due_date",
        Field::Status => "status",
        Field::Amount => "amount_cents",
        Field::DueFrom
        | Field::DueTo
        | Field::AmountMin
        | Field::AmountMax
        | Field::EmailKind
        | Field::Password
        | Field::Confirmation
        | Field::Reason
        | Field::CardFilter => {
            return None;
        }
    })
}

/// What a valid value of an API parameter is, said in its refusal.
fn expected_of_field(field: Field) -> Option<String> {
    Some(match field {
        Field::Email => "an email address".to_owned(),
        Field::Name | Field::Label => "one line of 1 to 200 characters".to_owned(),
        Field::Locale => "fr or en".to_owned(),
        Field::Metadata => {
            "at most 20 keys of 1 to 40 characters without control characters, values of at most 500 characters"
                .to_owned()
        }
        Field::ReturnUrl => "an absolute http or https address of at most 2,000 characters".to_owned(),
        Field::EndpointUrl => "an https address (http outside production) of at most 2,000 characters, \
             with no user name or password; in production, a public host"
            .to_owned(),
        Field::EventTypes => {
            let names: Vec<&str> = HostEvent::ALL.iter().map(|e| e.as_str()).collect();
            format!("a non-empty list of \"*\" or of {}", names.join(", "))
        }
        Field::Description => "at most 200 characters".to_owned(),
        _ => return None,
    })
}

/// The API's name of a part of a schedule.
#[must_use]
pub fn param_of_plan_field(field: PlanField) -> String {
    match field {
        PlanField::Currency => "currency".to_owned(),
        PlanField::Total => "total_cents".to_owned(),
        PlanField::Count => "installments".to_owned(),
        PlanField::FirstDueDate => "first_due_date".to_owned(),
        PlanField::Interval => "interval".to_owned(),
        PlanField::Echeances => "echeances".to_owned(),
        PlanField::DueDate(seq) => format!("echeances[{}].due_date", seq.saturating_sub(1)),
        PlanField::Amount(seq) => format!("echeances[{}].amount_cents", seq.saturating_sub(1)),
    }
}

fn problem_code(problem: PlanProblem) -> (&'static str, String) {
    match problem {
        PlanProblem::UnsupportedCurrency => {
            ("currency_unsupported", "not a currency collected here (eur, usd, gbp, chf)".to_owned())
        }
        PlanProblem::NotPositive => ("amount_not_positive", "must be positive".to_owned()),
        PlanProblem::TooLarge => ("amount_too_large", "above what one charge may be".to_owned()),
        PlanProblem::BelowMinimum(minimum) => {
            ("amount_below_minimum", format!("below Stripe's minimum charge of {minimum}"))
        }
        PlanProblem::CountOutOfRange => ("installments_out_of_range", "between 1 and 48 échéances".to_owned()),
        PlanProblem::InThePast => ("date_in_the_past", "before today".to_owned()),
        PlanProblem::OutOfOrder => ("dates_out_of_order", "not after the previous échéance's date".to_owned()),
        PlanProblem::OutsideNeighbours => {
            ("dates_out_of_order", "outside the previous and next échéances' dates".to_owned())
        }
        PlanProblem::DateOutOfRange => ("date_out_of_range", "beyond the calendar".to_owned()),
        PlanProblem::TooFarAhead => {
            ("date_out_of_range", format!("more than {} years from today", crate::domain::plan::MAX_YEARS_AHEAD))
        }
        PlanProblem::Unreadable => ("parameter_invalid", "does not read".to_owned()),
    }
}

fn of_invalid(invalid: &Invalid) -> ApiError {
    match invalid {
        Invalid::Field(field) => {
            let param = param_of_field(*field).unwrap_or("parameter");
            let message = match expected_of_field(*field) {
                Some(expected) => format!("Invalid {param}: expected {expected}."),
                None => format!("Invalid {param}."),
            };
            let error = ApiError::invalid("parameter_invalid", message);
            match param_of_field(*field) {
                Some(param) => error.on(param),
                None => error,
            }
        }
        Invalid::Schedule(problems) => {
            let Some(first) = problems.0.first() else {
                return ApiError::unprocessable("parameter_invalid", "The schedule is refused.");
            };
            let described: Vec<String> = problems
                .0
                .iter()
                .map(|p| format!("{}: {}", param_of_plan_field(p.field), problem_code(p.problem).1))
                .collect();
            ApiError::unprocessable(problem_code(first.problem).0, format!("The schedule is refused: {}.", described.join("; ")))
                .on(param_of_plan_field(first.field))
        }
        Invalid::ConsumerCredit => ApiError::unprocessable(
            "consumer_credit_refused",
            "The last échéance falls more than three months after the first: consumer credit (Code de la consommation, art. L312-4), refused by this installation.",
        )
        .on("echeances"),
        Invalid::BelowMinimum(minimum) => {
            ApiError::unprocessable("amount_below_minimum", format!("Below Stripe's minimum charge of {minimum}."))
                .on("amount_cents")
        }
        Invalid::DateRangeInverted => ApiError::invalid("parameter_invalid", "The date range is inverted."),
        Invalid::NoCard | Invalid::CardNotConfirmed | Invalid::CardRefused | Invalid::CardsOnly => {
            ApiError::unprocessable("card_unusable", "The customer's card cannot be used.")
        }
        Invalid::RefundTooLarge(left) => {
            ApiError::unprocessable("amount_too_large", format!("More than the {left} left to refund.")).on("amount_cents")
        }
        Invalid::TooManyEndpoints(max) => ApiError::invalid(
            "webhook_endpoint_limit",
            format!("At most {max} webhook endpoints are enabled at once for these keys' mode: delete one first."),
        ),
        Invalid::InvitationNeeded => ApiError::unprocessable(
            "invitation_required",
            "This customer already has an account: their acceptance link is only ever emailed to them, never handed to the host. Send the plan with send_invitation: true.",
        )
        .on("send_invitation"),
        Invalid::AdminEmail => ApiError::unprocessable(
            "email_is_admin",
            "This address is an administrator's account: a plan is for a customer, at another address.",
        )
        .on("customer.email"),
        Invalid::Template(_)
        | Invalid::Fixture(_)
        | Invalid::EmailTaken
        | Invalid::WrongPassword
        | Invalid::WrongCode
        | Invalid::WrongSetupCode => {
            ApiError::invalid("parameter_invalid", "Invalid request.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ScheduleInvalid;
    use crate::domain::plan::FieldProblem;

    #[test]
    fn errors_have_the_shape_stripe_sdks_read() {
        let answer = ApiError::invalid("parameter_missing", "Missing label.").on("label").answer();
        assert_eq!(answer.status, 400);
        let body: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "parameter_missing");
        assert_eq!(body["error"]["param"], "label");
        assert!(body["error"]["message"].is_string());
    }

    #[test]
    fn a_schedule_problem_names_its_parameter_and_code() {
        let problems = ScheduleInvalid(vec![
            FieldProblem { field: PlanField::Amount(3), problem: PlanProblem::NotPositive },
            FieldProblem { field: PlanField::DueDate(1), problem: PlanProblem::InThePast },
        ]);
        let error = ApiError::from(ServiceError::Invalid(Invalid::Schedule(problems)));
        assert_eq!(error.status, 422);
        assert_eq!(error.code, "amount_not_positive");
        assert_eq!(error.param.as_deref(), Some("echeances[2].amount_cents"));
        assert!(error.message.contains("echeances[0].due_date"), "every problem is in the message: {}", error.message);
    }

    #[test]
    fn not_now_is_told_apart_from_never() {
        assert!(ApiError::from(ServiceError::Refused(Refusal::AlreadyInProgress)).answer().transient);
        assert!(ApiError::rate_limited(10).answer().transient);
        assert!(ApiError::internal().answer().transient);
        assert!(!ApiError::from(ServiceError::Refused(Refusal::PlanOver)).answer().transient);
        assert!(!ApiError::invalid("parameter_invalid", "x").answer().transient);
    }

    #[test]
    fn a_key_replays_what_ran_and_gives_back_what_did_not_run_or_may_change() {
        assert!(Answer::json(201, &"plan").replayed());
        assert!(ApiError::from(ServiceError::Refused(Refusal::AccountClosed)).answer().replayed());
        assert!(ApiError::not_found("plan").answer().replayed());
        assert!(!ApiError::invalid("parameter_invalid", "x").answer().replayed(), "400: did not run");
        assert!(!ApiError::from(ServiceError::Invalid(Invalid::InvitationNeeded)).answer().replayed(), "422");
        assert!(!ApiError::from(ServiceError::Refused(Refusal::AlreadyInProgress)).answer().replayed());
        assert!(!ApiError::internal().answer().replayed());
    }

    #[test]
    fn a_429_says_how_long_to_wait_in_whole_seconds() {
        assert_eq!(ApiError::rate_limited(1).retry_after, Some(1));
        assert_eq!(ApiError::rate_limited(1500).retry_after, Some(2));
        assert_eq!(ApiError::rate_limited(1500).answer().retry_after, Some(2));
    }
}
