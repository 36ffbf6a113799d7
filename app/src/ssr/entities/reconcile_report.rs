//! `reconcile_reports`: one row per reconciler run, with its drift list (JSON).

use sea_orm::entity::prelude::*;

use crate::ssr::repo::column::ReportStatus;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconcile_reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub trigger: String,
    pub dry_run: bool,
    pub status: ReportStatus,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub checked: i32,
    pub fixed: i32,
    pub unchanged: i32,
    pub errors: i32,
    pub stripe_calls: i32,
    pub events_replayed: i32,
    #[sea_orm(column_type = "Text")]
    pub drift: String,
    #[sea_orm(column_type = "Text")]
    pub error_messages: String,
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// What the run counted (a stored count is never negative: one that is reads as 0).
    #[must_use]
    pub fn counts(&self) -> crate::domain::ReconcileCounts {
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        crate::domain::ReconcileCounts {
            checked: count(self.checked),
            fixed: count(self.fixed),
            unchanged: count(self.unchanged),
            errors: count(self.errors),
            stripe_calls: count(self.stripe_calls),
            events_replayed: count(self.events_replayed),
        }
    }
}

impl ActiveModel {
    /// Stores what the run counted (a count past `i32::MAX` is stored as that).
    pub fn set_counts(&mut self, counts: crate::domain::ReconcileCounts) {
        let count = |n: u32| sea_orm::Set(i32::try_from(n).unwrap_or(i32::MAX));
        self.checked = count(counts.checked);
        self.fixed = count(counts.fixed);
        self.unchanged = count(counts.unchanged);
        self.errors = count(counts.errors);
        self.stripe_calls = count(counts.stripe_calls);
        self.events_replayed = count(counts.events_replayed);
    }
}
