//! Webhooks: verified on the raw bytes, stored once, applied through the state
//! machine in any order, never lost when they arrive early.

use app::domain::{AttemptOutcome, ChargeOrigin, EcheanceId, EcheanceStatus};
use app::ssr::entities::{charge_attempt, echeance};
use app::ssr::payments::webhook_signature::sign;
use app::ssr::services::charge::{self, Trigger};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use std::time::Duration;

use crate::helpers::stripe_layer::shuffle_in_place;
use crate::helpers::{Delivery, Fault, TestApp, WEBHOOK_SECRET, cards, event, spawn_app, spawn_app_by_hand};

const CREATE: &str = "POST /v1/payment_intents";

/// Charges `e` while every answer is lost, so only webhooks can tell what happened.
async fn charge_blind(app: &TestApp, e: i64) -> String {
    for _ in 0..4 {
        app.stripe.inject(CREATE, Fault::DropResponse);
    }
    let result = charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("sent");
    assert_eq!(result.status, EcheanceStatus::EnCours);
    let pis = app.peer.payment_intents_of(e).await;
    assert_eq!(pis.len(), 1);
    pis[0]["id"].as_str().expect("pi id").to_owned()
}

fn signed(app: &TestApp, event: &Value) -> (String, Vec<u8>) {
    let body = serde_json::to_vec(event).expect("json");
    (sign(WEBHOOK_SECRET, app.state.now_ms() / 1000, &body), body)
}

/// Five échéances whose outcome only webhooks carry; returns their ids and
/// every delivery (real ones from the peer, and the event types the peer does
/// not emit, built from its PaymentIntents) in the order they happened.
async fn scenario(app: &TestApp) -> (Vec<i64>, Vec<(String, Vec<u8>)>, i64) {
    app.stripe.set_delivery(Delivery::Hold);
    let paid = app.customer("paid", Some(cards::OK)).await;
    let declined = app.customer("declined", Some(cards::DECLINED)).await;
    let sca_ok = app.customer("sca-ok", Some(cards::SCA_ALWAYS)).await;
    let sca_ko = app.customer("sca-ko", Some(cards::SCA_ALWAYS)).await;
    let late = app.customer("late", Some(cards::OK)).await;
    let today = app.today();
    let e1 = app.echeance(&paid, 1_000, today).await;
    let e2 = app.echeance(&declined, 2_000, today).await;
    let e3 = app.echeance(&sca_ok, 3_000, today).await;
    let e4 = app.echeance(&sca_ko, 4_000, today).await;
    let e5 = app.echeance(&late, 5_000, today).await;

    charge_blind(app, e1).await;
    charge_blind(app, e2).await;
    let pi3 = charge_blind(app, e3).await;
    let pi4 = charge_blind(app, e4).await;
    let mut synthetic = Vec::new();
    for (n, pi) in [&pi3, &pi4].into_iter().enumerate() {
        let snapshot = app.peer.get(&format!("/v1/payment_intents/{pi}")).await;
        synthetic.push(event(&format!("evt_requires_action_{n}"), "payment_intent.requires_action", snapshot));
    }
    let secret3 = app.peer.client_secret(&pi3).await;
    app.stripe.authenticate(&pi3, &secret3, true).await;
    let secret4 = app.peer.client_secret(&pi4).await;
    let failed = app.stripe.authenticate(&pi4, &secret4, false).await;
    synthetic.push(event("evt_auth_failed", "payment_intent.payment_failed", failed));

    // e5: Stripe charged before the attempt row was committed here.
    let pm = app
        .peer
        .post(
            "/v1/payment_methods",
            &[
                ("type", "card"),
                ("card[number]", cards::OK),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2034"),
                ("card[cvc]", "123"),
            ],
        )
        .await;
    let e5_ref = e5.to_string();
    let pi5 = app
        .peer
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "5000"),
                ("currency", "eur"),
                ("customer", &late.stripe_customer),
                ("payment_method", pm["id"].as_str().expect("pm")),
                ("confirm", "true"),
                ("off_session", "true"),
                ("metadata[echeance_id]", &e5_ref),
                ("metadata[attempt]", "1"),
                ("metadata[installation]", &app.state.installation_id),
            ],
        )
        .await;

    // Real events: e1 succeeded, e2 failed, e3 succeeded, e5 succeeded (and customer.* ones).
    let is_payment = |body: &[u8]| {
        serde_json::from_slice::<Value>(body)
            .is_ok_and(|e| e["type"].as_str().is_some_and(|t| t.starts_with("payment_intent.")))
    };
    let mut deliveries = Vec::new();
    // A deadline, not a measure: the wait ends as soon as the peer has sent them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while deliveries.iter().filter(|(_, b): &&(String, Vec<u8>)| is_payment(b)).count() < 4
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        deliveries.extend(app.stripe.take_held());
    }
    assert_eq!(
        deliveries.iter().filter(|(_, b)| is_payment(b)).count(),
        4,
        "the peer sent one event per settled PaymentIntent: {:?}",
        deliveries.iter().map(|(_, b)| String::from_utf8_lossy(b).into_owned()).collect::<Vec<_>>()
    );
    // In the order things happened: requires_action events came before the successes/failures that followed.
    let mut in_order: Vec<(String, Vec<u8>)> = synthetic[..2].iter().map(|e| signed(app, e)).collect();
    in_order.append(&mut deliveries);
    in_order.push(signed(app, &synthetic[2]));
    (vec![e1, e2, e3, e4, e5], in_order, pi5["created"].as_i64().unwrap_or_default())
}

/// The late attempt row and the échéance's claim, in one transaction as the charge writes them:
/// the parked event, retried by the background worker meanwhile, finds both or neither. (Written
/// apart, a retry between the two writes paid the échéance, then the claim wrote « en cours »
/// over « payée » and the event, applied, was never tried again.)
async fn commit_late_attempt(app: &TestApp, e5: i64) {
    let customer = app.row(e5).await.user_id;
    let mode = app::ssr::services::host_api::keys::current_mode(&app.state);
    let stripe_customer =
        app::ssr::services::cards::customer_of(&app.state.db, customer, mode).await.expect("q").expect("cus");
    let pm = app::ssr::entities::payment_method::Entity::find().one(&app.state.db).await.expect("q").expect("pm");
    let now = app.state.now_ms();
    let txn = app::ssr::db::begin_write(&app.state.db).await.expect("a write transaction");
    charge_attempt::ActiveModel {
        echeance_id: Set(e5),
        attempt_no: Set(1),
        idempotency_key: Set(format!("late-e{e5}-a1")),
        trigger: Set(ChargeOrigin::DueDate),
        amount_cents: Set(5_000),
        currency: Set("eur".to_owned()),
        stripe_customer_id: Set(stripe_customer),
        payment_method_id: Set(pm.stripe_payment_method_id),
        outcome: Set(AttemptOutcome::Pending.to_owned()),
        started_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .expect("attempt row");
    let mut row: echeance::ActiveModel =
        echeance::Entity::find_by_id(e5).one(&txn).await.expect("q").expect("échéance").into();
    row.status = Set(EcheanceStatus::EnCours);
    row.current_attempt_no = Set(1);
    row.update(&txn).await.expect("claim");
    txn.commit().await.expect("commit");
}

async fn final_state(app: &TestApp, ids: &[i64]) -> Vec<(EcheanceStatus, String)> {
    let mut out = Vec::new();
    for id in ids {
        let outcome = app.attempts(*id).await.first().map(|a| a.outcome.as_str().to_owned()).unwrap_or_default();
        out.push((app.status(*id).await, outcome));
    }
    out
}

async fn run(shuffled: bool) -> Vec<(EcheanceStatus, String)> {
    let app = spawn_app().await;
    let (ids, mut deliveries, _) = scenario(&app).await;
    if shuffled {
        deliveries = deliveries.into_iter().flat_map(|d| std::iter::repeat_n(d, 3)).collect();
        shuffle_in_place(&mut deliveries, 0x5eed);
    }
    for (n, (signature, body)) in deliveries.into_iter().enumerate() {
        let kind = serde_json::from_slice::<Value>(&body).map(|e| e["type"].to_string()).unwrap_or_default();
        assert_eq!(app.post_webhook(Some(&signature), body).await, 200, "delivery {n} ({kind})");
    }
    app.process_inbox().await;
    let e5 = ids[4];
    assert_eq!(app.status(e5).await, EcheanceStatus::APayer, "the early event waits for its attempt");
    commit_late_attempt(&app, e5).await;
    let status = app.wait_for_status(e5, EcheanceStatus::Payee, Duration::from_secs(60)).await;
    assert_eq!(status, EcheanceStatus::Payee, "the parked event was applied once its attempt existed");
    // Every delivery applied, whatever retry delay an event was parked with.
    let waiting = app.settle_inbox(Duration::from_secs(60)).await;
    assert!(waiting.is_empty(), "events still waiting: {waiting:?}");
    final_state(&app, &ids).await
}

#[tokio::test]
async fn every_webhook_three_times_shuffled_and_one_early_reaches_the_same_state_as_in_order_delivery() {
    let in_order = run(false).await;
    let shuffled = run(true).await;

    assert_eq!(shuffled, in_order, "shuffled (left) and in order (right)");
    let statuses: Vec<EcheanceStatus> = in_order.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses,
        vec![
            EcheanceStatus::Payee,
            EcheanceStatus::Echouee,
            EcheanceStatus::Payee,
            EcheanceStatus::EnAttente,
            EcheanceStatus::Payee
        ]
    );
}

#[tokio::test]
async fn duplicates_are_stored_once() {
    let app = spawn_app().await;
    let body = event("evt_dup", "customer.created", json!({"id": "cus_x", "object": "customer"}));
    for _ in 0..3 {
        assert_eq!(app.deliver(&body).await, 200);
    }
    assert_eq!(app.inbox().await.len(), 1);
}

#[tokio::test]
async fn deliveries_at_once_are_each_answered_once_stored_and_stored_once() {
    // They share commits (the inbox writer, on either database); copies of one event may land in one statement.
    let app = spawn_app_by_hand().await;
    let bodies: Vec<Value> = (0..48)
        .map(|n| event(&format!("evt_at_once_{}", n % 16), "customer.created", json!({"id": format!("cus_{n}")})))
        .collect();
    let answers = futures::future::join_all(bodies.iter().map(|body| app.deliver(body))).await;
    assert_eq!(answers, vec![200; 48]);
    let mut stored: Vec<String> = app.inbox().await.into_iter().map(|row| row.stripe_event_id).collect();
    stored.sort();
    let mut expected: Vec<String> = (0..16).map(|n| format!("evt_at_once_{n}")).collect();
    expected.sort();
    assert_eq!(stored, expected);
    // Each copy learns what became of it: one stored, the others duplicates (the worker is woken once per event).
    let copies: Vec<Vec<u8>> = (0..48)
        .map(|n| {
            serde_json::to_vec(&event(&format!("evt_copies_{}", n % 16), "customer.created", json!({"id": "cus_c"})))
                .expect("json")
        })
        .collect();
    let now = app.state.now_ms();
    let ingested =
        futures::future::join_all(copies.iter().map(|body| app::ssr::services::webhooks::store(&app.state, body, now)))
            .await;
    let stored = ingested.iter().filter(|i| matches!(i, Ok(app::ssr::services::webhooks::Ingested::Stored))).count();
    let duplicates =
        ingested.iter().filter(|i| matches!(i, Ok(app::ssr::services::webhooks::Ingested::Duplicate))).count();
    assert_eq!((stored, duplicates), (16, 32), "{ingested:?}");
    assert_eq!(app.inbox().await.len(), 32);
}

#[tokio::test]
async fn forged_stale_malformed_and_oversized_webhooks_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 1_000, app.today()).await;
    let body = serde_json::to_vec(&event(
        "evt_1",
        "payment_intent.succeeded",
        json!({"id": "pi_x", "object": "payment_intent", "status": "succeeded",
        "amount": 1000, "currency": "eur", "metadata": {"echeance_id": e.to_string(), "attempt": "1"}}),
    ))
    .expect("json");
    let now = app.state.now_ms() / 1000;

    let forged = sign("whsec_someone_else", now, &body);
    assert_eq!(app.post_webhook(Some(&forged), body.clone()).await, 400);
    let stale = sign(WEBHOOK_SECRET, now - 301, &body);
    assert_eq!(app.post_webhook(Some(&stale), body.clone()).await, 400);
    assert_eq!(app.post_webhook(None, body.clone()).await, 400);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(app.post_webhook(Some(&sign(WEBHOOK_SECRET, now, &body)), tampered).await, 400);
    let malformed = b"{not json".to_vec();
    assert_eq!(app.post_webhook(Some(&sign(WEBHOOK_SECRET, now, &malformed)), malformed).await, 400);
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(300 * 1024)).into_bytes();
    assert_eq!(app.post_webhook(Some(&sign(WEBHOOK_SECRET, now, &huge)), huge).await, 413);

    // Nothing refused is stored; what Stripe itself sends meanwhile (its `customer.created`, a second after
    // the customer was made) may be.
    let stored = app.inbox().await;
    assert!(stored.iter().all(|row| row.stripe_event_id != "evt_1" && !row.event_type.starts_with("payment_intent")));
    assert_eq!(app.status(e).await, EcheanceStatus::APayer);
}

#[tokio::test]
async fn a_secret_being_rolled_accepts_the_old_and_the_new_secret() {
    let app = with_a_secret_being_rolled().await;
    let body = serde_json::to_vec(&event("evt_roll", "customer.created", json!({"id": "cus_1"}))).expect("json");
    let now = app.state.now_ms() / 1000;
    assert_eq!(app.post_webhook(Some(&sign("whsec_old_one", now, &body)), body.clone()).await, 200);
    assert_eq!(app.post_webhook(Some(&sign(WEBHOOK_SECRET, now, &body)), body).await, 200);
}

#[tokio::test]
async fn unknown_event_types_are_stored_and_acknowledged() {
    let app = spawn_app_by_hand().await;
    assert_eq!(app.deliver(&event("evt_new", "billing.meter.created", json!({"id": "mtr_1"}))).await, 200);
    app.process_inbox().await;
    let inbox = app.inbox().await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].status.as_str(), "ignored");
}

#[tokio::test]
async fn refunds_and_disputes_move_a_paid_echeance() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let refunded = app.echeance(&alice, 1_000, app.today()).await;
    let disputed = app.echeance(&alice, 2_000, app.today()).await;
    for e in [refunded, disputed] {
        charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("paid");
    }
    let pi = |e: i64| {
        let app = &app;
        async move { app.row(e).await.current_payment_intent_id.expect("pi") }
    };
    let pi_refunded = pi(refunded).await;
    let pi_disputed = pi(disputed).await;

    // Made on Stripe (its Dashboard, the bank): Stripe's own events tell the product.
    app.stripe.post("/v1/refunds", &[("payment_intent", &pi_refunded), ("amount", "400")]).await;
    app.stripe.open_dispute(&pi_disputed).await;
    app.assert_reaches(disputed, EcheanceStatus::Contestee).await;
    app.apply_once_stored(&["charge.refunded"]).await;
    assert_eq!(app.status(refunded).await, EcheanceStatus::Payee, "a partial refund keeps it paid");

    // The rest (no amount: what is left, as Stripe does).
    app.stripe.post("/v1/refunds", &[("payment_intent", &pi_refunded)]).await;
    app.assert_reaches(refunded, EcheanceStatus::Remboursee).await;
}

#[tokio::test]
async fn a_legacy_checkout_session_completed_marks_its_echeance_paid() {
    let app = spawn_app().await;
    let alice = app.customer("alice", None).await;
    let e = app.echeance(&alice, 7_500, app.today()).await;
    let mut row: echeance::ActiveModel = app.row(e).await.into();
    row.checkout_session_id = Set(Some("cs_test_legacy_1".to_owned()));
    row.update(&app.state.db).await.expect("link session");

    app.deliver(&event("evt_cs", "checkout.session.completed", json!({"id": "cs_test_legacy_1", "object": "checkout.session",
        "status": "complete", "payment_status": "paid", "payment_intent": "pi_legacy", "client_reference_id": e.to_string(),
        "amount_total": 7_500, "currency": "eur"}))).await;

    app.assert_reaches(e, EcheanceStatus::Payee).await;
}

#[tokio::test]
async fn a_refund_that_arrives_before_the_success_waits_for_it() {
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 1_000, app.today()).await;
    let pi = charge_blind(&app, e).await;
    // Refunded on Stripe at once; its event comes before the success's.
    app.stripe.post("/v1/refunds", &[("payment_intent", &pi)]).await;
    let refund = event(
        "evt_refund_first",
        "charge.refunded",
        json!({"id": "ch_1", "object": "charge", "payment_intent": pi, "amount": 1000, "amount_refunded": 1000, "refunded": true}),
    );
    assert_eq!(app.deliver(&refund).await, 200);
    app.process_inbox().await;
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours, "nothing to refund yet");

    let snapshot = app.peer.get(&format!("/v1/payment_intents/{pi}")).await;
    app.deliver(&event("evt_success_late", "payment_intent.succeeded", snapshot)).await;

    app.assert_reaches(e, EcheanceStatus::Remboursee).await;
}

#[tokio::test]
async fn an_old_attempts_success_cancels_the_newer_live_payment_intent() {
    use app::ssr::services::reconcile::{self, Options, Silent};
    // No background worker: past the clock's move, its follow-up would race the reconciler for
    // attempt 1 (and re-send it); the test applies its webhook itself.
    let app = spawn_app_by_hand().await;
    let carol = app.customer("carol", Some(cards::OK)).await;
    let e = app.echeance(&carol, 2_000, app.today()).await;
    // Attempt 1's request is lost on the way (every try), and reaches Stripe only later.
    for _ in 0..4 {
        app.stripe.inject("POST /v1/payment_intents", Fault::ArriveLate(Duration::from_secs(10)));
    }
    let first = charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("sent");
    assert_eq!(first.status, EcheanceStatus::EnCours, "outcome unknown");
    // Past the margin, Stripe has no PaymentIntent for it: the reconciler gives attempt 1 up.
    app.clock.advance(Duration::from_secs(31 * 60));
    let options =
        Options { since: Duration::from_secs(3600), dry_run: false, trigger: app::domain::Actor::CommandLine };
    reconcile::run(&app.state, &options, &Silent).await.expect("reconciled");
    assert_eq!(app.status(e).await, EcheanceStatus::APayer, "attempt 1 given up");
    // Attempt 2, with a new card that asks for 3DS: its PaymentIntent is live, waiting for carol.
    app.add_card(&carol, cards::SCA_ALWAYS).await;
    let second = charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("sent");
    assert_eq!(second.status, EcheanceStatus::EnAttente);
    let second_pi = second.payment_intent_id.expect("pi 2");

    // Attempt 1's request lands at last: Stripe collects it, and says so by webhook (sent here
    // with the product's clock, which this test moved 31 minutes ahead of the peer's).
    app.stripe.set_delivery(Delivery::Drop);
    let mut late = None;
    for _ in 0..150 {
        late = app.peer.payment_intents_of(e).await.into_iter().find(|pi| pi["status"] == "succeeded");
        if late.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let late = late.expect("attempt 1's request reached Stripe");
    assert_eq!(late["metadata"]["attempt"], "1");
    assert_eq!(app.deliver(&event("evt_late_success", "payment_intent.succeeded", late)).await, 200);
    app.process_inbox().await;

    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    let collected = app.peer.payment_intents_of(e).await;
    assert_eq!(collected.iter().filter(|pi| pi["status"] == "succeeded").count(), 1, "{collected:?}");
    assert_eq!(
        app.peer.get(&format!("/v1/payment_intents/{second_pi}")).await["status"],
        "canceled",
        "no second collection possible"
    );
}

#[tokio::test]
async fn a_hostile_signature_header_costs_no_hashing_and_a_forged_one_one_hmac_per_secret() {
    use std::sync::atomic::Ordering;
    // Two secrets (one being rolled); no customer or payment, so Stripe sends nothing meanwhile.
    let app = with_a_secret_being_rolled().await;
    let macs = || app.state.counters.webhook_macs.load(Ordering::Relaxed);
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(200 * 1024)).into_bytes();
    let now = app.state.now_ms() / 1000;
    let before = macs();

    let hostile = format!("t={now}{}", ",v1=".repeat(20_000));
    assert_eq!(app.post_webhook(Some(&hostile), body.clone()).await, 400);
    assert_eq!(macs(), before, "refused on its shape, before any hashing");

    let forged = format!("t={now}{}", format!(",v1={}", "ab".repeat(32)).repeat(8));
    assert_eq!(app.post_webhook(Some(&forged), body.clone()).await, 400);
    assert_eq!(macs(), before + 2, "one HMAC per configured secret, however many signatures");

    let genuine = sign(WEBHOOK_SECRET, now, &body);
    assert_eq!(app.post_webhook(Some(&genuine), body).await, 400, "signed, but not an event");
    assert_eq!(macs(), before + 4);
    assert!(app.inbox().await.is_empty());
}

/// An app whose webhook endpoint has two secrets: `whsec_old_one` and the current one.
async fn with_a_secret_being_rolled() -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(crate::helpers::Options {
        env: vec![("STRIPE_WEBHOOK_SECRET", format!("whsec_old_one,{WEBHOOK_SECRET}"))],
        ..Default::default()
    })
    .await
}
