//! Payment plans: written with their customer and échéances, accepted with a
//! recorded consent, active once a card exists, collected only when active,
//! finished or in default by their échéances; a refused plan writes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use app::api::dto::PlanCancelled;
use app::domain::{
    EcheanceId, EcheanceStatus, Interval, Invalid, KeyMode, Locale, PlanField, PlanProblem, PlanStatus, Refusal, Role,
    ScheduleRequest, UserId,
};
use app::ssr::entities::{echeance, email_outbox, payment_plan, plan_audit, plan_consent, user};
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::due;
use app::ssr::services::error::ServiceError;
use app::ssr::services::pay_ahead;
use app::ssr::services::plans::{self, ConsentContext, NewCustomer, NewPlan};
use app::ssr::services::reminders;
use chrono::{Days, NaiveDate};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::helpers::{Customer, Fault, Options, TestApp, cards as test_cards, spawn_app, spawn_app_with, spawn_on};

pub(crate) fn request(email: &str, total: i64, count: u32, first_due: NaiveDate, interval: Interval) -> NewPlan {
    NewPlan {
        customer: NewCustomer { email: email.to_owned(), name: "Zoé Martin".to_owned(), locale: Locale::Fr },
        label: "Formation 2027".to_owned(),
        currency: "eur".to_owned(),
        schedule: ScheduleRequest::Split { total, count, first_due, interval },
        metadata: BTreeMap::from([("order_id".to_owned(), "A-1042".to_owned())]),
        send_invitation: true,
        return_url: None,
    }
}

pub(crate) fn consent() -> ConsentContext {
    ConsentContext { ip: "203.0.113.7".to_owned(), user_agent: "Mozilla/5.0 (test)".to_owned() }
}

fn user_id(n: i64) -> UserId {
    UserId::new(n).expect("positive id")
}

/// A plan of `count` weekly échéances from today for an existing customer, accepted by them.
pub(crate) async fn accepted_plan(app: &TestApp, customer: &Customer, total: i64, count: u32) -> plans::CreatedPlan {
    let input = request(&customer.email, total, count, app.today(), Interval::Week);
    let created = plans::create(&app.state, None, input).await.expect("created");
    plans::accept(&app.state, created.plan.id, customer.id, "mandat".to_owned(), consent()).await.expect("accepted");
    created
}

async fn plan_status(app: &TestApp, id: i64) -> PlanStatus {
    payment_plan::Entity::find_by_id(id).one(&app.state.db).await.expect("query").expect("plan").status
}

async fn plan_events(app: &TestApp, id: i64) -> Vec<(Option<PlanStatus>, PlanStatus, String)> {
    plan_audit::Entity::find()
        .filter(plan_audit::Column::PaymentPlanId.eq(id))
        .order_by_asc(plan_audit::Column::Id)
        .all(&app.state.db)
        .await
        .expect("audit")
        .into_iter()
        .map(|a| (a.from_status, a.to_status, a.event))
        .collect()
}

#[tokio::test]
async fn a_plan_for_a_new_customer_is_accepted_and_becomes_active_once_a_card_is_saved() {
    let app = spawn_app().await;
    let first = app.today().checked_add_days(Days::new(7)).expect("date");
    let created = plans::create(&app.state, None, request("Zoe@Example.test", 10_000, 3, first, Interval::Month))
        .await
        .expect("created");

    let plan = &created.plan;
    assert_eq!(plan.status, PlanStatus::EnAttenteClient);
    assert_eq!((plan.total_cents, plan.currency.as_str(), plan.consumer_credit), (10_000, "eur", false));
    assert_eq!(plan.metadata, r#"{"order_id":"A-1042"}"#);
    let amounts: Vec<_> = created.echeances.iter().map(|e| (e.seq, e.amount_cents, e.status)).collect();
    assert_eq!(
        amounts,
        vec![
            (Some(1), 3_334, EcheanceStatus::APayer),
            (Some(2), 3_333, EcheanceStatus::APayer),
            (Some(3), 3_333, EcheanceStatus::APayer)
        ]
    );
    assert_eq!(created.echeances[0].due_date, first);
    assert!(created.echeances.iter().all(|e| e.payment_plan_id == Some(plan.id) && e.user_id == plan.customer_id));
    let customer = user::Entity::find_by_id(plan.customer_id).one(&app.state.db).await.expect("query").expect("user");
    assert_eq!(
        (customer.email.as_str(), customer.role, customer.password_hash.as_str()),
        ("zoe@example.test", Role::Customer, "")
    );

    // Accepting without a card records the consent; the plan waits for the card.
    let mandate = "J’autorise … à débiter ma carte aux dates ci-dessus".to_owned();
    let accepted =
        plans::accept(&app.state, plan.id, user_id(customer.id), mandate.clone(), consent()).await.expect("accepted");
    assert_eq!(accepted.status, PlanStatus::EnAttenteClient, "no card yet");
    let consents = plan_consent::Entity::find().all(&app.state.db).await.expect("consents");
    assert_eq!(consents.len(), 1);
    let c = &consents[0];
    assert_eq!((c.payment_plan_id, c.user_id, c.mandate_text.as_str()), (plan.id, customer.id, mandate.as_str()));
    assert_eq!(
        (c.ip.as_str(), c.user_agent.as_str(), c.mandate_version.as_str()),
        ("203.0.113.7", "Mozilla/5.0 (test)", plans::MANDATE_VERSION)
    );

    app.save_card_through_setup(user_id(customer.id), test_cards::OK).await;
    assert_eq!(plan_status(&app, plan.id).await, PlanStatus::Actif);
    let row = payment_plan::Entity::find_by_id(plan.id).one(&app.state.db).await.expect("query").expect("plan");
    assert!(row.accepted_at.is_some());
    assert_eq!(
        plan_events(&app, plan.id).await,
        vec![
            (None, PlanStatus::EnAttenteClient, "Created".to_owned()),
            (Some(PlanStatus::EnAttenteClient), PlanStatus::Actif, "CustomerAnswered".to_owned()),
        ]
    );

    // The dashboard's view of the plan shows the consent as it was given, and the history.
    let view = plans::view(&app.state, plan.id, 0).await.expect("view");
    let shown = view.consent.expect("consent shown");
    assert_eq!((shown.ip.as_str(), shown.text.as_str()), ("203.0.113.7", mandate.as_str()));
    assert_eq!(view.summary.status, PlanStatus::Actif);
    assert_eq!(view.echeances.len(), 3);
    assert_eq!(view.summary.collected, None);
    assert_eq!(
        view.history.iter().map(|h| h.to).collect::<Vec<_>>(),
        vec![PlanStatus::EnAttenteClient, PlanStatus::Actif]
    );

    // Accepting again changes nothing and keeps the first consent.
    plans::accept(&app.state, plan.id, user_id(customer.id), "other".to_owned(), consent()).await.expect("again");
    assert_eq!(plan_consent::Entity::find().count(&app.state.db).await.expect("count"), 1);
}

#[tokio::test]
async fn only_its_customer_can_accept_a_plan() {
    let app = spawn_app().await;
    let mallory = app.customer("mallory", Some(test_cards::OK)).await;
    let created = plans::create(&app.state, None, request("zoe@example.test", 10_000, 2, app.today(), Interval::Week))
        .await
        .expect("created");
    let refused = plans::accept(&app.state, created.plan.id, mallory.id, "…".to_owned(), consent()).await;
    assert!(matches!(refused, Err(ServiceError::Forbidden)), "{refused:?}");
    assert_eq!(plan_consent::Entity::find().count(&app.state.db).await.expect("count"), 0);
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::EnAttenteClient);
}

#[tokio::test]
async fn the_due_date_run_charges_only_echeances_of_active_plans() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let today = app.today();
    let legacy = app.echeance(&alice, 1_000, today).await;
    let mut input = request(&alice.email, 2_000, 2, today, Interval::Week);
    input.customer.name = "Alice".to_owned();
    let created = plans::create(&app.state, None, input).await.expect("created");
    let first = created.echeances[0].id;

    let report = due::charge_due(&app.state, today, 100).await.expect("ran");
    assert_eq!((report.charged, report.skipped), (1, 0), "only the échéance from before plans is selected: {report:?}");
    assert_eq!(app.status(legacy).await, EcheanceStatus::Payee);
    assert_eq!(app.status(first).await, EcheanceStatus::APayer, "not accepted: not charged");

    // A due-date charge that raced the selection is refused under the lock too.
    let raced = charge::charge(&app.state, EcheanceId::new(first).expect("id"), Trigger::DueDate).await;
    assert!(matches!(raced, Err(ServiceError::Refused(_))), "{raced:?}");
    assert!(app.attempts(first).await.is_empty(), "nothing was sent to Stripe");

    let plan =
        plans::accept(&app.state, created.plan.id, alice.id, "mandat".to_owned(), consent()).await.expect("accepted");
    assert_eq!(plan.status, PlanStatus::Actif, "alice already had a card");
    let report = due::charge_due(&app.state, today, 100).await.expect("ran");
    assert_eq!((report.charged, report.paid), (1, 1), "{report:?}");
    assert_eq!(app.status(first).await, EcheanceStatus::Payee);
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::Actif, "one échéance still to collect");
}

#[tokio::test]
async fn the_last_echeance_collected_finishes_the_plan() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let created = accepted_plan(&app, &alice, 2_000, 2).await;

    due::charge_due(&app.state, app.today(), 100).await.expect("first run");
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::Actif);
    app.clock.advance(Duration::from_secs(7 * 86_400));
    due::charge_due(&app.state, app.today(), 100).await.expect("second run");
    assert_eq!(app.status(created.echeances[1].id).await, EcheanceStatus::Payee);
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::Termine);
    let events = plan_events(&app, created.plan.id).await;
    assert_eq!(events.last().map(|e| (e.0, e.1)), Some((Some(PlanStatus::Actif), PlanStatus::Termine)));
}

#[tokio::test]
async fn an_echeance_failed_for_good_puts_the_plan_in_default_until_the_customer_pays_it() {
    let app = spawn_app_with(Options {
        env: vec![("RETRY_SCHEDULE_HOURS", String::new()), ("PLAN_ON_DEFAULT", "stop".to_owned())],
        ..Default::default()
    })
    .await;
    let bob = app.customer("bob", Some(test_cards::DECLINED)).await;
    let today = app.today();
    let created = accepted_plan(&app, &bob, 3_000, 3).await;
    let [first, second, _] = [created.echeances[0].id, created.echeances[1].id, created.echeances[2].id];

    due::charge_due(&app.state, today, 100).await.expect("ran");
    assert_eq!(app.status(first).await, EcheanceStatus::EchoueeDefinitive);
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::EnDefaut);

    // PLAN_ON_DEFAULT=stop: the next échéance is not charged while the plan is in default.
    app.clock.advance(Duration::from_secs(7 * 86_400));
    let report = due::charge_due(&app.state, app.today(), 100).await.expect("ran");
    assert_eq!(report.charged, 0, "{report:?}");
    assert_eq!(app.status(second).await, EcheanceStatus::APayer);

    // A new card, and the customer pays the failed échéance: the default is cured.
    app.save_card_through_setup(bob.id, test_cards::OK).await;
    charge::charge(&app.state, EcheanceId::new(first).expect("id"), Trigger::Customer(bob.id)).await.expect("paid");
    assert_eq!(app.status(first).await, EcheanceStatus::Payee);
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::Actif);
    let report = due::charge_due(&app.state, app.today(), 100).await.expect("ran");
    assert_eq!(report.charged, 1, "{report:?}");
    assert_eq!(app.status(second).await, EcheanceStatus::Payee);
}

#[tokio::test]
async fn one_customers_echeances_are_charged_in_turn_so_a_default_stops_the_next_in_the_same_run() {
    // The due-date run overlaps customers' charges, at a rate fast enough for two of one
    // customer's to overlap if it let them.
    let app = spawn_app_with(Options {
        env: vec![
            ("RETRY_SCHEDULE_HOURS", String::new()),
            ("PLAN_ON_DEFAULT", "stop".to_owned()),
            ("CHARGE_DUE_RATE_PER_SEC", "50".to_owned()),
        ],
        ..Default::default()
    })
    .await;
    let bob = app.customer("bob", Some(test_cards::DECLINED)).await;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let bobs = accepted_plan(&app, &bob, 3_000, 3).await;
    let alices = accepted_plan(&app, &alice, 3_000, 3).await;
    // A week and a day later, two échéances of each plan are due in the same run. Bob's first
    // charge (the run's first) takes Stripe a while: his second would start meanwhile if let be.
    app.clock.advance(Duration::from_secs(8 * 86_400));
    app.stripe.inject("POST /v1/payment_intents", Fault::Delay(Duration::from_millis(400)));

    let report = due::charge_due(&app.state, app.today(), 100).await.expect("ran");

    // Bob's first failed for good before his second was tried: the plan in default stopped it.
    assert_eq!(app.status(bobs.echeances[0].id).await, EcheanceStatus::EchoueeDefinitive);
    assert_eq!(plan_status(&app, bobs.plan.id).await, PlanStatus::EnDefaut);
    assert_eq!(app.status(bobs.echeances[1].id).await, EcheanceStatus::APayer);
    assert!(app.peer.payment_intents_of(bobs.echeances[1].id).await.is_empty(), "never sent to Stripe");
    // Alice's were charged meanwhile.
    assert_eq!(app.status(alices.echeances[0].id).await, EcheanceStatus::Payee);
    assert_eq!(app.status(alices.echeances[1].id).await, EcheanceStatus::Payee);
    assert_eq!((report.charged, report.paid, report.declined, report.skipped), (3, 2, 1, 1), "{report:?}");
}

#[tokio::test]
async fn a_plan_over_three_months_is_flagged_as_consumer_credit_and_refused_when_the_setting_says_so() {
    let app = spawn_app().await;
    let first = app.today();
    let created = plans::create(&app.state, None, request("zoe@example.test", 50_000, 5, first, Interval::Month))
        .await
        .expect("created");
    assert!(created.plan.consumer_credit);
    let four = plans::create(&app.state, None, request("zoe@example.test", 40_000, 4, first, Interval::Month))
        .await
        .expect("created");
    assert!(!four.plan.consumer_credit, "three months from first to last is not credit");

    let strict =
        spawn_app_with(Options { env: vec![("REFUSE_CONSUMER_CREDIT", "true".to_owned())], ..Default::default() })
            .await;
    let refused =
        plans::create(&strict.state, None, request("zoe@example.test", 50_000, 5, first, Interval::Month)).await;
    assert!(matches!(refused, Err(ServiceError::Invalid(Invalid::ConsumerCredit))), "{refused:?}");
    assert_eq!(payment_plan::Entity::find().count(&strict.state.db).await.expect("count"), 0);
}

/// What a refused case must answer.
type Expected = fn(&ServiceError) -> bool;

#[tokio::test]
async fn every_refused_plan_writes_nothing_and_says_which_field() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let today = app.today();
    let yesterday = today.checked_sub_days(Days::new(1)).expect("date");
    let ok = || request("zoe@example.test", 10_000, 3, today, Interval::Month);
    let cases: [(&str, NewPlan, Expected); 9] = [
        ("bad email", NewPlan { customer: NewCustomer { email: "zoe@".to_owned(), ..ok().customer }, ..ok() }, |e| {
            matches!(e, ServiceError::Invalid(Invalid::Field(app::domain::Field::Email)))
        }),
        (
            "admin's address",
            NewPlan { customer: NewCustomer { email: admin.email.clone(), ..ok().customer }, ..ok() },
            |e| matches!(e, ServiceError::Invalid(Invalid::AdminEmail)),
        ),
        ("no name", NewPlan { customer: NewCustomer { name: "  ".to_owned(), ..ok().customer }, ..ok() }, |e| {
            matches!(e, ServiceError::Invalid(Invalid::Field(app::domain::Field::Name)))
        }),
        ("no label", NewPlan { label: String::new(), ..ok() }, |e| {
            matches!(e, ServiceError::Invalid(Invalid::Field(app::domain::Field::Label)))
        }),
        ("past date", request("zoe@example.test", 10_000, 3, yesterday, Interval::Month), |e| {
            schedule_refused(e, PlanField::FirstDueDate, PlanProblem::InThePast)
        }),
        (
            "under the minimum",
            request("zoe@example.test", 49, 1, today, Interval::Month),
            |e| matches!(e, ServiceError::Invalid(Invalid::Schedule(s)) if s.0.iter().any(|p| p.field == PlanField::Total)),
        ),
        ("too many", request("zoe@example.test", 100_000, 49, today, Interval::Week), |e| {
            schedule_refused(e, PlanField::Count, PlanProblem::CountOutOfRange)
        }),
        ("currency", NewPlan { currency: "jpy".to_owned(), ..ok() }, |e| {
            schedule_refused(e, PlanField::Currency, PlanProblem::UnsupportedCurrency)
        }),
        (
            "dates out of order",
            NewPlan {
                schedule: ScheduleRequest::Explicit(vec![
                    (today.checked_add_days(Days::new(9)).expect("d"), 5_000),
                    (today, 5_000),
                ]),
                ..ok()
            },
            |e| schedule_refused(e, PlanField::DueDate(2), PlanProblem::OutOfOrder),
        ),
    ];
    let users_before = user::Entity::find().count(&app.state.db).await.expect("count");
    for (name, input, expected) in cases {
        let result = plans::create(&app.state, None, input).await;
        match result {
            Err(e) => assert!(expected(&e), "{name}: {e:?}"),
            Ok(p) => panic!("{name}: accepted as plan {}", p.plan.id),
        }
        assert_eq!(payment_plan::Entity::find().count(&app.state.db).await.expect("count"), 0, "{name}");
        assert_eq!(echeance::Entity::find().count(&app.state.db).await.expect("count"), 0, "{name}");
        assert_eq!(plan_audit::Entity::find().count(&app.state.db).await.expect("count"), 0, "{name}");
        assert_eq!(user::Entity::find().count(&app.state.db).await.expect("count"), users_before, "{name}");
        assert_eq!(email_outbox::Entity::find().count(&app.state.db).await.expect("count"), 0, "{name}: no invitation");
    }
    assert!(plans::create(&app.state, None, ok()).await.is_ok(), "the same request, corrected, is accepted");
}

fn schedule_refused(e: &ServiceError, field: PlanField, problem: PlanProblem) -> bool {
    matches!(e, ServiceError::Invalid(Invalid::Schedule(s)) if s.0.iter().any(|p| p.field == field && p.problem == problem))
}

#[tokio::test]
async fn a_request_the_server_cannot_read_is_the_senders_400_and_writes_nothing() {
    let app = spawn_app().await;
    let (_, as_admin) = app.logged_in_admin().await;
    let url = format!("{}/api/admin/plans/create", app.address);
    let sent = |body: &'static str| {
        let request =
            as_admin.post(&url).header("accept", "application/json").header("content-type", "application/json");
        async move {
            let response = request.body(body).send().await.expect("answers");
            (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    for body in ["{\"form\": {", "not json", "{}", "{\"form\": {\"email\": 3}}"] {
        let (status, answer) = sent(body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["Request"].is_object(), "{body}: said unreadable: {answer}");
    }
    // A form's field missing, or not a number where one is expected.
    let customer = app.customer("carol", Some(test_cards::OK)).await;
    let e = app.echeance(&customer, 5_000, app.today()).await.to_string();
    for form in [&[][..], &[("echeance_id", "trois")][..]] {
        let (status, answer) = app.call(&as_admin, "admin/retry", form).await;
        assert_eq!(status, 400, "{form:?}: {answer}");
    }
    assert_eq!(payment_plan::Entity::find().count(&app.state.db).await.expect("count"), 0);
    assert_eq!(user::Entity::find().count(&app.state.db).await.expect("count"), 2, "no customer written");
    assert!(app.attempts(e.parse().expect("id")).await.is_empty(), "nothing charged");
    assert_eq!(app.call(&as_admin, "admin/retry", &[("echeance_id", &e)]).await.0, 200, "read, it is charged");
}

#[tokio::test]
async fn the_form_is_checked_again_by_the_server_and_only_an_admin_may_send_it() {
    let app = spawn_app().await;
    let form_in = |total: &str, locale: &str| {
        serde_json::json!({ "form": {
            "email": "zoe@example.test", "name": "Zoé", "locale": locale, "label": "Course", "currency": "eur",
            "total": total, "count": "3", "first_due": app.today().to_string(), "interval": "month",
        }})
    };
    let form = |total: &str| form_in(total, "en");
    let post = |client: reqwest::Client, body: serde_json::Value| {
        let url = format!("{}/api/admin/plans/create", app.address);
        async move {
            let response =
                client.post(url).header("accept", "application/json").json(&body).send().await.expect("answers");
            (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };

    let customer = app.customer("carol", None).await;
    let as_customer = app.browser();
    app.login(&as_customer, &customer).await;
    assert_eq!(post(as_customer, form("900")).await.0, 403);

    let (admin, as_admin) = app.logged_in_admin().await;
    // 1.00 € in 3 is under the minimum charge: what the browser's preview refuses, the server refuses too.
    let (status, body) = post(as_admin.clone(), form("1")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("Count"), "{body}");
    // A negative total reads: it is refused on its field as zero is, not called unreadable.
    for total in ["-100", "- 1 234,50", "0"] {
        let (status, body) = post(as_admin.clone(), form(total)).await;
        assert_eq!(status, 422, "{total}: {body}");
        assert!(body.to_string().contains(r#""field":"Total","problem":"NotPositive""#), "{total}: {body}");
    }
    assert_eq!(payment_plan::Entity::find().count(&app.state.db).await.expect("count"), 0);
    // A language the product does not speak is refused on its field, not read as French.
    for locale in ["de", "", "EN"] {
        let (status, body) = post(as_admin.clone(), form_in("900", locale)).await;
        assert_eq!(status, 422, "{locale:?}: {body}");
        assert!(body.to_string().contains("Locale"), "{locale:?}: {body}");
    }
    assert_eq!(payment_plan::Entity::find().count(&app.state.db).await.expect("count"), 0);
    assert_eq!(user::Entity::find().count(&app.state.db).await.expect("count"), 2, "no customer written");

    let (status, body) = post(as_admin.clone(), form("900")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "en_attente_client");
    assert_eq!(body["echeances"].as_array().map(Vec::len), Some(3));
    let plan = payment_plan::Entity::find().one(&app.state.db).await.expect("query").expect("written");
    assert_eq!(plan.created_by, Some(admin.id.get()));
    let zoe = user::Entity::find_by_id(plan.customer_id).one(&app.state.db).await.expect("query").expect("customer");
    assert_eq!(zoe.locale, "en");

    // A total over one charge is split as the REST API splits it: 1 500 000,00 € in three charges of 500 000,00 €.
    // The list's card filter: a filter it does not know is named as itself.
    for (card, expected) in [("expiring", 200), ("nonsense", 422)] {
        let response = as_admin
            .post(format!("{}/api/admin/plans/list", app.address))
            .header("accept", "application/json")
            .form(&[("card", card), ("page", "0")])
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), expected, "{card}");
        let body = response.text().await.expect("body");
        assert_eq!(body.contains("CardFilter"), expected == 422, "{card}: {body}");
    }

    let (status, body) = post(as_admin, form("1 500 000,00")).await;
    assert_eq!(status, 200, "{body}");
    let parts: Vec<i64> = echeance::Entity::find()
        .filter(echeance::Column::PaymentPlanId.eq(body["id"].as_i64().expect("plan id")))
        .all(&app.state.db)
        .await
        .expect("query")
        .iter()
        .map(|e| e.amount_cents)
        .collect();
    assert_eq!(parts, vec![50_000_000; 3]);
}

#[tokio::test]
async fn cancelling_a_plan_waits_for_a_charge_in_flight_then_leaves_no_live_payment_intent() {
    let app = spawn_app().await;
    let carol = app.customer("carol", Some(test_cards::SCA_ALWAYS)).await;
    let today = app.today();
    let created = accepted_plan(&app, &carol, 3_000, 3).await;
    let plan = created.plan.id;
    let [first, second, third] = [created.echeances[0].id, created.echeances[1].id, created.echeances[2].id];
    let admin = app.admin("root").await;

    // The first échéance is charged and Stripe's answer is lost: it is in flight.
    for _ in 0..4 {
        app.stripe.inject("POST /v1/payment_intents", Fault::Unavailable);
    }
    due::charge_due(&app.state, today, 100).await.expect("ran");
    assert_eq!(app.status(first).await, EcheanceStatus::EnCours);
    let refused = plans::cancel(&app.state, plan, admin.id).await;
    assert!(matches!(refused, Err(ServiceError::Refused(app::domain::Refusal::AlreadyInProgress))), "{refused:?}");
    assert_eq!(plan_status(&app, plan).await, PlanStatus::Actif, "nothing changed");
    assert_eq!(app.status(second).await, EcheanceStatus::APayer);

    // Settled (the bank wants 3D Secure): a live PaymentIntent the customer's link could confirm.
    app.clock.advance(Duration::from_secs(120));
    charge::resume(&app.state, 10).await.expect("resumed");
    assert_eq!(app.status(first).await, EcheanceStatus::EnAttente);
    let live = app.peer.payment_intents_of(first).await;
    assert_eq!(live.len(), 1);
    assert_ne!(live[0]["status"], "canceled");

    let done = plans::cancel(&app.state, plan, admin.id).await.expect("cancelled");
    assert_eq!(done, PlanCancelled { cancelled: 3, ..PlanCancelled::default() });
    assert_eq!(plan_status(&app, plan).await, PlanStatus::Annule);
    for e in [first, second, third] {
        assert_eq!(app.status(e).await, EcheanceStatus::Annulee, "échéance {e}");
    }
    let after = app.peer.payment_intents_of(first).await;
    assert_eq!(after[0]["status"], "canceled", "no PaymentIntent of the plan is left to confirm");

    // Nothing of a cancelled plan is charged again, by the schedule or by anyone.
    app.clock.advance(Duration::from_secs(14 * 86_400));
    assert_eq!(due::charge_due(&app.state, app.today(), 100).await.expect("ran").charged, 0);
    let paid = charge::charge(&app.state, EcheanceId::new(second).expect("id"), Trigger::Customer(carol.id)).await;
    assert!(matches!(paid, Err(ServiceError::Refused(_))), "{paid:?}");
    assert_eq!(app.peer.payment_intents_of(second).await.len(), 0);
    // Cancelling again changes nothing; a finished plan cannot be cancelled.
    assert_eq!(plans::cancel(&app.state, plan, admin.id).await.expect("again"), PlanCancelled::default());
}

#[tokio::test]
async fn a_charge_that_comes_between_a_plan_cancel_and_its_echeances_cancel_is_refused() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let created = accepted_plan(&app, &alice, 2_000, 2).await;
    // The moment `plans::cancel` has committed the plan's status and not yet reached its échéances.
    payment_plan::Entity::update_many()
        .col_expr(payment_plan::Column::Status, sea_orm::sea_query::Expr::value(PlanStatus::Annule))
        .filter(payment_plan::Column::Id.eq(created.plan.id))
        .exec(&app.state.db)
        .await
        .expect("plan cancelled");
    let first = created.echeances[0].id;
    assert_eq!(app.status(first).await, EcheanceStatus::APayer);

    let paid = charge::charge(&app.state, EcheanceId::new(first).expect("id"), Trigger::Customer(alice.id)).await;
    assert!(matches!(paid, Err(ServiceError::Refused(app::domain::Refusal::Cancelled))), "{paid:?}");
    let admin = app.admin("root").await;
    let retried = charge::charge(&app.state, EcheanceId::new(first).expect("id"), Trigger::Admin(admin.id)).await;
    assert!(matches!(retried, Err(ServiceError::Refused(_))), "{retried:?}");
    assert_eq!(due::charge_due(&app.state, app.today(), 100).await.expect("ran").charged, 0);
    assert!(app.attempts(first).await.is_empty(), "nothing was sent to Stripe");
}

#[tokio::test]
async fn the_plans_list_is_newest_first_filtered_by_status_with_progress_and_next_date() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let waiting = plans::create(&app.state, None, request("zoe@example.test", 30_000, 3, app.today(), Interval::Month))
        .await
        .expect("created");
    let cancelled =
        plans::create(&app.state, None, request("yann@example.test", 20_000, 2, app.today(), Interval::Month))
            .await
            .expect("created");
    plans::cancel(&app.state, cancelled.plan.id, admin.id).await.expect("cancelled");
    let active = accepted_plan(&app, &alice, 9_000, 3).await;
    let first = active.echeances[0].id;
    charge::charge(&app.state, EcheanceId::new(first).expect("id"), Trigger::Customer(alice.id)).await.expect("paid");

    let all = plans::list(&app.state, None, false, 0).await.expect("listed");
    let ids: Vec<i64> = all.rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![active.plan.id, cancelled.plan.id, waiting.plan.id], "newest first");
    assert!(!all.has_more);

    let only_active = plans::list(&app.state, Some(PlanStatus::Actif), false, 0).await.expect("listed");
    assert_eq!(only_active.rows.len(), 1);
    let row = &only_active.rows[0];
    assert_eq!((row.id, row.progress), (active.plan.id, (1, 3)));
    assert_eq!(row.collected.map(|m| m.minor), Some(3_000));
    assert_eq!(row.next_due, Some(active.echeances[1].due_date), "the next one still to collect");
    assert_eq!(row.customer.email, alice.email);

    let none = plans::list(&app.state, Some(PlanStatus::EnDefaut), false, 0).await.expect("listed");
    assert!(none.rows.is_empty());
    assert!(plans::list(&app.state, None, false, 1).await.expect("listed").rows.is_empty(), "past the last page");
    // A page number no database can skip to (a typed URL): an empty page, not a panic in the driver.
    for page in [u64::MAX / 50 + 1, u64::MAX] {
        let far = plans::list(&app.state, None, false, page).await.expect("listed");
        assert!(far.rows.is_empty() && !far.has_more, "page {page}");
        let (lines, total) =
            app::ssr::services::outgoing::delivery::list(&app.state, None, page, 50).await.expect("deliveries");
        assert!(lines.is_empty(), "deliveries, page {page}: {total} in all");
    }
}

async fn due_dates(app: &TestApp, plan: i64) -> Vec<NaiveDate> {
    echeance::Entity::find()
        .filter(echeance::Column::PaymentPlanId.eq(plan))
        .order_by_asc(echeance::Column::Seq)
        .all(&app.state.db)
        .await
        .expect("query")
        .into_iter()
        .map(|e| e.due_date)
        .collect()
}

#[tokio::test]
async fn an_admin_moves_a_due_date_between_its_neighbours_and_the_due_date_run_follows_it() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let today = app.today();
    let created = accepted_plan(&app, &alice, 9_000, 3).await;
    let (plan, e) = (created.plan.id, |i: usize| EcheanceId::new(created.echeances[i].id).expect("id"));
    let before = due_dates(&app, plan).await;
    let day = |n: u64| today.checked_add_days(Days::new(n)).expect("date");
    app.host_listens().await;

    // The first, due today, moves to tomorrow: today's run leaves it alone.
    plans::move_due_date(&app.state, e(0), day(1), admin.id).await.expect("moved");
    assert_eq!(due_dates(&app, plan).await, vec![day(1), before[1], before[2]]);
    // The host hears of it, the échéance as it is now.
    let told = app.host_events().await;
    assert_eq!(told.len(), 1, "{told:?}");
    let (kind, object) = &told[0];
    assert_eq!(*kind, app::domain::HostEvent::EcheanceRescheduled);
    assert_eq!(object["id"], format!("ech_{}", created.echeances[0].id));
    assert_eq!(object["due_date"], day(1).to_string());
    assert_eq!(object["version"], app.row(created.echeances[0].id).await.version);
    due::charge_due(&app.state, today, 100).await.expect("ran");
    assert_eq!(app.status(created.echeances[0].id).await, EcheanceStatus::APayer, "not due any more");
    due::charge_due(&app.state, day(1), 100).await.expect("ran");
    assert_eq!(app.status(created.echeances[0].id).await, EcheanceStatus::Payee, "collected on its new date");

    // Moved to the date it has: nothing to tell.
    plans::move_due_date(&app.state, e(1), before[1], admin.id).await.expect("where it is");
    // Refused, with nothing written: the past, out of order, already paid.
    let refused = |r: &Result<(), ServiceError>, problem: PlanProblem| matches!(r, Err(ServiceError::Invalid(Invalid::Schedule(s))) if s.0.iter().any(|p| p.problem == problem));
    let yesterday = today.checked_sub_days(Days::new(1)).expect("date");
    assert!(refused(&plans::move_due_date(&app.state, e(1), yesterday, admin.id).await, PlanProblem::InThePast));
    assert!(refused(
        &plans::move_due_date(&app.state, e(1), before[2], admin.id).await,
        PlanProblem::OutsideNeighbours
    ));
    let paid = plans::move_due_date(&app.state, e(0), day(2), admin.id).await;
    assert!(matches!(paid, Err(ServiceError::Refused(app::domain::Refusal::DueDateFixed))), "{paid:?}");
    assert_eq!(due_dates(&app, plan).await, vec![day(1), before[1], before[2]], "nothing moved");
    let kinds: Vec<_> = app.host_events().await.into_iter().map(|(kind, _)| kind).collect();
    use app::domain::HostEvent::{EcheancePaid, EcheanceRescheduled};
    assert_eq!(kinds, [EcheanceRescheduled, EcheancePaid], "nothing for the moves refused");

    // The last moved past three months from the first: now consumer credit.
    assert!(
        !payment_plan::Entity::find_by_id(plan).one(&app.state.db).await.expect("q").expect("plan").consumer_credit
    );
    let version = payment_plan::Entity::find_by_id(plan).one(&app.state.db).await.expect("q").expect("plan").version;
    plans::move_due_date(&app.state, e(2), day(200), admin.id).await.expect("moved");
    let now = payment_plan::Entity::find_by_id(plan).one(&app.state.db).await.expect("q").expect("plan");
    assert!(now.consumer_credit);
    assert_eq!(now.version, version + 1, "another plan for the host");
    // The host hears of both: the échéance moved, then the plan it makes consumer credit, as it is now.
    let told = app.host_events().await;
    let kinds: Vec<_> = told.iter().map(|(kind, _)| *kind).collect();
    use app::domain::HostEvent::PlanUpdated;
    assert_eq!(kinds, [EcheanceRescheduled, EcheancePaid, EcheanceRescheduled, PlanUpdated], "{told:?}");
    let object = &told[3].1;
    assert_eq!((&object["consumer_credit"], &object["version"]), (&true.into(), &now.version.into()));
    assert_eq!(object["echeances"][2]["due_date"], day(200).to_string());
    // Back within three months: no longer consumer credit, told again; a move that changes neither, only the move.
    plans::move_due_date(&app.state, e(2), day(60), admin.id).await.expect("moved back");
    plans::move_due_date(&app.state, e(2), day(61), admin.id).await.expect("moved a day");
    let told = app.host_events().await;
    let kinds: Vec<_> = told.iter().skip(4).map(|(kind, _)| *kind).collect();
    assert_eq!(kinds, [EcheanceRescheduled, PlanUpdated, EcheanceRescheduled], "{told:?}");
    assert_eq!(told[5].1["consumer_credit"], false);
    let audit = app::ssr::entities::admin_audit::Entity::find()
        .filter(app::ssr::entities::admin_audit::Column::Action.eq("move_due_date"))
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(audit, 4, "each move written to the admin audit");
    // And to the échéance's own history: its page says when it was to be charged and when it is now, and by whom.
    let timeline = app::ssr::services::admin::timeline(&app.state, e(2)).await.expect("its page");
    let moves: Vec<(chrono::NaiveDate, chrono::NaiveDate)> = timeline
        .entries
        .iter()
        .filter_map(|entry| match &entry.event {
            app::api::dto::TimelineEvent::Rescheduled { dates, actor, .. } => {
                assert_eq!(*actor, app::domain::Actor::Admin(admin.id.get()));
                Some((dates.from, dates.to))
            }
            _ => None,
        })
        .collect();
    assert_eq!(moves, [(day(60), day(61)), (day(200), day(60)), (before[2], day(200))], "newest first");
    assert_eq!(app.status(created.echeances[2].id).await, EcheanceStatus::APayer);
}

#[tokio::test]
async fn a_move_that_would_make_the_plan_consumer_credit_is_refused_when_the_setting_says_so() {
    let app =
        spawn_app_with(Options { env: vec![("REFUSE_CONSUMER_CREDIT", "true".to_owned())], ..Default::default() })
            .await;
    let admin = app.admin("root").await;
    let first_due = app.today().checked_add_days(Days::new(5)).expect("date");
    let created = plans::create(&app.state, None, request("zoe@example.test", 30_000, 3, first_due, Interval::Month))
        .await
        .expect("created");
    let before = due_dates(&app, created.plan.id).await;
    let last = EcheanceId::new(created.echeances[2].id).expect("id");
    let far = first_due.checked_add_days(Days::new(150)).expect("date");

    let refused = plans::move_due_date(&app.state, last, far, admin.id).await;

    assert!(matches!(refused, Err(ServiceError::Invalid(Invalid::ConsumerCredit))), "{refused:?}");
    assert_eq!(due_dates(&app, created.plan.id).await, before);
}

#[tokio::test]
async fn the_customer_pays_everything_left_one_payment_intent_each_and_the_plan_is_finished() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let mallory = app.customer("mallory", Some(test_cards::OK)).await;
    let created = accepted_plan(&app, &alice, 9_000, 3).await;
    let plan = created.plan.id;
    let first = EcheanceId::new(created.echeances[0].id).expect("id");
    charge::charge(&app.state, first, Trigger::Customer(alice.id)).await.expect("paid");

    let foreign = pay_ahead::pay_remaining(&app.state, plan, mallory.id).await;
    assert!(matches!(foreign, Err(ServiceError::NotFound)), "{foreign:?}");

    let done = pay_ahead::pay_remaining(&app.state, plan, alice.id).await.expect("paid ahead");

    assert_eq!((done.paid, done.stopped, done.interrupted), (2, None, None));
    for e in &created.echeances {
        assert_eq!(app.status(e.id).await, EcheanceStatus::Payee);
        assert_eq!(app.peer.payment_intents_of(e.id).await.len(), 1, "one PaymentIntent per échéance");
    }
    assert_eq!(plan_status(&app, plan).await, PlanStatus::Termine);
    let again = pay_ahead::pay_remaining(&app.state, plan, alice.id).await;
    assert!(matches!(again, Err(ServiceError::Refused(app::domain::Refusal::PlanOver))), "{again:?}");
}

#[tokio::test]
async fn paying_everything_stopped_midway_says_how_many_were_paid_and_why_it_stopped() {
    use app::api::error::AppError;
    // A customer's Stripe calls are bounded (three a minute here): the fourth échéance of six waits.
    let app = spawn_app_with(Options {
        env: vec![("STRIPE_CALLS_PER_USER_PER_MINUTE", "3".to_owned())],
        ..Default::default()
    })
    .await;
    let carol = app.customer("carol", Some(test_cards::OK)).await;
    let created = accepted_plan(&app, &carol, 18_000, 6).await;
    app.clock.advance(Duration::from_secs(120));

    let done = pay_ahead::pay_remaining(&app.state, created.plan.id, carol.id).await;

    // It used to be an error ("too many attempts") with three payments taken.
    let done = done.expect("an answer that says what was paid");
    assert_eq!((done.paid, done.stopped, done.interrupted), (3, None, Some(AppError::RateLimited)));
    let statuses: Vec<EcheanceStatus> =
        futures::future::join_all(created.echeances.iter().map(|e| app.status(e.id))).await;
    assert_eq!(statuses[..3], [EcheanceStatus::Payee; 3]);
    assert_eq!(statuses[3..], [EcheanceStatus::APayer; 3], "the rest untouched");
    // Refused before anything was paid, the refusal is the answer, as for one « Payer ».
    let refused = pay_ahead::pay_remaining(&app.state, created.plan.id, carol.id).await;
    assert!(matches!(refused, Err(ServiceError::RateLimited)), "{refused:?}");
}

#[tokio::test]
async fn paying_everything_stops_at_the_first_echeance_the_bank_wants_to_authenticate() {
    let app = spawn_app().await;
    let carol = app.customer("carol", Some(test_cards::SCA_ALWAYS)).await;
    let created = accepted_plan(&app, &carol, 6_000, 2).await;

    let done = pay_ahead::pay_remaining(&app.state, created.plan.id, carol.id).await.expect("answered");

    assert_eq!(done.paid, 0);
    let stopped = done.stopped.expect("stopped");
    assert_eq!(stopped.status, EcheanceStatus::EnAttente);
    assert!(stopped.authenticate_payment_intent.is_some(), "the 3D Secure page to open");
    assert_eq!(app.status(created.echeances[1].id).await, EcheanceStatus::APayer, "nothing run behind the customer");
    assert!(app.peer.payment_intents_of(created.echeances[1].id).await.is_empty());
}

#[tokio::test]
async fn paying_everything_charges_what_is_payable_now_and_says_the_plan_is_not_settled_while_one_awaits_3d_secure() {
    let app = spawn_app().await;
    let carol = app.customer("carol", Some(test_cards::SCA_ALWAYS)).await;
    let created = accepted_plan(&app, &carol, 9_000, 3).await;
    let plan = created.plan.id;
    // The first one, due today, waits for her 3D Secure; she then saves a card her bank lets through.
    let first = EcheanceId::new(created.echeances[0].id).expect("id");
    let waiting = charge::charge(&app.state, first, Trigger::DueDate).await.expect("sent");
    assert_eq!(waiting.status, EcheanceStatus::EnAttente);
    app.add_card(&carol, test_cards::OK).await;
    let offered = |app: &TestApp| {
        let state = app.state.clone();
        async move {
            let rows = plans::of_customer(&state.db, carol.id, KeyMode::Test).await.expect("her plans");
            let row = rows.into_iter().find(|r| r.id == plan).expect("her plan");
            (row.remaining.map(|t| t.minor), row.payable.map(|t| t.minor))
        }
    };
    // « Tout payer » offers what it charges: not the one awaiting her 3D Secure.
    assert_eq!(offered(&app).await, (Some(9_000), Some(6_000)));

    let done = pay_ahead::pay_remaining(&app.state, plan, carol.id).await.expect("paid ahead");

    assert_eq!((done.paid, done.stopped, done.interrupted, done.left), (2, None, None, 1), "not « settled »");
    assert_eq!(app.status(first.get()).await, EcheanceStatus::EnAttente, "not charged again behind her 3D Secure");
    assert_eq!(app.peer.payment_intents_of(first.get()).await.len(), 1);
    assert_eq!(offered(&app).await, (Some(3_000), None), "nothing to charge now");
    // Pressed again (an old page): refused as « Payer » on it would be, not « déjà réglée ».
    let again = pay_ahead::pay_remaining(&app.state, plan, carol.id).await;
    assert!(matches!(again, Err(ServiceError::Refused(Refusal::AwaitingCustomer))), "{again:?}");
}

#[tokio::test]
async fn the_plans_whose_card_will_not_last_are_flagged_and_listed_apart() {
    use chrono::Datelike as _;
    let app = spawn_app().await;
    let root = app.admin("root").await;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let bruno = app.customer("bruno", Some(test_cards::OK)).await;
    let short = accepted_plan(&app, &alice, 30_000, 3).await;
    let long = accepted_plan(&app, &bruno, 30_000, 3).await;
    let last_due = short.echeances.last().expect("échéances").due_date;
    let before = last_due.checked_sub_months(chrono::Months::new(1)).expect("a date");
    let later = last_due.checked_add_months(chrono::Months::new(24)).expect("a date");
    for (who, expiry) in [(&alice, before), (&bruno, later)] {
        app::ssr::entities::payment_method::Entity::update_many()
            .col_expr(
                app::ssr::entities::payment_method::Column::ExpMonth,
                sea_orm::sea_query::Expr::value(i32::try_from(expiry.month()).expect("month")),
            )
            .col_expr(
                app::ssr::entities::payment_method::Column::ExpYear,
                sea_orm::sea_query::Expr::value(expiry.year()),
            )
            .filter(app::ssr::entities::payment_method::Column::UserId.eq(who.id.get()))
            .exec(&app.state.db)
            .await
            .expect("expiry set");
    }

    let all = plans::list(&app.state, None, false, 0).await.expect("list");
    let flag = |id: i64| all.rows.iter().find(|r| r.id == id).expect("listed").card_runs_out;
    assert_eq!(flag(short.plan.id), Some((before.month(), before.year())));
    assert_eq!(flag(long.plan.id), None);
    let ids = |list: app::api::dto::PlanList| list.rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(plans::list(&app.state, None, true, 0).await.expect("list")), vec![short.plan.id]);
    assert_eq!(
        ids(plans::list(&app.state, Some(PlanStatus::Actif), true, 0).await.expect("list")),
        vec![short.plan.id]
    );
    assert!(
        ids(plans::list(&app.state, Some(PlanStatus::EnAttenteClient), true, 0).await.expect("list")).is_empty(),
        "the status filter still applies"
    );

    // A customer left with no card that can be charged (detached on Stripe) is the worst case: listed too.
    let carole = app.customer("carole", Some(test_cards::OK)).await;
    let stranded = accepted_plan(&app, &carole, 30_000, 3).await;
    let usable = |yes: bool| {
        app::ssr::entities::payment_method::Entity::update_many()
            .col_expr(app::ssr::entities::payment_method::Column::Usable, sea_orm::sea_query::Expr::value(yes))
            .filter(app::ssr::entities::payment_method::Column::UserId.eq(carole.id.get()))
            .exec(&app.state.db)
    };
    usable(false).await.expect("card gone");
    let listed = plans::list(&app.state, None, true, 0).await.expect("list");
    assert_eq!(ids(listed.clone()), vec![stranded.plan.id, short.plan.id]);
    assert!(listed.rows[0].no_card && listed.rows[0].card_runs_out.is_none());
    // Each plan's own page warns as its line does.
    let browser = app.browser();
    app.login(&browser, &root).await;
    let page = |id: i64| {
        let browser = browser.clone();
        let url = format!("{}/admin/plans/{id}", app.address);
        async move { browser.get(url).send().await.expect("answers").text().await.expect("page") }
    };
    let expiry = format!("{:02}/{}", before.month(), before.year());
    let short_page = page(short.plan.id).await;
    assert!(short_page.contains(r#"data-testid="card-runs-out""#) && short_page.contains(&expiry), "{expiry}");
    assert!(!short_page.contains(r#"data-testid="no-card""#));
    let stranded_page = page(stranded.plan.id).await;
    assert!(stranded_page.contains(r#"data-testid="no-card""#) && !stranded_page.contains("card-runs-out"));
    let long_page = page(long.plan.id).await;
    assert!(!long_page.contains("card-runs-out") && !long_page.contains(r#"data-testid="no-card""#));
    usable(true).await.expect("card back");

    // A plan still waiting for its customer's consent has no card yet, by design: not flagged, not listed apart.
    let first = app.today().checked_add_days(Days::new(7)).expect("date");
    let invited = plans::create(&app.state, None, request("dora@example.test", 9_000, 3, first, Interval::Month))
        .await
        .expect("created");
    assert_eq!(invited.plan.status, PlanStatus::EnAttenteClient);
    let all = plans::list(&app.state, None, false, 0).await.expect("list");
    let line = all.rows.iter().find(|r| r.id == invited.plan.id).expect("listed");
    assert!(!line.no_card && line.card_runs_out.is_none());
    assert!(!page(invited.plan.id).await.contains(r#"data-testid="no-card""#));
    assert_eq!(ids(plans::list(&app.state, None, true, 0).await.expect("list")), vec![short.plan.id]);
    // Once its customer consented without a card, it stays « en attente du client » and nothing can
    // be charged: flagged and listed apart.
    let dora = user_id(invited.plan.customer_id);
    let accepted =
        plans::accept(&app.state, invited.plan.id, dora, "J’autorise …".to_owned(), consent()).await.expect("accepted");
    assert_eq!(accepted.status, PlanStatus::EnAttenteClient, "no card yet");
    let all = plans::list(&app.state, None, false, 0).await.expect("list");
    assert!(all.rows.iter().find(|r| r.id == invited.plan.id).expect("listed").no_card);
    assert!(page(invited.plan.id).await.contains(r#"data-testid="no-card""#));
    assert_eq!(ids(plans::list(&app.state, None, true, 0).await.expect("list")), vec![invited.plan.id, short.plan.id]);
    plans::cancel(&app.state, invited.plan.id, root.id).await.expect("cancelled");

    // A plan that is over is no longer a worry.
    plans::cancel(&app.state, short.plan.id, root.id).await.expect("cancelled");
    assert!(ids(plans::list(&app.state, None, true, 0).await.expect("list")).is_empty());
}

#[tokio::test]
async fn a_new_address_written_meanwhile_by_another_request_gets_the_plan_instead_of_an_error() {
    let app = spawn_app().await;
    // Another request has written the same new customer and not committed yet.
    let (other, written) =
        crate::helpers::uncommitted_customer(&app.state.db, "zoe@example.test", app.state.now_ms()).await;
    let state = app.state.clone();
    let today = app.today();
    let creating = tokio::spawn(async move {
        plans::create(&state, None, request("zoe@example.test", 9_000, 3, today, Interval::Month)).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!creating.is_finished(), "the write waits for the other one");
    other.commit().await.expect("commit");
    // PostgreSQL lets both read "no such address"; the second insert used to fail on the unique address (a 500).
    let created = creating.await.expect("joined").expect("the plan is written for the account the other request made");
    assert_eq!(created.plan.customer_id, written.id);
    assert!(!created.plan.customer_created, "this plan did not make the account");
    assert_eq!(user::Entity::find().count(&app.state.db).await.expect("count"), 1);
}

#[tokio::test]
async fn a_card_saved_twice_at_once_is_one_card_and_of_two_cards_saved_at_once_one_is_the_default() {
    use app::ssr::entities::payment_method;
    use app::ssr::services::cards;
    let app = spawn_app().await;
    let rows = |customer: UserId| {
        payment_method::Entity::find()
            .filter(payment_method::Column::UserId.eq(customer.get()))
            .order_by_asc(payment_method::Column::Id)
            .all(&app.state.db)
    };
    // Each round a new customer (the Stripe calls are bounded per customer), so that the race has several chances.
    for round in 0..4 {
        let carol = app.customer(&format!("carol{round}"), None).await;
        // The page's "save" sent twice at once for one SetupIntent (a double click, a retried request): on
        // PostgreSQL both used to read "no such card" and the second insert failed on its unique id (a 500).
        let setup = app.confirmed_setup(carol.id, test_cards::OK).await;
        let (first, second) = tokio::join!(
            cards::save_card(&app.state, carol.id, &setup),
            cards::save_card(&app.state, carol.id, &setup)
        );
        let (first, second) = (first.expect("first save"), second.expect("the second save finds the card saved"));
        assert_eq!((first.brand, first.last4), (second.brand, second.last4), "the same card");
        let saved = rows(carol.id).await.expect("cards");
        assert_eq!(saved.len(), 1, "one card");
        assert!(saved[0].usable && saved[0].is_default);
        // Two new cards saved at once (two tabs): each clears the others' default, one of them stays the default.
        let (one, two) =
            (app.confirmed_setup(carol.id, test_cards::OK).await, app.confirmed_setup(carol.id, test_cards::OK).await);
        let (a, b) =
            tokio::join!(cards::save_card(&app.state, carol.id, &one), cards::save_card(&app.state, carol.id, &two));
        a.expect("one saved");
        b.expect("two saved");
        let saved = rows(carol.id).await.expect("cards");
        assert_eq!(saved.len(), 3);
        assert!(saved.iter().all(|c| c.usable));
        let defaults: Vec<_> = saved.iter().filter(|c| c.is_default).collect();
        assert_eq!(defaults.len(), 1, "one default card: {saved:?}");
        assert_ne!(defaults[0].id, saved[0].id, "one of the two new ones");
    }
}

#[tokio::test]
async fn an_echeance_moved_while_the_due_run_works_through_its_list_is_not_charged_today() {
    let app = spawn_app().await;
    let carol = app.customer("carol", Some(test_cards::OK)).await;
    let admin = app.admin("root").await;
    let created = accepted_plan(&app, &carol, 3_000, 3).await;
    let first = created.echeances[0].id;
    let id = app::domain::EcheanceId::new(first).expect("id");
    // The run read it as due today; before its turn comes, an admin moves it to tomorrow.
    let tomorrow = app.today().checked_add_days(Days::new(1)).expect("date");
    plans::move_due_date(&app.state, id, tomorrow, admin.id).await.expect("moved");
    let charged = charge::charge_scheduled(&app.state, id, Trigger::DueDate, app.today()).await;
    assert!(matches!(charged, Err(ServiceError::Refused(app::domain::Refusal::NoLongerDue))), "{charged:?}");
    assert!(app.attempts(first).await.is_empty(), "nothing sent to Stripe");
    assert_eq!(app.status(first).await, EcheanceStatus::APayer);
    // Its new day's run charges it.
    app.clock.advance(Duration::from_secs(24 * 3600));
    due::charge_due(&app.state, app.today(), 10).await.expect("ran");
    assert_eq!(app.status(first).await, EcheanceStatus::Payee);
}

#[tokio::test]
async fn a_consented_plan_left_waiting_beside_a_usable_card_is_made_active_by_the_due_run() {
    use sea_orm::sea_query::Expr;
    let app = spawn_app().await;
    let carol = app.customer("carol", Some(test_cards::OK)).await;
    let created = accepted_plan(&app, &carol, 3_000, 3).await;
    let plan = created.plan.id;
    assert_eq!(plan_status(&app, plan).await, PlanStatus::Actif);
    // What PostgreSQL can leave when the acceptance and a card's saving run at the same moment and each reads
    // before the other commits: the consent and the card are both there, the plan still waits for its customer.
    payment_plan::Entity::update_many()
        .col_expr(payment_plan::Column::Status, Expr::value(PlanStatus::EnAttenteClient))
        .filter(payment_plan::Column::Id.eq(plan))
        .exec(&app.state.db)
        .await
        .expect("stuck");
    let report = due::charge_due(&app.state, app.today(), 10).await.expect("ran");
    assert_eq!(plan_status(&app, plan).await, PlanStatus::Actif);
    assert_eq!(report.charged, 1, "and its first échéance, due today, is collected on its date");
    assert_eq!(app.status(created.echeances[0].id).await, EcheanceStatus::Payee);
    // A plan without consent is not touched: it waits for its customer's answer.
    let unanswered = plans::create(&app.state, None, request(&carol.email, 3_000, 3, app.today(), Interval::Week))
        .await
        .expect("created");
    due::charge_due(&app.state, app.today(), 10).await.expect("ran");
    assert_eq!(plan_status(&app, unanswered.plan.id).await, PlanStatus::EnAttenteClient);
}

#[tokio::test]
async fn nothing_of_a_plan_is_paid_before_its_customer_accepts_it() {
    // A customer of an earlier plan, their card saved: a new plan's échéances were theirs to pay from the
    // portal before they accepted it (no consent on record), and the plan then never moved.
    let app = spawn_app().await;
    let carol = app.customer("carol", Some(test_cards::OK)).await;
    let admin = app.admin("root").await;
    let created = plans::create(&app.state, None, request(&carol.email, 3_000, 3, app.today(), Interval::Week))
        .await
        .expect("created");
    let first = created.echeances[0].id;
    let browser = app.browser();
    app.login(&browser, &carol).await;
    let listed = |checkout: serde_json::Value| -> Vec<i64> {
        checkout["echeances"].as_array().expect("list").iter().map(|e| e["id"].as_i64().expect("id")).collect()
    };
    let (status, checkout) = app.call(&browser, "checkout", &[]).await;
    assert_eq!(status, 200, "{checkout}");
    assert!(!listed(checkout).contains(&first), "an offer, not a debt: not listed to pay");
    let (status, refused) = app.call(&browser, "pay", &[("echeance_id", first.to_string().as_str())]).await;
    assert_eq!((status, refused), (409, serde_json::json!({ "Refused": "NotAccepted" })));
    let ahead = pay_ahead::pay_remaining(&app.state, created.plan.id, carol.id).await;
    assert!(matches!(ahead, Err(ServiceError::Refused(app::domain::Refusal::NotAccepted))), "{ahead:?}");
    let by_admin = charge::charge(&app.state, EcheanceId::new(first).expect("id"), Trigger::Admin(admin.id)).await;
    assert!(matches!(by_admin, Err(ServiceError::Refused(app::domain::Refusal::NotAccepted))), "{by_admin:?}");
    assert!(app.attempts(first).await.is_empty(), "nothing sent to Stripe");
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::EnAttenteClient);

    // Accepted, it is theirs to pay.
    plans::accept(&app.state, created.plan.id, carol.id, "mandat".to_owned(), consent()).await.expect("accepted");
    let (_, checkout) = app.call(&browser, "checkout", &[]).await;
    assert!(listed(checkout).contains(&first));
    let (status, paid) = app.call(&browser, "pay", &[("echeance_id", first.to_string().as_str())]).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(app.status(first).await, EcheanceStatus::Payee);
}

#[tokio::test]
async fn a_closed_account_gets_no_new_plan() {
    use sea_orm::sea_query::Expr;
    let app = spawn_app().await;
    let carol = app.customer("carol", Some(test_cards::OK)).await;
    // Its erasure has begun: the account is closed while its plans are cancelled, one by one.
    user::Entity::update_many()
        .col_expr(user::Column::DisabledAt, Expr::value(app.state.now_ms()))
        .filter(user::Column::Id.eq(carol.id.get()))
        .exec(&app.state.db)
        .await
        .expect("closed");
    let refused = plans::create(&app.state, None, request(&carol.email, 3_000, 3, app.today(), Interval::Week)).await;
    assert!(matches!(refused, Err(ServiceError::Refused(app::domain::Refusal::AccountClosed))), "{refused:?}");
    assert_eq!(payment_plan::Entity::find().count(&app.state.db).await.expect("count"), 0);
    assert_eq!(email_outbox::Entity::find().count(&app.state.db).await.expect("count"), 0, "no invitation");
}

#[tokio::test]
async fn accepted_without_javascript_the_customer_is_taken_home_not_back_to_the_spent_link() {
    let app = spawn_app().await;
    let created = plans::create(&app.state, None, request("zoe@example.test", 20_000, 2, app.today(), Interval::Week))
        .await
        .expect("created");
    let invitation = email_outbox::Entity::find().one(&app.state.db).await.expect("query").expect("the invitation");
    let context: serde_json::Value = serde_json::from_str(&invitation.context).expect("json");
    let link = context["link"].as_str().expect("a link");
    let page = &link[link.find("/plans/").expect("its path")..];
    let token = link.split("token=").nth(1).and_then(|t| t.split('&').next()).expect("a token");
    let opened = app::ssr::services::invitations::open(&app.state, created.plan.id, token, Locale::Fr).await;
    let terms = opened.expect("opens").terms;
    let id = created.plan.id.to_string();
    let form = [("plan_id", id.as_str()), ("token", token), ("terms", terms.as_str())];

    let (next, browser) = app.post_without_javascript(page, "plans/accept", &form).await;

    assert_eq!(next, "/", "the customer's home, not the link the acceptance spent");
    assert_eq!(plan_consent::Entity::find().count(&app.state.db).await.expect("count"), 1, "accepted");
    let home = browser.get(format!("{}/", app.address)).send().await.expect("answers");
    assert_eq!(home.status(), 200);
    assert!(home.text().await.expect("page").contains("Formation 2027"), "logged in, the plan on the home page");
    let spent = browser.get(format!("{}{page}", app.address)).send().await.expect("answers");
    assert_eq!(spent.status(), 410, "where leptos sent it back before: the spent link");
}

#[tokio::test]
async fn a_plan_made_with_the_test_keys_is_neither_charged_nor_announced_with_the_live_keys() {
    // Accepted on the test keys, its first échéance due today, the second in a week.
    let first = spawn_app_with(Options { workers: false, ..Options::default() }).await;
    let alice = first.customer("alice", Some(test_cards::OK)).await;
    let test_plan = accepted_plan(&first, &alice, 2_000, 2).await;
    let (due_today, next_week) = (test_plan.echeances[0].id, test_plan.echeances[1].id);
    let (db, peer) = (first.db.clone(), first.peer.clone());
    drop(first);
    let on_keys = |secret: &str| Options {
        workers: false,
        env: vec![("STRIPE_SECRET_KEY", secret.to_owned()), ("DEBIT_REMINDER_DAYS", "10".to_owned())],
    };

    // The installation moves to live keys: on real Stripe its customer and card are not there.
    let live = spawn_on(db.clone(), peer.clone(), on_keys("sk_live_echeancier_tests")).await;
    let report = due::charge_due(&live.state, live.today(), 100).await.expect("ran");
    assert_eq!((report.charged, report.skipped), (0, 0), "not selected: {report:?}");
    assert_eq!(reminders::queue_upcoming_debits(&live.state, live.today()).await.expect("queued"), 0);
    let admin = live.admin("root").await;
    let by_admin = charge::charge(&live.state, EcheanceId::new(due_today).expect("id"), Trigger::Admin(admin.id)).await;
    assert!(matches!(by_admin, Err(ServiceError::Refused(Refusal::OtherMode))), "{by_admin:?}");
    let browser = live.browser();
    live.login(&browser, &alice).await;
    let (status, refused) = live.call(&browser, "pay", &[("echeance_id", due_today.to_string().as_str())]).await;
    assert_eq!((status, refused), (409, serde_json::json!({ "Refused": "OtherMode" })));
    let ahead = pay_ahead::pay_remaining(&live.state, test_plan.plan.id, alice.id).await;
    assert!(matches!(ahead, Err(ServiceError::Refused(Refusal::OtherMode))), "{ahead:?}");
    assert!(live.attempts(due_today).await.is_empty(), "nothing sent to Stripe");
    assert_eq!(live.status(due_today).await, EcheanceStatus::APayer);

    // A plan made with the live keys is announced and charged, on a card saved with them.
    live.save_card_through_setup(alice.id, test_cards::OK).await;
    let live_plan = accepted_plan(&live, &alice, 3_000, 2).await;
    assert_eq!(reminders::queue_upcoming_debits(&live.state, live.today()).await.expect("queued"), 1);
    let report = due::charge_due(&live.state, live.today(), 100).await.expect("ran");
    assert_eq!((report.charged, report.paid), (1, 1), "{report:?}");
    assert_eq!(live.status(live_plan.echeances[0].id).await, EcheanceStatus::Payee);
    drop(live);

    // Back on the test keys, the test plan is collected and announced again, the live one left alone.
    let test = spawn_on(db, peer, on_keys(crate::helpers::peer::SECRET_KEY)).await;
    let report = due::charge_due(&test.state, test.today(), 100).await.expect("ran");
    assert_eq!((report.charged, report.paid), (1, 1), "{report:?}");
    assert_eq!(test.status(due_today).await, EcheanceStatus::Payee);
    assert_eq!(reminders::queue_upcoming_debits(&test.state, test.today()).await.expect("queued"), 1);
    let announced = email_outbox::Entity::find().all(&test.state.db).await.expect("emails");
    let reminded: Vec<_> = announced.iter().filter(|e| e.kind == app::domain::EmailKind::UpcomingDebit).collect();
    assert_eq!(reminded.len(), 2, "one a plan: {announced:?}");
    assert!(reminded.iter().any(|e| e.echeance_id == Some(next_week)), "{reminded:?}");
    // A week on, both plans' second échéances are due: the test plan's alone is charged.
    test.clock.advance(Duration::from_secs(7 * 86_400));
    let report = due::charge_due(&test.state, test.today(), 100).await.expect("ran");
    assert_eq!((report.charged, report.paid, report.skipped), (1, 1, 0), "{report:?}");
    assert_eq!(test.status(next_week).await, EcheanceStatus::Payee);
    assert!(test.attempts(live_plan.echeances[1].id).await.is_empty(), "the live plan's: nothing sent");
}

#[tokio::test]
async fn a_customer_of_the_test_days_has_no_card_for_the_live_keys_until_she_saves_one_with_them() {
    use app::ssr::services::cards;
    const LIVE_CARD: &str = "5555555555554444";
    let live_keys =
        || Options { workers: false, env: vec![("STRIPE_SECRET_KEY", "sk_live_echeancier_tests".to_owned())] };
    // On the test keys: Alice saved a card, her plan is active; Bob's plan waits for his answer.
    let first = spawn_app_with(Options { workers: false, ..Options::default() }).await;
    let alice = first.customer("alice", Some(test_cards::OK)).await;
    let test_plan = accepted_plan(&first, &alice, 2_000, 2).await;
    assert_eq!(plan_status(&first, test_plan.plan.id).await, PlanStatus::Actif);
    let bob = first.customer("bob", Some(test_cards::OK)).await;
    let bobs = plans::create(&first.state, None, request(&bob.email, 2_000, 2, first.today(), Interval::Week))
        .await
        .expect("created");
    // Carol accepted hers without a card: it waits for one.
    let carol = first.customer("carol", None).await;
    let carols = accepted_plan(&first, &carol, 2_000, 2).await;
    assert_eq!(plan_status(&first, carols.plan.id).await, PlanStatus::EnAttenteClient);
    let (db, peer) = (first.db.clone(), first.peer.clone());
    drop(first);

    // On the live keys, her test card is not hers: not shown to her, and a live plan she accepts
    // waits for a card of the live keys, as a new customer's would.
    let live = spawn_on(db.clone(), peer.clone(), live_keys()).await;
    assert_eq!(cards::default_card(&live.state, alice.id).await.expect("read").map(|c| c.last4), None);
    let live_plan = accepted_plan(&live, &alice, 3_000, 2).await;
    assert_eq!(plan_status(&live, live_plan.plan.id).await, PlanStatus::EnAttenteClient, "waits for a card");
    let no_card = async |plan: i64| {
        let page = plans::view(&live.state, plan, 0).await.expect("the plan's page").summary.no_card;
        let list = plans::list(&live.state, None, false, 0).await.expect("the list");
        let line = list.rows.into_iter().find(|row| row.id == plan).expect("listed");
        assert_eq!(line.no_card, page, "the list says what the page says");
        page
    };
    assert!(no_card(live_plan.plan.id).await, "the admins see the live plan has no card");
    assert!(!no_card(test_plan.plan.id).await, "and the test plan its test card");
    // A card Carol saves with the live keys is not one her test plan can be charged on.
    live.save_card_through_setup(carol.id, test_cards::OK).await;
    assert_eq!(plan_status(&live, carols.plan.id).await, PlanStatus::EnAttenteClient);
    // Bob cannot accept the test plan on the live keys: it could not be collected with them.
    let refused = plans::accept(&live.state, bobs.plan.id, bob.id, "mandat".to_owned(), consent()).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::OtherMode))), "{refused:?}");
    let consents = plan_consent::Entity::find().filter(plan_consent::Column::PaymentPlanId.eq(bobs.plan.id));
    assert_eq!(consents.count(&live.state.db).await.expect("count"), 0, "no consent recorded");
    assert_eq!(plan_status(&live, bobs.plan.id).await, PlanStatus::EnAttenteClient);

    // She saves a card with the live keys: a Stripe customer of the live keys is made for her, her
    // live plan becomes active and is charged there; the test plan is left alone.
    live.save_card_through_setup(alice.id, LIVE_CARD).await;
    let live_customer = cards::customer_of(&live.state.db, alice.id.get(), KeyMode::Live).await.expect("q");
    let live_customer = live_customer.expect("made with the live keys");
    assert_ne!(live_customer, alice.stripe_customer, "not her customer of the test keys");
    assert_eq!(plan_status(&live, live_plan.plan.id).await, PlanStatus::Actif);
    assert!(!no_card(live_plan.plan.id).await);
    let report = due::charge_due(&live.state, live.today(), 100).await.expect("ran");
    assert_eq!((report.charged, report.paid), (1, 1), "{report:?}");
    assert_eq!(plan_status(&live, carols.plan.id).await, PlanStatus::EnAttenteClient, "nor made active by the run");
    let charged = &live.attempts(live_plan.echeances[0].id).await[0];
    assert_eq!(charged.stripe_customer_id, live_customer);
    let shown = cards::default_card(&live.state, alice.id).await.expect("read").expect("her live card");
    assert_eq!(shown.last4, "4444");
    // The admins' list marks the plans of the test keys (Alice's, Bob's, Carol's), in their language.
    let list = plans::list(&live.state, None, false, 0).await.expect("the list");
    let modes: Vec<_> = list.rows.iter().map(|r| (r.id, r.other_mode)).collect();
    let test = Some(KeyMode::Test);
    let expected = [(live_plan.plan.id, None), (carols.plan.id, test), (bobs.plan.id, test), (test_plan.plan.id, test)];
    assert_eq!(modes, expected);
    let admin = live.admin("root").await;
    for (lang, marked) in [("fr", "Créé en mode test de Stripe"), ("en", "Made in Stripe’s test mode")] {
        let as_admin = live.browser();
        live.login(&as_admin, &admin).await;
        let page = as_admin.get(format!("{}/admin/plans?lang={lang}", live.address)).send().await.expect("answers");
        assert_eq!(page.text().await.expect("page").matches(marked).count(), 3, "{lang}");
    }
    // Alice's page says why her test plan is not paid from it, and offers to pay the live one only.
    let as_alice = live.browser();
    live.login(&as_alice, &alice).await;
    let home = as_alice.get(format!("{}/?lang=fr", live.address)).send().await.expect("answers");
    let home = home.text().await.expect("page");
    assert_eq!(home.matches("Cet échéancier a été créé dans l’autre mode de Stripe").count(), 1);
    assert!(home.contains(&format!("pay-plan-{}\"", live_plan.plan.id)), "her live plan is paid ahead from here");
    assert!(!home.contains(&format!("pay-plan-{}\"", test_plan.plan.id)), "not her test plan");
    // Nor is an échéance of her test plan: said instead of its « Payer ».
    let (live_next, test_first) = (live_plan.echeances[1].id, test_plan.echeances[0].id);
    assert!(home.contains(&format!("pay-{live_next}\"")), "the live plan's next échéance is paid from here");
    assert!(!home.contains(&format!("pay-{test_first}\"")), "not the test plan's");
    assert!(home.contains(&format!("other-mode-{test_first}\"")), "which says why");
    drop(live);

    // Back on the test keys: her test card is hers again, and her test customer is charged.
    let test = spawn_on(db, peer, Options { workers: false, ..Options::default() }).await;
    let shown = cards::default_card(&test.state, alice.id).await.expect("read").expect("her test card");
    assert_eq!(shown.last4, "4242");
    let report = due::charge_due(&test.state, test.today(), 100).await.expect("ran");
    assert_eq!((report.charged, report.paid), (1, 1), "the test plan's alone: {report:?}");
    let charged = &test.attempts(test_plan.echeances[0].id).await[0];
    assert_eq!(charged.stripe_customer_id, alice.stripe_customer);
}

#[tokio::test]
async fn a_customers_stripe_record_and_card_kept_before_the_upgrade_take_the_mode_in_use() {
    use app::ssr::entities::{payment_method, stripe_customer};
    use app::ssr::services::{cards, host_api::keys};
    use migration::MigratorTrait as _;
    use sea_orm::ConnectionTrait as _;
    let app = crate::helpers::spawn_app_by_hand().await;
    let db = &app.state.db;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let bob = app.customer("bob", None).await;

    // Back before the upgrade: the record was the account's, a card had no mode.
    migration::Migrator::down(db, Some(2)).await.expect("down");
    let kept = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT stripe_customer_id FROM users WHERE id = {}", alice.id.get()),
        ))
        .await
        .expect("read")
        .expect("her row");
    assert_eq!(
        kept.try_get::<Option<String>>("", "stripe_customer_id").expect("column"),
        Some(alice.stripe_customer.clone())
    );
    migration::Migrator::up(db, None).await.expect("up");
    let unknown = stripe_customer::Entity::find().filter(stripe_customer::Column::Mode.is_null());
    assert_eq!(unknown.count(db).await.expect("count"), 2, "Alice's and Bob's, of no mode yet");

    // The upgraded version's first start, on the same keys.
    let kept = keys::keep_mode_of_older(db, KeyMode::Test).await.expect("kept");
    assert_eq!(kept.customers_and_cards, 3, "two records, one card: {kept:?}");
    assert_eq!(cards::customer_of(db, alice.id.get(), KeyMode::Test).await.expect("q"), Some(alice.stripe_customer));
    assert_eq!(cards::customer_of(db, bob.id.get(), KeyMode::Test).await.expect("q"), Some(bob.stripe_customer));
    assert_eq!(cards::customer_of(db, alice.id.get(), KeyMode::Live).await.expect("q"), None);
    let card = payment_method::Entity::find().one(db).await.expect("q").expect("her card");
    assert_eq!(card.mode, Some(KeyMode::Test));
}

#[tokio::test]
async fn what_a_test_plan_sent_to_stripe_is_left_alone_with_the_live_keys_until_they_are_back() {
    use app::domain::{Amount, AttemptOutcome, RefundReason, RefundStatus};
    use app::ssr::entities::refund;
    use app::ssr::services::authenticate::{self, Access};
    use app::ssr::services::{admin, erasure, recovery, refunds};
    fn is_other_mode<T>(done: &Result<T, ServiceError>) -> bool {
        matches!(done, Err(ServiceError::Refused(Refusal::OtherMode)))
    }
    let ask = |e: i64, seen: i32, cents: i64| refunds::Ask {
        echeance: EcheanceId::new(e).expect("id"),
        seen,
        amount: Amount::from_minor(cents).expect("amount"),
        reason: RefundReason::RequestedByCustomer,
    };

    // On the test keys: Alice's first échéance paid, a refund of part of it asked and left
    // unanswered (Stripe unreachable, no webhook); Carol's first waits for her 3D Secure.
    let first = spawn_app_with(Options { workers: false, ..Options::default() }).await;
    let admin_id = first.admin("root").await.id;
    let alice = first.customer("alice", Some(test_cards::OK)).await;
    let paid = accepted_plan(&first, &alice, 3_000, 3).await.echeances[0].id;
    let carol = first.customer("carol", Some(test_cards::SCA_ALWAYS)).await;
    let carols = accepted_plan(&first, &carol, 3_000, 3).await;
    let waiting = carols.echeances[0].id;
    due::charge_due(&first.state, first.today(), 100).await.expect("ran");
    assert_eq!(
        (first.status(paid).await, first.status(waiting).await),
        (EcheanceStatus::Payee, EcheanceStatus::EnAttente)
    );
    let pi = first.row(waiting).await.current_payment_intent_id.expect("its PaymentIntent");
    // Dora's card was declined: her first échéance waits for its retry.
    let dora = first.customer("dora", Some(test_cards::DECLINED)).await;
    let declined = accepted_plan(&first, &dora, 3_000, 3).await.echeances[0].id;
    due::charge_due(&first.state, first.today(), 100).await.expect("ran");
    assert_eq!(first.status(declined).await, EcheanceStatus::Echouee);
    first.stripe.set_delivery(crate::helpers::Delivery::Drop);
    for _ in 0..4 {
        first.stripe.inject("POST /v1/refunds", Fault::Unavailable);
    }
    let asked = refunds::refund(&first.state, ask(paid, 0, 1_000), admin_id).await;
    assert!(matches!(asked, Ok(RefundStatus::Requested)), "{asked:?}");
    let (db, peer) = (first.db.clone(), first.peer.clone());
    drop(first);

    // On the live keys, none of it goes to Stripe.
    let live_keys = vec![("STRIPE_SECRET_KEY", "sk_live_echeancier_tests".to_owned())];
    let live = spawn_on(db.clone(), peer.clone(), Options { workers: false, env: live_keys }).await;
    assert!(is_other_mode(&refunds::refund(&live.state, ask(paid, 1, 500), admin_id).await));
    assert!(is_other_mode(&authenticate::prepare(&live.state, &pi, &Access::User(carol.id), false).await));
    assert!(is_other_mode(&plans::cancel(&live.state, carols.plan.id, admin_id).await));
    let alone = admin::actions::cancel(&live.state, EcheanceId::new(waiting).expect("id"), admin_id).await;
    assert!(is_other_mode(&alone), "{alone:?}");
    let emailed = admin::actions::resend_authentication_email(&live.state, EcheanceId::new(waiting).expect("id")).await;
    assert!(is_other_mode(&emailed), "{emailed:?}");
    // Nor is Dora erased: her declined échéance's PaymentIntent could not be stopped.
    assert!(is_other_mode(&erasure::erase(&live.state, dora.id.get(), admin_id).await));
    let account = user::Entity::find_by_id(dora.id.get()).one(&live.state.db).await.expect("q").expect("dora");
    assert_eq!(account.disabled_at, None, "nothing closed before the refusal");
    // Past the refund's wait and the 3D Secure link's life: neither is followed up.
    live.clock.advance(Duration::from_secs(8 * 86_400));
    assert_eq!(refunds::resume(&live.state, 10).await.expect("resumed"), 0);
    assert_eq!(recovery::expire_links(&live.state, 50).await.expect("expired"), 0);
    let refund_rows = refund::Entity::find().all(&live.state.db).await.expect("refunds");
    assert_eq!(refund_rows.iter().map(|r| r.status).collect::<Vec<_>>(), [RefundStatus::Requested]);
    assert_eq!(live.attempts(waiting).await[0].outcome, AttemptOutcome::RequiresAction);
    assert_eq!(plan_status(&live, carols.plan.id).await, PlanStatus::Actif);
    assert_eq!(live.status(waiting).await, EcheanceStatus::EnAttente);
    // The admins' page of the plan says why.
    let page = plans::view(&live.state, carols.plan.id, 0).await.expect("the plan's page");
    assert_eq!(page.summary.other_mode, Some(app::domain::KeyMode::Test));
    drop(live);

    // Back on the test keys, both are followed up.
    let test = spawn_on(db, peer, Options { workers: false, ..Options::default() }).await;
    test.clock.advance(Duration::from_secs(8 * 86_400));
    assert_eq!(refunds::resume(&test.state, 10).await.expect("resumed"), 1);
    assert_eq!(recovery::expire_links(&test.state, 50).await.expect("expired"), 1);
    assert_eq!(test.attempts(waiting).await[0].outcome, AttemptOutcome::Canceled);
    assert_eq!(plans::view(&test.state, carols.plan.id, 0).await.expect("the plan's page").summary.other_mode, None);
}

#[tokio::test]
async fn a_plans_page_lists_what_was_sent_about_it_and_where_each_email_stands() {
    use app::api::dto::TimelineEvent;
    use app::domain::{EmailKind, Trouble};
    use migration::MigratorTrait as _;
    let mail = crate::helpers::mail::MailCatcher::start().await;
    let app = spawn_app_with(Options { workers: false, env: vec![("SMTP_URL", mail.smtp_url())] }).await;
    // Alice's plan: invited, accepted (its summary), its first échéance paid; Bob's plan beside it.
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let hers = accepted_plan(&app, &alice, 2_000, 2).await;
    let report = due::charge_due(&app.state, app.today(), 10).await.expect("ran");
    assert_eq!(report.paid, 1, "{report:?}");
    let bob = app.customer("bob", Some(test_cards::OK)).await;
    let _his = accepted_plan(&app, &bob, 3_000, 3).await;
    app::ssr::email::sender::send_pending(&app.state, 50).await.expect("the outbox");
    let listed = async || {
        let view = plans::view(&app.state, hers.plan.id, 0).await.expect("her plan's page");
        view.emails
            .into_iter()
            .map(|e| match e.entry.event {
                TimelineEvent::Email { kind, status, to, last_error, .. } => {
                    (kind, status.as_str().to_owned(), to, last_error, e.echeance)
                }
                other => panic!("not an email: {other:?}"),
            })
            .collect::<Vec<_>>()
    };
    // Her invitation was not sent: she had accepted before the outbox ran.
    let dropped = Trouble::PlanNow(PlanStatus::Actif);
    let expected = vec![
        (EmailKind::PaymentReceived, "sent".to_owned(), alice.email.clone(), None, Some((hers.echeances[0].id, 1))),
        (EmailKind::PlanSummary, "sent".to_owned(), alice.email.clone(), None, None),
        (EmailKind::Invitation, "cancelled".to_owned(), alice.email.clone(), Some(dropped.clone()), None),
    ];
    assert_eq!(listed().await, expected, "hers only, newest first");
    let admin = app.admin("root").await;
    for (lang, locale, title, about) in [
        ("fr", Locale::Fr, "E-mails de l’échéancier", "échéance n°1"),
        ("en", Locale::En, "The plan’s emails", "installment 1"),
    ] {
        let why = app::ui::i18n::trouble_text(&dropped, locale);
        let browser = app.browser();
        app.login(&browser, &admin).await;
        let page = browser.get(format!("{}/admin/plans/{}?lang={lang}", app.address, hers.plan.id)).send().await;
        let page = page.expect("answers").text().await.expect("page");
        assert!(page.contains(title) && page.contains(why.as_str()), "{lang}");
        assert_eq!(page.matches("data-email-kind=\"invitation\"").count(), 1, "{lang}");
        let about = format!("<a href=\"/admin/echeances/{}\">{}</a>", hers.echeances[0].id, about);
        assert_eq!(page.matches(about.as_str()).count(), 1, "{lang}: the receipt names its échéance");
    }

    // The emails of an installation that ran the earlier version take their plan at the upgrade;
    // a key whose first `:p` no plan's number follows, none (the same on both engines).
    let bobs = |kind: EmailKind| {
        sea_orm::Condition::all()
            .add(email_outbox::Column::ToAddress.eq(bob.email.as_str()))
            .add(email_outbox::Column::Kind.eq(kind))
    };
    for (kind, odd_key) in
        [(EmailKind::PlanSummary, "plan_summary:pending"), (EmailKind::Invitation, "invitation:px:p1")]
    {
        let changed = email_outbox::Entity::update_many()
            .col_expr(email_outbox::Column::DedupKey, sea_orm::sea_query::Expr::value(odd_key))
            .filter(bobs(kind))
            .exec(&app.state.db)
            .await
            .expect("its key changed");
        assert_eq!(changed.rows_affected, 1, "{kind:?}");
    }
    migration::Migrator::down(&app.state.db, Some(1)).await.expect("down");
    migration::Migrator::up(&app.state.db, None).await.expect("up");
    assert_eq!(listed().await, expected);
    for kind in [EmailKind::PlanSummary, EmailKind::Invitation] {
        let row = email_outbox::Entity::find().filter(bobs(kind)).one(&app.state.db).await.expect("read");
        assert_eq!(row.expect("his email").payment_plan_id, None, "{kind:?}");
    }
}

#[tokio::test]
async fn a_plans_emails_are_paged_newest_first_each_once() {
    use app::domain::EmailKind;
    use app::ssr::email::outbox::{self, NewEmail};
    use sea_orm::QuerySelect as _;
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(test_cards::OK)).await;
    let hers = accepted_plan(&app, &alice, 2_000, 2).await;
    let customer = user::Entity::find_by_id(alice.id.get()).one(&app.state.db).await.expect("read").expect("her");
    for n in 0..45 {
        let email = NewEmail::about_plan(
            hers.plan.id,
            &customer,
            Locale::Fr,
            (EmailKind::PlanSummary, format!("plan_summary:p{}:test{n}", hers.plan.id)),
            serde_json::json!({}),
            app.state.now_ms(),
        );
        assert!(outbox::enqueue(&app.state.db, email, app.state.now_ms()).await.expect("queued"));
    }
    let all: Vec<i64> = email_outbox::Entity::find()
        .select_only()
        .column(email_outbox::Column::Id)
        .filter(email_outbox::Column::PaymentPlanId.eq(hers.plan.id))
        .order_by_desc(email_outbox::Column::Id)
        .into_tuple()
        .all(&app.state.db)
        .await
        .expect("read");
    assert!(all.len() > 45, "hers and the 45 more: {}", all.len());

    // Page after page, each email once, newest first, until the page that says none is older.
    let mut seen = Vec::new();
    for page in 0..=all.len() as u64 / 20 + 1 {
        let view = plans::view(&app.state, hers.plan.id, page).await.expect("her plan's page");
        assert_eq!(view.emails_page, page);
        assert!(view.emails.len() <= 20, "page {page}: {}", view.emails.len());
        seen.extend(view.emails.iter().map(|e| e.id));
        if !view.more_emails {
            break;
        }
        assert_eq!(view.emails.len(), 20, "page {page} is full when more follow");
    }
    assert_eq!(seen, all);
    let far = plans::view(&app.state, hers.plan.id, u64::MAX).await.expect("a page past them all");
    assert!(far.emails.is_empty() && !far.more_emails);

    // The page links one to the other, by their own words, in both languages.
    let admin = app.admin("root").await;
    for (lang, newer, older) in
        [("fr", "E-mails plus récents", "E-mails plus anciens"), ("en", "Newer emails", "Older emails")]
    {
        // A browser of each language (a link's `lang` is a choice only where none was made).
        let browser = app.browser();
        app.login(&browser, &admin).await;
        let url = |page: u64| format!("{}/admin/plans/{}?lang={lang}&emails_page={page}", app.address, hers.plan.id);
        let first = browser.get(url(0)).send().await.expect("answers").text().await.expect("page");
        let link = |page: u64| format!("href=\"/admin/plans/{}?emails_page={page}#plan-emails-title\"", hers.plan.id);
        assert!(first.contains(&format!("{}>{older}</a>", link(1))) && !first.contains(newer), "{lang}");
        assert_eq!(first.matches("data-email-kind=").count(), 20, "{lang}");
        let second = browser.get(url(1)).send().await.expect("answers").text().await.expect("page");
        assert!(second.contains(&format!("{}>{newer}</a>", link(0))), "{lang}");
        assert!(second.contains(&format!("{}>{older}</a>", link(2))), "{lang}");
        // Past the last page: said so, and a way back to the first.
        let past = browser.get(url(9)).send().await.expect("answers").text().await.expect("page");
        let said = app::ui::i18n::Texts::of(Locale::parse(lang).expect("a language")).plan_emails_past_the_last;
        assert!(past.contains(said) && past.contains(&format!("{}>{newer}</a>", link(0))), "{lang}");
    }
    // A page loaded before there were pages asks without one: the first page.
    let browser = app.browser();
    app.login(&browser, &admin).await;
    let response = browser
        .post(format!("{}/api/admin/plans/view", app.address))
        .header("accept", "application/json")
        .form(&[("plan_id", hers.plan.id.to_string())])
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let view: app::api::dto::PlanView = response.json().await.expect("the plan");
    assert_eq!((view.emails_page, view.emails.len(), view.more_emails), (0, 20, true));
}
