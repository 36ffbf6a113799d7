//! Every interface text, in one file per language (`app/locales/fr.toml`,
//! `app/locales/en.toml`, read by `app/build.rs` into [`Texts`]), and the
//! functions that word the product's data (statuses, refusals, timeline
//! entries…) in the reader's language. Phrases that hold values are written
//! whole with `{name}` placeholders ([`fill`]); plurals follow each
//! language's rule ([`Plural`]).

use leptos::prelude::*;

use crate::api::dto::{RefundTotals, TimelineEvent};
use crate::api::error::AppError;
use crate::domain::plan::FieldProblem;
use crate::domain::{
    Actor, AttemptOutcome, Cause, ChargeOrigin, DeclineReason, DisputeStatus, EcheanceStatus, EmailKind, Field,
    InboxStatus, Invalid, Locale, OutboxStatus, PlanField, PlanProblem, PlanStatus, ReconcileProblem, ReconcileStep,
    RefundReason, RefundStatus, Refusal, StripeList, StripeObject, SystemJob, Trouble,
};
use crate::ui::stripe_js::JsFailure;

/// The locale of this page ([`locale_of_page`]); in the browser, read back from
/// `<html lang>` (which the server wrote), so both sides render the same thing.
#[must_use]
pub fn page_locale() -> Locale {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>().map(|p| locale_of_page(&p)).unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .map(|e| Locale::from_code(&e.get_attribute("lang").unwrap_or_default()))
            .unwrap_or_default()
    }
}

/// The locale a request asks for: the `lang` cookie (set by `/lang/en`), else
/// the browser's `Accept-Language` when it names French or English, else French.
#[cfg(feature = "ssr")]
#[must_use]
pub fn locale_of_request(headers: &http::HeaderMap) -> Locale {
    locale_asked(headers, None)
}

/// The locale a page is rendered in: the `lang` cookie (this browser's choice), else the
/// link's `lang` parameter (an emailed link names the language its email was written in, the
/// reader's on the account), else as [`locale_of_request`].
#[cfg(feature = "ssr")]
#[must_use]
pub fn locale_of_page(parts: &http::request::Parts) -> Locale {
    locale_asked(&parts.headers, parts.uri.query())
}

/// The language a link asks for (its `lang` parameter) on a browser that has chosen none:
/// the page remembers it as if chosen (the `lang` cookie), so the pages after it speak it too.
#[cfg(feature = "ssr")]
#[must_use]
pub fn link_language(parts: &http::request::Parts) -> Option<Locale> {
    lang_cookie(&parts.headers).is_none().then(|| lang_parameter(parts.uri.query())).flatten()
}

/// The `lang` cookie that remembers `locale` for a year (`/lang/en`, a link's language).
#[must_use]
pub fn lang_cookie_value(locale: Locale) -> String {
    format!("lang={}; Path=/; SameSite=Lax; Max-Age=31536000", locale.code())
}

#[cfg(feature = "ssr")]
fn lang_cookie(headers: &http::HeaderMap) -> Option<Locale> {
    headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).and_then(|c| {
        c.split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == "lang")
            .map(|(_, v)| Locale::from_code(v))
    })
}

#[cfg(feature = "ssr")]
fn lang_parameter(query: Option<&str>) -> Option<Locale> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == "lang").and_then(|(_, v)| Locale::parse(&v).ok())
}

/// The locale a request asks for: the `lang` cookie, else its query's `lang` parameter, else
/// `Accept-Language`, else French.
#[cfg(feature = "ssr")]
#[must_use]
fn locale_asked(headers: &http::HeaderMap, query: Option<&str>) -> Locale {
    lang_cookie(headers)
        .or_else(|| lang_parameter(query))
        .or_else(|| {
            headers.get(http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Locale::preferred)
        })
        .unwrap_or_default()
}

/// `url` with its reader's language as the `lang` parameter ([`locale_of_page`]): the page an
/// email's link opens speaks the email's language, whatever the browser prefers.
#[must_use]
pub fn in_language(url: &str, locale: Locale) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}lang={}", locale.code())
}

/// The texts of the current page's locale (from context).
#[must_use]
pub fn texts() -> &'static Texts {
    Texts::of(use_context::<Locale>().unwrap_or_default())
}

/// A word or phrase whose form depends on a count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plural {
    /// One (French: zero or one).
    pub one: &'static str,
    /// Many.
    pub other: &'static str,
}

impl Plural {
    /// The form for `n` in `locale`, with `{n}` filled in.
    #[must_use]
    pub fn of(&self, n: u64, locale: Locale) -> String {
        let singular = match locale {
            Locale::Fr => n <= 1,
            Locale::En => n == 1,
        };
        fill(if singular { self.one } else { self.other }, &[("n", &n.to_string())])
    }
}

/// Declares the texts: a `&'static str` per phrase and a [`Plural`] per counted word.
macro_rules! texts {
    (phrases { $($phrase:ident),+ $(,)? } plurals { $($plural:ident),+ $(,)? }) => {
        /// Every interface text of one language (the values are in `locales/fr.toml` and `locales/en.toml`).
        #[derive(Debug)]
        #[allow(missing_docs)]
        pub struct Texts {
            $(pub $phrase: &'static str,)+
            $(pub $plural: Plural,)+
        }

        impl Texts {
            /// Every phrase, by name.
            #[must_use]
            pub fn phrases(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($phrase), self.$phrase)),+]
            }

            /// Every plural, by name.
            #[must_use]
            pub fn plurals(&self) -> Vec<(&'static str, Plural)> {
                vec![$((stringify!($plural), self.$plural)),+]
            }
        }
    };
}

// The keys and both languages' values, made by `build.rs` from `locales/*.toml`:
// `texts! { phrases { … } plurals { … } }`, then `const FR: Texts` and `const EN: Texts`.
include!(concat!(env!("OUT_DIR"), "/texts.rs"));

impl Texts {
    /// The texts of `locale`.
    #[must_use]
    pub fn of(locale: Locale) -> &'static Self {
        match locale {
            Locale::Fr => &FR,
            Locale::En => &EN,
        }
    }
}

/// Fills `{name}` placeholders.
#[must_use]
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

/// Fills `{name}` placeholders and keeps a technical value apart (a machine's word — an event type,
/// a code — stays one inside a sentence); the words around it read as one worded piece.
#[must_use]
pub fn fill_parts(template: &str, values: &[(&str, Detail)]) -> Vec<Detail> {
    let mut parts = Vec::new();
    let mut worded = String::new();
    let mut rest = template;
    while let Some((before, after)) = rest.split_once('{') {
        worded.push_str(before);
        let value = after
            .split_once('}')
            .and_then(|(name, tail)| values.iter().find(|(n, _)| *n == name).map(|(_, value)| (value, tail)));
        match value {
            Some((value, tail)) => {
                match value {
                    Detail::Worded(text) => worded.push_str(text),
                    Detail::Technical(_) => {
                        if !worded.is_empty() {
                            parts.push(Detail::Worded(std::mem::take(&mut worded)));
                        }
                        parts.push(value.clone());
                    }
                }
                rest = tail;
            }
            None => {
                worded.push('{');
                rest = after;
            }
        }
    }
    worded.push_str(rest);
    if !worded.is_empty() {
        parts.push(Detail::Worded(worded));
    }
    parts
}

/// The label of a status, as customers and admins read it.
#[must_use]
pub fn status_label(status: EcheanceStatus, locale: Locale) -> &'static str {
    let tx = Texts::of(locale);
    match status {
        EcheanceStatus::APayer => tx.status_a_payer,
        EcheanceStatus::EnCours => tx.status_en_cours,
        EcheanceStatus::EnAttente => tx.status_en_attente,
        EcheanceStatus::Payee => tx.status_payee,
        EcheanceStatus::Echouee => tx.status_echouee,
        EcheanceStatus::EchoueeDefinitive => tx.status_echouee_definitive,
        EcheanceStatus::Annulee => tx.status_annulee,
        EcheanceStatus::Remboursee => tx.status_remboursee,
        EcheanceStatus::Contestee => tx.status_contestee,
    }
}

/// Why a payment was declined, in words the customer can act on.
#[must_use]
pub fn decline_reason_text(reason: DeclineReason, tx: &Texts) -> &'static str {
    match reason {
        DeclineReason::InsufficientFunds => tx.decline_insufficient_funds,
        DeclineReason::ExpiredCard => tx.decline_expired_card,
        DeclineReason::IncorrectDetails => tx.decline_incorrect_details,
        DeclineReason::LimitReached => tx.decline_limit_reached,
        DeclineReason::TryAgain => tx.decline_try_again,
        DeclineReason::Declined => tx.decline_declined,
    }
}

/// Where a dispute stands (Stripe's status), as an admin reads it.
#[must_use]
pub fn dispute_status_label(status: DisputeStatus, tx: &Texts) -> &'static str {
    match status {
        DisputeStatus::NeedsResponse => tx.dispute_status_open,
        DisputeStatus::WarningNeedsResponse => tx.dispute_status_inquiry,
        DisputeStatus::Won | DisputeStatus::WarningClosed => tx.dispute_status_won,
        DisputeStatus::Lost => tx.dispute_status_lost,
        DisputeStatus::Prevented => tx.dispute_status_prevented,
        DisputeStatus::UnderReview | DisputeStatus::WarningUnderReview => tx.dispute_status_review,
    }
}

/// A dispute's status inside a sentence of its history (« réponse attendue → en cours d’examen »).
#[must_use]
pub fn dispute_status_word(status: DisputeStatus, tx: &Texts) -> &'static str {
    match status {
        DisputeStatus::NeedsResponse => tx.dispute_word_needs_response,
        DisputeStatus::WarningNeedsResponse => tx.dispute_word_inquiry,
        DisputeStatus::UnderReview => tx.dispute_word_under_review,
        DisputeStatus::WarningUnderReview => tx.dispute_word_inquiry_review,
        DisputeStatus::Won => tx.dispute_word_won,
        DisputeStatus::WarningClosed => tx.dispute_word_inquiry_closed,
        DisputeStatus::Lost => tx.dispute_word_lost,
        DisputeStatus::Prevented => tx.dispute_word_prevented,
    }
}

/// A dispute's reason (Stripe's code), in words; a code not known here as it is.
#[must_use]
pub fn dispute_reason_text<'a>(code: &'a str, tx: &Texts) -> &'a str {
    match code {
        "fraudulent" => tx.dispute_reason_fraudulent,
        "product_not_received" => tx.dispute_reason_not_received,
        "product_unacceptable" => tx.dispute_reason_unacceptable,
        "duplicate" => tx.dispute_reason_duplicate,
        "subscription_canceled" => tx.dispute_reason_canceled,
        "credit_not_processed" => tx.dispute_reason_credit_not_processed,
        "unrecognized" => tx.dispute_reason_unrecognized,
        "general" => tx.dispute_reason_general,
        other => other,
    }
}

/// Why a refund failed or was refused (Stripe's code, or ours), in words; a code not known here as it is.
#[must_use]
pub fn refund_failure_text<'a>(code: &'a str, tx: &Texts) -> &'a str {
    match code {
        "expired_or_canceled_card" | "lost_or_stolen_card" => tx.refund_failure_card,
        "never_sent" => tx.refund_failure_never_sent,
        "charge_disputed" => tx.refund_failure_disputed,
        "charge_already_refunded" => tx.refund_failure_already_refunded,
        "amount_too_large" => tx.refund_failure_too_large,
        "stripe_refused" => tx.refund_failure_refused,
        other => other,
    }
}

/// What was collected, went back, is going back (asked, not yet succeeded) and is kept, in a line.
#[must_use]
pub fn refund_totals_text(totals: RefundTotals, locale: Locale, tx: &Texts) -> String {
    let money = |minor: i64| totals.currency.format_minor(minor, locale);
    let (paid, refunded, kept) = (money(totals.paid), money(totals.refunded), money(totals.kept));
    if totals.leaving > 0 {
        let leaving = money(totals.leaving);
        let values = [("paid", paid.as_str()), ("refunded", &refunded), ("leaving", &leaving), ("kept", &kept)];
        fill(tx.refund_totals_leaving, &values)
    } else {
        fill(tx.refund_totals, &[("paid", &paid), ("refunded", &refunded), ("kept", &kept)])
    }
}

/// Where a refund stands, as an admin reads it.
#[must_use]
pub fn refund_status_label(status: RefundStatus, tx: &Texts) -> &'static str {
    match status {
        RefundStatus::Requested => tx.refund_status_requested,
        RefundStatus::Pending => tx.refund_status_pending,
        RefundStatus::RequiresAction => tx.refund_status_requires_action,
        RefundStatus::Succeeded => tx.refund_status_succeeded,
        RefundStatus::Failed => tx.refund_status_failed,
        RefundStatus::Canceled => tx.refund_status_canceled,
        RefundStatus::Refused => tx.refund_status_refused,
    }
}

/// Where a refund stands, as a word inside a sentence (a timeline line).
#[must_use]
pub fn refund_status_word(status: RefundStatus, tx: &Texts) -> &'static str {
    match status {
        RefundStatus::Requested => tx.refund_word_requested,
        RefundStatus::Pending => tx.refund_word_pending,
        RefundStatus::RequiresAction => tx.refund_word_requires_action,
        RefundStatus::Succeeded => tx.refund_word_succeeded,
        RefundStatus::Failed => tx.refund_word_failed,
        RefundStatus::Canceled => tx.refund_word_canceled,
        RefundStatus::Refused => tx.refund_word_refused,
    }
}

/// Why a refund was made.
#[must_use]
pub fn refund_reason_label(reason: Option<RefundReason>, tx: &Texts) -> &'static str {
    match reason {
        Some(RefundReason::RequestedByCustomer) => tx.refund_reason_requested_by_customer,
        Some(RefundReason::Duplicate) => tx.refund_reason_duplicate,
        Some(RefundReason::Fraudulent) => tx.refund_reason_fraudulent,
        None => tx.refund_reason_none,
    }
}

/// The name of an email kind.
#[must_use]
pub fn email_kind_label(kind: EmailKind, tx: &Texts) -> &'static str {
    match kind {
        EmailKind::AuthenticationRequired => tx.kind_authentication_required,
        EmailKind::Reminder => tx.kind_reminder,
        EmailKind::PaymentFailed => tx.kind_payment_failed,
        EmailKind::PaymentReceived => tx.kind_payment_received,
        EmailKind::Invitation => tx.kind_invitation,
        EmailKind::SetPassword => tx.kind_set_password,
        EmailKind::LoginLink => tx.kind_login_link,
        EmailKind::PasswordReset => tx.kind_password_reset,
        EmailKind::UpcomingDebit => tx.kind_upcoming_debit,
        EmailKind::PlanSummary => tx.kind_plan_summary,
        EmailKind::PlanCompleted => tx.kind_plan_completed,
        EmailKind::PlanInDefault => tx.kind_plan_in_default,
        EmailKind::AdminPlanInDefault => tx.kind_admin_plan_in_default,
        EmailKind::CardExpiring => tx.kind_card_expiring,
        EmailKind::AdminDisputeOpened => tx.kind_admin_dispute_opened,
    }
}

/// A sentence for the person in front of the screen: what happened and what to do.
#[must_use]
pub fn error_message(error: &AppError, locale: Locale) -> String {
    let tx = Texts::of(locale);
    match error {
        AppError::Unauthenticated => tx.err_unauthenticated.to_owned(),
        AppError::WrongCredentials => tx.err_wrong_credentials.to_owned(),
        AppError::Forbidden => tx.err_forbidden.to_owned(),
        AppError::NotFound => tx.err_not_found.to_owned(),
        AppError::Invalid(invalid) => invalid_text(invalid, tx, locale),
        AppError::Refused(refusal) => refusal_text(*refusal, tx).to_owned(),
        AppError::RateLimited => tx.err_rate_limited.to_owned(),
        AppError::InvalidLink => tx.err_invalid_link.to_owned(),
        AppError::Unavailable => tx.err_unavailable.to_owned(),
        AppError::Internal => tx.err_internal.to_owned(),
        // The server could not read what was sent (a field missing or not of its kind): not the network.
        AppError::Request(ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_)) => {
            tx.err_unreadable_request.to_owned()
        }
        AppError::Request(_) => tx.err_request.to_owned(),
    }
}

/// The same, for an administrator acting on a customer's échéance: where the customer's
/// sentence tells its reader what to do (authenticate, add a card, save the card again), the
/// administrator's says what the customer has to do and what the administrator can.
#[must_use]
pub fn admin_error_message(error: &AppError, locale: Locale) -> String {
    let tx = Texts::of(locale);
    match error {
        AppError::Refused(Refusal::AwaitingCustomer) => tx.admin_refused_awaiting_customer.to_owned(),
        AppError::Refused(Refusal::StripeRefused) => tx.admin_refused_stripe_refused.to_owned(),
        AppError::Refused(Refusal::UnknownToStripe) => tx.admin_refused_unknown_to_stripe.to_owned(),
        AppError::Refused(Refusal::LegacyPaymentToReview) => tx.admin_refused_legacy_payment_to_review.to_owned(),
        AppError::Invalid(Invalid::NoCard) => tx.admin_invalid_no_card.to_owned(),
        other => error_message(other, locale),
    }
}

/// [`admin_error_message`] in pieces: what the template engine said of a template, or of the
/// preview's variables, is set apart.
#[must_use]
pub fn admin_error_parts(error: &AppError, locale: Locale) -> Vec<Detail> {
    let tx = Texts::of(locale);
    let (template, said) = match error {
        AppError::Invalid(Invalid::Template(said)) => (tx.invalid_template, said),
        AppError::Invalid(Invalid::Fixture(said)) => (tx.invalid_fixture, said),
        other => return vec![Detail::Worded(admin_error_message(other, locale))],
    };
    fill_parts(template, &[("error", Detail::Technical(said.clone()))])
}

/// Why an action was refused.
#[must_use]
pub fn refusal_text(refusal: Refusal, tx: &Texts) -> &'static str {
    match refusal {
        Refusal::AlreadyInProgress => tx.refused_already_in_progress,
        Refusal::AwaitingCustomer => tx.refused_awaiting_customer,
        Refusal::Cancelled => tx.refused_cancelled,
        Refusal::Settled => tx.refused_settled,
        Refusal::NotPayableNow => tx.refused_not_payable,
        Refusal::NoLongerDue => tx.refused_no_longer_due,
        Refusal::NotDueYet => tx.refused_not_due_yet,
        Refusal::PaidMeanwhile => tx.refused_paid_meanwhile,
        Refusal::CancelNotConfirmed => tx.refused_cancel_not_confirmed,
        Refusal::NotAwaitingAuthentication => tx.refused_not_awaiting_authentication,
        Refusal::NothingToAuthenticate => tx.refused_nothing_to_authenticate,
        Refusal::LegacyPaymentPending => tx.refused_legacy_payment_pending,
        Refusal::LegacyPaymentToReview => tx.refused_legacy_payment_to_review,
        Refusal::NothingToReview => tx.refused_nothing_to_review,
        Refusal::LinkExpired => tx.refused_link_expired,
        Refusal::ReconcileRunning => tx.refused_reconcile_running,
        Refusal::RestorePending => tx.refused_restore_pending,
        Refusal::LastAdmin => tx.refused_last_admin,
        Refusal::ErasureBlocked => tx.refused_erasure_blocked,
        Refusal::ErasureLegacyToReview => tx.refused_erasure_legacy_to_review,
        Refusal::AccountClosed => tx.refused_account_closed,
        Refusal::NotAccepted => tx.refused_not_accepted,
        Refusal::OtherMode => tx.refused_other_mode,
        Refusal::TermsChanged => tx.refused_terms_changed,
        Refusal::SecondFactorSetupRequired => tx.refused_second_factor_setup_required,
        Refusal::SecondFactorRequired => tx.refused_second_factor_required,
        Refusal::SecondFactorOn => tx.refused_second_factor_on,
        Refusal::SecondFactorOff => tx.refused_second_factor_off,
        Refusal::EnrolmentGone => tx.refused_enrolment_gone,
        Refusal::SecondFactorUnreadable => tx.refused_second_factor_unreadable,
        Refusal::StripeRefused => tx.refused_stripe_refused,
        Refusal::UnknownToStripe => tx.refused_unknown_to_stripe,
        Refusal::PlanOver => tx.refused_plan_over,
        Refusal::DueDateFixed => tx.refused_due_date_fixed,
        Refusal::NotCollected => tx.refused_not_collected,
        Refusal::Disputed => tx.refused_disputed,
        Refusal::FullyRefunded => tx.refused_fully_refunded,
        Refusal::RefundsChanged => tx.refused_refunds_changed,
    }
}

/// Why input was refused.
#[must_use]
pub fn invalid_text(invalid: &Invalid, tx: &Texts, locale: Locale) -> String {
    match invalid {
        Invalid::Field(field) => fill(tx.invalid_field, &[("field", field_name(*field, tx))]),
        Invalid::DateRangeInverted => tx.invalid_date_range.to_owned(),
        Invalid::NoCard => tx.invalid_no_card.to_owned(),
        Invalid::CardNotConfirmed => tx.invalid_card_not_confirmed.to_owned(),
        Invalid::CardRefused => tx.invalid_card_refused.to_owned(),
        Invalid::CardsOnly => tx.invalid_cards_only.to_owned(),
        Invalid::WrongPassword => tx.invalid_wrong_password.to_owned(),
        Invalid::WrongCode => tx.invalid_wrong_code.to_owned(),
        Invalid::WrongSetupCode => tx.invalid_wrong_setup_code.to_owned(),
        Invalid::Template(error) => fill(tx.invalid_template, &[("error", error)]),
        Invalid::BelowMinimum(minimum) => fill(tx.invalid_below_minimum, &[("minimum", &minimum.format(locale))]),
        Invalid::Schedule(invalid) => {
            invalid.0.iter().map(|p| plan_problem_text(p, tx, locale)).collect::<Vec<_>>().join(tx.list_separator)
        }
        Invalid::ConsumerCredit => tx.invalid_consumer_credit.to_owned(),
        Invalid::EmailTaken => tx.invalid_email_taken.to_owned(),
        Invalid::InvitationNeeded => tx.invalid_invitation_needed.to_owned(),
        Invalid::AdminEmail => tx.invalid_admin_email.to_owned(),
        Invalid::RefundTooLarge(left) => fill(tx.invalid_refund_too_large, &[("left", &left.format(locale))]),
        Invalid::TooManyEndpoints(max) => fill(tx.invalid_too_many_endpoints, &[("max", &max.to_string())]),
        Invalid::Fixture(error) => fill(tx.invalid_fixture, &[("error", error)]),
    }
}

fn field_name(field: Field, tx: &Texts) -> &'static str {
    match field {
        Field::Status => tx.field_status,
        Field::CardFilter => tx.field_card_filter,
        Field::DueFrom => tx.field_due_from,
        Field::DueTo => tx.field_due_to,
        Field::AmountMin => tx.field_amount_min,
        Field::AmountMax => tx.field_amount_max,
        Field::EmailKind => tx.field_email_kind,
        Field::Locale => tx.field_locale,
        Field::Email => tx.field_email,
        Field::Name => tx.field_name,
        Field::Label => tx.field_label,
        Field::DueDate => tx.field_due_date,
        Field::Metadata => tx.field_metadata,
        Field::ReturnUrl => tx.field_return_url,
        Field::EndpointUrl => tx.field_endpoint_url,
        Field::EventTypes => tx.field_event_types,
        Field::Description => tx.field_description,
        Field::Password => tx.field_password,
        Field::Confirmation => tx.field_confirmation,
        Field::Amount => tx.field_amount,
        Field::Reason => tx.field_reason,
    }
}

/// A moment as a person reads it, in the time zone `at` is already in: « 10/06/2027 à 06:00 »,
/// "10 Jun 2027 at 06:00" (when a link stops working: at that time of its last day).
#[must_use]
pub fn format_moment(at: chrono::NaiveDateTime, locale: Locale) -> String {
    let time = at.format("%H:%M").to_string();
    fill(Texts::of(locale).date_at_time, &[("date", &locale.format_date(at.date())), ("time", &time)])
}

/// One refused field of a plan's schedule, worded: « montant de l'échéance 3 : inférieur à 0,50 € ».
#[must_use]
pub fn plan_problem_text(problem: &FieldProblem, tx: &Texts, locale: Locale) -> String {
    let field = match problem.field {
        PlanField::Currency => tx.plan_field_currency.to_owned(),
        PlanField::Total => tx.plan_field_total.to_owned(),
        PlanField::Count => tx.plan_field_count.to_owned(),
        PlanField::FirstDueDate => tx.plan_field_first_due.to_owned(),
        PlanField::Interval => tx.plan_field_interval.to_owned(),
        PlanField::Echeances => tx.plan_field_echeances.to_owned(),
        PlanField::DueDate(seq) => fill(tx.plan_field_due_date, &[("seq", &seq.to_string())]),
        PlanField::Amount(seq) => fill(tx.plan_field_amount, &[("seq", &seq.to_string())]),
    };
    let why = match problem.problem {
        PlanProblem::UnsupportedCurrency => tx.plan_problem_unsupported_currency.to_owned(),
        PlanProblem::NotPositive => tx.plan_problem_not_positive.to_owned(),
        PlanProblem::TooLarge => tx.plan_problem_too_large.to_owned(),
        PlanProblem::BelowMinimum(minimum) => {
            fill(tx.plan_problem_below_minimum, &[("minimum", &minimum.format(locale))])
        }
        PlanProblem::CountOutOfRange => {
            fill(tx.plan_problem_count, &[("max", &crate::domain::plan::MAX_ECHEANCES.to_string())])
        }
        PlanProblem::InThePast => tx.plan_problem_in_the_past.to_owned(),
        PlanProblem::OutOfOrder => tx.plan_problem_out_of_order.to_owned(),
        PlanProblem::OutsideNeighbours => tx.plan_problem_outside_neighbours.to_owned(),
        PlanProblem::DateOutOfRange => tx.plan_problem_date_out_of_range.to_owned(),
        PlanProblem::TooFarAhead => {
            fill(tx.plan_problem_too_far_ahead, &[("years", &crate::domain::plan::MAX_YEARS_AHEAD.to_string())])
        }
        PlanProblem::Unreadable => tx.plan_problem_unreadable.to_owned(),
    };
    fill(tx.invalid_schedule_item, &[("field", &field), ("problem", &why)])
}

/// What the off-session mandate names: who may charge, for what, how much, when.
#[derive(Clone, Copy, Debug)]
pub struct MandateTerms<'a> {
    /// Who is authorised (`MERCHANT_NAME`).
    pub merchant: &'a str,
    /// The plan's label.
    pub label: &'a str,
    /// How many échéances.
    pub count: usize,
    /// Their total.
    pub total: crate::domain::Total,
    /// First due date.
    pub first: chrono::NaiveDate,
    /// Last due date.
    pub last: chrono::NaiveDate,
}

/// The off-session mandate the customer accepts, as shown on the acceptance
/// page and stored with the consent.
#[must_use]
pub fn mandate_text(terms: &MandateTerms<'_>, locale: Locale) -> String {
    fill(
        &Texts::of(locale).mandate.of(u64::try_from(terms.count).unwrap_or(u64::MAX), locale),
        &[
            ("merchant", terms.merchant),
            ("label", terms.label),
            ("total", &terms.total.format(locale)),
            ("first", &locale.format_date(terms.first)),
            ("last", &locale.format_date(terms.last)),
        ],
    )
}

/// A plan's status, in words.
#[must_use]
pub fn plan_status_label(status: PlanStatus, tx: &Texts) -> &'static str {
    match status {
        PlanStatus::Brouillon => tx.plan_status_brouillon,
        PlanStatus::EnAttenteClient => tx.plan_status_en_attente_client,
        PlanStatus::Actif => tx.plan_status_actif,
        PlanStatus::Termine => tx.plan_status_termine,
        PlanStatus::EnDefaut => tx.plan_status_en_defaut,
        PlanStatus::Annule => tx.plan_status_annule,
    }
}

fn origin_label(origin: ChargeOrigin, tx: &Texts) -> &'static str {
    match origin {
        ChargeOrigin::Customer => tx.origin_customer,
        ChargeOrigin::Admin => tx.origin_admin,
        ChargeOrigin::DueDate => tx.origin_due_date,
        ChargeOrigin::AutoRetry => tx.origin_auto_retry,
        ChargeOrigin::Restored => tx.origin_restored,
    }
}

fn outcome_label(outcome: AttemptOutcome, tx: &Texts) -> &'static str {
    match outcome {
        AttemptOutcome::Pending => tx.outcome_pending,
        AttemptOutcome::Unknown => tx.outcome_unknown,
        AttemptOutcome::Processing => tx.outcome_processing,
        AttemptOutcome::RequiresAction => tx.outcome_requires_action,
        AttemptOutcome::Succeeded => tx.outcome_succeeded,
        AttemptOutcome::Declined => tx.outcome_declined,
        AttemptOutcome::Canceled => tx.outcome_canceled,
    }
}

/// Why a status changed, in words.
#[must_use]
pub fn cause_label(cause: Cause, tx: &Texts) -> &'static str {
    match cause {
        Cause::Charge => tx.cause_charge,
        Cause::Schedule => tx.cause_schedule,
        Cause::Webhook => tx.cause_webhook,
        Cause::Confirm => tx.cause_confirm,
        Cause::Reconciler => tx.cause_reconciler,
        Cause::Admin => tx.cause_admin,
        Cause::Recovery => tx.cause_recovery,
        Cause::Customer => tx.cause_customer,
    }
}

fn inbox_label(status: InboxStatus, tx: &Texts) -> &'static str {
    match status {
        InboxStatus::Pending => tx.inbox_pending,
        InboxStatus::Processed => tx.inbox_processed,
        InboxStatus::Ignored => tx.inbox_ignored,
        InboxStatus::Failed => tx.inbox_failed,
    }
}

fn outbox_label(status: OutboxStatus, tx: &Texts) -> &'static str {
    match status {
        OutboxStatus::Pending => tx.outbox_pending,
        OutboxStatus::Sent => tx.outbox_sent,
        OutboxStatus::Failed => tx.outbox_failed,
        OutboxStatus::Cancelled => tx.outbox_cancelled,
    }
}

/// Why Stripe.js could not act, worded (Stripe's own message as it is).
#[must_use]
pub fn js_failure_text(failure: &JsFailure, locale: Locale) -> String {
    let tx = Texts::of(locale);
    match failure {
        JsFailure::NotReady => tx.js_not_ready.to_owned(),
        JsFailure::NoCardForm => tx.js_no_card_form.to_owned(),
        JsFailure::Incomplete => tx.js_incomplete.to_owned(),
        JsFailure::BrowserOnly => tx.js_browser_only.to_owned(),
        JsFailure::Stripe(message) => message.clone(),
    }
}

/// Why an email or a host webhook was not delivered, in words (what a
/// transport or the template engine said stays as it said it).
#[must_use]
pub fn trouble_text(trouble: &Trouble, locale: Locale) -> String {
    Detail::joined(&trouble_parts(trouble, locale))
}

/// [`trouble_text`] in pieces, as the pages show it: what a transport or the template engine said
/// is set apart.
#[must_use]
pub fn trouble_parts(trouble: &Trouble, locale: Locale) -> Vec<Detail> {
    let tx = Texts::of(locale);
    let worded = match trouble {
        Trouble::EcheanceNow { status, due_date: None } => {
            fill(tx.trouble_echeance_now, &[("status", status_label(*status, locale))])
        }
        Trouble::EcheanceNow { status, due_date: Some(date) } => fill(
            tx.trouble_echeance_now_due,
            &[("status", status_label(*status, locale)), ("date", &locale.format_date(*date))],
        ),
        Trouble::PlanNow(status) => fill(tx.trouble_plan_now, &[("status", plan_status_label(*status, tx))]),
        Trouble::CardReplaced => tx.trouble_card_replaced.to_owned(),
        Trouble::NoDebitMissed => tx.trouble_no_debit_missed.to_owned(),
        Trouble::ChargeUnderWay => tx.trouble_charge_under_way.to_owned(),
        Trouble::OtherMode(_) => tx.trouble_other_mode.to_owned(),
        Trouble::LinkExpired => tx.trouble_link_expired.to_owned(),
        Trouble::Superseded => tx.trouble_superseded.to_owned(),
        Trouble::EndpointDeleted => tx.trouble_endpoint_deleted.to_owned(),
        Trouble::UrlUnreadable => tx.trouble_url_unreadable.to_owned(),
        Trouble::NotPublic => tx.trouble_not_public.to_owned(),
        Trouble::NoHttpClient => tx.trouble_no_http_client.to_owned(),
        Trouble::Answered(status) => fill(tx.trouble_answered, &[("status", &status.to_string())]),
        Trouble::Timeout => tx.trouble_timeout.to_owned(),
        Trouble::NotReached(detail) => {
            return fill_parts(tx.trouble_not_reached, &[("detail", Detail::Technical(detail.clone()))]);
        }
        Trouble::Other(text) => return vec![Detail::Technical(text.clone())],
    };
    vec![Detail::Worded(worded)]
}

/// A reconcile report's problem in the reader's language, around its technical cause (set apart:
/// Stripe's, the adapter's or the database's own words).
#[must_use]
pub fn problem_parts(problem: &ReconcileProblem, locale: Locale) -> Vec<Detail> {
    let tx = Texts::of(locale);
    // The phrase with its other values, the technical cause set apart where `{detail}` stands.
    let around = |template: &str, values: &[(&str, &str)], detail: &str| -> Vec<Detail> {
        let mut values: Vec<(&str, Detail)> =
            values.iter().map(|(name, value)| (*name, Detail::Worded((*value).to_owned()))).collect();
        values.push(("detail", Detail::Technical(detail.to_owned())));
        fill_parts(template, &values).into_iter().filter(|piece| !piece.text().is_empty()).collect()
    };
    match problem {
        ReconcileProblem::Echeance { id, detail } => around(tx.rp_echeance, &[("id", &id.to_string())], detail),
        ReconcileProblem::Session { echeance, detail } => {
            around(tx.rp_session, &[("id", &echeance.to_string())], detail)
        }
        ReconcileProblem::Object { kind, id, detail } => {
            let kind = match kind {
                StripeObject::Dispute => tx.rp_dispute,
                StripeObject::Refund => tx.rp_refund,
                StripeObject::Charge => tx.rp_charge,
                StripeObject::PaymentIntent => tx.rp_payment_intent,
                StripeObject::Event => tx.rp_event,
            };
            around(tx.rp_object, &[("kind", kind), ("id", id)], detail)
        }
        ReconcileProblem::EarlierEpoch { payment_intent, detail } => {
            around(tx.rp_earlier_epoch, &[("id", payment_intent)], detail)
        }
        ReconcileProblem::Listing { list, detail } => {
            let list = match list {
                StripeList::Refunds => tx.rp_list_refunds,
                StripeList::Disputes => tx.rp_list_disputes,
                StripeList::RefundsOfPayment => tx.rp_list_refunds_of_payment,
            };
            around(tx.rp_listing, &[("list", list)], detail)
        }
        ReconcileProblem::ListingFellBack { detail } => around(tx.rp_listing_fell_back, &[], detail),
        ReconcileProblem::Step { step, detail } => {
            let step = match step {
                ReconcileStep::RequeueFailedWebhooks => tx.rp_requeue_failed_webhooks,
                ReconcileStep::LateSuccesses => tx.rp_late_successes,
                ReconcileStep::ApplyReplayedEvents => tx.rp_apply_replayed_events,
                ReconcileStep::ErasedCustomersLeft => tx.rp_erased_customers_left,
            };
            around(tx.rp_step, &[("step", step)], detail)
        }
        ReconcileProblem::ReplayUnavailable { detail } => around(tx.rp_replay_unavailable, &[], detail),
        ReconcileProblem::Written { text } => vec![Detail::Technical(text.clone())],
    }
}

/// [`problem_parts`] as one line of text.
#[must_use]
pub fn problem_text(problem: &ReconcileProblem, locale: Locale) -> String {
    Detail::joined(&problem_parts(problem, locale))
}

/// How a page names a customer: by their name, or as erased (the stored pseudonym is French).
#[must_use]
pub fn customer_shown<'a>(customer: &'a crate::api::dto::CustomerRef, tx: &'a Texts) -> &'a str {
    if customer.erased { tx.erased_customer } else { &customer.name }
}

/// A customer named as [`customer_shown`] does, followed by their address: « Alice Martin <alice@…> ».
#[must_use]
pub fn customer_line(customer: &crate::api::dto::CustomerRef, tx: &Texts) -> String {
    format!("{} <{}>", customer_shown(customer, tx), customer.email)
}

/// Who made a change, in the reader's language: an admin by `name` (else their number), the
/// customer, the host site, Stripe, or the app's own job.
#[must_use]
pub fn actor_text(actor: &Actor, name: Option<&str>, tx: &Texts) -> String {
    match actor {
        Actor::Admin(id) => {
            name.map_or_else(|| fill(tx.actor_admin_unnamed, &[("id", &id.to_string())]), str::to_owned)
        }
        Actor::Customer(_) => tx.actor_customer.to_owned(),
        Actor::CustomerLink => tx.actor_customer_link.to_owned(),
        Actor::Host(None) => tx.actor_host.to_owned(),
        Actor::Host(Some(key)) => fill(tx.actor_host_key, &[("id", &key.to_string())]),
        Actor::Stripe(None) => tx.actor_stripe.to_owned(),
        Actor::Stripe(Some(event)) => fill(tx.actor_stripe_event, &[("event", event)]),
        Actor::System(SystemJob::Unnamed) => tx.actor_app.to_owned(),
        Actor::System(job) => fill(tx.actor_system, &[("job", job_label(*job, tx))]),
        Actor::CommandLine => tx.actor_command_line.to_owned(),
        Actor::Unknown(stored) => stored.clone(),
    }
}

/// What the app was doing on its own.
#[must_use]
pub fn job_label(job: SystemJob, tx: &Texts) -> &'static str {
    match job {
        SystemJob::DueDate => tx.job_due_date,
        SystemJob::Nightly => tx.job_nightly,
        SystemJob::Retry => tx.job_retry,
        SystemJob::Resume => tx.job_resume,
        SystemJob::Reconciler => tx.job_reconciler,
        SystemJob::LinkExpiry => tx.job_link_expiry,
        SystemJob::SeedDemo => tx.job_seed_demo,
        SystemJob::SeedCustomer => tx.job_seed_customer,
        SystemJob::Unnamed => tx.actor_app,
    }
}

/// A date and time as people of this locale write them.
#[must_use]
pub fn format_datetime(at: chrono::NaiveDateTime, tx: &Texts) -> String {
    at.format(tx.datetime_format).to_string()
}

/// One detail of a timeline entry: worded in the reader's language, or technical — an id, or
/// Stripe's, the adapter's or a mail server's own words as they said them —, which the page sets
/// apart as code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    /// In the reader's language.
    Worded(String),
    /// As the machine said it.
    Technical(String),
}

impl Detail {
    /// The text, either way.
    #[must_use]
    pub fn text(&self) -> &str {
        match self {
            Self::Worded(text) | Self::Technical(text) => text,
        }
    }

    /// The text of `parts` read in a row, as the page shows them.
    #[must_use]
    pub fn joined(parts: &[Self]) -> String {
        parts.iter().map(Self::text).collect()
    }
}

/// A history line's cause and who made it, worded.
fn cause_and_actor(cause: Cause, actor: &Actor, name: Option<&str>, tx: &Texts) -> [Detail; 2] {
    [
        Detail::Worded(fill(tx.tl_cause, &[("cause", cause_label(cause, tx))])),
        Detail::Worded(fill(tx.tl_by, &[("actor", &actor_text(actor, name, tx))])),
    ]
}

/// A timeline entry, worded: (kind label, title, details), the title and each detail in pieces: a
/// machine's word inside a sentence (Stripe's event type, a decline code, a key) stays its own.
#[must_use]
pub fn timeline_text(event: &TimelineEvent, locale: Locale) -> (&'static str, Vec<Detail>, Vec<Vec<Detail>>) {
    let tx = Texts::of(locale);
    let technical =
        |template: &str, name: &str, value: &str| fill_parts(template, &[(name, Detail::Technical(value.to_owned()))]);
    match event {
        TimelineEvent::Attempt { no, origin, outcome, payment_intent, key, error_code, decline_code, stripe_calls } => {
            let title = fill(
                tx.tl_attempt,
                &[
                    ("n", &no.to_string()),
                    ("origin", origin_label(*origin, tx)),
                    ("outcome", outcome_label(*outcome, tx)),
                ],
            );
            let details = [
                payment_intent.as_ref().map(|p| vec![Detail::Technical(format!("PaymentIntent {p}"))]),
                Some(technical(tx.tl_key, "key", key)),
                error_code.as_deref().map(|code| technical(tx.tl_code, "code", code)),
                decline_code.as_deref().map(|code| technical(tx.tl_decline, "code", code)),
                Some(vec![Detail::Worded(tx.stripe_calls_count.of(u64::try_from(*stripe_calls).unwrap_or(0), locale))]),
            ];
            (tx.kind_attempt, vec![Detail::Worded(title)], details.into_iter().flatten().collect())
        }
        TimelineEvent::Webhook { event_type, status, event_id, moved, note, last_error } => {
            let title = fill_parts(
                tx.tl_webhook,
                &[
                    ("type", Detail::Technical(event_type.clone())),
                    ("status", Detail::Worded(inbox_label(*status, tx).to_owned())),
                ],
            );
            let moved = moved.map(|(from, to)| {
                fill(tx.tl_audit, &[("from", status_label(from, locale)), ("to", status_label(to, locale))])
            });
            let details = [
                Some(Detail::Technical(event_id.clone())),
                moved.map(Detail::Worded),
                note.clone().map(Detail::Technical),
                last_error.clone().map(Detail::Technical),
            ]
            .map(|detail| detail.map(|d| vec![d]));
            (tx.kind_webhook, title, details.into_iter().flatten().collect())
        }
        TimelineEvent::Email { kind, status, attempts, to, sent_at, last_error } => {
            let tries = tx.tries.of(u64::try_from(*attempts).unwrap_or(0), locale);
            let title = fill(
                tx.tl_email,
                &[("kind", email_kind_label(*kind, tx)), ("status", outbox_label(*status, tx)), ("tries", &tries)],
            );
            let details = [
                Some(vec![Detail::Worded(fill(tx.tl_to, &[("to", to)]))]),
                sent_at.map(|at| vec![Detail::Worded(fill(tx.tl_sent_on, &[("at", &format_datetime(at, tx))]))]),
                last_error.as_ref().map(|t| trouble_parts(t, locale)),
            ];
            (tx.kind_email, vec![Detail::Worded(title)], details.into_iter().flatten().collect())
        }
        TimelineEvent::Audit { from, to, event: _, cause, actor, actor_name, detail } => {
            // A note (a refund's news, a legacy session let go) leaves the status as it was.
            let title = match from {
                Some(from) if from == to => fill(tx.tl_unchanged, &[("status", status_label(*to, locale))]),
                _ => {
                    let from = from.map_or(tx.tl_created, |s| status_label(s, locale));
                    fill(tx.tl_audit, &[("from", from), ("to", status_label(*to, locale))])
                }
            };
            let [cause, by] = cause_and_actor(*cause, actor, actor_name.as_deref(), tx);
            let details =
                [Some(cause), Some(by), detail.clone().map(Detail::Technical)].map(|detail| detail.map(|d| vec![d]));
            (tx.kind_audit, vec![Detail::Worded(title)], details.into_iter().flatten().collect())
        }
        TimelineEvent::Rescheduled { dates, actor, actor_name } => {
            let (from, to) = (locale.format_date(dates.from), locale.format_date(dates.to));
            let title = fill(tx.tl_rescheduled, &[("from", &from), ("to", &to)]);
            let [cause, by] = cause_and_actor(Cause::Admin, actor, actor_name.as_deref(), tx);
            (tx.kind_audit, vec![Detail::Worded(title)], vec![vec![cause], vec![by]])
        }
        TimelineEvent::Refund { news, cause, actor, actor_name } => {
            let n = (i64::from(news.seq) + 1).to_string();
            let amount = news.currency.format_minor(news.amount, locale);
            let to = refund_status_word(news.to, tx);
            let title = match news.from {
                Some(from) => {
                    let moved =
                        [("n", n.as_str()), ("amount", &amount), ("from", refund_status_word(from, tx)), ("to", to)];
                    fill(tx.tl_refund_moved, &moved)
                }
                // Asked for here starts « requested »; one Stripe lists was made elsewhere.
                None if news.to == RefundStatus::Requested => {
                    fill(tx.tl_refund_new, &[("n", &n), ("amount", &amount), ("status", to)])
                }
                None => fill(tx.tl_refund_elsewhere, &[("n", &n), ("amount", &amount), ("status", to)]),
            };
            let why = news.why.as_deref().map(|code| match refund_failure_text(code, tx) {
                worded if worded != code => vec![Detail::Worded(fill(tx.tl_refund_why, &[("why", worded)]))],
                _ => technical(tx.tl_refund_why, "why", code),
            });
            let [cause, by] = cause_and_actor(*cause, actor, actor_name.as_deref(), tx);
            let details = [
                Some(vec![cause]),
                Some(vec![by]),
                why,
                news.refund.as_deref().map(|id| technical(tx.tl_refund_id, "id", id)),
            ];
            (tx.kind_refund, vec![Detail::Worded(title)], details.into_iter().flatten().collect())
        }
        TimelineEvent::Dispute { news, cause, actor, actor_name } => {
            let amount = news.currency.format_minor(news.amount, locale);
            let to = dispute_status_word(news.to, tx);
            let title = match news.from {
                Some(from) => fill(
                    tx.tl_dispute_moved,
                    &[("amount", &amount), ("from", dispute_status_word(from, tx)), ("to", to)],
                ),
                None => fill(tx.tl_dispute_new, &[("amount", &amount), ("status", to)]),
            };
            let reason = news.reason.as_deref().map(|code| match dispute_reason_text(code, tx) {
                worded if worded != code => vec![Detail::Worded(fill(tx.tl_dispute_reason, &[("reason", worded)]))],
                _ => technical(tx.tl_dispute_reason, "reason", code),
            });
            let [cause, by] = cause_and_actor(*cause, actor, actor_name.as_deref(), tx);
            let second = news.of_second_payment.then(|| vec![Detail::Worded(tx.dispute_of_second_payment.to_owned())]);
            let details = [
                second,
                Some(vec![cause]),
                Some(vec![by]),
                reason,
                Some(technical(tx.tl_dispute_id, "id", &news.dispute)),
            ];
            (tx.kind_dispute, vec![Detail::Worded(title)], details.into_iter().flatten().collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_sentence_keeps_its_values_apart_and_reads_as_fill_does() {
        let code = || Detail::Technical("charge.refunded".to_owned());
        let parts =
            fill_parts("{type} ({status}) {type}", &[("type", code()), ("status", Detail::Worded("traité".into()))]);
        let worded = |text: &str| Detail::Worded(text.to_owned());
        assert_eq!(parts, [code(), worded(" (traité) "), code()]);
        // A brace that names no value stays as written, as with `fill`.
        let template = "{a} {unknown} {b";
        let parts = fill_parts(template, &[("a", worded("x"))]);
        assert_eq!(parts, [worded("x {unknown} {b")]);
        assert_eq!(Detail::joined(&parts), fill(template, &[("a", "x")]));
        assert_eq!(fill_parts("", &[]), []);
    }

    #[test]
    fn a_reconcile_problems_cause_is_set_apart_where_its_phrase_says() {
        let technical = |text: &str| Detail::Technical(text.to_owned());
        let worded = |text: &str| Detail::Worded(text.to_owned());
        let fell_back = ReconcileProblem::ListingFellBack { detail: "HTTP 500".to_owned() };
        let parts = problem_parts(&fell_back, Locale::En);
        assert_eq!(parts[..2], [worded("Stripe’s list of PaymentIntents could not be read ("), technical("HTTP 500")]);
        assert_eq!(parts.len(), 3, "the phrase goes on after the cause");
        // A cause the phrase ends on leaves no empty piece after it; nor does an empty cause.
        let echeance = |detail: &str| ReconcileProblem::Echeance { id: 7, detail: detail.to_owned() };
        assert_eq!(problem_parts(&echeance("timeout"), Locale::En).last(), Some(&technical("timeout")));
        assert!(problem_parts(&echeance(""), Locale::En).iter().all(|piece| !piece.text().is_empty()));
        assert_eq!(problem_text(&fell_back, Locale::En), Detail::joined(&parts));
    }

    #[test]
    fn what_the_template_engine_said_is_set_apart_and_reads_as_the_message_does() {
        let said = "syntax error: unexpected end of input (in subject:1)".to_owned();
        for error in
            [AppError::Invalid(Invalid::Template(said.clone())), AppError::Invalid(Invalid::Fixture(said.clone()))]
        {
            for locale in [Locale::Fr, Locale::En] {
                let parts = admin_error_parts(&error, locale);
                assert_eq!(parts.last(), Some(&Detail::Technical(said.clone())), "{error:?}");
                assert_eq!(Detail::joined(&parts), admin_error_message(&error, locale));
            }
        }
        let other = AppError::Refused(Refusal::AwaitingCustomer);
        assert_eq!(admin_error_parts(&other, Locale::Fr), [Detail::Worded(admin_error_message(&other, Locale::Fr))]);
    }

    #[test]
    fn a_request_the_server_could_not_read_is_not_called_a_network_failure() {
        for locale in [Locale::Fr, Locale::En] {
            let tx = Texts::of(locale);
            // What the server answers for `echeance_id=abc`, or a field left out.
            let unread = [
                ServerFnErrorErr::Args("invalid digit found in string".into()),
                ServerFnErrorErr::MissingArg("echeance_id".into()),
            ];
            for error in unread {
                assert_eq!(error_message(&AppError::Request(error), locale), tx.err_unreadable_request);
            }
            let offline = AppError::Request(ServerFnErrorErr::Request("connection refused".into()));
            assert_eq!(error_message(&offline, locale), tx.err_request);
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_lang_cookie_beats_the_browser_language_which_beats_french() {
        let request = |pairs: &[(http::header::HeaderName, &str)]| {
            let mut headers = http::HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(name.clone(), http::HeaderValue::from_str(value).expect("header"));
            }
            locale_of_request(&headers)
        };
        use http::header::{ACCEPT_LANGUAGE, COOKIE};
        assert_eq!(request(&[]), Locale::Fr);
        assert_eq!(request(&[(ACCEPT_LANGUAGE, "en-GB,en;q=0.9")]), Locale::En);
        assert_eq!(request(&[(ACCEPT_LANGUAGE, "de-DE")]), Locale::Fr);
        assert_eq!(request(&[(ACCEPT_LANGUAGE, "en-GB"), (COOKIE, "session=x; lang=fr")]), Locale::Fr);
        assert_eq!(request(&[(ACCEPT_LANGUAGE, "fr-FR"), (COOKIE, "lang=en")]), Locale::En);
        assert_eq!(request(&[(ACCEPT_LANGUAGE, "en"), (COOKIE, "session=x")]), Locale::En, "no lang cookie");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_page_speaks_the_cookie_then_its_link_then_the_browser() {
        use http::header::{ACCEPT_LANGUAGE, COOKIE};
        let parts = |uri: &str, pairs: &[(http::header::HeaderName, &str)]| {
            let mut request = http::Request::builder().uri(uri);
            for (name, value) in pairs {
                request = request.header(name.clone(), *value);
            }
            request.body(()).expect("request").into_parts().0
        };
        let page = |uri: &str, pairs: &[(http::header::HeaderName, &str)]| locale_of_page(&parts(uri, pairs));
        let link = in_language("/payment/authenticate/pi_1?token=t", Locale::En);
        assert_eq!(link, "/payment/authenticate/pi_1?token=t&lang=en");
        assert_eq!(in_language("/checkout", Locale::Fr), "/checkout?lang=fr");
        assert_eq!(page(&link, &[(ACCEPT_LANGUAGE, "fr-FR")]), Locale::En, "the email's language");
        assert_eq!(
            page(&link, &[(ACCEPT_LANGUAGE, "fr-FR"), (COOKIE, "lang=fr")]),
            Locale::Fr,
            "this browser's choice"
        );
        assert_eq!(page("/x?lang=de", &[(ACCEPT_LANGUAGE, "en")]), Locale::En, "an unknown code is no choice");
        assert_eq!(page("/x?token=t", &[]), Locale::Fr);

        assert_eq!(link_language(&parts(&link, &[])), Some(Locale::En), "remembered on a browser that chose none");
        assert_eq!(link_language(&parts(&link, &[(COOKIE, "lang=fr")])), None, "a choice made here stays");
        assert_eq!(link_language(&parts("/checkout", &[])), None);
        assert_eq!(lang_cookie_value(Locale::En), "lang=en; Path=/; SameSite=Lax; Max-Age=31536000");
    }

    fn placeholders(text: &str) -> Vec<&str> {
        let mut names: Vec<&str> =
            text.split('{').skip(1).filter_map(|part| part.split_once('}').map(|(n, _)| n)).collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn every_text_exists_in_both_languages_with_the_same_placeholders() {
        let (fr, en) = (Texts::of(Locale::Fr), Texts::of(Locale::En));
        let fr_phrases = fr.phrases();
        let en_phrases = en.phrases();
        assert_eq!(fr_phrases.len(), en_phrases.len());
        for ((name, f), (_, e)) in fr_phrases.iter().zip(&en_phrases) {
            assert!(!f.trim().is_empty() && !e.trim().is_empty(), "{name} is empty in a language");
            assert_eq!(placeholders(f), placeholders(e), "{name}: placeholders differ");
        }
        for ((name, f), (_, e)) in fr.plurals().iter().zip(&en.plurals()) {
            for text in [f.one, f.other, e.one, e.other] {
                assert!(!text.trim().is_empty(), "{name} has an empty form");
            }
            for text in [f.other, e.other] {
                assert_eq!(placeholders(text), placeholders(f.other), "{name}: placeholders differ");
            }
            // The singular may leave a value out ("the failed delivery", one date for one
            // échéance), the same in both languages, and names none the plural lacks.
            assert_eq!(placeholders(f.one), placeholders(e.one), "{name}: singular placeholders differ");
            let plural = placeholders(f.other);
            assert!(placeholders(f.one).iter().all(|p| plural.contains(p)), "{name}: unknown placeholder");
        }
    }

    #[test]
    fn english_texts_carry_no_french() {
        // French letters never appear in English texts, but in the brand and the name of the other language.
        for (name, text) in Texts::of(Locale::En).phrases() {
            if matches!(name, "app_name" | "other_language") {
                continue;
            }
            assert!(!text.contains(['é', 'è', 'à', 'ç', 'ê', 'ô', 'û', 'î', '«', '»']), "{name}: {text}");
        }
        for (name, plural) in Texts::of(Locale::En).plurals() {
            for text in [plural.one, plural.other] {
                assert!(!text.contains(['é', 'è', 'à', 'ç', 'ê', 'ô', 'û', 'î', '«', '»']), "{name}: {text}");
            }
        }
    }

    #[test]
    fn plurals_follow_each_language() {
        let p = Plural { one: "{n} essai", other: "{n} essais" };
        assert_eq!(p.of(0, Locale::Fr), "0 essai");
        assert_eq!(p.of(1, Locale::Fr), "1 essai");
        assert_eq!(p.of(2, Locale::Fr), "2 essais");
        let p = Texts::of(Locale::En).tries;
        assert_eq!(p.of(0, Locale::En), "0 tries");
        assert_eq!(p.of(1, Locale::En), "1 try");
    }

    #[test]
    fn refusals_and_timelines_are_worded_in_the_readers_language() {
        let e = AppError::Refused(Refusal::AlreadyInProgress);
        assert!(error_message(&e, Locale::En).starts_with("A payment is already in progress"));
        assert!(error_message(&e, Locale::Fr).starts_with("Un paiement est déjà en cours"));
        let attempt_of = |outcome, error_code: Option<&str>, decline_code: Option<&str>| TimelineEvent::Attempt {
            no: 1,
            origin: ChargeOrigin::Customer,
            outcome,
            payment_intent: Some("pi_1".to_owned()),
            key: "ech-x-e1-a1-charge".to_owned(),
            error_code: error_code.map(str::to_owned),
            decline_code: decline_code.map(str::to_owned),
            stripe_calls: 2,
        };
        let attempt = attempt_of(AttemptOutcome::Succeeded, None, None);
        assert_eq!(Detail::joined(&timeline_text(&attempt, Locale::En).1), "Attempt 1 (customer): succeeded");
        assert_eq!(Detail::joined(&timeline_text(&attempt, Locale::Fr).1), "Tentative 1 (client) : réussie");
        assert!(timeline_text(&attempt, Locale::En).2.contains(&vec![Detail::Worded("2 Stripe calls".to_owned())]));
        // Stripe's codes and the key are its own words inside the reader's sentence.
        let declined = attempt_of(AttemptOutcome::Declined, Some("card_declined"), Some("insufficient_funds"));
        let technical = |text: &str| Detail::Technical(text.to_owned());
        let details = timeline_text(&declined, Locale::Fr).2;
        assert!(details.contains(&vec![Detail::Worded("clé ".to_owned()), technical("ech-x-e1-a1-charge")]));
        assert!(details.contains(&vec![Detail::Worded("code ".to_owned()), technical("card_declined")]));
        assert!(details.contains(&vec![Detail::Worded("motif ".to_owned()), technical("insufficient_funds")]));
        let audit = TimelineEvent::Audit {
            from: Some(EcheanceStatus::EnCours),
            to: EcheanceStatus::Payee,
            event: "Succeeded".to_owned(),
            cause: Cause::Webhook,
            actor: Actor::parse("stripe:evt_1"),
            actor_name: None,
            detail: None,
        };
        assert_eq!(Detail::joined(&timeline_text(&audit, Locale::En).1), "Processing → Paid");
        assert_eq!(Detail::joined(&timeline_text(&audit, Locale::Fr).1), "En cours → Payée");
        let note = TimelineEvent::Audit {
            from: Some(EcheanceStatus::APayer),
            to: EcheanceStatus::APayer,
            event: "LegacySessionReleased".to_owned(),
            cause: Cause::Webhook,
            actor: Actor::parse("stripe:evt_2"),
            actor_name: None,
            detail: Some("session=cs_1 expired".to_owned()),
        };
        assert_eq!(Detail::joined(&timeline_text(&note, Locale::En).1), "status unchanged: To pay");
        assert_eq!(Detail::joined(&timeline_text(&note, Locale::Fr).1), "statut inchangé : À payer");
        assert_eq!(timeline_text(&note, Locale::En).2[2], [Detail::Technical("session=cs_1 expired".to_owned())]);
        // A refund's news, worded: its rank from 1, its amount, its statuses, why it failed.
        let news = crate::domain::RefundNews {
            seq: 1,
            amount: 1_500,
            currency: crate::domain::Currency::Eur,
            refund: Some("re_1".to_owned()),
            from: Some(RefundStatus::Succeeded),
            to: RefundStatus::Failed,
            why: Some("expired_or_canceled_card".to_owned()),
        };
        let refund = |news: &crate::domain::RefundNews| TimelineEvent::Refund {
            news: news.clone(),
            cause: Cause::Webhook,
            actor: Actor::parse("stripe:evt_3"),
            actor_name: None,
        };
        let (kind, title, details) = timeline_text(&refund(&news), Locale::Fr);
        assert_eq!(
            (kind, Detail::joined(&title).as_str()),
            ("remboursement", "Remboursement n°2 de 15,00\u{a0}€ : effectué → échoué")
        );
        assert!(details.contains(&vec![Detail::Worded("motif : la carte du client n’est plus valable".to_owned())]));
        assert!(
            details.contains(&vec![
                Detail::Worded("remboursement Stripe ".to_owned()),
                Detail::Technical("re_1".to_owned())
            ])
        );
        let (kind, title, _) = timeline_text(&refund(&news), Locale::En);
        assert_eq!((kind, Detail::joined(&title).as_str()), ("refund", "Refund #2 of €15.00: done → failed"));
        let asked = crate::domain::RefundNews {
            from: None,
            to: RefundStatus::Requested,
            refund: None,
            why: None,
            ..news.clone()
        };
        assert_eq!(
            Detail::joined(&timeline_text(&refund(&asked), Locale::En).1),
            "Refund #2 of €15.00: requested from Stripe"
        );
        let elsewhere =
            crate::domain::RefundNews { from: None, to: RefundStatus::Succeeded, why: None, ..news.clone() };
        let listed = Detail::joined(&timeline_text(&refund(&elsewhere), Locale::Fr).1);
        assert_eq!(listed, "Remboursement n°2 de 15,00\u{a0}€ fait hors de l’application : effectué");
        // A code this version does not word stays Stripe's own, apart.
        let odd = crate::domain::RefundNews { why: Some("bank_said_no".to_owned()), ..news };
        let details = timeline_text(&refund(&odd), Locale::En).2;
        assert!(
            details.contains(&vec![Detail::Worded("why: ".to_owned()), Detail::Technical("bank_said_no".to_owned())])
        );
        // A dispute's news, worded: its amount, its statuses, the bank's reason, Stripe's id apart.
        let news = crate::domain::DisputeNews {
            dispute: "dp_1".to_owned(),
            amount: 4_400,
            currency: crate::domain::Currency::Eur,
            from: Some(DisputeStatus::NeedsResponse),
            to: DisputeStatus::UnderReview,
            reason: Some("fraudulent".to_owned()),
            of_second_payment: false,
        };
        let dispute = |news: &crate::domain::DisputeNews| TimelineEvent::Dispute {
            news: news.clone(),
            cause: Cause::Webhook,
            actor: Actor::parse("stripe:evt_4"),
            actor_name: None,
        };
        let (kind, title, details) = timeline_text(&dispute(&news), Locale::Fr);
        assert_eq!(
            (kind, Detail::joined(&title).as_str()),
            ("contestation", "Contestation de 44,00\u{a0}€ : réponse attendue → en cours d’examen")
        );
        assert!(
            details.contains(&vec![Detail::Worded("motif de la banque : paiement non reconnu (fraude)".to_owned())])
        );
        assert!(
            details.contains(&vec![
                Detail::Worded("contestation Stripe ".to_owned()),
                Detail::Technical("dp_1".to_owned())
            ])
        );
        let (kind, title, _) = timeline_text(&dispute(&news), Locale::En);
        assert_eq!(
            (kind, Detail::joined(&title).as_str()),
            ("dispute", "Dispute of €44.00: response needed → under review")
        );
        let first = crate::domain::DisputeNews { from: None, to: DisputeStatus::WarningNeedsResponse, ..news.clone() };
        assert_eq!(
            Detail::joined(&timeline_text(&dispute(&first), Locale::En).1),
            "Dispute of €44.00 reported by the bank: request for information"
        );
        let closed = crate::domain::DisputeNews {
            from: Some(DisputeStatus::WarningUnderReview),
            to: DisputeStatus::WarningClosed,
            ..news.clone()
        };
        assert_eq!(
            Detail::joined(&timeline_text(&dispute(&closed), Locale::Fr).1),
            "Contestation de 44,00\u{a0}€ : demande d’information en cours d’examen → close sans rétrofacturation"
        );
        // A second payment's dispute says so, first; one written before that was kept reads as before.
        let twice = crate::domain::DisputeNews { of_second_payment: true, ..news.clone() };
        assert_eq!(
            timeline_text(&dispute(&twice), Locale::Fr).2[0],
            [Detail::Worded(Texts::of(Locale::Fr).dispute_of_second_payment.to_owned())]
        );
        let mut stored = serde_json::to_value(&twice).expect("writes");
        stored.as_object_mut().expect("an object").remove("of_second_payment");
        assert!(
            !serde_json::from_value::<crate::domain::DisputeNews>(stored).expect("an older line").of_second_payment
        );
        // A reason this version does not word stays Stripe's own, apart.
        let odd = crate::domain::DisputeNews { reason: Some("bank_cannot_process".to_owned()), ..news };
        let details = timeline_text(&dispute(&odd), Locale::En).2;
        assert!(details.contains(&vec![
            Detail::Worded("the bank’s reason: ".to_owned()),
            Detail::Technical("bank_cannot_process".to_owned())
        ]));
        // Who: worded, never the stored code.
        assert_eq!(timeline_text(&audit, Locale::En).2[1], [Detail::Worded("by Stripe (event evt_1)".to_owned())]);
        assert_eq!(timeline_text(&audit, Locale::Fr).2[1], [Detail::Worded("par Stripe (événement evt_1)".to_owned())]);
        let (en, fr) = (Texts::of(Locale::En), Texts::of(Locale::Fr));
        for (stored, name, english, french) in [
            ("admin:3", Some("Alice Martin"), "Alice Martin", "Alice Martin"),
            ("admin:3", None, "admin #3", "l’administrateur n°3"),
            ("user:4", None, "the customer", "le client"),
            ("host", None, "the host site", "le site hôte"),
            ("api_key:2", None, "the host site (API key #2)", "le site hôte (clé d’API n°2)"),
            ("system:due-date", None, "the app (due-date run)", "l’application (échéances du jour)"),
            ("system", None, "the app", "l’application"),
            ("cli", None, "the server’s command line", "la ligne de commande du serveur"),
            ("schedule", None, "the app (nightly reconciliation)", "l’application (réconciliation de la nuit)"),
            ("test", None, "test", "test"),
        ] {
            let actor = Actor::parse(stored);
            assert_eq!(
                (actor_text(&actor, name, en), actor_text(&actor, name, fr)),
                (english.to_owned(), french.to_owned())
            );
        }
        // What a webhook moved: worded too, not the stored codes.
        let webhook = TimelineEvent::Webhook {
            event_type: "payment_intent.succeeded".to_owned(),
            status: InboxStatus::Processed,
            event_id: "evt_1".to_owned(),
            moved: Some((EcheanceStatus::EnAttente, EcheanceStatus::Payee)),
            note: None,
            last_error: None,
        };
        assert_eq!(
            timeline_text(&webhook, Locale::En).2,
            [[Detail::Technical("evt_1".to_owned())], [Detail::Worded("Action required → Paid".to_owned())]]
        );
        assert_eq!(timeline_text(&webhook, Locale::Fr).2[1], [Detail::Worded("Action requise → Payée".to_owned())]);
        // Its title names Stripe's event type in Stripe's words, apart from the reader's.
        assert_eq!(
            timeline_text(&webhook, Locale::Fr).1,
            [Detail::Technical("payment_intent.succeeded".to_owned()), Detail::Worded(" (traité)".to_owned()),]
        );
        // Why an email was not sent: data worded here (it was an English sentence in both interfaces).
        let email = TimelineEvent::Email {
            kind: EmailKind::UpcomingDebit,
            status: OutboxStatus::Cancelled,
            attempts: 1,
            to: "zoe@example.test".to_owned(),
            sent_at: None,
            last_error: Some(Trouble::EcheanceNow {
                status: EcheanceStatus::Payee,
                due_date: chrono::NaiveDate::from_ymd_opt(2027, 1, 15),
            }),
        };
        let why = |locale| timeline_text(&email, locale).2.last().map(|d| Detail::joined(d)).unwrap_or_default();
        assert_eq!(why(Locale::En), "no longer relevant: the installment is “Paid” now, due on 15 Jan 2027");
        assert_eq!(why(Locale::Fr), "plus d’actualité : l’échéance est désormais « Payée », due le 15/01/2027");
        let technical = Trouble::read("smtp: 550 no such mailbox");
        assert_eq!(
            trouble_text(&technical, Locale::Fr),
            "smtp: 550 no such mailbox",
            "a transport's words stay its own"
        );
        let unreached = Trouble::NotReached("error sending request: connection refused".to_owned());
        assert_eq!(
            trouble_parts(&unreached, Locale::Fr).last(),
            Some(&Detail::Technical("error sending request: connection refused".to_owned())),
            "what the HTTP client said is its own, set apart"
        );
        let bounced = TimelineEvent::Email {
            kind: EmailKind::UpcomingDebit,
            status: OutboxStatus::Failed,
            attempts: 5,
            to: "zoe@example.test".to_owned(),
            sent_at: None,
            last_error: Some(technical),
        };
        assert_eq!(
            timeline_text(&bounced, Locale::Fr).2.last(),
            Some(&vec![Detail::Technical("smtp: 550 no such mailbox".to_owned())]),
            "and the page sets them apart"
        );
        assert_eq!(trouble_text(&Trouble::Answered(503), Locale::Fr), "l’endpoint a répondu 503");
        assert_eq!(trouble_text(&Trouble::Answered(503), Locale::En), "the endpoint answered 503");
    }
}
