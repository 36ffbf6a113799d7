//! `audit_log`: append-only, one row per échéance status transition.

status_log!(table: "audit_log", subject: echeance_id, status: crate::domain::EcheanceStatus);
