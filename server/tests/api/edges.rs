//! Money at the edges: what a hostile review of the money paths found — an
//! admin's cancel that must never pass through a payable state nor leave a
//! confirmable PaymentIntent, amounts Stripe would refuse, PaymentIntents of
//! another database on the same Stripe account, a success for another amount,
//! and a first send Stripe refuses (in `charge.rs`).

use app::api::dto::AdminFilter;
use app::domain::{AttemptOutcome, EcheanceId, EcheanceStatus, Invalid, Locale, Role};
use app::ssr::entities::{audit_log, charge_attempt, echeance, stripe_event, user};
use app::ssr::services::admin::{self, Filter};
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::error::ServiceError;
use app::ssr::services::reconcile;
use app::ssr::services::seed::{self, Account};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use std::time::Duration;

use crate::helpers::{Delivery, Fault, cards, spawn_app, spawn_app_by_hand};

fn id(n: i64) -> EcheanceId {
    EcheanceId::new(n).expect("positive id")
}

/// An échéance charged off-session whose bank asks for 3D Secure: « en attente », and its PaymentIntent.
async fn waiting_for_3ds(app: &crate::helpers::TestApp) -> (i64, String) {
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 8_000, app.today()).await;
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(app.status(e).await, EcheanceStatus::EnAttente);
    (e, app.row(e).await.current_payment_intent_id.expect("a PaymentIntent waits for 3DS"))
}

/// An échéance whose charge was declined (« échouée »), and its PaymentIntent (waiting for another payment method).
async fn declined(app: &crate::helpers::TestApp, name: &str) -> (i64, String) {
    let customer = app.customer(name, Some(cards::DECLINED)).await;
    let e = app.echeance(&customer, 2_000, app.today()).await;
    let sent = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(sent.status, EcheanceStatus::Echouee);
    (e, sent.payment_intent_id.expect("the declined PaymentIntent"))
}

/// Waits until a request lost on the way has landed on Stripe with échéance `e`'s PaymentIntent
/// (and the other tries with it, replays).
async fn landed(app: &crate::helpers::TestApp, e: i64) {
    for _ in 0..300 {
        if !app.peer.payment_intents_of(e).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// What Stripe says PaymentIntent `pi`'s status is.
async fn stripe_status(app: &crate::helpers::TestApp, pi: String) -> serde_json::Value {
    app.peer.get(&format!("/v1/payment_intents/{pi}")).await["status"].clone()
}

/// Waits until Stripe's `payment_intent.succeeded` of `pi` is stored (not applied).
async fn success_stored(app: &crate::helpers::TestApp, pi: &str) {
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    while !app
        .inbox()
        .await
        .iter()
        .any(|row| row.event_type == "payment_intent.succeeded" && row.payment_intent_id.as_deref() == Some(pi))
    {
        assert!(tokio::time::Instant::now() < deadline, "the success's webhook never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_admin_cancel_of_an_echeance_waiting_for_3ds_cancels_its_payment_intent_first_and_never_makes_it_payable() {
    let app = spawn_app().await;
    let admin_user = app.admin("ada").await;
    let (e, pi) = waiting_for_3ds(&app).await;

    let cancelled = admin::actions::cancel(&app.state, id(e), admin_user.id).await.expect("cancelled");

    assert_eq!(cancelled, EcheanceStatus::Annulee);
    assert_eq!(app.status(e).await, EcheanceStatus::Annulee);
    let on_stripe = app.peer.get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(on_stripe["status"], "canceled", "the link cannot confirm it any more");
    // Straight from « en attente » to « annulée », in one transaction: no moment where the
    // échéance was « à payer » (the due-date run or the customer could have charged it then).
    let trail: Vec<(Option<EcheanceStatus>, EcheanceStatus)> = audit_log::Entity::find()
        .filter(audit_log::Column::EcheanceId.eq(e))
        .order_by_asc(audit_log::Column::Id)
        .all(&app.state.db)
        .await
        .expect("audit")
        .into_iter()
        .map(|row| (row.from_status, row.to_status))
        .collect();
    assert_eq!(trail.last(), Some(&(Some(EcheanceStatus::EnAttente), EcheanceStatus::Annulee)), "{trail:?}");
    assert!(
        !trail
            .iter()
            .skip_while(|(_, to)| *to != EcheanceStatus::EnAttente)
            .any(|(_, to)| *to == EcheanceStatus::APayer)
    );
}

#[tokio::test]
async fn an_echeance_under_stripes_minimum_charge_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let email = format!("tiny-{}@example.test", uuid::Uuid::new_v4().simple());
    let account = Account {
        email: &email,
        password: "tiny-password-2026",
        name: "Tiny",
        role: Role::Customer,
        locale: Locale::Fr,
    };

    let refused = seed::seed_customer(
        &app.state,
        &account,
        &[(0, 5_000, EcheanceStatus::APayer), (30, 49, EcheanceStatus::APayer)],
        app.today(),
    )
    .await;

    match refused {
        Err(ServiceError::Invalid(Invalid::BelowMinimum(minimum))) => {
            assert_eq!(minimum.format(Locale::Fr), "0,50\u{a0}€");
            let message = app::api::error::AppError::Invalid(Invalid::BelowMinimum(minimum)).message(Locale::Fr);
            assert!(message.contains("0,50"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let users =
        user::Entity::find().filter(user::Column::Email.eq(email.as_str())).count(&app.state.db).await.expect("count");
    assert_eq!(users, 0, "all or nothing: not even the user was written");
    let fine = seed::seed_customer(&app.state, &account, &[(30, 50, EcheanceStatus::APayer)], app.today()).await;
    assert!(fine.is_ok(), "0,50 € is Stripe's minimum, and accepted: {fine:?}");
}

/// An échéance whose first charge never reached Stripe (a 500 before Stripe
/// started, on every try): en cours, its attempt with no PaymentIntent.
pub(crate) async fn attempt_that_never_reached_stripe(
    app: &crate::helpers::TestApp,
    cents: i64,
) -> (i64, charge_attempt::Model, crate::helpers::Customer) {
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, cents, app.today()).await;
    for _ in 0..4 {
        app.stripe.inject("POST /v1/payment_intents", Fault::Unavailable);
    }
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("outcome unknown, not an error");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours);
    let attempt = app.attempts(e).await.remove(0);
    assert!(attempt.payment_intent_id.is_none());
    (e, attempt, alice)
}

/// A PaymentIntent created on the shared Stripe account for the customer and
/// card of `like`, with `like`'s échéance and attempt in its metadata, for
/// `amount`, by `installation`; confirmed off-session.
pub(crate) async fn payment_intent_on_the_account(
    app: &crate::helpers::TestApp,
    like: &charge_attempt::Model,
    amount: i64,
    installation: &str,
) -> String {
    let pi = app
        .peer
        .post(
            "/v1/payment_intents",
            &[
                ("amount", &amount.to_string()),
                ("currency", "eur"),
                ("customer", &like.stripe_customer_id),
                ("payment_method", &like.payment_method_id),
                ("confirm", "true"),
                ("off_session", "true"),
                ("metadata[echeance_id]", &like.echeance_id.to_string()),
                ("metadata[attempt]", &like.attempt_no.to_string()),
                ("metadata[installation]", installation),
            ],
        )
        .await;
    assert_eq!(pi["status"], "succeeded", "{pi}");
    pi["id"].as_str().expect("id").to_owned()
}

/// Stripe's `payment_intent.succeeded` for `pi` as the peer holds it, delivered and applied.
async fn deliver_success(app: &crate::helpers::TestApp, event_id: &str, pi: &str) {
    let object = app.peer.get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(app.deliver(&crate::helpers::event(event_id, "payment_intent.succeeded", object)).await, 200);
    app.process_inbox().await;
}

pub(crate) async fn reconcile(app: &crate::helpers::TestApp) -> reconcile::Report {
    let options = reconcile::Options {
        since: Duration::from_secs(48 * 3600),
        dry_run: false,
        trigger: app::domain::Actor::CommandLine,
    };
    reconcile::run(&app.state, &options, &reconcile::Silent).await.expect("reconciled")
}

#[tokio::test]
async fn a_payment_intent_another_database_made_on_the_same_stripe_account_is_never_taken_for_ours() {
    let app = spawn_app_by_hand().await;
    let (e, attempt, _) = attempt_that_never_reached_stripe(&app, 6_000).await;
    // Staging, or a reset development copy, on the same account: same ids, its own échéance.
    let foreign = payment_intent_on_the_account(&app, &attempt, 6_000, "another-installation").await;
    app.clock.advance(Duration::from_secs(31 * 60));

    reconcile(&app).await;

    assert_ne!(app.status(e).await, EcheanceStatus::Payee, "no money of ours was collected");
    assert_eq!(app.status(e).await, EcheanceStatus::APayer, "ours never reached Stripe: given up, payable again");
    let theirs = app.peer.get(&format!("/v1/payment_intents/{foreign}")).await;
    assert_eq!(theirs["status"], "succeeded", "and theirs was left alone");
    assert!(app.attempts(e).await[0].payment_intent_id.is_none(), "never linked to their PaymentIntent");
}

#[tokio::test]
async fn refunds_and_disputes_of_another_databases_payment_are_ignored_at_once_not_retried() {
    use app::ssr::repo::queue::InboxStatus;
    let app = spawn_app_by_hand().await;
    let (e, attempt, _) = attempt_that_never_reached_stripe(&app, 6_000).await;
    let foreign = payment_intent_on_the_account(&app, &attempt, 6_000, "another-installation").await;

    // Its owner refunds it, the bank sends the refund back, the cardholder disputes it.
    let refund = app.stripe.post("/v1/refunds", &[("payment_intent", &foreign)]).await;
    app.stripe.fail_refund(refund["id"].as_str().expect("refund id"), true).await;
    app.stripe.open_dispute(&foreign).await;
    let kinds = ["refund.created", "charge.refunded", "refund.failed", "charge.dispute.created"];
    for kind in kinds {
        app.stripe.wait_for_delivery_attempt(kind, crate::helpers::PATIENCE).await;
    }
    let mut about_theirs = Vec::new();
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    while tokio::time::Instant::now() < deadline {
        app.process_inbox().await;
        about_theirs = app.inbox().await.into_iter().filter(|r| kinds.contains(&r.event_type.as_str())).collect();
        if about_theirs.len() >= kinds.len() && about_theirs.iter().all(|r| r.status != InboxStatus::Pending) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let seen: Vec<(&str, InboxStatus, Option<&str>)> =
        about_theirs.iter().map(|r| (r.event_type.as_str(), r.status, r.note.as_deref())).collect();
    assert!(seen.len() >= kinds.len(), "{seen:?}");
    for (kind, status, note) in &seen {
        assert_eq!(*status, InboxStatus::Ignored, "{kind}: not parked to be retried for hours: {seen:?}");
        assert_eq!(*note, Some(format!("not-ours pi={foreign}").as_str()), "{kind}");
    }
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours, "ours is left as it was");
    assert!(app.attempts(e).await[0].payment_intent_id.is_none());

    // A payment without anyone's metadata (the original site's Checkout, whose completion may
    // come later) may be ours: its refund waits, parked, instead of being ignored.
    let someone = app.customer("legacy", None).await;
    let card = app.add_card(&someone, cards::OK).await;
    let form = [
        ("amount", "2500"),
        ("currency", "eur"),
        ("customer", someone.stripe_customer.as_str()),
        ("payment_method", card.as_str()),
        ("confirm", "true"),
    ];
    let unmarked = app.stripe.post("/v1/payment_intents", &form).await;
    let unmarked = unmarked["id"].as_str().expect("a PaymentIntent").to_owned();
    app.stripe.post("/v1/refunds", &[("payment_intent", &unmarked)]).await;
    let mut waiting = None;
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    while tokio::time::Instant::now() < deadline {
        app.process_inbox().await;
        waiting = app.inbox().await.into_iter().find(|r| {
            // Tried once: a row stored between the run above and this read is pending, untried.
            r.event_type == "charge.refunded"
                && r.payload.contains(&unmarked)
                && r.status == InboxStatus::Pending
                && r.attempts > 0
        });
        if waiting.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let waiting = waiting.expect("its refund waits for its payment to be known");
    assert!(waiting.last_error.as_deref().is_some_and(|e| e.contains("unknown-yet")), "{waiting:?}");
}

#[tokio::test]
async fn a_success_for_another_amount_than_the_attempts_is_drift_not_a_payment() {
    let app = spawn_app_by_hand().await;
    let (e, attempt, _) = attempt_that_never_reached_stripe(&app, 6_000).await;
    let installation = app.state.installation_id.to_string();
    let odd = payment_intent_on_the_account(&app, &attempt, 5_999, &installation).await;
    app.clock.advance(Duration::from_secs(31 * 60));

    let report = reconcile(&app).await;

    assert_ne!(app.status(e).await, EcheanceStatus::Payee, "59,99 € collected is not the 60,00 € échéance paid");
    let drift = report.drift.iter().find(|d| d.echeance_id == e).expect("reported as drift");
    assert_eq!((drift.stripe_object.as_deref(), drift.fixed), (Some(odd.as_str()), false), "{drift:?}");
    assert!(drift.stripe.contains("5999"), "{drift:?}");

    // The same success arriving by webhook moves nothing either.
    deliver_success(&app, "evt_odd_amount", &odd).await;
    assert_ne!(app.status(e).await, EcheanceStatus::Payee);
}

#[tokio::test]
async fn an_attempt_that_knows_its_payment_intent_never_takes_another_by_metadata() {
    let app = spawn_app_by_hand().await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.charged_today(&carol, 7_000).await;
    assert_eq!(app.status(e).await, EcheanceStatus::EnAttente);
    let attempt = app.attempts(e).await.remove(0);
    let ours = attempt.payment_intent_id.clone().expect("known");
    // Another PaymentIntent with the same ids and our installation (a restored backup's
    // numbering, say), collected with a card that needs no 3DS.
    let ok_card = app.add_card(&carol, cards::OK).await;
    let other = charge_attempt::Model { payment_method_id: ok_card, ..attempt.clone() };
    let installation = app.state.installation_id.to_string();
    let stranger = payment_intent_on_the_account(&app, &other, 7_000, &installation).await;
    assert_ne!(stranger, ours);

    deliver_success(&app, "evt_stranger", &stranger).await;
    app.clock.advance(Duration::from_secs(31 * 60));
    let report = reconcile(&app).await;

    assert_eq!(app.status(e).await, EcheanceStatus::EnAttente, "still waiting for its own PaymentIntent");
    assert_eq!(app.attempts(e).await[0].payment_intent_id.as_deref(), Some(ours.as_str()));
    // Yet that money was collected under our name: an admin sees it, nothing applies it.
    let drift = report.drift.iter().find(|d| d.stripe_object.as_deref() == Some(stranger.as_str()));
    let drift = drift.unwrap_or_else(|| panic!("the stranger's success is drift: {:?}", report.drift));
    assert_eq!(
        (drift.echeance_id, drift.local, drift.resolved, drift.fixed),
        (e, EcheanceStatus::EnAttente, EcheanceStatus::EnAttente, false)
    );
    assert!(drift.stripe.starts_with("succeeded"), "{drift:?}");
}

#[tokio::test]
async fn a_success_on_an_attempt_given_up_here_is_recorded_by_the_next_reconciliation() {
    let app = spawn_app_by_hand().await;
    app.stripe.set_delivery(Delivery::Hold);
    let (e, attempt, _) = attempt_that_never_reached_stripe(&app, 4_500).await;
    app.clock.advance(Duration::from_secs(31 * 60));
    reconcile(&app).await;
    assert_eq!(app.status(e).await, EcheanceStatus::APayer, "absent from Stripe's list: given up");
    // But Stripe did create it, after the list was read (another instance's run, a
    // clock ahead of Stripe's): it succeeded, and its webhook never reaches us.
    let installation = app.state.installation_id.to_string();
    let pi = payment_intent_on_the_account(&app, &attempt, 4_500, &installation).await;

    let report = reconcile(&app).await;

    assert_eq!(app.status(e).await, EcheanceStatus::Payee, "Stripe collected it: so do we");
    let now = &app.attempts(e).await[0];
    assert_eq!(
        (now.outcome, now.payment_intent_id.as_deref()),
        (app::domain::AttemptOutcome::Succeeded, Some(pi.as_str()))
    );
    let fixed = report.drift.iter().find(|d| d.echeance_id == e).expect("in the report");
    assert!(fixed.fixed && fixed.local == EcheanceStatus::APayer, "{fixed:?}");
}

#[tokio::test]
async fn a_webhook_that_failed_its_last_retry_gets_another_chance_from_the_reconciler() {
    let app = spawn_app_by_hand().await;
    let (e, attempt, _) = attempt_that_never_reached_stripe(&app, 3_000).await;
    // A PaymentIntent of ours for the next attempt, whose row is not written yet:
    // its webhook is parked, retried, and gives up after its last retry.
    let next = charge_attempt::Model { attempt_no: 2, ..attempt.clone() };
    let installation = app.state.installation_id.to_string();
    let pi = payment_intent_on_the_account(&app, &next, 3_000, &installation).await;
    deliver_success(&app, "evt_given_up", &pi).await;
    for _ in 0..12 {
        app.process_inbox().await;
        app.clock.advance(Duration::from_secs(3 * 3600));
    }
    let row = || async {
        app::ssr::entities::stripe_event::Entity::find()
            .filter(app::ssr::entities::stripe_event::Column::StripeEventId.eq("evt_given_up"))
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("stored")
    };
    assert_eq!(row().await.status, app::domain::InboxStatus::Failed, "gave up after its last retry");
    // The attempt row appears (the charge's transaction, committed late).
    let mut late: charge_attempt::ActiveModel = next.into();
    late.id = sea_orm::ActiveValue::NotSet;
    late.idempotency_key = sea_orm::ActiveValue::Set(format!("late-e{e}-a2"));
    sea_orm::ActiveModelTrait::insert(late, &app.state.db).await.expect("late attempt");

    let report = reconcile(&app).await;

    assert!(report.counts.events_replayed >= 1, "{report:?}");
    assert_eq!(row().await.status, app::domain::InboxStatus::Processed, "applied on its second chance");
}

#[tokio::test]
async fn a_new_attempt_cancels_the_declined_payment_intent_before_anything_is_sent() {
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", Some(cards::DECLINED)).await;
    let e = app.echeance(&alice, 4_500, app.today()).await;
    charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("answered");
    let declined = app.peer.payment_intents_of(e).await;
    assert_eq!((declined.len(), declined[0]["status"].as_str()), (1, Some("requires_payment_method")));
    let first = declined[0]["id"].as_str().expect("id").to_owned();

    // A new card, a new try: the declined PaymentIntent would still take a new payment method.
    app.add_card(&alice, cards::OK).await;
    let paid = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("paid");

    assert_eq!(paid.status, EcheanceStatus::Payee);
    let on_stripe = app.peer.get(&format!("/v1/payment_intents/{first}")).await;
    assert_eq!(on_stripe["status"], "canceled", "nothing left that could collect a second time");
    let succeeded = app.peer.payment_intents_of(e).await.into_iter().filter(|p| p["status"] == "succeeded").count();
    assert_eq!(succeeded, 1);
}

#[tokio::test]
async fn the_follow_up_never_gives_up_an_attempt_re_sent_just_before_its_keys_day_ended() {
    let app = spawn_app_by_hand().await;
    let (e, attempt, _) = attempt_that_never_reached_stripe(&app, 3_700).await;
    // A minute before the key's day ends, the follow-up re-sends it; every try is lost on the
    // way and reaches Stripe a little later. (The minute counts from the attempt's start: the
    // clock runs on, and a loaded machine may take a minute to get here.)
    let day_ends = attempt.started_at + 23 * 3_600_000;
    let until = u64::try_from(day_ends - 60_000 - app.state.now_ms()).expect("still in the key's day");
    app.clock.advance(Duration::from_millis(until));
    for _ in 0..4 {
        app.stripe.inject("POST /v1/payment_intents", Fault::ArriveLate(Duration::from_secs(10)));
    }
    charge::resume(&app.state, 10).await.expect("resumed");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours, "outcome unknown again");

    // Five minutes later the key's day is over: Stripe has nothing yet, and the re-send may still
    // land — not given up (the échéance is not payable a second time).
    app.clock.advance(Duration::from_secs(5 * 60));
    charge::resume(&app.state, 10).await.expect("resumed");
    assert!(app.peer.payment_intents_of(e).await.is_empty(), "read before the re-send landed");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours, "just re-sent: not given up");

    // It lands and collects; the next follow-up finds it.
    landed(&app, e).await;
    app.clock.advance(Duration::from_secs(6 * 60));
    charge::resume(&app.state, 10).await.expect("resumed");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1, "one PaymentIntent, one collection");
    assert_eq!(app.attempts(e).await.len(), 1, "no second attempt");
}

#[tokio::test]
async fn the_reconciler_never_gives_up_an_attempt_whose_re_send_may_still_reach_stripe() {
    let app = spawn_app_by_hand().await;
    let (e, _, _) = attempt_that_never_reached_stripe(&app, 3_500).await;
    app.clock.advance(Duration::from_secs(31 * 60));
    // The follow-up re-sends it with the same key; every try is lost on the way and
    // reaches Stripe a little later.
    for _ in 0..4 {
        app.stripe.inject("POST /v1/payment_intents", Fault::ArriveLate(Duration::from_secs(10)));
    }
    charge::resume(&app.state, 10).await.expect("resumed");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours, "outcome unknown again");

    // The night's reconciliation runs meanwhile: Stripe has no PaymentIntent for it yet.
    let report = reconcile(&app).await;
    assert!(app.peer.payment_intents_of(e).await.is_empty(), "read before the re-send landed");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours, "just re-sent: not given up");
    assert!(report.drift.iter().all(|d| d.echeance_id != e), "{report:?}");

    // The re-send lands and collects; the next follow-up's re-send is answered with it.
    landed(&app, e).await;
    app.clock.advance(Duration::from_secs(6 * 60));
    charge::resume(&app.state, 10).await.expect("resumed");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    let collected = app.peer.payment_intents_of(e).await;
    assert_eq!(collected.len(), 1, "one PaymentIntent, one collection: {collected:?}");
    assert_eq!(app.attempts(e).await.len(), 1, "no second attempt");
}

#[tokio::test]
async fn an_attempt_absent_from_stripe_is_given_up_only_past_a_margin_for_clocks() {
    let app = spawn_app_by_hand().await;
    let (e, _, _) = attempt_that_never_reached_stripe(&app, 2_500).await;
    // Eleven minutes: another instance's clock, or Stripe's, may be that far off.
    app.clock.advance(Duration::from_secs(11 * 60));
    reconcile(&app).await;
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours, "too early to say Stripe never created it");
    app.clock.advance(Duration::from_secs(20 * 60));
    reconcile(&app).await;
    assert_eq!(app.status(e).await, EcheanceStatus::APayer, "past the margin, and a fresh read agrees: given up");
}

/// A declined échéance (« échouée », its retry date) that an admin charges again while Stripe answers
/// 500 to every try: « en cours », its retry never reached Stripe. Returns it and its retry date.
async fn retried_without_reaching_stripe(app: &crate::helpers::TestApp) -> (i64, i64) {
    let admin = app.admin("root").await;
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let (e, retry_at) = app.declined_today(&bob, 2_600).await;
    assert_eq!(payment_failed_emails(app, e).await, 1);
    for _ in 0..4 {
        app.stripe.inject("POST /v1/payment_intents", Fault::Unavailable);
    }
    charge::charge(&app.state, id(e), Trigger::Admin(admin.id)).await.expect("outcome unknown, not an error");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours);
    let attempt = app.attempts(e).await.pop().expect("the retry");
    assert!(attempt.payment_intent_id.is_none(), "it never reached Stripe");
    (e, retry_at)
}

async fn payment_failed_emails(app: &crate::helpers::TestApp, e: i64) -> usize {
    app.emails(e).await.iter().filter(|m| m.kind == app::domain::EmailKind::PaymentFailed).count()
}

#[tokio::test]
async fn a_retry_that_never_reached_stripe_gives_the_echeance_back_failed_with_its_retry_date_and_tells_no_one() {
    let app = spawn_app_by_hand().await;
    let (e, retry_at) = retried_without_reaching_stripe(&app).await;
    // Past the margin for clocks, absent from Stripe's list: given up by the reconciler — as the claim found it.
    app.clock.advance(Duration::from_secs(31 * 60));
    reconcile(&app).await;
    assert_eq!((app.status(e).await, app.row(e).await.next_retry_at), (EcheanceStatus::Echouee, Some(retry_at)));
    assert_eq!(payment_failed_emails(&app, e).await, 1, "no new failure: nothing reached the bank");
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1, "only the declined one");
}

#[tokio::test]
async fn a_retry_the_follow_up_gives_up_a_day_later_gives_the_echeance_back_failed_with_its_retry_date() {
    let app = spawn_app_by_hand().await;
    let (e, retry_at) = retried_without_reaching_stripe(&app).await;
    // No follow-up ran while Stripe kept the retry's key (it would have sent it again); a day later the
    // key is gone, the retry absent from Stripe's list: the follow-up gives it up — as the claim found it.
    app.clock.advance(Duration::from_secs(24 * 3600));
    charge::resume(&app.state, 10).await.expect("the follow-up");
    assert_eq!((app.status(e).await, app.row(e).await.next_retry_at), (EcheanceStatus::Echouee, Some(retry_at)));
    assert_eq!(payment_failed_emails(&app, e).await, 1, "no new failure: nothing reached the bank");
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1, "only the declined one");
}

/// A Stripe event about `object`, delivered and applied.
async fn deliver_object(app: &crate::helpers::TestApp, event_id: &str, kind: &str, object: serde_json::Value) {
    assert_eq!(app.deliver(&crate::helpers::event(event_id, kind, object)).await, 200);
    app.process_inbox().await;
}

#[tokio::test]
async fn a_refund_follows_the_payment_intent_that_paid_not_the_current_attempts() {
    let app = spawn_app_by_hand().await;
    app.stripe.set_delivery(Delivery::Hold);
    let (e, first, alice) = attempt_that_never_reached_stripe(&app, 3_300).await;
    app.clock.advance(Duration::from_secs(31 * 60));
    reconcile(&app).await;
    // Attempt 2 goes out with a card that asks for 3D Secure: it waits for the customer.
    app.add_card(&alice, cards::SCA_ALWAYS).await;
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("attempt 2");
    assert_eq!(app.status(e).await, EcheanceStatus::EnAttente);
    let current = app.row(e).await.current_payment_intent_id.expect("attempt 2's PaymentIntent");
    // Attempt 1 had reached Stripe after all, and succeeded: it is what paid.
    let installation = app.state.installation_id.to_string();
    let paying = payment_intent_on_the_account(&app, &first, 3_300, &installation).await;
    reconcile(&app).await;
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_eq!(app.row(e).await.current_payment_intent_id.as_deref(), Some(current.as_str()), "not the paying one");

    let charge_of = |pi: &str| {
        serde_json::json!({"id": "ch_paying", "object": "charge", "payment_intent": pi,
        "amount": 3_300, "amount_refunded": 3_300, "refunded": true})
    };
    deliver_object(&app, "evt_refund_current", "charge.refunded", charge_of(&current)).await;
    assert_eq!(
        app.status(e).await,
        EcheanceStatus::Payee,
        "a refund of the PaymentIntent that did not pay moves nothing"
    );
    // Stripe refunded the one that paid (its own events held back): the event is read against Stripe's refunds.
    app.stripe.post("/v1/refunds", &[("payment_intent", &paying)]).await;
    deliver_object(&app, "evt_refund_paying", "charge.refunded", charge_of(&paying)).await;
    assert_eq!(app.status(e).await, EcheanceStatus::Remboursee, "the refund of the one that paid does");
}

#[tokio::test]
async fn a_dispute_closes_won_or_lost_and_a_failed_refund_collects_again() {
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let mut paid = Vec::new();
    for cents in [1_100, 1_200, 1_300] {
        let e = app.echeance(&alice, cents, app.today()).await;
        charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("paid");
        paid.push((e, app.row(e).await.current_payment_intent_id.expect("pi")));
    }
    let dispute = |n: u32, pi: &str, status: &str| {
        serde_json::json!({"id": format!("dp_{n}"), "object": "dispute", "payment_intent": pi, "charge": format!("ch_{n}"),
            "reason": "fraudulent", "status": status})
    };
    for (n, (e, pi)) in (1..).zip(&paid[..2]) {
        deliver_object(&app, &format!("evt_dispute_{n}"), "charge.dispute.created", dispute(n, pi, "needs_response"))
            .await;
        assert_eq!(app.status(*e).await, EcheanceStatus::Contestee);
    }
    deliver_object(&app, "evt_won", "charge.dispute.closed", dispute(1, &paid[0].1, "won")).await;
    deliver_object(&app, "evt_lost", "charge.dispute.closed", dispute(2, &paid[1].1, "lost")).await;
    assert_eq!(app.status(paid[0].0).await, EcheanceStatus::Payee, "won: the money stays");
    assert_eq!(app.status(paid[1].0).await, EcheanceStatus::Remboursee, "lost: the money went back");

    // Refunded on Stripe, then the bank could not send it back: each told by Stripe's own events.
    let (e, pi) = &paid[2];
    let refund = app.stripe.post("/v1/refunds", &[("payment_intent", pi)]).await;
    app.stripe.wait_for_delivery_attempt("charge.refunded", crate::helpers::PATIENCE).await;
    inbox_until(&app, *e, EcheanceStatus::Remboursee).await;
    app.stripe.fail_refund(refund["id"].as_str().expect("refund id"), true).await;
    app.stripe.wait_for_delivery_attempt("refund.failed", crate::helpers::PATIENCE).await;
    inbox_until(&app, *e, EcheanceStatus::Payee).await;
}

/// Runs the webhook worker until échéance `e` is `status` (events come a moment after Stripe makes them).
async fn inbox_until(app: &crate::helpers::TestApp, e: i64, status: EcheanceStatus) {
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    while tokio::time::Instant::now() < deadline {
        app.process_inbox().await;
        if app.status(e).await == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.status(e).await, status, "{:?}", app.inbox().await);
}

#[tokio::test]
async fn a_customers_own_payer_is_sent_on_session_and_the_schedules_charges_off_session() {
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let mine = app.echeance(&alice, 2_100, app.today()).await;
    let due = app.echeance(&alice, 2_200, app.today()).await;

    charge::charge(&app.state, id(mine), Trigger::Customer(alice.id)).await.expect("paid by the customer");
    charge::charge(&app.state, id(due), Trigger::DueDate).await.expect("paid by the schedule");

    let sent = app.stripe.sent("POST /v1/payment_intents");
    let flag = |amount: &str| {
        sent.iter()
            .find(|form| form.get("amount").map(String::as_str) == Some(amount))
            .and_then(|f| f.get("off_session").cloned())
    };
    assert_eq!(flag("2100").as_deref(), Some("false"), "the customer is on the page: customer-initiated");
    assert_eq!(flag("2200").as_deref(), Some("true"), "the due-date run: merchant-initiated");
    assert_eq!(app.status(mine).await, EcheanceStatus::Payee);
}

#[tokio::test]
async fn a_cancel_answered_500_for_is_read_back_or_asked_again_not_refused_for_a_day() {
    // Stripe cancels it then fails, or fails before doing anything: either way the 500 is saved for
    // the cancel's key and replayed to every retry for a day.
    for fault in [Fault::ErrorAfterExecution, Fault::ErrorBeforeExecution] {
        let app = spawn_app().await;
        let admin_user = app.admin("ada").await;
        let (e, pi) = waiting_for_3ds(&app).await;
        let done_before = matches!(fault, Fault::ErrorAfterExecution);
        app.stripe.inject("POST /v1/payment_intents/{id}/cancel", fault);

        let cancelled = admin::actions::cancel(&app.state, id(e), admin_user.id).await;

        assert_eq!(app.peer.get(&format!("/v1/payment_intents/{pi}")).await["status"], "canceled");
        assert!(matches!(cancelled, Ok(EcheanceStatus::Annulee)), "{cancelled:?}");
        assert_eq!(app.status(e).await, EcheanceStatus::Annulee);
        let mut keys: Vec<String> = app.stripe.keys().into_iter().filter(|k| k.contains("cancel")).collect();
        keys.dedup();
        // Read back when done; asked again under a key derived from the first when not.
        assert_eq!(keys.len(), if done_before { 1 } else { 2 }, "{keys:?}");
    }
}

#[tokio::test]
async fn cancelling_an_echeance_whose_declined_payment_intent_could_still_be_confirmed_stops_it_first() {
    use app::domain::Refusal;

    let app = spawn_app().await;
    let admin_user = app.admin("ada").await;

    // Declined, the PaymentIntent waits for another payment method: the customer's 3D Secure page, still
    // open, could confirm it — money on an « annulée ». Cancelled on Stripe first.
    let (e, pi) = declined(&app, "alice").await;
    let cancelled = admin::actions::cancel(&app.state, id(e), admin_user.id).await.expect("cancelled");
    assert_eq!(cancelled, EcheanceStatus::Annulee);
    let on_stripe = app.peer.get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(on_stripe["status"], "canceled", "it can no longer collect");

    // Confirmed again meanwhile and processing: refused, nothing changed; once the bank has failed it,
    // cancelled.
    let (e, pi) = declined(&app, "bob").await;
    app.stripe.set_processing(&pi, true);
    let refused = admin::actions::cancel(&app.state, id(e), admin_user.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::AlreadyInProgress))), "{refused:?}");
    assert_eq!(app.status(e).await, EcheanceStatus::Echouee);
    app.stripe.set_processing(&pi, false);
    let cancelled = admin::actions::cancel(&app.state, id(e), admin_user.id).await.expect("cancelled");
    assert_eq!(cancelled, EcheanceStatus::Annulee);
    assert_eq!(app.peer.get(&format!("/v1/payment_intents/{pi}")).await["status"], "canceled");
}

#[tokio::test]
async fn a_declined_payment_intent_paid_again_from_the_customers_page_is_recorded_never_cancelled_nor_charged_anew() {
    use app::domain::Refusal;

    const CREATE: &str = "POST /v1/payment_intents";
    let app = spawn_app().await;
    let admin_user = app.admin("ada").await;
    let pay_again = |pi: String| {
        let app = &app;
        async move {
            let card = app.payment_method(cards::OK).await;
            let paid = app.peer.post(&format!("/v1/payment_intents/{pi}/confirm"), &[("payment_method", &card)]).await;
            assert_eq!(paid["status"], "succeeded", "{paid}");
        }
    };
    let successes = |e: i64| {
        let app = &app;
        async move {
            let trail = app.audit(e).await;
            trail.iter().filter(|row| row.to_status == EcheanceStatus::Payee).count()
        }
    };

    // Declined; the customer's page, still open, pays it with another card, and the admin cancels the
    // échéance before Stripe's webhook is handled: Stripe's success is recorded, the cancel refused.
    let (cancelled, pi) = declined(&app, "alice").await;
    pay_again(pi.clone()).await;
    let refused = admin::actions::cancel(&app.state, id(cancelled), admin_user.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::PaidMeanwhile))), "{refused:?}");
    assert_eq!(app.status(cancelled).await, EcheanceStatus::Payee);
    assert_eq!(app.row(cancelled).await.current_payment_intent_id.as_deref(), Some(pi.as_str()));
    assert_eq!(app.peer.get(&format!("/v1/payment_intents/{pi}")).await["status"], "succeeded");

    // The same before the échéance is charged again: that success is recorded, nothing new is sent.
    let (charged_again, pi) = declined(&app, "bob").await;
    pay_again(pi.clone()).await;
    let creates = app.stripe.calls(CREATE);
    let charged = charge::charge(&app.state, id(charged_again), Trigger::Admin(admin_user.id)).await.expect("answered");
    assert_eq!(charged.status, EcheanceStatus::Payee);
    assert_eq!(charged.payment_intent_id.as_deref(), Some(pi.as_str()));
    assert_eq!(app.stripe.calls(CREATE), creates, "no second PaymentIntent");
    // The admin finds it by the PaymentIntent that paid (Stripe's dashboard names it), no longer its current one.
    let search = AdminFilter { q: Some(pi.clone()), ..Default::default() };
    let found = Filter::parse(&search).expect("filter").apply(echeance::Entity::find(), true);
    assert_eq!(
        found.all(&app.state.db).await.expect("search").iter().map(|row| row.id).collect::<Vec<_>>(),
        [charged_again]
    );
    // The dashboard, the échéance's page and the export name the PaymentIntent that paid.
    let page = admin::list(&app.state, &Filter::parse(&search).expect("filter"), 0).await.expect("page");
    assert_eq!(page.rows.iter().map(|row| row.payment_intent.as_deref()).collect::<Vec<_>>(), [Some(pi.as_str())]);
    let timeline = admin::timeline(&app.state, id(charged_again)).await.expect("timeline");
    assert_eq!(timeline.row.payment_intent.as_deref(), Some(pi.as_str()));
    let csv = admin::export_csv(&app.state, &Filter::parse(&search).expect("filter")).await.expect("export");
    assert!(csv.lines().nth(1).is_some_and(|line| line.ends_with(&format!(";{pi}"))), "{csv}");

    // Stripe's webhooks of both successes, handled at last, change nothing more.
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    let succeeded = |inbox: Vec<stripe_event::Model>| {
        inbox.into_iter().filter(|row| row.event_type == "payment_intent.succeeded").count()
    };
    while succeeded(app.inbox().await) < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(succeeded(app.inbox().await), 2, "both webhooks came");
    assert!(app.settle_inbox(crate::helpers::PATIENCE).await.is_empty());
    for e in [cancelled, charged_again] {
        assert_eq!(app.status(e).await, EcheanceStatus::Payee);
        assert_eq!(successes(e).await, 1, "paid once");
    }
}

#[tokio::test]
async fn an_attempt_left_unsent_by_a_silent_stripe_is_never_sent_over_an_earlier_payment_intent_that_paid() {
    const CANCEL: &str = "POST /v1/payment_intents/{id}/cancel";
    const READ: &str = "GET /v1/payment_intents/{id}";
    const CREATE: &str = "POST /v1/payment_intents";
    let app = spawn_app_by_hand().await;
    let admin_user = app.admin("ada").await;

    // Declined; the customer saves a card that pays; an admin charges again while Stripe answers
    // neither the declined PaymentIntent's cancel nor its read-back: « Stripe unavailable », the
    // new attempt claimed and never sent. Meanwhile the customer's page, still open, pays the
    // declined one — its success recorded from its webhook (alice), or not yet (bob).
    // The follow-up that finds the unsent attempt stops the earlier PaymentIntents first, as any
    // first send does, and gives it up: one payment, never a second PaymentIntent.
    // (Alice first: Stripe's webhooks are dated by the real clock, which the test's moves leave behind.)
    for (name, recorded) in [("alice", true), ("bob", false)] {
        let customer = app.customer(name, Some(cards::DECLINED)).await;
        let e = app.echeance(&customer, 2_000, app.today()).await;
        let first = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
        assert_eq!(first.status, EcheanceStatus::Echouee);
        let first = first.payment_intent_id.expect("the declined PaymentIntent");
        app.add_card(&customer, cards::OK).await;

        app.stripe.inject(READ, Fault::Delay(Duration::ZERO)); // read before the claim: not processing
        for _ in 0..4 {
            app.stripe.inject(CANCEL, Fault::Unavailable);
            app.stripe.inject(READ, Fault::Unavailable);
        }
        let creates = app.stripe.calls(CREATE);
        let silent = charge::charge(&app.state, id(e), Trigger::Admin(admin_user.id)).await;
        assert!(matches!(silent, Err(ServiceError::Unavailable)), "{silent:?}");
        assert_eq!(app.status(e).await, EcheanceStatus::EnCours, "attempt 2 claimed");
        assert_eq!(app.attempts(e).await.len(), 2);

        let card = app.payment_method(cards::OK).await;
        let paid = app.peer.post(&format!("/v1/payment_intents/{first}/confirm"), &[("payment_method", &card)]).await;
        assert_eq!(paid["status"], "succeeded", "{paid}");
        if recorded {
            success_stored(&app, &first).await;
            assert!(app.settle_inbox(crate::helpers::PATIENCE).await.is_empty());
            assert_eq!(app.status(e).await, EcheanceStatus::Payee, "paid by the first PaymentIntent");
        }

        app.clock.advance(Duration::from_secs(2 * 60));
        charge::resume(&app.state, 10).await.expect("resumed");
        assert_eq!(app.stripe.calls(CREATE), creates, "{name}: the unsent attempt is never sent");
        assert_eq!(app.status(e).await, EcheanceStatus::Payee, "{name}");
        let attempts = app.attempts(e).await;
        assert_eq!(attempts[0].payment_intent_id.as_deref(), Some(first.as_str()));
        assert_eq!(attempts[0].outcome, AttemptOutcome::Succeeded, "{name}");
        assert_eq!(attempts[1].payment_intent_id, None, "{name}");
        assert!(attempts[1].outcome.is_final(), "{name}: given up, {:?}", attempts[1].outcome);
        let succeeded = app.peer.payment_intents_of(e).await.into_iter().filter(|p| p["status"] == "succeeded").count();
        assert_eq!(succeeded, 1, "{name}: paid once");
    }
}

#[tokio::test]
async fn once_paid_every_other_payment_intent_that_could_still_collect_is_stopped_even_when_stripe_is_silent_at_first()
{
    const CANCEL: &str = "POST /v1/payment_intents/{id}/cancel";
    let app = spawn_app_by_hand().await;
    let admin_user = app.admin("ada").await;
    let status_of = |pi: String| stripe_status(&app, pi);
    let declined_then = |name: &'static str, card: &'static str| {
        let app = &app;
        async move {
            let customer = app.customer(name, Some(cards::DECLINED)).await;
            let e = app.echeance(&customer, 2_000, app.today()).await;
            let first = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
            let first = first.payment_intent_id.expect("the declined PaymentIntent");
            app.add_card(&customer, card).await;
            // The declined one's cancel gets no answer under both keys: the new attempt goes.
            for _ in 0..8 {
                app.stripe.inject(CANCEL, Fault::Unavailable);
            }
            let again = charge::charge(&app.state, id(e), Trigger::Admin(admin_user.id)).await.expect("sent");
            (e, first, again)
        }
    };

    // Alice: the new attempt waits for 3D Secure when her page, still open, pays the declined one.
    // Stripe answers neither cancel of the one awaiting 3D Secure then: it is asked again by the
    // follow-up worker under a key of its own try, and stopped.
    let (e, first, waiting) = declined_then("alice", cards::SCA_ALWAYS).await;
    assert_eq!(waiting.status, EcheanceStatus::EnAttente);
    let second = waiting.payment_intent_id.expect("the PaymentIntent awaiting 3D Secure");
    let card = app.payment_method(cards::OK).await;
    let paid = app.peer.post(&format!("/v1/payment_intents/{first}/confirm"), &[("payment_method", &card)]).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    success_stored(&app, &first).await;
    // Stripe fails both cancels of the one awaiting 3D Secure mid-way, and saves that 500 for each
    // key (replayed to them for a day): each news of it at this same moment asks again, under the
    // same keys.
    app.clock.freeze();
    app.stripe.inject(CANCEL, Fault::ErrorBeforeExecution);
    for _ in 0..3 {
        app.stripe.inject(CANCEL, Fault::Delay(Duration::ZERO)); // the first key's tries: its 500, replayed
    }
    app.stripe.inject(CANCEL, Fault::ErrorBeforeExecution);
    assert!(app.settle_inbox(crate::helpers::PATIENCE).await.is_empty());
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_eq!(status_of(second.clone()).await, "requires_action", "Stripe did not answer the cancel");
    // News of it after that (a late webhook, its page's check) keeps it to be stopped.
    let news = serde_json::json!({"id": "evt_late_news", "object": "event", "type": "payment_intent.requires_action",
        "created": app.state.now_ms() / 1000, "livemode": false,
        "data": {"object": app.peer.get(&format!("/v1/payment_intents/{second}")).await}});
    assert_eq!(app.deliver(&news).await, 200);
    app.process_inbox().await;
    assert!(app.attempts(e).await[1].next_check_at.is_some(), "left to the follow-up worker");
    app.clock.advance(Duration::from_secs(6 * 60));
    charge::resume(&app.state, 10).await.expect("resumed");
    assert_eq!(status_of(second).await, "canceled", "the link's page can no longer pay it");
    let attempts = app.attempts(e).await;
    assert!(attempts[1].stopped_at.is_some() && attempts[1].next_check_at.is_none(), "{:?}", attempts[1]);
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_eq!(charge::resume(&app.state, 10).await.expect("resumed"), 0, "nothing left to stop");

    // Bob: the new attempt pays; the declined one, which Stripe did not cancel, is stopped then.
    let (e, first, paid) = declined_then("bob", cards::OK).await;
    assert_eq!(paid.status, EcheanceStatus::Payee);
    assert_eq!(status_of(first).await, "canceled", "his open page can no longer pay it a second time");
    assert!(app.attempts(e).await[0].stopped_at.is_some());
}

#[tokio::test]
async fn a_cancel_of_a_declined_payment_intent_reads_back_a_5xx_and_never_calls_a_refusal_a_cancel() {
    use app::domain::Refusal;

    const CANCEL: &str = "POST /v1/payment_intents/{id}/cancel";
    let app = spawn_app().await;
    let admin_user = app.admin("ada").await;

    // Stripe cancels it, then answers 500 (saved for the key, replayed for a day): read back, cancelled.
    let (e, pi) = declined(&app, "alice").await;
    app.stripe.inject(CANCEL, Fault::ErrorAfterExecution);
    let cancelled = admin::actions::cancel(&app.state, id(e), admin_user.id).await.expect("cancelled");
    assert_eq!(cancelled, EcheanceStatus::Annulee, "not refused as « Stripe unavailable » for a day");
    assert_eq!(app.peer.get(&format!("/v1/payment_intents/{pi}")).await["status"], "canceled");

    // Refused under both keys while the customer's page confirmed it again (each refusal saved for its
    // key), then the bank failed it: both keys replay their refusals, and it is cancellable — it could
    // collect. Refused, never « annulée » with a PaymentIntent that can still collect.
    let (e, pi) = declined(&app, "bob").await;
    app.stripe.set_processing(&pi, true);
    let refused = admin::actions::cancel(&app.state, id(e), admin_user.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::AlreadyInProgress))), "{refused:?}");
    app.stripe.set_processing(&pi, false);
    app.stripe.inject(CANCEL, Fault::Delay(Duration::ZERO));
    app.stripe.inject(CANCEL, Fault::StartsProcessing);
    let refused = admin::actions::cancel(&app.state, id(e), admin_user.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::AlreadyInProgress))), "{refused:?}");
    app.stripe.set_processing(&pi, false);
    let refused = admin::actions::cancel(&app.state, id(e), admin_user.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::CancelNotConfirmed))), "{refused:?}");
    assert_eq!(app.status(e).await, EcheanceStatus::Echouee, "not cancelled while it can collect");

    // Stripe fails under both keys (5xx, before doing anything): no answer, not a refusal — the cancel
    // is unavailable, to try again, the échéance as it was.
    let (e, _) = declined(&app, "carol").await;
    for _ in 0..8 {
        app.stripe.inject(CANCEL, Fault::Unavailable);
    }
    let unavailable = admin::actions::cancel(&app.state, id(e), admin_user.id).await;
    assert!(matches!(unavailable, Err(ServiceError::Unavailable)), "{unavailable:?}");
    assert_eq!(app.status(e).await, EcheanceStatus::Echouee);
}

#[tokio::test]
async fn every_earlier_payment_intent_that_could_still_collect_is_stopped_and_each_only_once() {
    const CANCEL: &str = "POST /v1/payment_intents/{id}/cancel";
    let app = spawn_app().await;
    let admin_user = app.admin("ada").await;
    let status_of = |pi: String| stripe_status(&app, pi);

    // Declined; charged again while Stripe fails the first PaymentIntent's cancel under both keys
    // (no answer): the new attempt goes, declined too, and the first one could still collect from
    // the customer's page. Cancelling the échéance stops both, not only the latest.
    let (e, first) = declined(&app, "alice").await;
    for _ in 0..8 {
        app.stripe.inject(CANCEL, Fault::Unavailable);
    }
    let again = charge::charge(&app.state, id(e), Trigger::Admin(admin_user.id)).await.expect("sent");
    assert_eq!(again.status, EcheanceStatus::Echouee);
    let second = again.payment_intent_id.expect("the second declined PaymentIntent");
    assert_ne!(first, second);
    assert_eq!(status_of(first.clone()).await, "requires_payment_method", "not stopped yet");
    let cancels = app.stripe.calls(CANCEL);
    let cancelled = admin::actions::cancel(&app.state, id(e), admin_user.id).await.expect("cancelled");
    assert_eq!(cancelled, EcheanceStatus::Annulee);
    assert_eq!(status_of(first).await, "canceled", "the older one can no longer collect");
    assert_eq!(status_of(second).await, "canceled");
    assert_eq!(app.stripe.calls(CANCEL) - cancels, 2, "each asked once");

    // A PaymentIntent stopped once is not asked again by the next charges.
    let (e, first) = declined(&app, "bob").await;
    for _ in 0..2 {
        let cancels = app.stripe.calls(CANCEL);
        let again = charge::charge(&app.state, id(e), Trigger::Admin(admin_user.id)).await.expect("sent");
        assert_eq!(again.status, EcheanceStatus::Echouee);
        assert_eq!(app.stripe.calls(CANCEL) - cancels, 1, "only the latest declined one is cancelled");
    }
    assert_eq!(status_of(first).await, "canceled");
    let stopped = app.attempts(e).await.iter().filter(|a| a.stopped_at.is_some()).count();
    assert_eq!(stopped, 2, "both earlier attempts say they were stopped");

    // Declined, then charged again with a card that needs 3D Secure while the declined one's cancel
    // got no answer: cancelling the échéance waiting for 3D Secure stops the older one too.
    let carol = app.customer("carol", Some(cards::DECLINED)).await;
    let e = app.echeance(&carol, 2_000, app.today()).await;
    let first = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent").payment_intent_id;
    let first = first.expect("the declined PaymentIntent");
    app.add_card(&carol, cards::SCA_ALWAYS).await;
    for _ in 0..8 {
        app.stripe.inject(CANCEL, Fault::Unavailable);
    }
    let waiting = charge::charge(&app.state, id(e), Trigger::Admin(admin_user.id)).await.expect("sent");
    assert_eq!(waiting.status, EcheanceStatus::EnAttente);
    let second = waiting.payment_intent_id.expect("the PaymentIntent waiting for 3D Secure");
    assert_eq!(status_of(first.clone()).await, "requires_payment_method", "not stopped yet");
    let cancelled = admin::actions::cancel(&app.state, id(e), admin_user.id).await.expect("cancelled");
    assert_eq!(cancelled, EcheanceStatus::Annulee);
    assert_eq!(status_of(first).await, "canceled", "the older declined one can no longer collect");
    assert_eq!(status_of(second).await, "canceled");
}
