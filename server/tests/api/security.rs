//! What an attacker tries: throttled logins, cross-site requests, hostile
//! templates, the headers, bounded Stripe spending, sessions, liveness and
//! readiness. Checked by structure (counts, statuses, a clock the test sets),
//! never by timing.

use app::domain::{EcheanceStatus, EmailKind, Locale, OutboxStatus};
use app::ssr::email::templates::{self, TemplateSource};
use app::ssr::entities::{admin_audit, email_outbox, email_template, login_attempt, login_throttle, session};
use app::ssr::services::email_admin;
use app::ssr::services::error::ServiceError;
use app::ui::i18n::Texts;
use reqwest::header::HeaderMap;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::time::Duration;

use crate::helpers::{Customer, Options, TestApp, cards, spawn_app, spawn_app_with};

fn with_env(env: Vec<(&'static str, String)>) -> Options {
    Options { workers: false, env }
}

/// A client with no cookie jar and no `Origin`: each request says what it says.
fn bare() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client")
}

/// Posts `form` to the server function at `path`, asking for JSON, with
/// `headers` (they replace the client's own, an `Origin` among them).
async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
    headers: &[(&'static str, &str)],
) -> reqwest::Response {
    let mut map = HeaderMap::new();
    map.insert("accept", "application/json".parse().expect("header"));
    for (k, v) in headers {
        map.insert(*k, v.parse().expect("header"));
    }
    client.post(format!("{}/api/{path}", app.address)).headers(map).form(form).send().await.expect("answers")
}

/// Logs in from the site's own page (its `Origin`), with extra headers.
async fn login_with(
    app: &TestApp,
    client: &reqwest::Client,
    who: &Customer,
    password: &str,
    headers: &[(&'static str, &str)],
) -> reqwest::Response {
    let headers = [&[("origin", app.address.as_str())], headers].concat();
    post(app, client, "login", &[("email", who.email.as_str()), ("password", password)], &headers).await
}

async fn login_status(app: &TestApp, who: &Customer, password: &str, forwarded_for: &str) -> u16 {
    login_with(app, &bare(), who, password, &[("x-forwarded-for", forwarded_for)]).await.status().as_u16()
}

#[tokio::test]
async fn a_forwarded_for_header_changes_nothing_without_trusted_proxies() {
    let app = spawn_app_with(with_env(vec![])).await;
    // The waits below are a second long: time stands still but for the test's own moves.
    app.clock.freeze();
    let admin = app.admin("Ada").await;
    for i in 0..5 {
        assert_eq!(login_status(&app, &admin, "wrong", &format!("198.51.100.{i}")).await, 401);
    }
    // Every try came from the same TCP peer, whatever the header claimed.
    assert_eq!(login_status(&app, &admin, "wrong", "198.51.100.99").await, 429);
    assert_eq!(login_status(&app, &admin, &admin.password, "203.0.113.7").await, 429);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_wait_is_per_client_and_the_right_password_works_after_it() {
    let app = spawn_app_with(with_env(vec![("TRUSTED_PROXY_HOPS", "1".to_owned())])).await;
    // The waits below are a second long: time stands still but for the test's own moves.
    app.clock.freeze();
    let admin = app.admin("Ada").await;
    let attacker = "6.6.6.6, 198.51.100.1";
    // The attacker writes a new address of its own each time; the proxy's entry stays.
    for spoofed in 0..5 {
        assert_eq!(login_status(&app, &admin, "wrong", &format!("6.6.6.{spoofed}, 198.51.100.1")).await, 401);
    }
    // Past the free tries, each failure doubles the wait: 1 s, 2 s, then 4 s.
    for wait in [1, 2, 4] {
        assert_eq!(login_status(&app, &admin, "wrong", attacker).await, 429, "before the {wait} s wait is over");
        app.clock.advance(Duration::from_secs(wait));
        assert_eq!(login_status(&app, &admin, "wrong", attacker).await, 401);
    }
    assert_eq!(login_status(&app, &admin, &admin.password, attacker).await, 429, "the attacker's client waits 8 s");
    // The owner, from another client, is not locked out by someone else's failures.
    assert_eq!(login_status(&app, &admin, &admin.password, "203.0.113.7").await, 200);
    // And the right password works from the attacker's client once its wait is over.
    app.clock.advance(Duration::from_secs(8));
    assert_eq!(login_status(&app, &admin, &admin.password, attacker).await, 200);
}

#[tokio::test]
async fn parallel_wrong_passwords_get_no_more_guesses_than_sequential_ones() {
    let app = spawn_app_with(with_env(vec![])).await;
    let admin = app.admin("Ada").await;
    let tries = (0..20).map(|_| login_status(&app, &admin, "wrong", "198.51.100.1"));
    let statuses = futures::future::join_all(tries).await;
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 15, "{statuses:?}");
    let checked = login_attempt::Entity::find().count(&app.state.db).await.expect("count");
    assert_eq!(checked, 5, "a password was checked only for the tries that were let through");
}

#[tokio::test]
async fn a_wrong_password_is_said_to_be_wrong_with_or_without_javascript_not_an_expired_session() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    // A script's login: 401 and why, the same for an unknown or unreadable address.
    let origin = [("origin", app.address.as_str())];
    for (email, password) in
        [(alice.email.as_str(), "not the password"), ("nobody@example.test", "whatever"), ("not an address", "x")]
    {
        let response = post(&app, &bare(), "login", &[("email", email), ("password", password)], &origin).await;
        assert_eq!(response.status(), 401, "{email}");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body, serde_json::json!("WrongCredentials"), "{email}");
    }
    // A browser without JavaScript posts the form, is sent back to the page, and reads why there.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    for locale in [Locale::En, Locale::Fr] {
        let response = no_redirects
            .post(format!("{}/api/login", app.address))
            .header("origin", &app.address)
            .header("referer", format!("{}/", app.address))
            .header("accept", "text/html")
            .form(&[("email", alice.email.as_str()), ("password", "not the password")])
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 302, "back to the page the form is on");
        let back = response.headers()["location"].to_str().expect("location").to_owned();
        let page = bare().get(format!("{back}&lang={}", locale.code())).send().await.expect("answers");
        let page = page.text().await.expect("page");
        let tx = Texts::of(locale);
        assert!(
            page.contains(tx.err_wrong_credentials),
            "{}: « {} » not on the page",
            locale.code(),
            tx.err_wrong_credentials
        );
        assert!(!page.contains(tx.err_unauthenticated), "{}: not an expired session", locale.code());
    }
}

/// The opening tag of the element that carries `marker` in `html`: one of its attributes, or `>its text<`.
fn tag_with<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html.find(marker).unwrap_or_else(|| panic!("{marker} not on the page"));
    let start = html[..at].rfind('<').expect("an opening tag");
    &html[start..at + html[at..].find('>').expect("its end")]
}

#[tokio::test]
async fn an_action_whose_secret_only_the_script_can_show_waits_for_it_and_says_why() {
    let app = spawn_app().await;
    let (_, as_admin) = app.logged_in_admin().await;
    let form = [("url", "http://127.0.0.1:9/hooks"), ("events", "*")];
    let (status, created) = app.call(&as_admin, "admin/integration/endpoints/create", &form).await;
    assert_eq!(status, 200, "an endpoint to roll the secret of: {created}");
    // As the server renders the pages, which is all a browser without JavaScript ever has.
    for (page, buttons) in [
        ("/admin/integration", &["data-testid=\"create-api-key\"", "data-testid=\"create-endpoint\""][..]),
        ("/admin/security", &["data-testid=\"begin-second-factor\""][..]),
    ] {
        let html = as_admin.get(format!("{}{page}", app.address)).send().await.expect("answers");
        let html = html.text().await.expect("page");
        assert!(html.contains(Texts::of(Locale::Fr).secrets_need_script), "{page}: says why");
        for button in buttons {
            assert!(tag_with(&html, button).contains(" disabled"), "{page}: {button} waits for the script");
        }
    }
    let integration = as_admin.get(format!("{}/admin/integration", app.address)).send().await.expect("answers");
    let integration = integration.text().await.expect("page");
    let roll_tag = tag_with(&integration, &format!(">{}<", Texts::of(Locale::Fr).endpoint_roll));
    assert!(roll_tag.contains(" disabled"), "rolling the signing secret waits too: {roll_tag}");
    let disable_tag = tag_with(&integration, &format!(">{}<", Texts::of(Locale::Fr).endpoint_disable));
    assert!(!disable_tag.contains(" disabled"), "an action with no secret to show does not wait: {disable_tag}");
}

#[tokio::test]
async fn without_javascript_the_card_form_and_the_plan_form_say_they_need_it_and_wait() {
    let app = spawn_app().await;
    let (_, as_admin) = app.logged_in_admin().await;
    let carol = app.customer("carol", None).await;
    let as_carol = app.browser();
    app.login(&as_carol, &carol).await;
    for (browser, page, button, said) in [
        (&as_carol, "/", "data-testid=\"open-card-form\"", Texts::of(Locale::Fr).card_needs_script),
        (&as_admin, "/admin/plans/new", "data-testid=\"plan-create\"", Texts::of(Locale::Fr).plan_form_needs_script),
    ] {
        let html = browser.get(format!("{}{page}", app.address)).send().await.expect("answers");
        let html = html.text().await.expect("page");
        assert!(html.contains(said), "{page}: says it needs JavaScript");
        assert!(tag_with(&html, button).contains(" disabled"), "{page}: {button} waits for the script");
    }
}

#[tokio::test]
async fn a_full_password_hashing_queue_answers_429_at_once() {
    let app = spawn_app_with(with_env(vec![("PASSWORD_HASH_QUEUE", "0".to_owned())])).await;
    let admin = app.admin("Ada").await;
    let busy = app.state.guards.occupy_hashing().await;
    assert_eq!(login_status(&app, &admin, &admin.password, "").await, 429);
    drop(busy);
    assert_eq!(login_status(&app, &admin, &admin.password, "").await, 200);
}

/// The hidden `csrf` field of the first form on a page.
fn form_token(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\"")?;
    let rest = &html[at..];
    let value = &rest[rest.find("value=\"")? + 7..];
    Some(value[..value.find('"')?].to_owned())
}

#[tokio::test]
async fn cross_site_posts_are_refused_while_the_webhook_still_works() {
    let app = spawn_app_with(with_env(vec![])).await;
    let alice = app.customer("Alice", Some(cards::OK)).await;
    let echeance = app.echeance(&alice, 4_200, app.today()).await;
    let cross_site = [("sec-fetch-site", "cross-site")];

    // Login CSRF: a foreign page cannot log the browser into an account.
    let refused = login_with(&app, &bare(), &alice, &alice.password, &cross_site).await;
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.headers().get("set-cookie").is_none(), "no session was opened");
    let evil_origin = login_with(&app, &bare(), &alice, &alice.password, &[("origin", "https://evil.example")]).await;
    assert_eq!(evil_origin.status().as_u16(), 403);

    // A logged-in customer: a cross-site pay and logout are refused, nothing happens.
    let browser = reqwest::Client::builder().cookie_store(true).build().expect("client");
    assert_eq!(login_with(&app, &browser, &alice, &alice.password, &[]).await.status().as_u16(), 200);
    let id = echeance.to_string();
    for (path, form) in [("pay", vec![("echeance_id", id.as_str())]), ("logout", vec![])] {
        for headers in [&cross_site[..], &[("sec-fetch-site", "same-site")], &[("origin", "https://evil.example")]] {
            let status = post(&app, &browser, path, &form, headers).await.status().as_u16();
            assert_eq!(status, 403, "{path} {headers:?}");
        }
    }
    assert_eq!(app.status(echeance).await, EcheanceStatus::APayer);
    assert!(app.attempts(echeance).await.is_empty(), "no charge was attempted");

    // A request that says nothing of where it comes from needs the form's token.
    let no_token = post(&app, &browser, "pay", &[("echeance_id", &id)], &[]).await;
    assert_eq!(no_token.status().as_u16(), 403, "the session is still alive, but a token is needed");
    let page = browser.get(format!("{}/", app.address)).send().await.expect("page").text().await.expect("html");
    let token = form_token(&page).expect("the page's forms carry the token");
    let wrong = post(&app, &browser, "pay", &[("echeance_id", &id), ("csrf", &"0".repeat(64))], &[]).await;
    assert_eq!(wrong.status().as_u16(), 403);
    let paid = post(&app, &browser, "pay", &[("echeance_id", &id), ("csrf", &token)], &[]).await;
    assert_eq!(paid.status().as_u16(), 200, "{:?}", paid.text().await);
    assert_eq!(app.status(echeance).await, EcheanceStatus::Payee);

    // An admin action from another site is refused too.
    let admin = app.admin("Ada").await;
    let admin_browser = reqwest::Client::builder().cookie_store(true).build().expect("client");
    assert_eq!(login_with(&app, &admin_browser, &admin, &admin.password, &[]).await.status().as_u16(), 200);
    let reconcile = post(&app, &admin_browser, "admin/reconcile", &[], &cross_site).await;
    assert_eq!(reconcile.status().as_u16(), 403);
    let template = [("kind", "payment_received"), ("locale", "fr"), ("subject", "x"), ("html", "x"), ("text", "x")];
    let save =
        post(&app, &admin_browser, "admin/templates/save", &template, &[("origin", "https://evil.example")]).await;
    assert_eq!(save.status().as_u16(), 403);
    assert_eq!(admin_audit::Entity::find().count(&app.state.db).await.expect("count"), 0, "no template saved");

    // Server-to-server entries carry their own proof and are not browser requests.
    let event = crate::helpers::event("evt_cross_site", "customer.created", serde_json::json!({"id": "cus_x"}));
    let body = serde_json::to_vec(&event).expect("json");
    let signature =
        app::ssr::payments::webhook_signature::sign(crate::helpers::WEBHOOK_SECRET, app.state.now_ms() / 1000, &body);
    let webhook = bare()
        .post(format!("{}/stripe/webhook", app.address))
        .header("stripe-signature", signature)
        .header("sec-fetch-site", "cross-site")
        .body(body)
        .send()
        .await
        .expect("answers");
    assert_eq!(webhook.status().as_u16(), 200);
}

#[tokio::test]
async fn a_logged_in_customer_accepts_an_invitation_from_a_browser_that_says_nothing_of_its_origin() {
    use app::domain::Interval;
    use app::ssr::entities::plan_consent;
    use app::ssr::services::plans;
    let app = spawn_app_with(with_env(vec![])).await;
    let alice = app.customer("Alice", Some(cards::OK)).await;
    let created =
        plans::create(&app.state, None, crate::plans::request(&alice.email, 20_000, 2, app.today(), Interval::Week))
            .await
            .expect("created");
    let row = email_outbox::Entity::find().one(&app.state.db).await.expect("query").expect("the invitation");
    let context: serde_json::Value = serde_json::from_str(&row.context).expect("json");
    let link = context["link"].as_str().expect("a link").to_owned();
    let token = link.split("token=").nth(1).and_then(|t| t.split('&').next()).expect("a token").to_owned();
    let browser = reqwest::Client::builder().cookie_store(true).build().expect("client");
    assert_eq!(login_with(&app, &browser, &alice, &alice.password, &[]).await.status().as_u16(), 200);

    let page = browser.get(&link).send().await.expect("page").text().await.expect("html");
    // The form that holds the terms (the page's other forms, the header's logout, carry their own).
    let at = page.find("name=\"terms\"").expect("the accept form");
    let form = &page[page[..at].rfind("<form").expect("its start")..at + page[at..].find("</form>").expect("its end")];
    let csrf = form_token(form).filter(|t| !t.is_empty()).expect("the accept form carries the session's token");
    let terms = app::ssr::services::invitations::open(&app.state, created.plan.id, &token, Locale::Fr)
        .await
        .expect("opens")
        .terms;
    let id = created.plan.id.to_string();
    let form = [("plan_id", id.as_str()), ("token", &token), ("terms", &terms)];
    let without = post(&app, &browser, "plans/accept", &form, &[]).await;
    assert_eq!(without.status().as_u16(), 403, "a session, no origin, no token");
    let with = [form.as_slice(), &[("csrf", csrf.as_str())]].concat();
    let accepted = post(&app, &browser, "plans/accept", &with, &[]).await;
    assert_eq!(accepted.status().as_u16(), 200, "{:?}", accepted.text().await);
    assert_eq!(plan_consent::Entity::find().count(&app.state.db).await.expect("count"), 1);
}

#[tokio::test]
async fn in_production_the_session_cookie_is_host_prefixed_and_secure_and_hsts_is_sent() {
    let site = "https://echeancier.test";
    let app = spawn_app_with(with_env(vec![("APP_BASE_URL", format!("{site}/"))])).await;
    let admin = app.admin("Ada").await;
    let response = login_with(&app, &bare(), &admin, &admin.password, &[("origin", site)]).await;
    let cookie = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("a session cookie");
    assert!(cookie.starts_with("__Host-echeancier_session="), "{cookie}");
    assert!(cookie.contains("; Secure") && cookie.contains("; Path=/") && cookie.contains("HttpOnly"), "{cookie}");
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    let hsts = response.headers().get("strict-transport-security").and_then(|v| v.to_str().ok());
    assert!(hsts.is_some_and(|h| h.starts_with("max-age=")), "{hsts:?}");
    // The same request from the development origin is a foreign one here.
    let foreign = login_with(&app, &bare(), &admin, &admin.password, &[]).await;
    assert_eq!(foreign.status().as_u16(), 403);
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn pages_and_server_functions_carry_the_policy_and_are_never_cached() {
    let app = spawn_app_with(with_env(vec![])).await;
    let home = bare().get(format!("{}/", app.address)).send().await.expect("page");
    let policy = header(home.headers(), "content-security-policy");
    assert_eq!(header(home.headers(), "cache-control"), "no-store");
    let html = home.text().await.expect("html");
    let nonce = policy.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("a nonce in the policy");
    assert!(nonce.len() >= 16, "{policy}");
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the page's scripts carry the policy's nonce");
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("'wasm-unsafe-eval'"), "{policy}");
    assert!(html.contains("js.stripe.com/v3/"), "the checkout page loads Stripe.js");

    let other = bare().get(format!("{}/", app.address)).send().await.expect("page");
    assert_ne!(header(other.headers(), "content-security-policy"), policy, "a new nonce per page");

    let admin = bare().get(format!("{}/admin", app.address)).send().await.expect("page");
    assert!(!admin.text().await.expect("html").contains("js.stripe.com/v3/"), "no Stripe.js where no card is taken");

    let link =
        bare().get(format!("{}/payment/authenticate/pi_unknown?token=x", app.address)).send().await.expect("page");
    assert_eq!(header(link.headers(), "cache-control"), "no-store", "the 3DS page carries a client secret");
    assert!(header(link.headers(), "content-security-policy").contains("'nonce-"));

    let api = post(&app, &bare(), "me", &[], &[("origin", &app.address)]).await;
    assert_eq!(api.status().as_u16(), 200);
    assert_eq!(header(api.headers(), "cache-control"), "no-store");
    assert!(header(api.headers(), "content-security-policy").contains("default-src 'self'"));
    assert!(header(api.headers(), "strict-transport-security").is_empty(), "no HSTS on plain http");
}

/// A page loads its WASM in dozens of chunks while other pages are being rendered: each
/// answer keeps its own headers. (The files went through Leptos' fallback handler, whose
/// answer took the headers of a page rendered at the same time: pages lost their
/// Content-Security-Policy, and a page's `Set-Cookie` could have left on a file's answer.)
#[tokio::test]
async fn the_site_s_files_served_beside_pages_never_take_a_page_s_headers() {
    let site = crate::helpers::database::tempdir::TempDir::new();
    std::fs::create_dir_all(site.path().join("pkg")).expect("pkg folder");
    let chunk = vec![7_u8; 4_096];
    std::fs::write(site.path().join("pkg/chunk_1.wasm"), &chunk).expect("a chunk");
    let root = site.path().to_str().expect("utf-8 path").to_owned();
    let app = spawn_app_with(with_env(vec![("LEPTOS_SITE_ROOT", root)])).await;

    let client = bare();
    let mut answers = tokio::task::JoinSet::new();
    for i in 0..320 {
        let (client, address) = (client.clone(), app.address.clone());
        let page = i % 8 == 0;
        answers.spawn(async move {
            let path = if page { "/" } else { "/pkg/chunk_1.wasm" };
            let answer = client.get(format!("{address}{path}")).send().await.expect("answer");
            let policy = header(answer.headers(), "content-security-policy");
            let cookies = answer.headers().get_all("set-cookie").iter().count();
            let status = answer.status().as_u16();
            let body = answer.bytes().await.expect("body");
            (page, status, policy, cookies, body)
        });
    }
    let (mut pages, mut files) = (0, 0);
    while let Some(answer) = answers.join_next().await {
        let (page, status, policy, cookies, body) = answer.expect("task");
        assert_eq!(status, 200);
        if page {
            pages += 1;
            assert!(policy.contains("'nonce-"), "a page keeps its own policy: {policy}");
        } else {
            files += 1;
            assert_eq!(policy, app::ssr::headers::DEFAULT_POLICY, "a file gets the default policy, no page's");
            assert_eq!(cookies, 0, "a file sets no cookie");
            assert_eq!(body.as_ref(), chunk.as_slice());
        }
    }
    assert_eq!((pages, files), (40, 280));
    let missing = bare().get(format!("{}/pkg/none.wasm", app.address)).send().await.expect("answer");
    assert_eq!(missing.status().as_u16(), 404, "what is not there is Leptos' not-found page");
}

#[tokio::test]
async fn a_runaway_template_is_refused_at_save_and_never_stalls_the_worker() {
    let app = spawn_app_with(with_env(vec![])).await;
    let admin = app.admin("Ada").await;
    let runaway = "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}";
    let source =
        TemplateSource { subject: "Reçu".to_owned(), html: runaway.to_owned(), text: "{{ label }}".to_owned() };
    match email_admin::save(&app.state, admin.id, "payment_received", "fr", &source).await {
        Err(ServiceError::Invalid(app::domain::Invalid::Template(message))) => {
            assert!(message.contains("fuel"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(admin_audit::Entity::find().count(&app.state.db).await.expect("count"), 0);

    // Written behind the product's back: the worker gives up on the render and moves on.
    email_template::Entity::update_many()
        .col_expr(email_template::Column::HtmlBody, Expr::value(runaway))
        .filter(email_template::Column::Kind.eq("payment_received"))
        .exec(&app.state.db)
        .await
        .expect("template written");
    let now = app.state.now_ms();
    let context = templates::sample_context(EmailKind::PaymentReceived, Locale::Fr);
    let row = email_outbox::ActiveModel {
        dedup_key: Set("payment_received:runaway".to_owned()),
        kind: Set(EmailKind::PaymentReceived),
        locale: Set("fr".to_owned()),
        to_address: Set("alice@example.test".to_owned()),
        context: Set(context.to_string()),
        status: Set(OutboxStatus::Pending),
        attempts: Set(0),
        send_after: Set(now),
        next_attempt_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .expect("queued");
    let handled = app::ssr::email::sender::send_pending(&app.state, 10).await.expect("the worker carries on");
    assert_eq!(handled, 1);
    let row = email_outbox::Entity::find_by_id(row.id).one(&app.state.db).await.expect("query").expect("row");
    assert_eq!(row.status, OutboxStatus::Pending, "kept for when an admin fixes the template");
    assert!(row.last_error.as_deref().is_some_and(|e| e.contains("fuel")), "{:?}", row.last_error);

    // A template that renders is saved, and the save is in the admin audit log.
    let fixed = TemplateSource { html: "<p>{{ label }}</p>".to_owned(), ..source };
    email_admin::save(&app.state, admin.id, "payment_received", "fr", &fixed).await.expect("saved");
    let audit = admin_audit::Entity::find().all(&app.state.db).await.expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].actor_id, audit[0].action.as_str()), (admin.id.get(), "email_template.save"));
    assert_eq!(audit[0].subject, "payment_received/fr");
}

#[tokio::test]
async fn another_customers_echeance_is_not_found() {
    let app = spawn_app().await;
    let alice = app.customer("Alice", Some(cards::OK)).await;
    let mallory = app.customer("Mallory", Some(cards::OK)).await;
    let echeance = app.echeance(&alice, 4_200, app.today()).await;
    let browser = app.browser();
    app.login(&browser, &mallory).await;
    let (status, _) = app.pay(&browser, echeance).await;
    assert_eq!(status, 404, "the same answer as an échéance that does not exist");
    let (missing, _) = app.pay(&browser, echeance + 1_000).await;
    assert_eq!(missing, 404);
    assert!(app.attempts(echeance).await.is_empty());
}

#[tokio::test]
async fn stripe_spending_calls_are_bounded_per_customer() {
    let app = spawn_app_with(with_env(vec![("STRIPE_CALLS_PER_USER_PER_MINUTE", "3".to_owned())])).await;
    let alice = app.customer("Alice", None).await;
    let bob = app.customer("Bob", Some(cards::OK)).await;
    let app = &app;
    let setup = |client: reqwest::Client| async move { post(app, &client, "card/setup", &[], &[]).await.status() };
    let alice_browser = app.browser();
    app.login(&alice_browser, &alice).await;
    for _ in 0..3 {
        assert_eq!(setup(alice_browser.clone()).await.as_u16(), 200);
    }
    assert_eq!(setup(alice_browser.clone()).await.as_u16(), 429, "the fourth in a minute waits");
    app.clock.advance(Duration::from_secs(20));
    assert_eq!(setup(alice_browser).await.as_u16(), 200, "a third of a minute later, one more");

    // Payments count too, but only those that reach Stripe: a refused click costs nothing.
    let bob_browser = app.browser();
    app.login(&bob_browser, &bob).await;
    assert_eq!(setup(bob_browser.clone()).await.as_u16(), 200, "another customer has a budget of his own");
    let due = [app.today(); 3];
    let mut echeances = Vec::new();
    for day in due {
        echeances.push(app.echeance(&bob, 1_500, day).await);
    }
    assert_eq!(app.pay(&bob_browser, echeances[0]).await.0, 200);
    for _ in 0..5 {
        assert_eq!(app.pay(&bob_browser, echeances[0]).await.0, 409, "already paid: refused before Stripe");
    }
    assert_eq!(app.pay(&bob_browser, echeances[1]).await.0, 200, "the refusals used none of the budget");
    assert_eq!(app.pay(&bob_browser, echeances[2]).await.0, 429, "the fourth Stripe call in a minute waits");
    assert!(app.attempts(echeances[2]).await.is_empty(), "nothing was sent");
    assert_eq!(app.status(echeances[2]).await, EcheanceStatus::APayer);
}

async fn me(app: &TestApp, client: &reqwest::Client) -> serde_json::Value {
    client.post(format!("{}/api/me", app.address)).send().await.expect("answers").json().await.expect("json")
}

#[tokio::test]
async fn idle_sessions_end_sooner_for_admins_and_are_purged() {
    let app = spawn_app_with(with_env(vec![])).await;
    let admin = app.admin("Ada").await;
    let alice = app.customer("Alice", None).await;
    let bob = app.customer("Bob", None).await;
    let (admin_browser, alice_browser) = (app.browser(), app.browser());
    app.login(&admin_browser, &admin).await;
    app.login(&alice_browser, &alice).await;
    // Bob logs in and never comes back: only the purge removes his session.
    app.login(&app.browser(), &bob).await;
    app.clock.advance(Duration::from_secs(20 * 60));
    assert!(me(&app, &admin_browser).await.is_object(), "20 minutes idle: still in");
    app.clock.advance(Duration::from_secs(29 * 60));
    assert!(me(&app, &admin_browser).await.is_object(), "each request keeps the session alive");
    app.clock.advance(Duration::from_secs(31 * 60));
    assert!(me(&app, &admin_browser).await.is_null(), "an admin idle for 31 minutes is logged out");
    assert!(me(&app, &alice_browser).await.is_object(), "a customer is not");
    app.clock.advance(Duration::from_secs(25 * 3600));
    assert!(me(&app, &alice_browser).await.is_null(), "nor after a day idle");

    assert_eq!(session::Entity::find().count(&app.state.db).await.expect("count"), 1, "Bob's, idle");
    let alice_again = app.browser();
    app.login(&alice_again, &alice).await;
    assert_eq!(login_status(&app, &bob, "wrong", "").await, 401, "a fresh failure: a live throttle key");
    app.clock.advance(Duration::from_secs(31 * 24 * 3600));
    app.login(&alice_again, &alice).await;
    assert_eq!(login_status(&app, &bob, "wrong", "").await, 401);
    let attempts_before = login_attempt::Entity::find().count(&app.state.db).await.expect("count");

    let purged = app::ssr::auth::purge(&app.state).await.expect("purge");
    assert!(purged >= 1);
    let sessions = session::Entity::find().all(&app.state.db).await.expect("sessions");
    assert_eq!(sessions.len(), 1, "Bob's idle session went, Alice's live one stayed");
    assert!(me(&app, &alice_again).await.is_object(), "and still works");
    let attempts_after = login_attempt::Entity::find().count(&app.state.db).await.expect("count");
    assert_eq!(attempts_after, 2, "the logins of the last month stay, older ones go (of {attempts_before})");
    let throttles = login_throttle::Entity::find().all(&app.state.db).await.expect("throttles");
    assert!(throttles.iter().all(|t| t.updated_at >= app.state.now_ms() - 3_600_000), "{throttles:?}");
    assert!(!throttles.is_empty(), "the key of the last minute's failure stays");
}

#[tokio::test]
async fn readiness_keeps_serving_when_stripe_is_down_and_liveness_tells_nothing() {
    let app = spawn_app_with(with_env(vec![("STRIPE_API_BASE", "http://127.0.0.1:9/".to_owned())])).await;
    let live = bare().get(format!("{}/health", app.address)).send().await.expect("answers");
    assert_eq!(live.status().as_u16(), 200);
    assert_eq!(live.json::<serde_json::Value>().await.expect("json"), serde_json::json!({"status": "ok"}));
    let ready = bare().get(format!("{}/ready", app.address)).send().await.expect("answers");
    assert_eq!(ready.status().as_u16(), 200, "a Stripe outage does not take the instance out");
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!((body["database"].as_str(), body["stripe"].as_str()), (Some("ok"), Some("unreachable")), "{body}");
    assert_eq!(body["status"], "degraded");
}
