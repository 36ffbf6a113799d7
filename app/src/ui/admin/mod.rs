//! The admin dashboard: filters, totals, chart, table, reconcile, timelines, new plans.

mod admins;
mod chart;
mod dashboard;
mod integration;
mod listing;
mod new_plan;
mod plan;
mod plans;
mod report;
mod security;
mod templates;
mod timeline;

pub use admins::AdminAdmins;
pub use dashboard::AdminDashboard;
pub use integration::AdminIntegration;
pub use new_plan::AdminNewPlan;
pub use plan::AdminPlan;
pub use plans::AdminPlans;
pub use security::AdminSecurity;
pub use templates::AdminTemplates;
pub use timeline::AdminTimeline;
