//! Charging an échéance: success, lost responses, Stripe errors, throttling,
//! declines, SCA in both shapes, 3D Secure completed or cancelled.

use app::domain::{AttemptOutcome, EcheanceId, EcheanceStatus, EmailKind, Refusal, ThreeDsStep};
use app::ssr::services::authenticate::{self, Access};
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::error::ServiceError;
use std::sync::Arc;
use std::time::Duration;

use crate::helpers::{Delivery, Fault, Options, cards, spawn_app, spawn_app_by_hand, spawn_on};

const CREATE: &str = "POST /v1/payment_intents";

fn id(n: i64) -> EcheanceId {
    EcheanceId::new(n).expect("positive id")
}

/// Carol, whose card asks for 3D Secure, with an échéance of 300 € charged on its
/// due date and waiting for her on its PaymentIntent.
async fn waiting_for_3ds() -> (crate::helpers::TestApp, crate::helpers::Customer, i64, String) {
    let app = spawn_app().await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 30_000, app.today()).await;
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    let pi = app.row(e).await.current_payment_intent_id.expect("PaymentIntent");
    (app, carol, e, pi)
}

/// Carol opens the page of `pi`, her 3D Secure fails (or she cancels it), and the
/// server asks Stripe: the status it records.
async fn fail_3ds(app: &crate::helpers::TestApp, carol: &crate::helpers::Customer, pi: &str) -> EcheanceStatus {
    let secret = authenticate::prepare(&app.state, pi, &Access::User(carol.id), false)
        .await
        .expect("page")
        .client_secret
        .expect("secret");
    app.stripe.authenticate(pi, &secret, false).await;
    authenticate::confirm(&app.state, pi, &Access::User(carol.id)).await.expect("confirmed")
}

#[tokio::test]
async fn a_saved_card_is_charged_once_and_the_echeance_is_paid_with_a_receipt_queued() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 12_500, app.today()).await;

    let result = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("charged");

    assert_eq!(result.status, EcheanceStatus::Payee);
    let pis = app.peer.payment_intents_of(e).await;
    assert_eq!(pis.len(), 1);
    assert_eq!(pis[0]["amount"], 12_500);
    assert_eq!(pis[0]["metadata"]["attempt"], "1");
    let attempts = app.attempts(e).await;
    assert_eq!(attempts[0].outcome, AttemptOutcome::Succeeded);
    assert!(attempts[0].idempotency_key.ends_with(&format!("-e{e}-a1-charge")), "{}", attempts[0].idempotency_key);
    let kinds: Vec<EmailKind> = app.emails(e).await.into_iter().map(|m| m.kind).collect();
    assert_eq!(kinds, vec![EmailKind::PaymentReceived]);
}

#[tokio::test]
async fn a_response_lost_after_stripe_charged_is_retried_with_the_same_key_and_charges_once() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 4_000, app.today()).await;
    app.stripe.inject(CREATE, Fault::DropResponse);

    let result = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("charged");

    assert_eq!(result.status, EcheanceStatus::Payee);
    assert_eq!(app.stripe.calls(CREATE), 2, "the retry reached Stripe");
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1, "exactly one PaymentIntent");
    let succeeded: Vec<_> =
        app.peer.payment_intents_of(e).await.into_iter().filter(|p| p["status"] == "succeeded").collect();
    assert_eq!(succeeded.len(), 1);
}

#[tokio::test]
async fn throttling_backs_off_and_retries_with_the_same_key() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 4_000, app.today()).await;
    app.stripe.inject(CREATE, Fault::RateLimited);
    app.stripe.inject(CREATE, Fault::RateLimited);

    let result = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("charged");

    assert_eq!(result.status, EcheanceStatus::Payee);
    assert_eq!(app.stripe.calls(CREATE), 3);
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1);
}

#[tokio::test]
async fn an_error_saved_by_stripe_leaves_the_outcome_unknown_until_the_reconciler_finds_the_payment_intent() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 4_000, app.today()).await;
    app.stripe.inject(CREATE, Fault::ErrorAfterExecution);
    // The webhook would settle it too; here the reconciler must do it alone.
    app.stripe.set_delivery(Delivery::Drop);

    let result = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("sent");

    // Every retry with the same key replays the saved 500: the outcome stays unknown.
    assert_eq!(result.status, EcheanceStatus::EnCours);
    assert_eq!(app.attempts(e).await[0].outcome, AttemptOutcome::Unknown);
    let options = app::ssr::services::reconcile::Options {
        since: Duration::from_secs(3600),
        dry_run: false,
        trigger: app::domain::Actor::CommandLine,
    };
    let report = app::ssr::services::reconcile::run(&app.state, &options, &app::ssr::services::reconcile::Silent)
        .await
        .expect("reconciled");
    assert_eq!(report.counts.fixed, 1, "{report:?}");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1, "no second charge");
}

#[tokio::test]
async fn resume_finds_the_payment_intent_behind_an_error_stripe_saved_instead_of_replaying_it_for_a_day() {
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 4_000, app.today()).await;
    app.stripe.inject(CREATE, Fault::ErrorAfterExecution);
    app.stripe.set_delivery(Delivery::Drop);
    let result = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(result.status, EcheanceStatus::EnCours);

    // Minutes later, well within the key's retention: the re-send replays the same 500.
    app.clock.advance(Duration::from_secs(10 * 60));
    charge::resume(&app.state, 10).await.expect("resumed");

    assert_eq!(app.status(e).await, EcheanceStatus::Payee, "found on Stripe by our metadata and the customer");
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1, "no second charge");
    assert_eq!(app.attempts(e).await[0].outcome, AttemptOutcome::Succeeded);
}

#[tokio::test]
async fn a_declined_card_fails_with_an_automatic_retry_scheduled_and_an_email_queued() {
    let app = spawn_app().await;
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let e = app.echeance(&bob, 9_900, app.today()).await;

    let result = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");

    assert_eq!(result.status, EcheanceStatus::Echouee);
    let row = app.row(e).await;
    assert_eq!(row.soft_declines, 1);
    assert!(row.next_retry_at.is_some_and(|t| t > app.state.now_ms()), "a retry is scheduled");
    let attempt = &app.attempts(e).await[0];
    assert_eq!(attempt.outcome, AttemptOutcome::Declined);
    assert_eq!(attempt.error_code.as_deref(), Some("card_declined"));
    let kinds: Vec<EmailKind> = app.emails(e).await.into_iter().map(|m| m.kind).collect();
    assert_eq!(kinds, vec![EmailKind::PaymentFailed]);
}

#[tokio::test]
async fn a_payment_refused_while_its_echeance_waits_for_its_customer_asks_stripe_nothing() {
    const READ: &str = "GET /v1/payment_intents/{id}";
    let app = spawn_app().await;
    let admin = app.admin("ada").await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 30_000, app.today()).await;
    let waiting = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(waiting.status, EcheanceStatus::EnAttente);
    let (reads, calls) = (app.stripe.calls(READ), app.stripe.keys().len());
    for trigger in [Trigger::Customer(carol.id), Trigger::Customer(carol.id), Trigger::Admin(admin.id)] {
        let refused = charge::charge(&app.state, id(e), trigger).await;
        assert!(matches!(refused, Err(ServiceError::Refused(Refusal::AwaitingCustomer))), "{refused:?}");
    }
    assert_eq!(app.stripe.calls(READ), reads, "its PaymentIntent is not read for a refused click");
    assert_eq!(app.stripe.keys().len(), calls, "nothing sent");
    assert_eq!(app.attempts(e).await.len(), 1);
}

#[tokio::test]
async fn sca_off_session_as_stripe_answers_it_waits_for_the_customer_with_the_email_queued() {
    let app = spawn_app().await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 30_000, app.today()).await;

    let result = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");

    assert_eq!(result.status, EcheanceStatus::EnAttente);
    let attempt = &app.attempts(e).await[0];
    assert_eq!(attempt.outcome, AttemptOutcome::RequiresAction);
    assert_eq!(attempt.error_code.as_deref(), Some("authentication_required"));
    assert!(attempt.client_secret.is_some(), "the client secret is kept for the owner");
    assert_eq!(app.row(e).await.current_payment_intent_id, attempt.payment_intent_id);
    let emails = app.emails(e).await;
    let sca = emails.iter().find(|m| m.kind == EmailKind::AuthenticationRequired).expect("SCA email queued");
    let pi = attempt.payment_intent_id.clone().expect("PaymentIntent kept");
    assert!(sca.context.contains(&format!("/payment/authenticate/{pi}?token=")), "{}", sca.context);
    // The link stops working at a time of its last day: the email gives both, in the merchant's time zone.
    use chrono::Timelike as _;
    let ttl = app.state.settings.recovery_link_ttl;
    let expires = (app.state.clock.now() + chrono::Duration::from_std(ttl).expect("ttl"))
        .with_timezone(&app.state.settings.schedule_timezone);
    let context: serde_json::Value = serde_json::from_str(&sca.context).expect("json");
    let said = context["expires_on"].as_str().expect("expires_on").to_owned();
    assert!(said.starts_with(&format!("{} à ", expires.format("%d/%m/%Y"))), "{said}");
    let minute = |t: chrono::NaiveTime| t.hour() * 60 + t.minute();
    let shown = chrono::NaiveTime::parse_from_str(said.rsplit(' ').next().expect("time"), "%H:%M").expect("HH:MM");
    assert!(minute(expires.time()).abs_diff(minute(shown)) <= 1, "{said} for {expires}");
    assert!(
        emails.iter().any(|m| m.kind == EmailKind::Reminder && m.send_after > app.state.now_ms()),
        "a reminder is scheduled"
    );
}

#[tokio::test]
async fn sca_in_the_peers_requires_action_shape_is_the_same_business_event() {
    let app = spawn_app().await;
    app.stripe.set_sca_as_402(false);
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 30_000, app.today()).await;

    let result = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");

    assert_eq!(result.status, EcheanceStatus::EnAttente);
    assert_eq!(app.attempts(e).await[0].outcome, AttemptOutcome::RequiresAction);
    assert_eq!(app.emails(e).await.iter().filter(|m| m.kind == EmailKind::AuthenticationRequired).count(), 1);
}

#[tokio::test]
async fn three_d_secure_completed_then_confirmed_with_stripe_is_paid() {
    let (app, carol, e, pi) = waiting_for_3ds().await;

    // As Stripe keeps it after the off-session 402: waiting for a payment method, not for 3DS.
    let seen = app.state.gateway.retrieve_payment_intent(&pi).await.expect("read");
    assert_eq!(seen.raw_status, "requires_payment_method");
    assert_eq!(seen.last_payment_error.and_then(|e| e.code).as_deref(), Some("authentication_required"));

    let page = authenticate::prepare(&app.state, &pi, &Access::User(carol.id), false).await.expect("page");
    let secret = page.client_secret.expect("the owner gets the client secret");
    assert!(!page.can_retry, "Stripe.js confirms it as it is: nothing to re-arm");
    let card = app.attempts(e).await[0].payment_method_id.clone();
    assert_eq!(page.step, Some(ThreeDsStep::Confirm { payment_method: card }), "waiting for a payment method");
    app.stripe.authenticate(&pi, &secret, true).await;
    let status = authenticate::confirm(&app.state, &pi, &Access::User(carol.id)).await.expect("confirmed");

    assert_eq!(status, EcheanceStatus::Payee);
    assert_eq!(app.attempts(e).await[0].rearm_count, 0);
    assert_eq!(app.stripe.calls("POST /v1/payment_intents/{id}/confirm"), 0, "no confirmation spent server-side");
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1, "the same PaymentIntent was completed");
}

#[tokio::test]
async fn three_d_secure_cancelled_stays_en_attente_and_the_same_payment_intent_can_be_retried() {
    let (app, carol, e, pi) = waiting_for_3ds().await;
    let status = fail_3ds(&app, &carol, &pi).await;
    assert_eq!(status, EcheanceStatus::EnAttente, "a cancelled 3DS leaves the échéance waiting");

    // Opening the page again (a link scanner, a reload) offers a retry but changes nothing at Stripe.
    let reopened = authenticate::prepare(&app.state, &pi, &Access::User(carol.id), false).await.expect("page");
    assert!(reopened.can_retry && reopened.client_secret.is_none());
    assert_eq!(app.attempts(e).await[0].rearm_count, 0);

    // Retry: the page re-arms the same PaymentIntent with the saved card, confirmed once, server-side;
    // Stripe.js then runs the bank's 3DS on it without confirming it a second time.
    let retry = authenticate::prepare(&app.state, &pi, &Access::User(carol.id), true).await.expect("page again");
    assert_eq!(retry.step, Some(ThreeDsStep::HandleAction));
    assert_eq!(app.stripe.calls("POST /v1/payment_intents/{id}/confirm"), 1, "the re-arm's confirmation");
    let secret = retry.client_secret.expect("retry offered");
    app.stripe.authenticate(&pi, &secret, true).await;
    assert_eq!(
        authenticate::confirm(&app.state, &pi, &Access::User(carol.id)).await.expect("confirmed"),
        EcheanceStatus::Payee
    );
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1, "never a second PaymentIntent for the attempt");
    assert_eq!(app.attempts(e).await.len(), 1);
}

#[tokio::test]
async fn a_card_saved_while_an_echeance_waits_for_3d_secure_is_the_one_its_page_pays_with() {
    let (app, carol, e, pi) = waiting_for_3ds().await;
    let old_card = app.attempts(e).await[0].payment_method_id.clone();
    let status = fail_3ds(&app, &carol, &pi).await;
    assert_eq!(status, EcheanceStatus::EnAttente, "3D Secure failed on the old card");

    // Carol replaces her card with one her bank lets through without 3D Secure.
    let new_card = app.add_card(&carol, cards::OK).await;
    let page = authenticate::prepare(&app.state, &pi, &Access::User(carol.id), false).await.expect("page");
    assert!(page.can_retry && page.client_secret.is_none(), "nothing sent before she asks");
    let retry = authenticate::prepare(&app.state, &pi, &Access::User(carol.id), true).await.expect("retried");

    assert_eq!(retry.status, EcheanceStatus::Payee, "paid with the new card");
    let on_stripe = app.peer.get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(on_stripe["payment_method"].as_str(), Some(new_card.as_str()), "{on_stripe}");
    assert_ne!(new_card, old_card);
    assert_eq!(app.attempts(e).await[0].payment_method_id, new_card, "the receipt names the card that paid");
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1, "the same PaymentIntent");
}

#[tokio::test]
async fn the_3d_secure_page_offers_the_card_the_customer_has_now() {
    let (app, carol, _, pi) = waiting_for_3ds().await;
    let new_card = app.add_card(&carol, cards::SCA_ALWAYS).await;

    let page = authenticate::prepare(&app.state, &pi, &Access::User(carol.id), false).await.expect("page");

    assert_eq!(
        page.step,
        Some(ThreeDsStep::Confirm { payment_method: new_card }),
        "Stripe.js confirms with the new card"
    );
    assert!(page.client_secret.is_some());
}

#[tokio::test]
async fn the_browser_saying_done_is_not_enough_only_stripe_status_counts() {
    let (app, carol, _, pi) = waiting_for_3ds().await;

    // No authentication happened on Stripe; a confirm call must not mark anything paid.
    let status = authenticate::confirm(&app.state, &pi, &Access::User(carol.id)).await.expect("answered");
    assert_eq!(status, EcheanceStatus::EnAttente);
}

#[tokio::test]
async fn a_payment_its_bank_still_processes_after_3d_secure_is_under_way_not_waiting_for_its_customer() {
    let app = spawn_app_by_hand().await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 30_000, app.today()).await;
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    let pi = app.row(e).await.current_payment_intent_id.expect("PaymentIntent");
    let page = authenticate::prepare(&app.state, &pi, &Access::User(carol.id), false).await.expect("page");
    // Authenticated in the page; the bank has not settled it yet (as Stripe shows it: `processing`,
    // no success event sent).
    app.stripe.set_delivery(Delivery::Drop);
    app.stripe.authenticate(&pi, &page.client_secret.expect("secret"), true).await;
    app.stripe.set_processing(&pi, true);

    let status = authenticate::confirm(&app.state, &pi, &Access::User(carol.id)).await.expect("asked");
    assert_eq!(status, EcheanceStatus::EnCours, "no longer « en attente » of its customer");
    assert_eq!(app.attempts(e).await[0].outcome, AttemptOutcome::Processing);
    let reopened = authenticate::prepare(&app.state, &pi, &Access::User(carol.id), true).await.expect("page");
    assert_eq!(reopened.status, EcheanceStatus::EnCours);
    assert!(!reopened.can_retry && reopened.client_secret.is_none(), "nothing to authenticate again");
    assert_eq!(app.stripe.calls("POST /v1/payment_intents/{id}/confirm"), 0, "no re-arm of a payment under way");
    let refused = charge::charge(&app.state, id(e), Trigger::Customer(carol.id)).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::AlreadyInProgress))), "{refused:?}");
    // The reminder to authenticate (three days on) does not go.
    app.clock.advance(Duration::from_secs(4 * 24 * 3600));
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("outbox");
    let reminder = app.emails(e).await.into_iter().find(|m| m.kind == EmailKind::Reminder).expect("queued");
    assert_eq!(reminder.status.as_str(), "cancelled");

    // The bank settles it: the follow-up asks Stripe and records the payment, once.
    app.stripe.set_processing(&pi, false);
    charge::resume(&app.state, 10).await.expect("resumed");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1);
}

#[tokio::test]
async fn another_customer_cannot_charge_nor_open_the_3ds_page_of_an_echeance() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::SCA_ALWAYS)).await;
    let mallory = app.customer("mallory", Some(cards::OK)).await;
    let e = app.echeance(&alice, 1_000, app.today()).await;

    let refused = charge::charge(&app.state, id(e), Trigger::Customer(mallory.id)).await;
    assert!(matches!(refused, Err(ServiceError::NotFound)), "{refused:?}");
    assert!(app.peer.payment_intents_of(e).await.is_empty());

    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    let pi = app.row(e).await.current_payment_intent_id.expect("PaymentIntent");
    let page = authenticate::prepare(&app.state, &pi, &Access::User(mallory.id), false).await;
    assert!(matches!(page, Err(ServiceError::NotFound)), "nothing about the PaymentIntent leaks");
    let forged = authenticate::prepare(&app.state, &pi, &Access::Token("9999999999.forged".to_owned()), false).await;
    assert!(matches!(forged, Err(ServiceError::InvalidLink)));
}

#[tokio::test]
async fn an_unknown_attempt_past_the_key_retention_is_looked_up_before_anything_is_sent() {
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 2_000, app.today()).await;
    app.stripe.set_delivery(Delivery::Drop);
    app.stripe.inject(CREATE, Fault::DropResponse);
    app.stripe.inject(CREATE, Fault::DropResponse);
    app.stripe.inject(CREATE, Fault::DropResponse);
    app.stripe.inject(CREATE, Fault::DropResponse);
    let result = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("sent");
    assert_eq!(result.status, EcheanceStatus::EnCours, "every response was lost");
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1, "Stripe executed the first request");

    // A day later Stripe has pruned the key; re-sending would charge again.
    app.stripe.prune_keys();
    app.clock.advance(Duration::from_secs(25 * 3600));
    let creates_before = app.stripe.calls(CREATE);
    charge::resume(&app.state, 10).await.expect("resumed");

    assert_eq!(app.stripe.calls(CREATE), creates_before, "nothing re-sent");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1);
}

#[tokio::test]
async fn an_attempt_that_never_reached_stripe_is_given_up_after_the_key_retention_and_the_echeance_is_payable_again() {
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 2_000, app.today()).await;
    for _ in 0..4 {
        app.stripe.inject(CREATE, Fault::Unavailable);
    }
    let result = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("sent");
    assert_eq!(result.status, EcheanceStatus::EnCours);

    app.clock.advance(Duration::from_secs(25 * 3600));
    charge::resume(&app.state, 10).await.expect("resumed");

    assert_eq!(app.status(e).await, EcheanceStatus::APayer);
    assert_eq!(app.attempts(e).await[0].outcome, AttemptOutcome::Canceled);
    assert!(app.peer.payment_intents_of(e).await.is_empty());
    let again = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("charged");
    assert_eq!(again.status, EcheanceStatus::Payee);
    assert_eq!(again.attempt_no.get(), 2, "a new attempt, with a new key");
}

#[tokio::test]
async fn a_hundred_concurrent_pay_requests_make_one_payment_intent() {
    let app = Arc::new(spawn_app().await);
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 5_000, app.today()).await;
    let client = app.browser();
    app.login(&client, &alice).await;

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (app, client) = (app.clone(), client.clone());
        tasks.spawn(async move { app.pay(&client, e).await.0 });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.expect("task"));
    }

    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "one charge accepted: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "the others are refused as already in progress: {statuses:?}"
    );
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1);
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
}

#[tokio::test]
async fn a_scheduled_charge_rechecks_under_the_lock_that_the_echeance_is_still_due() {
    let app = spawn_app().await;
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let e = app.charged_today(&bob, 1_000).await;
    assert_eq!(app.status(e).await, EcheanceStatus::Echouee);

    // A run that loaded it as "due" before the decline must not charge it again now.
    let again = charge::charge(&app.state, id(e), Trigger::DueDate).await;
    assert!(matches!(again, Err(ServiceError::Refused(_))), "{again:?}");
    let early_retry = charge::charge(&app.state, id(e), Trigger::AutoRetry).await;
    assert!(matches!(early_retry, Err(ServiceError::Refused(_))), "the retry time has not come: {early_retry:?}");
    assert_eq!(app.attempts(e).await.len(), 1);
}

#[tokio::test]
async fn a_charge_stripe_refuses_says_so_and_leaves_the_echeance_payable_not_processing() {
    use app::domain::{EmailKind, Refusal};
    use app::ssr::entities::payment_method;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 12_500, app.today()).await;
    // The card Stripe once had is gone there (a reset Stripe account, a restarted peer).
    payment_method::Entity::update_many()
        .col_expr(payment_method::Column::StripePaymentMethodId, Expr::value("pm_unknown_to_stripe"))
        .filter(payment_method::Column::UserId.eq(alice.id.get()))
        .exec(&app.state.db)
        .await
        .expect("card forgotten");

    let refused = charge::charge(&app.state, id(e), Trigger::DueDate).await;

    assert!(
        matches!(refused, Err(ServiceError::Refused(Refusal::UnknownToStripe | Refusal::StripeRefused))),
        "{refused:?}"
    );
    // Sending the same again would be refused again: a final failure, not « à payer » to retry daily.
    assert_eq!(app.status(e).await, EcheanceStatus::EchoueeDefinitive, "failed for good, not en cours");
    let attempt = &app.attempts(e).await[0];
    assert_eq!(attempt.outcome, AttemptOutcome::Declined);
    assert!(attempt.error_code.is_some() || attempt.error_message.is_some(), "Stripe's reason kept for the dashboard");
    let emails = app.emails(e).await;
    assert_eq!(emails.iter().filter(|m| m.kind == EmailKind::PaymentFailed).count(), 1, "the customer is told");
    let run = app::ssr::services::due::charge_due(&app.state, app.today(), 100).await.expect("due-date run");
    assert_eq!(app.attempts(e).await.len(), 1, "the due-date run does not send it again ({run:?})");
    assert!(app.status(e).await.is_payable(), "the customer may still pay it, with another card");
    assert!(app.peer.payment_intents_of(e).await.is_empty(), "nothing was created on Stripe");
}

#[tokio::test]
async fn a_resent_charge_stripe_refuses_is_final_once_stripe_shows_no_payment_intent_not_en_cours_for_a_day() {
    use app::ssr::entities::charge_attempt;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 2_000, app.today()).await;
    // The 06:00 run's request never reaches Stripe: outcome unknown, « en cours ».
    for _ in 0..4 {
        app.stripe.inject(CREATE, Fault::Unavailable);
    }
    let unknown = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(unknown.status, EcheanceStatus::EnCours);
    // Meanwhile the card went away on Stripe: the re-send with the same key is refused (400).
    charge_attempt::Entity::update_many()
        .col_expr(charge_attempt::Column::PaymentMethodId, Expr::value("pm_unknown_to_stripe"))
        .filter(charge_attempt::Column::EcheanceId.eq(e))
        .exec(&app.state.db)
        .await
        .expect("card gone");

    app.clock.advance(Duration::from_secs(600));
    charge::resume(&app.state, 10).await.expect("resumed");

    // Stripe would have replayed the first request's answer had it run, and the customer's PaymentIntents show
    // none of this attempt: a final refusal now (it stayed « en cours » for the key's day, re-sent every 5 min).
    assert_eq!(app.status(e).await, EcheanceStatus::EchoueeDefinitive);
    assert_eq!(app.attempts(e).await[0].outcome, AttemptOutcome::Declined);
    assert!(app.peer.payment_intents_of(e).await.is_empty());
    let creates = app.stripe.calls(CREATE);
    app.clock.advance(Duration::from_secs(600));
    charge::resume(&app.state, 10).await.expect("resumed");
    assert_eq!(app.stripe.calls(CREATE), creates, "not re-sent again");
}

#[tokio::test]
async fn a_refusal_carrying_a_payment_intent_links_it_and_is_what_that_payment_intent_says() {
    const CANCEL: &str = "POST /v1/payment_intents/{id}/cancel";
    let app = spawn_app().await;
    let admin = app.admin("root").await;

    // Refused at its confirmation, the PaymentIntent declined: a decline, linked to the attempt (it was a
    // final refusal with no PaymentIntent, left for a webhook or the reconciler to find), and cancelled
    // before the next attempt.
    let alice = app.customer("alice", Some(cards::DECLINED)).await;
    let e = app.echeance(&alice, 2_000, app.today()).await;
    app.stripe.inject(CREATE, Fault::RejectCarryingIntent);
    let declined = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(declined.status, EcheanceStatus::Echouee, "a decline, to retry, as the PaymentIntent says");
    let on_stripe = app.peer.payment_intents_of(e).await;
    assert_eq!(on_stripe.len(), 1);
    let first = app.attempts(e).await[0].clone();
    assert_eq!(first.outcome, AttemptOutcome::Declined);
    assert_eq!(first.payment_intent_id.as_deref(), on_stripe[0]["id"].as_str(), "the PaymentIntent is linked");
    app.add_card(&alice, cards::OK).await;
    let paid = charge::charge(&app.state, id(e), Trigger::Admin(admin.id)).await.expect("charged");
    assert_eq!(paid.status, EcheanceStatus::Payee);
    assert_eq!(app.stripe.calls(CANCEL), 1, "the refused attempt's PaymentIntent was cancelled first");

    // Refused, yet the PaymentIntent it carries succeeded: paid, as Stripe says (the customer was told
    // « refusé » while charged, until a webhook came).
    let bob = app.customer("bob", Some(cards::OK)).await;
    let e = app.echeance(&bob, 2_000, app.today()).await;
    app.stripe.inject(CREATE, Fault::RejectCarryingIntent);
    let paid = charge::charge(&app.state, id(e), Trigger::Customer(bob.id)).await.expect("paid");
    assert_eq!(paid.status, EcheanceStatus::Payee);
    assert_eq!(app.attempts(e).await[0].outcome, AttemptOutcome::Succeeded);

    // Refused at its confirmation, the PaymentIntent never confirmed (`requires_confirmation`): a refusal,
    // linked, not « en attente » of a 3D Secure Stripe never asked for.
    let carol = app.customer("carol", Some(cards::OK)).await;
    let e = app.echeance(&carol, 2_000, app.today()).await;
    app.stripe.inject(CREATE, Fault::RejectAtConfirmation);
    let refused = charge::charge(&app.state, id(e), Trigger::DueDate).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::StripeRefused))), "{refused:?}");
    let on_stripe = app.peer.payment_intents_of(e).await;
    assert_eq!(on_stripe.len(), 1);
    assert_eq!(on_stripe[0]["status"], "requires_confirmation");
    assert_eq!(app.status(e).await, EcheanceStatus::EchoueeDefinitive);
    assert_eq!(app.attempts(e).await[0].payment_intent_id.as_deref(), on_stripe[0]["id"].as_str());
    let paid = charge::charge(&app.state, id(e), Trigger::Admin(admin.id)).await.expect("charged");
    assert_eq!(paid.status, EcheanceStatus::Payee);
    let first = app.peer.get(&format!("/v1/payment_intents/{}", on_stripe[0]["id"].as_str().expect("id"))).await;
    assert_eq!(first["status"], "canceled", "cancelled before the new attempt");
}

#[tokio::test]
async fn nothing_new_is_sent_while_an_earlier_payment_intent_of_the_echeance_is_processing() {
    const CANCEL: &str = "POST /v1/payment_intents/{id}/cancel";
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let alice = app.customer("alice", Some(cards::DECLINED)).await;
    let (e, retry_at) = app.declined_today(&alice, 2_000).await;
    let retry_at = Some(retry_at);
    let first = app.row(e).await.current_payment_intent_id.expect("the declined PaymentIntent");
    app.add_card(&alice, cards::OK).await;

    // Confirmed again from outside the product (the customer's page still held its client secret,
    // with another card), not settled by the bank yet: sent anyway, a new attempt would collect a
    // second time if it settles paid. Refused, read before anything is written.
    app.stripe.set_processing(&first, true);
    for _ in 0..2 {
        let refused = charge::charge(&app.state, id(e), Trigger::Admin(admin.id)).await;
        assert!(matches!(refused, Err(ServiceError::Refused(Refusal::AlreadyInProgress))), "{refused:?}");
    }
    assert_eq!((app.stripe.calls(CREATE), app.stripe.calls(CANCEL)), (1, 0), "nothing sent");
    assert_eq!(app.attempts(e).await.len(), 1, "nothing written");
    assert_eq!((app.status(e).await, app.row(e).await.next_retry_at), (EcheanceStatus::Echouee, retry_at));

    // It starts processing between that read and the cancel: the cancel is refused (Stripe saves that
    // refusal for the cancel's key), the new attempt given up unsent.
    app.stripe.set_processing(&first, false);
    app.stripe.inject(CANCEL, Fault::StartsProcessing);
    let failed_emails =
        || async { app.emails(e).await.iter().filter(|m| m.kind == app::domain::EmailKind::PaymentFailed).count() };
    let told = failed_emails().await;
    let refused = charge::charge(&app.state, id(e), Trigger::Admin(admin.id)).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::AlreadyInProgress))), "{refused:?}");
    assert_eq!(app.stripe.calls(CREATE), 1, "nothing sent");
    // Its claim undone: « échouée » with its retry date, as before the admin's click (it was « à payer »
    // with none, which the due-date run charged at once), and the customer told of no new failure.
    assert_eq!((app.status(e).await, app.row(e).await.next_retry_at), (EcheanceStatus::Echouee, retry_at));
    assert_eq!(failed_emails().await, told, "no failure: nothing was sent");
    let run = app::ssr::services::due::charge_due(&app.state, app.today(), 100).await.expect("due-date run");
    assert_eq!((run.charged, app.attempts(e).await.len()), (0, 2), "not due before its retry date: {run:?}");

    // It failed in the end. The cancel's key replays its saved refusal, which no longer says how the
    // PaymentIntent stands: cancelled under the new attempt's own key, then the new attempt goes out.
    app.stripe.set_processing(&first, false);
    let paid = charge::charge(&app.state, id(e), Trigger::Admin(admin.id)).await.expect("charged");
    assert_eq!(paid.status, EcheanceStatus::Payee);
    let on_stripe = app.peer.get(&format!("/v1/payment_intents/{first}")).await;
    assert_eq!(on_stripe["status"], "canceled", "the first PaymentIntent can no longer collect");
}

#[tokio::test]
async fn a_charge_given_up_unsent_leaves_a_plan_in_default_as_it_was_and_tells_no_one_again() {
    use app::domain::PlanStatus;
    use app::ssr::entities::{email_outbox, host_event, payment_plan};
    use sea_orm::{EntityTrait, PaginatorTrait};
    const CANCEL: &str = "POST /v1/payment_intents/{id}/cancel";
    let options = crate::helpers::Options { env: vec![("RETRY_SCHEDULE_HOURS", String::new())], ..Default::default() };
    let app = crate::helpers::spawn_app_with(options).await;
    let admin = app.admin("root").await;
    // The host site listens to everything.
    let key = app::ssr::services::host_api::keys::create(&app.state, "site").await.expect("key");
    let receiver = crate::helpers::receiver::Receiver::start().await;
    crate::host_webhooks::endpoint(&app, key.key.expose(), &receiver, &["*"]).await;
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let plan = crate::plans::accepted_plan(&app, &bob, 3_000, 3).await;
    let e = plan.echeances[0].id;
    let declined = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(declined.status, EcheanceStatus::EchoueeDefinitive, "no retry schedule: failed for good");
    let plan_status = || async {
        payment_plan::Entity::find_by_id(plan.plan.id).one(&app.state.db).await.expect("query").expect("plan").status
    };
    assert_eq!(plan_status().await, PlanStatus::EnDefaut);
    let emails = || async { email_outbox::Entity::find().count(&app.state.db).await.expect("count") };
    let host_events = || async {
        let all = host_event::Entity::find().all(&app.state.db).await.expect("events");
        all.into_iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>()
    };
    let (told, host_told) = (emails().await, host_events().await);
    assert!(host_told.contains(&"echeance.payment_failed"), "{host_told:?}");
    app.add_card(&bob, cards::OK).await;

    // An admin charges it again; the declined PaymentIntent starts processing (the customer's page
    // confirmed it) between the read before the claim and its cancel: the new attempt is given up unsent.
    app.stripe.inject(CANCEL, Fault::StartsProcessing);
    let refused = charge::charge(&app.state, id(e), Trigger::Admin(admin.id)).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::AlreadyInProgress))), "{refused:?}");

    // As it was: failed for good (it was « à payer »), its plan in default, and nobody told again that
    // it is (the plan went back and forth with the claim: its default emails went out a second time).
    assert_eq!((app.status(e).await, plan_status().await), (EcheanceStatus::EchoueeDefinitive, PlanStatus::EnDefaut));
    assert_eq!(emails().await, told, "no email: nothing happened to the payment");
    let host_now = host_events().await;
    let since: Vec<&str> = host_now[host_told.len()..].to_vec();
    assert_eq!(since, ["plan.activated", "plan.defaulted"], "the plan's moves only: no second failure told");
    let run = app::ssr::services::due::charge_due(&app.state, app.today(), 100).await.expect("due-date run");
    assert_eq!(app.attempts(e).await.len(), 2, "the due-date run does not charge it: {run:?}");
    assert_eq!(app.stripe.calls("POST /v1/payment_intents"), 1, "one PaymentIntent, the declined one");
}

#[tokio::test]
async fn an_admin_refused_a_charge_is_told_what_the_customer_has_to_do_not_asked_to_do_it() {
    use app::domain::Locale;
    use app::ui::i18n::Texts;
    let (app, _carol, waiting, _) = waiting_for_3ds().await;
    let dave = app.customer("dave", None).await;
    let no_card = app.echeance(&dave, 5_000, app.today()).await;
    let admin = app.admin("Ada").await;
    let browser = crate::helpers::TestApp::browser_without_javascript();
    app.login(&browser, &admin).await;

    type Said = fn(&Texts) -> &'static str;
    let cases: [(i64, Said, Said); 2] = [
        (waiting, |tx| tx.refused_awaiting_customer, |tx| tx.admin_refused_awaiting_customer),
        (no_card, |tx| tx.invalid_no_card, |tx| tx.admin_invalid_no_card),
    ];
    for (e, customers, admins) in cases {
        let page = format!("/admin/echeances/{e}");
        let form = [("echeance_id", e.to_string())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // The admin's page posted without JavaScript (as a script's call, the refusal is a status and a reason).
        let back = app.post_form_as(&browser, &page, "admin/retry", &form).await;
        for locale in [Locale::Fr, Locale::En] {
            // The language as the page's own link chooses it (a `lang` parameter would not win over the cookie).
            browser.get(format!("{}/lang/{}", app.address, locale.code())).send().await.expect("answers");
            let shown = browser.get(&back).send().await.expect("answers");
            let shown = shown.text().await.expect("page");
            let tx = Texts::of(locale);
            assert!(shown.contains(admins(tx)), "#{e}, {}: « {} » not on the page", locale.code(), admins(tx));
            assert!(
                !shown.contains(customers(tx)),
                "#{e}, {}: the customer's sentence shown to the admin",
                locale.code()
            );
        }
    }
    assert_eq!(app.status(waiting).await, EcheanceStatus::EnAttente, "still waiting for its customer");
    assert!(app.attempts(no_card).await.is_empty(), "nothing sent to Stripe");
}

/// A plan in default (its first échéance failed for good: no retry schedule) while SMTP is down:
/// its default emails, to the customer and to the admin, wait in the outbox. Returns the app,
/// the échéance, the admin and the emails' ids.
async fn in_default_with_its_emails_held() -> (crate::helpers::TestApp, i64, crate::helpers::Customer, Vec<i64>) {
    let options = crate::helpers::Options { workers: false, env: vec![("RETRY_SCHEDULE_HOURS", String::new())] };
    let app = crate::helpers::spawn_app_with(options).await;
    let admin = app.admin("root").await;
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let plan = crate::plans::accepted_plan(&app, &bob, 3_000, 3).await;
    let e = plan.echeances[0].id;
    let declined = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(declined.status, EcheanceStatus::EchoueeDefinitive);
    let held = default_emails(&app).await;
    assert_eq!(held.len(), 2, "the customer and the admin");
    (app, e, admin, held)
}

/// `admin` charges échéance `e` again and Stripe answers 500 to every try: « en cours », its
/// outcome unknown.
async fn charged_again_unanswered(app: &crate::helpers::TestApp, e: i64, admin: &crate::helpers::Customer) {
    for _ in 0..4 {
        app.stripe.inject("POST /v1/payment_intents", Fault::Unavailable);
    }
    charge::charge(&app.state, id(e), Trigger::Admin(admin.id)).await.expect("outcome unknown, not an error");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours);
}

/// The ids of the plans' default emails in the outbox, the customer's and the admins'.
async fn default_emails(app: &crate::helpers::TestApp) -> Vec<i64> {
    use app::ssr::entities::email_outbox;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let rows = email_outbox::Entity::find()
        .filter(email_outbox::Column::Kind.is_in([EmailKind::PlanInDefault, EmailKind::AdminPlanInDefault]))
        .all(&app.state.db)
        .await
        .expect("outbox");
    rows.iter().map(|m| m.id).collect()
}

/// The id of the one failed payment's email in the outbox.
async fn failed_payment_email(app: &crate::helpers::TestApp) -> i64 {
    use app::ssr::entities::email_outbox;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let rows = email_outbox::Entity::find()
        .filter(email_outbox::Column::Kind.eq(EmailKind::PaymentFailed))
        .all(&app.state.db)
        .await
        .expect("outbox");
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows[0].id
}

/// What became of the outbox's emails `ids`: (status, attempts, why not sent).
async fn outbox_rows(app: &crate::helpers::TestApp, ids: &[i64]) -> Vec<(String, i32, app::domain::Trouble)> {
    use app::ssr::entities::email_outbox;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let rows = email_outbox::Entity::find()
        .filter(email_outbox::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(email_outbox::Column::Id)
        .all(&app.state.db)
        .await
        .expect("outbox");
    rows.into_iter()
        .map(|m| {
            let why = app::domain::Trouble::read(m.last_error.as_deref().unwrap_or_default());
            (m.status.as_str().to_owned(), m.attempts, why)
        })
        .collect()
}

#[tokio::test]
async fn a_default_email_held_while_a_charge_given_up_unsent_made_the_plan_active_is_sent_once_it_is_back_in_default() {
    use app::domain::Trouble;
    let (app, e, admin, held) = in_default_with_its_emails_held().await;
    // An admin charges it again, its outcome unknown: « en cours », the plan active again.
    charged_again_unanswered(&app, e, &admin).await;

    // The outbox meanwhile: the default emails, and the failed payment's, wait for the charge's
    // outcome (they were dropped).
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("the outbox");
    let waiting = ("pending".to_owned(), 0, Trouble::ChargeUnderWay);
    assert_eq!(outbox_rows(&app, &held).await, [waiting.clone(), waiting.clone()]);
    let failed = failed_payment_email(&app).await;
    assert_eq!(outbox_rows(&app, &[failed]).await, [waiting]);

    // Given up unsent: failed for good again, the plan in default, nobody told again — so the held
    // emails are what tells them: tried (SMTP is down here), not dropped.
    app.clock.advance(Duration::from_secs(31 * 60));
    crate::edges::reconcile(&app).await;
    assert_eq!(app.status(e).await, EcheanceStatus::EchoueeDefinitive);
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("the outbox");
    for (status, attempts, why) in outbox_rows(&app, &[held.as_slice(), &[failed]].concat()).await {
        assert_eq!((status.as_str(), attempts), ("pending", 1), "{why:?}");
        assert!(matches!(why, Trouble::NotReached(_) | Trouble::Other(_)), "tried: {why:?}");
    }
}

#[tokio::test]
async fn a_failed_payments_email_held_while_its_echeance_is_charged_again_is_dropped_once_its_link_expired() {
    use app::domain::Trouble;
    let (app, e, admin, _) = in_default_with_its_emails_held().await;
    charged_again_unanswered(&app, e, &admin).await;
    let failed = failed_payment_email(&app).await;
    // Its link to pay (seven days) expires while the charge's outcome is still unknown: however
    // that charge ends, the page this email points to would refuse it.
    app.clock.advance(Duration::from_secs(8 * 86_400));
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("the outbox");
    assert_eq!(app.status(e).await, EcheanceStatus::EnCours);
    assert_eq!(outbox_rows(&app, &[failed]).await, [("cancelled".to_owned(), 1, Trouble::LinkExpired)]);
}

#[tokio::test]
async fn a_default_email_held_then_on_the_other_modes_keys_waits_for_its_plans_keys_if_it_asks_the_customer_to_act() {
    use app::domain::{KeyMode, Trouble};
    let (app, _, _, held) = in_default_with_its_emails_held().await;
    let (db, peer) = (app.db.clone(), app.peer.clone());
    drop(app);
    // On the live keys (SMTP down here): the customer's, which asks her to save a card and pay,
    // waits for the test keys; the admins', which only tells, is tried.
    let live_keys = vec![("STRIPE_SECRET_KEY", "sk_live_echeancier_tests".to_owned())];
    let live = spawn_on(db, peer, Options { workers: false, env: live_keys }).await;
    app::ssr::email::sender::send_pending(&live.state, 20).await.expect("the outbox");
    let rows = outbox_rows(&live, &held).await;
    assert_eq!(rows[0], ("pending".to_owned(), 0, Trouble::OtherMode(KeyMode::Test)), "{rows:?}");
    assert_eq!((rows[1].0.as_str(), rows[1].1), ("pending", 1), "tried: {rows:?}");
    assert!(matches!(rows[1].2, Trouble::NotReached(_) | Trouble::Other(_)), "{rows:?}");
}

#[tokio::test]
async fn a_default_email_held_when_the_plan_defaulted_again_gives_way_to_the_newer_one() {
    use app::domain::Trouble;
    let (app, e, admin, held) = in_default_with_its_emails_held().await;
    // Charged again by an admin, declined again: in default again, told again.
    let again = charge::charge(&app.state, id(e), Trigger::Admin(admin.id)).await.expect("sent");
    assert_eq!(again.status, EcheanceStatus::EchoueeDefinitive);
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("the outbox");
    let superseded = ("cancelled".to_owned(), 1, Trouble::Superseded);
    assert_eq!(outbox_rows(&app, &held).await, [superseded.clone(), superseded], "one default email each");
    // The newer ones are the ones tried (SMTP is down here).
    let newer: Vec<i64> = default_emails(&app).await.into_iter().filter(|id| !held.contains(id)).collect();
    let tried = outbox_rows(&app, &newer).await;
    assert_eq!(tried.len(), 2, "{tried:?}");
    assert!(tried.iter().all(|(status, attempts, _)| (status.as_str(), *attempts) == ("pending", 1)), "{tried:?}");
}

#[tokio::test]
async fn a_test_plans_charge_left_unknown_waits_for_the_test_keys_to_be_settled() {
    use app::ssr::services::reconcile;
    let first = spawn_app_by_hand().await;
    let alice = first.customer("alice", Some(cards::OK)).await;
    let e = crate::plans::accepted_plan(&first, &alice, 2_000, 2).await.echeances[0].id;
    first.stripe.inject(CREATE, Fault::ErrorAfterExecution);
    first.stripe.set_delivery(Delivery::Drop);
    let result = charge::charge(&first.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(result.status, EcheanceStatus::EnCours);
    let (db, peer) = (first.db.clone(), first.peer.clone());
    drop(first);

    // On the live keys, which real Stripe would not let reach its PaymentIntent (it would be given
    // up as never sent), neither the follow-up nor the reconciler takes it to Stripe: it waits.
    let live_keys = vec![("STRIPE_SECRET_KEY", "sk_live_echeancier_tests".to_owned())];
    let live = spawn_on(db.clone(), peer.clone(), Options { workers: false, env: live_keys }).await;
    // Two days on: past every wait, and its PaymentIntent out of the reconciler's window.
    live.clock.advance(Duration::from_secs(2 * 86_400));
    assert_eq!(charge::resume(&live.state, 10).await.expect("resumed"), 0);
    let options = reconcile::Options {
        since: Duration::from_secs(3600),
        dry_run: false,
        trigger: app::domain::Actor::CommandLine,
    };
    let report = reconcile::run(&live.state, &options, &reconcile::Silent).await.expect("reconciled");
    assert_eq!(report.counts.checked, 0, "{report:?}");
    assert_eq!(live.status(e).await, EcheanceStatus::EnCours);
    assert_eq!(live.attempts(e).await[0].outcome, AttemptOutcome::Unknown);
    drop(live);

    // Back on the test keys, two days on too, the follow-up finds its payment (by our metadata:
    // past the key's retention, nothing is sent again).
    let test = spawn_on(db, peer, Options { workers: false, ..Options::default() }).await;
    test.clock.advance(Duration::from_secs(2 * 86_400));
    assert_eq!(charge::resume(&test.state, 10).await.expect("resumed"), 1);
    assert_eq!(test.status(e).await, EcheanceStatus::Payee);
    assert_eq!(test.peer.payment_intents_of(e).await.len(), 1, "no second charge");
}

#[tokio::test]
async fn an_admin_does_not_charge_an_echeance_before_its_date_its_customer_may_pay_it_ahead() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let ahead = app.echeance(&alice, 2_000, app.today().checked_add_days(chrono::Days::new(30)).expect("date")).await;

    // Off-session on the customer's mandate, which allows the schedule's dates: refused, nothing sent.
    let refused = charge::charge(&app.state, id(ahead), Trigger::Admin(admin.id)).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::NotDueYet))), "{refused:?}");
    assert!(app.attempts(ahead).await.is_empty(), "nothing was sent to Stripe");
    assert_eq!(app.status(ahead).await, EcheanceStatus::APayer);
    let timeline = app::ssr::services::admin::timeline(&app.state, id(ahead)).await.expect("its page");
    assert!(!timeline.can_retry, "its page offers no « Relancer »");

    // One due today the admin charges; the one not due yet its customer pays ahead, on-session.
    let today = app.echeance(&alice, 2_000, app.today()).await;
    assert!(app::ssr::services::admin::timeline(&app.state, id(today)).await.expect("its page").can_retry);
    let paid = charge::charge(&app.state, id(today), Trigger::Admin(admin.id)).await.expect("charged");
    assert_eq!(paid.status, EcheanceStatus::Payee);
    let paid = charge::charge(&app.state, id(ahead), Trigger::Customer(alice.id)).await.expect("paid ahead");
    assert_eq!(paid.status, EcheanceStatus::Payee);
}
