//! Erasing a customer: afterwards no text column of any table holds their
//! name or address (a scan of every one), their Stripe customer is gone, the
//! amounts and statuses of what they paid stay; refused while a charge of
//! theirs is in flight, with nothing changed.

use std::time::Duration;

use app::api::dto::AdminFilter;
use app::domain::{EcheanceId, EcheanceStatus, Interval, Refusal, UserId};
use app::ssr::entities::{admin_audit, echeance};
use app::ssr::services::admin::{self, Filter};
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::error::ServiceError;
use app::ssr::services::links::{self, Purpose};
use app::ssr::services::{cards, erasure, plans};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, Statement,
};

use crate::helpers::mail::MailCatcher;
use crate::helpers::{Customer, Fault, Options, TestApp, cards as test_cards, spawn_app_with, spawn_on};
use crate::plans::{consent, request};

const EMAIL: &str = "zoe.efface@example.test";
const NAME: &str = "Zoé Martin";

/// Rows, in every text column of every table, that hold `needle`: "table.column: n".
async fn traces(app: &TestApp, needle: &str) -> Vec<String> {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let mut found = Vec::new();
    for (table, columns) in erasure::text_columns(db).await.expect("columns") {
        for column in columns {
            let test = match backend {
                DbBackend::Postgres => format!("strpos(\"{column}\", $1) > 0"),
                _ => format!("instr(\"{column}\", ?1) > 0"),
            };
            let sql = format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE {test}");
            let row = db
                .query_one_raw(Statement::from_sql_and_values(backend, sql, [needle.into()]))
                .await
                .expect("scan")
                .expect("a count");
            let n: i64 = row.try_get("", "n").expect("n");
            if n > 0 {
                found.push(format!("{table}.{column}: {n}"));
            }
        }
    }
    found
}

async fn statuses(app: &TestApp, customer: i64) -> Vec<(i64, i64, EcheanceStatus)> {
    echeance::Entity::find()
        .filter(echeance::Column::UserId.eq(customer))
        .order_by_asc(echeance::Column::Id)
        .all(&app.state.db)
        .await
        .expect("query")
        .into_iter()
        .map(|e| (e.id, e.amount_cents, e.status))
        .collect()
}

#[tokio::test]
async fn an_erased_customer_leaves_no_name_nor_address_in_any_table_and_what_they_paid_stays() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { env: vec![("SMTP_URL", mail.smtp_url())], ..Default::default() }).await;
    let admin = app.admin("root").await;
    // Invited with a plan (emails with their name and address), accepted, a card, the first échéance paid.
    // A label that names the customer: rows that hold the name without the address.
    let mut input = request(EMAIL, 90_000, 3, app.today(), Interval::Week);
    input.label = format!("Formation de {NAME}");
    let created = plans::create(&app.state, None, input).await.expect("created");
    let id = created.plan.customer_id;
    let customer_id = UserId::new(id).expect("id");
    plans::accept(&app.state, created.plan.id, customer_id, "mandat".to_owned(), consent()).await.expect("accepted");
    let stripe_customer = cards::ensure_customer(&app.state, customer_id).await.expect("Stripe customer");
    let zoe = Customer { id: customer_id, email: EMAIL.to_owned(), password: String::new(), stripe_customer };
    app.add_card(&zoe, test_cards::OK).await;
    let [first, second, third] = [0, 1, 2].map(|i| EcheanceId::new(created.echeances[i].id).expect("id"));
    let paid = charge::charge(&app.state, first, Trigger::Customer(customer_id)).await.expect("paid");
    assert_eq!(paid.status, EcheanceStatus::Payee);
    // Their address in the login records and a login link.
    assert_eq!(app.login_status(EMAIL, "pas le bon mot de passe").await, 401);
    links::request(&app.state, EMAIL, Purpose::Login, "203.0.113.9").await.expect("asked");
    let sent = mail.wait_for(3, crate::helpers::PATIENCE).await;
    assert!(sent.len() >= 3, "the setup's emails went out: {sent:?}");
    assert!(!traces(&app, EMAIL).await.is_empty() && !traces(&app, NAME).await.is_empty(), "the setup left traces");

    // In flight: refused, nothing changed.
    for _ in 0..4 {
        app.stripe.inject("POST /v1/payment_intents", Fault::Unavailable);
    }
    let unknown = charge::charge(&app.state, second, Trigger::Customer(customer_id)).await.expect("sent");
    assert_eq!(unknown.status, EcheanceStatus::EnCours);
    let refused = erasure::erase(&app.state, id, admin.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::ErasureBlocked))), "{refused:?}");
    assert!(!traces(&app, EMAIL).await.is_empty(), "nothing erased");
    // Past the key's retention, with no PaymentIntent on Stripe, the attempt is given up.
    app.clock.advance(Duration::from_secs(25 * 3600));
    // Given up by this call, or by the follow-up worker's pass if it came first since the clock moved.
    charge::resume(&app.state, 10).await.expect("settled");
    app.assert_reaches(second.get(), EcheanceStatus::APayer).await;

    // The dashboard's search (on SQLite through its trigram indexes) finds them by name and address.
    let state = &app.state;
    let searched = |text: &str| {
        let filter = Filter::parse(&AdminFilter { q: Some(text.to_owned()), ..Default::default() }).expect("filter");
        async move { admin::list(state, &filter, 0).await.expect("dashboard").total }
    };
    assert_eq!((searched("martin").await, searched("zoe.efface").await), (3, 3));

    let before = statuses(&app, id).await;
    let erased = erasure::erase(&app.state, id, admin.id).await.expect("erased");
    assert_eq!(traces(&app, EMAIL).await, Vec::<String>::new(), "the address is nowhere");
    assert_eq!(traces(&app, NAME).await, Vec::<String>::new(), "the name is nowhere");
    assert!(!traces(&app, &erased.email).await.is_empty(), "the pseudonym stands in");
    assert_eq!((searched("martin").await, searched("zoe.efface").await), (0, 0), "the search finds them no more");
    assert_eq!(searched(&erased.email).await, 3, "but finds the pseudonym");

    // What was paid stays paid, with its amounts; what was still to collect is cancelled.
    let after = statuses(&app, id).await;
    assert_eq!(after.len(), before.len());
    for ((b_id, b_amount, b_status), (a_id, a_amount, a_status)) in before.iter().zip(&after) {
        assert_eq!((b_id, b_amount), (a_id, a_amount));
        if [second.get(), third.get()].contains(b_id) {
            assert_eq!(*a_status, EcheanceStatus::Annulee);
        } else {
            assert_eq!(a_status, b_status);
        }
    }
    let on_stripe = app.peer.get(&format!("/v1/customers/{}", zoe.stripe_customer)).await;
    assert!(
        on_stripe.get("error").is_some() || on_stripe["deleted"] == true,
        "the Stripe customer is gone: {on_stripe}"
    );
    assert!(cards::default_card(&app.state, customer_id).await.expect("query").is_none(), "no card left");
    let audit = admin_audit::Entity::find().filter(admin_audit::Column::Action.eq("customer.erase")).one(&app.state.db);
    assert_eq!(audit.await.expect("query").map(|a| a.subject), Some(format!("user:{id}")));

    // The admin's pages name them as erased in the reader's language, not by the stored pseudonym.
    let pages = [format!("/admin/plans/{}", created.plan.id), format!("/admin/echeances/{first}")];
    for (lang, shown) in [("en", "Erased customer &lt;efface-"), ("fr", "Client effacé &lt;efface-")] {
        let as_admin = app.browser();
        app.login(&as_admin, &admin).await;
        for path in &pages {
            let page = as_admin.get(format!("{}{path}?lang={lang}", app.address)).send();
            let html = page.await.expect("answers").text().await.expect("page");
            assert!(html.contains(shown), "{lang} {path}: {shown} not in the page");
        }
    }
}

#[tokio::test]
async fn the_dashboard_erases_only_with_its_confirmation_box_ticked_and_says_so_with_a_422() {
    let app = spawn_app_with(Options::default()).await;
    let admin = app.admin("root").await;
    let created =
        plans::create(&app.state, None, request(EMAIL, 90_000, 3, app.today(), Interval::Week)).await.expect("created");
    let browser = app.browser();
    app.login(&browser, &admin).await;
    let plan_id = created.plan.id.to_string();

    // Without the box: a refusal of the form (it was a 500, as if the server had failed), nothing erased.
    let (status, error) = app.call(&browser, "admin/plans/erase-customer", &[("plan_id", &plan_id)]).await;
    assert_eq!(status, 422, "{error}");
    assert!(!traces(&app, EMAIL).await.is_empty(), "nothing erased");

    let confirmed = [("plan_id", plan_id.as_str()), ("confirm", "on")];
    let (status, answer) = app.call(&browser, "admin/plans/erase-customer", &confirmed).await;
    assert_eq!(status, 200, "{answer}");
    assert!(traces(&app, EMAIL).await.is_empty(), "erased");
}

#[tokio::test]
async fn an_erasure_while_a_checkout_payment_processes_is_refused_before_the_account_is_closed() {
    use app::ssr::entities::user;

    let app = spawn_app_with(Options::default()).await;
    let admin = app.admin("root").await;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let open = app.echeance(&alice, 4_000, app.today()).await;
    app.link_checkout_session(open, "cs_test_open", "open", "unpaid").await;
    let processing = app.echeance(&alice, 4_000, app.today()).await;
    app.link_checkout_session(processing, "cs_test_processing", "complete", "unpaid").await;
    let disabled = || async {
        user::Entity::find_by_id(alice.id.get()).one(&app.state.db).await.expect("query").expect("row").disabled_at
    };

    // Refused before anything of the account changed (it was disabled, then the cancel refused, and
    // every run again stopped there, the account closed and half erased).
    let refused = erasure::erase(&app.state, alice.id.get(), admin.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::ErasureBlocked))), "{refused:?}");
    assert_eq!(disabled().await, None, "the account is still open");
    assert!(!traces(&app, &alice.email).await.is_empty(), "nothing erased");
    assert_eq!(app.status(processing).await, EcheanceStatus::APayer);
    assert_eq!(app.stripe.checkout_session_status("cs_test_open").as_deref(), Some("open"), "nor on Stripe");
    assert_eq!(app.row(open).await.checkout_session_id.as_deref(), Some("cs_test_open"));

    // Once the payment has settled (it collected), the erasure goes through: paid stays paid,
    // the open session is expired on Stripe before its échéance is cancelled.
    app.link_checkout_session(processing, "cs_test_processing", "complete", "paid").await;
    erasure::erase(&app.state, alice.id.get(), admin.id).await.expect("erased");
    assert!(disabled().await.is_some());
    assert_eq!(app.status(processing).await, EcheanceStatus::Payee);
    assert_eq!(app.status(open).await, EcheanceStatus::Annulee);
    assert_eq!(app.stripe.checkout_session_status("cs_test_open").as_deref(), Some("expired"), "cannot collect");
    assert!(traces(&app, &alice.email).await.is_empty(), "erased");
}

#[tokio::test]
async fn an_erasure_while_a_declined_payment_intent_is_processing_again_is_refused_before_anything_changes() {
    use app::ssr::entities::user;

    let app = spawn_app_with(Options::default()).await;
    let admin = app.admin("root").await;
    let bob = app.customer("bob", Some(test_cards::DECLINED)).await;
    let e = app.echeance(&bob, 4_000, app.today()).await;
    let declined = charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("sent");
    assert_eq!(declined.status, EcheanceStatus::Echouee);
    let pi = declined.payment_intent_id.expect("the declined PaymentIntent");
    // Confirmed again from the customer's page, processing: it may yet collect, and cannot be cancelled.
    app.stripe.set_processing(&pi, true);
    let disabled = || async {
        user::Entity::find_by_id(bob.id.get()).one(&app.state.db).await.expect("query").expect("row").disabled_at
    };

    let refused = erasure::erase(&app.state, bob.id.get(), admin.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::ErasureBlocked))), "{refused:?}");
    assert_eq!(disabled().await, None, "the account is still open");
    assert_eq!(app.status(e).await, EcheanceStatus::Echouee);

    // The bank failed it: the erasure goes through, the PaymentIntent cancelled with the échéance.
    app.stripe.set_processing(&pi, false);
    erasure::erase(&app.state, bob.id.get(), admin.id).await.expect("erased");
    assert!(disabled().await.is_some());
    assert_eq!(app.status(e).await, EcheanceStatus::Annulee);
    assert_eq!(app.peer.get(&format!("/v1/payment_intents/{pi}")).await["status"], "canceled");
}

#[tokio::test]
async fn a_customer_erased_on_the_live_keys_loses_her_test_record_at_the_first_reconciliation_on_the_test_keys() {
    use app::domain::{KeyMode, ReconcileProblem, ReconcileStep};
    const DELETE: &str = "DELETE /v1/customers/{id}";
    // Zoe and Yann were customers of the test days (a Stripe record and a card of the test keys);
    // so was Xena, whose address the host site gave as a placeholder of the erased addresses' domain.
    let first = spawn_app_with(Options { workers: false, ..Options::default() }).await;
    let zoe = first.customer("zoe", Some(test_cards::OK)).await;
    let yann = first.customer("yann", Some(test_cards::OK)).await;
    let xena = first.customer("xena", Some(test_cards::OK)).await;
    app::ssr::entities::user::Entity::update_many()
        .col_expr(app::ssr::entities::user::Column::Email, sea_orm::sea_query::Expr::value("xena@erased.invalid"))
        .filter(app::ssr::entities::user::Column::Id.eq(xena.id.get()))
        .exec(&first.state.db)
        .await
        .expect("her placeholder");
    let (db, peer) = (first.db.clone(), first.peer.clone());
    drop(first);
    let at_stripe = async |id: &str| {
        let record = peer.get(&format!("/v1/customers/{id}")).await;
        record.get("error").is_none() && record["deleted"] != true
    };
    let kept =
        async |app: &TestApp, mode: KeyMode| cards::customer_of(&app.state.db, zoe.id.get(), mode).await.expect("q");

    // On the live keys she saves a card, then is erased: her live record is deleted at Stripe; her
    // test one, out of the live keys' reach, is kept here, and the live keys' reconciler leaves it.
    let live_keys = vec![("STRIPE_SECRET_KEY", "sk_live_echeancier_tests".to_owned())];
    let live = spawn_on(db.clone(), peer.clone(), Options { workers: false, env: live_keys }).await;
    live.save_card_through_setup(zoe.id, test_cards::OK).await;
    let live_record = kept(&live, KeyMode::Live).await.expect("made with the live keys");
    let admin = live.admin("root").await;
    erasure::erase(&live.state, zoe.id.get(), admin.id).await.expect("erased");
    erasure::erase(&live.state, yann.id.get(), admin.id).await.expect("erased");
    assert!(!at_stripe(&live_record).await, "her live record deleted at once");
    assert!(at_stripe(&zoe.stripe_customer).await, "her test record still at Stripe");
    assert_eq!(kept(&live, KeyMode::Test).await.as_deref(), Some(zoe.stripe_customer.as_str()));
    assert_eq!(kept(&live, KeyMode::Live).await, None);
    crate::edges::reconcile(&live).await;
    assert_eq!(live.stripe.calls(DELETE), 1, "the erasure's only");
    assert!(at_stripe(&zoe.stripe_customer).await);
    drop(live);

    // Back on the test keys, the nightly reconciler deletes them: Stripe refuses Zoe's the first
    // night (the report says so, the record is kept; Yann's is deleted all the same), done the
    // next. Xena's, of an account that was never erased, is never touched.
    let test = spawn_on(db, peer.clone(), Options { workers: false, ..Options::default() }).await;
    test.stripe.inject(DELETE, Fault::Forbidden);
    let report = crate::edges::reconcile(&test).await;
    let failed = |report: &app::ssr::services::reconcile::Report| {
        report
            .problems
            .iter()
            .any(|p| matches!(p, ReconcileProblem::Step { step: ReconcileStep::ErasedCustomersLeft, .. }))
    };
    assert!(failed(&report), "{:?}", report.problems);
    assert!(at_stripe(&zoe.stripe_customer).await);
    assert!(!at_stripe(&yann.stripe_customer).await, "Yann's deleted the same night");
    assert_eq!(
        kept(&test, KeyMode::Test).await.as_deref(),
        Some(zoe.stripe_customer.as_str()),
        "kept for the next run"
    );
    let report = crate::edges::reconcile(&test).await;
    assert!(!failed(&report), "{:?}", report.problems);
    assert!(!at_stripe(&zoe.stripe_customer).await, "deleted at Stripe");
    assert_eq!(kept(&test, KeyMode::Test).await, None, "and forgotten here");
    assert_eq!(test.stripe.calls(DELETE), 3, "one for each the first night, Zoe's again the next");
    crate::edges::reconcile(&test).await;
    assert_eq!(test.stripe.calls(DELETE), 3, "nothing left to delete");
    assert!(at_stripe(&xena.stripe_customer).await, "Xena's record stays hers");
    assert!(cards::customer_of(&test.state.db, xena.id.get(), KeyMode::Test).await.expect("q").is_some());

    // Two more left records; Stripe down a night: the first one's tries are all it is asked, the
    // other waits with it for the next run.
    for (who, id) in [(&zoe, "cus_left_zoe"), (&yann, "cus_left_yann")] {
        app::ssr::entities::stripe_customer::ActiveModel {
            user_id: sea_orm::ActiveValue::Set(who.id.get()),
            mode: sea_orm::ActiveValue::Set(Some(KeyMode::Test)),
            stripe_customer_id: sea_orm::ActiveValue::Set(id.to_owned()),
            created_at: sea_orm::ActiveValue::Set(0),
            ..Default::default()
        }
        .insert(&test.state.db)
        .await
        .expect("left");
    }
    for _ in 0..4 {
        test.stripe.inject(DELETE, Fault::Unavailable);
    }
    assert!(failed(&crate::edges::reconcile(&test).await));
    assert_eq!(test.stripe.calls(DELETE), 7, "the first record's four tries");
    assert!(
        kept(&test, KeyMode::Test).await.is_some()
            && cards::customer_of(&test.state.db, yann.id.get(), KeyMode::Test).await.expect("q").is_some()
    );
    assert!(!failed(&crate::edges::reconcile(&test).await));
    assert_eq!(test.stripe.calls(DELETE), 9, "both the next run (Stripe no longer knows them: forgotten)");
    assert_eq!(kept(&test, KeyMode::Test).await, None);
}
