//! The table's rows: each arranges its data, runs the real server (or one of its
//! commands) against the simulator, checks that the product did its job (a row
//! whose outcome is wrong stops the bench), and measures. Baselines are measured
//! in the same run, so a ratio holds on a noisy machine.

use app::domain::EcheanceStatus;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::env::{Bench, Engine, Server, WEBHOOK_SECRET, client};
use crate::seed;
use crate::simulator::{self, Config, Simulator};

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Line {
    /// What is measured (`Reconcile, 100,000 pending`).
    pub row: String,
    /// The measure (`Stripe calls per échéance`).
    pub measure: String,
    /// Its value, worded.
    pub value: String,
    /// The baseline measured in the same run, if the row has one.
    pub baseline: String,
    /// Value against baseline.
    pub ratio: String,
    /// The goal.
    pub goal: String,
    /// Whether the goal is met (`None`: no goal).
    pub met: Option<bool>,
}

impl Line {
    fn new(row: &str, measure: &str, value: String) -> Self {
        Self {
            row: row.to_owned(),
            measure: measure.to_owned(),
            value,
            baseline: "—".to_owned(),
            ratio: "—".to_owned(),
            goal: "—".to_owned(),
            met: None,
        }
    }

    fn goal(mut self, goal: &str, met: bool) -> Self {
        goal.clone_into(&mut self.goal);
        self.met = Some(met);
        self
    }

    fn baseline(mut self, baseline: String, ratio: String) -> Self {
        self.baseline = baseline;
        self.ratio = ratio;
        self
    }
}

/// Stripe's limits in live mode (25 requests a second per endpoint, 100 for the account)
/// and a round trip of 50 ms (`BENCH_STRIPE_LATENCY_MS` to change it).
pub fn stripe_like() -> Config {
    let latency = std::env::var("BENCH_STRIPE_LATENCY_MS").ok().and_then(|ms| ms.parse().ok()).unwrap_or(50);
    Config { latency: Duration::from_millis(latency), per_endpoint: Some(25), per_account: Some(100) }
}

/// `n` scaled, at least `min`.
pub fn scaled(n: usize, scale: f64, min: usize) -> usize {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let n = (n as f64 * scale).round() as usize;
    n.max(min)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1_000.0)
}

#[allow(clippy::cast_precision_loss)]
fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The `p`-th percentile (0–100) of `samples`.
fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort_unstable();
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let rank = (samples.len() * p).div_ceil(100).clamp(1, samples.len());
    samples[rank - 1]
}

/// The simulator alone: requests a second it answers.
pub async fn simulator(scale: f64) -> Vec<Line> {
    let seconds = if scale < 0.1 { 1 } else { 3 };
    let rate = simulator::self_test(64, Duration::from_secs(seconds)).await;
    vec![
        Line::new(
            "Simulator (no latency, no limit)",
            "GET /v1/payment_intents/{id} per second, 64 clients",
            format!("{rate:.0}"),
        )
        .goal("≥ 20,000", rate >= 20_000.0),
    ]
}

/// The nightly reconcile of `n` pending échéances, one in a hundred paid at Stripe since;
/// against the seed's design (one read per échéance, one after the other) on 2,000 of them.
pub async fn reconcile(bench: &Bench, scale: f64) -> Vec<Line> {
    let n = scaled(100_000, scale, 200);
    let sim = Simulator::start(stripe_like()).await;
    let db = bench.fresh_db(Engine::Sqlite, "reconcile").await;
    let installation =
        app::ssr::installation::open(&db.conn, chrono::Utc::now().timestamp_millis()).await.expect("installation");
    let customer = seed::customers(&db, "pending", 1, true).await[0];
    let (_, paid) = seed::pending(&db, &sim, &installation.id, customer, n, 100).await;
    let before: u64 = sim.calls().values().sum();
    let started = Instant::now();
    bench.cli(&db, &sim, &["reconcile", "--since", "48h"], &[]).await;
    let took = started.elapsed();
    let calls = sim.calls().values().sum::<u64>() - before;
    let now_paid = seed::count_status(&db, EcheanceStatus::Payee).await;
    assert_eq!(now_paid, u64::try_from(paid).unwrap_or(0), "the reconcile did not find every payment made at Stripe");

    // The seed's design: one GET per pending échéance, one after the other.
    let sample = n.min(scaled(2_000, scale, 100));
    let http = reqwest::Client::new();
    let started = Instant::now();
    for i in 0..sample {
        let r = http
            .get(format!("{}v1/payment_intents/pi_bench{i:08}", sim.url))
            .basic_auth("sk_test_bench", Some(""))
            .send()
            .await
            .expect("baseline read");
        assert!(r.status().is_success(), "baseline read: {}", r.status());
    }
    #[allow(clippy::cast_precision_loss)]
    let baseline = started.elapsed().mul_f64(n as f64 / sample as f64);
    #[allow(clippy::cast_precision_loss)]
    let per = calls as f64 / n as f64;
    let speedup = baseline.as_secs_f64() / took.as_secs_f64().max(1e-9);
    let row = format!("Reconcile, {} pending (1 % paid since)", thousands(n));
    vec![
        Line::new(&row, "Stripe calls per échéance", format!("{per:.4} ({calls} calls)")).goal("≤ 0.02", per <= 0.02),
        Line::new(&row, "wall time (server reconcile)", secs(took))
            .baseline(
                format!(
                    "{} (one GET each on {}, sequential, extrapolated; HTTP only)",
                    secs(baseline),
                    thousands(sample)
                ),
                format!("{speedup:.0}× faster"),
            )
            .goal("≤ 60 s, ≥ 100× faster", took <= Duration::from_secs(60) && speedup >= 100.0),
    ]
}

/// The due-date run of `n` échéances at 80 % of Stripe's per-endpoint limit, with a
/// trickle of customers paying ahead on the same endpoint meanwhile.
pub async fn due_run(bench: &Bench, scale: f64) -> Vec<Line> {
    let n = scaled(20_000, scale, 100);
    let sim = Simulator::start(stripe_like()).await;
    let db = bench.fresh_db(Engine::Sqlite, "due").await;
    let customers = seed::customers(&db, "due", n.min(5_000), true).await;
    let today = chrono::Utc::now().date_naive();
    seed::due_on(&db, &customers, n, today).await;
    // Four customers pay ahead, in turn, one payment a second in all, for as long as the run
    // lasts at the default rate (20 a second) and a minute more.
    let payers = seed::customers(&db, "payer", 4, true).await;
    let ahead = today.checked_add_days(chrono::Days::new(30)).unwrap_or(today);
    let payer_echeances = seed::due_on(&db, &payers, n / 20 + 60, ahead).await;
    seed::set_password(&db, &payers, "bench-password").await;
    let server = bench.serve(&db, &sim, &[]).await;
    let mut browsers = Vec::new();
    for i in 0..payers.len() {
        let browser = client();
        login(&server, &browser, &format!("payer{i}@bench.test"), "bench-password").await;
        browsers.push(browser);
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickle = {
        let (stop, address) = (stop.clone(), server.address.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut not_paid = 0;
            let mut next = payer_echeances.iter();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut ran_out = false;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                let Some(e) = next.next() else {
                    ran_out = true;
                    break;
                };
                let browser = &browsers[latencies.len() % browsers.len()];
                let started = Instant::now();
                let answer = browser
                    .post(format!("{address}/api/pay"))
                    .header("accept", "application/json")
                    .header("origin", &address)
                    .form(&[("echeance_id", e.to_string())])
                    .send()
                    .await;
                let status = match answer {
                    Ok(r) => r.json::<Value>().await.ok().and_then(|v| v["status"].as_str().map(str::to_owned)),
                    Err(_) => None,
                };
                latencies.push(started.elapsed());
                not_paid += usize::from(status.as_deref() != Some("payee"));
            }
            (latencies, not_paid, ran_out)
        })
    };
    let started = Instant::now();
    // The default rate (`CHARGE_DUE_RATE_PER_SEC` unset: 80 % of the per-endpoint limit).
    let printed = bench.cli(&db, &sim, &["charge-due", "--limit", &n.to_string()], &[]).await;
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut latencies, not_paid, ran_out) = trickle.await.expect("trickle");
    let number_after = |word: &str| -> Option<usize> {
        let rest = &printed[printed.find(word)? + word.len()..];
        rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    let charged = number_after("charged").expect("the run says how many it charged");
    let rate = number_after(" at").expect("the run says its rate");
    let paid = usize::try_from(seed::count_status_due_on(&db, EcheanceStatus::Payee, today).await).unwrap_or(0);
    let lost = n - paid;
    let achieved = per_sec(charged, took);
    #[allow(clippy::cast_precision_loss)]
    let ratio = achieved / rate as f64;
    let throttled: u64 = sim.throttled().values().sum();
    drop(server);
    let row = format!("Due-date run, {} due, default rate", thousands(n));
    vec![
        Line::new(
            &row,
            "charges per second (server charge-due)",
            format!("{achieved:.1}/s ({charged} in {})", secs(took)),
        )
        .baseline(format!("{rate}/s configured (80 % of 25/s)"), format!("{ratio:.2}"))
        .goal("≥ 0.9", ratio >= 0.9),
        Line::new(&row, "due échéances not paid (charges lost to 429s)", format!("{lost} ({throttled} 429s answered)"))
            .goal("0", lost == 0),
        Line::new(
            &row,
            "customers paying meanwhile (1/s)",
            format!(
                "{} paid, {not_paid} not; p50 {}, p99 {}",
                latencies.len() - not_paid,
                ms(percentile(&mut latencies, 50)),
                ms(percentile(&mut latencies, 99))
            ),
        )
        .goal("none starved", not_paid == 0 && !ran_out && !latencies.is_empty()),
    ]
}

async fn login(server: &Server, browser: &reqwest::Client, email: &str, password: &str) {
    let r = browser
        .post(format!("{}/api/login", server.address))
        .header("accept", "application/json")
        .header("origin", &server.address)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success(), "login of {email}: {}", r.status());
}

/// Event number `n`, `payment_intent.succeeded` for `pi`, made now.
fn event(n: usize, pi: Value) -> Value {
    simulator::succeeded_event(&format!("evt_bench{n:08}"), chrono::Utc::now().timestamp(), pi)
}

/// Posts `events` to the servers (in turn) from `senders` concurrent senders; the latency of each.
async fn send_events(addresses: &[String], events: Vec<Value>, senders: usize) -> (Duration, Vec<Duration>) {
    let events = Arc::new(events);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..senders {
        let (events, next, addresses) = (events.clone(), next.clone(), addresses.to_vec());
        tasks.spawn(async move {
            let http = reqwest::Client::new();
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(event) = events.get(i) else { break };
                let body = event.to_string();
                let signature = app::ssr::payments::webhook_signature::sign(
                    WEBHOOK_SECRET,
                    chrono::Utc::now().timestamp(),
                    body.as_bytes(),
                );
                let sent = Instant::now();
                let r = http
                    .post(format!("{}/stripe/webhook", addresses[i % addresses.len()]))
                    .header("stripe-signature", signature)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("webhook answered");
                assert!(r.status().is_success(), "webhook refused: {}", r.status());
                latencies.push(sent.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.expect("sender"));
    }
    (started.elapsed(), latencies)
}

/// Webhook ingest (verify, dedup, persist, 2xx) from 32 senders, against the database's
/// own rate of single-row durable inserts of the same size, measured on the same database.
/// Also the server's memory, idle and after the run.
pub async fn ingest(bench: &Bench, engine: Engine, scale: f64) -> Vec<Line> {
    let n = scaled(20_000, scale, 200);
    let sim = Simulator::start(stripe_like()).await;
    let db = bench.fresh_db(engine, "ingest").await;
    // Another installation's PaymentIntents: stored, then set aside by the worker as not ours.
    let events: Vec<Value> = (0..n)
        .map(|i| {
            let metadata =
                [("echeance_id", i.to_string()), ("attempt", "1".to_owned()), ("installation", "elsewhere".to_owned())];
            event(i, simulator::payment_intent_of(&format!("pi_ingest{i:08}"), "cus_elsewhere", &metadata))
        })
        .collect();
    let size = events[0].to_string().len();
    // The database alone first, before the server and its workers write to it.
    let inserts = insert_rate(&db.conn, db.engine, "bench_insert", n, size, 32).await;
    let normal = match engine {
        Engine::Sqlite => {
            Some(insert_rate(&db.sqlite_normal().await, engine, "bench_insert_normal", n, size, 32).await)
        }
        Engine::Postgres => None,
    };
    let server = bench.serve(&db, &sim, &[]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.rss_kib();
    let (took, mut latencies) = send_events(std::slice::from_ref(&server.address), events, 32).await;
    let after = server.rss_kib();
    let rate = per_sec(n, took);
    let ratio = rate / inserts;
    let p99 = percentile(&mut latencies, 99);
    let row = format!("Webhook ingest, {}, 32 senders, {}", thousands(n), engine.name());
    let mut lines = vec![
        Line::new(&row, "events per second (2xx)", format!("{rate:.0}/s"))
            .baseline(format!("{inserts:.0} single-row inserts/s ({size} bytes, same settings)"), format!("{ratio:.2}"))
            .goal("≥ 0.5", ratio >= 0.5),
        Line::new(&row, "latency p50 / p99", format!("{} / {}", ms(percentile(&mut latencies, 50)), ms(p99)))
            .goal("p99 ≤ 50 ms", p99 <= Duration::from_millis(50)),
    ];
    if let Some(normal) = normal {
        lines.push(
            Line::new(
                "SQLite durability (synchronous=FULL)",
                "single-row inserts per second, 32 writers",
                format!("{inserts:.0}/s"),
            )
            .baseline(format!("{normal:.0}/s with synchronous=NORMAL"), format!("{:.2}", inserts / normal)),
        );
        let kib = |k: Option<u64>| k.map_or_else(|| "?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        lines.push(Line::new(
            "Footprint",
            "server RSS idle / after the SQLite ingest",
            format!("{} / {}", kib(idle), kib(after)),
        ));
    }
    lines
}

/// Single-row durable inserts of `size`-byte payloads from `writers` concurrent writers,
/// each its own transaction, through the app's own connection settings: rows a second.
async fn insert_rate(
    conn: &sea_orm::DatabaseConnection,
    engine: Engine,
    table: &str,
    n: usize,
    size: usize,
    writers: usize,
) -> f64 {
    use sea_orm::{ConnectionTrait, Statement};
    let id = match engine {
        Engine::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Engine::Postgres => "BIGSERIAL PRIMARY KEY",
    };
    conn.execute_unprepared(&format!(
        "CREATE TABLE {table} (id {id}, event_id TEXT NOT NULL UNIQUE, payload TEXT NOT NULL)"
    ))
    .await
    .expect("baseline table");
    let payload = Arc::new("x".repeat(size));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backend = conn.get_database_backend();
    let sql: Arc<str> = match engine {
        Engine::Sqlite => format!("INSERT INTO {table} (event_id, payload) VALUES (?, ?)"),
        Engine::Postgres => format!("INSERT INTO {table} (event_id, payload) VALUES ($1, $2)"),
    }
    .into();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..writers {
        let (conn, payload, next, sql) = (conn.clone(), payload.clone(), next.clone(), sql.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let statement = Statement::from_sql_and_values(
                    backend,
                    &*sql,
                    [format!("evt_{i}").into(), payload.as_str().into()],
                );
                conn.execute_raw(statement).await.expect("baseline insert");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    per_sec(n, started.elapsed())
}

/// `payment_intent.succeeded` applied by the workers of `instances` servers on one database.
pub async fn apply(bench: &Bench, engine: Engine, instances: usize, scale: f64) -> Vec<Line> {
    let n = scaled(10_000, scale, 100);
    let sim = Simulator::start(stripe_like()).await;
    let db = bench.fresh_db(engine, "apply").await;
    let installation =
        app::ssr::installation::open(&db.conn, chrono::Utc::now().timestamp_millis()).await.expect("installation");
    let customer = seed::customers(&db, "pending", 1, true).await[0];
    let (ids, _) = seed::pending(&db, &sim, &installation.id, customer, n, 1).await;
    let mut servers = Vec::new();
    for _ in 0..instances {
        servers.push(bench.serve(&db, &sim, &[]).await);
    }
    let addresses: Vec<String> = servers.iter().map(|s| s.address.clone()).collect();
    let events: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let metadata = [
                ("echeance_id", e.to_string()),
                ("attempt", "1".to_owned()),
                ("installation", installation.id.clone()),
            ];
            event(i, simulator::payment_intent_of(&format!("pi_bench{i:08}"), "cus_bench_pending", &metadata))
        })
        .collect();
    let started = Instant::now();
    send_events(&addresses, events, 32).await;
    let deadline = Instant::now() + Duration::from_secs(1_800);
    loop {
        let paid = seed::count_status(&db, EcheanceStatus::Payee).await;
        if paid >= u64::try_from(n).unwrap_or(u64::MAX) {
            break;
        }
        assert!(Instant::now() < deadline, "only {paid} of {n} échéances paid by their webhooks");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    let row = format!("Webhook apply, {} payment_intent.succeeded, {}", thousands(n), engine.name());
    vec![Line::new(
        &row,
        &format!("applied per second, {instances} instance{}", if instances > 1 { "s" } else { "" }),
        format!("{:.0}/s ({} in all)", per_sec(n, took), secs(took)),
    )]
}

/// The server-rendered dashboard with `plans` plans of ten échéances.
pub async fn dashboard(bench: &Bench, scale: f64) -> Vec<Line> {
    let plans = scaled(10_000, scale, 100);
    let per_plan = 10;
    let sim = Simulator::start(stripe_like()).await;
    let db = bench.fresh_db(Engine::Sqlite, "dashboard").await;
    let customers = seed::customers(&db, "client", plans, true).await;
    let first = chrono::Utc::now().date_naive() - chrono::Days::new(40);
    let echeances = seed::plans(&db, &customers, per_plan, first).await;
    bench
        .cli(
            &db,
            &sim,
            &["seed-customer", "--admin", "--email", "admin@bench.test", "--password", "bench-admin-2026"],
            &[],
        )
        .await;
    // The seed's inserts each appended a change to the kept totals; the server's
    // worker folds them within seconds of its start, as after any bulk import.
    let unfolded = seed::kept_total_rows(&db).await;
    assert!(unfolded >= echeances.len() as u64, "{unfolded} rows: the seed's inserts are not all kept");
    let server = bench.serve(&db, &sim, &[]).await;
    let browser = client();
    login(&server, &browser, "admin@bench.test", "bench-admin-2026").await;
    let started = Instant::now();
    while seed::kept_total_rows(&db).await > 100 {
        assert!(started.elapsed() < Duration::from_secs(60), "the totals were not folded in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let last_page = echeances.len().div_ceil(25) - 1;
    let views = [
        ("default view", "/admin".to_owned()),
        ("status filter", "/admin?status=echouee".to_owned()),
        // A tenth of the customers are named Moreau: 10,000 échéances to count and sort.
        ("text search, 1 in 10 matches", "/admin?q=Moreau".to_owned()),
        ("text search, one customer", format!("/admin?q=client{}%40", plans / 2)),
        ("last page", format!("/admin?page={last_page}")),
    ];
    let rounds = scaled(200, scale.sqrt(), 20);
    let row =
        format!("Dashboard /admin, {} échéances in {} plans, SQLite", thousands(echeances.len()), thousands(plans));
    let mut lines = Vec::new();
    for (name, path) in views {
        let mut latencies = Vec::with_capacity(rounds);
        for round in 0..=rounds {
            let started = Instant::now();
            let r = browser.get(format!("{}{path}", server.address)).send().await.expect("dashboard");
            assert!(r.status().is_success(), "{path}: {}", r.status());
            let html = r.text().await.expect("page");
            assert!(html.contains("<table") || round > 0, "{path} shows no table");
            if round > 0 {
                latencies.push(started.elapsed());
            }
        }
        let p50 = percentile(&mut latencies, 50);
        lines.push(
            Line::new(
                &row,
                &format!("{name}: p50 / p99"),
                format!("{} / {}", ms(p50), ms(percentile(&mut latencies, 99))),
            )
            .goal("p50 ≤ 20 ms", p50 <= Duration::from_millis(20)),
        );
    }
    lines
}

/// `POST /v1/plans` from 8 concurrent clients.
pub async fn api(bench: &Bench, scale: f64) -> Vec<Line> {
    let per_client = scaled(50, scale, 5);
    let sim = Simulator::start(stripe_like()).await;
    let db = bench.fresh_db(Engine::Sqlite, "api").await;
    let printed = bench.cli(&db, &sim, &["api-key", "create", "--name", "bench"], &[]).await;
    let key = printed.split_whitespace().find(|w| w.starts_with("ek_")).expect("a key printed").to_owned();
    // The per-key limit (25/s by default) would measure itself: lifted for the bench.
    let server = bench.serve(&db, &sim, &[("API_RATE_LIMIT_PER_SEC", "100000".to_owned())]).await;
    let first_due = chrono::Utc::now().date_naive() + chrono::Days::new(10);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..8 {
        let (address, key) = (server.address.clone(), key.clone());
        tasks.spawn(async move {
            let http = reqwest::Client::new();
            let mut latencies = Vec::new();
            for i in 0..per_client {
                let body = json!({
                    "customer": {"email": format!("api{c}-{i}@bench.test"), "name": "Zoé Martin", "locale": "fr"},
                    "label": "Formation 2027", "currency": "eur", "total_cents": 45_000, "installments": 3,
                    "first_due_date": first_due.to_string(), "interval": "month",
                    "metadata": {"order_id": format!("A-{c}-{i}")},
                });
                let sent = Instant::now();
                let r = http
                    .post(format!("{address}/v1/plans"))
                    .bearer_auth(&key)
                    .header("idempotency-key", format!("bench-{c}-{i}"))
                    .json(&body)
                    .send()
                    .await
                    .expect("API answered");
                assert_eq!(r.status().as_u16(), 201, "POST /v1/plans: {}", r.text().await.unwrap_or_default());
                latencies.push(sent.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.expect("client"));
    }
    let took = started.elapsed();
    let n = latencies.len();
    vec![Line::new(
        &format!("API POST /v1/plans, {} plans, 8 clients, SQLite", thousands(n)),
        "p50 / p99",
        format!(
            "{} / {} ({:.0} plans/s)",
            ms(percentile(&mut latencies, 50)),
            ms(percentile(&mut latencies, 99)),
            per_sec(n, took)
        ),
    )]
}

/// What `scripts/bench` measured outside this process: the release build and the WASM bundle
/// (split at the lazy routes: the main module, the largest page's download, every file).
pub fn footprint_from_env() -> Vec<Line> {
    let mut lines = Vec::new();
    if let Some(main) = env_kb("BENCH_WASM_GZ_BYTES") {
        lines.push(Line::new("Footprint", "WASM main module, gzip -9", format!("{main:.0} KB")));
    }
    if let Some(page) = env_kb("BENCH_WASM_PAGE_GZ_BYTES") {
        let route = std::env::var("BENCH_WASM_PAGE").unwrap_or_default();
        let all =
            env_kb("BENCH_WASM_ALL_GZ_BYTES").map(|all| format!(" (every page's: {all:.0} KB)")).unwrap_or_default();
        lines.push(
            Line::new(
                "Footprint",
                &format!("WASM a page downloads, gzip -9 (the largest: the {route}, main module and its chunks)"),
                format!("{page:.0} KB{all}"),
            )
            .goal("≤ 250 KB", page <= 250.0),
        );
    }
    if let Ok(seconds) = std::env::var("BENCH_BUILD_SECONDS") {
        lines.push(Line::new(
            "Footprint",
            "release build (cargo leptos build --split --release; warm or cold as the cache was)",
            format!("{seconds} s"),
        ));
    }
    lines
}

/// A number of bytes `scripts/bench` put in the variable `var`, in KB.
fn env_kb(var: &str) -> Option<f64> {
    let bytes = std::env::var(var).ok()?.parse::<u64>().ok()?;
    #[allow(clippy::cast_precision_loss)]
    let kb = bytes as f64 / 1_000.0;
    Some(kb)
}
