//! The pure core: money, plans and their schedules, the échéance and plan state machines, attempts and their
//! outcomes, idempotency keys, declines and retries, emails, recovery tokens,
//! and the reasons a request is refused. No I/O, no clock, no `cfg`.

pub mod actor;
pub mod decline;
pub mod delivery;
pub mod dispute;
pub mod host_api;
pub mod idempotency;
pub mod ids;
pub mod legacy;
pub mod locale;
pub mod money;
pub mod notification;
pub mod origin;
pub mod outcome;
pub mod plan;
pub mod plan_status;
pub mod reason;
pub mod reconcile;
pub mod refund;
pub mod spelling;
pub mod status;
pub mod text;
pub mod throttle;
pub mod token;
pub mod user;

pub use actor::{Actor, SystemJob};
pub use decline::{DeclineReason, RetryDecision, RetryPolicy, is_soft_decline};
pub use delivery::{HostDeliveryStatus, InboxStatus, OutboxStatus, Trouble, next_host_try};
pub use dispute::{DisputeNews, DisputeStatus};
pub use host_api::{ApiKey, Bucket, HostEvent, KeyMode, NotAKey};
pub use idempotency::{IdempotencyKey, KeyPurpose, key_scope};
pub use ids::{AttemptNo, EcheanceId, InvalidId, UserId};
pub use locale::{Locale, UnknownLocale};
pub use money::{Amount, Currency, Money, Total};
pub use notification::EmailKind;
pub use origin::{Cause, ChargeOrigin};
pub use outcome::{AttemptOutcome, AttemptUpdate, NextCheck, ThreeDsStep};
pub use plan::{
    Installment, Interval, PlanField, PlanProblem, Rescheduled, Schedule, ScheduleInvalid, ScheduleRequest,
};
pub use plan_status::{DefaultPolicy, PlanEvent, PlanStatus, PlanTransitionError, Progress};
pub use reason::{Field, Invalid, Refusal};
pub use reconcile::{ReconcileCounts, ReconcileProblem, ReconcileStep, StripeList, StripeObject};
pub use refund::{RefundNews, RefundReason, RefundStatus};
pub use spelling::UnknownSpelling;
pub use status::{EcheanceStatus, PaymentEvent, TransitionError};
pub use throttle::{Admission, Throttle, ThrottleState};
pub use token::{InvitationToken, LinkHolder, RecoveryToken, TokenError};
pub use user::{Email, Role};
