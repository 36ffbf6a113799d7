//! What the host site is told: signed events for every transition, verified
//! by the official Stripe library (stripe-python) as the host would; retried
//! with the same event id until a 2xx, signed afresh at each try (so a retry
//! long after the event still verifies); failed after the retry window and
//! replayable; and never lost to a crash between the change and its delivery.

use std::sync::Arc;
use std::time::Duration;

use app::domain::{HostDeliveryStatus, Trouble, UserId};
use app::ssr::entities::{host_delivery, user, webhook_endpoint};
use app::ssr::services::due;
use app::ssr::services::error::ServiceError;
use app::ssr::services::host_api::keys;
use app::ssr::services::outgoing::delivery;
use app::ssr::services::plans;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::receiver::{Receiver, stripe_python_accepts};
use crate::helpers::{Options, Peer, TestApp, TestDatabase, cards, spawn_app, spawn_app_with, spawn_on};

async fn api_key(app: &TestApp) -> String {
    keys::create(&app.state, "site de test").await.expect("key").key.expose().to_owned()
}

async fn post(app: &TestApp, key: &str, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.address))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("the API answers");
    (response.status().as_u16(), response.json().await.expect("JSON"))
}

/// Registers `receiver` for `events` through the API; returns the secret.
pub(crate) async fn endpoint(app: &TestApp, key: &str, receiver: &Receiver, events: &[&str]) -> String {
    let (status, created) =
        post(app, key, "/v1/webhook_endpoints", &json!({ "url": receiver.url, "enabled_events": events })).await;
    assert_eq!(status, 201, "{created}");
    created["secret"].as_str().expect("the secret, once").to_owned()
}

/// A plan of two monthly échéances, the first due today, through the API.
async fn plan(app: &TestApp, key: &str, email: &str) -> Value {
    let body = json!({
        "customer": { "email": email, "name": "Zoé Martin" },
        "label": "Formation 2027",
        "currency": "eur",
        "total_cents": 20_000,
        "installments": 2,
        "first_due_date": app.today().to_string(),
    });
    let (status, plan) = post(app, key, "/v1/plans", &body).await;
    assert_eq!(status, 201, "{plan}");
    plan
}

fn number(public: &Value) -> i64 {
    public.as_str().and_then(|s| s.rsplit('_').next()).and_then(|n| n.parse().ok()).expect("a public id")
}

async fn customer_id(app: &TestApp, email: &str) -> UserId {
    let row = user::Entity::find().filter(user::Column::Email.eq(email)).one(&app.state.db).await.expect("query");
    UserId::new(row.expect("the customer").id).expect("id")
}

async fn deliveries(app: &TestApp) -> Vec<host_delivery::Model> {
    host_delivery::Entity::find().all(&app.state.db).await.expect("deliveries")
}

/// Waits until the first delivery has recorded `attempts` tries (or 20 s pass).
async fn tried(app: &TestApp, attempts: i32) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while deliveries(app).await.first().is_none_or(|d| d.attempts < attempts) && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every delivery is in `status` (or 20 s pass).
async fn wait_until_all(app: &TestApp, status: HostDeliveryStatus) -> Vec<host_delivery::Model> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = deliveries(app).await;
        if (!rows.is_empty() && rows.iter().all(|d| d.status == status)) || tokio::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn timestamp(signature: &str) -> i64 {
    signature.split(',').find_map(|p| p.strip_prefix("t=")).and_then(|t| t.parse().ok()).expect("t=")
}

#[tokio::test]
async fn plan_activated_then_echeance_paid_arrive_once_each_signed_as_stripe_signs() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let receiver = Receiver::start().await;
    let secret = endpoint(&app, &key, &receiver, &["plan.activated", "echeance.paid"]).await;

    let plan = plan(&app, &key, "zoe@example.test").await;
    let plan_id = number(&plan["id"]);
    let customer = customer_id(&app, "zoe@example.test").await;
    plans::accept(&app.state, plan_id, customer, "mandat".to_owned(), crate::plans::consent()).await.expect("accepted");
    app.save_card_through_setup(customer, cards::OK).await;
    let report = due::charge_due(&app.state, app.today(), 100).await.expect("due run");
    assert_eq!(report.paid, 1, "the first échéance is collected");

    receiver.wait_for(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await; // Stripe's own webhooks arrive meanwhile: nothing more is sent
    let received = receiver.received();
    let types: Vec<String> = received.iter().map(|r| r.json()["type"].as_str().expect("type").to_owned()).collect();
    assert_eq!(types, vec!["plan.activated", "echeance.paid"], "one event per transition, in order here");
    for r in &received {
        assert!(stripe_python_accepts(&r.body, &r.signature, &secret), "stripe-python refused {}", r.body);
        assert!(!stripe_python_accepts(&r.body, &r.signature, "whsec_someone_else"), "and refuses another secret");
        let tampered = r.body.replace("\"livemode\":false", "\"livemode\":true");
        assert!(!stripe_python_accepts(&tampered, &r.signature, &secret), "and a changed body");
    }
    let activated = received[0].json();
    assert!(activated["id"].as_str().is_some_and(|id| id.starts_with("evt_")));
    assert_eq!(activated["data"]["object"]["id"], plan["id"]);
    assert_eq!(activated["data"]["object"]["status"], "active");
    assert!(activated["data"]["object"]["acceptance_url"].is_null());
    let paid = received[1].json();
    assert_eq!(paid["data"]["object"]["id"], plan["echeances"][0]["id"]);
    assert_eq!(paid["data"]["object"]["status"], "paid");
    assert_eq!(paid["data"]["object"]["amount_cents"], 10_000);
    assert!(paid["data"]["object"]["version"].as_i64().is_some_and(|v| v > 0), "enough to ignore a stale event");
    assert_ne!(activated["id"], paid["id"]);
}

#[tokio::test]
async fn a_failing_endpoint_gets_the_same_event_until_it_answers_and_a_late_retry_still_verifies() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let receiver = Receiver::start().await;
    let secret = endpoint(&app, &key, &receiver, &["plan.canceled"]).await;
    receiver.answer_with(&[500, 500]);

    // The event happens "an hour ago"; its retries come later.
    app.clock.rewind(Duration::from_secs(3_600));
    let plan = plan(&app, &key, "zoe@example.test").await;
    let (status, _) =
        post(&app, &key, &format!("/v1/plans/{}/cancel", plan["id"].as_str().expect("id")), &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(receiver.wait_for(1, Duration::from_secs(20)).await.len(), 1);
    // Each failure is written (its next try scheduled on the clock as it is) before the clock moves: the
    // endpoint answers before the worker reads the time.
    tried(&app, 1).await;
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(receiver.wait_for(2, Duration::from_secs(20)).await.len(), 2, "retried a minute later");
    tried(&app, 2).await;
    app.clock.reset();
    let received = receiver.wait_for(3, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 3, "retried until it answers 2xx");
    assert_eq!(received.iter().map(|r| r.answered).collect::<Vec<_>>(), vec![500, 500, 200]);
    let ids: Vec<Value> = received.iter().map(|r| r.json()["id"].clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "the same event id each time: {ids:?}");
    assert!(received.windows(2).all(|w| w[0].body == w[1].body), "the same body each time");
    let created = received[2].json()["created"].as_i64().expect("created");
    let signed = timestamp(&received[2].signature);
    assert!(signed - created >= 3_000, "the last try is signed {}s after the event", signed - created);
    assert!(
        stripe_python_accepts(&received[2].body, &received[2].signature, &secret),
        "and verifies with stripe-python"
    );
    assert!(
        !stripe_python_accepts(&received[0].body, &received[0].signature, &secret),
        "an hour-old signature is refused"
    );
    let rows = wait_until_all(&app, HostDeliveryStatus::Delivered).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].status, rows[0].attempts), (HostDeliveryStatus::Delivered, 3));
}

#[tokio::test]
async fn an_endpoint_down_for_the_whole_window_is_failed_then_replayed() {
    let app =
        spawn_app_with(Options { env: vec![("WEBHOOK_RETRY_HOURS", "1".to_owned())], ..Options::default() }).await;
    let key = api_key(&app).await;
    let receiver = Receiver::start().await;
    let secret = endpoint(&app, &key, &receiver, &["plan.canceled"]).await;
    receiver.go_down().await;

    let plan = plan(&app, &key, "zoe@example.test").await;
    let (status, _) =
        post(&app, &key, &format!("/v1/plans/{}/cancel", plan["id"].as_str().expect("id")), &json!({})).await;
    assert_eq!(status, 200);
    let mut tries = Vec::new();
    for _ in 0..30 {
        let rows = deliveries(&app).await;
        assert_eq!(rows.len(), 1);
        tries.push(rows[0].attempts);
        if rows[0].status == HostDeliveryStatus::Failed {
            break;
        }
        assert!(rows[0].last_error.as_deref().is_none_or(|e| !e.contains("127.0.0.1")), "no address in the error");
        app.clock.advance(Duration::from_secs(600));
        tokio::time::sleep(Duration::from_millis(2_500)).await;
    }
    let failed = deliveries(&app).await.remove(0);
    assert_eq!(failed.status, HostDeliveryStatus::Failed, "tries: {tries:?}");
    assert!(failed.attempts >= 3, "retried with backoff before giving up: {tries:?}");
    assert!(receiver.received().is_empty());

    receiver.come_back().await;
    app.clock.reset();
    assert_eq!(delivery::replay_failed(&app.state).await.expect("replayed"), 1);
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1, "the replay arrives");
    assert_eq!(received[0].json()["type"], "plan.canceled");
    assert!(stripe_python_accepts(&received[0].body, &received[0].signature, &secret));
    assert_eq!(wait_until_all(&app, HostDeliveryStatus::Delivered).await.len(), 1);
}

/// A plan made and cancelled through the API by an app that stops before any worker ran: its
/// `plan.canceled` waits in the outbox. Returns the app's database and peer (to start another on),
/// the receiver, its secret and the plan.
async fn cancelled_then_stopped() -> (Arc<TestDatabase>, Arc<Peer>, Receiver, String, Value) {
    let first = crate::helpers::spawn_app_by_hand().await;
    let key = api_key(&first).await;
    let receiver = Receiver::start().await;
    let secret = endpoint(&first, &key, &receiver, &["plan.canceled"]).await;
    let plan = plan(&first, &key, "zoe@example.test").await;
    let (status, _) =
        post(&first, &key, &format!("/v1/plans/{}/cancel", plan["id"].as_str().expect("id")), &json!({})).await;
    assert_eq!(status, 200);
    (first.db.clone(), first.peer.clone(), receiver, secret, plan)
}

#[tokio::test]
async fn a_crash_between_the_change_and_its_delivery_loses_nothing() {
    let (db, peer, receiver, secret, plan) = cancelled_then_stopped().await;
    let second = spawn_on(db, peer, Options::default()).await;
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1, "the event was in the outbox");
    assert_eq!(received[0].json()["data"]["object"]["id"], plan["id"]);
    assert!(stripe_python_accepts(&received[0].body, &received[0].signature, &secret));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), 1, "delivered once");
    drop(second);
}

#[tokio::test]
async fn an_event_of_a_test_plan_delivered_after_the_switch_to_live_keys_still_says_test() {
    // Stopped before its delivery went, restarted with the live keys.
    let (db, peer, receiver, secret, test_plan) = cancelled_then_stopped().await;
    let live = vec![("STRIPE_SECRET_KEY", "sk_live_echeancier_tests".to_owned())];
    let second = spawn_on(db, peer, Options { workers: true, env: live }).await;
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].json()["data"]["object"]["id"], test_plan["id"]);
    assert_eq!(received[0].json()["livemode"], false, "a test plan's news, whatever keys send it");
    assert!(stripe_python_accepts(&received[0].body, &received[0].signature, &secret));

    // A plan made with the live keys is live (told to an endpoint registered with them: the test
    // one hears of test plans only).
    let live_key = api_key(&second).await;
    endpoint(&second, &live_key, &receiver, &["plan.canceled"]).await;
    let live_plan = plan(&second, &live_key, "amelie@example.test").await;
    let cancel = format!("/v1/plans/{}/cancel", live_plan["id"].as_str().expect("id"));
    assert_eq!(post(&second, &live_key, &cancel, &json!({})).await.0, 200);
    let received = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(received[1].json()["data"]["object"]["id"], live_plan["id"]);
    assert_eq!(received[1].json()["livemode"], true);
}

#[tokio::test]
async fn a_plan_made_before_its_mode_was_kept_takes_the_mode_in_use_at_the_next_start() {
    use app::domain::KeyMode;
    use app::ssr::entities::payment_plan;
    use sea_orm::sea_query::Expr;
    let first = crate::helpers::spawn_app_by_hand().await;
    let key = api_key(&first).await;
    let receiver = Receiver::start().await;
    endpoint(&first, &key, &receiver, &["plan.canceled"]).await;
    let older = plan(&first, &key, "zoe@example.test").await;
    // As an earlier version wrote them: no mode.
    payment_plan::Entity::update_many()
        .col_expr(payment_plan::Column::Mode, Expr::value(Option::<KeyMode>::None))
        .exec(&first.state.db)
        .await
        .expect("an older plan");
    webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Mode, Expr::value(Option::<KeyMode>::None))
        .exec(&first.state.db)
        .await
        .expect("an older endpoint");
    let (db, peer) = (first.db.clone(), first.peer.clone());
    drop(first);

    // The upgraded version starts, on the same test keys: the plan and the endpoint are test ones
    // from then on.
    let by_hand = Options { workers: false, ..Options::default() };
    let upgraded = spawn_on(db.clone(), peer.clone(), by_hand).await;
    let mode = payment_plan::Entity::find().one(&upgraded.state.db).await.expect("q").expect("the plan").mode;
    assert_eq!(mode, Some(KeyMode::Test));
    let mode = webhook_endpoint::Entity::find().one(&upgraded.state.db).await.expect("q").expect("endpoint").mode;
    assert_eq!(mode, Some(KeyMode::Test));
    drop(upgraded);

    // Later on live keys, its news (an admin cancels it) still says test, and reaches the test endpoint.
    let live = vec![("STRIPE_SECRET_KEY", "sk_live_echeancier_tests".to_owned())];
    let on_live = spawn_on(db, peer, Options { workers: true, env: live }).await;
    let admin = on_live.admin("root").await;
    plans::cancel(&on_live.state, number(&older["id"]), admin.id).await.expect("cancelled");
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].json()["livemode"], false);
}

#[tokio::test]
async fn endpoints_are_checked_and_a_rolled_secret_keeps_the_old_one_valid() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    for (body, param) in [
        (json!({ "url": "ftp://host.example/x", "enabled_events": ["*"] }), "url"),
        (json!({ "url": "not a url", "enabled_events": ["*"] }), "url"),
        (json!({ "url": "https://:s3cret@host.example/x", "enabled_events": ["*"] }), "url"),
        (json!({ "url": "https://user@host.example/x", "enabled_events": ["*"] }), "url"),
        (json!({ "url": "https://host.example/x", "enabled_events": [] }), "enabled_events"),
        (json!({ "url": "https://host.example/x", "enabled_events": ["plan.exploded"] }), "enabled_events"),
        (json!({ "url": "https://host.example/x" }), "enabled_events"),
    ] {
        let (status, error) = post(&app, &key, "/v1/webhook_endpoints", &body).await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["error"]["param"], param, "{body}");
        let message = error["error"]["message"].as_str().expect("message");
        let says_what = if param == "url" { "https address" } else { "plan.activated" };
        let missing = error["error"]["code"] == "parameter_missing";
        assert!(missing || message.contains(says_what), "what a valid {param} is: {message}");
    }
    let receiver = Receiver::start().await;
    let old = endpoint(&app, &key, &receiver, &["plan.canceled"]).await;
    let id = app::ssr::services::outgoing::endpoints::list(&app.state).await.expect("list")[0].id;
    let new = app::ssr::services::outgoing::endpoints::roll_secret(&app.state, id).await.expect("rolled");
    assert_ne!(old, new);
    let plan = plan(&app, &key, "zoe@example.test").await;
    post(&app, &key, &format!("/v1/plans/{}/cancel", plan["id"].as_str().expect("id")), &json!({})).await;
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].signature.matches("v1=").count(), 2, "both secrets sign during the overlap");
    assert!(stripe_python_accepts(&received[0].body, &received[0].signature, &new));
    assert!(stripe_python_accepts(&received[0].body, &received[0].signature, &old));

    // Two rolls at once (two admins, a double click): both secrets shown still sign, the later
    // one with the earlier as its previous.
    let roll = || app::ssr::services::outgoing::endpoints::roll_secret(&app.state, id);
    let (first, second) = tokio::join!(roll(), roll());
    let mut shown = vec![first.expect("rolled"), second.expect("rolled")];
    shown.sort();
    let row = webhook_endpoint::Entity::find_by_id(id).one(&app.state.db).await.expect("query").expect("the endpoint");
    let mut signing = vec![row.secret, row.previous_secret.expect("the previous secret")];
    signing.sort();
    assert_eq!(signing, shown, "neither roll's secret is lost");
    // A deleted endpoint has no secret to roll.
    app::ssr::services::outgoing::endpoints::disable(&app.state, id).await.expect("deleted");
    let gone = app::ssr::services::outgoing::endpoints::roll_secret(&app.state, id).await;
    assert!(matches!(gone, Err(ServiceError::NotFound)), "{gone:?}");
}

#[tokio::test]
async fn a_cancelled_plan_tells_the_plan_then_each_echeance() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let receiver = Receiver::start().await;
    let secret = endpoint(&app, &key, &receiver, &["*"]).await;
    let plan = plan(&app, &key, "zoe@example.test").await;
    let (status, _) =
        post(&app, &key, &format!("/v1/plans/{}/cancel", plan["id"].as_str().expect("id")), &json!({})).await;
    assert_eq!(status, 200);
    let received = receiver.wait_for(3, Duration::from_secs(20)).await;
    let mut types: Vec<String> = received.iter().map(|r| r.json()["type"].as_str().expect("type").to_owned()).collect();
    types.sort();
    assert_eq!(types, vec!["echeance.canceled", "echeance.canceled", "plan.canceled"]);
    let cancelled: Vec<Value> = received
        .iter()
        .map(|r| r.json())
        .filter(|e| e["type"] == "echeance.canceled")
        .map(|e| e["data"]["object"]["id"].clone())
        .collect();
    assert!(cancelled.contains(&plan["echeances"][0]["id"]) && cancelled.contains(&plan["echeances"][1]["id"]));
    assert!(received.iter().all(|r| stripe_python_accepts(&r.body, &r.signature, &secret)));
}

#[tokio::test]
async fn a_deleted_endpoints_failures_are_history_neither_counted_nor_replayed() {
    let app = crate::helpers::spawn_app_by_hand().await;
    let key = api_key(&app).await;
    let receiver = Receiver::start().await;
    endpoint(&app, &key, &receiver, &["plan.canceled"]).await;
    let plan = plan(&app, &key, "zoe@example.test").await;
    post(&app, &key, &format!("/v1/plans/{}/cancel", plan["id"].as_str().expect("id")), &json!({})).await;
    let id = webhook_endpoint::Entity::find().one(&app.state.db).await.expect("query").expect("the endpoint").id;
    app::ssr::services::outgoing::endpoints::disable(&app.state, id).await.expect("deleted");

    assert_eq!(delivery::deliver_pending(&app.state, 10).await.expect("tried"), 1);
    let (lines, _) = delivery::list(&app.state, None, 0, 50).await.expect("listed");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].status, HostDeliveryStatus::Failed);
    assert_eq!(lines[0].last_error, Some(Trouble::EndpointDeleted));
    assert!(lines[0].endpoint_deleted, "the page offers no replay");
    // It counted as failed for good, and « replay all » put it back only for it to be dropped again.
    assert_eq!(delivery::count_failed(&app.state).await.expect("counted"), 0);
    assert_eq!(delivery::replay_failed(&app.state).await.expect("replayed"), 0);
    let one = delivery::replay(&app.state, lines[0].id).await;
    assert!(matches!(one, Err(ServiceError::NotFound)), "{one:?}");
    assert_eq!(deliveries(&app).await[0].status, HostDeliveryStatus::Failed);
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn an_endpoint_hears_only_of_the_plans_of_its_mode() {
    // A staging site's endpoint, registered with the test keys, and a test plan.
    let first = spawn_app_with(Options { workers: false, ..Options::default() }).await;
    let test_key = api_key(&first).await;
    let staging = Receiver::start().await;
    endpoint(&first, &test_key, &staging, &["plan.canceled", "echeance.paid"]).await;
    let test_plan = plan(&first, &test_key, "zoe@example.test").await;
    let (db, peer) = (first.db.clone(), first.peer.clone());
    drop(first);

    // On the live keys, the site registers its production endpoint; the live keys see it alone.
    let live_keys = vec![("STRIPE_SECRET_KEY", "sk_live_echeancier_tests".to_owned())];
    let live = spawn_on(db, peer, Options { workers: true, env: live_keys }).await;
    let live_key = api_key(&live).await;
    let production = Receiver::start().await;
    endpoint(&live, &live_key, &production, &["plan.canceled", "echeance.paid"]).await;
    let http = reqwest::Client::new();
    let listed: Value = http
        .get(format!("{}/v1/webhook_endpoints", live.address))
        .bearer_auth(&live_key)
        .send()
        .await
        .expect("listed")
        .json()
        .await
        .expect("JSON");
    let urls: Vec<&Value> = listed["data"].as_array().expect("data").iter().map(|e| &e["url"]).collect();
    assert_eq!(urls, [&json!(production.url)], "{listed}");
    let staging_row = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Url.eq(staging.url.clone()))
        .one(&live.state.db)
        .await
        .expect("query")
        .expect("the staging endpoint");
    let deleted = http
        .delete(format!("{}/v1/webhook_endpoints/we_{}", live.address, staging_row.id))
        .bearer_auth(&live_key)
        .send()
        .await
        .expect("answered");
    assert_eq!(deleted.status().as_u16(), 404);
    let refused: Value = deleted.json().await.expect("JSON");
    assert_eq!(
        refused["error"]["message"],
        format!(
            "No such webhook_endpoint: 'we_{}'; a similar object exists in test mode, but a live mode key was used to make this request.",
            staging_row.id
        )
    );

    // A live plan cancelled: production hears of it, staging does not.
    let live_plan = plan(&live, &live_key, "amelie@example.test").await;
    let cancel = format!("/v1/plans/{}/cancel", live_plan["id"].as_str().expect("id"));
    assert_eq!(post(&live, &live_key, &cancel, &json!({})).await.0, 200);
    let heard = production.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_eq!(
        (&heard[0].json()["data"]["object"]["id"], &heard[0].json()["livemode"]),
        (&live_plan["id"], &json!(true))
    );

    // An échéance of no plan (the original site's) is of the mode in use: paid, production hears of it.
    let bea = live.customer("bea", Some(cards::OK)).await;
    let alone = live.echeance(&bea, 1_000, live.today()).await;
    assert_eq!(due::charge_due(&live.state, live.today(), 100).await.expect("ran").paid, 1);
    let heard = production.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert_eq!(heard[1].json()["type"], "echeance.paid");
    assert_eq!(
        (heard[1].json()["data"]["object"]["id"].as_str(), &heard[1].json()["livemode"]),
        (Some(format!("ech_{alone}").as_str()), &json!(true))
    );

    // The test plan cancelled by an admin on the dashboard: staging hears of it, production does not.
    let admin = live.admin("root").await;
    plans::cancel(&live.state, number(&test_plan["id"]), admin.id).await.expect("cancelled");
    let heard = staging.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_eq!(
        (&heard[0].json()["data"]["object"]["id"], &heard[0].json()["livemode"]),
        (&test_plan["id"], &json!(false))
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!((production.received().len(), staging.received().len()), (2, 1), "each heard of its own mode only");
}

#[tokio::test]
async fn a_delivery_given_up_after_its_lease_ran_out_is_left_to_the_worker_that_took_it_back() {
    let env = vec![("WEBHOOK_RETRY_HOURS", "1".to_owned())];
    let app = spawn_app_with(Options { workers: false, env }).await;
    let key = api_key(&app).await;
    let receiver = Receiver::start().await;
    endpoint(&app, &key, &receiver, &["plan.canceled"]).await;
    let plan = plan(&app, &key, "zoe@example.test").await;
    let (status, _) =
        post(&app, &key, &format!("/v1/plans/{}/cancel", plan["id"].as_str().expect("id")), &json!({})).await;
    assert_eq!(status, 200);

    // The first try is answered 500 after 2 s; meanwhile its lease and the retry window run out and
    // another worker takes the row back, whose try is answered 200 after 4 s. The slow worker's
    // « failed » (no time left to retry) must not stand over the delivery under way.
    receiver.answer_with(&[500, 200]);
    receiver.answer_after(&[Duration::from_secs(2), Duration::from_secs(4)]);
    let state = app.state.clone();
    let slow = tokio::spawn(async move { delivery::deliver_pending(&state, 10).await });
    // Its request has arrived (the row claimed and its lease renewed): only then does time run on.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while receiver.arrived() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the slow worker never sent it");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.clock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(delivery::deliver_pending(&app.state, 10).await.expect("the other worker"), 1);
    assert_eq!(slow.await.expect("joined").expect("the slow worker"), 1);

    let rows = deliveries(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].status, rows[0].attempts), (HostDeliveryStatus::Delivered, 1), "{rows:?}");
    let answered: Vec<u16> = receiver.received().iter().map(|r| r.answered).collect();
    assert_eq!(answered, [500, 200]);
}
