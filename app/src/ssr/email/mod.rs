//! Email: the outbox (queued in the transaction that causes an email), the
//! templates, the SMTP mailer and the worker that sends.

pub mod mailer;
pub mod outbox;
pub mod sender;
pub mod templates;
