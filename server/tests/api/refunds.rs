//! Refunds from the dashboard: written with their key before Stripe is asked,
//! one refund per page however many clicks, the échéance moved by Stripe's
//! word (webhooks, the reconciler), never by the button.

use app::api::dto::TimelineEvent;
use app::domain::{Actor, Cause, EcheanceId, EcheanceStatus, HostEvent, RefundNews, RefundStatus};
use app::ssr::entities::refund;
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::{reconcile, refunds};
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait, QueryOrder};
use std::time::Duration;

use crate::helpers::{Customer, Delivery, Fault, TestApp, cards, spawn_app};

/// A paid échéance of `cents`, its PaymentIntent, and an admin's logged-in browser.
async fn paid(app: &TestApp, cents: i64) -> (i64, String, reqwest::Client) {
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, cents, app.today()).await;
    charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("charged");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    let pi = app.row(e).await.current_payment_intent_id.expect("its PaymentIntent");
    let (_, browser) = app.logged_in_admin().await;
    (e, pi, browser)
}

/// The dashboard's « Rembourser » form: HTTP status and JSON body.
async fn click(
    app: &TestApp,
    browser: &reqwest::Client,
    e: i64,
    seen: i32,
    amount: &str,
    confirm: bool,
) -> (u16, serde_json::Value) {
    let seen = seen.to_string();
    let e = e.to_string();
    let mut form = vec![
        ("echeance_id", e.as_str()),
        ("seen", seen.as_str()),
        ("amount", amount),
        ("reason", "requested_by_customer"),
    ];
    if confirm {
        form.push(("confirm", "on"));
    }
    app.call(browser, "admin/refund", &form).await
}

/// The refunds Stripe has of PaymentIntent `pi`: (amount, status).
async fn on_stripe(app: &TestApp, pi: &str) -> Vec<(i64, String)> {
    let list = app.peer.get(&format!("/v1/refunds?payment_intent={pi}&limit=100")).await;
    list["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| (r["amount"].as_i64().unwrap_or(0), r["status"].as_str().unwrap_or("").to_owned()))
        .collect()
}

async fn rows(app: &TestApp) -> Vec<refund::Model> {
    refund::Entity::find().order_by_asc(refund::Column::Id).all(&app.state.db).await.expect("refunds")
}

/// Waits until refund row `seq` of échéance `e` has `status` (the webhooks come about a second after).
async fn wait_for_refund(app: &TestApp, e: i64, seq: i32, status: RefundStatus) -> refund::Model {
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    while tokio::time::Instant::now() < deadline {
        let row = rows(app).await.into_iter().find(|r| r.echeance_id == e && r.seq == seq);
        if let Some(row) = row.filter(|r| r.status == status) {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("refund {seq} of échéance {e} never reached {status:?}: {:?}", rows(app).await);
}

/// What the host was told, oldest first: each event's kind with the échéance's status and amount
/// refunded as it carried them; and the versions it carried.
async fn money_told(app: &TestApp) -> (Vec<(HostEvent, String, i64)>, Vec<i64>) {
    let number = |o: &serde_json::Value, field: &str| o[field].as_i64().expect("a number");
    app.host_events()
        .await
        .into_iter()
        .map(|(kind, o)| {
            let status = o["status"].as_str().expect("a status").to_owned();
            ((kind, status, number(&o, "amount_refunded_cents")), number(&o, "version"))
        })
        .unzip()
}

#[tokio::test]
async fn a_partial_refund_then_the_rest_and_the_echeance_moves_when_stripe_says_so() {
    let app = spawn_app().await;
    let (e, pi, admin) = paid(&app, 1_000).await;
    app.host_listens().await;

    // Refused input writes nothing and asks Stripe nothing.
    assert_eq!(click(&app, &admin, e, 0, "4,00", false).await.0, 422, "no « je confirme », no refund");
    let (status, body) = click(&app, &admin, e, 0, "10,01", true).await;
    assert_eq!(status, 422, "more than was paid: {body}");
    assert!(body.to_string().contains("RefundTooLarge"), "{body}");
    assert_eq!(click(&app, &admin, e, 0, "quatre", true).await.0, 422);
    let customer: Customer = app.customer("mallory", None).await;
    let as_customer = app.browser();
    app.login(&as_customer, &customer).await;
    assert_eq!(click(&app, &as_customer, e, 0, "4", true).await.0, 403, "a customer is no admin");
    assert!(rows(&app).await.is_empty());
    assert_eq!(app.stripe.calls("POST /v1/refunds"), 0);

    let (status, body) = click(&app, &admin, e, 0, "4,00", true).await;
    assert_eq!(status, 200, "{body}");
    let first = wait_for_refund(&app, e, 0, RefundStatus::Succeeded).await;
    assert_eq!((first.amount_cents, first.payment_intent_id.as_str()), (400, pi.as_str()));
    assert!(first.stripe_refund_id.is_some());
    assert_eq!(on_stripe(&app, &pi).await, vec![(400, "succeeded".to_owned())]);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(app.status(e).await, EcheanceStatus::Payee, "a partial refund keeps it paid");

    // The page listed one refund: a form still saying « none seen » is refused, not a second refund.
    let (status, body) = click(&app, &admin, e, 0, "6,00", true).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("RefundsChanged"), "{body}");
    let (status, body) = click(&app, &admin, e, 1, "6,01", true).await;
    assert_eq!(status, 422, "only 6,00 € is left: {body}");

    let (status, body) = click(&app, &admin, e, 1, "6", true).await;
    assert_eq!(status, 200, "{body}");
    app.assert_reaches(e, EcheanceStatus::Remboursee).await;
    wait_for_refund(&app, e, 1, RefundStatus::Succeeded).await;
    let mut amounts = on_stripe(&app, &pi).await;
    amounts.sort();
    assert_eq!(amounts, vec![(400, "succeeded".to_owned()), (600, "succeeded".to_owned())]);
    let sent = app.stripe.sent("POST /v1/refunds");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].get("reason").map(String::as_str), Some("requested_by_customer"));
    assert_eq!(sent[0].get("metadata[echeance_id]"), Some(&e.to_string()));

    // The host heard of the part (still paid, 4,00 € back), then of the whole, each a newer version.
    let (what, versions) = money_told(&app).await;
    assert_eq!(
        what,
        [
            (HostEvent::EcheancePartiallyRefunded, "paid".to_owned(), 400),
            (HostEvent::EcheanceRefunded, "refunded".to_owned(), 1_000)
        ]
    );
    assert!(versions[0] < versions[1], "{versions:?}");
    assert_eq!(versions[1], app.row(e).await.version, "the last news is the row as it is");

    let timeline = app::ssr::services::admin::timeline(&app.state, EcheanceId::new(e).expect("id")).await.expect("t");
    let totals = timeline.refund_totals.expect("collected");
    assert_eq!((totals.paid, totals.refunded, totals.kept), (1_000, 1_000, 0));
    assert!(timeline.refund_form.is_none(), "nothing left to refund");
    assert_eq!(click(&app, &admin, e, 2, "1", true).await.0, 409, "fully refunded");
}

#[tokio::test]
async fn a_lost_answer_is_asked_again_with_the_same_key_and_stripe_makes_one_refund() {
    let app = spawn_app().await;
    let (e, pi, admin) = paid(&app, 2_500).await;

    // Stripe made it, the answer was cut: the adapter asks again with the same key and gets it replayed.
    app.stripe.inject("POST /v1/refunds", Fault::DropResponse);
    let (status, body) = click(&app, &admin, e, 0, "25", true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(on_stripe(&app, &pi).await.len(), 1);
    let keys: Vec<String> = app.stripe.keys().into_iter().filter(|k| k.contains("-refund-")).collect();
    assert_eq!(keys.len(), 2, "asked twice: {keys:?}");
    assert_eq!(keys[0], keys[1], "with one key");
    app.assert_reaches(e, EcheanceStatus::Remboursee).await;

    // Made, answer lost, then Stripe unreachable for every try, and no webhook: the refund stays
    // « requested » until the follow-up asks again with the same key; the reconciler moves the échéance.
    let (e2, pi2, _) = paid(&app, 1_200).await;
    app.stripe.set_delivery(Delivery::Drop);
    app.stripe.inject("POST /v1/refunds", Fault::DropResponse);
    for _ in 0..3 {
        app.stripe.inject("POST /v1/refunds", Fault::Unavailable);
    }
    let (status, body) = click(&app, &admin, e2, 0, "12", true).await;
    assert_eq!((status, body.as_str()), (200, Some("Requested")), "{body}");
    assert_eq!(on_stripe(&app, &pi2).await.len(), 1, "Stripe made it once");
    assert_eq!(refunds::resume(&app.state, 10).await.expect("resume"), 0, "not before its time");
    app.clock.advance(Duration::from_secs(10 * 60));
    // This call asks, or the follow-up worker's pass did if it came first since the clock moved.
    refunds::resume(&app.state, 10).await.expect("resume");
    let row = wait_for_refund(&app, e2, 0, RefundStatus::Succeeded).await;
    assert!(row.stripe_refund_id.is_some());
    assert_eq!(on_stripe(&app, &pi2).await.len(), 1, "still one refund");
    assert_eq!(app.status(e2).await, EcheanceStatus::Payee, "the button's answer moves no échéance");
    reconcile::run(&app.state, &last_day(), &reconcile::Silent).await.expect("reconciled");
    assert_eq!(app.status(e2).await, EcheanceStatus::Remboursee, "Stripe's word does");
}

/// A reconciliation of the last day, from the command line.
fn last_day() -> reconcile::Options {
    reconcile::Options { since: Duration::from_secs(24 * 3600), dry_run: false, trigger: Actor::CommandLine }
}

/// Waits until échéance `e`'s dispute is kept with `status`.
async fn dispute_reaches(app: &TestApp, e: i64, status: app::domain::DisputeStatus) {
    use app::ssr::entities::dispute;
    use sea_orm::{ColumnTrait, QueryFilter};
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    loop {
        let row = dispute::Entity::find().filter(dispute::Column::EcheanceId.eq(e)).one(&app.state.db).await;
        if row.expect("query").is_some_and(|row| row.status == status) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the dispute never reached {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A payment refunded in full (« remboursée »), then disputed by the cardholder: (échéance, its
/// refund, the dispute).
async fn refunded_then_disputed(app: &TestApp) -> (i64, refund::Model, String) {
    let (e, pi, admin) = paid(app, 2_500).await;
    assert_eq!(click(app, &admin, e, 0, "25", true).await.0, 200);
    let refund = wait_for_refund(app, e, 0, RefundStatus::Succeeded).await;
    app.assert_reaches(e, EcheanceStatus::Remboursee).await;
    let disputed = app.stripe.open_dispute(&pi).await;
    dispute_reaches(app, e, app::domain::DisputeStatus::NeedsResponse).await;
    // Kept, the admins told; the money is already back with the customer.
    assert_eq!(app.status(e).await, EcheanceStatus::Remboursee);
    (e, refund, disputed)
}

#[tokio::test]
async fn a_payment_refunded_in_full_then_disputed_stays_refunded_whatever_the_bank_decides() {
    let app = spawn_app().await;
    let (e, _, disputed) = refunded_then_disputed(&app).await;
    // Won (the refund was the evidence): never « payée » again.
    app.stripe.close_dispute(&disputed, true).await;
    dispute_reaches(&app, e, app::domain::DisputeStatus::Won).await;
    assert!(app.settle_inbox(crate::helpers::PATIENCE).await.is_empty());
    assert_eq!(app.status(e).await, EcheanceStatus::Remboursee);
    let trail = app.audit(e).await;
    assert!(trail.iter().all(|row| row.to_status != EcheanceStatus::Contestee), "never shown as disputed money");
}

#[tokio::test]
async fn a_refund_that_fails_while_its_payment_is_disputed_leaves_the_echeance_disputed() {
    let app = spawn_app().await;
    let (e, refund, disputed) = refunded_then_disputed(&app).await;
    // The bank sends the refund back: the money stayed with the merchant, and a dispute holds it.
    app.stripe.fail_refund(refund.stripe_refund_id.as_deref().expect("its id"), true).await;
    app.assert_reaches(e, EcheanceStatus::Contestee).await;
    // Won: the merchant keeps it.
    app.stripe.close_dispute(&disputed, true).await;
    app.assert_reaches(e, EcheanceStatus::Payee).await;
}

#[tokio::test]
async fn the_reconciler_finds_a_refund_failed_while_an_older_dispute_is_open() {
    let app = spawn_app().await;
    let (e, refund, disputed) = refunded_then_disputed(&app).await;
    // The dispute was opened days ago (outside the night's window); the refund's failure never
    // reached us by webhook.
    let three_days_ago = app.state.now_ms() / 1000 - 3 * 86_400;
    app.stripe.put_dispute(serde_json::json!({"id": disputed, "object": "dispute",
        "payment_intent": refund.payment_intent_id, "charge": null, "amount": 2_500, "currency": "eur",
        "reason": "fraudulent", "status": "needs_response", "created": three_days_ago}));
    app.stripe.set_delivery(Delivery::Drop);
    app.stripe.fail_refund(refund.stripe_refund_id.as_deref().expect("its id"), false).await;
    let report = reconcile::run(&app.state, &last_day(), &reconcile::Silent).await.expect("reconciled");
    assert_eq!(app.status(e).await, EcheanceStatus::Contestee, "the money stayed, and it is disputed: {report:?}");
}

#[tokio::test]
async fn twenty_clicks_at_once_make_one_refund() {
    let app = spawn_app().await;
    let (e, pi, admin) = paid(&app, 3_000).await;
    let clicks = (0..20).map(|_| {
        let (app, admin) = (&app, admin.clone());
        async move { click(app, &admin, e, 0, "30,00", true).await }
    });
    let answers = futures::future::join_all(clicks).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "the same click answers as the first: {body}");
    }
    assert_eq!(refund::Entity::find().count(&app.state.db).await.expect("count"), 1);
    assert_eq!(on_stripe(&app, &pi).await, vec![(3_000, "succeeded".to_owned())]);
    app.assert_reaches(e, EcheanceStatus::Remboursee).await;
}

#[tokio::test]
async fn a_refund_that_fails_afterwards_puts_the_echeance_back_to_paid_and_it_can_be_refunded_again() {
    let app = spawn_app().await;
    let (e, pi, admin) = paid(&app, 1_500).await;
    app.host_listens().await;
    assert_eq!(click(&app, &admin, e, 0, "15", true).await.0, 200);
    app.assert_reaches(e, EcheanceStatus::Remboursee).await;
    let first = wait_for_refund(&app, e, 0, RefundStatus::Succeeded).await;

    // The bank could not send it back (an expired card): Stripe says so, by webhook.
    app.stripe.fail_refund(first.stripe_refund_id.as_deref().expect("its id"), true).await;
    app.assert_reaches(e, EcheanceStatus::Payee).await;
    let failed = wait_for_refund(&app, e, 0, RefundStatus::Failed).await;
    assert_eq!(failed.failure_reason.as_deref(), Some("expired_or_canceled_card"));
    let audit = app.audit(e).await;
    let back = audit.last().expect("an audit row");
    assert_eq!(
        (back.to_status, back.detail.as_deref().is_some_and(|d| d.contains("failed"))),
        (EcheanceStatus::Payee, true)
    );

    let timeline = app::ssr::services::admin::timeline(&app.state, EcheanceId::new(e).expect("id")).await.expect("t");
    let form = timeline.refund_form.expect("refundable again");
    assert_eq!((form.left.amount.minor(), form.seen), (1_500, 1));
    assert_eq!(click(&app, &admin, e, 1, "15", true).await.0, 200);
    app.assert_reaches(e, EcheanceStatus::Remboursee).await;
    // The host heard each move of the money: refunded, the refund failed (paid again), refunded.
    let told = app.host_events().await;
    assert_eq!(
        told.iter().map(|(kind, _)| *kind).collect::<Vec<_>>(),
        [HostEvent::EcheanceRefunded, HostEvent::EcheanceRefundFailed, HostEvent::EcheanceRefunded]
    );
    let refunded: Vec<_> = told.iter().map(|(_, object)| object["amount_refunded_cents"].as_i64()).collect();
    assert_eq!(refunded, [Some(1_500), Some(0), Some(1_500)]);
    let mut amounts = on_stripe(&app, &pi).await;
    amounts.sort();
    assert_eq!(amounts, vec![(1_500, "failed".to_owned()), (1_500, "succeeded".to_owned())]);
}

/// `GET /v1/echeances/ech_{e}` as the host reads it.
async fn host_reads(app: &TestApp, e: i64) -> serde_json::Value {
    let key = app::ssr::services::host_api::keys::create(&app.state, "site").await.expect("key");
    let response = reqwest::Client::new()
        .get(format!("{}/v1/echeances/ech_{e}", app.address))
        .bearer_auth(key.key.expose())
        .send()
        .await
        .expect("the API answers");
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("an échéance")
}

#[tokio::test]
async fn a_refund_of_part_that_fails_afterwards_is_told_to_the_host_and_the_echeance_stays_paid() {
    let app = spawn_app().await;
    let (e, _, admin) = paid(&app, 1_500).await;
    app.host_listens().await;
    assert_eq!(host_reads(&app, e).await["amount_refunded_cents"], 0);
    assert_eq!(click(&app, &admin, e, 0, "5", true).await.0, 200);
    let first = wait_for_refund(&app, e, 0, RefundStatus::Succeeded).await;
    let read = host_reads(&app, e).await;
    assert_eq!((read["status"].as_str(), read["amount_refunded_cents"].as_i64()), (Some("paid"), Some(500)));

    app.stripe.fail_refund(first.stripe_refund_id.as_deref().expect("its id"), true).await;
    wait_for_refund(&app, e, 0, RefundStatus::Failed).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await; // the charge's own events come meanwhile
    assert_eq!(app.status(e).await, EcheanceStatus::Payee, "paid all along");
    let (what, versions) = money_told(&app).await;
    assert_eq!(
        what,
        [
            (HostEvent::EcheancePartiallyRefunded, "paid".to_owned(), 500),
            (HostEvent::EcheanceRefundFailed, "paid".to_owned(), 0)
        ],
        "the 5,00 € went back, then came back"
    );
    let read = host_reads(&app, e).await;
    assert_eq!(read["amount_refunded_cents"], 0);
    assert_eq!(read["version"].as_i64(), Some(versions[1]), "the host's last news is the échéance as it is");
    assert!(versions[0] < versions[1], "{versions:?}");
}

#[tokio::test]
async fn a_refund_made_on_stripe_is_listed_with_the_echeance_and_counts() {
    let app = spawn_app().await;
    let (e, pi, admin) = paid(&app, 2_000).await;
    // Someone refunded 5 € in Stripe's Dashboard.
    app.stripe.post("/v1/refunds", &[("payment_intent", &pi), ("amount", "500")]).await;
    let row = wait_for_refund(&app, e, 0, RefundStatus::Succeeded).await;
    assert_eq!((row.requested_by.as_str(), row.amount_cents), ("stripe", 500));
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);

    let (status, _) = click(&app, &admin, e, 0, "15", true).await;
    assert_eq!(status, 409, "the page that did not show it is refused");
    let (status, body) = click(&app, &admin, e, 1, "15,01", true).await;
    assert_eq!(status, 422, "15 € is left: {body}");
    assert_eq!(click(&app, &admin, e, 1, "15", true).await.0, 200);
    app.assert_reaches(e, EcheanceStatus::Remboursee).await;
    wait_for_refund(&app, e, 1, RefundStatus::Succeeded).await;

    // Each change of a refund is a line of the échéance's history: who said so, and what it became.
    let timeline = app::ssr::services::admin::timeline(&app.state, EcheanceId::new(e).expect("id")).await.expect("t");
    let news: Vec<(RefundNews, Cause, Actor)> = timeline
        .entries
        .into_iter()
        .filter_map(|entry| match entry.event {
            TimelineEvent::Refund { news, cause, actor, .. } => Some((news, cause, actor)),
            _ => None,
        })
        .collect();
    assert_eq!(news.len(), 3, "listed, asked, answered: {news:?}");
    let find = |seq: i32, new: bool| news.iter().find(|(n, ..)| n.seq == seq && n.is_new() == new).expect("its line");
    let (listed, cause, actor) = find(0, true);
    assert_eq!((listed.to, listed.amount, *cause), (RefundStatus::Succeeded, 500, Cause::Webhook), "{listed:?}");
    assert!(matches!(actor, Actor::Stripe(Some(_))) && listed.refund.is_some(), "{actor:?}");
    let (asked, cause, actor) = find(1, true);
    assert_eq!(
        (asked.to, asked.amount, asked.refund.as_deref(), *cause),
        (RefundStatus::Requested, 1_500, None, Cause::Admin)
    );
    assert!(matches!(actor, Actor::Admin(_)), "{actor:?}");
    let (answered, ..) = find(1, false);
    assert_eq!(
        (answered.from, answered.to, answered.why.as_deref()),
        (Some(RefundStatus::Requested), RefundStatus::Succeeded, None)
    );
    assert!(answered.refund.as_deref().is_some_and(|id| id.starts_with("re_")), "{answered:?}");
    let statuses: Vec<_> = app
        .audit(e)
        .await
        .into_iter()
        .filter(|a| a.event == RefundNews::EVENT)
        .map(|a| (a.from_status, a.to_status))
        .collect();
    let paid = (Some(EcheanceStatus::Payee), EcheanceStatus::Payee);
    assert_eq!(statuses[..2], [paid, paid], "a note leaves the status as it was");
    assert!(statuses.iter().all(|(from, to)| *from == Some(*to)), "{statuses:?}");
}

/// The `receipt` server function as `browser` calls it: HTTP status and JSON body.
async fn receipt(app: &TestApp, browser: &reqwest::Client, e: i64) -> (u16, serde_json::Value) {
    app.call(browser, "receipt", &[("echeance_id", &e.to_string())]).await
}

#[tokio::test]
async fn a_receipt_is_its_customers_names_the_card_that_paid_and_what_went_back() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let paid = app.echeance(&alice, 4_500, app.today()).await;
    let unpaid = app.echeance(&alice, 4_500, app.today()).await;
    charge::charge(&app.state, EcheanceId::new(paid).expect("id"), Trigger::DueDate).await.expect("charged");
    let as_alice = app.browser();
    app.login(&as_alice, &alice).await;

    let (status, body) = receipt(&app, &as_alice, paid).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["card"], "Visa •••• 4242");
    assert_eq!(body["refunded"], 0);
    assert!(body["payment_intent"].as_str().is_some_and(|pi| pi.starts_with("pi_")), "{body}");
    assert_eq!(receipt(&app, &as_alice, unpaid).await.0, 404, "nothing collected, no receipt");

    let bob = app.customer("bob", None).await;
    let as_bob = app.browser();
    app.login(&as_bob, &bob).await;
    assert_eq!(receipt(&app, &as_bob, paid).await.0, 404, "another customer's receipt is not found");
    assert_eq!(receipt(&app, &app.browser(), paid).await.0, 401);

    let (_, as_admin) = app.logged_in_admin().await;
    assert_eq!(click(&app, &as_admin, paid, 0, "15", true).await.0, 200);
    wait_for_refund(&app, paid, 0, RefundStatus::Succeeded).await;
    let (status, body) = receipt(&app, &as_admin, paid).await;
    assert_eq!((status, body["refunded"].as_i64()), (200, Some(1_500)), "{body}");
}

/// The plan page's refund line, and its digits and colons alone (spaces vary by locale).
fn refund_line(html: &str) -> (String, String) {
    let line = html.split("data-testid=\"plan-refund-totals\"").nth(1).expect("the line is shown");
    let line = &line[line.find('>').expect("its tag's end") + 1..line.find('<').expect("its end")];
    (line.to_owned(), line.chars().filter(|c| c.is_ascii_digit() || *c == ':').collect())
}

/// An accepted plan of 3 × 100 € whose first two échéances are paid, and its échéances' ids.
async fn two_of_three_paid(app: &TestApp) -> (app::ssr::services::plans::CreatedPlan, Vec<i64>) {
    let alice = app.customer("alice", Some(cards::OK)).await;
    let plan = crate::plans::accepted_plan(app, &alice, 30_000, 3).await;
    let ids: Vec<i64> = plan.echeances.iter().map(|e| e.id).collect();
    for &e in &ids[..2] {
        charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("paid");
    }
    (plan, ids)
}

#[tokio::test]
async fn cancelling_a_plan_can_refund_what_it_collected_one_tracked_refund_per_echeance() {
    let app = spawn_app().await;
    let (plan, ids) = two_of_three_paid(&app).await;
    let (_, as_admin) = app.logged_in_admin().await;
    let plan_id = plan.plan.id.to_string();
    // Its « je confirme » box not ticked: nothing is cancelled nor refunded.
    let unconfirmed = [("plan_id", plan_id.as_str()), ("refund", "on")];
    let (status, body) = app.call(&as_admin, "admin/plans/cancel", &unconfirmed).await;
    assert_eq!((status, &body), (422, &serde_json::json!({ "Invalid": { "Field": "Confirmation" } })));
    assert_eq!(app.status(ids[2]).await, EcheanceStatus::APayer, "not cancelled");
    assert!(rows(&app).await.is_empty(), "nothing refunded");
    let form = [("plan_id", plan_id.as_str()), ("refund", "on"), ("confirm", "on")];
    let cancel = || app.call(&as_admin, "admin/plans/cancel", &form);
    let (status, body) = cancel().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["cancelled"].as_u64(), body["refunds_asked"].as_u64()), (Some(1), Some(2)), "{body}");
    for &e in &ids[..2] {
        app.assert_reaches(e, EcheanceStatus::Remboursee).await;
        let pi = app.row(e).await.current_payment_intent_id.expect("its PaymentIntent");
        assert_eq!(on_stripe(&app, &pi).await, vec![(10_000, "succeeded".to_owned())]);
    }
    assert_eq!(app.status(ids[2]).await, EcheanceStatus::Annulee);

    // Sent twice (a resubmitted form): nothing more is refunded.
    let (status, again) = cancel().await;
    assert!(status == 409 || again["refunds_asked"].as_u64() == Some(0), "{status} {again}");
    assert_eq!(rows(&app).await.len(), 2);
    assert_eq!(app.stripe.calls("POST /v1/refunds"), 2);
}

#[tokio::test]
async fn an_admin_without_the_required_second_factor_reads_no_customers_receipt() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        workers: false,
        env: vec![("ADMIN_TOTP_REQUIRED", "true".to_owned())],
    })
    .await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let paid = app.echeance(&alice, 4_500, app.today()).await;
    charge::charge(&app.state, EcheanceId::new(paid).expect("id"), Trigger::DueDate).await.expect("charged");
    let (_, as_admin) = app.logged_in_admin().await;
    let (status, body) = receipt(&app, &as_admin, paid).await;
    assert_eq!(status, 409, "set up the second factor first: {body}");
    assert!(body.to_string().contains("SecondFactorSetupRequired"), "{body}");
}

#[tokio::test]
async fn a_paid_echeance_with_no_payment_intent_known_is_offered_no_refund_the_service_would_refuse() {
    let app = spawn_app().await;
    let (charged, _, browser) = paid(&app, 1_000).await;
    // Paid before this product, or recorded by hand: « payée », no PaymentIntent.
    let bob = app.customer("bob", Some(cards::OK)).await;
    let by_hand = app.echeance(&bob, 1_000, app.today()).await;
    app.set_status(by_hand, EcheanceStatus::Payee).await;
    let timeline = |e: i64| app::ssr::services::admin::timeline(&app.state, EcheanceId::new(e).expect("id"));

    let offered = timeline(charged).await.expect("timeline");
    let not_offered = timeline(by_hand).await.expect("timeline");

    assert!(offered.refund_form.is_some(), "paid through its PaymentIntent: refundable");
    let totals = not_offered.refund_totals.expect("what was collected is still shown");
    assert_eq!((totals.paid, totals.refunded, totals.kept), (1_000, 0, 1_000));
    assert!(not_offered.refund_form.is_none(), "no form for what the refund would refuse");
    let (status, body) = click(&app, &browser, by_hand, 0, "10", true).await;
    assert_eq!((status, body), (409, serde_json::json!({ "Refused": "NotCollected" })), "as the service says");
}

#[tokio::test]
async fn a_plans_page_says_what_its_refunds_sent_back_and_what_it_kept() {
    let app = spawn_app().await;
    let (plan, ids) = two_of_three_paid(&app).await;
    let view = || app::ssr::services::plans::view(&app.state, plan.plan.id, 0);
    assert_eq!(view().await.expect("the plan").refund_totals, None, "nothing asked back yet: no line");
    let (_, admin) = app.logged_in_admin().await;
    let page = || async {
        let url = format!("{}/admin/plans/{}?lang=fr", app.address, plan.plan.id);
        admin.get(url).send().await.expect("answers").text().await.expect("page")
    };
    assert!(!page().await.contains("plan-refund-totals"));

    // 40 € of the first échéance, then the whole second one.
    assert_eq!(click(&app, &admin, ids[0], 0, "40", true).await.0, 200);
    wait_for_refund(&app, ids[0], 0, RefundStatus::Succeeded).await;
    assert_eq!(click(&app, &admin, ids[1], 0, "100", true).await.0, 200);
    app.assert_reaches(ids[1], EcheanceStatus::Remboursee).await;
    let plan_now = view().await.expect("the plan");
    let totals = plan_now.refund_totals.expect("refunds were asked");
    assert_eq!((totals.paid, totals.refunded, totals.kept), (20_000, 14_000, 6_000));
    assert_eq!(plan_now.summary.collected.map(|t| t.minor), Some(20_000), "gross, as listed");
    let (line, digits) = refund_line(&page().await);
    assert_eq!(digits, ":20000:14000:6000", "{line}");
    assert!(line.starts_with("Encaissé") && line.contains("Remboursé") && line.contains("Conservé"), "{line}");

    // A refund Stripe has not finished (pending for days, as some banks' are): going back, not yet gone.
    let now = app.state.now_ms();
    let first = rows(&app).await.into_iter().find(|r| r.echeance_id == ids[0]).expect("the first refund");
    let pending = refund::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        seq: Set(1),
        amount_cents: Set(1_000),
        idempotency_key: Set(format!("{}-pending", first.idempotency_key)),
        status: Set(RefundStatus::Pending),
        stripe_refund_id: Set(Some("re_pending_for_days".to_owned())),
        created_at: Set(now),
        updated_at: Set(now),
        ..first.into()
    };
    sea_orm::ActiveModelTrait::insert(pending, &app.state.db).await.expect("written");
    let totals = view().await.expect("the plan").refund_totals.expect("refunds were asked");
    assert_eq!((totals.paid, totals.refunded, totals.kept), (20_000, 14_000, 5_000));
    let (line, digits) = refund_line(&page().await);
    assert_eq!(digits, ":20000:14000:1000:5000", "{line}");
    assert!(line.contains("En cours de remboursement"), "{line}");
}

#[tokio::test]
async fn a_refund_made_on_stripe_that_had_already_failed_is_listed_with_the_banks_reason() {
    let app = crate::helpers::spawn_app_by_hand().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.charged_today(&alice, 2_000).await;
    let pi = app.row(e).await.current_payment_intent_id.expect("its PaymentIntent");
    // Made in Stripe's Dashboard and failed before any of its events reached the app.
    app.stripe.set_delivery(Delivery::Hold);
    let made = app.stripe.post("/v1/refunds", &[("payment_intent", &pi), ("amount", "700")]).await;
    app.stripe.fail_refund(made["id"].as_str().expect("its id"), false).await;
    app.stripe.take_held();

    let report = crate::edges::reconcile(&app).await;
    let row = rows(&app).await.into_iter().find(|r| r.echeance_id == e).expect("listed");
    assert_eq!((row.status, row.failure_reason.as_deref()), (RefundStatus::Failed, Some("expired_or_canceled_card")));
    let timeline = app::ssr::services::admin::timeline(&app.state, EcheanceId::new(e).expect("id")).await.expect("t");
    let news: Vec<RefundNews> = timeline
        .entries
        .into_iter()
        .filter_map(|entry| match entry.event {
            TimelineEvent::Refund { news, .. } => Some(news),
            _ => None,
        })
        .collect();
    let [listed] = &news[..] else { panic!("one line: {news:?} {report:?}") };
    assert_eq!(
        (listed.from, listed.to, listed.why.as_deref()),
        (None, RefundStatus::Failed, Some("expired_or_canceled_card"))
    );
    assert_eq!(app.status(e).await, EcheanceStatus::Payee, "the money stayed");
}
