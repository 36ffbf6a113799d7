//! The admin dashboard: filters, totals, chart, table, reconcile, timelines.

mod chart;
mod dashboard;
mod report;
mod templates;
mod timeline;

pub use dashboard::AdminDashboard;
pub use templates::AdminTemplates;
pub use timeline::AdminTimeline;
