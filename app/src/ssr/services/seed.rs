//! Demo data, written once: an admin, two customers, a plan and échéances in
//! several states. `seed-demo` and `scripts/run` call it; it does nothing when
//! users exist.

use chrono::{Days, NaiveDate};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait};

use super::error::ServiceError;
use crate::domain::{EcheanceStatus, Role};
use crate::ssr::auth::hash_password;
use crate::ssr::db;
use crate::ssr::entities::{audit_log, echeance, plan, subscription, user};
use crate::ssr::state::AppState;

/// A demo login, printed by `scripts/run`.
#[derive(Clone, Debug)]
pub struct DemoLogin {
    /// Login.
    pub email: &'static str,
    /// Password.
    pub password: &'static str,
    /// Customer or admin.
    pub role: Role,
}

/// The demo accounts.
pub const DEMO_LOGINS: [DemoLogin; 3] = [
    DemoLogin { email: "admin@echeancier.test", password: "admin-demo-2026", role: Role::Admin },
    DemoLogin { email: "alice@echeancier.test", password: "alice-demo-2026", role: Role::Customer },
    DemoLogin { email: "bruno@echeancier.test", password: "bruno-demo-2026", role: Role::Customer },
];

/// (due date offset in days, amount in cents, status)
type DemoEcheance = (i64, i64, EcheanceStatus);

/// Writes the demo data unless there are users already. Returns whether it wrote.
///
/// # Errors
/// Database failure.
pub async fn seed_demo(state: &AppState, today: NaiveDate) -> Result<bool, ServiceError> {
    if user::Entity::find().count(&state.db).await? > 0 {
        return Ok(false);
    }
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    let mut ids = Vec::new();
    for (login, name) in DEMO_LOGINS.iter().zip(["Administratrice Démo", "Alice Martin", "Bruno Lefèvre"]) {
        let row = user::ActiveModel {
            email: Set(login.email.to_owned()),
            password_hash: Set(hash_password(login.password)?),
            role: Set(login.role.as_str().to_owned()),
            display_name: Set(name.to_owned()),
            locale: Set("fr".to_owned()),
            stripe_customer_id: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        ids.push(row.id);
    }
    let plan = plan::ActiveModel {
        name: Set("Formation annuelle — 6 échéances".to_owned()),
        total_amount_cents: Set(180_000),
        installments: Set(6),
        currency: Set("eur".to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let day = |offset: i64| -> NaiveDate {
        if offset >= 0 {
            today.checked_add_days(Days::new(offset.unsigned_abs())).unwrap_or(today)
        } else {
            today.checked_sub_days(Days::new(offset.unsigned_abs())).unwrap_or(today)
        }
    };
    let schedules: [(usize, &[DemoEcheance]); 2] = [
        (
            1,
            &[
                (-60, 30_000, EcheanceStatus::Payee),
                (-30, 30_000, EcheanceStatus::Payee),
                (0, 30_000, EcheanceStatus::APayer),
                (30, 30_000, EcheanceStatus::APayer),
                (60, 30_000, EcheanceStatus::APayer),
                (90, 30_000, EcheanceStatus::APayer),
            ],
        ),
        (
            2,
            &[
                (-45, 12_550, EcheanceStatus::Payee),
                (-15, 12_550, EcheanceStatus::EchoueeDefinitive),
                (-5, 12_550, EcheanceStatus::Annulee),
                (15, 12_550, EcheanceStatus::APayer),
                (45, 12_550, EcheanceStatus::APayer),
            ],
        ),
    ];
    for (user_index, rows) in schedules {
        let user_id = ids[user_index];
        let sub = subscription::ActiveModel {
            user_id: Set(user_id),
            plan_id: Set(plan.id),
            status: Set("active".to_owned()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        for (n, (offset, cents, status)) in rows.iter().enumerate() {
            let row = echeance::ActiveModel {
                subscription_id: Set(Some(sub.id)),
                user_id: Set(user_id),
                label: Set(format!("Échéance {}/{}", n + 1, rows.len())),
                amount_cents: Set(*cents),
                currency: Set("eur".to_owned()),
                due_date: Set(day(*offset)),
                status: Set(status.as_str().to_owned()),
                current_attempt_no: Set(0),
                current_payment_intent_id: Set(None),
                checkout_session_id: Set(None),
                soft_declines: Set(0),
                next_retry_at: Set(None),
                version: Set(0),
                // Paid on their due date, at noon UTC: the dashboard's chart shows real history.
                paid_at: Set((*status == EcheanceStatus::Payee)
                    .then(|| day(*offset).and_hms_opt(12, 0, 0).map_or(now, |t| t.and_utc().timestamp_millis()))),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            audit_log::ActiveModel {
                echeance_id: Set(row.id),
                from_status: Set(None),
                to_status: Set(status.as_str().to_owned()),
                event: Set("Seeded".to_owned()),
                cause: Set("admin".to_owned()),
                actor: Set("system:seed-demo".to_owned()),
                detail: Set(Some("données de démonstration".to_owned())),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    Ok(true)
}
