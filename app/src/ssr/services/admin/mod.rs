//! The admin dashboard: the filtered, paged list with totals and the daily
//! chart, the CSV export, an échéance's timeline, the reconcile report, and
//! the actions (cancel, resend the 3DS email, mark a legacy payment reviewed) — each going
//! through the engine.

pub mod actions;
pub mod export;
pub mod filter;
pub mod list;
pub mod report;
pub mod timeline;
pub mod totals;

pub use actions::{cancel, resend_authentication_email, review_legacy_payment};
pub use export::export_csv;
pub use filter::Filter;
pub use list::{PAGE_SIZE, list};
pub use report::{last_report, report_view};
pub use timeline::timeline;
