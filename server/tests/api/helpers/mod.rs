//! `spawn_app()`: the whole server on a random port, a fresh database, its
//! own localstripe behind the Stripe layer, workers running. One helper per
//! thing a test does.

pub mod binary;
pub mod database;
pub mod mail;
pub mod peer;
pub mod receiver;
pub mod stripe_layer;
pub mod stripe_semantics;

use app::domain::{Amount, Currency, EcheanceStatus, Money, Role, UserId};
use app::ssr::clock::{Clock, ManualClock};
use app::ssr::config::Settings;
use app::ssr::entities::{charge_attempt, echeance, email_outbox, payment_method, stripe_event, user};
use app::ssr::repo::echeances;
use app::ssr::state::AppState;
use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use server::startup::{self, Ports};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use database::TestDatabase;
pub use peer::Peer;
pub use stripe_layer::{Delivery, Fault, StripeLayer};

/// The webhook secret of the tests.
pub const WEBHOOK_SECRET: &str = "whsec_echeancier_tests";

/// How long a test waits for something that must happen (an email, a delivery, a status):
/// the wait ends as soon as it does, so only a failure waits this long, and a run with every
/// test at once on two cores is not mistaken for one.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How to build a test app.
#[derive(Clone)]
pub struct Options {
    /// Run the background workers (webhook inbox, email outbox, host deliveries, follow-ups); never
    /// the cron jobs, which a test runs by hand (`schedule::run_if_due`, `due::charge_due`, …).
    pub workers: bool,
    /// Extra or overriding environment variables.
    pub env: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self { workers: true, env: Vec::new() }
    }
}

/// A running app.
pub struct TestApp {
    /// `http://127.0.0.1:port`.
    pub address: String,
    /// Its state (database, gateway, settings).
    pub state: AppState,
    /// The Stripe layer it talks to.
    pub stripe: StripeLayer,
    /// The peer behind the layer.
    pub peer: Arc<Peer>,
    /// The clock tests can advance.
    pub clock: Arc<ManualClock>,
    /// The database.
    pub db: Arc<TestDatabase>,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A customer with a Stripe customer and, optionally, a card.
#[derive(Clone, Debug)]
pub struct Customer {
    /// User id.
    pub id: UserId,
    /// Login.
    pub email: String,
    /// Password.
    pub password: String,
    /// `cus_…`.
    pub stripe_customer: String,
}

/// Test cards (see `../shared/STRIPE.md`).
pub mod cards {
    /// Always succeeds.
    pub const OK: &str = "4242424242424242";
    /// Off-session: always `authentication_required`.
    pub const SCA_ALWAYS: &str = "4000002760003184";
    /// Declined when charged (attaching works) — the peer's `card_declined` card.
    pub const DECLINED: &str = "4000000000000341";
}

/// Starts an app with the default options.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// Settings for a test app: the peer via the layer, a short Stripe timeout.
pub fn settings_for(db_url: &str, stripe_url: &str, address: &str, extra: &[(&'static str, String)]) -> Settings {
    let mut vars: HashMap<&'static str, String> = HashMap::from([
        ("APP_ENV", "development".to_owned()),
        ("DATABASE_URL", db_url.to_owned()),
        ("DATABASE_MAX_CONNECTIONS", "10".to_owned()),
        ("STRIPE_SECRET_KEY", peer::SECRET_KEY.to_owned()),
        ("STRIPE_PUBLISHABLE_KEY", peer::PUBLISHABLE_KEY.to_owned()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ("STRIPE_API_BASE", format!("{stripe_url}/")),
        ("STRIPE_JS_URL", format!("{stripe_url}/js.stripe.com/v3/")),
        ("STRIPE_TIMEOUT_SECS", "3".to_owned()),
        ("APP_BASE_URL", format!("{address}/")),
        ("SMTP_URL", "smtp://127.0.0.1:9".to_owned()),
        ("APP_SECRET", "tests-secret-0123456789abcdef0123456789".to_owned()),
    ]);
    for (k, v) in extra {
        vars.insert(k, v.clone());
    }
    Settings::from_source(&|k| vars.get(k).cloned()).expect("test settings")
}

/// An app without background workers: the test runs the jobs it wants itself (the inbox, the
/// follow-ups, the outbox), so none races it for a row once the clock has moved.
pub async fn spawn_app_by_hand() -> TestApp {
    spawn_app_with(Options { workers: false, ..Default::default() }).await
}

/// Starts an app.
pub async fn spawn_app_with(options: Options) -> TestApp {
    if std::env::var_os("RUST_LOG").is_some() {
        server::telemetry::init();
    }
    let db = Arc::new(TestDatabase::create().await);
    let peer = Arc::new(Peer::start().await);
    spawn_on(db, peer, options).await
}

/// Starts an app on an existing database and peer (a second instance).
pub async fn spawn_on(db: Arc<TestDatabase>, peer: Arc<Peer>, options: Options) -> TestApp {
    let stripe = StripeLayer::start(&peer.url).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let settings = settings_for(&db.url, &stripe.url, &address, &options.env);
    let mut ports = Ports::from_settings(&settings).expect("ports");
    let clock = Arc::new(ManualClock::default());
    ports.clock = clock.clone() as Arc<dyn Clock>;
    let mut leptos_options = startup::leptos_options(&settings).expect("leptos options");
    // `LEPTOS_SITE_ROOT` among the options' variables: the site's files, as the binary reads it.
    if let Some((_, root)) = options.env.iter().find(|(k, _)| *k == "LEPTOS_SITE_ROOT") {
        leptos_options.site_root = root.as_str().into();
    }
    let state = startup::build_state(settings, ports, leptos_options).await.expect("state");
    stripe.set_webhook_target(&format!("{address}/stripe/webhook"));
    stripe.set_signing(WEBHOOK_SECRET, clock.clone() as Arc<dyn Clock>);
    peer.register_webhook(&stripe.relay_url(), WEBHOOK_SECRET).await;

    let shutdown = CancellationToken::new();
    if options.workers {
        let mut workers = server::workers::spawn(&state, &shutdown, server::workers::Cron::Skip);
        tokio::spawn(async move { while workers.join_next().await.is_some() {} });
    }
    tokio::spawn(startup::serve(state.clone(), listener, shutdown.clone()));
    TestApp { address, state, stripe, peer, clock, db, shutdown }
}

impl TestApp {
    /// Creates a customer (user row and Stripe customer), with a card when `card` is given.
    pub async fn customer(&self, name: &str, card: Option<&str>) -> Customer {
        let (user_id, email, password) = self.account(name, Role::Customer).await;
        let stripe_customer =
            app::ssr::services::cards::ensure_customer(&self.state, user_id).await.expect("Stripe customer");
        let customer = Customer { id: user_id, email, password, stripe_customer };
        if let Some(number) = card {
            self.add_card(&customer, number).await;
        }
        customer
    }

    /// Saves a card for `customer` as Stripe.js and the save step would (peer + row).
    pub async fn add_card(&self, customer: &Customer, number: &str) -> String {
        let pm_id = self.payment_method(number).await;
        self.peer
            .post(&format!("/v1/payment_methods/{pm_id}/attach"), &[("customer", &customer.stripe_customer)])
            .await;
        payment_method::Entity::update_many()
            .col_expr(payment_method::Column::IsDefault, sea_orm::sea_query::Expr::value(false))
            .filter(payment_method::Column::UserId.eq(customer.id.get()))
            .exec(&self.state.db)
            .await
            .expect("unset default");
        payment_method::ActiveModel {
            user_id: Set(customer.id.get()),
            stripe_payment_method_id: Set(pm_id.clone()),
            brand: Set("visa".to_owned()),
            last4: Set(number[number.len() - 4..].to_owned()),
            exp_month: Set(12),
            exp_year: Set(2034),
            is_default: Set(true),
            created_at: Set(self.state.now_ms()),
            mode: Set(Some(app::ssr::services::host_api::keys::current_mode(&self.state))),
            ..Default::default()
        }
        .insert(&self.state.db)
        .await
        .expect("insert card");
        pm_id
    }

    /// A card PaymentMethod on the peer, as Stripe.js creates it (expires 12/2034), of the mode of
    /// the keys in use.
    pub async fn payment_method(&self, number: &str) -> String {
        let form = [
            ("type", "card"),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2034"),
            ("card[cvc]", "123"),
        ];
        let pm = self.peer.post("/v1/payment_methods", &form).await;
        let pm = pm["id"].as_str().expect("pm id").to_owned();
        // Stripe.js makes it with the publishable key of the mode in use.
        self.stripe.made_with(&pm, app::ssr::services::host_api::keys::current_mode(&self.state));
        pm
    }

    /// Saves a card the way the product does: a SetupIntent, confirmed as
    /// Stripe.js would, then recorded by the service (which activates plans).
    pub async fn save_card_through_setup(&self, customer: UserId, number: &str) {
        let setup_intent = self.confirmed_setup(customer, number).await;
        app::ssr::services::cards::save_card(&self.state, customer, &setup_intent).await.expect("card saved");
    }

    /// A SetupIntent started by the product for `customer` and confirmed with card `number` as
    /// Stripe.js would; the card is not saved yet. Its id.
    pub async fn confirmed_setup(&self, customer: UserId, number: &str) -> String {
        let start = app::ssr::services::cards::start_setup(&self.state, customer).await.expect("setup started");
        let setup_intent = start.client_secret.split("_secret").next().expect("id").to_owned();
        let pm = self.payment_method(number).await;
        self.peer.post(&format!("/v1/setup_intents/{setup_intent}/confirm"), &[("payment_method", pm.as_str())]).await;
        setup_intent
    }

    /// An échéance of `cents` due on `due` for `customer`, payable.
    pub async fn echeance(&self, customer: &Customer, cents: i64, due: NaiveDate) -> i64 {
        let now = self.state.now_ms();
        let money = Money { amount: Amount::from_minor(cents).expect("positive"), currency: Currency::Eur };
        echeances::new_row(customer.id.get(), "Échéance de test".to_owned(), money, due, EcheanceStatus::APayer, now)
            .insert(&self.state.db)
            .await
            .expect("insert échéance")
            .id
    }

    /// An échéance of `cents` due today for `customer`, charged by the due-date run (its outcome
    /// is the card's).
    pub async fn charged_today(&self, customer: &Customer, cents: i64) -> i64 {
        let e = self.echeance(customer, cents, self.today()).await;
        let id = app::domain::EcheanceId::new(e).expect("id");
        app::ssr::services::charge::charge(&self.state, id, app::ssr::services::charge::Trigger::DueDate)
            .await
            .expect("charged");
        e
    }

    /// An échéance of `cents` due today, charged once and declined (`customer`'s card declines):
    /// « échouée », its retry scheduled. Returns it and its retry date.
    pub async fn declined_today(&self, customer: &Customer, cents: i64) -> (i64, i64) {
        let e = self.charged_today(customer, cents).await;
        let row = self.row(e).await;
        assert_eq!(row.status, EcheanceStatus::Echouee);
        (e, row.next_retry_at.expect("a retry is scheduled"))
    }

    /// Links échéance `e` to a legacy Checkout Session of the original site, as Stripe has it
    /// (for the échéance's amount and currency).
    pub async fn link_checkout_session(&self, e: i64, id: &str, status: &str, payment_status: &str) {
        self.write(e, echeance::Column::CheckoutSessionId, id).await;
        let row = self.row(e).await;
        self.stripe.put_checkout_session(serde_json::json!({
            "id": id, "object": "checkout.session", "status": status, "payment_status": payment_status,
            "client_reference_id": e.to_string(), "amount_total": row.amount_cents, "currency": row.currency,
        }));
    }

    /// Today, in the schedule's zone.
    pub fn today(&self) -> NaiveDate {
        self.state.clock.now().with_timezone(&self.state.settings.schedule_timezone).date_naive()
    }

    /// The échéance row.
    pub async fn row(&self, id: i64) -> echeance::Model {
        echeance::Entity::find_by_id(id).one(&self.state.db).await.expect("query").expect("échéance exists")
    }

    /// Writes the échéance's status by hand, past the state machine: a row as the original site or
    /// an import left it, or a charge in flight elsewhere.
    pub async fn set_status(&self, id: i64, status: EcheanceStatus) {
        self.write(id, echeance::Column::Status, status).await;
    }

    /// Writes one column of an échéance row by hand.
    async fn write(&self, id: i64, column: echeance::Column, value: impl Into<sea_orm::Value>) {
        echeance::Entity::update_many()
            .col_expr(column, sea_orm::sea_query::Expr::value(value))
            .filter(echeance::Column::Id.eq(id))
            .exec(&self.state.db)
            .await
            .expect("échéance written");
    }

    /// The échéance's status.
    pub async fn status(&self, id: i64) -> EcheanceStatus {
        self.row(id).await.status
    }

    /// Waits until the échéance reaches `expected` (webhooks arrive about 1 s after the event).
    pub async fn wait_for_status(&self, id: i64, expected: EcheanceStatus, within: Duration) -> EcheanceStatus {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let status = self.status(id).await;
            if status == expected || tokio::time::Instant::now() >= deadline {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for échéance `id` to reach `expected` (what a webhook applied by the worker, or a
    /// follow-up, moves it to) and fails with the status it stayed at. A bound, not a measure:
    /// the wait ends as soon as the status is there.
    pub async fn assert_reaches(&self, id: i64, expected: EcheanceStatus) {
        let status = self.wait_for_status(id, expected, PATIENCE).await;
        assert_eq!(status, expected, "échéance {id} stayed {status:?}");
    }

    /// The échéance's audit rows (one per status change), oldest first.
    pub async fn audit(&self, id: i64) -> Vec<app::ssr::entities::audit_log::Model> {
        use app::ssr::entities::audit_log;
        audit_log::Entity::find()
            .filter(audit_log::Column::EcheanceId.eq(id))
            .order_by_asc(audit_log::Column::Id)
            .all(&self.state.db)
            .await
            .expect("audit rows")
    }

    /// The host site listens to every event (its deliveries are not the point: the events written are).
    pub async fn host_listens(&self) {
        use app::ssr::services::outgoing::endpoints::{NewEndpoint, create};
        let everything = NewEndpoint {
            url: "http://127.0.0.1:9/hooks".to_owned(),
            enabled_events: vec!["*".to_owned()],
            description: None,
        };
        create(&self.state, everything).await.expect("endpoint");
    }

    /// The events written for the host, oldest first: their kind and object.
    pub async fn host_events(&self) -> Vec<(app::domain::HostEvent, serde_json::Value)> {
        use app::ssr::entities::host_event;
        let told = host_event::Entity::find().order_by_asc(host_event::Column::Id).all(&self.state.db).await;
        told.expect("host events")
            .into_iter()
            .map(|event| (event.event_type, serde_json::from_str(&event.payload).expect("an object")))
            .collect()
    }

    /// A next attempt of `first`'s échéance that collected it too, by PaymentIntent `pi`, finished
    /// after it: a double charge (as the product itself never writes one).
    pub async fn collected_again(&self, first: &charge_attempt::Model, pi: &str) -> charge_attempt::Model {
        let (now, no) = (self.state.now_ms(), first.attempt_no + 1);
        charge_attempt::ActiveModel {
            echeance_id: Set(first.echeance_id),
            attempt_no: Set(no),
            idempotency_key: Set(format!("again-e{}-a{no}", first.echeance_id)),
            trigger: Set(app::domain::ChargeOrigin::Customer),
            amount_cents: Set(first.amount_cents),
            currency: Set(first.currency.clone()),
            stripe_customer_id: Set(first.stripe_customer_id.clone()),
            payment_method_id: Set(first.payment_method_id.clone()),
            payment_intent_id: Set(Some(pi.to_owned())),
            outcome: Set(app::domain::AttemptOutcome::Succeeded),
            started_at: Set(now),
            finished_at: Set(Some(first.finished_at.unwrap_or(now).max(now) + 1_000)),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&self.state.db)
        .await
        .expect("a second collected attempt")
    }

    /// The attempts of an échéance, in order.
    pub async fn attempts(&self, id: i64) -> Vec<charge_attempt::Model> {
        charge_attempt::Entity::find()
            .filter(charge_attempt::Column::EcheanceId.eq(id))
            .order_by_asc(charge_attempt::Column::AttemptNo)
            .all(&self.state.db)
            .await
            .expect("attempts")
    }

    /// Queued emails about an échéance.
    pub async fn emails(&self, id: i64) -> Vec<email_outbox::Model> {
        email_outbox::Entity::find()
            .filter(email_outbox::Column::EcheanceId.eq(id))
            .order_by_asc(email_outbox::Column::Id)
            .all(&self.state.db)
            .await
            .expect("emails")
    }

    /// The webhook inbox.
    pub async fn inbox(&self) -> Vec<stripe_event::Model> {
        stripe_event::Entity::find().order_by_asc(stripe_event::Column::Id).all(&self.state.db).await.expect("inbox")
    }

    /// An HTTP client with its own cookie jar, sending the `Origin` a browser on
    /// the site would.
    pub fn browser(&self) -> reqwest::Client {
        browser_of(&self.address)
    }

    /// An admin account (no Stripe customer).
    pub async fn admin(&self, name: &str) -> Customer {
        let (id, email, password) = self.account(name, Role::Admin).await;
        Customer { id, email, password, stripe_customer: String::new() }
    }

    /// An admin account, « root », and a browser logged in as it.
    pub async fn logged_in_admin(&self) -> (Customer, reqwest::Client) {
        let admin = self.admin("root").await;
        let browser = self.browser();
        self.login(&browser, &admin).await;
        (admin, browser)
    }

    /// A user row: id, login and password.
    pub async fn account(&self, name: &str, role: Role) -> (UserId, String, String) {
        let email = format!("{}-{}@example.test", name.to_lowercase(), uuid::Uuid::new_v4().simple());
        let password = format!("{name}-password-2026");
        let row = user::ActiveModel {
            email: Set(email.clone()),
            password_hash: Set(app::ssr::auth::hash_password(&password).expect("hash")),
            role: Set(role),
            display_name: Set(name.to_owned()),
            locale: Set("fr".to_owned()),
            created_at: Set(self.state.now_ms()),
            ..Default::default()
        }
        .insert(&self.state.db)
        .await
        .expect("insert user");
        (UserId::new(row.id).expect("positive id"), email, password)
    }

    /// Logs `customer` in on `client`.
    pub async fn login(&self, client: &reqwest::Client, customer: &Customer) {
        let response = client
            .post(format!("{}/api/login", self.address))
            .header("accept", "application/json")
            .form(&[("email", customer.email.as_str()), ("password", customer.password.as_str())])
            .send()
            .await
            .expect("login answers");
        assert!(
            response.status().is_success() || response.status().is_redirection(),
            "login failed: {}",
            response.status()
        );
    }

    /// Posts `form` to server function `endpoint` as a browser without JavaScript does (the form's
    /// own post, from the page at `page`): where the answer sends it, and the browser (its cookies).
    pub async fn post_without_javascript(
        &self,
        page: &str,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> (String, reqwest::Client) {
        let browser = Self::browser_without_javascript();
        (self.post_form_as(&browser, page, endpoint, form).await, browser)
    }

    /// A browser that keeps its cookies and does not follow redirects (to read where it is sent).
    pub fn browser_without_javascript() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// [`Self::post_without_javascript`] from `browser` (logged in, say): where the answer sends it.
    pub async fn post_form_as(
        &self,
        browser: &reqwest::Client,
        page: &str,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> String {
        let response = browser
            .post(format!("{}/api/{endpoint}", self.address))
            .header("origin", &self.address)
            .header("referer", format!("{}{page}", self.address))
            .header("accept", "text/html")
            .form(form)
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 302, "{endpoint}: sent on");
        response.headers()["location"].to_str().expect("location").to_owned()
    }

    /// The HTTP status of a login with `email` and `password` from a fresh browser.
    pub async fn login_status(&self, email: &str, password: &str) -> u16 {
        browser_of(&self.address)
            .post(format!("{}/api/login", self.address))
            .header("accept", "application/json")
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .expect("login answers")
            .status()
            .as_u16()
    }

    /// Calls the `pay` server function; returns the HTTP status and the JSON body.
    pub async fn pay(&self, client: &reqwest::Client, echeance_id: i64) -> (u16, serde_json::Value) {
        self.call(client, "pay", &[("echeance_id", &echeance_id.to_string())]).await
    }

    /// Posts `form` to server function `endpoint` (`pay`, `admin/refund`…) as a script on the
    /// site's page would (a JSON answer); returns the HTTP status and the JSON body.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let response = client
            .post(format!("{}/api/{endpoint}", self.address))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("the server function answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Posts a raw webhook to the app.
    pub async fn post_webhook(&self, signature: Option<&str>, body: Vec<u8>) -> u16 {
        let mut request = self
            .browser()
            .post(format!("{}/stripe/webhook", self.address))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        request.send().await.expect("webhook answers").status().as_u16()
    }

    /// Posts a correctly signed event to the app.
    pub async fn deliver(&self, event: &serde_json::Value) -> u16 {
        let body = serde_json::to_vec(event).expect("json");
        let signature = app::ssr::payments::webhook_signature::sign(WEBHOOK_SECRET, self.state.now_ms() / 1000, &body);
        self.post_webhook(Some(&signature), body).await
    }

    /// Runs the webhook worker once, then again until nothing is due.
    pub async fn process_inbox(&self) {
        while app::ssr::services::webhooks::process_pending(&self.state, 100).await.expect("process") > 0 {}
    }

    /// Waits for Stripe's events of `types` to be stored (an attempted delivery may still be on
    /// its way), then applies every stored event until none waits: the state once they are in.
    pub async fn apply_once_stored(&self, types: &[&str]) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let stored: std::collections::BTreeSet<String> =
                self.inbox().await.into_iter().map(|e| e.event_type).collect();
            if types.iter().all(|t| stored.contains(*t)) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{types:?} never all stored: {stored:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let waiting = self.settle_inbox(PATIENCE).await;
        assert!(waiting.is_empty(), "events still waiting: {waiting:?}");
    }

    /// Lets the inbox's retry delays pass until no event waits any more (each
    /// parked one retried at once, the background worker's batch finished):
    /// the state once every delivery has been applied. Returns the events still
    /// waiting when `within` ran out.
    pub async fn settle_inbox(&self, within: Duration) -> Vec<stripe_event::Model> {
        use app::ssr::repo::queue::InboxStatus;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let now = self.state.now_ms();
            stripe_event::Entity::update_many()
                .col_expr(stripe_event::Column::NextAttemptAt, sea_orm::sea_query::Expr::value(now))
                .filter(stripe_event::Column::Status.eq(InboxStatus::Pending))
                .exec(&self.state.db)
                .await
                .expect("make the parked events due");
            self.process_inbox().await;
            let waiting: Vec<stripe_event::Model> =
                self.inbox().await.into_iter().filter(|row| row.status == InboxStatus::Pending).collect();
            if waiting.is_empty() || tokio::time::Instant::now() >= deadline {
                return waiting;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// An HTTP client with its own cookie jar, as a browser on the site at `origin`.
pub fn browser_of(origin: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", origin.parse().expect("origin"));
    reqwest::Client::builder().cookie_store(true).default_headers(headers).build().expect("client")
}

/// An event as Stripe sends it.
pub fn event(id: &str, kind: &str, object: serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "id": id, "object": "event", "type": kind, "created": chrono::Utc::now().timestamp(),
        "livemode": false, "api_version": "2026-09-30", "data": { "object": object } })
}

/// A customer's account as a plan writes it for a new address, in an open transaction of its own:
/// another request's write that has not committed yet (`txn` holds the address until it does).
pub async fn uncommitted_customer(
    db: &sea_orm::DatabaseConnection,
    email: &str,
    now: i64,
) -> (sea_orm::DatabaseTransaction, user::Model) {
    // As a request writes: SQLite's `BEGIN IMMEDIATE` (a deferred one can be told "database is locked" at
    // once when a worker writes meanwhile), a plain transaction on PostgreSQL.
    let txn = app::ssr::db::begin_write(db).await.expect("begin");
    let written = user::ActiveModel {
        email: Set(email.to_owned()),
        password_hash: Set(String::new()),
        role: Set(Role::Customer),
        display_name: Set("Client".to_owned()),
        locale: Set("fr".to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .expect("written");
    (txn, written)
}
