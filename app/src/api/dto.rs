//! What server functions return: plain data, no database models, no secrets
//! but the ones their caller is entitled to.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::domain::{
    AttemptOutcome, Cause, ChargeOrigin, EcheanceStatus, EmailKind, InboxStatus, KeyMode, Locale, OutboxStatus, Role,
};

/// The logged-in user, as the interface needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Id.
    pub id: i64,
    /// Shown name.
    pub display_name: String,
    /// Customer or admin.
    pub role: Role,
    /// Interface language.
    pub locale: Locale,
}

/// A demo account shown on the landing page in development.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoAccount {
    /// Login.
    pub email: String,
    /// Password.
    pub password: String,
    /// Customer or admin.
    pub role: Role,
}

/// The landing page's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landing {
    /// Who is logged in, if anyone.
    pub me: Option<Me>,
    /// Demo logins (development only).
    pub demo_accounts: Vec<DemoAccount>,
    /// How many échéances the database holds (development only: the demo data).
    pub echeance_count: Option<u64>,
    /// Next due date among payable échéances.
    pub next_due: Option<NaiveDate>,
    /// Plans waiting for their customer, with their invitation link (development only: the demo).
    pub demo_invitations: Vec<DemoInvitation>,
    /// The demo customers' plans (development only).
    pub demo_plans: Vec<DemoPlan>,
}

/// A plan of a demo account, and whose it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoPlan {
    /// The plan (its dashboard page).
    pub id: i64,
    /// What it is for.
    pub label: String,
    /// The customer (whose demo login is listed above).
    pub customer_name: String,
    /// Where it stands.
    pub status: crate::domain::PlanStatus,
}
/// A demo plan waiting for its customer, and its acceptance link (the invitation email's, without its `lang`).
/// A demo plan waiting for its customer, and the link the invitation email carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoInvitation {
    /// What it is for.
    pub label: String,
    /// Who it is for.
    pub customer_name: String,
    /// The acceptance page, signed.
    pub link: String,
}

/// One échéance, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcheanceView {
    /// Id.
    pub id: i64,
    /// "Échéance 3/6".
    pub label: String,
    /// Amount and currency.
    pub money: crate::domain::Money,
    /// Due date.
    pub due_date: NaiveDate,
    /// Status.
    pub status: EcheanceStatus,
    /// The PaymentIntent awaiting 3D Secure (only while *en attente*): the 3DS page's address.
    pub awaiting_payment_intent: Option<String>,
    /// Of a plan made with the other Stripe mode's keys: neither paid nor authenticated from here
    /// while the site runs on these (the server would refuse both).
    pub other_mode: bool,
}

/// The owner's saved card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardInfo {
    /// `visa`, …
    pub brand: String,
    /// Last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: i32,
    /// Expiry year.
    pub exp_year: i32,
}

/// The checkout page's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutData {
    /// The customer.
    pub me: Me,
    /// Their échéances, by due date.
    pub echeances: Vec<EcheanceView>,
    /// Their card.
    pub card: Option<CardInfo>,
    /// For Stripe.js.
    pub publishable_key: String,
    /// Their payment plans, newest first.
    pub plans: Vec<PlanRow>,
}

/// Where an échéance stands after "Payer".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayOutcome {
    /// The échéance paid.
    pub echeance_id: i64,
    /// Status now.
    pub status: EcheanceStatus,
    /// The PaymentIntent to authenticate, when 3D Secure is required.
    pub authenticate_payment_intent: Option<String>,
    /// The card this payment saved (paid with a card just typed), once it succeeded.
    pub saved_card: Option<CardInfo>,
}

/// What « Tout payer » did: how many échéances it collected, and where it
/// stopped when one did not succeed (3D Secure asked, declined) or could not be
/// asked (Stripe unavailable, the customer's budget of calls spent, a charge
/// already in flight, the plan cancelled meanwhile).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidAhead {
    /// Échéances collected.
    pub paid: u32,
    /// The one that stopped it, as « Payer » would have answered.
    pub stopped: Option<PayOutcome>,
    /// Why the next one could not be charged, after `paid` were: those stay paid.
    pub interrupted: Option<super::error::AppError>,
    /// Échéances of the plan it did not charge and that are not settled (a payment under way, a
    /// 3D Secure authentication awaited): the plan is settled only when there are none.
    pub left: u32,
}

/// What Stripe.js needs to save a card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSetup {
    /// SetupIntent client secret (the owner's only).
    pub client_secret: String,
    /// Publishable key.
    pub publishable_key: String,
}

/// The 3D Secure page's data: what is being paid, and the means to pay it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticationPage {
    /// "Échéance 3/6".
    pub label: String,
    /// Amount and currency.
    pub money: crate::domain::Money,
    /// Due date.
    pub due_date: NaiveDate,
    /// Status now.
    pub status: EcheanceStatus,
    /// For Stripe.js: only while 3D Secure is awaited.
    pub client_secret: Option<String>,
    /// What Stripe.js does with it.
    pub step: Option<crate::domain::ThreeDsStep>,
    /// A previous 3DS try failed: "Réessayer" is offered.
    pub can_retry: bool,
    /// For Stripe.js.
    pub publishable_key: String,
}

/// The dashboard's filters, as typed in the form (parsed on the server).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminFilter {
    /// Database spelling of a status.
    pub status: Option<String>,
    /// Part of the customer's name or email.
    pub customer: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_from: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_to: Option<String>,
    /// Decimal amount (`12,50`).
    pub amount_min: Option<String>,
    /// Decimal amount.
    pub amount_max: Option<String>,
    /// Free text: label, customer, PaymentIntent id, échéance number.
    pub q: Option<String>,
}

impl AdminFilter {
    /// The filter a link's query pairs ask for: a key given twice takes its last value (as
    /// leptos' `ParamsMap::get` reads it), a key not of the filter is ignored.
    #[must_use]
    pub fn from_pairs<K: AsRef<str>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut filter = Self::default();
        for (key, value) in pairs {
            let field = match key.as_ref() {
                "status" => &mut filter.status,
                "customer" => &mut filter.customer,
                "due_from" => &mut filter.due_from,
                "due_to" => &mut filter.due_to,
                "amount_min" => &mut filter.amount_min,
                "amount_max" => &mut filter.amount_max,
                "q" => &mut filter.q,
                _ => continue,
            };
            *field = Some(value.into());
        }
        filter
    }

    /// The filter as a query string (for links and the CSV export).
    #[must_use]
    pub fn query_string(&self) -> String {
        let pairs = [
            ("status", &self.status),
            ("customer", &self.customer),
            ("due_from", &self.due_from),
            ("due_to", &self.due_to),
            ("amount_min", &self.amount_min),
            ("amount_max", &self.amount_max),
            ("q", &self.q),
        ];
        pairs
            .iter()
            .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| format!("{k}={}", encode(v))))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The customer a row is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRef {
    /// Their name (an erased customer's is the stored pseudonym: pages name them in their
    /// reader's language instead, `ui::i18n::customer_shown`).
    pub name: String,
    /// Their address.
    pub email: String,
    /// The customer was erased.
    pub erased: bool,
}

/// One row of the dashboard's table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRow {
    /// Id.
    pub id: i64,
    /// Label.
    pub label: String,
    /// Its customer.
    pub customer: CustomerRef,
    /// Amount.
    pub money: crate::domain::Money,
    /// Due date.
    pub due_date: NaiveDate,
    /// Status.
    pub status: EcheanceStatus,
    /// Current PaymentIntent.
    pub payment_intent: Option<String>,
    /// Attempts so far.
    pub attempts: i32,
}

/// Count and sum of one status (and currency) under the current filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusTotal {
    /// Status.
    pub status: EcheanceStatus,
    /// How many.
    pub count: u64,
    /// Their sum.
    pub money: crate::domain::Total,
}

/// Amount collected on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyAmount {
    /// The day (schedule time zone).
    pub day: NaiveDate,
    /// Minor units of its series' currency collected that day.
    pub cents: i64,
}

/// The amounts collected per day in one currency: the dashboard draws a chart per
/// currency, since euros and Swiss francs do not add up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailySeries {
    /// The currency of every amount.
    pub currency: crate::domain::Currency,
    /// The last 30 days, oldest first.
    pub days: Vec<DailyAmount>,
}

/// The dashboard's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminPage {
    /// This page of rows.
    pub rows: Vec<AdminRow>,
    /// Rows under the filter.
    pub total: u64,
    /// 0-based page.
    pub page: u64,
    /// Page count.
    pub pages: u64,
    /// By status.
    pub totals: Vec<StatusTotal>,
    /// Collected per day, last 30 days: a series per currency ever collected (euros when none).
    pub daily: Vec<DailySeries>,
    /// Emails that gave up after their last retry.
    pub failed_emails: u64,
    /// Webhooks that gave up.
    pub failed_webhooks: u64,
    /// The filter as applied (normalised), for the export link.
    pub query: String,
}

/// One entry of an échéance's timeline: data only; the page words it in the reader's language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Epoch ms (for ordering).
    pub at_ms: i64,
    /// The same instant in the schedule's time zone (the page formats it).
    pub at: NaiveDateTime,
    /// What happened.
    pub event: TimelineEvent,
}

/// What a timeline entry records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimelineEvent {
    /// A charge attempt.
    Attempt {
        /// Its rank.
        no: i32,
        /// Who asked for it.
        origin: ChargeOrigin,
        /// What became of it.
        outcome: AttemptOutcome,
        /// `pi_…`.
        payment_intent: Option<String>,
        /// Its idempotency key.
        key: String,
        /// Stripe's error code.
        error_code: Option<String>,
        /// The bank's reason.
        decline_code: Option<String>,
        /// Calls made to Stripe.
        stripe_calls: i32,
    },
    /// A webhook delivery about one of its PaymentIntents.
    Webhook {
        /// `payment_intent.succeeded`, …
        event_type: String,
        /// Where the inbox row stands.
        status: InboxStatus,
        /// `evt_…`.
        event_id: String,
        /// The status change applying it made, if any.
        moved: Option<(EcheanceStatus, EcheanceStatus)>,
        /// What applying it did otherwise (technical).
        note: Option<String>,
        /// Why it failed (technical).
        last_error: Option<String>,
    },
    /// An email about it.
    Email {
        /// Which email.
        kind: EmailKind,
        /// Where the outbox row stands.
        status: OutboxStatus,
        /// Tries so far.
        attempts: i32,
        /// Recipient.
        to: String,
        /// When the SMTP server took it (schedule time zone).
        sent_at: Option<NaiveDateTime>,
        /// Why it was not sent (yet), or was no longer sent.
        last_error: Option<crate::domain::Trouble>,
    },
    /// A status change.
    Audit {
        /// Status before (none when it was created).
        from: Option<EcheanceStatus>,
        /// Status after.
        to: EcheanceStatus,
        /// The domain event (technical).
        event: String,
        /// What caused it.
        cause: Cause,
        /// Who.
        actor: crate::domain::Actor,
        /// The admin's name, when an admin made it.
        actor_name: Option<String>,
        /// Details (technical).
        detail: Option<String>,
    },
    /// Its due date moved by an admin (its status as it was).
    Rescheduled {
        /// The dates, before and after.
        dates: crate::domain::Rescheduled,
        /// Who.
        actor: crate::domain::Actor,
        /// The admin's name.
        actor_name: Option<String>,
    },
    /// What became of one of its refunds (the échéance's status as it was).
    Refund {
        /// The refund's news.
        news: crate::domain::RefundNews,
        /// What caused it.
        cause: Cause,
        /// Who.
        actor: crate::domain::Actor,
        /// The admin's name, when an admin made it.
        actor_name: Option<String>,
    },
    /// What became of a dispute of its payment (the échéance's status left as it was).
    Dispute {
        /// The dispute's news.
        news: crate::domain::DisputeNews,
        /// What caused it.
        cause: Cause,
        /// Who.
        actor: crate::domain::Actor,
        /// The admin's name, when an admin made it.
        actor_name: Option<String>,
    },
}

/// An échéance with everything that happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// The échéance.
    pub row: AdminRow,
    /// Newest first.
    pub entries: Vec<TimelineEntry>,
    /// A charge can be retried now.
    pub can_retry: bool,
    /// It can be cancelled now.
    pub can_cancel: bool,
    /// The 3DS email can be sent again.
    pub can_resend: bool,
    /// Cancelled, and still linked to the original site's Checkout Session (which kept money):
    /// an admin can mark that money as reviewed.
    pub can_review_legacy: bool,
    /// Its refunds, by rank (asked for here or made on Stripe).
    pub refunds: Vec<RefundView>,
    /// What was collected and what went back, once something was collected.
    pub refund_totals: Option<RefundTotals>,
    /// Present when an admin can refund now: what is left, and the rank the new refund takes.
    pub refund_form: Option<RefundForm>,
    /// Its disputes, oldest first.
    pub disputes: Vec<DisputeView>,
}

/// One dispute of an échéance's payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeView {
    /// When it was opened (schedule time zone).
    pub at: NaiveDateTime,
    /// The amount at stake.
    pub money: crate::domain::Money,
    /// Stripe's reason code.
    pub reason: Option<String>,
    /// Where it stands, as Stripe says.
    pub status: crate::domain::DisputeStatus,
    /// The last moment to send evidence, while it can be sent (schedule time zone).
    pub evidence_due_by: Option<NaiveDateTime>,
    /// `dp_…`.
    pub stripe_dispute_id: String,
    /// Of a second payment of the échéance (a double charge), not of the one that collected it.
    pub of_second_payment: bool,
}

/// One refund of an échéance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundView {
    /// Its rank.
    pub seq: i32,
    /// When it was asked for (schedule time zone).
    pub at: NaiveDateTime,
    /// How much.
    pub money: crate::domain::Money,
    /// Why (none for one made elsewhere without a reason).
    pub reason: Option<crate::domain::RefundReason>,
    /// Where it stands, as Stripe says.
    pub status: crate::domain::RefundStatus,
    /// `re_…`, once Stripe answered.
    pub stripe_refund_id: Option<String>,
    /// Why it failed or was refused (Stripe's code).
    pub failure_reason: Option<String>,
    /// Who asked for it: an admin, or Stripe for a refund made there.
    pub requested_by: crate::domain::Actor,
    /// The admin's name.
    pub requested_by_name: Option<String>,
}

/// An échéance's money, once collected: collected, gone back, kept (minor units).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundTotals {
    /// Currency.
    pub currency: crate::domain::Currency,
    /// Collected.
    pub paid: i64,
    /// Refunded (succeeded).
    pub refunded: i64,
    /// Being refunded: asked of Stripe, not succeeded yet.
    pub leaving: i64,
    /// Held back by disputes: open chargebacks, and lost ones.
    pub disputed: i64,
    /// Kept: collected minus what left or is leaving, by refund or dispute.
    pub kept: i64,
}

impl RefundTotals {
    /// Nothing collected yet, in `currency`.
    #[must_use]
    pub const fn none(currency: crate::domain::Currency) -> Self {
        Self { currency, paid: 0, refunded: 0, leaving: 0, disputed: 0, kept: 0 }
    }

    /// Adds a payment of `paid` with its refunds (status, amount) and its disputes (status,
    /// amount): what went back, is going back, is held by a chargeback, and is kept.
    #[must_use]
    pub fn add(
        self,
        paid: i64,
        refunds: impl IntoIterator<Item = (crate::domain::RefundStatus, i64)> + Clone,
        disputes: impl IntoIterator<Item = (crate::domain::DisputeStatus, i64)>,
    ) -> Self {
        use crate::domain::dispute::held_by_disputes;
        use crate::domain::refund::{refundable, refunded};
        let left = refundable(paid, refunds.clone());
        let gone = refunded(refunds);
        let disputed = held_by_disputes(disputes);
        Self {
            paid: self.paid.saturating_add(paid),
            refunded: self.refunded.saturating_add(gone),
            leaving: self.leaving.saturating_add(paid.saturating_sub(left).saturating_sub(gone).max(0)),
            disputed: self.disputed.saturating_add(disputed),
            kept: self.kept.saturating_add(left.saturating_sub(disputed).max(0)),
            ..self
        }
    }
}

/// What the refund form needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundForm {
    /// The most that can be refunded now.
    pub left: crate::domain::Money,
    /// The number of refunds shown (sent back with the form: the same page asks for one refund).
    pub seen: i32,
}

/// One drift line of a reconcile report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftView {
    /// Échéance.
    pub echeance_id: i64,
    /// Status here before.
    pub local: EcheanceStatus,
    /// Stripe's view (its own status words).
    pub stripe: String,
    /// Status after.
    pub resolved: EcheanceStatus,
    /// Changed by the run.
    pub fixed: bool,
}

/// A reconcile report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportView {
    /// Id.
    pub id: i64,
    /// Who started it.
    pub trigger: crate::domain::Actor,
    /// The admin's name, when an admin started it.
    pub trigger_name: Option<String>,
    /// Nothing changed on purpose.
    pub dry_run: bool,
    /// When it started (schedule time zone; the page formats it).
    pub started_at: NaiveDateTime,
    /// What it counted.
    pub counts: crate::domain::ReconcileCounts,
    /// Local ≠ Stripe.
    pub drift: Vec<DriftView>,
    /// What could not be checked or applied, and why (the page words it).
    pub problems: Vec<crate::domain::ReconcileProblem>,
}

/// An email template, as admins edit it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailTemplateView {
    /// Which email.
    pub kind: EmailKind,
    /// `fr`, `en`.
    pub locale: String,
    /// Subject line.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Text body.
    pub text: String,
}

/// A template rendered with sample data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailPreview {
    /// Subject line.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Text body.
    pub text: String,
}

/// An email that gave up after its last retry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedEmailView {
    /// Outbox id.
    pub id: i64,
    /// Recipient.
    pub to: String,
    /// Kind.
    pub kind: EmailKind,
    /// Échéance it is about.
    pub echeance_id: Option<i64>,
    /// Tries made.
    pub attempts: i32,
    /// Why it failed (the interface words it).
    pub last_error: Option<crate::domain::Trouble>,
}

/// The "Nouvel échéancier" form as typed: the browser previews it with
/// [`PlanForm::schedule`], the server checks it again with the same code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanForm {
    /// Customer's address (an existing customer is reused).
    pub email: String,
    /// Customer's name (for a new customer).
    pub name: String,
    /// `fr` or `en`.
    pub locale: String,
    /// What the plan is for.
    pub label: String,
    /// ISO code.
    pub currency: String,
    /// The total as typed (`300`, `300,00`, `1 234.56`).
    pub total: String,
    /// How many échéances.
    pub count: String,
    /// First due date, `YYYY-MM-DD`.
    pub first_due: String,
    /// `week` or `month`.
    pub interval: String,
    /// `list`: the échéances are the lines of [`PlanForm::lines`]; anything else: the total split.
    #[serde(default)]
    pub mode: String,
    /// One échéance per line: a date (`2027-01-15` or `15/01/2027`), then its amount.
    #[serde(default)]
    pub lines: String,
}

impl PlanForm {
    /// Whether the amounts are still to be typed (the total, or the lines of the list): there
    /// is nothing to preview yet, rather than something refused.
    #[must_use]
    pub fn nothing_typed(&self) -> bool {
        if self.mode == "list" { self.lines.trim().is_empty() } else { self.total.trim().is_empty() }
    }

    /// The schedule this form asks for, built and checked as the server will
    /// (`today` is the merchant's today, from the server).
    ///
    /// # Errors
    /// Every problem, each on its field.
    pub fn schedule(&self, today: NaiveDate) -> Result<crate::domain::Schedule, crate::domain::ScheduleInvalid> {
        crate::domain::Schedule::build(&self.currency, &self.request()?, today)
    }

    /// What the typed fields ask for, before any rule is checked.
    ///
    /// # Errors
    /// A field that does not read (total, count, first date).
    pub fn request(&self) -> Result<crate::domain::ScheduleRequest, crate::domain::ScheduleInvalid> {
        use crate::domain::money::AmountError;
        use crate::domain::plan::FieldProblem;
        use crate::domain::{Interval, PlanField, PlanProblem, ScheduleInvalid, ScheduleRequest};
        if self.mode == "list" {
            return self.listed();
        }
        let mut problems = Vec::new();
        let mut refuse = |field, problem| problems.push(FieldProblem { field, problem });
        // A total is split into charges: only each part is bound by one charge's maximum.
        let total = match crate::domain::money::decimal_minor(&self.total) {
            Ok(cents) => cents,
            Err(AmountError::TooLarge) => {
                refuse(PlanField::Total, PlanProblem::TooLarge);
                0
            }
            Err(AmountError::NotPositive) => {
                refuse(PlanField::Total, PlanProblem::NotPositive);
                0
            }
            Err(AmountError::Unreadable(_)) => {
                refuse(PlanField::Total, PlanProblem::Unreadable);
                0
            }
        };
        let count = self.count.trim().parse::<u32>().unwrap_or_else(|_| {
            refuse(PlanField::Count, PlanProblem::Unreadable);
            0
        });
        let first_due = NaiveDate::parse_from_str(self.first_due.trim(), "%Y-%m-%d").ok().unwrap_or_else(|| {
            refuse(PlanField::FirstDueDate, PlanProblem::Unreadable);
            NaiveDate::MIN
        });
        let interval = Interval::parse(self.interval.trim()).unwrap_or_else(|_| {
            refuse(PlanField::Interval, PlanProblem::Unreadable);
            Interval::Month
        });
        if problems.is_empty() {
            Ok(ScheduleRequest::Split { total, count, first_due, interval })
        } else {
            Err(ScheduleInvalid(problems))
        }
    }

    /// The explicit list: each non-empty line a date, then an amount.
    fn listed(&self) -> Result<crate::domain::ScheduleRequest, crate::domain::ScheduleInvalid> {
        use crate::domain::money::AmountError;
        use crate::domain::plan::FieldProblem;
        use crate::domain::{Amount, PlanField, PlanProblem, ScheduleInvalid, ScheduleRequest};
        let mut problems = Vec::new();
        let mut echeances = Vec::new();
        for (index, line) in self.lines.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
            let seq = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let (date, amount) = line.split_once([' ', '\t', ';']).unwrap_or((line, ""));
            let date = date.trim();
            let due = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(date, "%d/%m/%Y"))
                .ok();
            let amount = match Amount::parse_decimal(amount.trim().trim_start_matches(';').trim()) {
                Ok(amount) => Some(amount),
                Err(e) => {
                    let problem = match e {
                        AmountError::NotPositive => PlanProblem::NotPositive,
                        AmountError::TooLarge => PlanProblem::TooLarge,
                        AmountError::Unreadable(_) => PlanProblem::Unreadable,
                    };
                    problems.push(FieldProblem { field: PlanField::Amount(seq), problem });
                    None
                }
            };
            if due.is_none() {
                problems.push(FieldProblem { field: PlanField::DueDate(seq), problem: PlanProblem::Unreadable });
            }
            if let (Some(due), Some(amount)) = (due, amount) {
                echeances.push((due, amount.minor()));
            }
        }
        if problems.is_empty() { Ok(ScheduleRequest::Explicit(echeances)) } else { Err(ScheduleInvalid(problems)) }
    }
}

/// What the form needs from the server before the admin types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDefaults {
    /// The merchant's today (no due date before it).
    pub today: NaiveDate,
    /// Plans over three months are refused rather than flagged.
    pub refuse_consumer_credit: bool,
}

/// A plan as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCreated {
    /// Id.
    pub id: i64,
    /// Status (awaiting the customer).
    pub status: crate::domain::PlanStatus,
    /// Consumer credit under French law.
    pub consumer_credit: bool,
    /// The échéances: id, sequence number, due date, amount.
    pub echeances: Vec<PlannedEcheance>,
}

/// One échéance of a plan just written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedEcheance {
    /// Échéance id (its timeline is at `/admin/echeances/{id}`).
    pub id: i64,
    /// 1, 2, 3…
    pub seq: i32,
    /// Due date.
    pub due_date: NaiveDate,
    /// Amount.
    pub money: crate::domain::Money,
}

/// A status change pushed to the screens that may see it (`GET /events`, event `echeance`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveChange {
    /// The échéance.
    pub echeance_id: i64,
    /// Its plan, if any.
    pub plan_id: Option<i64>,
    /// Its status now.
    pub status: EcheanceStatus,
}

/// One line of the plans list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRow {
    /// Id.
    pub id: i64,
    /// What it is for.
    pub label: String,
    /// Its customer.
    pub customer: CustomerRef,
    /// Where it stands.
    pub status: crate::domain::PlanStatus,
    /// The total.
    pub total: crate::domain::Total,
    /// Collected so far, refunds not deducted (none yet: `None`).
    pub collected: Option<crate::domain::Total>,
    /// Still to collect (none: nothing left).
    pub remaining: Option<crate::domain::Total>,
    /// What « Tout payer » would charge now: the échéances payable now, not those under way or
    /// awaiting 3D Secure (none: nothing to charge).
    pub payable: Option<crate::domain::Total>,
    /// Échéances collected, and in all.
    pub progress: (u32, u32),
    /// The next échéance still to collect.
    pub next_due: Option<NaiveDate>,
    /// The customer's card (month, year) when it expires before the last échéance still to collect.
    pub card_runs_out: Option<(u32, i32)>,
    /// Échéances are left to collect and the customer has no card that can be charged (in the
    /// plan's Stripe mode).
    pub no_card: bool,
    /// The mode of the Stripe keys it was made with, when the site runs on the other mode's:
    /// nothing of it goes through Stripe until it runs on that mode's again.
    pub other_mode: Option<KeyMode>,
}

/// A page of plans, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanList {
    /// The plans.
    pub rows: Vec<PlanRow>,
    /// Page number (from 0).
    pub page: u64,
    /// More after this page.
    pub has_more: bool,
}

/// An API key of the host site, as the dashboard lists it (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyLine {
    /// Id (to revoke).
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// `ek_test_AbCd`.
    pub prefix: String,
    /// `test` or `live`.
    pub mode: String,
    /// Created (the schedule's time zone).
    pub created_at: NaiveDateTime,
    /// Last request made with it.
    pub last_used_at: Option<NaiveDateTime>,
    /// Revoked: it gets 401.
    pub revoked: bool,
}

/// A webhook endpoint of the host site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointLine {
    /// Id.
    pub id: i64,
    /// Where events go.
    pub url: String,
    /// The event types it wants (`*`: all).
    pub events: Vec<String>,
    /// Still receiving.
    pub enabled: bool,
    /// Until when the previous secret still signs (after a roll).
    pub previous_secret_until: Option<NaiveDateTime>,
    /// The mode of the keys that registered it: it hears of that mode's plans only.
    pub mode: Option<KeyMode>,
}

/// One event to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLine {
    /// Id (to replay).
    pub id: i64,
    /// `evt_…`.
    pub event_id: String,
    /// `echeance.paid`, …
    pub event_type: String,
    /// Where.
    pub endpoint_url: String,
    /// Where it stands.
    pub status: crate::domain::HostDeliveryStatus,
    /// Tries so far.
    pub attempts: i32,
    /// The endpoint's last HTTP status.
    pub last_status: Option<i32>,
    /// Why the last try failed.
    pub last_error: Option<crate::domain::Trouble>,
    /// Its endpoint was deleted: nothing to replay.
    pub endpoint_deleted: bool,
    /// The next try, while pending.
    pub next_attempt_at: Option<NaiveDateTime>,
    /// When the event happened.
    pub created_at: NaiveDateTime,
}

/// The « Intégration » page: keys, endpoints, and a page of deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationView {
    /// Keys, newest first.
    pub keys: Vec<ApiKeyLine>,
    /// Endpoints, newest first.
    pub endpoints: Vec<EndpointLine>,
    /// Deliveries, newest first, of the selected status.
    pub deliveries: Vec<DeliveryLine>,
    /// Page number (from 0).
    pub page: u64,
    /// More after this page.
    pub has_more: bool,
    /// Failed deliveries (replayable at once).
    pub failed: u64,
}

/// An admin, on the « Administrateurs » page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminLine {
    /// The account.
    pub id: i64,
    /// Login.
    pub email: String,
    /// Name.
    pub name: String,
    /// Has not chosen a password yet (the link is out).
    pub invited: bool,
    /// Disabled.
    pub disabled: bool,
    /// Logs in with a second factor.
    pub second_factor: bool,
    /// The one reading the page.
    pub is_me: bool,
}

/// Where the reader's second factor stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorStatus {
    /// On.
    pub on: bool,
    /// The settings require it of every admin.
    pub required: bool,
    /// Recovery codes not used yet.
    pub codes_left: u64,
}

/// An authenticator app to enrol: its secret, and the QR code that holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorEnrollment {
    /// The secret in base32 (typed in when the QR code cannot be scanned).
    pub secret: String,
    /// The `otpauth://` URI.
    pub uri: String,
    /// The QR code, as an SVG drawing made by the server.
    pub qr_svg: String,
}

/// A secret shown once: a new API key, or an endpoint's signing secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownOnce {
    /// The key's or endpoint's id.
    pub id: i64,
    /// `ek_…` or `whsec_…`.
    pub secret: String,
}

/// A plan as its invitation link shows it to the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    /// Id.
    pub plan_id: i64,
    /// What it is for.
    pub label: String,
    /// The customer's name.
    pub customer_name: String,
    /// Who will charge the card (`MERCHANT_NAME`).
    pub merchant: String,
    /// The total.
    pub total: crate::domain::Total,
    /// The échéances.
    pub echeances: Vec<PlannedEcheance>,
    /// Consumer credit under French law.
    pub consumer_credit: bool,
    /// The off-session mandate, in the page's language, as it will be stored.
    pub mandate: String,
    /// A fingerprint of the mandate and the schedule as shown, sent back with « J’accepte »:
    /// a plan changed since is refused, not accepted on terms the customer did not read.
    pub terms: String,
    /// Last day the link works.
    pub expires_on: NaiveDate,
    /// The first échéance when it is already due: paid on the page, on-session, once the card is saved.
    pub due_now: Option<PlannedEcheance>,
    /// The merchant's page to go back to once the plan is active (given by the host site).
    pub return_url: Option<String>,
}

/// The plan once the customer accepted it through the invitation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanAccepted {
    /// Its status now: *actif* when a card was already saved, else waiting for one.
    pub status: crate::domain::PlanStatus,
    /// The customer's saved card, if any.
    pub card: Option<CardInfo>,
    /// For Stripe.js.
    pub publishable_key: String,
}

/// One plan, as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    /// Its line in the plans list: label, customer, status, amounts, progress, card warnings.
    pub summary: PlanRow,
    /// Consumer credit under French law.
    pub consumer_credit: bool,
    /// The customer's consent, once given.
    pub consent: Option<ConsentView>,
    /// Its échéances, in order.
    pub echeances: Vec<PlanEcheanceView>,
    /// What its collected échéances brought in, went back, is going back, is held by chargebacks and
    /// is kept, once some of it left or is leaving (a refund asked for, a chargeback open or lost).
    pub refund_totals: Option<RefundTotals>,
    /// Its status changes, oldest first.
    pub history: Vec<PlanHistoryEntry>,
    /// What was sent about it — its invitation, default and summary emails, its échéances' — and
    /// where each stands, newest first: page `emails_page` of them.
    pub emails: Vec<PlanEmail>,
    /// Which page of its emails `emails` is (from 0).
    pub emails_page: u64,
    /// Older emails after this page.
    pub more_emails: bool,
    /// It can still be cancelled.
    pub can_cancel: bool,
}

/// The consent a customer gave to a plan's off-session charges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentView {
    /// When (schedule time zone).
    pub at: NaiveDateTime,
    /// Client address.
    pub ip: String,
    /// Browser.
    pub user_agent: String,
    /// Version of the mandate text.
    pub version: String,
    /// The mandate, as shown and accepted.
    pub text: String,
}

/// An email about a plan, as its page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEmail {
    /// Its outbox row's id.
    pub id: i64,
    /// The email, as a timeline shows it.
    pub entry: TimelineEntry,
    /// The échéance it is about (id, 1, 2, 3…), when it is one's.
    pub echeance: Option<(i64, i32)>,
}

/// One échéance in a plan's view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEcheanceView {
    /// Id (its timeline is at `/admin/echeances/{id}`).
    pub id: i64,
    /// 1, 2, 3…
    pub seq: i32,
    /// Due date.
    pub due_date: NaiveDate,
    /// Amount.
    pub money: crate::domain::Money,
    /// Status.
    pub status: EcheanceStatus,
}

/// One change of a plan's status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanHistoryEntry {
    /// When (schedule time zone).
    pub at: NaiveDateTime,
    /// Before (none at creation).
    pub from: Option<crate::domain::PlanStatus>,
    /// After.
    pub to: crate::domain::PlanStatus,
    /// Why.
    pub cause: Cause,
    /// Who.
    pub actor: crate::domain::Actor,
    /// The admin's name, when an admin made it.
    pub actor_name: Option<String>,
}

/// What cancelling a plan did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCancelled {
    /// Échéances cancelled.
    pub cancelled: u32,
    /// Collected while cancelling (left paid).
    pub paid_meanwhile: u32,
    /// Not cancelled this time (Stripe did not answer): cancel again.
    pub left: u32,
    /// Refunds asked of Stripe for what the plan had collected (when asked to refund it).
    pub refunds_asked: u32,
    /// Refunds Stripe refused (or the échéance no longer allowed).
    pub refunds_refused: u32,
}

#[cfg(test)]
mod tests {
    use super::PlanForm;
    use crate::domain::{PlanField, PlanProblem, ScheduleRequest};
    use chrono::NaiveDate;

    #[test]
    fn money_back_adds_up_what_went_back_is_going_back_is_held_and_is_kept() {
        use super::RefundTotals;
        use crate::domain::{Currency, DisputeStatus as D, RefundStatus as R};
        // 100 €: 30 € refunded, 20 € asked and pending, 10 € refused (counts for nothing).
        let refunds = [(R::Succeeded, 3_000), (R::Pending, 2_000), (R::Refused, 1_000)];
        let one = RefundTotals::none(Currency::Eur).add(10_000, refunds, []);
        assert_eq!((one.paid, one.refunded, one.leaving, one.disputed, one.kept), (10_000, 3_000, 2_000, 0, 5_000));
        // And 50 € whose chargeback is open, 40 € whose inquiry holds nothing.
        let two = one.add(5_000, [], [(D::NeedsResponse, 5_000)]).add(4_000, [], [(D::WarningNeedsResponse, 4_000)]);
        assert_eq!((two.paid, two.refunded, two.leaving, two.disputed, two.kept), (19_000, 3_000, 2_000, 5_000, 9_000));
        // A chargeback larger than what refunds left keeps nothing, never less.
        let over = RefundTotals::none(Currency::Eur).add(1_000, [(R::Succeeded, 600)], [(D::Lost, 1_000)]);
        assert_eq!((over.kept, over.leaving), (0, 0));
    }

    fn listed(lines: &str) -> PlanForm {
        PlanForm { mode: "list".to_owned(), currency: "eur".to_owned(), lines: lines.to_owned(), ..PlanForm::default() }
    }

    #[test]
    fn an_explicit_list_reads_one_echeance_per_line_in_either_date_spelling() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("date");
        let form = listed("2027-01-15 300,00\n\n  15/02/2027 ; 1 234,56  \n2027-03-15\t99.99\n");
        assert_eq!(
            form.request(),
            Ok(ScheduleRequest::Explicit(vec![
                (d(2027, 1, 15), 30_000),
                (d(2027, 2, 15), 123_456),
                (d(2027, 3, 15), 9_999)
            ]))
        );
        let total: i64 = match form.schedule(d(2027, 1, 1)) {
            Ok(s) => s.total(),
            Err(e) => panic!("{e:?}"),
        };
        assert_eq!(total, 30_000 + 123_456 + 9_999);
    }

    #[test]
    fn a_split_total_may_be_over_one_charge_as_long_as_each_part_is_not() {
        let today = NaiveDate::from_ymd_opt(2027, 1, 5).expect("date");
        let split = |total: &str, count: &str| PlanForm {
            mode: "split".to_owned(),
            currency: "eur".to_owned(),
            total: total.to_owned(),
            count: count.to_owned(),
            first_due: "2027-02-01".to_owned(),
            interval: "month".to_owned(),
            ..PlanForm::default()
        };
        // 1 500 000,00 € in 3 is three charges of 500 000,00 € (the REST API takes the same).
        let schedule = split("1 500 000", "3").schedule(today).expect("three charges within one charge's maximum");
        assert_eq!(schedule.total(), 150_000_000);
        let refused = |total: &str, count: &str| {
            split(total, count)
                .schedule(today)
                .expect_err("refused")
                .0
                .iter()
                .map(|p| (p.field, p.problem))
                .collect::<Vec<_>>()
        };
        // In one part it is one charge over the maximum; thirteen digits are over any plan.
        assert_eq!(refused("1 500 000", "1"), vec![(PlanField::Total, PlanProblem::TooLarge)]);
        assert_eq!(refused("1000000000000", "24"), vec![(PlanField::Total, PlanProblem::TooLarge)]);
        assert_eq!(refused("0", "3"), vec![(PlanField::Total, PlanProblem::NotPositive)]);
    }

    #[test]
    fn each_unreadable_line_is_named_by_its_number() {
        let problems =
            listed("2027-01-15 300\nlundi 200\n2027-03-15 zéro\n2027-04-15 0").request().expect_err("refused").0;
        let named: Vec<(PlanField, PlanProblem)> = problems.iter().map(|p| (p.field, p.problem)).collect();
        assert_eq!(
            named,
            vec![
                (PlanField::DueDate(2), PlanProblem::Unreadable),
                (PlanField::Amount(3), PlanProblem::Unreadable),
                (PlanField::Amount(4), PlanProblem::NotPositive),
            ]
        );
    }
}

/// A receipt: one collected échéance, as its customer (or an admin) prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptView {
    /// The échéance's id (the receipt's number is made of it).
    pub echeance_id: i64,
    /// Who was paid.
    pub merchant: String,
    /// Who paid.
    pub customer: CustomerRef,
    /// What for (« Échéance 2/3 »).
    pub label: String,
    /// The plan it belongs to, if any.
    pub plan_label: Option<String>,
    /// How much.
    pub money: crate::domain::Money,
    /// Its due date.
    pub due_date: NaiveDate,
    /// When it was paid (schedule time zone).
    pub paid_at: Option<NaiveDateTime>,
    /// The card that paid (« Visa •••• 4242 »), when known.
    pub card: Option<String>,
    /// Stripe's reference of the payment.
    pub payment_intent: Option<String>,
    /// What went back since (minor units of the same currency).
    pub refunded: i64,
    /// Where it stands now.
    pub status: EcheanceStatus,
}
