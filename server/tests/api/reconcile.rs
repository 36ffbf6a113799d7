//! The reconciler converges on Stripe's truth, replays missed webhooks, runs
//! once at a time, and scales by listing instead of fetching one by one.

use app::domain::{AttemptOutcome, ChargeOrigin, EcheanceId, EcheanceStatus, Locale, ReconcileProblem};
use app::ssr::entities::{charge_attempt, dispute, echeance};
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::lease;
use app::ssr::services::reconcile::{self, Options, ReconcileError, Silent, window};
use app::ui::i18n::problem_text;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use std::time::Duration;

use crate::helpers::{Delivery, Fault, TestApp, cards, spawn_app, spawn_app_by_hand};

fn options(dry_run: bool) -> Options {
    Options { since: Duration::from_secs(24 * 3600), dry_run, trigger: app::domain::Actor::CommandLine }
}

/// An échéance waiting for 3D Secure, with webhooks not reaching the app.
async fn waiting(app: &TestApp) -> (i64, String) {
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 3_000, app.today()).await;
    let result = charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("sent");
    assert_eq!(result.status, EcheanceStatus::EnAttente);
    (e, app.row(e).await.current_payment_intent_id.expect("pi"))
}

/// An échéance waiting for 3D Secure whose customer authenticated: Stripe says succeeded, the app heard nothing.
async fn authenticated_unheard(app: &TestApp) -> i64 {
    let (e, pi) = waiting(app).await;
    let secret = app.peer.client_secret(&pi).await;
    app.stripe.authenticate(&pi, &secret, true).await;
    e
}

#[tokio::test]
async fn a_payment_intent_that_succeeded_while_the_echeance_was_en_attente_is_made_payee() {
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let e = authenticated_unheard(&app).await;

    let report = reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");

    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_eq!((report.counts.checked, report.counts.fixed, report.counts.errors), (1, 1, 0), "{report:?}");
    assert_eq!(report.drift.len(), 1);
    assert_eq!((report.drift[0].local.as_str(), report.drift[0].stripe.as_str()), ("en_attente", "succeeded"));
}

#[tokio::test]
async fn a_dry_run_on_the_dashboard_says_it_changed_nothing() {
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let e = authenticated_unheard(&app).await;
    let (_, as_admin) = app.logged_in_admin().await;
    let dashboard = || async {
        let page = as_admin.get(format!("{}/admin", app.address)).send().await.expect("answers");
        page.text().await.expect("page")
    };
    let said = app::ui::i18n::Texts::of(Locale::Fr).report_dry_run;

    // `server reconcile --dry-run`: its drift is listed (« résolu en : payée »), nothing was written, and the page says so.
    let report = reconcile::run(&app.state, &options(true), &Silent).await.expect("ran");
    assert_eq!(report.drift.len(), 1, "{report:?}");
    assert_eq!(app.status(e).await, EcheanceStatus::EnAttente, "a dry run writes nothing");
    let page = dashboard().await;
    assert!(page.contains("data-testid=\"report-dry-run\"") && page.contains(said), "the dry run is said to be one");

    // A real run, shown after it, is not.
    reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert!(!dashboard().await.contains("report-dry-run"), "a real run is not a dry run");
}

#[tokio::test]
async fn a_canceled_payment_intent_makes_the_echeance_payable_again_and_a_pending_one_is_left_alone() {
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let (canceled, pi) = waiting(&app).await;
    let (pending, _) = waiting(&app).await;
    app.stripe.post(&format!("/v1/payment_intents/{pi}/cancel"), &[]).await;

    let report = reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");

    assert_eq!(app.status(canceled).await, EcheanceStatus::APayer);
    assert_eq!(app.attempts(canceled).await[0].outcome, AttemptOutcome::Canceled);
    assert_eq!(app.status(pending).await, EcheanceStatus::EnAttente);
    assert_eq!((report.counts.checked, report.counts.fixed, report.counts.unchanged), (2, 1, 1), "{report:?}");
}

#[tokio::test]
async fn when_listing_fails_an_unknown_attempt_is_still_looked_up_by_its_customer_and_the_failure_counted() {
    // No background worker: once the clock has moved, its follow-up could settle the attempt (and
    // spend the listing's faults) while the reconciler waits between its tries.
    let app = spawn_app_by_hand().await;
    // Its webhook is still on its way (not failed, so not replayed from the Events API).
    app.stripe.set_delivery(Delivery::Hold);
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 4_000, app.today()).await;
    app.stripe.inject("POST /v1/payment_intents", Fault::ErrorAfterExecution);
    charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("sent");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours);
    // Old enough that no request in flight explains a missing PaymentIntent.
    app.clock.advance(Duration::from_secs(40 * 60));
    // The window listing fails on every try; the customer's own listing then answers.
    for _ in 0..4 {
        app.stripe.inject("GET /v1/payment_intents", Fault::Unavailable);
    }

    let report = reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");

    assert_eq!(app.status(e).await, EcheanceStatus::Payee, "{report:?}");
    assert_eq!(report.counts.fixed, 1, "{report:?}");
    assert!(report.counts.errors >= 1, "the failed listing is an error of the run: {report:?}");
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1);
    // The stored report says so in the admin's language, around Stripe's own words.
    assert!(report.problems.iter().any(|p| matches!(p, ReconcileProblem::ListingFellBack { .. })), "{report:?}");
    let stored = app::ssr::services::admin::last_report(&app.state).await.expect("read").expect("a report");
    let said = |locale| stored.problems.iter().map(|p| problem_text(p, locale)).collect::<Vec<_>>().join("\n");
    let (fr, en) = (said(Locale::Fr), said(Locale::En));
    assert!(fr.contains("La liste des PaymentIntents n’a pas pu être lue chez Stripe ("), "{fr}");
    assert!(en.contains("Stripe’s list of PaymentIntents could not be read ("), "{en}");
    assert!(!fr.contains("listing") && !en.contains("échéance"), "{fr}\n{en}");
}

#[tokio::test]
async fn a_dry_run_reports_the_drift_and_changes_nothing() {
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let e = authenticated_unheard(&app).await;

    let report = reconcile::run(&app.state, &options(true), &Silent).await.expect("ran");

    assert_eq!(app.status(e).await, EcheanceStatus::EnAttente);
    assert_eq!(report.counts.fixed, 0);
    assert_eq!(report.drift.len(), 1);
    assert_eq!(report.drift[0].resolved.as_str(), "payee");
    assert!(!report.drift[0].fixed);
}

#[tokio::test]
async fn missed_webhooks_are_replayed_from_the_events_api() {
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 1_000, app.today()).await;
    for _ in 0..4 {
        app.stripe.inject("POST /v1/payment_intents", Fault::DropResponse);
    }
    charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("sent");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours);
    // The peer tries (and fails) to deliver payment_intent.succeeded.
    app.stripe.wait_for_delivery_attempt("payment_intent.succeeded", Duration::from_secs(30)).await;

    let report = reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");

    assert!(report.counts.events_replayed >= 1, "{report:?}");
    assert!(
        app.inbox().await.iter().any(|row| row.event_type == "payment_intent.succeeded"),
        "the missed event is in the inbox"
    );
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1);
}

#[tokio::test]
async fn legacy_checkout_sessions_still_open_are_reconciled() {
    let app = spawn_app().await;
    let alice = app.customer("alice", None).await;
    let paid = app.echeance(&alice, 1_000, app.today()).await;
    let expired = app.echeance(&alice, 1_000, app.today()).await;
    for (e, session) in [(paid, "cs_test_paid"), (expired, "cs_test_expired")] {
        let mut row: echeance::ActiveModel = app.row(e).await.into();
        row.checkout_session_id = Set(Some(session.to_owned()));
        row.update(&app.state.db).await.expect("link");
    }
    app.stripe.put_checkout_session(
        json!({"id": "cs_test_paid", "object": "checkout.session", "status": "complete", "payment_status": "paid",
            "amount_total": 1_000, "currency": "eur"}),
    );
    app.stripe.put_checkout_session(
        json!({"id": "cs_test_expired", "object": "checkout.session", "status": "expired", "payment_status": "unpaid"}),
    );

    let report = reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");

    assert_eq!(app.status(paid).await, EcheanceStatus::Payee);
    assert_eq!(app.status(expired).await, EcheanceStatus::APayer);
    assert_eq!(app.row(expired).await.checkout_session_id, None, "left to the schedule: its session cannot collect");
    assert_eq!((report.counts.checked, report.counts.fixed), (2, 1), "{report:?}");
}

#[tokio::test]
async fn only_one_reconciler_runs_at_a_time() {
    let app = spawn_app().await;
    assert!(
        lease::acquire(&app.state.db, "reconciler", "another-instance", 60_000, app.state.now_ms())
            .await
            .expect("lease")
    );

    let refused = reconcile::run(&app.state, &options(false), &Silent).await;
    assert!(matches!(refused, Err(ReconcileError::AlreadyRunning)), "{refused:?}");

    lease::release(&app.state.db, "reconciler", "another-instance").await.expect("release");
    assert!(reconcile::run(&app.state, &options(false), &Silent).await.is_ok());
}

/// `n` échéances of Carol's waiting for 3D Secure, each with its PaymentIntent
/// on Stripe and its attempt started when Stripe made it: (échéance, PaymentIntent, client secret).
async fn waiting_in_bulk(app: &TestApp, n: usize) -> Vec<(i64, String, String)> {
    let carol = app.customer("carol", None).await;
    let pm = app.add_card(&carol, cards::SCA_ALWAYS).await;
    let now = app.state.now_ms();
    let txn = app::ssr::db::begin_write(&app.state.db).await.expect("txn");
    let mut rows = Vec::with_capacity(n);
    for k in 0..n {
        let e = echeance::ActiveModel {
            user_id: Set(carol.id.get()),
            label: Set(format!("Échéance {k}")),
            amount_cents: Set(1_000 + i64::try_from(k).expect("small")),
            currency: Set("eur".to_owned()),
            due_date: Set(app.today()),
            status: Set(EcheanceStatus::EnAttente),
            current_attempt_no: Set(1),
            soft_declines: Set(0),
            version: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .expect("échéance");
        rows.push(e.id);
    }
    txn.commit().await.expect("commit");
    let mut pis = Vec::with_capacity(n);
    for e in &rows {
        let pi = app
            .peer
            .post(
                "/v1/payment_intents",
                &[
                    // The attempts' own amount: a success for another amount would be drift, not « payée ».
                    ("amount", "1000"),
                    ("currency", "eur"),
                    ("customer", &carol.stripe_customer),
                    ("payment_method", &pm),
                    ("confirm", "true"),
                    ("off_session", "true"),
                    ("metadata[echeance_id]", &e.to_string()),
                    ("metadata[attempt]", "1"),
                    ("metadata[installation]", &app.state.installation_id),
                ],
            )
            .await;
        pis.push((
            pi["id"].as_str().unwrap_or_else(|| panic!("a PaymentIntent: {pi}")).to_owned(),
            pi["client_secret"].as_str().expect("secret").to_owned(),
            pi["created"].as_i64().expect("created"),
        ));
    }
    let txn = app::ssr::db::begin_write(&app.state.db).await.expect("txn");
    for (e, (pi, secret, created)) in rows.iter().zip(&pis) {
        charge_attempt::ActiveModel {
            echeance_id: Set(*e),
            attempt_no: Set(1),
            idempotency_key: Set(format!("bulk-e{e}-a1")),
            trigger: Set(ChargeOrigin::DueDate),
            amount_cents: Set(1_000),
            currency: Set("eur".to_owned()),
            stripe_customer_id: Set(carol.stripe_customer.clone()),
            payment_method_id: Set(pm.clone()),
            payment_intent_id: Set(Some(pi.clone())),
            client_secret: Set(Some(secret.clone())),
            outcome: Set(AttemptOutcome::RequiresAction.to_owned()),
            started_at: Set(created * 1000),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .expect("attempt");
        let mut row: echeance::ActiveModel =
            echeance::ActiveModel { id: sea_orm::ActiveValue::Unchanged(*e), ..Default::default() };
        row.current_payment_intent_id = Set(Some(pi.clone()));
        row.update(&txn).await.expect("link");
    }
    txn.commit().await.expect("commit");
    rows.into_iter().zip(pis).map(|(e, (pi, secret, _))| (e, pi, secret)).collect()
}

#[tokio::test]
async fn a_window_listed_in_slices_side_by_side_finds_every_payment_intent_once() {
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let bulk = waiting_in_bulk(&app, 240).await;
    let since = app.state.now_ms() / 1000 - 3_600;
    let before = app.stripe.all_calls();

    // Two slices of about 120 attempts: each more than a page, walked by its own cursor.
    let mut started: Vec<i64> = charge_attempt::Entity::find()
        .all(&app.state.db)
        .await
        .expect("attempts")
        .into_iter()
        .map(|a| a.started_at)
        .collect();
    started.sort_unstable();
    assert_eq!(window::cut(since, &started, 110).len(), 2);
    let listing = window::list(&app.state, since, 110).await.expect("listed");

    let listed: Vec<&str> = listing.payment_intents.iter().map(|pi| pi.id.as_str()).collect();
    let unique: std::collections::BTreeSet<&str> = listed.iter().copied().collect();
    let made: std::collections::BTreeSet<&str> = bulk.iter().map(|(_, pi, _)| pi.as_str()).collect();
    assert_eq!(listed.len(), unique.len(), "a PaymentIntent listed twice");
    assert!(made.is_subset(&unique), "{} of 240 listed", made.intersection(&unique).count());
    assert!(listing.errors.is_empty(), "{:?}", listing.errors);
    let calls = app.stripe.all_calls().get("GET /v1/payment_intents").copied().unwrap_or(0)
        - before.get("GET /v1/payment_intents").copied().unwrap_or(0);
    assert_eq!(u64::from(listing.calls), calls);
    // 240 take three pages; each slice may end on a page that is not full.
    assert!((3..=5).contains(&calls), "{calls} pages");
}

#[tokio::test]
async fn reconciling_2000_pending_echeances_makes_far_fewer_stripe_calls_than_echeances() {
    const N: usize = 2_000;
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let bulk = waiting_in_bulk(&app, N).await;
    let rows: Vec<i64> = bulk.iter().map(|(e, _, _)| *e).collect();
    let pis: Vec<(String, String)> = bulk.into_iter().map(|(_, pi, secret)| (pi, secret)).collect();
    // Meanwhile on Stripe: 25 were authenticated, 25 cancelled.
    for (pi, secret) in &pis[..25] {
        app.stripe.authenticate(pi, secret, true).await;
    }
    for (pi, _) in &pis[25..50] {
        app.stripe.post(&format!("/v1/payment_intents/{pi}/cancel"), &[]).await;
    }
    let before = app.stripe.all_calls();

    let report = reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");

    let during: std::collections::BTreeMap<String, u64> = app
        .stripe
        .all_calls()
        .into_iter()
        .map(|(endpoint, n)| (endpoint.clone(), n - before.get(&endpoint).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let calls: u64 = during.values().sum();
    println!(
        "reconcile of {N} pending échéances: {calls} Stripe calls ({during:?}); report: checked {}, fixed {}, unchanged {}, errors {}",
        report.counts.checked, report.counts.fixed, report.counts.unchanged, report.counts.errors
    );
    assert_eq!(
        (report.counts.checked, report.counts.fixed, report.counts.unchanged, report.counts.errors),
        (2_000, 50, 1_950, 0)
    );
    assert!(calls <= 25, "{calls} calls for {N} échéances");
    assert_eq!(app.status(rows[0]).await, EcheanceStatus::Payee);
    assert_eq!(app.status(rows[30]).await, EcheanceStatus::APayer);
    assert_eq!(app.status(rows[1_999]).await, EcheanceStatus::EnAttente);
}

#[tokio::test]
async fn an_expired_legacy_session_does_not_reset_a_payment_started_in_the_new_flow() {
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 3_000, app.today()).await;
    let mut row: echeance::ActiveModel = app.row(e).await.into();
    row.checkout_session_id = Set(Some("cs_test_old".to_owned()));
    row.update(&app.state.db).await.expect("link");
    app.stripe.put_checkout_session(
        json!({"id": "cs_test_old", "object": "checkout.session", "status": "expired", "payment_status": "unpaid"}),
    );
    charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("sent");

    reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");

    assert_eq!(app.status(e).await, EcheanceStatus::EnAttente);
}

#[tokio::test]
async fn an_echeance_collected_twice_is_reported_as_drift() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.charged_today(&alice, 1_000).await;
    let first = app.attempts(e).await.remove(0);
    app.collected_again(&first, "pi_duplicate").await;

    let report = reconcile::run(&app.state, &options(true), &Silent).await.expect("ran");

    let drift = report.drift.iter().find(|d| d.echeance_id == e).expect("listed");
    assert_eq!(drift.stripe, "succeeded ×2");
    assert!(!drift.fixed, "never changed automatically");
    // Its second PaymentIntent, unknown to Stripe, is listed without an error (an error would hold
    // a restored database's charges back).
    assert_eq!(report.counts.errors, 0, "{report:?}");
}

#[tokio::test]
async fn a_double_charge_is_listed_every_night_until_its_second_payment_is_refunded() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.charged_today(&alice, 1_000).await;
    let first = app.attempts(e).await.remove(0);
    // Collected a second time (a PaymentIntent of ours on the account, its own attempt).
    let second = charge_attempt::Model { attempt_no: 2, ..first.clone() };
    let installation = app.state.installation_id.to_string();
    let twice = crate::edges::payment_intent_on_the_account(&app, &second, 1_000, &installation).await;
    app.collected_again(&first, &twice).await;
    let night = async || {
        let report = reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");
        assert_eq!(report.counts.errors, 0, "{report:?}");
        report.drift.iter().any(|d| d.echeance_id == e && d.stripe == "succeeded ×2")
    };
    assert!(night().await, "listed the night it happened");
    // Three days on, its attempts out of every window: still listed.
    app.clock.advance(Duration::from_secs(3 * 86_400));
    assert!(night().await, "listed while nothing of it is refunded");
    // Half of the second payment refunded (in Stripe's Dashboard): still listed.
    let refund = app.stripe.post("/v1/refunds", &[("payment_intent", &twice), ("amount", "500")]).await;
    assert_eq!(refund["status"], "succeeded", "{refund}");
    assert!(night().await, "listed while half of it is kept");
    // A refund of the payment that paid it does not count toward the second one.
    let paying = first.payment_intent_id.clone().expect("paid");
    app.stripe.post("/v1/refunds", &[("payment_intent", &paying), ("amount", "500")]).await;
    assert!(night().await, "listed: the second payment still half kept");
    // The rest of the second payment: no longer listed.
    app.stripe.post("/v1/refunds", &[("payment_intent", &twice), ("amount", "500")]).await;
    assert!(!night().await, "its second payment refunded in full");
}

#[tokio::test]
async fn an_undated_success_is_the_paying_one_on_every_engine() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.charged_today(&alice, 1_000).await;
    // Its success written before successes were dated (an older version, an import): no time.
    let mut undated: charge_attempt::ActiveModel = app.attempts(e).await.remove(0).into();
    undated.finished_at = Set(None);
    let first = undated.update(&app.state.db).await.expect("undated");
    app.collected_again(&first, "pi_duplicate").await;

    // SQLite sorts a NULL first, PostgreSQL last: the same attempt paid, whatever the engine.
    let paying = app::ssr::repo::attempts::paying(&app.state.db, e).await.expect("read").expect("paid");
    assert_eq!(paying.id, first.id, "the undated success came first");
    let paid = app::ssr::repo::attempts::paying_payment_intents(&app.state.db, &[e]).await.expect("read");
    assert_eq!(paid.get(&e), first.payment_intent_id.as_ref());
}

#[tokio::test]
async fn refunds_and_disputes_whose_webhooks_never_came_are_applied_to_the_echeance_they_paid() {
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let alice = app.customer("alice", Some(cards::OK)).await;
    let mut paid = Vec::new();
    for _ in 0..5 {
        let e = app.echeance(&alice, 1_000, app.today()).await;
        charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("paid");
        paid.push((e, app.row(e).await.current_payment_intent_id.expect("pi")));
    }
    let [(refunded, refunded_pi), (partly, partly_pi), (disputed, disputed_pi), (lost, lost_pi), (both, both_pi)] =
        paid.try_into().expect("five");
    // In the Dashboard: a full refund, a partial one, a full refund later disputed; the bank opens
    // a dispute, and rules on another whose opening was never seen here.
    app.stripe.post("/v1/refunds", &[("payment_intent", &refunded_pi)]).await;
    app.stripe.post("/v1/refunds", &[("payment_intent", &partly_pi), ("amount", "300")]).await;
    app.stripe.post("/v1/refunds", &[("payment_intent", &both_pi)]).await;
    let now = app.state.now_ms() / 1000;
    let a_dispute = |id: &str, pi: &str, status: &str| {
        json!({"id": id, "object": "dispute", "payment_intent": pi, "charge": null,
            "reason": "fraudulent", "status": status, "created": now})
    };
    let dispute = |status: &str| a_dispute("dp_test_1", &disputed_pi, status);
    app.stripe.put_dispute(dispute("needs_response"));
    app.stripe.put_dispute(a_dispute("dp_test_2", &lost_pi, "lost"));
    app.stripe.put_dispute(a_dispute("dp_test_3", &both_pi, "needs_response"));

    let dry = reconcile::run(&app.state, &options(true), &Silent).await.expect("dry run");
    let seen: Vec<(i64, EcheanceStatus)> = dry.drift.iter().map(|d| (d.echeance_id, d.resolved)).collect();
    assert!(seen.contains(&(refunded, EcheanceStatus::Remboursee)), "{dry:?}");
    assert!(seen.contains(&(disputed, EcheanceStatus::Contestee)), "{dry:?}");
    assert_eq!(app.status(refunded).await, EcheanceStatus::Payee, "a dry run changes nothing");

    reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");
    assert_eq!(app.status(refunded).await, EcheanceStatus::Remboursee);
    assert_eq!(app.status(partly).await, EcheanceStatus::Payee, "a partial refund leaves it paid");
    assert_eq!(app.status(disputed).await, EcheanceStatus::Contestee);
    assert_eq!(app.status(lost).await, EcheanceStatus::Remboursee, "a lost dispute took the money back");
    assert_eq!(
        app.status(both).await,
        EcheanceStatus::Remboursee,
        "refunded in full, then disputed: the money is back"
    );
    let kept = dispute::Entity::find().filter(dispute::Column::StripeDisputeId.eq("dp_test_3")).one(&app.state.db);
    assert_eq!(kept.await.expect("query").map(|row| row.echeance_id), Some(both), "its dispute is kept all the same");
    let audit_rows = app.audit(both).await.len();

    // The bank rules against the merchant; what did not change is left alone.
    app.stripe.put_dispute(dispute("lost"));
    let again = reconcile::run(&app.state, &options(false), &Silent).await.expect("ran again");
    assert_eq!(app.status(disputed).await, EcheanceStatus::Remboursee);
    assert_eq!(app.status(both).await, EcheanceStatus::Remboursee);
    assert_eq!(app.audit(both).await.len(), audit_rows, "no back and forth between runs: {again:?}");
}

#[tokio::test]
async fn a_refund_that_failed_without_its_webhook_puts_the_echeance_back_to_paid() {
    let app = spawn_app().await;
    app.stripe.set_delivery(Delivery::Drop);
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.charged_today(&alice, 1_000).await;
    let pi = app.row(e).await.current_payment_intent_id.expect("pi");
    let refund = app.stripe.post("/v1/refunds", &[("payment_intent", &pi)]).await;
    reconcile::run(&app.state, &options(false), &Silent).await.expect("ran");
    assert_eq!(app.status(e).await, EcheanceStatus::Remboursee);

    app.stripe.fail_refund(refund["id"].as_str().expect("refund id"), false).await;
    let report = reconcile::run(&app.state, &options(false), &Silent).await.expect("ran again");

    assert_eq!(app.status(e).await, EcheanceStatus::Payee, "the money came back: {report:?}");
}

#[tokio::test]
async fn the_nightly_reconciliation_runs_on_the_night_the_clocks_go_forward() {
    use app::ssr::services::schedule::{self, Job};
    use chrono::TimeZone as _;
    let app = spawn_app_by_hand().await;
    let set = |at: chrono::DateTime<chrono::Utc>| {
        app.clock.reset();
        app.clock.freeze();
        app.clock.advance((at - app.state.clock.now()).to_std().expect("later"));
    };
    let utc = |d, h, m| chrono::Utc.with_ymd_and_hms(2027, 3, d, h, m, 0).single().expect("a time");
    // Paris, Sunday 28 March 2027: at 02:00, the reconciliation's hour (01:00 UTC), the clock goes to 03:00.
    set(utc(27, 12, 0));
    schedule::run_if_due(&app.state, Job::Reconcile).await.expect("first start");
    assert!(reconcile::latest(&app.state).await.expect("query").is_none(), "a first start only remembers the time");
    set(utc(28, 0, 59));
    schedule::run_if_due(&app.state, Job::Reconcile).await.expect("before the jump");
    assert!(reconcile::latest(&app.state).await.expect("query").is_none(), "not yet");
    set(utc(28, 1, 0));
    schedule::run_if_due(&app.state, Job::Reconcile).await.expect("at the jump");
    let (report, _) = reconcile::latest(&app.state).await.expect("query").expect("the night's reconciliation ran");
    assert_eq!(report.errors, 0, "{report:?}");
}
