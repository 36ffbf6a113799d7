//! Demo data, written once: an admin, two customers with their accepted plans
//! (one in default), a plan waiting for a new customer, échéances in several
//! states. `seed-demo` and `scripts/run` call it; it does nothing when
//! users exist.

use chrono::{Days, NaiveDate};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
};

use super::error::ServiceError;
use super::plans::ConsentContext;
use super::transitions::Audit;
use crate::domain::{Amount, Cause, Currency, EcheanceStatus, Email, Invalid, Locale, Money, PlanStatus, Role, UserId};
use crate::ssr::auth::hash_password;
use crate::ssr::config::Environment;
use crate::ssr::db;
use crate::ssr::entities::{echeance, plan, subscription, user};
use crate::ssr::repo::echeances;
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
pub type DemoEcheance = (i64, i64, EcheanceStatus);

/// Writes the demo data unless there are users already. Returns whether it wrote.
///
/// # Errors
/// `Forbidden` in production, database failure.
pub async fn seed_demo(state: &AppState, today: NaiveDate) -> Result<bool, ServiceError> {
    // Known passwords have no place in production.
    if state.settings.environment == Environment::Production {
        return Err(ServiceError::Forbidden);
    }
    if user::Entity::find().count(&state.db).await? > 0 {
        return Ok(false);
    }
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    let mut ids = Vec::new();
    for (login, name) in DEMO_LOGINS.iter().zip(["Administratrice Démo", "Alice Martin", "Bruno Lefèvre"]) {
        let account =
            Account { email: login.email, password: login.password, name, role: login.role, locale: Locale::Fr };
        ids.push(insert_user(&txn, &account, now).await?);
    }
    let template = plan::ActiveModel {
        name: Set("Formation annuelle — 6 échéances".to_owned()),
        total_amount_cents: Set(180_000),
        installments: Set(6),
        currency: Set("eur".to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    // Each customer accepted a plan that becomes active once `scripts/run` saves their card;
    // Alice finished an earlier one, Bruno's earlier one is in default. Paid échéances fall within
    // the dashboard's 30-day chart, and every status the demo can hold without a live
    // PaymentIntent appears at least once.
    let demo_plans: [(usize, &str, PlanStatus, &[DemoEcheance]); 4] = [
        (
            1,
            "Formation — acompte",
            PlanStatus::Termine,
            &[(-25, 30_000, EcheanceStatus::Payee), (-11, 30_000, EcheanceStatus::Payee)],
        ),
        (
            1,
            "Formation annuelle — 4 échéances",
            PlanStatus::EnAttenteClient,
            &[
                (0, 30_000, EcheanceStatus::APayer),
                (30, 30_000, EcheanceStatus::APayer),
                (60, 30_000, EcheanceStatus::APayer),
                (90, 30_000, EcheanceStatus::APayer),
            ],
        ),
        (
            2,
            "Cours de langue — 6 échéances",
            PlanStatus::EnDefaut,
            &[
                (-28, 12_550, EcheanceStatus::Remboursee),
                (-21, 12_550, EcheanceStatus::Payee),
                (-14, 12_550, EcheanceStatus::Contestee),
                (-7, 12_550, EcheanceStatus::Echouee),
                (-6, 12_550, EcheanceStatus::EchoueeDefinitive),
                (-5, 12_550, EcheanceStatus::Annulee),
            ],
        ),
        (
            2,
            "Stage d’été — 2 échéances",
            PlanStatus::EnAttenteClient,
            &[(15, 12_550, EcheanceStatus::APayer), (45, 12_550, EcheanceStatus::APayer)],
        ),
    ];
    let seeding = super::plans::Seeding { admin: ids[0], mode: super::host_api::keys::current_mode(state), now };
    for (customer, label, status, rows) in demo_plans {
        let total = rows.iter().map(|(_, cents, _)| cents).sum();
        let made = super::plans::seeded(&txn, ids[customer], label, total, status, &seeding).await?;
        let at = Placement { subscribed_to: Some(template.id), payment_plan: Some(made.id) };
        insert_echeances(
            &txn,
            ids[customer],
            at,
            rows,
            today,
            now,
            &crate::domain::Actor::System(crate::domain::SystemJob::SeedDemo).stored(),
        )
        .await?;
        // The customer's consent, as the acceptance page records it.
        let schedule = super::plans::echeances_of(&txn, made.id).await?;
        let mandate = super::invitations::mandate(state, &made, &schedule, Locale::Fr)?;
        let context = ConsentContext { ip: "127.0.0.1".to_owned(), user_agent: "server seed-demo".to_owned() };
        super::plans::record_consent(&txn, &made, mandate, context, now).await?;
    }
    txn.commit().await?;
    // A plan waiting for its customer, created as a merchant would: its invitation goes to the
    // mail catcher, and the development home page links to it.
    let first_due = today.checked_add_days(Days::new(7)).unwrap_or(today);
    let invited = super::plans::NewPlan {
        customer: super::plans::NewCustomer {
            email: "chloe@echeancier.test".to_owned(),
            name: "Chloé Petit".to_owned(),
            locale: Locale::Fr,
        },
        label: "Atelier céramique".to_owned(),
        currency: "eur".to_owned(),
        schedule: crate::domain::ScheduleRequest::Split {
            total: 45_000,
            count: 3,
            first_due,
            interval: crate::domain::Interval::Month,
        },
        metadata: std::collections::BTreeMap::new(),
        send_invitation: true,
        return_url: None,
    };
    super::plans::create(state, UserId::new(ids[0]).ok(), invited).await?;
    Ok(true)
}

/// A user to write.
#[derive(Clone, Copy, Debug)]
pub struct Account<'a> {
    /// Login.
    pub email: &'a str,
    /// Password (hashed before it is stored).
    pub password: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Customer or admin.
    pub role: Role,
    /// Language of the emails.
    pub locale: Locale,
}

/// What [`seed_customer`] wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SeededCustomer {
    /// The user's id.
    pub user_id: i64,
    /// The échéances, in the order given.
    pub echeances: Vec<i64>,
}

/// Test fixture (browser specs arrange their own data with it): a user with
/// échéances in the given states, due `offset` days from `today`. Refused in
/// production.
///
/// # Errors
/// `Forbidden` in production, `Validation` when the email exists or a status
/// cannot be seeded (one that needs a PaymentIntent), database failure.
pub async fn seed_customer(
    state: &AppState,
    account: &Account<'_>,
    echeances: &[DemoEcheance],
    today: NaiveDate,
) -> Result<SeededCustomer, ServiceError> {
    if state.settings.environment == Environment::Production {
        return Err(ServiceError::Forbidden);
    }
    if let Some((_, _, status)) = echeances.iter().find(|(_, _, s)| s.is_pending_on_stripe()) {
        return Err(Invalid::Fixture(format!("{status} needs a PaymentIntent: it cannot be seeded")).into());
    }
    let email = Email::parse(account.email)?;
    let now = state.now_ms();
    let txn = db::begin_write(&state.db).await?;
    if user::Entity::find().filter(user::Column::Email.eq(email.as_str())).count(&txn).await? > 0 {
        return Err(Invalid::Fixture(format!("{} exists already", email.as_str())).into());
    }
    let user_id = insert_user(&txn, &Account { email: email.as_str(), ..*account }, now).await?;
    let ids = insert_echeances(
        &txn,
        user_id,
        Placement::default(),
        echeances,
        today,
        now,
        &crate::domain::Actor::System(crate::domain::SystemJob::SeedCustomer).stored(),
    )
    .await?;
    txn.commit().await?;
    Ok(SeededCustomer { user_id, echeances: ids })
}

async fn insert_user(txn: &DatabaseTransaction, account: &Account<'_>, now: i64) -> Result<i64, ServiceError> {
    let row = user::ActiveModel {
        email: Set(account.email.to_owned()),
        password_hash: Set(hash_password(account.password)?),
        role: Set(account.role),
        display_name: Set(account.name.to_owned()),
        locale: Set(account.locale.code().to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(row.id)
}

/// Where seeded échéances belong.
#[derive(Clone, Copy, Debug, Default)]
struct Placement {
    /// Under a subscription to this plan template.
    subscribed_to: Option<i64>,
    /// In this payment plan, numbered in order.
    payment_plan: Option<i64>,
}

/// Writes a user's échéances, placed as `at` says, with their audit rows.
async fn insert_echeances(
    txn: &DatabaseTransaction,
    user_id: i64,
    at: Placement,
    rows: &[DemoEcheance],
    today: NaiveDate,
    now: i64,
    actor: &str,
) -> Result<Vec<i64>, ServiceError> {
    let day = |offset: i64| -> NaiveDate {
        if offset >= 0 {
            today.checked_add_days(Days::new(offset.unsigned_abs())).unwrap_or(today)
        } else {
            today.checked_sub_days(Days::new(offset.unsigned_abs())).unwrap_or(today)
        }
    };
    let subscription_id = match at.subscribed_to {
        Some(plan_id) => Some(
            subscription::ActiveModel {
                user_id: Set(user_id),
                plan_id: Set(plan_id),
                status: Set(subscription::ACTIVE.to_owned()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?
            .id,
        ),
        None => None,
    };
    let mut ids = Vec::with_capacity(rows.len());
    for (n, (offset, cents, status)) in rows.iter().enumerate() {
        let amount = Amount::from_minor(*cents).map_err(|_| Invalid::Fixture(format!("{cents}: not an amount")))?;
        let money = Money::chargeable(amount, Currency::Eur).map_err(Invalid::from)?;
        let label = format!("Échéance {}/{}", n + 1, rows.len());
        let row = echeance::ActiveModel {
            subscription_id: Set(subscription_id),
            payment_plan_id: Set(at.payment_plan),
            seq: Set(at.payment_plan.and_then(|_| i32::try_from(n + 1).ok())),
            // Paid on their due date, at noon UTC: the dashboard's chart shows real history.
            paid_at: Set(status
                .was_collected()
                .then(|| day(*offset).and_hms_opt(12, 0, 0).map_or(now, |t| t.and_utc().timestamp_millis()))),
            ..echeances::new_row(user_id, label, money, day(*offset), *status, now)
        }
        .insert(txn)
        .await?;
        let entry = Audit {
            echeance_id: row.id,
            from: None,
            to: *status,
            what: "Seeded",
            cause: Cause::Admin,
            actor,
            detail: None,
            at: now,
        };
        super::transitions::audit(txn, entry).await?;
        ids.push(row.id);
    }
    Ok(ids)
}
