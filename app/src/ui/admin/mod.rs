//! The admin dashboard: filters, totals, chart, table, reconcile, timelines.

mod chart;
mod dashboard;
mod report;
mod timeline;

pub use dashboard::AdminDashboard;
pub use timeline::AdminTimeline;
