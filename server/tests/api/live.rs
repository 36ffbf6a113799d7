//! `GET /events`: status changes pushed to the screens allowed to see them,
//! fed from the database so a change made by another process arrives too.

use std::time::Duration;

use app::api::dto::LiveChange;
use app::domain::{EcheanceId, EcheanceStatus};
use app::ssr::services::charge::{self, Trigger};

use crate::helpers::{TestApp, cards, spawn_app, spawn_on};

/// An open `/events` stream.
struct Events {
    response: reqwest::Response,
    buffer: String,
    received: Vec<LiveChange>,
}

impl Events {
    async fn open(app: &TestApp, client: &reqwest::Client) -> Self {
        Self::open_at(app, client, "/events").await
    }

    async fn open_at(app: &TestApp, client: &reqwest::Client, path: &str) -> Self {
        let response = client.get(format!("{}{path}", app.address)).send().await.expect("answers");
        assert_eq!(response.status(), 200);
        let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        let mut events = Self { response, buffer: String::new(), received: Vec::new() };
        // The first event says the stream is ready (the subscription exists from here on).
        events.read_until(crate::helpers::PATIENCE, |_, ready| !ready.is_empty()).await;
        events
    }

    /// A new screen of `admin`, logged in, that has heard nothing yet: what the feed read before it
    /// opened, still on its way (the feed reads every 200 ms), is let go.
    async fn of_admin(app: &TestApp, admin: &crate::helpers::Customer) -> Self {
        let screen = app.browser();
        app.login(&screen, admin).await;
        let mut events = Self::open(app, &screen).await;
        events.read_until(Duration::from_millis(600), |_, _| false).await;
        events.received.clear();
        events
    }

    /// Reads until `done` says so or `within` passes; returns every échéance change received so far.
    async fn read_until(&mut self, within: Duration, done: impl Fn(&[LiveChange], &str) -> bool) -> Vec<LiveChange> {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen_ready = false;
        while !done(&self.received, if seen_ready { "event: ready" } else { "" }) {
            let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, self.response.chunk()).await else { break };
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            // One event per block, blocks end with a blank line.
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                seen_ready |= block.contains("event: ready");
                if block.contains("event: echeance") {
                    let data = block.lines().find_map(|l| l.strip_prefix("data: ")).expect("data");
                    self.received.push(serde_json::from_str(data).expect("a LiveChange"));
                }
            }
        }
        self.received.clone()
    }

    /// The statuses pushed for échéance `id` within `within`, until it reaches `last`.
    async fn statuses_of(&mut self, id: i64, last: EcheanceStatus, within: Duration) -> Vec<EcheanceStatus> {
        let done = |r: &[LiveChange], _: &str| r.iter().any(|c| c.echeance_id == id && c.status == last);
        self.read_until(within, done).await.into_iter().filter(|c| c.echeance_id == id).map(|c| c.status).collect()
    }
}

fn id(n: i64) -> EcheanceId {
    EcheanceId::new(n).expect("id")
}

#[tokio::test]
async fn a_customer_sees_their_own_echeances_change_and_nothing_of_anyone_elses_an_admin_sees_all() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let bob = app.customer("bob", Some(cards::OK)).await;
    let admin = app.admin("root").await;
    let (alice_screen, bob_screen, admin_screen) = (app.browser(), app.browser(), app.browser());
    app.login(&alice_screen, &alice).await;
    app.login(&bob_screen, &bob).await;
    app.login(&admin_screen, &admin).await;
    let mut alice_events = Events::open(&app, &alice_screen).await;
    let mut bob_events = Events::open(&app, &bob_screen).await;
    let mut admin_events = Events::open(&app, &admin_screen).await;
    let ea = app.echeance(&alice, 2_000, app.today()).await;
    let eb = app.echeance(&bob, 3_000, app.today()).await;

    charge::charge(&app.state, id(ea), Trigger::DueDate).await.expect("charged");

    let seen = alice_events.statuses_of(ea, EcheanceStatus::Payee, crate::helpers::PATIENCE).await;
    assert_eq!(seen.last(), Some(&EcheanceStatus::Payee), "{seen:?}");
    // The intermediate status, or the final one alone: the feed pushes an échéance as it is now for
    // each change it reads, so two changes read together push « payée » twice.
    assert!(seen.contains(&EcheanceStatus::EnCours) || seen.iter().all(|s| *s == EcheanceStatus::Payee), "{seen:?}");
    let seen = admin_events.statuses_of(ea, EcheanceStatus::Payee, crate::helpers::PATIENCE).await;
    assert_eq!(seen.last(), Some(&EcheanceStatus::Payee), "{seen:?}");

    // Bob's screen: his own change arrives, and nothing of Alice's ever did.
    charge::charge(&app.state, id(eb), Trigger::DueDate).await.expect("charged");
    let seen = bob_events.statuses_of(eb, EcheanceStatus::Payee, crate::helpers::PATIENCE).await;
    assert_eq!(seen.last(), Some(&EcheanceStatus::Payee), "{seen:?}");
    assert!(bob_events.received.iter().all(|c| c.echeance_id == eb), "{:?}", bob_events.received);
}

#[tokio::test]
async fn a_change_made_by_another_process_reaches_the_screens_of_this_one() {
    let one = spawn_app().await;
    let two = spawn_on(one.db.clone(), one.peer.clone(), Default::default()).await;
    let alice = one.customer("alice", Some(cards::OK)).await;
    let e = one.echeance(&alice, 2_000, one.today()).await;
    let screen = one.browser();
    one.login(&screen, &alice).await;
    let mut events = Events::open(&one, &screen).await;

    // The second instance changes the status; this instance's screen hears of it from the database.
    charge::charge(&two.state, id(e), Trigger::DueDate).await.expect("charged by the other instance");

    let seen = events.statuses_of(e, EcheanceStatus::Payee, crate::helpers::PATIENCE).await;
    assert_eq!(seen.last(), Some(&EcheanceStatus::Payee), "{seen:?}");
    drop(two);
}

#[tokio::test]
async fn nobody_logged_in_gets_no_stream() {
    let app = spawn_app().await;
    let response = app.browser().get(format!("{}/events", app.address)).send().await.expect("answers");
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_3ds_page_opened_by_its_link_follows_its_echeance_and_nothing_else_and_a_bad_link_gets_no_stream() {
    use app::domain::RecoveryToken;
    use app::ssr::services::authenticate::{self, Access};
    use secrecy::ExposeSecret as _;
    let app = spawn_app().await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let dave = app.customer("dave", Some(cards::OK)).await;
    let e = app.echeance(&carol, 3_000, app.today()).await;
    let carols_other = app.echeance(&carol, 4_000, app.today()).await;
    let daves = app.echeance(&dave, 5_000, app.today()).await;
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(app.status(e).await, EcheanceStatus::EnAttente);
    let pi = app.row(e).await.current_payment_intent_id.expect("pi");
    let secret = app.state.settings.app_secret.expose_secret().as_bytes().to_vec();
    let token = RecoveryToken::sign(&secret, &pi, app.state.now_ms() / 1000 + 3600);
    let path = |token: &str| format!("/events?payment_intent={pi}&token={token}");

    // Whoever holds a bad link, or no link and no session, gets no stream.
    let stranger = app.browser();
    let tampered = format!("{}x", token.as_str());
    let someone_elses = RecoveryToken::sign(&secret, "pi_someone_else", app.state.now_ms() / 1000 + 3600);
    let expired = RecoveryToken::sign(&secret, &pi, app.state.now_ms() / 1000 - 1);
    for bad in [tampered.as_str(), someone_elses.as_str(), expired.as_str()] {
        let response = stranger.get(format!("{}{}", app.address, path(bad))).send().await.expect("answers");
        assert_eq!(response.status(), 410, "{bad}");
    }
    let no_token = format!("{}/events?payment_intent={pi}", app.address);
    assert_eq!(stranger.get(&no_token).send().await.expect("answers").status(), 401);
    let daves_screen = app.browser();
    app.login(&daves_screen, &dave).await;
    assert_eq!(daves_screen.get(&no_token).send().await.expect("answers").status(), 404, "not Dave's échéance");

    // The link alone, in a browser with no session: the status as it is now, then its changes only.
    let mut page = Events::open_at(&app, &stranger, &path(token.as_str())).await;
    let seen = page.statuses_of(e, EcheanceStatus::EnAttente, crate::helpers::PATIENCE).await;
    assert_eq!(seen, vec![EcheanceStatus::EnAttente]);
    charge::charge(&app.state, id(daves), Trigger::DueDate).await.expect("charged");
    charge::charge(&app.state, id(carols_other), Trigger::DueDate).await.expect("sent");
    assert_eq!(app.status(daves).await, EcheanceStatus::Payee);
    let client_secret = app.attempts(e).await[0].client_secret.clone().expect("client secret");
    app.stripe.authenticate(&pi, &client_secret, true).await;
    authenticate::confirm(&app.state, &pi, &Access::Token(token.as_str().to_owned())).await.expect("checked");

    let seen = page.statuses_of(e, EcheanceStatus::Payee, crate::helpers::PATIENCE).await;
    assert_eq!(seen.last(), Some(&EcheanceStatus::Payee), "{seen:?}");
    assert!(page.received.iter().all(|c| c.echeance_id == e), "only its own échéance: {:?}", page.received);

    // Its owner, logged in, may follow it without the link.
    let carols_screen = app.browser();
    app.login(&carols_screen, &carol).await;
    let mut own = Events::open_at(&app, &carols_screen, &format!("/events?payment_intent={pi}")).await;
    assert_eq!(own.statuses_of(e, EcheanceStatus::Payee, crate::helpers::PATIENCE).await, vec![EcheanceStatus::Payee]);
}

#[tokio::test]
async fn a_note_on_a_timeline_reaches_the_admins_screens_though_the_status_stays() {
    let (app, _, e) = crate::legacy::spawn_with_session("cs_test_gone", "expired", "unpaid").await;
    let admin = app.admin("root").await;
    let screen = app.browser();
    app.login(&screen, &admin).await;
    let mut events = Events::open(&app, &screen).await;

    // The original site's session expired: the échéance lets go of it (a note on its timeline), still « à payer ».
    app.deliver(&crate::legacy::expired_session_event("evt_cs_gone", "cs_test_gone", e)).await;

    let seen = events.statuses_of(e, EcheanceStatus::APayer, crate::helpers::PATIENCE).await;
    assert_eq!(seen, vec![EcheanceStatus::APayer], "the admin's timeline reloads");
    assert_eq!(app.row(e).await.checkout_session_id, None);
}

#[tokio::test]
async fn a_plan_made_for_a_customer_appears_on_their_open_screen() {
    use app::domain::Interval;
    use app::ssr::services::plans;
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let screen = app.browser();
    app.login(&screen, &alice).await;
    let mut events = Events::open(&app, &screen).await;

    let input = crate::plans::request(&alice.email, 30_000, 3, app.today(), Interval::Month);
    let created = plans::create(&app.state, None, input).await.expect("created");

    let last = created.echeances.last().expect("three échéances").id;
    events.statuses_of(last, EcheanceStatus::APayer, crate::helpers::PATIENCE).await;
    let heard: Vec<i64> = events.received.iter().map(|c| c.echeance_id).collect();
    let made: Vec<i64> = created.echeances.iter().map(|e| e.id).collect();
    assert_eq!(heard, made, "each new échéance, once, in order");
    assert!(events.received.iter().all(|c| c.plan_id == Some(created.plan.id) && c.status == EcheanceStatus::APayer));
}

#[tokio::test]
async fn a_refund_failing_after_the_fact_reaches_the_admins_screens_though_the_status_stays() {
    use app::domain::{Amount, RefundReason, RefundStatus};
    use app::ssr::services::refunds;
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.charged_today(&alice, 2_000).await;
    let admin = app.admin("root").await;
    let amount = Amount::from_minor(500).expect("amount");
    let ask = refunds::Ask { echeance: id(e), seen: 0, amount, reason: RefundReason::RequestedByCustomer };
    assert_eq!(refunds::refund(&app.state, ask, admin.id).await.expect("refunded"), RefundStatus::Succeeded);
    // The partial refund's own news is in before the screen opens.
    app.apply_once_stored(&["charge.refunded"]).await;
    let mut events = Events::of_admin(&app, &admin).await;

    // The bank sends the 5 € back to the merchant: the refund fails, the échéance stays « payée ».
    let refund = app::ssr::services::refunds::of(&app.state.db, e).await.expect("refunds").remove(0);
    app.stripe.fail_refund(refund.stripe_refund_id.as_deref().expect("its id"), true).await;

    let seen = events.statuses_of(e, EcheanceStatus::Payee, crate::helpers::PATIENCE).await;
    assert_eq!(seen, vec![EcheanceStatus::Payee], "the admin's timeline reloads");
    let now = app::ssr::services::refunds::of(&app.state.db, e).await.expect("refunds").remove(0);
    assert_eq!(now.status, RefundStatus::Failed, "what the reload reads");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
}

#[tokio::test]
async fn a_dispute_under_review_reaches_the_admins_screens_though_the_echeance_stays_disputed() {
    use app::domain::DisputeStatus;
    use app::ssr::services::disputes;
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.charged_today(&alice, 2_000).await;
    let admin = app.admin("root").await;
    let pi = app.row(e).await.current_payment_intent_id.expect("its PaymentIntent");
    let dispute = app.stripe.open_dispute(&pi).await;
    app.assert_reaches(e, EcheanceStatus::Contestee).await;
    let mut events = Events::of_admin(&app, &admin).await;

    // The merchant's evidence reached the bank: the chargeback is under review, still disputed.
    app.stripe.review_dispute(&dispute).await;

    let seen = events.statuses_of(e, EcheanceStatus::Contestee, crate::helpers::PATIENCE).await;
    assert_eq!(seen, vec![EcheanceStatus::Contestee], "the admin's timeline reloads");
    let now = disputes::of_all(&app.state.db, [e]).await.expect("disputes").remove(0);
    assert_eq!(now.status, DisputeStatus::UnderReview, "what the reload reads");
}
