//! Rows written in bulk, straight into a fresh database (and the simulator),
//! in the shapes the product writes them: customers with a saved card, plans
//! and their échéances, échéances waiting on Stripe with their attempt.

use app::domain::{Amount, AttemptOutcome, ChargeOrigin, Currency, EcheanceStatus, KeyMode, Money, PlanStatus, Role};
use app::ssr::entities::{charge_attempt, echeance, payment_method, payment_plan, stripe_customer, user};
use chrono::NaiveDate;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use crate::env::Db;
use crate::simulator::Simulator;

/// Rows a statement: under SQLite's limit of bound variables for the widest table.
const CHUNK: usize = 400;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn insert_all<A>(db: &Db, rows: Vec<A>)
where
    A: sea_orm::ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    let txn = db.conn.begin().await.expect("transaction");
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk).exec_without_returning(&txn).await.expect("bulk insert");
    }
    txn.commit().await.expect("commit");
}

/// The ids of table `E`'s rows, in the order they were written (a fresh table: by id).
async fn ids_of<E: EntityTrait>(db: &Db, id: E::Column) -> Vec<i64>
where
    E::Column: ColumnTrait,
{
    E::find().select_only().column(id).order_by_asc(id).into_tuple::<i64>().all(&db.conn).await.expect("ids")
}

/// An échéance as the product writes one (`repo::echeances::new_row`).
fn echeance_row(user: i64, label: String, cents: i64, due: NaiveDate, status: EcheanceStatus) -> echeance::ActiveModel {
    let money = Money::chargeable(Amount::from_minor(cents).expect("an amount"), Currency::Eur).expect("chargeable");
    app::ssr::repo::echeances::new_row(user, label, money, due, status, now_ms())
}

/// `n` customers, `{prefix}{i}@bench.test`, each with a Stripe customer and (when `card`)
/// a saved, usable card. Returns their user ids.
pub async fn customers(db: &Db, prefix: &str, n: usize, card: bool) -> Vec<i64> {
    let now = now_ms();
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0$bm90LWEtcmVhbC1oYXNoLWp1c3QtYmVuY2g";
    insert_all(
        db,
        (0..n)
            .map(|i| user::ActiveModel {
                email: Set(format!("{prefix}{i}@bench.test")),
                password_hash: Set(hash.to_owned()),
                role: Set(Role::Customer),
                display_name: Set(format!("{} {}", FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()])),
                locale: Set("fr".to_owned()),
                created_at: Set(now),
                ..Default::default()
            })
            .collect(),
    )
    .await;
    let users = ids_of::<user::Entity>(db, user::Column::Id).await;
    let users: Vec<i64> = users[users.len() - n..].to_vec();
    insert_all(
        db,
        users
            .iter()
            .enumerate()
            .map(|(i, u)| stripe_customer::ActiveModel {
                user_id: Set(*u),
                mode: Set(Some(KeyMode::Test)),
                stripe_customer_id: Set(format!("cus_{prefix}{i:07}")),
                created_at: Set(now),
                ..Default::default()
            })
            .collect(),
    )
    .await;
    if card {
        insert_all(
            db,
            users
                .iter()
                .enumerate()
                .map(|(i, u)| payment_method::ActiveModel {
                    user_id: Set(*u),
                    stripe_payment_method_id: Set(format!("pm_{prefix}{i:07}")),
                    brand: Set("visa".to_owned()),
                    last4: Set("4242".to_owned()),
                    exp_month: Set(12),
                    exp_year: Set(2034),
                    is_default: Set(true),
                    usable: Set(true),
                    created_at: Set(now),
                    mode: Set(Some(KeyMode::Test)),
                    ..Default::default()
                })
                .collect(),
        )
        .await;
    }
    users
}

const FIRST: [&str; 10] = ["Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules"];
const LAST: [&str; 10] =
    ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"];

/// One active plan of `per_plan` échéances for each customer, due from `first` a month
/// apart, in the statuses of a plan under way (the first collected, the rest to pay; one
/// plan in ten with a declined échéance). Returns the échéance ids.
pub async fn plans(db: &Db, customers: &[i64], per_plan: usize, first: NaiveDate) -> Vec<i64> {
    let now = now_ms();
    insert_all(
        db,
        customers
            .iter()
            .enumerate()
            .map(|(i, c)| payment_plan::ActiveModel {
                customer_id: Set(*c),
                label: Set(format!("{} {}", COURSES[i % COURSES.len()], 2027 + i % 3)),
                currency: Set("eur".to_owned()),
                total_cents: Set(12_000 * i64::try_from(per_plan).unwrap_or(1)),
                status: Set(PlanStatus::Actif),
                consumer_credit: Set(false),
                metadata: Set("{}".to_owned()),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                accepted_at: Set(Some(now)),
                customer_created: Set(true),
                ..Default::default()
            })
            .collect(),
    )
    .await;
    let plans = ids_of::<payment_plan::Entity>(db, payment_plan::Column::Id).await;
    let plans = &plans[plans.len() - customers.len()..];
    let mut rows = Vec::with_capacity(customers.len() * per_plan);
    for (i, (plan, customer)) in plans.iter().zip(customers).enumerate() {
        for seq in 0..per_plan {
            let due = first.checked_add_months(chrono::Months::new(u32::try_from(seq).unwrap_or(0))).unwrap_or(first);
            let status = match seq {
                0 => EcheanceStatus::Payee,
                1 if i % 10 == 3 => EcheanceStatus::Echouee,
                _ => EcheanceStatus::APayer,
            };
            rows.push(echeance::ActiveModel {
                payment_plan_id: Set(Some(*plan)),
                seq: Set(Some(i32::try_from(seq + 1).unwrap_or(1))),
                paid_at: Set(status.was_collected().then_some(now)),
                ..echeance_row(*customer, format!("Échéance {}/{per_plan}", seq + 1), 12_000, due, status)
            });
        }
    }
    insert_all(db, rows).await;
    let ids = ids_of::<echeance::Entity>(db, echeance::Column::Id).await;
    ids[ids.len() - customers.len() * per_plan..].to_vec()
}

const COURSES: [&str; 6] =
    ["Formation comptable", "Cours de piano", "Stage de voile", "Atelier céramique", "Licence pro", "Permis B"];

/// `n` échéances of `customer` waiting on Stripe (« en attente », an off-session charge that
/// asked for 3D Secure), each with its attempt and its PaymentIntent at the simulator, made
/// in the last 24 hours. One in `succeeded_every` was since paid at Stripe (the reconciler
/// must find it); the rest still wait. Returns the échéance ids and how many were paid.
pub async fn pending(
    db: &Db,
    sim: &Simulator,
    installation: &str,
    customer: i64,
    n: usize,
    succeeded_every: usize,
) -> (Vec<i64>, usize) {
    let now = now_ms();
    let today = chrono::Utc::now().date_naive();
    insert_all(
        db,
        (0..n)
            .map(|i| echeance::ActiveModel {
                current_attempt_no: Set(1),
                current_payment_intent_id: Set(Some(pi_id(i))),
                ..echeance_row(customer, format!("Échéance {i}"), 1_000, today, EcheanceStatus::EnAttente)
            })
            .collect(),
    )
    .await;
    let ids = ids_of::<echeance::Entity>(db, echeance::Column::Id).await;
    let ids = ids[ids.len() - n..].to_vec();
    let created_from = chrono::Utc::now().timestamp() - 86_400;
    let created_at = |i: usize| created_from + i64::try_from(i * 86_400 / n.max(1)).unwrap_or(0);
    let mut paid = 0;
    for (i, e) in ids.iter().enumerate() {
        let succeeded = i % succeeded_every == succeeded_every - 1;
        paid += usize::from(succeeded);
        let status = if succeeded { "succeeded" } else { "requires_payment_method" };
        let created = created_at(i);
        if succeeded && paid % 10 == 1 {
            // Its webhook never arrived: Stripe lists it as undelivered (the reconciler replays it).
            let metadata = [
                ("echeance_id", e.to_string()),
                ("attempt", "1".to_owned()),
                ("installation", installation.to_owned()),
            ];
            let pi = crate::simulator::payment_intent_of(&pi_id(i), "cus_bench_pending", &metadata);
            let event = crate::simulator::succeeded_event(&format!("evt_pending{i:08}"), created, pi);
            sim.record_event(event, false);
        }
        sim.seed_with_id(
            &pi_id(i),
            created,
            1_000,
            "cus_bench_pending",
            status,
            &[("echeance_id", e.to_string()), ("attempt", "1".to_owned()), ("installation", installation.to_owned())],
        );
    }
    insert_all(
        db,
        ids.iter()
            .enumerate()
            .map(|(i, e)| charge_attempt::ActiveModel {
                // Started when Stripe made its PaymentIntent.
                started_at: Set(created_at(i) * 1000),
                echeance_id: Set(*e),
                attempt_no: Set(1),
                idempotency_key: Set(format!("bench-e{e}-a1")),
                trigger: Set(ChargeOrigin::DueDate),
                amount_cents: Set(1_000),
                currency: Set("eur".to_owned()),
                stripe_customer_id: Set("cus_bench_pending".to_owned()),
                payment_method_id: Set("pm_bench_pending".to_owned()),
                payment_intent_id: Set(Some(pi_id(i))),
                client_secret: Set(Some(format!("{}_secret_sim", pi_id(i)))),
                outcome: Set(AttemptOutcome::RequiresAction.to_owned()),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect(),
    )
    .await;
    (ids, paid)
}

fn pi_id(i: usize) -> String {
    format!("pi_bench{i:08}")
}

/// How many échéances are in `status`.
pub async fn count_status(db: &Db, status: EcheanceStatus) -> u64 {
    use sea_orm::PaginatorTrait;
    echeance::Entity::find().filter(echeance::Column::Status.eq(status)).count(&db.conn).await.expect("count")
}

/// `n` échéances « à payer » due on `due`, outside any plan, spread over `customers`.
/// Returns their ids.
pub async fn due_on(db: &Db, customers: &[i64], n: usize, due: NaiveDate) -> Vec<i64> {
    insert_all(
        db,
        (0..n)
            .map(|i| {
                echeance_row(
                    customers[i % customers.len()],
                    format!("Échéance {i}"),
                    5_000,
                    due,
                    EcheanceStatus::APayer,
                )
            })
            .collect(),
    )
    .await;
    let ids = ids_of::<echeance::Entity>(db, echeance::Column::Id).await;
    ids[ids.len() - n..].to_vec()
}

/// Gives `users` the password `password` (hashed as the product hashes it).
pub async fn set_password(db: &Db, users: &[i64], password: &str) {
    let hash = app::ssr::auth::hash_password(password).expect("hash");
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, sea_orm::sea_query::Expr::value(hash))
        .filter(user::Column::Id.is_in(users.iter().copied()))
        .exec(&db.conn)
        .await
        .expect("password");
}

/// How many échéances due on `due` are in `status`.
pub async fn count_status_due_on(db: &Db, status: EcheanceStatus, due: NaiveDate) -> u64 {
    use sea_orm::PaginatorTrait;
    echeance::Entity::find()
        .filter(echeance::Column::Status.eq(status))
        .filter(echeance::Column::DueDate.eq(due))
        .count(&db.conn)
        .await
        .expect("count")
}

/// Rows of the kept totals not folded yet.
pub async fn kept_total_rows(db: &Db) -> u64 {
    use sea_orm::PaginatorTrait;
    app::ssr::entities::echeance_total::Entity::find().count(&db.conn).await.expect("count")
}
