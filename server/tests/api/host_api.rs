//! The host site's REST API, over HTTP as the host calls it: keys, plans
//! created cent-exact, every refusal naming its parameter with nothing
//! written, idempotent retries (replayed, refused with another body, one
//! plan from concurrent requests), pagination, cancel, and 429.

use app::domain::KeyMode;
use app::ssr::entities::{api_request, echeance, email_outbox, payment_plan, user, webhook_endpoint};
use app::ssr::services::error::ServiceError;
use app::ssr::services::host_api::keys;
use app::ssr::services::outgoing::endpoints;
use chrono::Days;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, spawn_app, spawn_app_with, spawn_on};

/// A key for the tests' host.
async fn api_key(app: &TestApp) -> String {
    keys::create(&app.state, "site de test").await.expect("key").key.expose().to_owned()
}

/// One call: method, path, key, optional idempotency key and body; (status, JSON, headers).
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    idempotency: Option<&str>,
    body: Option<&str>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", app.address));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    if let Some(idempotency) = idempotency {
        request = request.header("idempotency-key", idempotency);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), headers)
}

async fn post(app: &TestApp, path: &str, key: &str, idempotency: Option<&str>, body: &Value) -> (u16, Value) {
    let (status, json, _) =
        call(app, reqwest::Method::POST, path, Some(key), idempotency, Some(&body.to_string())).await;
    (status, json)
}

async fn get(app: &TestApp, path: &str, key: &str) -> (u16, Value) {
    let (status, json, _) = call(app, reqwest::Method::GET, path, Some(key), None, None).await;
    (status, json)
}

fn split_plan(app: &TestApp, email: &str, total: i64, installments: u32) -> Value {
    json!({
        "customer": { "email": email, "name": "Zoé Martin", "locale": "fr" },
        "label": "Formation 2027",
        "currency": "eur",
        "total_cents": total,
        "installments": installments,
        "first_due_date": app.today().checked_add_days(Days::new(3)).expect("date").to_string(),
        "interval": "month",
        "metadata": { "order_id": "A-1042" },
    })
}

/// The database id of an API plan object (`plan_42` → 42).
fn plan_number(plan: &Value) -> i64 {
    plan["id"].as_str().and_then(|id| id.strip_prefix("plan_")).and_then(|n| n.parse().ok()).expect("a plan id")
}

/// The customer of an API plan object.
async fn customer_of(app: &TestApp, plan: &Value) -> app::domain::UserId {
    let row = payment_plan::Entity::find_by_id(plan_number(plan)).one(&app.state.db).await.expect("query");
    app::domain::UserId::new(row.expect("the plan").customer_id).expect("a user id")
}

async fn counts(app: &TestApp) -> (u64, u64, u64, u64) {
    let db = &app.state.db;
    (
        payment_plan::Entity::find().count(db).await.expect("count"),
        echeance::Entity::find().count(db).await.expect("count"),
        user::Entity::find().count(db).await.expect("count"),
        email_outbox::Entity::find().count(db).await.expect("count"),
    )
}

#[tokio::test]
async fn without_a_valid_key_every_route_answers_the_same_401() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let revoked = keys::create(&app.state, "ancien").await.expect("key");
    let (status, _) = get(&app, "/v1/plans", revoked.key.expose()).await;
    assert_eq!(status, 200, "the key works before it is revoked");
    keys::revoke(&app.state, revoked.row.id).await.expect("revoked");

    let unknown = format!("ek_test_{}", "A".repeat(32));
    let mut answers = Vec::new();
    for presented in [None, Some("nonsense"), Some(unknown.as_str()), Some(revoked.key.expose())] {
        for (method, path) in [(reqwest::Method::GET, "/v1/plans"), (reqwest::Method::POST, "/v1/plans")] {
            let (status, body, _) = call(&app, method, path, presented, None, Some("{}")).await;
            assert_eq!(status, 401, "{presented:?} on {path}");
            answers.push(body);
        }
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "one answer for every bad key: {answers:?}");
    assert_eq!(answers[0]["error"]["type"], "authentication_error");
    assert_eq!(counts(&app).await.0, 0);
    let (status, _) = get(&app, "/v1/plans", &key).await;
    assert_eq!(status, 200, "the other key still works");
}

#[tokio::test]
async fn a_plan_is_created_cent_exact_and_read_back_as_the_host_sees_it() {
    let app = spawn_app().await;
    let key = api_key(&app).await;

    let (status, plan) = post(&app, "/v1/plans", &key, None, &split_plan(&app, "zoe@example.test", 10_000, 3)).await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["object"], "plan");
    assert_eq!(plan["status"], "awaiting_customer");
    assert_eq!(plan["total_cents"], 10_000);
    assert_eq!(plan["currency"], "eur");
    assert_eq!(plan["metadata"]["order_id"], "A-1042", "metadata is echoed back");
    assert_eq!(plan["customer"]["email"], "zoe@example.test");
    let amounts: Vec<i64> = plan["echeances"]
        .as_array()
        .expect("échéances")
        .iter()
        .map(|e| e["amount_cents"].as_i64().expect("amount"))
        .collect();
    assert_eq!(amounts, vec![3_334, 3_333, 3_333], "the cent goes to the first");
    assert!(plan["echeances"].as_array().expect("list").iter().all(|e| e["status"] == "scheduled"));
    let url = plan["acceptance_url"].as_str().expect("an acceptance link");
    assert!(url.starts_with(&format!("{}/plans/", app.address)) && url.contains("/accept?token="), "{url}");
    assert!(url.ends_with("&lang=fr"), "the link carries the customer's language, as the email's does: {url}");

    let id = plan["id"].as_str().expect("id");
    let (status, again) = get(&app, &format!("/v1/plans/{id}"), &key).await;
    assert_eq!((status, &again), (200, &plan), "GET returns what POST did");
    let first = plan["echeances"][0]["id"].as_str().expect("échéance id");
    let (status, echeance) = get(&app, &format!("/v1/echeances/{first}"), &key).await;
    assert_eq!(status, 200);
    assert_eq!(echeance["plan"], id);
    assert_eq!(echeance["amount_cents"], 3_334);

    let page = reqwest::get(url).await.expect("page").text().await.expect("html");
    assert!(page.contains("Formation 2027"), "the acceptance link opens the plan");
    assert_eq!(get(&app, "/v1/plans/plan_999999", &key).await.0, 404);
    assert_eq!(get(&app, "/v1/plans/nonsense", &key).await.0, 404);
    assert_eq!(get(&app, "/v1/echeances/ech_999999", &key).await.0, 404);
    assert_eq!(email_outbox::Entity::find().count(&app.state.db).await.expect("count"), 1, "the invitation is queued");

    let mut quiet = split_plan(&app, "yan@example.test", 9_000, 2);
    quiet["customer"]["locale"] = json!("en");
    quiet["send_invitation"] = json!(false);
    quiet["return_url"] = json!("https://shop.example/orders/A-1042");
    let (status, plan) = post(&app, "/v1/plans", &key, None, &quiet).await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["return_url"], "https://shop.example/orders/A-1042");
    let url = plan["acceptance_url"].as_str().expect("the host sends its own link");
    assert!(url.ends_with("&lang=en"), "{url}");
    let page = reqwest::Client::new().get(url).header("accept-language", "fr-FR,fr;q=0.9").send().await.expect("page");
    assert!(
        page.text().await.expect("html").contains("<html lang=\"en\""),
        "the customer's language, not the browser's"
    );
    assert_eq!(email_outbox::Entity::find().count(&app.state.db).await.expect("count"), 1, "no invitation email");

    // The link logs its holder in: never handed to the host for an account that existed before.
    let (status, again) = post(&app, "/v1/plans", &key, None, &split_plan(&app, "zoe@example.test", 6_000, 2)).await;
    assert_eq!(status, 201, "{again}");
    assert!(again["acceptance_url"].is_null(), "an existing customer accepts from their own inbox: {again}");
    assert_eq!(email_outbox::Entity::find().count(&app.state.db).await.expect("count"), 2, "where the invitation goes");
    let (status, listed) = get(&app, &format!("/v1/plans/{}", again["id"].as_str().expect("id")), &key).await;
    assert_eq!(status, 200);
    assert!(listed["acceptance_url"].is_null());

    // Stripe's conventions: the scheme in any case, a JSON 404 for a path that is not in the API.
    let lower = reqwest::Client::new()
        .get(format!("{}/v1/plans", app.address))
        .header("authorization", format!("bearer {key}"))
        .send()
        .await
        .expect("answer");
    assert_eq!(lower.status().as_u16(), 200);
    let (status, missing) = get(&app, "/v1/subscriptions", &key).await;
    assert_eq!(status, 404);
    assert_eq!(missing["error"]["code"], "resource_missing");
}

#[tokio::test]
async fn every_refused_request_names_its_parameter_and_writes_nothing() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let today = app.today();
    let ok = split_plan(&app, "zoe@example.test", 10_000, 3);
    let with = |patch: Value| {
        let mut body = ok.clone();
        for (k, v) in patch.as_object().expect("object") {
            if v.is_null() {
                body.as_object_mut().expect("object").remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let yesterday = today.checked_sub_days(Days::new(1)).expect("date").to_string();
    let soon = |d: u64| today.checked_add_days(Days::new(d)).expect("date").to_string();
    let mut cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        ("no label", with(json!({ "label": null })), 400, "parameter_missing", Some("label")),
        ("unknown parameter", with(json!({ "colour": "red" })), 400, "parameter_unknown", Some("colour")),
        (
            "bad email",
            with(json!({ "customer": { "email": "zoe@", "name": "Zoé" } })),
            400,
            "parameter_invalid",
            Some("customer.email"),
        ),
        (
            "no customer name",
            with(json!({ "customer": { "email": "zoe@example.test" } })),
            400,
            "parameter_missing",
            Some("customer.name"),
        ),
        (
            "bad locale",
            with(json!({ "customer": { "email": "zoe@example.test", "name": "Zoé", "locale": "de" } })),
            400,
            "parameter_invalid",
            Some("customer.locale"),
        ),
        ("amount as text", with(json!({ "total_cents": "100" })), 400, "parameter_invalid", Some("total_cents")),
        (
            "date not ISO",
            with(json!({ "first_due_date": "01/02/2027" })),
            400,
            "parameter_invalid",
            Some("first_due_date"),
        ),
        ("bad interval", with(json!({ "interval": "year" })), 400, "parameter_invalid", Some("interval")),
        (
            "no schedule",
            with(json!({ "total_cents": null, "installments": null, "first_due_date": null })),
            400,
            "parameter_missing",
            Some("total_cents"),
        ),
        (
            "both schedules",
            with(json!({ "echeances": [{ "due_date": soon(3), "amount_cents": 10_000 }] })),
            400,
            "parameter_invalid",
            Some("echeances"),
        ),
        ("date in the past", with(json!({ "first_due_date": yesterday })), 422, "date_in_the_past", None),
        (
            "under the minimum",
            with(json!({ "total_cents": 120, "installments": 3 })),
            422,
            "amount_below_minimum",
            None,
        ),
        ("unsupported currency", with(json!({ "currency": "jpy" })), 422, "currency_unsupported", Some("currency")),
        ("too many", with(json!({ "installments": 49 })), 422, "installments_out_of_range", Some("installments")),
        // Any integer out of 1 to 48 is the same refusal (-1 was a 400 "expected u32", 0 a 422).
        ("none", with(json!({ "installments": 0 })), 422, "installments_out_of_range", Some("installments")),
        (
            "a negative count",
            with(json!({ "installments": -1 })),
            422,
            "installments_out_of_range",
            Some("installments"),
        ),
        (
            "a count beyond 32 bits",
            with(json!({ "installments": 4_294_967_297_i64 })),
            422,
            "installments_out_of_range",
            Some("installments"),
        ),
        (
            "bad return url",
            with(json!({ "return_url": "javascript:alert(1)" })),
            400,
            "parameter_invalid",
            Some("return_url"),
        ),
        (
            "metadata too long",
            with(json!({ "metadata": { "k": "v".repeat(501) } })),
            400,
            "parameter_invalid",
            Some("metadata"),
        ),
        (
            "a year typed as 9999",
            with(json!({ "first_due_date": "9999-12-31" })),
            422,
            "date_out_of_range",
            Some("first_due_date"),
        ),
        (
            "parts each over one charge",
            with(json!({ "total_cents": 10_000_000_000_i64, "installments": 2 })),
            422,
            "amount_too_large",
            Some("total_cents"),
        ),
        ("NUL in the label", with(json!({ "label": "Formation\u{0}" })), 400, "parameter_invalid", Some("label")),
        (
            "control character in the name",
            with(json!({ "customer": { "email": "zoe@example.test", "name": "Zoé\u{7}" } })),
            400,
            "parameter_invalid",
            Some("customer.name"),
        ),
        (
            "NUL in the email",
            with(json!({ "customer": { "email": "zo\u{0}e@example.test", "name": "Zoé" } })),
            400,
            "parameter_invalid",
            Some("customer.email"),
        ),
        (
            "an address no mail server takes",
            with(json!({ "customer": { "email": "zoe..martin@example.test", "name": "Zoé" } })),
            400,
            "parameter_invalid",
            Some("customer.email"),
        ),
        (
            "NUL in a metadata value",
            with(json!({ "metadata": { "k": "v\u{0}" } })),
            400,
            "parameter_invalid",
            Some("metadata"),
        ),
        (
            "list out of order",
            with(json!({ "total_cents": null, "installments": null, "first_due_date": null, "interval": null,
                         "echeances": [{ "due_date": soon(30), "amount_cents": 5_000 }, { "due_date": soon(10), "amount_cents": 5_000 }] })),
            422,
            "dates_out_of_order",
            Some("echeances[1].due_date"),
        ),
        (
            "list amount not positive",
            with(json!({ "total_cents": null, "installments": null, "first_due_date": null, "interval": null,
                         "echeances": [{ "due_date": soon(3), "amount_cents": 0 }] })),
            422,
            "amount_not_positive",
            Some("echeances[0].amount_cents"),
        ),
    ];
    // Exactly YYYY-MM-DD: not a two-digit year (read as the year 27), nor without its zeros, nor signed.
    for date in ["27-01-15", "2027-1-5", "+2027-01-05", " 2027-01-05"] {
        let body = with(json!({ "first_due_date": date }));
        cases.push(("date not YYYY-MM-DD", body, 400, "parameter_invalid", Some("first_due_date")));
    }
    for (name, body, status, code, param) in cases {
        let (got, error) = post(&app, "/v1/plans", &key, None, &body).await;
        assert_eq!(got, status, "{name}: {error}");
        assert_eq!(error["error"]["code"], code, "{name}: {error}");
        if let Some(param) = param {
            assert_eq!(error["error"]["param"], param, "{name}: {error}");
        }
        assert!(error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}");
    }
    for raw in ["", "{not json", "[1,2]"] {
        let (status, error, _) = call(&app, reqwest::Method::POST, "/v1/plans", Some(&key), None, Some(raw)).await;
        assert_eq!(status, 400, "{raw:?}: {error}");
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    // What a refusal says is enough to correct the request (it read "Invalid : invalid type: sequence…",
    // "Invalid metadata.").
    let (_, error, _) = call(&app, reqwest::Method::POST, "/v1/plans", Some(&key), None, Some("[1,2]")).await;
    assert_eq!(error["error"]["message"], "The body must be a JSON object.", "{error}");
    let twice = format!("{{\"label\":\"A\",{}", &ok.to_string()[1..]);
    let (status, error, _) = call(&app, reqwest::Method::POST, "/v1/plans", Some(&key), None, Some(&twice)).await;
    assert_eq!((status, error["error"]["param"].as_str()), (400, Some("label")), "{error}");
    assert_eq!(error["error"]["message"], "Parameter given twice: label.");
    // A metadata key given twice is refused as well: which of its values the host meant is not ours to guess
    // (the last one was kept).
    let unmetered = with(json!({ "metadata": null })).to_string();
    let twice = format!("{{\"metadata\":{{\"order_id\":\"A-1\",\"order_id\":\"A-2\"}},{}", &unmetered[1..]);
    let (status, error, _) = call(&app, reqwest::Method::POST, "/v1/plans", Some(&key), None, Some(&twice)).await;
    assert_eq!((status, error["error"]["param"].as_str()), (400, Some("metadata.order_id")), "{error}");
    assert_eq!(error["error"]["message"], "Parameter given twice: metadata.order_id.");
    let (_, error) = post(&app, "/v1/plans", &key, None, &with(json!({ "metadata": { "k": "v".repeat(501) } }))).await;
    let message = error["error"]["message"].as_str().expect("message");
    assert!(message.starts_with("Invalid metadata: expected at most 20 keys") && message.contains("500"), "{message}");
    let (_, error) = post(
        &app,
        "/v1/plans",
        &key,
        None,
        &with(json!({ "customer": { "email": "zoe@example.test", "name": "Zoé", "locale": "de" } })),
    )
    .await;
    assert_eq!(error["error"]["message"], "Invalid customer.locale: expected fr or en.");
    // A valid plan with anything but white space after it is not a plan.
    for raw in [format!("{ok}garbage"), format!("{ok}{ok}"), format!("{ok}\n,")] {
        let (status, error, _) = call(&app, reqwest::Method::POST, "/v1/plans", Some(&key), None, Some(&raw)).await;
        assert_eq!((status, error["error"]["code"].as_str()), (400, Some("invalid_json")), "{raw:?}: {error}");
    }
    assert_eq!(counts(&app).await, (0, 0, 0, 0), "nothing written by any refused request");
}

#[tokio::test]
async fn a_retried_creation_replays_its_answer_and_another_body_is_refused() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let body = split_plan(&app, "zoe@example.test", 10_000, 3);

    let (first_status, first) = post(&app, "/v1/plans", &key, Some("order-A-1042"), &body).await;
    let (second_status, second) = post(&app, "/v1/plans", &key, Some("order-A-1042"), &body).await;
    assert_eq!((first_status, second_status), (201, 201));
    assert_eq!(first, second, "the same answer, byte for byte");
    assert_eq!(counts(&app).await.0, 1, "one plan");
    // The same parameters written otherwise (another client library, keys in another order, pretty-printed) are
    // the same request, as on Stripe: replayed, not refused.
    let mut reordered: Vec<(String, Value)> = body.as_object().expect("object").clone().into_iter().collect();
    reordered.reverse();
    let pretty = format!(
        "{{\n{}\n}}",
        reordered.iter().map(|(k, v)| format!("  {}: {v}", Value::from(k.as_str()))).collect::<Vec<_>>().join(",\n")
    );
    let (status, third, _) =
        call(&app, reqwest::Method::POST, "/v1/plans", Some(&key), Some("order-A-1042"), Some(&pretty)).await;
    assert_eq!((status, &third), (201, &first), "{pretty}");
    assert_eq!(counts(&app).await.0, 1, "still one plan");

    let other = split_plan(&app, "zoe@example.test", 12_000, 3);
    let (status, error) = post(&app, "/v1/plans", &key, Some("order-A-1042"), &other).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["type"], "idempotency_error");
    assert_eq!(counts(&app).await.0, 1);

    // A request refused before it ran keeps no answer (as Stripe, for a validation failure): the same one is
    // refused again, and once corrected it runs under the same key.
    let bad = split_plan(&app, "amelie@", 10_000, 3);
    let (a, ea) = post(&app, "/v1/plans", &key, Some("bad-1"), &bad).await;
    let (b, eb) = post(&app, "/v1/plans", &key, Some("bad-1"), &bad).await;
    assert_eq!((a, b), (400, 400));
    assert_eq!(ea, eb);
    let too_small = split_plan(&app, "amelie@example.test", 40, 1);
    let (status, error) = post(&app, "/v1/plans", &key, Some("bad-1"), &too_small).await;
    assert_eq!((status, error["error"]["type"].as_str()), (422, Some("invalid_request_error")), "{error}");
    assert_eq!(counts(&app).await.0, 1, "nothing written");
    let fixed = split_plan(&app, "amelie@example.test", 10_000, 3);
    let (status, created) = post(&app, "/v1/plans", &key, Some("bad-1"), &fixed).await;
    assert_eq!(status, 201, "the corrected request runs under the key: {created}");
    let (status, again) = post(&app, "/v1/plans", &key, Some("bad-1"), &fixed).await;
    assert_eq!((status, &again), (201, &created), "and from then on is replayed");
    assert_eq!(counts(&app).await.0, 2);

    // Idempotency keys belong to the mode, as on Stripe to the account: another API key's same
    // idempotency key is the same request (see the next test).
    let other_key = api_key(&app).await;
    let (status, third) = post(&app, "/v1/plans", &other_key, Some("order-A-1042"), &body).await;
    assert_eq!((status, &third), (201, &first));
    assert_eq!(counts(&app).await.0, 2);
    assert_eq!(api_request::Entity::find().count(&app.state.db).await.expect("count"), 2);
}

#[tokio::test]
async fn a_retry_sent_with_the_key_that_replaced_the_first_gets_the_first_answer_not_a_second_plan() {
    let app = spawn_app().await;
    let old = keys::create(&app.state, "site de test").await.expect("key");
    let body = split_plan(&app, "zoe@example.test", 10_000, 3);
    let (status, first) = post(&app, "/v1/plans", old.key.expose(), Some("order-A-1042"), &body).await;
    assert_eq!(status, 201, "{first}");

    // The host replaces its key, the old one revoked, before its retry of a creation whose answer it lost.
    let new = api_key(&app).await;
    keys::revoke(&app.state, old.row.id).await.expect("revoked");
    let (status, again) = post(&app, "/v1/plans", &new, Some("order-A-1042"), &body).await;
    assert_eq!((status, &again), (201, &first), "the first answer");
    assert_eq!(counts(&app).await.0, 1, "one plan: the customer is not charged twice");
    let other = split_plan(&app, "zoe@example.test", 12_000, 3);
    let (status, error) = post(&app, "/v1/plans", &new, Some("order-A-1042"), &other).await;
    assert_eq!((status, error["error"]["code"].as_str()), (400, Some("idempotency_key_reused")), "{error}");

    // A key the other mode used is another request in this one (test and live are two accounts' worth).
    api_request::Entity::insert(api_request::ActiveModel {
        api_key_id: Set(old.row.id),
        mode: Set(KeyMode::Live),
        idempotency_key: Set("order-B-7".to_owned()),
        fingerprint: Set("another request".to_owned()),
        response_status: Set(Some(201)),
        response_body: Set(Some("{}".to_owned())),
        locked_until: Set(None),
        created_at: Set(app.state.now_ms()),
        ..Default::default()
    })
    .exec(&app.state.db)
    .await
    .expect("a live request");
    let (status, made) = post(&app, "/v1/plans", &new, Some("order-B-7"), &other).await;
    assert_eq!(status, 201, "{made}");
    assert_ne!(made["id"], first["id"]);
    assert_eq!(counts(&app).await.0, 2);
}

#[tokio::test]
async fn requests_kept_before_the_upgrade_take_their_keys_mode_and_of_two_keys_with_one_idempotency_key_one_answer_is_kept()
 {
    use app::ssr::entities::api_key;
    use migration::MigratorTrait as _;
    use sea_orm::ConnectionTrait as _;
    use sea_orm::sea_query::{Expr, Query};
    let app = crate::helpers::spawn_app_by_hand().await;
    let db = &app.state.db;
    let mut made = Vec::new();
    for name in ["site", "site, la clé suivante", "site en production"] {
        made.push(keys::create(&app.state, name).await.expect("key").row.id);
    }
    let (first, second, live) = (made[0], made[1], made[2]);
    api_key::Entity::update_many()
        .col_expr(api_key::Column::Mode, Expr::value(KeyMode::Live))
        .filter(api_key::Column::Id.eq(live))
        .exec(db)
        .await
        .expect("a live key");

    // Back before the upgrade (the `down` of its migration and of those after it), with the requests an
    // earlier version kept: one per API key.
    let all = migration::Migrator::migrations();
    let upgrade = all.iter().position(|m| m.name() == "m20261207_000022_modes_kept").expect("the upgrade");
    migration::Migrator::down(db, Some(u32::try_from(all.len() - upgrade).expect("a few"))).await.expect("down");
    let now = app.state.now_ms();
    let yesterday = now - 25 * 3_600_000;
    let rows = [
        (first, "k1", "f1", Some(201), now),
        (second, "k1", "f2", Some(201), now),
        (live, "k1", "f3", Some(201), now),
        (second, "k2", "f4", Some(201), now),
        // A request that never answered (its process died), then another key's answered one.
        (first, "k3", "f5", None, now),
        (second, "k3", "f6", Some(201), now),
        // One past the day it is replayed for, then another key's of today.
        (first, "k4", "f7", Some(201), yesterday),
        (second, "k4", "f8", Some(201), now),
    ];
    for (key, idempotency, fingerprint, status, at) in rows {
        use api_request::Column as C;
        let columns =
            [C::ApiKeyId, C::IdempotencyKey, C::Fingerprint, C::ResponseStatus, C::ResponseBody, C::CreatedAt];
        let body = status.map(|_| "{}");
        let values = [key.into(), idempotency.into(), fingerprint.into(), status.into(), body.into(), at.into()];
        let insert = Query::insert().into_table(api_request::Entity).columns(columns).values_panic(values).to_owned();
        db.execute_raw(db.get_database_backend().build(&insert)).await.expect("an old row");
    }
    migration::Migrator::up(db, None).await.expect("up");

    let kept = api_request::Entity::find().all(db).await.expect("every row reads");
    let mut kept: Vec<(i64, &str, KeyMode, &str)> =
        kept.iter().map(|r| (r.api_key_id, r.idempotency_key.as_str(), r.mode, r.fingerprint.as_str())).collect();
    kept.sort_unstable_by_key(|r| r.3);
    let expected = [
        (first, "k1", KeyMode::Test, "f1"),
        (live, "k1", KeyMode::Live, "f3"),
        (second, "k2", KeyMode::Test, "f4"),
        (second, "k3", KeyMode::Test, "f6"),
        (second, "k4", KeyMode::Test, "f8"),
    ];
    assert_eq!(kept, expected, "of one mode's key: the answered one, then the first; none past its day");
}

#[tokio::test]
async fn concurrent_requests_with_one_key_make_one_plan() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let body = split_plan(&app, "zoe@example.test", 10_000, 3);
    let answers =
        futures::future::join_all((0..6).map(|_| post(&app, "/v1/plans", &key, Some("same-key"), &body))).await;
    let created: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 201).map(|(_, b)| b).collect();
    assert!(!created.is_empty(), "{answers:?}");
    assert!(created.windows(2).all(|w| w[0]["id"] == w[1]["id"]), "every 201 is the same plan");
    for (status, answer) in &answers {
        assert!(
            *status == 201 || (*status == 409 && answer["error"]["code"] == "idempotency_key_in_use"),
            "{status} {answer}"
        );
    }
    assert_eq!(counts(&app).await.0, 1, "one plan, whatever the interleaving");
}

#[tokio::test]
async fn plans_are_listed_newest_first_a_page_at_a_time() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let mut ids = Vec::new();
    for (i, email) in
        ["a@example.test", "b@example.test", "a@example.test", "c@example.test", "a@example.test"].iter().enumerate()
    {
        let (status, plan) =
            post(&app, "/v1/plans", &key, None, &split_plan(&app, email, 10_000 + i64::try_from(i).expect("i"), 2))
                .await;
        assert_eq!(status, 201);
        ids.push(plan["id"].as_str().expect("id").to_owned());
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/plans?limit=2&starting_after={a}"),
            None => "/v1/plans?limit=2".to_owned(),
        };
        let (status, page) = get(&app, &path, &key).await;
        assert_eq!(status, 200, "{page}");
        let data = page["data"].as_array().expect("data");
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|p| p["id"].as_str().expect("id").to_owned()));
        if page["has_more"] != true {
            break;
        }
        after = seen.last().cloned();
    }
    assert_eq!(seen, newest_first);

    let (_, a) = get(&app, "/v1/plans?customer_email=A@example.test", &key).await;
    assert_eq!(a["data"].as_array().expect("data").len(), 3, "by customer, address case-insensitive");
    let (_, none) = get(&app, "/v1/plans?customer_email=nobody@example.test", &key).await;
    assert_eq!(none["data"].as_array().expect("data").len(), 0);
    let (_, waiting) = get(&app, "/v1/plans?status=awaiting_customer", &key).await;
    assert_eq!(waiting["data"].as_array().expect("data").len(), 5);
    let (_, active) = get(&app, "/v1/plans?status=active", &key).await;
    assert_eq!(active["data"].as_array().expect("data").len(), 0);
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("status=actif", "status"),
        ("starting_after=x", "starting_after"),
        ("colour=red", "colour"),
        ("limit=2&limit=3", "limit"),
        // Not an address (a NUL, which PostgreSQL refuses; a `+` sent unencoded reads as a space):
        // said, not an empty list nor a 500.
        ("customer_email=a%00b@example.test", "customer_email"),
        ("customer_email=a+b@example.test", "customer_email"),
        ("customer_email=", "customer_email"),
        ("starting_after=plan_0", "starting_after"),
        ("starting_after=plan_%2B7", "starting_after"),
    ] {
        let (status, error) = get(&app, &format!("/v1/plans?{query}"), &key).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert_eq!(error["error"]["param"], param, "{query}");
    }
    // A cursor that is no plan is said (as on Stripe), not read as a bare bound that lists the older plans.
    let (status, error) = get(&app, "/v1/plans?starting_after=plan_999999", &key).await;
    assert_eq!(
        (status, error["error"]["code"].as_str(), error["error"]["param"].as_str()),
        (400, Some("resource_missing"), Some("starting_after")),
        "{error}"
    );
    assert_eq!(error["error"]["message"], "No such plan: 'plan_999999'.");
    let (status, plus) = get(&app, "/v1/plans?customer_email=a%2Bb@example.test", &key).await;
    assert_eq!((status, plus["data"].as_array().map(Vec::len)), (200, Some(0)), "{plus}");
    // One plan, one id: its number as we write it, no other spelling.
    let number = ids[0].strip_prefix("plan_").expect("plan_n");
    let (status, _) = get(&app, &format!("/v1/plans/{}", ids[0]), &key).await;
    assert_eq!(status, 200);
    for alias in [format!("plan_0{number}"), format!("plan_%2B{number}"), format!("plan_{number}%20")] {
        let (status, error) = get(&app, &format!("/v1/plans/{alias}"), &key).await;
        assert_eq!(status, 404, "{alias}: {error}");
    }
}

#[tokio::test]
async fn a_plan_cancelled_through_the_api_cancels_every_echeance() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let (_, plan) = post(&app, "/v1/plans", &key, None, &split_plan(&app, "zoe@example.test", 10_000, 3)).await;
    let id = plan["id"].as_str().expect("id");
    let (status, cancelled) = post(&app, &format!("/v1/plans/{id}/cancel"), &key, Some("cancel-1"), &json!({})).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "canceled");
    assert!(cancelled["echeances"].as_array().expect("list").iter().all(|e| e["status"] == "canceled"));
    assert!(cancelled["acceptance_url"].is_null(), "no acceptance link for a cancelled plan");
    let (status, replay) = post(&app, &format!("/v1/plans/{id}/cancel"), &key, Some("cancel-1"), &json!({})).await;
    assert_eq!((status, replay), (200, cancelled));
    // Made and cancelled through the same key: the plan's history names that key both times.
    let key_id = keys::list(&app.state).await.expect("keys")[0].id;
    let number: i64 = id.trim_start_matches("plan_").parse().expect("a plan number");
    let history = app::ssr::services::plans::view(&app.state, number, 0).await.expect("the plan").history;
    let by_key = app::domain::Actor::Host(Some(key_id));
    assert!(history.len() >= 2 && history.iter().all(|h| h.actor == by_key), "{history:?}");
    let (status, error) = post(&app, &format!("/v1/plans/{id}/cancel"), &key, None, &json!({ "reason": "x" })).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(
        (error["error"]["code"].as_str(), error["error"]["param"].as_str()),
        (Some("parameter_unknown"), Some("reason"))
    );
    let path = format!("/v1/plans/{id}/cancel");
    let (status, error, _) = call(&app, reqwest::Method::POST, &path, Some(&key), None, Some("{bad")).await;
    assert_eq!((status, error["error"]["code"].as_str()), (400, Some("invalid_json")), "{error}");
    assert_eq!(post(&app, "/v1/plans/plan_999999/cancel", &key, None, &json!({})).await.0, 404);
}

#[tokio::test]
async fn a_cancel_refused_while_a_charge_is_in_flight_is_not_replayed_once_it_is_over() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let (_, plan) = post(&app, "/v1/plans", &key, None, &split_plan(&app, "zoe@example.test", 10_000, 2)).await;
    let id = plan["id"].as_str().expect("id");
    let first = plan["echeances"][0]["id"]
        .as_str()
        .and_then(|e| e.strip_prefix("ech_"))
        .and_then(|n| n.parse::<i64>().ok())
        .expect("échéance");
    app.set_status(first, app::domain::EcheanceStatus::EnCours).await; // a charge in flight
    let (status, refused) = post(&app, &format!("/v1/plans/{id}/cancel"), &key, Some("cancel-A"), &json!({})).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "charge_in_progress");

    app.set_status(first, app::domain::EcheanceStatus::APayer).await; // the charge settled
    let (status, cancelled) = post(&app, &format!("/v1/plans/{id}/cancel"), &key, Some("cancel-A"), &json!({})).await;
    assert_eq!(status, 200, "the same key runs again once the charge is over: {cancelled}");
    assert_eq!(cancelled["status"], "canceled");
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after() {
    let app = spawn_app_with(Options {
        env: vec![("API_RATE_LIMIT_PER_SEC", "1".to_owned()), ("API_RATE_BURST", "3".to_owned())],
        ..Options::default()
    })
    .await;
    // The waits below are a second long: time stands still but for the test's own moves.
    app.clock.freeze();
    let key = api_key(&app).await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let (status, body, headers) = call(&app, reqwest::Method::GET, "/v1/plans", Some(&key), None, None).await;
        if status == 429 {
            assert_eq!(body["error"]["type"], "rate_limit_error");
            retry_after = headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        }
        statuses.push(status);
    }
    assert_eq!(statuses[..3], [200, 200, 200], "a burst of 3 goes through");
    assert!(statuses[3..].contains(&429), "then 1 a second: {statuses:?}");
    assert!(retry_after.is_some_and(|s| (1..=2).contains(&s)), "{retry_after:?}");
    let other = api_key(&app).await;
    assert_eq!(get(&app, "/v1/plans", &other).await.0, 200, "the limit is per key");
    app.clock.advance(std::time::Duration::from_secs(2));
    assert_eq!(get(&app, "/v1/plans", &key).await.0, 200, "tokens come back with time");
}

#[tokio::test]
async fn the_openapi_document_is_generated_and_validates() {
    let app = spawn_app().await;
    let (status, document, _) = call(&app, reqwest::Method::GET, "/v1/openapi.json", None, None, None).await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", document["openapi"]);
    for path in ["/v1/plans", "/v1/plans/{id}", "/v1/plans/{id}/cancel", "/v1/echeances/{id}", "/v1/webhook_endpoints"]
    {
        assert!(document["paths"][path].is_object(), "{path} is documented");
    }
    assert!(document["components"]["schemas"]["PlanObject"]["properties"]["acceptance_url"].is_object());
    // Every route is rate-limited per key, and each says so; a deletion's answer has a body.
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            assert!(operation["responses"]["429"].is_object(), "{method} {path} declares its 429");
        }
    }
    let deleted = &document["paths"]["/v1/webhook_endpoints/{id}"]["delete"]["responses"]["200"];
    assert!(deleted["content"]["application/json"]["schema"].is_object(), "{deleted}");
    let file = std::env::temp_dir().join(format!("echeancier-openapi-{}.json", std::process::id()));
    std::fs::write(&file, document.to_string()).expect("write the document");
    let command = std::env::var("ECHEANCIER_STRIPE_PEER").expect("ECHEANCIER_STRIPE_PEER (set by scripts/test)");
    let python = command.split_whitespace().next().expect("python");
    let checked = std::process::Command::new(python)
        .args([
            "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))",
            file.to_str().expect("path"),
        ])
        .output()
        .expect("run openapi-spec-validator");
    let _ = std::fs::remove_file(&file);
    assert!(checked.status.success(), "openapi-spec-validator: {}", String::from_utf8_lossy(&checked.stderr));
}

#[tokio::test]
async fn a_plan_whose_total_is_over_one_charge_is_invited_listed_and_summed() {
    // 1 500 000,00 € in three charges of 500 000,00 €: each part is one charge Stripe takes, the total is not
    // (it was a 500: the invitation read the total as one charge).
    use app::ssr::services::{admin, plans};
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let (status, plan) =
        post(&app, "/v1/plans", &key, None, &split_plan(&app, "zoe@example.test", 150_000_000, 3)).await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["total_cents"], 150_000_000);
    let parts: Vec<i64> = plan["echeances"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["amount_cents"].as_i64().expect("cents"))
        .collect();
    assert_eq!(parts, vec![50_000_000; 3]);
    let total = "1\u{202f}500\u{202f}000,00\u{a0}€";
    let invitation = email_outbox::Entity::find().one(&app.state.db).await.expect("query").expect("the invitation");
    assert!(invitation.context.contains(total), "{}", invitation.context);
    let page = reqwest::get(plan["acceptance_url"].as_str().expect("link")).await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("html").contains(total), "the acceptance page shows the total");

    // The dashboard: the plans list, the plan's page and the sum of a status (it left the status out).
    let id = plan_number(&plan);
    let listed = plans::list(&app.state, None, false, 0).await.expect("the list reads");
    assert_eq!(listed.rows.iter().map(|r| r.total.minor).collect::<Vec<_>>(), vec![150_000_000]);
    assert_eq!(plans::view(&app.state, id, 0).await.expect("the plan reads").summary.total.minor, 150_000_000);
    let totals = admin::list(&app.state, &admin::Filter::default(), 0).await.expect("dashboard").totals;
    assert_eq!(totals.iter().map(|t| (t.count, t.money.minor)).collect::<Vec<_>>(), vec![(3, 150_000_000)]);
}

#[tokio::test]
async fn each_mistake_gets_one_json_answer_that_names_what_is_wrong() {
    let app = spawn_app().await;
    let key = api_key(&app).await;

    // An existing customer's acceptance link only goes to their inbox: a plan sent without the invitation could
    // never be accepted (it was a 201 with no email and no link).
    let (status, first) = post(&app, "/v1/plans", &key, None, &split_plan(&app, "zoe@example.test", 6_000, 2)).await;
    assert_eq!(status, 201, "{first}");
    let before = counts(&app).await;
    let mut quiet = split_plan(&app, "zoe@example.test", 9_000, 3);
    quiet["send_invitation"] = json!(false);
    let (status, error) = post(&app, "/v1/plans", &key, None, &quiet).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(
        (error["error"]["code"].as_str(), error["error"]["param"].as_str()),
        (Some("invitation_required"), Some("send_invitation"))
    );
    assert_eq!(counts(&app).await, before, "nothing written");
    quiet["send_invitation"] = json!(true);
    assert_eq!(post(&app, "/v1/plans", &key, None, &quiet).await.0, 201, "with its invitation it is taken");

    // An administrator's address is not a customer's: said as such (it read "Invalid customer.email.", an
    // address that is valid), nothing written.
    let root = app.admin("root").await;
    let before = counts(&app).await;
    let (status, error) =
        post(&app, "/v1/plans", &key, None, &split_plan(&app, &root.email.to_uppercase(), 6_000, 2)).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(
        (error["error"]["code"].as_str(), error["error"]["param"].as_str()),
        (Some("email_is_admin"), Some("customer.email"))
    );
    assert_eq!(counts(&app).await, before, "nothing written");

    // An unknown plan is the same 404 on GET and on cancel.
    let (status, on_get) = get(&app, "/v1/plans/plan_999999", &key).await;
    let (status_cancel, on_cancel) = post(&app, "/v1/plans/plan_999999/cancel", &key, None, &json!({})).await;
    assert_eq!((status, status_cancel), (404, 404));
    assert_eq!(on_get["error"]["message"], "No such plan.");
    assert_eq!(on_cancel["error"], on_get["error"], "{on_cancel}");

    // A path of the API asked with another method, a body over the limit, a path that does not decode: JSON, as
    // every other error (they were axum's own plain answers).
    let id = first["id"].as_str().expect("id");
    for (method, path) in [
        (reqwest::Method::GET, format!("/v1/plans/{id}/cancel")),
        (reqwest::Method::DELETE, format!("/v1/plans/{id}")),
        (reqwest::Method::PUT, "/v1/webhook_endpoints".to_owned()),
    ] {
        let (status, error, headers) = call(&app, method.clone(), &path, Some(&key), None, None).await;
        assert_eq!(status, 404, "{method} {path}: {error}");
        assert_eq!(error["error"]["code"], "resource_missing", "{method} {path}");
        assert_eq!(headers[reqwest::header::CONTENT_TYPE], "application/json");
    }
    let (status, error, _) = call(&app, reqwest::Method::GET, "/v1/plans/%FF", Some(&key), None, None).await;
    assert_eq!((status, error["error"]["type"].as_str()), (400, Some("invalid_request_error")), "{error}");
    let mut huge = split_plan(&app, "yan@example.test", 6_000, 2);
    huge["metadata"] = json!({ "padding": "x".repeat(70 * 1024) });
    let (status, error) = post(&app, "/v1/plans", &key, None, &huge).await;
    assert_eq!((status, error["error"]["code"].as_str()), (413, Some("request_too_large")), "{error}");

    // Two idempotency keys on one request: which one was meant is not guessed (the first was used).
    let before = counts(&app).await;
    let twice = reqwest::Client::new()
        .post(format!("{}/v1/plans", app.address))
        .header("authorization", format!("Bearer {key}"))
        .header("idempotency-key", "order-1")
        .header("idempotency-key", "order-2")
        .json(&split_plan(&app, "yan@example.test", 6_000, 2))
        .send()
        .await
        .expect("the API answers");
    assert_eq!(twice.status().as_u16(), 400);
    let error: Value = twice.json().await.expect("JSON");
    assert_eq!(error["error"]["param"], "Idempotency-Key", "{error}");
    assert_eq!(counts(&app).await, before, "nothing written");

    // A deleted webhook endpoint is no longer listed; deleting it again is a 404, as for any unknown one.
    let endpoint = json!({ "url": "https://host.example/hooks", "enabled_events": ["*"] });
    let (status, created) = post(&app, "/v1/webhook_endpoints", &key, None, &endpoint).await;
    assert_eq!(status, 201, "{created}");
    let (_, kept) = post(&app, "/v1/webhook_endpoints", &key, None, &endpoint).await;
    let path = format!("/v1/webhook_endpoints/{}", created["id"].as_str().expect("id"));

    // A query parameter a route does not take is refused on every route, as on the plans list, and the request
    // does nothing (it was ignored: a DELETE or a cancel ran whatever the host meant by it).
    let echeance = first["echeances"][0]["id"].as_str().expect("an échéance");
    let before = counts(&app).await;
    for (method, route) in [
        (reqwest::Method::GET, format!("/v1/plans/{id}")),
        (reqwest::Method::GET, format!("/v1/echeances/{echeance}")),
        (reqwest::Method::GET, "/v1/webhook_endpoints".to_owned()),
        (reqwest::Method::DELETE, path.clone()),
        (reqwest::Method::POST, format!("/v1/plans/{id}/cancel")),
        (reqwest::Method::POST, "/v1/webhook_endpoints".to_owned()),
    ] {
        let body = (method == reqwest::Method::POST).then(|| endpoint.to_string());
        let url = format!("{route}?expand=customer");
        let (status, error, _) = call(&app, method.clone(), &url, Some(&key), None, body.as_deref()).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some("parameter_unknown")),
            "{method} {url}: {error}"
        );
        assert_eq!(error["error"]["param"], "expand", "{method} {url}");
    }
    assert_eq!(counts(&app).await, before, "nothing written");
    let (_, still) = get(&app, &format!("/v1/plans/{id}"), &key).await;
    assert_eq!(still["status"], first["status"], "not cancelled");
    let (_, listed) = get(&app, "/v1/webhook_endpoints", &key).await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(2), "neither deleted nor added: {listed}");
    let (status, deleted, _) = call(&app, reqwest::Method::DELETE, &path, Some(&key), None, None).await;
    assert_eq!((status, &deleted["deleted"]), (200, &json!(true)));
    let (_, listed) = get(&app, "/v1/webhook_endpoints", &key).await;
    let ids: Vec<&Value> = listed["data"].as_array().expect("list").iter().map(|e| &e["id"]).collect();
    assert_eq!(ids, vec![&kept["id"]]);
    let (status, again, _) = call(&app, reqwest::Method::DELETE, &path, Some(&key), None, None).await;
    assert_eq!((status, again["error"]["code"].as_str()), (404, Some("resource_missing")), "{again}");

    // Consumer credit refused on a split names the count the request sent (it named `echeances`, never sent).
    let strict =
        spawn_app_with(Options { env: vec![("REFUSE_CONSUMER_CREDIT", "true".to_owned())], ..Default::default() })
            .await;
    let strict_key = api_key(&strict).await;
    let (status, error) =
        post(&strict, "/v1/plans", &strict_key, None, &split_plan(&strict, "zoe@example.test", 50_000, 5)).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(
        (error["error"]["code"].as_str(), error["error"]["param"].as_str()),
        (Some("consumer_credit_refused"), Some("installments"))
    );
}

#[tokio::test]
async fn at_most_sixteen_webhook_endpoints_are_enabled_at_once_however_they_are_asked_for() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let endpoint = |n: usize| json!({ "url": format!("https://host{n}.example/hooks"), "enabled_events": ["*"] });
    let enabled = || async {
        webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::DisabledAt.is_null())
            .count(&app.state.db)
            .await
            .expect("count")
    };
    // One from the dashboard, then twenty asked for at once through the API: fifteen more are made,
    // and none over (each creation counts in turn: two at once cannot both count fifteen).
    let (_, as_admin) = app.logged_in_admin().await;
    let form = [("url", "https://dashboard.example/hooks"), ("events", "*")];
    let (status, first) = app.call(&as_admin, "admin/integration/endpoints/create", &form).await;
    assert_eq!(status, 200, "{first}");
    let bodies: Vec<Value> = (0..20).map(endpoint).collect();
    let answers =
        futures::future::join_all(bodies.iter().map(|body| post(&app, "/v1/webhook_endpoints", &key, None, body)))
            .await;
    let made: Vec<&Value> = answers.iter().filter(|(status, _)| *status == 201).map(|(_, e)| e).collect();
    assert_eq!(made.len(), 15, "{answers:?}");
    for (status, refused) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!((*status, refused["error"]["code"].as_str()), (400, Some("webhook_endpoint_limit")), "{refused}");
    }
    assert_eq!(enabled().await, 16);
    let (_, listed) = get(&app, "/v1/webhook_endpoints", &key).await;
    assert_eq!((listed["data"].as_array().map(Vec::len), &listed["has_more"]), (Some(16), &json!(false)));

    let delete = |endpoint: &Value| {
        let path = format!("/v1/webhook_endpoints/{}", endpoint["id"].as_str().expect("id"));
        let (app, key) = (&app, &key);
        async move { call(app, reqwest::Method::DELETE, &path, Some(key), None, None).await.0 }
    };

    // The dashboard is refused too, saying how many at most, and writes nothing.
    let (status, refused) = app.call(&as_admin, "admin/integration/endpoints/create", &form).await;
    assert_eq!((status, refused), (422, json!({ "Invalid": { "TooManyEndpoints": 16 } })));
    assert_eq!(enabled().await, 16);

    // One deleted, one more can be added.
    assert_eq!(delete(made[0]).await, 200);
    let (status, again) = post(&app, "/v1/webhook_endpoints", &key, None, &endpoint(99)).await;
    assert_eq!(status, 201, "{again}");
    let (status, refused) = post(&app, "/v1/webhook_endpoints", &key, None, &endpoint(100)).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(enabled().await, 16);

    // Two creations at once for the last place: the second waits for the first's turn to end, then
    // counts what it wrote (on PostgreSQL, without the turn, it counted fifteen and made a seventeenth).
    assert_eq!(delete(made[1]).await, 200);
    let new = |n: usize| endpoints::NewEndpoint {
        url: format!("https://turn{n}.example/hooks"),
        enabled_events: vec!["*".to_owned()],
        description: None,
    };
    let first = app::ssr::db::begin_write(&app.state.db).await.expect("a transaction");
    endpoints::create_in(&app.state, &first, new(1)).await.expect("the sixteenth, not committed yet");
    let state = app.state.clone();
    let second = tokio::spawn(async move { endpoints::create(&state, new(2)).await });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!second.is_finished(), "the second waits for the first's turn");
    first.commit().await.expect("committed");
    let second = second.await.expect("ran");
    assert!(matches!(second, Err(ServiceError::Invalid(app::domain::Invalid::TooManyEndpoints(16)))), "{second:?}");
    assert_eq!(enabled().await, 16);
}

#[tokio::test]
async fn the_hosts_acceptance_link_stops_opening_the_account_once_it_holds_a_card_or_another_accepted_plan() {
    use app::domain::LinkHolder;
    use app::ssr::services::{cards, invitations, plans};

    let app = spawn_app().await;
    let key = api_key(&app).await;
    // Plan A makes the account: the host holds its link.
    let (status, a) = post(&app, "/v1/plans", &key, None, &split_plan(&app, "zoe@example.test", 9_000, 3)).await;
    assert_eq!(status, 201, "{a}");
    let host_link = a["acceptance_url"].as_str().expect("the host's link").to_owned();
    let opens = |url: String| async move {
        let page = reqwest::get(url).await.expect("page").text().await.expect("html");
        page.contains("Formation 2027")
    };
    assert!(opens(host_link.clone()).await, "while the account is new, the host's link opens the plan");

    // Plan B, for the same address, goes to the customer's inbox; they accept it and save a card.
    let (status, b) = post(&app, "/v1/plans", &key, None, &split_plan(&app, "zoe@example.test", 6_000, 2)).await;
    assert_eq!((status, b["acceptance_url"].is_null()), (201, true), "{b}");
    let customer = customer_of(&app, &b).await;
    plans::accept(&app.state, plan_number(&b), customer, "mandat".to_owned(), crate::plans::consent())
        .await
        .expect("accepted");

    // Another accepted plan: the link A's holder has no longer opens the account, and A no longer shows one.
    assert!(!opens(host_link.clone()).await, "the host's link no longer logs anyone into an account with a plan");
    let (_, again) = get(&app, &format!("/v1/plans/{}", a["id"].as_str().expect("id")), &key).await;
    assert!(again["acceptance_url"].is_null(), "{again}");
    let (_, listed) = get(&app, "/v1/plans", &key).await;
    assert!(listed["data"].as_array().expect("list").iter().all(|p| p["acceptance_url"].is_null()), "{listed}");

    // The customer's own inbox still opens plan A: its email carries the inbox's link.
    let invitations = email_outbox::Entity::find().all(&app.state.db).await.expect("query");
    let inbox_link = invitations
        .iter()
        .filter_map(|row| serde_json::from_str::<Value>(&row.context).ok())
        .filter_map(|context| context["link"].as_str().map(str::to_owned))
        .find(|link| link.contains(&format!("/plans/{}/", plan_number(&a))))
        .expect("plan A's invitation email");
    assert_ne!(inbox_link, host_link);
    assert!(opens(inbox_link).await, "the customer's own link still works");

    // A link in the scope the email's and the host's shared until 2026-12-04: for a plan made since,
    // only the email's (it opens); for one made before that created its customer, held to the host's
    // rule; for one whose customer had an account, the inbox's (the host was never given those).
    let signed_before = |plan: i64| {
        let expires_ms = app.state.now_ms() + 3_600_000;
        invitations::link(&app.state, plan, customer.get(), LinkHolder::Either, expires_ms)
    };
    let made_before = |plan: i64| {
        payment_plan::Entity::update_many()
            .col_expr(payment_plan::Column::CreatedAt, sea_orm::sea_query::Expr::value(1_796_000_000_000_i64))
            .filter(payment_plan::Column::Id.eq(plan))
            .exec(&app.state.db)
    };
    assert!(opens(signed_before(plan_number(&a))).await, "made since: only the customer's inbox had it");
    made_before(plan_number(&a)).await.expect("made before");
    assert!(!opens(signed_before(plan_number(&a))).await, "plan A's old link could be the host's");
    let (_, d) = post(&app, "/v1/plans", &key, None, &split_plan(&app, "zoe@example.test", 3_000, 1)).await;
    assert!(d["acceptance_url"].is_null(), "{d}");
    made_before(plan_number(&d)).await.expect("made before");
    assert!(opens(signed_before(plan_number(&d))).await, "an old link to a plan of an existing account is the inbox's");

    // A saved card is enough on its own: a third plan's account, no other plan accepted, a card.
    let (_, c) = post(&app, "/v1/plans", &key, None, &split_plan(&app, "yan@example.test", 9_000, 3)).await;
    let c_link = c["acceptance_url"].as_str().expect("the host's link").to_owned();
    let yan = customer_of(&app, &c).await;
    let stripe_customer = cards::ensure_customer(&app.state, yan).await.expect("Stripe customer");
    let holder = crate::helpers::Customer {
        id: yan,
        email: "yan@example.test".to_owned(),
        password: String::new(),
        stripe_customer,
    };
    assert!(opens(c_link.clone()).await);
    app.add_card(&holder, crate::helpers::cards::OK).await;
    assert!(!opens(c_link).await, "a card saved: the host's link no longer opens the account");
}

#[tokio::test]
async fn the_live_keys_do_not_see_the_test_plans_and_are_told_where_they_are() {
    let first = spawn_app_with(Options { workers: false, ..Options::default() }).await;
    let test_key = api_key(&first).await;
    let (status, test_plan) =
        post(&first, "/v1/plans", &test_key, None, &split_plan(&first, "zoe@example.test", 30_000, 3)).await;
    assert_eq!(status, 201, "{test_plan}");
    let plan_id = test_plan["id"].as_str().expect("id").to_owned();
    let echeance_id = test_plan["echeances"][0]["id"].as_str().expect("id").to_owned();
    let (db, peer) = (first.db.clone(), first.peer.clone());
    drop(first);

    // The installation moves to live keys.
    let live_keys = vec![("STRIPE_SECRET_KEY", "sk_live_echeancier_tests".to_owned())];
    let live = spawn_on(db.clone(), peer.clone(), Options { workers: false, env: live_keys }).await;
    let live_key = api_key(&live).await;
    let other_mode = |what: &str, id: &str| {
        format!(
            "No such {what}: '{id}'; a similar object exists in test mode, but a live mode key was used to make this request."
        )
    };
    for (path, what, id) in [
        (format!("/v1/plans/{plan_id}"), "plan", &plan_id),
        (format!("/v1/echeances/{echeance_id}"), "echeance", &echeance_id),
    ] {
        let (status, missing) = get(&live, &path, &live_key).await;
        assert_eq!((status, missing["error"]["code"].as_str()), (404, Some("resource_missing")), "{missing}");
        assert_eq!(missing["error"]["message"], other_mode(what, id));
    }
    let (status, missing) = post(&live, &format!("/v1/plans/{plan_id}/cancel"), &live_key, None, &json!({})).await;
    assert_eq!((status, missing["error"]["message"].as_str()), (404, Some(other_mode("plan", &plan_id).as_str())));
    let (status, listed) = get(&live, "/v1/plans", &live_key).await;
    assert_eq!((status, listed["data"].as_array().map(Vec::len)), (200, Some(0)), "{listed}");
    // Nor is it a cursor for them.
    let (status, error) = get(&live, &format!("/v1/plans?starting_after={plan_id}"), &live_key).await;
    assert_eq!((status, error["error"]["param"].as_str()), (400, Some("starting_after")), "{error}");
    // An id of neither mode is the plain 404.
    let (_, unknown) = get(&live, "/v1/plans/plan_999999", &live_key).await;
    assert_eq!(unknown["error"]["message"], "No such plan.");

    // The same customer's live plan is listed alone.
    let (status, live_plan) =
        post(&live, "/v1/plans", &live_key, None, &split_plan(&live, "zoe@example.test", 20_000, 2)).await;
    assert_eq!(status, 201, "{live_plan}");
    let (_, listed) = get(&live, "/v1/plans?customer_email=zoe@example.test", &live_key).await;
    let ids: Vec<&Value> = listed["data"].as_array().expect("data").iter().map(|p| &p["id"]).collect();
    assert_eq!(ids, [&live_plan["id"]]);
    drop(live);

    // Back on the test keys: the test plan is there, never cancelled; the live one is the other mode's.
    let test = spawn_on(db, peer, Options { workers: false, ..Options::default() }).await;
    let (status, plan) = get(&test, &format!("/v1/plans/{plan_id}"), &test_key).await;
    assert_eq!((status, plan["status"].as_str()), (200, Some("awaiting_customer")), "{plan}");
    let live_id = live_plan["id"].as_str().expect("id");
    let (status, missing) = get(&test, &format!("/v1/plans/{live_id}"), &test_key).await;
    let told = format!(
        "No such plan: '{live_id}'; a similar object exists in live mode, but a test mode key was used to make this request."
    );
    assert_eq!((status, missing["error"]["message"].as_str()), (404, Some(told.as_str())));
}
