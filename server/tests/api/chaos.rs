//! The chaos run (`scripts/chaos`; `scripts/test` runs it small): the real
//! server processes on one database, against the Stripe peer behind the test
//! layer drawing faults at random, killed and restarted, with webhooks
//! delivered late, repeated and shuffled and the SMTP server down for the
//! first half. Then one reconcile, and the table of what must hold. It panics
//! on any violation and prints the seed to replay it (`CHAOS_SEED`).
//!
//! Sizes come from the environment: `CHAOS_SIZE` échéances (300),
//! `CHAOS_KILLS` (4: twice as many SIGKILLs, shared at random by the two server
//! instances), `CHAOS_DUE_PROCESSES` due-date runs at once (2), `CHAOS_SEED`.

use app::domain::{AttemptOutcome, EcheanceStatus, EmailKind, InboxStatus, OutboxStatus};
use app::ssr::entities::{audit_log, charge_attempt, echeance, email_outbox, stripe_event};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

use crate::helpers::binary::{binary_env, start_binary_with};
use crate::helpers::mail::MailCatcher;
use crate::helpers::peer::free_port;
use crate::helpers::stripe_layer::{Chaos, shuffle_in_place};
use crate::helpers::{Delivery, StripeLayer, TestApp, WEBHOOK_SECRET, cards, spawn_app_by_hand};

/// Draws for the driver (xorshift), from the run's seed.
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One `server serve` process, killed and restarted by the driver.
struct Instance {
    port: u16,
    child: Option<Child>,
}

impl Instance {
    async fn start(app: &TestApp, layer: &StripeLayer, env: &[(&'static str, String)]) -> Self {
        let port = free_port();
        Self { port, child: Some(start_binary_with(app, layer, port, env).await) }
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("SIGKILL");
            let _ = child.wait().await;
        }
    }

    async fn restart(&mut self, app: &TestApp, layer: &StripeLayer, env: &[(&'static str, String)]) {
        self.child = Some(start_binary_with(app, layer, self.port, env).await);
    }
}

/// What the driver did, printed with the table.
#[derive(Default)]
struct Tally {
    serve_kills: u64,
    cli_kills: u64,
    due_runs: u64,
    deliveries: u64,
    refused_deliveries: u64,
    late_events: u64,
}

/// Webhooks the peer sent, as the driver hands them out: each 1–3 times,
/// shuffled, to whichever instance is up; some kept until after the reconcile.
struct Webhooks {
    pending: Vec<Vec<u8>>,
    late: Vec<Vec<u8>>,
    http: reqwest::Client,
}

impl Webhooks {
    fn collect(&mut self, layer: &StripeLayer, draw: &mut Draw, tally: &mut Tally) {
        for (_, body) in layer.take_held() {
            if draw.below(10) == 0 {
                self.late.push(body);
                tally.late_events += 1;
            } else {
                for _ in 0..=draw.below(3) {
                    self.pending.push(body.clone());
                }
            }
        }
    }

    /// Delivers what is pending, eight at a time, each to an instance drawn at random; what no
    /// instance took stays for the next round (Stripe retries).
    async fn deliver(&mut self, ports: &[u16], draw: &mut Draw, tally: &mut Tally) {
        use futures::StreamExt as _;
        let mut batch = std::mem::take(&mut self.pending);
        shuffle_in_place(&mut batch, draw.below(u64::MAX - 1) + 1);
        let targeted: Vec<(u16, Vec<u8>)> = batch
            .into_iter()
            .map(|body| (ports[usize::try_from(draw.below(ports.len() as u64)).unwrap_or(0)], body))
            .collect();
        let http = self.http.clone();
        let outcomes: Vec<(bool, Vec<u8>)> = futures::stream::iter(targeted)
            .map(|(port, body)| {
                let http = http.clone();
                async move {
                    let now = chrono::Utc::now().timestamp();
                    let signature = app::ssr::payments::webhook_signature::sign(WEBHOOK_SECRET, now, &body);
                    let sent = http
                        .post(format!("http://127.0.0.1:{port}/stripe/webhook"))
                        .header("stripe-signature", signature)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await;
                    (sent.is_ok_and(|r| r.status().is_success()), body)
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        for (ok, body) in outcomes {
            if ok {
                tally.deliveries += 1;
            } else {
                tally.refused_deliveries += 1;
                self.pending.push(body);
            }
        }
    }
}

/// `server charge-due` (the due-date run) as another process, maybe killed part-way.
async fn due_run(app: &TestApp, layer: &StripeLayer, env: &[(&'static str, String)], kill_after: Option<Duration>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["charge-due", "--limit", "150"])
        .envs(binary_env(app, layer, free_port()))
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("charge-due");
    match kill_after {
        Some(after) => {
            tokio::time::sleep(after).await;
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        None => {
            let _ = tokio::time::timeout(Duration::from_secs(180), child.wait()).await;
        }
    }
}

async fn count(app: &TestApp, statuses: &[EcheanceStatus]) -> u64 {
    echeance::Entity::find()
        .filter(echeance::Column::Status.is_in(statuses.iter().copied()))
        .count(&app.state.db)
        .await
        .expect("count")
}

#[tokio::test]
#[ignore = "the chaos run: scripts/chaos (scripts/test runs it at a small size)"]
async fn chaos_run() {
    let size = env_or("CHAOS_SIZE", 300);
    let kills = env_or("CHAOS_KILLS", 4);
    let due_processes = env_or("CHAOS_DUE_PROCESSES", 2).max(1);
    let seed = env_or("CHAOS_SEED", u64::from(chrono::Utc::now().timestamp_subsec_nanos()) | 1);
    let started = Instant::now();
    println!(
        "chaos: seed {seed} (replay with CHAOS_SEED={seed}), {size} échéances, {} server kills, {due_processes} due-date runs at once",
        2 * kills
    );
    let mut draw = Draw(seed);
    let mut tally = Tally::default();

    let app = spawn_app_by_hand().await;
    app.stripe.set_delivery(Delivery::Drop);
    let customers = size.div_ceil(4);
    let mut people = Vec::new();
    for n in 0..customers {
        let card = if draw.below(10) == 0 { cards::SCA_ALWAYS } else { cards::OK };
        people.push(app.customer(&format!("c{n}"), Some(card)).await);
    }
    let mut ids = Vec::new();
    for n in 0..size {
        let who = &people[usize::try_from(n % customers).unwrap_or(0)];
        ids.push(app.echeance(who, i64::try_from(1_000 + draw.below(9_000)).unwrap_or(1_000), app.today()).await);
    }
    println!("chaos: {customers} customers and {size} échéances written in {:.0?}", started.elapsed());

    let layer = StripeLayer::start(&app.peer.url).await;
    app.peer.register_webhook(&layer.relay_url(), WEBHOOK_SECRET).await;
    layer.set_delivery(Delivery::Hold);
    layer.cache_listings();
    layer.set_chaos(Some(Chaos { seed, lost_pct: 20, error_pct: 5, burst_pct: 2 }));
    let mut smtp = MailCatcher::unstarted();
    let env: Vec<(&'static str, String)> = vec![
        ("SMTP_URL", smtp.smtp_url()),
        ("EMAIL_RETRY_BASE_SECS", "1".to_owned()),
        ("EMAIL_MAX_ATTEMPTS", "1000".to_owned()),
        ("CHARGE_DUE_RATE_PER_SEC", "50".to_owned()),
    ];
    let mut instances = [Instance::start(&app, &layer, &env).await, Instance::start(&app, &layer, &env).await];
    let ports: Vec<u16> = instances.iter().map(|i| i.port).collect();
    let mut hooks = Webhooks { pending: Vec::new(), late: Vec::new(), http: reqwest::Client::new() };

    // The run: due-date runs from several processes at once (one of them sometimes killed
    // part-way), webhooks handed out, a server instance killed and restarted now and
    // then, the SMTP server up once half the kills are done.
    let open = [EcheanceStatus::APayer, EcheanceStatus::Echouee, EcheanceStatus::EnCours];
    let deadline = Instant::now() + Duration::from_secs(env_or("CHAOS_MAX_SECS", 1_200));
    let mut stable_since: Option<(u64, Instant)> = None;
    loop {
        let kill_one = (draw.below(3) == 0).then(|| Duration::from_millis(100 + draw.below(1_500)));
        tally.cli_kills += u64::from(kill_one.is_some());
        tally.due_runs += due_processes;
        let runs = (0..due_processes).map(|n| due_run(&app, &layer, &env, if n == 0 { kill_one } else { None }));
        futures::future::join_all(runs).await;
        hooks.collect(&layer, &mut draw, &mut tally);
        hooks.deliver(&ports, &mut draw, &mut tally).await;
        if tally.serve_kills < 2 * kills && draw.below(2) == 0 {
            let i = usize::try_from(draw.below(2)).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(draw.below(800))).await;
            instances[i].kill().await;
            tally.serve_kills += 1;
            hooks.collect(&layer, &mut draw, &mut tally);
            hooks.deliver(&ports, &mut draw, &mut tally).await;
            instances[i].restart(&app, &layer, &env).await;
        }
        if tally.serve_kills >= kills && !smtp.is_running() {
            smtp.restart().await;
            println!("chaos: SMTP server up after {:.0?}", started.elapsed());
        }
        let left = count(&app, &open).await;
        let done_killing = tally.serve_kills >= 2 * kills;
        // Converged: nothing payable left, and what is still « en cours » has stopped moving
        // for a minute (the follow-ups retry every 10 s): the reconciler's part.
        let unchanged_for = match stable_since {
            Some((n, since)) if n == left => since.elapsed(),
            _ => {
                stable_since = Some((left, Instant::now()));
                Duration::ZERO
            }
        };
        let payable = count(&app, &[EcheanceStatus::APayer, EcheanceStatus::Echouee]).await;
        if done_killing && smtp.is_running() && payable == 0 && (left == 0 || unchanged_for > Duration::from_secs(60)) {
            break;
        }
        if Instant::now() >= deadline {
            // What was happening, for the one who replays it: where it stood and what Stripe was asked.
            println!(
                "chaos: no convergence after {:.0?}: {left} open, {payable} payable, {} server kills, {} due-date runs",
                started.elapsed(),
                tally.serve_kills,
                tally.due_runs
            );
            println!("chaos: Stripe calls {:?}", layer.all_calls());
            println!("chaos: faults drawn {:?}", layer.faults_drawn());
            panic!("chaos (seed {seed}): no convergence; {left} échéances still open");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    println!("chaos: run over after {:.0?}", started.elapsed());
    println!("chaos: Stripe calls {:?}", layer.all_calls());
    println!("chaos: faults drawn {:?}", layer.faults_drawn());

    // Stripe calms down; what was still in flight is delivered, then the nightly reconcile.
    layer.set_chaos(None);
    hooks.collect(&layer, &mut draw, &mut tally);
    hooks.deliver(&ports, &mut draw, &mut tally).await;
    let reconcile = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["reconcile", "--since", "24h"])
        .envs(binary_env(&app, &layer, free_port()))
        .envs(env.iter().cloned())
        // The layer reads every event and refund from the peer for a list's first page: at full
        // size that takes longer than the 3 s the serving processes allow a Stripe call.
        .env("STRIPE_TIMEOUT_SECS", "120")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(1_800), reconcile)
        .await
        .unwrap_or_else(|_| panic!("chaos (seed {seed}): the reconcile did not finish in 30 minutes"))
        .expect("reconcile runs");
    println!("chaos: reconcile: {}", String::from_utf8_lossy(&output.stdout).trim());
    assert!(output.status.success(), "reconcile failed: {}", String::from_utf8_lossy(&output.stderr));
    // The webhooks held back until after the reconciler, and whatever Stripe sent meanwhile.
    hooks.pending.append(&mut hooks.late);
    hooks.collect(&layer, &mut draw, &mut tally);
    hooks.late.clear();
    hooks.deliver(&ports, &mut draw, &mut tally).await;
    settle(&app, &layer, &mut hooks, &ports, &mut draw, &mut tally).await;

    let table = Table::measure(&app, &smtp, &ids, tally.serve_kills).await;
    println!(
        "chaos: {} due-date runs ({} killed), {} server kills, {} webhook deliveries ({} refused or lost, {} held past the reconcile), {:.0?} in all",
        tally.due_runs,
        tally.cli_kills,
        tally.serve_kills,
        tally.deliveries,
        tally.refused_deliveries,
        tally.late_events,
        started.elapsed()
    );
    println!("{}", table.render(seed, size));
    for mut instance in instances {
        instance.kill().await;
    }
    assert!(table.violations().is_empty(), "chaos (seed {seed}): {:?}", table.violations());
}

/// Waits (bounded) until the inbox and the due emails are drained.
async fn settle(
    app: &TestApp,
    layer: &StripeLayer,
    hooks: &mut Webhooks,
    ports: &[u16],
    draw: &mut Draw,
    tally: &mut Tally,
) {
    // Emails retried with backoff while the SMTP server was down wait up to 15 minutes.
    let deadline = Instant::now() + Duration::from_secs(1_000);
    while Instant::now() < deadline {
        hooks.collect(layer, draw, tally);
        hooks.deliver(ports, draw, tally).await;
        let now = chrono::Utc::now().timestamp_millis();
        let inbox = stripe_event::Entity::find()
            .filter(stripe_event::Column::Status.eq(InboxStatus::Pending))
            .all(&app.state.db)
            .await
            .expect("inbox")
            .len();
        let outbox = email_outbox::Entity::find()
            .filter(email_outbox::Column::Status.eq(OutboxStatus::Pending))
            .filter(email_outbox::Column::SendAfter.lte(now))
            .all(&app.state.db)
            .await
            .expect("outbox")
            .len();
        // An attempt whose outcome stayed unknown is settled by the serving processes' follow-up
        // (its re-send is claimed for 5 minutes at a time): that is the product converging too.
        let in_flight = count(app, &[EcheanceStatus::EnCours]).await;
        if inbox == 0 && outbox == 0 && in_flight == 0 && hooks.pending.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The invariants, measured on the database, at Stripe and at the SMTP server.
struct Table {
    rows: Vec<(&'static str, u64, &'static str, bool)>,
}

impl Table {
    async fn measure(app: &TestApp, smtp: &MailCatcher, ids: &[i64], kills: u64) -> Self {
        let db = &app.state.db;
        let installation = app.state.installation_id.to_string();
        let ours: HashSet<i64> = ids.iter().copied().collect();
        // Stripe's truth, per échéance: collected, waiting for the customer, or neither.
        let mut succeeded: HashMap<i64, u64> = HashMap::new();
        let mut succeeded_ids: HashSet<String> = HashSet::new();
        let mut awaiting: HashSet<(i64, i32)> = HashSet::new();
        for pi in app.peer.payment_intents().await {
            if pi["metadata"]["installation"] != installation.as_str() {
                continue;
            }
            let Some(e) = pi["metadata"]["echeance_id"].as_str().and_then(|v| v.parse::<i64>().ok()) else {
                continue;
            };
            let attempt = pi["metadata"]["attempt"].as_str().and_then(|v| v.parse::<i32>().ok()).unwrap_or(0);
            match pi["status"].as_str() {
                Some("succeeded") => {
                    *succeeded.entry(e).or_default() += 1;
                    succeeded_ids.insert(pi["id"].as_str().unwrap_or_default().to_owned());
                }
                // The peer's shape of Stripe's `requires_payment_method` + `authentication_required`.
                Some("requires_action") => {
                    awaiting.insert((e, attempt));
                }
                _ => {}
            }
        }
        let rows = echeance::Entity::find().all(db).await.expect("échéances");
        let rows: Vec<_> = rows.into_iter().filter(|r| ours.contains(&r.id)).collect();
        let max_succeeded = succeeded.values().copied().max().unwrap_or(0);
        let mismatched = rows
            .iter()
            .filter(|r| {
                let truth = if succeeded.contains_key(&r.id) {
                    EcheanceStatus::Payee
                } else if awaiting.contains(&(r.id, r.current_attempt_no)) {
                    EcheanceStatus::EnAttente
                } else {
                    EcheanceStatus::APayer
                };
                r.status != truth
            })
            .count();
        let stuck = rows.iter().filter(|r| r.status == EcheanceStatus::EnCours).count();
        let attempts = charge_attempt::Entity::find().all(db).await.expect("attempts");
        // What a violation looks like, for the replay: the échéance, its attempts, Stripe's side.
        for r in rows.iter().filter(|r| r.status == EcheanceStatus::EnCours).take(20) {
            let mine: Vec<String> = attempts
                .iter()
                .filter(|a| a.echeance_id == r.id)
                .map(|a| {
                    format!(
                        "a{} {} calls={} pi={} code={} next_check_in={}s",
                        a.attempt_no,
                        a.outcome,
                        a.stripe_calls,
                        a.payment_intent_id.as_deref().unwrap_or("-"),
                        a.error_code.as_deref().unwrap_or("-"),
                        a.next_check_at.map_or(-1, |t| (t - chrono::Utc::now().timestamp_millis()) / 1000),
                    )
                })
                .collect();
            let at_stripe = if succeeded.contains_key(&r.id) { "succeeded" } else { "no success" };
            println!("chaos: still en cours: échéance {} ({at_stripe}): {}", r.id, mine.join(" | "));
        }

        let outbox = email_outbox::Entity::find().all(db).await.expect("outbox");
        let mut emails: HashMap<(i64, EmailKind), Vec<&email_outbox::Model>> = HashMap::new();
        for row in &outbox {
            if let Some(e) = row.echeance_id {
                emails.entry((e, row.kind)).or_default().push(row);
            }
        }
        let current: HashMap<i64, i32> = rows.iter().map(|r| (r.id, r.current_attempt_no)).collect();
        let wrong_emails = rows
            .iter()
            .filter(|r| {
                let of = |kind| emails.get(&(r.id, kind)).map_or(0, Vec::len);
                let auth_for_current = emails.get(&(r.id, EmailKind::AuthenticationRequired)).map_or(0, |v| {
                    v.iter().filter(|m| m.dedup_key.ends_with(&format!(":a{}", current[&r.id]))).count()
                });
                match r.status {
                    EcheanceStatus::Payee => of(EmailKind::PaymentReceived) != 1,
                    EcheanceStatus::EnAttente => auth_for_current != 1 || of(EmailKind::PaymentReceived) != 0,
                    _ => of(EmailKind::PaymentReceived) != 0,
                }
            })
            .count();
        let dedup_keys: HashSet<&str> = outbox.iter().map(|m| m.dedup_key.as_str()).collect();
        let now = chrono::Utc::now().timestamp_millis();
        let undelivered = outbox
            .iter()
            .filter(|m| m.status != OutboxStatus::Sent && m.status != OutboxStatus::Cancelled && m.send_after <= now)
            .count();

        let messages = smtp.messages().await;
        let mut by_message_id: BTreeMap<String, u64> = BTreeMap::new();
        let mut ids_per_row: HashMap<String, HashSet<String>> = HashMap::new();
        for m in &messages {
            let message_id = m["messageId"].as_str().unwrap_or_default().to_owned();
            *by_message_id.entry(message_id.clone()).or_default() += 1;
            let row = m["headers"]["x-echeancier-dedup"].as_str().unwrap_or_default().to_owned();
            ids_per_row.entry(row).or_default().insert(message_id);
        }
        let repeated = messages.len() - by_message_id.len();
        let split = ids_per_row.values().filter(|ids| ids.len() > 1).count();
        let unknown_messages = ids_per_row.keys().filter(|k| !dedup_keys.contains(k.as_str())).count();

        let audit = audit_log::Entity::find().order_by_asc(audit_log::Column::Id).all(db).await.expect("audit");
        let mut last: HashMap<i64, EcheanceStatus> = HashMap::new();
        let mut broken = 0;
        for row in audit.iter().filter(|a| ours.contains(&a.echeance_id)) {
            let before = last.get(&row.echeance_id).copied().unwrap_or(EcheanceStatus::APayer);
            if row.from_status != Some(before) || row.actor.is_empty() || row.event.is_empty() {
                broken += 1;
            }
            last.insert(row.echeance_id, row.to_status);
        }
        broken +=
            rows.iter().filter(|r| last.get(&r.id).copied().unwrap_or(EcheanceStatus::APayer) != r.status).count();
        let unsettled_attempts = attempts
            .iter()
            .filter(|a| ours.contains(&a.echeance_id) && a.outcome == AttemptOutcome::Succeeded)
            .filter(|a| !a.payment_intent_id.as_ref().is_some_and(|pi| succeeded_ids.contains(pi)))
            .count();

        // The dashboard's totals, kept by the database's triggers through every kill, against a count.
        let kept: HashSet<(EcheanceStatus, String, i64, i64)> =
            app::ssr::services::admin::totals::kept(db).await.expect("kept totals").into_iter().collect();
        let mut counted: HashMap<(EcheanceStatus, String), (i64, i64)> = HashMap::new();
        for e in echeance::Entity::find().all(db).await.expect("échéances") {
            let sum = counted.entry((e.status, e.currency.clone())).or_default();
            sum.0 += 1;
            sum.1 += e.amount_cents;
        }
        let counted: HashSet<(EcheanceStatus, String, i64, i64)> =
            counted.into_iter().map(|((status, currency), (n, cents))| (status, currency, n, cents)).collect();
        let totals_off = kept.symmetric_difference(&counted).count();

        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        Self {
            rows: vec![
                ("PaymentIntents succeeded per échéance (max)", max_succeeded, "≤ 1", max_succeeded <= 1),
                ("échéances whose status ≠ Stripe's", n(mismatched), "0", mismatched == 0),
                ("échéances stuck en cours", n(stuck), "0", stuck == 0),
                (
                    "attempts recorded succeeded that Stripe did not collect",
                    n(unsettled_attempts),
                    "0",
                    unsettled_attempts == 0,
                ),
                ("échéances without exactly their receipt or their 3DS email", n(wrong_emails), "0", wrong_emails == 0),
                ("due outbox rows never delivered", n(undelivered), "0", undelivered == 0),
                ("messages at the SMTP server", n(messages.len()), "-", true),
                (
                    "duplicate deliveries (same Message-ID; only a kill after SMTP accepted)",
                    n(repeated),
                    "≤ kills",
                    n(repeated) <= kills,
                ),
                ("outbox rows sent under two Message-IDs", n(split), "0", split == 0),
                ("messages that no outbox row wrote", n(unknown_messages), "0", unknown_messages == 0),
                ("audit rows without a cause, or a status without its audit row", n(broken), "0", broken == 0),
                ("dashboard totals (status, currency) kept ≠ counted", n(totals_off), "0", totals_off == 0),
            ],
        }
    }

    fn violations(&self) -> Vec<&'static str> {
        self.rows.iter().filter(|(_, _, _, ok)| !ok).map(|(name, ..)| *name).collect()
    }

    fn render(&self, seed: u64, size: u64) -> String {
        let mut out = format!("chaos invariants — seed {seed}, {size} échéances\n");
        out.push_str(&format!("  {:<70} {:>7}  {:<8} {}\n", "invariant", "value", "must be", ""));
        for (name, value, must, ok) in &self.rows {
            out.push_str(&format!("  {name:<70} {value:>7}  {must:<8} {}\n", if *ok { "ok" } else { "VIOLATED" }));
        }
        out
    }
}
