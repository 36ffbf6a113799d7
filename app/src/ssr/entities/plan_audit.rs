//! `plan_audit`: append-only, one row per plan status change.

status_log!(table: "plan_audit", subject: payment_plan_id, status: crate::domain::PlanStatus);
