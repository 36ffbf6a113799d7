//! Échéances the original site put on a Stripe Checkout Session: the new flow
//! never collects while that session still can, and collects once it no longer can.

use app::domain::{EcheanceId, EcheanceStatus, Refusal};
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::due;
use app::ssr::services::error::ServiceError;
use app::ssr::services::reconcile;

use crate::helpers::{Customer, Fault, TestApp, cards, spawn_app, spawn_app_by_hand};

const CREATE: &str = "POST /v1/payment_intents";
const EXPIRE: &str = "POST /v1/checkout/sessions/{id}/expire";

fn id(n: i64) -> EcheanceId {
    EcheanceId::new(n).expect("id")
}

/// An échéance imported already « annulée », still linked to the original site's session `session`
/// (`status` on Stripe, unpaid).
async fn imported_annulee(app: &TestApp, customer: &Customer, session: &str, status: &str) -> i64 {
    let e = app.echeance(customer, 4_000, app.today()).await;
    app.link_checkout_session(e, session, status, "unpaid").await;
    app.set_status(e, EcheanceStatus::Annulee).await;
    e
}

/// One reconciler run over the last day.
async fn reconcile_run(app: &TestApp, dry_run: bool) -> reconcile::Report {
    let options = reconcile::Options {
        since: std::time::Duration::from_secs(24 * 3600),
        dry_run,
        trigger: app::domain::Actor::CommandLine,
    };
    reconcile::run(&app.state, &options, &reconcile::Silent).await.expect("ran")
}

/// A new app, and alice's échéance of 40 € due today held by the original site's Checkout
/// Session `session` (`status`, `payment_status` on Stripe).
pub(crate) async fn spawn_with_session(session: &str, status: &str, payment_status: &str) -> (TestApp, Customer, i64) {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 4_000, app.today()).await;
    app.link_checkout_session(e, session, status, payment_status).await;
    (app, alice, e)
}

/// Stripe's `checkout.session.expired` (`event_id`) of session `session`, which held échéance `e`.
pub(crate) fn expired_session_event(event_id: &str, session: &str, e: i64) -> serde_json::Value {
    let session = serde_json::json!({"id": session, "object": "checkout.session", "status": "expired",
        "payment_status": "unpaid", "payment_intent": null, "metadata": {}, "client_reference_id": e.to_string()});
    crate::helpers::event(event_id, "checkout.session.expired", session)
}

#[tokio::test]
async fn payer_on_an_echeance_whose_checkout_session_is_still_open_expires_it_before_charging() {
    let (app, alice, e) = spawn_with_session("cs_test_open", "open", "unpaid").await;

    let paid = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("charged");

    assert_eq!(paid.status, EcheanceStatus::Payee);
    assert_eq!(app.stripe.checkout_session_status("cs_test_open").as_deref(), Some("expired"), "cannot collect again");
    assert_eq!((app.stripe.calls(EXPIRE), app.stripe.calls(CREATE)), (1, 1));
    assert_eq!(app.peer.payment_intents_of(e).await.len(), 1);
    assert_eq!(app.row(e).await.checkout_session_id, None, "no longer linked to a session that cannot collect");
}

#[tokio::test]
async fn an_admins_charge_refused_as_not_due_yet_leaves_the_checkout_session_open() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 4_000, app.today().checked_add_days(chrono::Days::new(10)).expect("date")).await;
    app.link_checkout_session(e, "cs_test_ahead", "open", "unpaid").await;
    let admin = app.admin("root").await;

    let refused = charge::charge(&app.state, id(e), Trigger::Admin(admin.id)).await;

    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::NotDueYet))), "{refused:?}");
    assert_eq!(app.stripe.calls(EXPIRE), 0, "the customer's link on the original site still works");
    assert_eq!(app.row(e).await.checkout_session_id.as_deref(), Some("cs_test_ahead"));
}

#[tokio::test]
async fn a_checkout_session_that_already_collected_is_recorded_and_nothing_is_charged() {
    let (app, alice, e) = spawn_with_session("cs_test_paid", "complete", "paid").await;

    let refused = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await;

    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::Settled))), "{refused:?}");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee, "the session's payment is recorded");
    assert_eq!((app.stripe.calls(EXPIRE), app.stripe.calls(CREATE)), (0, 0));
}

#[tokio::test]
async fn a_checkout_payment_still_processing_refuses_the_charge_and_writes_nothing() {
    let (app, alice, e) = spawn_with_session("cs_test_processing", "complete", "unpaid").await;

    let refused = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await;

    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::LegacyPaymentPending))), "{refused:?}");
    assert_eq!(app.status(e).await, EcheanceStatus::APayer);
    assert!(app.attempts(e).await.is_empty());
    assert_eq!(app.stripe.calls(CREATE), 0);
}

#[tokio::test]
async fn when_stripe_cannot_say_where_the_session_stands_nothing_is_charged() {
    let (app, alice, e) = spawn_with_session("cs_test_open", "open", "unpaid").await;
    // Down for every try, under the expiry's key and the one derived after its 5xx.
    for _ in 0..8 {
        app.stripe.inject(EXPIRE, Fault::Unavailable);
    }

    let refused = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await;

    assert!(matches!(refused, Err(ServiceError::Unavailable)), "{refused:?}");
    assert_eq!(app.status(e).await, EcheanceStatus::APayer);
    assert!(app.attempts(e).await.is_empty());
    assert_eq!(app.stripe.calls(CREATE), 0);
    assert_eq!(app.row(e).await.checkout_session_id.as_deref(), Some("cs_test_open"));
}

#[tokio::test]
async fn an_expired_checkout_session_leaves_its_echeance_to_the_schedule() {
    let (app, _, e) = spawn_with_session("cs_test_gone", "expired", "unpaid").await;
    app.deliver(&expired_session_event("evt_cs_expired", "cs_test_gone", e)).await;
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    while tokio::time::Instant::now() < deadline {
        if app.row(e).await.checkout_session_id.is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.row(e).await.checkout_session_id, None, "the expired session no longer holds the échéance");

    let report = due::charge_due(&app.state, app.today(), 100).await.expect("ran");

    assert_eq!((report.charged, report.paid), (1, 1), "{report:?}");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
}

#[tokio::test]
async fn a_checkout_payment_that_failed_later_frees_its_echeance_even_without_its_webhook() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 4_000, app.today()).await;
    // The original site's delayed payment failed: its PaymentIntent is back to requires_payment_method.
    let bob = app.customer("bob", None).await;
    let declined_card = app.add_card(&bob, cards::DECLINED).await;
    let failed = app
        .stripe
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "4000"),
                ("currency", "eur"),
                ("customer", &bob.stripe_customer),
                ("payment_method", &declined_card),
                ("confirm", "true"),
            ],
        )
        .await;
    let failed_pi = failed["error"]["payment_intent"]["id"].as_str().expect("the declined PaymentIntent").to_owned();
    app.link_checkout_session(e, "cs_test_async", "complete", "unpaid").await;
    app.stripe.put_checkout_session(serde_json::json!({"id": "cs_test_async", "object": "checkout.session",
        "status": "complete", "payment_status": "unpaid", "payment_intent": failed_pi}));

    let paid = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("charged");

    assert_eq!(paid.status, EcheanceStatus::Payee);
    assert_eq!(app.row(e).await.checkout_session_id, None);
}

#[tokio::test]
async fn cancelling_an_echeance_closes_its_checkout_session_first_so_it_can_never_collect_on_an_annulee() {
    use app::ssr::services::admin::actions;

    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let alice = app.customer("alice", Some(cards::OK)).await;

    // Still open: expired on Stripe, then cancelled (it could have collected for 24 hours on an « annulée »).
    let open = app.echeance(&alice, 4_000, app.today()).await;
    app.link_checkout_session(open, "cs_test_open", "open", "unpaid").await;
    let cancelled = actions::cancel(&app.state, id(open), admin.id).await.expect("cancelled");
    assert_eq!(cancelled, EcheanceStatus::Annulee);
    assert_eq!(app.stripe.checkout_session_status("cs_test_open").as_deref(), Some("expired"), "cannot collect");
    assert_eq!(app.row(open).await.checkout_session_id, None);

    // It had collected: recorded, and the cancel refused.
    let paid = app.echeance(&alice, 4_000, app.today()).await;
    app.link_checkout_session(paid, "cs_test_paid", "complete", "paid").await;
    let refused = actions::cancel(&app.state, id(paid), admin.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::PaidMeanwhile))), "{refused:?}");
    assert_eq!(app.status(paid).await, EcheanceStatus::Payee);

    // Its payment is still processing: refused, nothing changed.
    let processing = app.echeance(&alice, 4_000, app.today()).await;
    app.link_checkout_session(processing, "cs_test_processing", "complete", "unpaid").await;
    let refused = actions::cancel(&app.state, id(processing), admin.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::LegacyPaymentPending))), "{refused:?}");
    assert_eq!(app.status(processing).await, EcheanceStatus::APayer);
    assert_eq!(app.stripe.calls(CREATE), 0, "nothing was charged");
}

#[tokio::test]
async fn a_session_expiry_answered_500_for_is_read_back_or_asked_again_and_the_charge_goes_on() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    // Stripe fails after expiring it, or before doing anything: either way the 500 is saved for the
    // expiry's key and replayed to every retry for a day.
    for (fault, session) in [(Fault::ErrorAfterExecution, "cs_test_done"), (Fault::ErrorBeforeExecution, "cs_test_not")]
    {
        let e = app.echeance(&alice, 4_000, app.today()).await;
        app.link_checkout_session(e, session, "open", "unpaid").await;
        app.stripe.inject(EXPIRE, fault);

        let paid = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await.expect("charged");

        assert_eq!(app.stripe.checkout_session_status(session).as_deref(), Some("expired"), "{session}");
        assert_eq!(paid.status, EcheanceStatus::Payee, "« Payer » was not refused for the key's day");
        assert_eq!(app.peer.payment_intents_of(e).await.len(), 1);
        let mut keys: Vec<String> = app.stripe.keys().into_iter().filter(|k| k.contains(session)).collect();
        keys.dedup();
        // Read back when done; asked again under a key derived from the first when not.
        assert_eq!(keys.len(), if session == "cs_test_done" { 1 } else { 2 }, "{keys:?}");
    }
}

#[tokio::test]
async fn a_checkout_session_that_collected_another_amount_is_drift_not_a_payment_and_nothing_is_charged_over_it() {
    use app::ssr::entities::user;
    use app::ssr::services::admin::actions;
    use app::ssr::services::erasure;
    use sea_orm::EntityTrait;

    // No workers: the webhook is handled by the test, before it looks.
    let app = spawn_app_by_hand().await;
    let admin = app.admin("root").await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    // One still open on the original site (an erasure would expire it).
    let open = app.echeance(&alice, 6_000, app.today()).await;
    app.link_checkout_session(open, "cs_test_open", "open", "unpaid").await;
    // 59,99 € collected for a 60,00 € échéance; 60,00 in dollars for another.
    let short = app.echeance(&alice, 6_000, app.today()).await;
    let dollars = app.echeance(&alice, 6_000, app.today()).await;
    for (e, session, amount, currency) in
        [(short, "cs_test_short", 5_999, "eur"), (dollars, "cs_test_usd", 6_000, "usd")]
    {
        app.link_checkout_session(e, session, "complete", "paid").await;
        app.stripe.put_checkout_session(serde_json::json!({"id": session, "object": "checkout.session",
            "status": "complete", "payment_status": "paid", "payment_intent": format!("pi_{session}"),
            "client_reference_id": e.to_string(), "amount_total": amount, "currency": currency}));
    }

    // Its webhook moves nothing.
    let completed = crate::helpers::event(
        "evt_cs_short",
        "checkout.session.completed",
        serde_json::json!({"id": "cs_test_short", "object": "checkout.session", "status": "complete",
            "payment_status": "paid", "payment_intent": "pi_cs_test_short", "client_reference_id": short.to_string(),
            "amount_total": 5_999, "currency": "eur"}),
    );
    assert_eq!(app.deliver(&completed).await, 200);
    app.process_inbox().await;
    assert_eq!(app.status(short).await, EcheanceStatus::APayer, "59,99 € collected is not the 60,00 € échéance paid");

    // Nothing is charged over it: the customer's « Payer » is refused (an admin looks first), and
    // the due run leaves an échéance a session holds alone (it does not select one at all).
    for e in [short, dollars] {
        let refused = charge::charge(&app.state, id(e), Trigger::Customer(alice.id)).await;
        assert!(matches!(refused, Err(ServiceError::Refused(Refusal::LegacyPaymentToReview))), "{refused:?}");
    }
    let report = due::charge_due(&app.state, app.today(), 100).await.expect("ran");
    assert_eq!((report.charged, report.paid), (0, 0), "{report:?}");
    assert_eq!(app.stripe.calls(CREATE), 0, "nothing was charged");
    for e in [short, dollars] {
        assert_eq!(app.status(e).await, EcheanceStatus::APayer);
        assert!(app.attempts(e).await.is_empty());
        assert!(app.row(e).await.checkout_session_id.is_some(), "still linked: the drift stays in view");
    }

    // The reconciler reports each as drift, and fixes nothing.
    let report = crate::edges::reconcile(&app).await;
    for (e, session, said) in [(short, "cs_test_short", "5999 eur"), (dollars, "cs_test_usd", "6000 usd")] {
        assert_eq!(app.status(e).await, EcheanceStatus::APayer);
        let drift = report.drift.iter().find(|d| d.echeance_id == e).expect("reported as drift");
        assert_eq!((drift.stripe_object.as_deref(), drift.fixed), (Some(session), false), "{drift:?}");
        assert!(drift.stripe.contains(said), "{drift:?}");
    }

    // Their customer is not erased while that money waits for review: nothing changes.
    let refused = erasure::erase(&app.state, alice.id.get(), admin.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::ErasureLegacyToReview))), "{refused:?}");
    let account = user::Entity::find_by_id(alice.id.get()).one(&app.state.db).await.expect("query").expect("row");
    assert!(account.disabled_at.is_none(), "the account is not closed");
    assert_eq!(app.stripe.checkout_session_status("cs_test_open").as_deref(), Some("open"), "nothing closed on Stripe");
    assert_eq!(app.stripe.calls(EXPIRE), 0);
    assert_eq!(app.row(open).await.checkout_session_id.as_deref(), Some("cs_test_open"));

    // An admin may still cancel it (a cancel moves no money): the session stays linked and the
    // money it holds stays in the drift each night, not out of view.
    for e in [short, dollars] {
        let cancelled = actions::cancel(&app.state, id(e), admin.id).await.expect("cancelled");
        assert_eq!(cancelled, EcheanceStatus::Annulee);
        assert!(app.row(e).await.checkout_session_id.is_some(), "still linked");
    }
    let report = crate::edges::reconcile(&app).await;
    for (e, session) in [(short, "cs_test_short"), (dollars, "cs_test_usd")] {
        assert_eq!(app.status(e).await, EcheanceStatus::Annulee);
        let drift = report.drift.iter().find(|d| d.echeance_id == e).expect("still reported as drift");
        assert_eq!(
            (drift.local, drift.stripe_object.as_deref(), drift.fixed),
            (EcheanceStatus::Annulee, Some(session), false),
            "{drift:?}"
        );
    }
    // Only a cancelled échéance has a legacy payment to mark as reviewed, and only one Stripe says
    // paid: a session that never collected (here still open, on a row cancelled before sessions
    // were closed first) has no money to review, and is left as it was.
    let refused = actions::review_legacy_payment(&app.state, id(open), admin.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::NothingToReview))), "{refused:?}");
    let unpaid = app.echeance(&alice, 6_000, app.today()).await;
    app.link_checkout_session(unpaid, "cs_test_unpaid", "open", "unpaid").await;
    app.set_status(unpaid, EcheanceStatus::Annulee).await;
    for e in [open, unpaid] {
        let refused = actions::review_legacy_payment(&app.state, id(e), admin.id).await;
        assert!(matches!(refused, Err(ServiceError::Refused(Refusal::NothingToReview))), "{refused:?}");
        assert!(app.row(e).await.checkout_session_id.is_some(), "left as it was");
    }
    // An admin marks the money of one as reviewed: unlinked, its audit trail says who looked at
    // what, and the reconciler no longer reports it; the other stays in the drift.
    let as_admin = app.browser();
    app.login(&as_admin, &admin).await;
    let page = as_admin.get(format!("{}/admin/echeances/{short}", app.address)).send().await.expect("answers");
    assert!(page.text().await.expect("page").contains("Marquer le paiement de l’ancien site comme examiné"));
    let review = |client: reqwest::Client| {
        let url = format!("{}/api/admin/review-legacy", app.address);
        async move {
            let form = [("echeance_id", short.to_string())];
            client.post(url).header("accept", "application/json").form(&form).send().await.expect("answers")
        }
    };
    let as_customer = app.browser();
    app.login(&as_customer, &alice).await;
    assert_eq!(review(as_customer).await.status().as_u16(), 403);
    assert!(app.row(short).await.checkout_session_id.is_some(), "a customer changes nothing");
    let reviewed = review(as_admin).await;
    assert_eq!(reviewed.status().as_u16(), 200, "{:?}", reviewed.text().await);
    assert_eq!(app.row(short).await.checkout_session_id, None);
    assert_eq!(app.status(short).await, EcheanceStatus::Annulee);
    let timeline = app::ssr::services::admin::timeline(&app.state, id(short)).await.expect("timeline");
    assert!(!timeline.can_review_legacy);
    assert!(
        timeline.entries.iter().any(|entry| matches!(&entry.event,
            app::api::dto::TimelineEvent::Audit { event, actor, detail: Some(detail), .. }
                if event == "LegacyPaymentReviewed" && *actor == app::domain::Actor::Admin(admin.id.get())
                    && detail.contains("cs_test_short") && detail.contains("5999 eur"))),
        "{:?}",
        timeline.entries
    );
    let again = actions::review_legacy_payment(&app.state, id(short), admin.id).await;
    assert!(matches!(again, Err(ServiceError::Refused(Refusal::NothingToReview))), "{again:?}");
    let report = crate::edges::reconcile(&app).await;
    assert!(report.drift.iter().all(|d| d.echeance_id != short), "{:?}", report.drift);
    assert!(report.drift.iter().any(|d| d.echeance_id == dollars), "{:?}", report.drift);

    // Once cancelled (one reviewed, the other still in the drift), the customer may be erased.
    erasure::erase(&app.state, alice.id.get(), admin.id).await.expect("erased");
}

#[tokio::test]
async fn the_reconciler_expires_a_session_left_open_on_an_annulee_so_the_cancelled_echeance_cannot_be_paid() {
    use app::domain::Cause;

    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    // Imported from the original site: cancelled there, its Checkout Session left open (a cancel
    // made here expires it first). Beside it, an « à payer » whose open session is the normal case.
    let cancelled = imported_annulee(&app, &alice, "cs_test_left_open", "open").await;
    let waiting = app.echeance(&alice, 4_000, app.today()).await;
    app.link_checkout_session(waiting, "cs_test_waiting", "open", "unpaid").await;
    let run = |dry_run: bool| reconcile_run(&app, dry_run);
    let about = |report: &reconcile::Report, e: i64| report.drift.iter().filter(|d| d.echeance_id == e).count();

    // A dry run says so and touches nothing.
    let report = run(true).await;
    let drift = report.drift.iter().find(|d| d.echeance_id == cancelled).expect("reported");
    assert_eq!((drift.local, drift.resolved, drift.fixed), (EcheanceStatus::Annulee, EcheanceStatus::Annulee, false));
    assert_eq!(drift.stripe_object.as_deref(), Some("cs_test_left_open"));
    assert_eq!(app.stripe.calls(EXPIRE), 0);
    assert_eq!(app.stripe.checkout_session_status("cs_test_left_open").as_deref(), Some("open"));

    // The run expires it on Stripe and lets the échéance go; the « à payer »'s session stays open.
    let report = run(false).await;
    let drift = report.drift.iter().find(|d| d.echeance_id == cancelled).expect("reported");
    assert!(drift.fixed, "{report:?}");
    assert_eq!(app.stripe.checkout_session_status("cs_test_left_open").as_deref(), Some("expired"));
    let row = app.row(cancelled).await;
    assert_eq!((row.status, row.checkout_session_id), (EcheanceStatus::Annulee, None));
    assert_eq!(app.stripe.checkout_session_status("cs_test_waiting").as_deref(), Some("open"));
    assert_eq!(app.row(waiting).await.checkout_session_id.as_deref(), Some("cs_test_waiting"));
    assert_eq!(about(&report, waiting), 0);
    assert_eq!(app.stripe.calls(EXPIRE), 1);

    assert_eq!((report.counts.fixed, report.counts.errors), (1, 0), "{report:?}");
    // Its timeline says so, its status unchanged.
    let audit = app.audit(cancelled).await;
    let closed: Vec<_> = audit.iter().filter(|a| a.event == "LegacySessionClosed").collect();
    assert_eq!(closed.len(), 1, "{audit:?}");
    assert_eq!((closed[0].from_status, closed[0].to_status), (Some(EcheanceStatus::Annulee), EcheanceStatus::Annulee));
    assert_eq!((closed[0].cause, closed[0].actor.as_str()), (Cause::Reconciler, "system:reconciler"));
    assert!(closed[0].detail.as_deref().is_some_and(|d| d.contains("cs_test_left_open")), "{:?}", closed[0].detail);

    // Nothing left to do: the next run neither reports it nor asks Stripe of it (the « à payer »'s
    // open session is read, as every night).
    let reads = app.stripe.calls("GET /v1/checkout/sessions/{id}");
    let report = run(false).await;
    assert_eq!(about(&report, cancelled), 0, "{report:?}");
    assert_eq!(app.stripe.calls(EXPIRE), 1);
    assert_eq!(app.stripe.calls("GET /v1/checkout/sessions/{id}"), reads + 1, "only the « à payer »'s session");
}

#[tokio::test]
async fn the_reconciler_lets_go_of_an_expired_session_on_an_annulee_without_drift_and_says_so_on_its_timeline() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    // Imported cancelled, its session already expired on Stripe (nothing was collected).
    let cancelled = imported_annulee(&app, &alice, "cs_test_expired", "expired").await;
    let report = reconcile_run(&app, false).await;

    assert!(report.drift.iter().all(|d| d.echeance_id != cancelled), "nothing to review: {report:?}");
    assert_eq!((report.counts.errors, app.stripe.calls(EXPIRE)), (0, 0), "{report:?}");
    let row = app.row(cancelled).await;
    assert_eq!((row.status, row.checkout_session_id), (EcheanceStatus::Annulee, None));
    let audit = app.audit(cancelled).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!((audit[0].event.as_str(), audit[0].to_status), ("LegacySessionClosed", EcheanceStatus::Annulee));
    assert!(audit[0].detail.as_deref().is_some_and(|d| d.contains("cs_test_expired expired/unpaid")), "{audit:?}");

    // Read once: the next run has nothing of it to ask Stripe.
    let reads = app.stripe.calls("GET /v1/checkout/sessions/{id}");
    reconcile_run(&app, false).await;
    assert_eq!(app.stripe.calls("GET /v1/checkout/sessions/{id}"), reads);
}
