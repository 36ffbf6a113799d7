//! The pure core: money, the échéance state machine, attempts and their
//! idempotency keys, recovery tokens. No I/O, no clock, no `cfg`.

pub mod attempt;
pub mod locale;
pub mod money;
pub mod notification;
pub mod status;
pub mod token;
pub mod user;

pub use attempt::{AttemptNo, AttemptOutcome, EcheanceId, IdempotencyKey, KeyPurpose, RetryPolicy};
pub use locale::Locale;
pub use money::{Amount, Currency, Money};
pub use notification::EmailKind;
pub use status::{EcheanceStatus, PaymentEvent, TransitionError};
pub use token::{RecoveryToken, TokenError};
pub use user::{Email, Role};
