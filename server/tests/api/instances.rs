//! Several server processes on one database: no échéance charged twice, no
//! reconciler run twice, and a process killed between Stripe's success and
//! its commit recovers without a second charge.

use app::domain::EcheanceStatus;
use app::ssr::services::reconcile::{self, Options, ReconcileError, Silent};
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;
use tokio::sync::Notify;

use crate::helpers::binary::{binary_env, start_binary};
use crate::helpers::peer::free_port;
use crate::helpers::{Fault, StripeLayer, WEBHOOK_SECRET, cards, spawn_app, spawn_app_by_hand, spawn_on};

#[tokio::test]
async fn two_instances_on_one_database_never_charge_an_echeance_twice() {
    let one = Arc::new(spawn_app().await);
    // Behind one load balancer: both instances serve the same public site.
    let site =
        crate::helpers::Options { env: vec![("APP_BASE_URL", format!("{}/", one.address))], ..Default::default() };
    let two = Arc::new(spawn_on(one.db.clone(), one.peer.clone(), site).await);
    let alice = one.customer("alice", Some(cards::OK)).await;
    let e = one.echeance(&alice, 5_000, one.today()).await;
    let client = one.browser();
    one.login(&client, &alice).await;

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..40 {
        let (app, client) = (if n % 2 == 0 { one.clone() } else { two.clone() }, client.clone());
        tasks.spawn(async move { app.pay(&client, e).await.0 });
    }
    let mut accepted = 0;
    while let Some(status) = tasks.join_next().await {
        let status = status.expect("task");
        assert!(status == 200 || status == 409, "{status}");
        accepted += usize::from(status == 200);
    }

    assert_eq!(accepted, 1);
    assert_eq!(one.peer.payment_intents_of(e).await.len(), 1);
    assert_eq!(one.status(e).await, EcheanceStatus::Payee);
}

#[tokio::test]
async fn two_instances_never_run_the_reconciler_at_the_same_time() {
    let one = spawn_app().await;
    let two = spawn_on(one.db.clone(), one.peer.clone(), Default::default()).await;
    let carol = one.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = one.echeance(&carol, 1_000, one.today()).await;
    app::ssr::services::charge::charge(
        &one.state,
        app::domain::EcheanceId::new(e).expect("id"),
        app::ssr::services::charge::Trigger::DueDate,
    )
    .await
    .expect("sent");
    for layer in [&one.stripe, &two.stripe] {
        layer.inject("GET /v1/payment_intents", Fault::Delay(Duration::from_millis(1_500)));
    }
    let options =
        Options { since: Duration::from_secs(3600), dry_run: false, trigger: app::domain::Actor::CommandLine };

    let (a, b) =
        tokio::join!(reconcile::run(&one.state, &options, &Silent), reconcile::run(&two.state, &options, &Silent));

    let refused = [&a, &b].iter().filter(|r| matches!(r, Err(ReconcileError::AlreadyRunning))).count();
    let ran = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!((ran, refused), (1, 1), "{a:?} / {b:?}");
}

#[tokio::test]
async fn a_server_killed_between_stripes_success_and_its_commit_recovers_without_a_second_charge() {
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 6_600, app.today()).await;
    let stripe = StripeLayer::start(&app.peer.url).await;
    app.peer.register_webhook(&stripe.relay_url(), WEBHOOK_SECRET).await;
    let port = free_port();
    stripe.set_webhook_target(&format!("http://127.0.0.1:{port}/stripe/webhook"));
    let mut server = start_binary(&app, &stripe, port).await;

    // The customer pays; Stripe charges; the answer is held until the process dies.
    let charged = Arc::new(Notify::new());
    stripe.inject("POST /v1/payment_intents", Fault::HoldAfterUpstream(charged.clone()));
    let base = format!("http://127.0.0.1:{port}");
    let client = crate::helpers::browser_of(&base);
    client
        .post(format!("{base}/api/login"))
        .header("accept", "application/json")
        .form(&[("email", alice.email.as_str()), ("password", alice.password.as_str())])
        .send()
        .await
        .expect("login");
    let paying = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/api/pay"))
                .header("accept", "application/json")
                .form(&[("echeance_id", e.to_string())])
                .send()
                .await
        }
    });
    tokio::time::timeout(Duration::from_secs(20), charged.notified()).await.expect("Stripe executed the charge");
    server.start_kill().expect("SIGKILL");
    server.wait().await.expect("killed");
    assert!(paying.await.expect("task").is_err(), "the browser lost its answer with the process");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours, "the commit after Stripe's answer never happened");
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1);
    // Stripe's webhook comes while the server is down.
    stripe.wait_for_delivery_attempt("payment_intent.succeeded", Duration::from_secs(30)).await;

    // Restart, then the nightly job runs.
    let _server = start_binary(&app, &stripe, port).await;
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["reconcile", "--since", "1h"])
        .envs(binary_env(&app, &stripe, free_port()))
        .output()
        .await
        .expect("reconcile runs");
    let printed = String::from_utf8_lossy(&output.stdout);
    println!("{printed}");
    assert!(output.status.success(), "{printed} {}", String::from_utf8_lossy(&output.stderr));

    app.assert_reaches(e, EcheanceStatus::Payee).await;
    let pis = app.peer.payment_intents_of(e).await;
    assert_eq!(pis.len(), 1, "no second charge");
    assert_eq!(pis[0]["status"], "succeeded");
    assert_eq!(app.attempts(e).await.len(), 1);
}

#[test]
fn the_binary_without_app_env_is_production_and_refuses_the_development_secret() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("migrate")
        .env_remove("APP_ENV")
        .env_remove("LEPTOS_ENV")
        .env_remove("APP_SECRET")
        .env("DATABASE_URL", "sqlite::memory:")
        .env("STRIPE_SECRET_KEY", crate::helpers::peer::SECRET_KEY)
        .env("STRIPE_PUBLISHABLE_KEY", crate::helpers::peer::PUBLISHABLE_KEY)
        .env("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .output()
        .expect("the binary runs");
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("APP_SECRET"), "{said}");
}

#[tokio::test]
async fn instances_starting_together_on_a_new_database_take_turns_at_migrating() {
    use migration::MigratorTrait as _;
    let db = crate::helpers::TestDatabase::create().await;
    let starts = (0..4).map(|_| {
        let url = db.url.clone();
        tokio::spawn(async move {
            let connection = app::ssr::db::connect_url(&url, 4).await.expect("connect");
            app::ssr::db::migrate(&connection).await
        })
    });
    for (n, started) in futures::future::join_all(starts).await.into_iter().enumerate() {
        started.expect("joined").unwrap_or_else(|e| panic!("instance {n} did not start: {e:#}"));
    }
    let connection = app::ssr::db::connect_url(&db.url, 1).await.expect("connect");
    let applied = migration::Migrator::get_applied_migrations(&connection).await.expect("applied");
    assert_eq!(applied.len(), migration::Migrator::migrations().len(), "every migration once");
}
