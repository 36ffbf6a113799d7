//! Disputes, on the dashboard: the échéance their payment collected moves (even
//! when that payment is not its current attempt's), each dispute is kept with
//! its deadline for evidence and, once lost, what it cost; every admin is told
//! of a new one. The disputes come from the Stripe layer, kept and listed
//! there, their events signed like the peer's.

use app::api::dto::TimelineEvent;
use app::domain::{Actor, Cause, DisputeNews, DisputeStatus, EcheanceId, EcheanceStatus, EmailKind, Locale};
use app::ssr::entities::{dispute, email_outbox};
use app::ssr::services::admin;
use app::ssr::services::charge::{self, Trigger};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::time::Duration;

use crate::edges::{attempt_that_never_reached_stripe, payment_intent_on_the_account, reconcile};
use crate::helpers::{Delivery, TestApp, cards, spawn_app_by_hand};

/// An échéance paid by its first attempt's PaymentIntent, which reached Stripe late, while
/// its current attempt (the second) waits for 3D Secure: (échéance, paying PaymentIntent).
async fn paid_by_an_older_attempt(app: &TestApp, cents: i64) -> (i64, String) {
    let (e, first, customer) = attempt_that_never_reached_stripe(app, cents).await;
    app.clock.advance(Duration::from_secs(31 * 60));
    reconcile(app).await;
    app.add_card(&customer, cards::SCA_ALWAYS).await;
    charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("attempt 2");
    let paying = payment_intent_on_the_account(app, &first, cents, app.state.installation_id.as_ref()).await;
    reconcile(app).await;
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_ne!(app.row(e).await.current_payment_intent_id.as_deref(), Some(paying.as_str()), "not the current one");
    (e, paying)
}

/// The admins' « new dispute » emails written so far.
async fn dispute_emails(app: &TestApp) -> Vec<email_outbox::Model> {
    email_outbox::Entity::find()
        .filter(email_outbox::Column::Kind.eq(EmailKind::AdminDisputeOpened))
        .all(&app.state.db)
        .await
        .expect("outbox")
}

/// A queued email as it will be sent.
async fn rendered(app: &TestApp, email: &email_outbox::Model) -> app::ssr::email::templates::Rendered {
    use app::ssr::email::templates;
    let source = templates::load(&app.state.db, email.kind, Locale::from_code(&email.locale)).await.expect("template");
    let context = serde_json::from_str(&email.context).expect("context");
    let context = templates::with_defaults(email.kind, context, app.state.settings.app_base_url.as_str());
    templates::render(&source, &context).expect("renders")
}

async fn dispute_of(app: &TestApp, e: i64) -> dispute::Model {
    dispute::Entity::find()
        .filter(dispute::Column::EcheanceId.eq(e))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("a dispute row")
}

#[tokio::test]
async fn a_dispute_won_and_a_dispute_lost_move_the_echeance_their_payment_collected() {
    let app = spawn_app_by_hand().await;
    let root = app.admin("root").await;
    let ops = app.admin("ops").await;
    app.stripe.set_delivery(Delivery::Hold);
    let (won_e, won_pi) = paid_by_an_older_attempt(&app, 3_300).await;
    let (lost_e, lost_pi) = paid_by_an_older_attempt(&app, 4_400).await;
    app.stripe.take_held();
    app.stripe.set_delivery(Delivery::Forward);

    let won = app.stripe.open_dispute(&won_pi).await;
    let lost = app.stripe.open_dispute(&lost_pi).await;
    app.process_inbox().await;
    for e in [won_e, lost_e] {
        let inbox: Vec<(String, String, Option<String>)> =
            app.inbox().await.into_iter().map(|r| (r.event_type, r.status.as_str().to_owned(), r.note)).collect();
        assert_eq!(app.status(e).await, EcheanceStatus::Contestee, "{inbox:?}");
        let timeline = admin::timeline(&app.state, EcheanceId::new(e).expect("id")).await.expect("timeline");
        let shown = &timeline.disputes[0];
        assert_eq!(shown.status, DisputeStatus::NeedsResponse);
        assert!(shown.evidence_due_by.is_some(), "the deadline for evidence is shown");
        assert!(timeline.refund_form.is_none(), "a disputed payment is not refunded");
        let money = timeline.refund_totals.expect("collected");
        assert_eq!((money.disputed, money.kept), (money.paid, 0), "a chargeback withdraws its amount when it opens");
    }
    let told = dispute_emails(&app).await;
    assert_eq!(told.len(), 4, "every admin told of each dispute, once");
    for admin in [&root, &ops] {
        assert_eq!(told.iter().filter(|m| m.to_address == admin.email).count(), 2);
    }
    assert!(told.iter().all(|m| m.context.contains("evidence_due_by") && m.context.contains("/admin/echeances/")));
    let email = rendered(&app, &told[0]).await;
    assert!(email.subject.starts_with("Contestation : "), "an échéance's own payment: {}", email.subject);
    assert!(!email.text.contains("double"), "{}", email.text);

    // The dispute is won weeks later: the échéance is « payée » again, on the day its payment came.
    let db = app.state.db.clone();
    let paid_at = |e: i64| {
        let db = db.clone();
        async move {
            app::ssr::entities::echeance::Entity::find_by_id(e).one(&db).await.expect("query").expect("row").paid_at
        }
    };
    let paid_on = paid_at(won_e).await;
    assert!(paid_on.is_some());
    app.clock.advance(Duration::from_secs(3 * 7 * 24 * 3600));
    app.stripe.close_dispute(&won, true).await;
    app.stripe.close_dispute(&lost, false).await;
    app.process_inbox().await;
    assert_eq!(app.status(won_e).await, EcheanceStatus::Payee, "won: the money stays");
    assert_eq!(paid_at(won_e).await, paid_on, "the payment's own date, not the dispute's end");
    assert_eq!(app.status(lost_e).await, EcheanceStatus::Remboursee, "lost: the money went back");
    assert_eq!(dispute_of(&app, won_e).await.status, DisputeStatus::Won);
    let lost_row = dispute_of(&app, lost_e).await;
    assert_eq!((lost_row.status, lost_row.amount_cents), (DisputeStatus::Lost, 4_400));
    let state = &app.state;
    let money = move |e: i64| async move {
        let timeline = admin::timeline(state, EcheanceId::new(e).expect("id")).await.expect("timeline");
        let t = timeline.refund_totals.expect("collected");
        (t.paid, t.refunded, t.leaving, t.disputed, t.kept)
    };
    assert_eq!(money(won_e).await, (3_300, 0, 0, 0, 3_300), "won: given back, kept");
    assert_eq!(money(lost_e).await, (4_400, 0, 0, 4_400, 0), "lost: the bank kept it, no refund");
    let browser = app.browser();
    app.login(&browser, &root).await;
    for (e, held) in [(won_e, false), (lost_e, true)] {
        let page = browser.get(format!("{}/admin/echeances/{e}?lang=fr", app.address)).send();
        let html = page.await.expect("answers").text().await.expect("page");
        assert_eq!(html.contains("Retenu par un litige"), held, "échéance {e}: the page says what the bank holds");
    }

    // An event of its open days delivered late (Stripe retries for days, in any order) reopens nothing.
    let late = serde_json::json!({"id": lost, "object": "dispute", "payment_intent": lost_pi, "amount": 4_400,
        "currency": "eur", "reason": "fraudulent", "status": "under_review",
        "evidence_details": {"due_by": app.state.now_ms() / 1000 + 86_400}});
    assert_eq!(app.deliver(&crate::helpers::event("evt_late_update", "charge.dispute.updated", late)).await, 200);
    app.process_inbox().await;
    let still = dispute_of(&app, lost_e).await;
    assert_eq!((still.status, still.evidence_due_by), (DisputeStatus::Lost, None));
    assert_eq!(app.status(lost_e).await, EcheanceStatus::Remboursee);

    // Its opening event delivered again after the close (a retried delivery): it reopens nothing.
    let reopened = serde_json::json!({"id": won, "object": "dispute", "payment_intent": won_pi, "amount": 3_300,
        "currency": "eur", "reason": "fraudulent", "status": "needs_response"});
    assert_eq!(app.deliver(&crate::helpers::event("evt_late_created", "charge.dispute.created", reopened)).await, 200);
    app.process_inbox().await;
    assert_eq!(app.status(won_e).await, EcheanceStatus::Payee, "a won dispute's late opening moves nothing");
    assert_eq!(dispute_of(&app, won_e).await.status, DisputeStatus::Won);

    // The reconciler reads the same disputes again: nothing moves twice, nobody is told twice.
    let again = reconcile(&app).await;
    assert_eq!(app.status(won_e).await, EcheanceStatus::Payee, "{again:?}");
    assert_eq!(app.status(lost_e).await, EcheanceStatus::Remboursee);
    let told_again = dispute_emails(&app).await;
    assert_eq!(told_again.len(), 4);
    assert_eq!(dispute::Entity::find().all(&app.state.db).await.expect("rows").len(), 2);
}

/// Stripe's own dispute object (every field; `payment_intent` null, as for a charge made without
/// one), made about `charge` for `cents`.
fn dispute_naming_only(id: &str, charge: &serde_json::Value, cents: i64, now: i64) -> serde_json::Value {
    let mut dispute: serde_json::Value =
        serde_json::from_str(include_str!("../../../app/src/ssr/payments/fixtures/dispute.json")).expect("fixture");
    assert!(dispute["payment_intent"].is_null(), "the fixture names only the charge");
    dispute["id"] = serde_json::json!(id);
    dispute["charge"] = charge.clone();
    dispute["amount"] = serde_json::json!(cents);
    dispute["currency"] = serde_json::json!("eur");
    dispute["status"] = serde_json::json!("needs_response");
    dispute["created"] = serde_json::json!(now);
    dispute["evidence_details"]["due_by"] = serde_json::json!(now + 7 * 86_400);
    dispute
}

#[tokio::test]
async fn a_dispute_that_names_only_the_charge_is_traced_to_its_payment_by_webhook_and_by_the_reconciler() {
    let app = spawn_app_by_hand().await;
    app.admin("root").await;
    let dora = app.customer("dora", Some(cards::OK)).await;
    let mut paid = Vec::new();
    for cents in [2_500, 3_500] {
        let e = app.echeance(&dora, cents, app.today()).await;
        charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("charged");
        assert_eq!(app.status(e).await, EcheanceStatus::Payee);
        let pi = app.row(e).await.current_payment_intent_id.expect("its PaymentIntent");
        let read = app.peer.get(&format!("/v1/payment_intents/{pi}")).await;
        // An id, or the charge itself (the peer expands it).
        let charge = read["latest_charge"]["id"].as_str().or(read["latest_charge"].as_str()).map(str::to_owned);
        let charge = serde_json::json!(charge.expect("a charge to dispute"));
        paid.push((e, pi, charge, cents));
    }
    let now = app.state.now_ms() / 1000;

    // By webhook: the event names the charge only; the charge names the PaymentIntent.
    let (by_event, pi, charge, cents) = &paid[0];
    let dispute = dispute_naming_only("dp_charge_only_1", charge, *cents, now);
    assert_eq!(app.deliver(&crate::helpers::event("evt_charge_only", "charge.dispute.created", dispute)).await, 200);
    app.process_inbox().await;
    let inbox: Vec<_> = app.inbox().await.into_iter().map(|r| (r.status, r.note)).collect();
    assert_eq!(app.status(*by_event).await, EcheanceStatus::Contestee, "{inbox:?}");
    let row = dispute_of(&app, *by_event).await;
    assert_eq!((row.payment_intent_id.as_str(), row.amount_cents), (pi.as_str(), *cents));
    assert!(app.stripe.calls("GET /v1/charges/{id}") >= 1, "the charge was read");

    // By the reconciler: a dispute whose webhook never came, listed with its charge only.
    let (by_listing, pi, charge, cents) = &paid[1];
    app.stripe.put_dispute(dispute_naming_only("dp_charge_only_2", charge, *cents, now));
    let report = reconcile(&app).await;
    assert_eq!(app.status(*by_listing).await, EcheanceStatus::Contestee, "{report:?}");
    assert_eq!(dispute_of(&app, *by_listing).await.payment_intent_id, *pi);
    let told = dispute_emails(&app).await;
    assert_eq!(told.len(), 2, "the admin is told of each, once");
}

/// The news of échéance `e`'s disputes its history tells, oldest first: (news, cause, who).
async fn dispute_news(app: &TestApp, e: i64) -> Vec<(DisputeNews, Cause, Actor)> {
    let timeline = admin::timeline(&app.state, EcheanceId::new(e).expect("id")).await.expect("timeline");
    let mut news: Vec<_> = timeline
        .entries
        .into_iter()
        .filter_map(|entry| match entry.event {
            TimelineEvent::Dispute { news, cause, actor, .. } => Some((news, cause, actor)),
            _ => None,
        })
        .collect();
    news.reverse();
    news
}

#[tokio::test]
async fn every_move_of_a_dispute_is_a_line_of_its_echeances_history_once() {
    let app = spawn_app_by_hand().await;
    app.admin("root").await;
    let erin = app.customer("erin", Some(cards::OK)).await;
    let e = app.charged_today(&erin, 4_400).await;
    let pi = app.row(e).await.current_payment_intent_id.expect("its PaymentIntent");
    let dp = app.stripe.open_dispute(&pi).await;
    app.process_inbox().await;
    // Read again while it is open: nothing new to say.
    reconcile(&app).await;
    let due_by = dispute_of(&app, e).await.evidence_due_by;
    // The merchant's evidence reached the bank: the dispute moves, the échéance does not.
    app.stripe.review_dispute(&dp).await;
    app.process_inbox().await;
    assert_eq!(app.status(e).await, EcheanceStatus::Contestee);
    let reviewed = dispute_of(&app, e).await;
    assert_eq!((reviewed.status, reviewed.evidence_due_by), (DisputeStatus::UnderReview, due_by), "Stripe keeps it");
    let timeline = admin::timeline(&app.state, EcheanceId::new(e).expect("id")).await.expect("timeline");
    assert_eq!(timeline.disputes[0].evidence_due_by, None, "no deadline shown once the bank reads the evidence");
    let note = app.audit(e).await.into_iter().rfind(|a| a.event == DisputeNews::EVENT).expect("its line");
    let disputed = Some(EcheanceStatus::Contestee);
    assert_eq!((note.from_status, note.to_status), (disputed, EcheanceStatus::Contestee), "a note");
    reconcile(&app).await;
    // Its opening delivered again days later (Stripe retries): an older report moves nothing back.
    let older = serde_json::json!({"id": dp, "object": "dispute", "payment_intent": pi, "amount": 4_000,
        "currency": "eur", "reason": "fraudulent", "status": "needs_response",
        "evidence_details": {"due_by": due_by.map(|ms| ms / 1000)}});
    assert_eq!(app.deliver(&crate::helpers::event("evt_old_open", "charge.dispute.created", older)).await, 200);
    app.process_inbox().await;
    let kept = dispute_of(&app, e).await;
    assert_eq!((kept.status, kept.amount_cents), (DisputeStatus::UnderReview, 4_400), "not moved back, nor its amount");
    app.stripe.close_dispute(&dp, true).await;
    app.process_inbox().await;
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);

    // Read again once decided: by the reconciler, by a late delivery of its open days.
    reconcile(&app).await;
    let late = serde_json::json!({"id": dp, "object": "dispute", "payment_intent": pi, "amount": 4_400,
        "currency": "eur", "reason": "fraudulent", "status": "under_review"});
    assert_eq!(app.deliver(&crate::helpers::event("evt_late_review", "charge.dispute.updated", late)).await, 200);
    app.process_inbox().await;

    let news = dispute_news(&app, e).await;
    let moves: Vec<_> = news.iter().map(|(n, ..)| (n.from, n.to)).collect();
    let (open, review, won) = (DisputeStatus::NeedsResponse, DisputeStatus::UnderReview, DisputeStatus::Won);
    assert_eq!(moves, [(None, open), (Some(open), review), (Some(review), won)], "each move once: {news:?}");
    for (n, cause, actor) in &news {
        assert_eq!((n.dispute.as_str(), n.amount, n.reason.as_deref()), (dp.as_str(), 4_400, Some("fraudulent")));
        assert_eq!(*cause, Cause::Webhook);
        assert!(matches!(actor, Actor::Stripe(Some(event)) if event.starts_with("evt_")), "{actor:?}");
    }

    // One only the reconciler finds (no event of it at all), the evidence sent already, says so;
    // the admins are told of it, with no deadline to press for.
    let e2 = app.charged_today(&erin, 1_200).await;
    let pi2 = app.row(e2).await.current_payment_intent_id.expect("its PaymentIntent");
    let now = app.state.now_ms() / 1000;
    app.stripe.put_dispute(serde_json::json!({"id": "dp_unheard", "object": "dispute", "payment_intent": pi2,
        "amount": 1_200, "currency": "eur", "reason": "general", "status": "under_review", "created": now,
        "evidence_details": {"due_by": now + 86_400, "has_evidence": true, "submission_count": 1}}));
    reconcile(&app).await;
    let news = dispute_news(&app, e2).await;
    assert_eq!(news.len(), 1, "{news:?}");
    assert_eq!((news[0].0.from, news[0].0.to, news[0].1), (None, review, Cause::Reconciler));
    assert_eq!(news[0].2, Actor::System(app::domain::SystemJob::Reconciler));
    let told: Vec<_> = dispute_emails(&app).await.into_iter().filter(|m| m.echeance_id == Some(e2)).collect();
    assert!(!told.is_empty() && told.iter().all(|m| m.context.contains(r#""evidence_due_by":"""#)), "{told:?}");

    // The network asks for evidence again (a second round, a later deadline): that is news, not an
    // old event, and the new deadline is shown.
    let e3 = app.charged_today(&erin, 900).await;
    let pi3 = app.row(e3).await.current_payment_intent_id.expect("its PaymentIntent");
    let dp3 = app.stripe.open_dispute(&pi3).await;
    app.process_inbox().await;
    app.stripe.review_dispute(&dp3).await;
    app.process_inbox().await;
    let first_due = dispute_of(&app, e3).await.evidence_due_by.expect("a deadline");
    let again = first_due / 1000 + 14 * 86_400;
    let asked = serde_json::json!({"id": dp3, "object": "dispute", "payment_intent": pi3, "amount": 900,
        "currency": "eur", "reason": "fraudulent", "status": "needs_response",
        "evidence_details": {"due_by": again, "has_evidence": true, "submission_count": 1}});
    assert_eq!(app.deliver(&crate::helpers::event("evt_second_round", "charge.dispute.updated", asked)).await, 200);
    app.process_inbox().await;
    // The first round's events retried after it (an earlier deadline): they move nothing back.
    for (n, status) in [(1, "needs_response"), (2, "under_review")] {
        let first = serde_json::json!({"id": dp3, "object": "dispute", "payment_intent": pi3, "amount": 900,
            "currency": "eur", "reason": "fraudulent", "status": status,
            "evidence_details": {"due_by": first_due / 1000}});
        let retried = crate::helpers::event(&format!("evt_first_round_{n}"), "charge.dispute.updated", first);
        assert_eq!(app.deliver(&retried).await, 200);
        app.process_inbox().await;
    }
    let row = dispute_of(&app, e3).await;
    assert_eq!((row.status, row.evidence_due_by), (open, Some(again * 1000)));
    let moves: Vec<_> = dispute_news(&app, e3).await.into_iter().map(|(n, ..)| (n.from, n.to)).collect();
    assert_eq!(moves, [(None, open), (Some(open), review), (Some(review), open)]);
    let timeline = admin::timeline(&app.state, EcheanceId::new(e3).expect("id")).await.expect("timeline");
    let shown = timeline.disputes[0].evidence_due_by.expect("the new deadline is shown");
    let tz = app.state.settings.schedule_timezone;
    assert_eq!(shown, app::ssr::clock::from_ms(again * 1000).with_timezone(&tz).naive_local(), "the second round's");
}

#[tokio::test]
async fn a_dispute_status_stripe_does_not_document_opens_one_to_answer_and_changes_nothing_known() {
    let app = spawn_app_by_hand().await;
    app.admin("root").await;
    let dora = app.customer("dora", Some(cards::OK)).await;
    let e = app.echeance(&dora, 2_500, app.today()).await;
    charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("charged");
    let pi = app.row(e).await.current_payment_intent_id.expect("its PaymentIntent");
    let due_by = app.state.now_ms() / 1000 + 7 * 86_400;
    let mut n = 0;
    let mut report = async |kind: &str, status: &str| {
        n += 1;
        let dispute = serde_json::json!({"id": "dp_new_word", "object": "dispute", "payment_intent": pi,
            "amount": 2_500, "currency": "eur", "reason": "fraudulent", "status": status,
            "evidence_details": {"due_by": due_by}});
        assert_eq!(app.deliver(&crate::helpers::event(&format!("evt_new_word_{n}"), kind, dispute)).await, 200);
        app.process_inbox().await;
        dispute_of(&app, e).await
    };

    // First seen with a word of its own: a chargeback to answer, the admins told, the deadline kept.
    let row = report("charge.dispute.created", "escalated").await;
    assert_eq!((row.status, row.evidence_due_by), (DisputeStatus::NeedsResponse, Some(due_by * 1000)));
    assert_eq!(app.status(e).await, EcheanceStatus::Contestee);
    let told = dispute_emails(&app).await;
    assert_eq!(told.len(), 1, "{told:?}");

    // A known word moves it; an unknown one after it leaves it where it was, open or closed.
    assert_eq!(report("charge.dispute.updated", "under_review").await.status, DisputeStatus::UnderReview);
    assert_eq!(report("charge.dispute.updated", "reviewed_again").await.status, DisputeStatus::UnderReview);
    assert_eq!(report("charge.dispute.closed", "closed_somehow").await.status, DisputeStatus::UnderReview);
    assert_eq!(app.status(e).await, EcheanceStatus::Contestee, "not decided: the échéance waits for a known end");
    assert_eq!(report("charge.dispute.closed", "won").await.status, DisputeStatus::Won);
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    assert_eq!(report("charge.dispute.updated", "later_word").await.status, DisputeStatus::Won);
    let timeline = admin::timeline(&app.state, EcheanceId::new(e).expect("id")).await.expect("timeline");
    assert_eq!(timeline.disputes.iter().map(|d| d.status).collect::<Vec<_>>(), [DisputeStatus::Won]);
}

#[tokio::test]
async fn disputes_stored_with_words_stripe_no_longer_documents_read_again_after_the_upgrade() {
    use migration::MigratorTrait as _;
    use sea_orm::ConnectionTrait as _;
    use sea_orm::sea_query::Query;
    let app = spawn_app_by_hand().await;
    let dora = app.customer("dora", Some(cards::OK)).await;
    let e = app.charged_today(&dora, 2_500).await;
    // Rows as an earlier version stored them: Stripe's word as it came.
    let db = &app.state.db;
    let old = [("dp_withdrawn", "charge_refunded"), ("dp_unknown", "escalated"), ("dp_known", "won")];
    for (id, word) in old {
        use dispute::Column as C;
        let columns = [C::EcheanceId, C::StripeDisputeId, C::PaymentIntentId, C::AmountCents, C::Currency, C::Status];
        let columns = columns.into_iter().chain([C::CreatedAt, C::UpdatedAt]);
        let values =
            [e.into(), id.into(), "pi_old".into(), 2_500.into(), "eur".into(), word.into(), 1.into(), 1.into()];
        let insert = Query::insert().into_table(dispute::Entity).columns(columns).values_panic(values).to_owned();
        db.execute_raw(db.get_database_backend().build(&insert)).await.expect("an old row");
    }
    assert!(dispute::Entity::find().all(db).await.is_err(), "an undocumented word does not read as a status");

    // The upgrade's migration, run again alone as on a database that had the rows before it.
    let forget = "DELETE FROM seaql_migrations WHERE version = 'm20261206_000019_dispute_status_words'";
    assert_eq!(db.execute_unprepared(forget).await.expect("forgotten").rows_affected(), 1);
    migration::Migrator::up(db, None).await.expect("up");
    let read = dispute::Entity::find().order_by_asc(dispute::Column::Id).all(db).await.expect("every row reads");
    let rows: Vec<(&str, DisputeStatus)> = read.iter().map(|d| (d.stripe_dispute_id.as_str(), d.status)).collect();
    let expected = [
        ("dp_withdrawn", DisputeStatus::Prevented),
        ("dp_unknown", DisputeStatus::NeedsResponse),
        ("dp_known", DisputeStatus::Won),
    ];
    assert_eq!(rows, expected);
    let timeline = admin::timeline(&app.state, EcheanceId::new(e).expect("id")).await.expect("the page reads");
    let money = timeline.refund_totals.expect("collected");
    assert_eq!(money.disputed, 2_500, "only the one to answer holds its amount");
}

#[tokio::test]
async fn a_dispute_of_a_second_payment_is_kept_and_told_and_leaves_the_echeance_and_its_money_as_they_are() {
    use app::ssr::entities::charge_attempt;
    let app = spawn_app_by_hand().await;
    let root = app.admin("root").await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let plan = crate::plans::accepted_plan(&app, &alice, 2_500, 1).await;
    let e = plan.echeances[0].id;
    charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("paid");
    let first = app.attempts(e).await.remove(0);
    // Collected a second time (a double charge the reconciler lists as drift): its own attempt, paid after.
    let second = charge_attempt::Model { attempt_no: 2, ..first.clone() };
    let twice = payment_intent_on_the_account(&app, &second, 2_500, app.state.installation_id.as_ref()).await;
    app.collected_again(&first, &twice).await;
    app.clock.advance(Duration::from_secs(2));

    // The cardholder disputes the second payment (the bank takes it back): it was ignored.
    let dispute = app.stripe.open_dispute(&twice).await;
    app.process_inbox().await;
    let row = dispute_of(&app, e).await;
    assert_eq!((row.stripe_dispute_id.as_str(), row.payment_intent_id.as_str()), (dispute.as_str(), twice.as_str()));
    assert!(row.of_second_payment, "{row:?}");
    assert_eq!(app.status(e).await, EcheanceStatus::Payee, "its own payment is not disputed");
    let told = dispute_emails(&app).await;
    assert_eq!(told.len(), 1, "the admins are told");
    // In words that keep them from fighting a dispute of money that was not owed.
    let email = rendered(&app, &told[0]).await;
    assert!(email.subject.starts_with("Contestation d’un paiement en double : "), "{}", email.subject);
    assert!(
        email.text.contains("un double prélèvement. Le paiement de l’échéance n’est pas en cause"),
        "{}",
        email.text
    );
    assert!(!email.text.contains("Les preuves sont à envoyer"), "no call for evidence: {}", email.text);
    let timeline = admin::timeline(&app.state, EcheanceId::new(e).expect("id")).await.expect("timeline");
    assert!(timeline.disputes.iter().any(|d| d.stripe_dispute_id == dispute && d.of_second_payment));
    let money = timeline.refund_totals.expect("collected");
    assert_eq!((money.disputed, money.kept), (0, money.paid), "the échéance's own payment is all kept");
    assert!(timeline.refund_form.is_some(), "its own payment can still be refunded");
    let on_the_plan = app::ssr::services::plans::view(&app.state, plan.plan.id, 0).await.expect("the plan's page");
    assert_eq!(on_the_plan.refund_totals, None, "nothing of the plan's money left or is held");
    // The bank may still ask for evidence about that customer: not erased meanwhile.
    let erased = app::ssr::services::erasure::erase(&app.state, alice.id.get(), root.id).await;
    assert!(
        matches!(erased, Err(app::ssr::services::error::ServiceError::Refused(app::domain::Refusal::ErasureBlocked))),
        "{erased:?}"
    );

    // The reconciler lists the double charge while the second payment is kept.
    let twice_listed = |report: &app::ssr::services::reconcile::Report| {
        report.drift.iter().any(|d| d.echeance_id == e && d.stripe == "succeeded ×2")
    };
    assert!(twice_listed(&reconcile(&app).await), "listed while its second payment is held");

    // Lost: the bank took the second payment back; the échéance's own payment is still « payée ».
    app.stripe.close_dispute(&dispute, false).await;
    app.process_inbox().await;
    assert_eq!(dispute_of(&app, e).await.status, DisputeStatus::Lost);
    assert_eq!(app.status(e).await, EcheanceStatus::Payee);
    // Its money back with the customer (no refund can be made of it now): no longer listed.
    assert!(!twice_listed(&reconcile(&app).await), "the second payment went back through the dispute");
    let inbox: Vec<_> = app.inbox().await.into_iter().filter(|r| r.event_type.starts_with("charge.dispute")).collect();
    assert!(inbox.iter().all(|r| r.note.as_deref().is_some_and(|n| n.contains("of-a-second-payment"))), "{inbox:?}");
}
