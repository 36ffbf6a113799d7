//! Emails: queued with the state change that causes them, once per cause,
//! sent through a real SMTP server, retried until it takes them; the link is
//! signed, expiring, and its expiry cancels the PaymentIntent.

use app::domain::{AttemptOutcome, EcheanceId, EcheanceStatus, EmailKind, RecoveryToken};
use app::ssr::email::sender;
use app::ssr::email::templates::TemplateSource;
use app::ssr::services::authenticate::{self, Access};
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::email_admin;
use app::ssr::services::error::ServiceError;
use app::ssr::services::recovery;
use secrecy::ExposeSecret;
use std::time::Duration;

use crate::helpers::mail::{MailCatcher, recovery_link};
use crate::helpers::{Fault, Options, TestApp, cards, spawn_app_by_hand, spawn_app_with};

async fn app_with_mail(mail: &MailCatcher, extra: &[(&'static str, &str)]) -> TestApp {
    let mut env = vec![("SMTP_URL", mail.smtp_url()), ("EMAIL_RETRY_BASE_SECS", "1".to_owned())];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    spawn_app_with(Options { env, ..Default::default() }).await
}

fn id(n: i64) -> EcheanceId {
    EcheanceId::new(n).expect("id")
}

#[tokio::test]
async fn an_sca_demand_sends_the_authentication_email_through_smtp_with_a_signed_link_that_works() {
    let mail = MailCatcher::start().await;
    let app = app_with_mail(&mail, &[]).await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 30_000, app.today()).await;

    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");

    let messages = mail.wait_for(1, crate::helpers::PATIENCE).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message["to"][0]["address"], carol.email.as_str());
    assert!(
        message["subject"].as_str().is_some_and(|s| s.contains("Action requise") && s.contains("300,00")),
        "{}",
        message["subject"]
    );
    assert!(message["html"].as_str().is_some_and(|h| h.contains("Confirmer mon paiement")));
    let link = recovery_link(message).expect("a link in the email");
    let pi = app.row(e).await.current_payment_intent_id.expect("pi");
    assert!(link.starts_with(&format!("{}/payment/authenticate/{pi}?token=", app.address)), "{link}");

    let token = link.split("token=").nth(1).and_then(|t| t.split('&').next()).expect("token").to_owned();
    let page = authenticate::prepare(&app.state, &pi, &Access::Token(token.clone()), false)
        .await
        .expect("the link opens the page");
    let secret = page.client_secret.expect("3DS can run from the link");
    app.stripe.authenticate(&pi, &secret, true).await;
    assert_eq!(
        authenticate::confirm(&app.state, &pi, &Access::Token(token.clone())).await.expect("confirmed"),
        EcheanceStatus::Payee
    );
    let again = authenticate::prepare(&app.state, &pi, &Access::Token(token), false).await.expect("page");
    assert!(again.client_secret.is_none(), "the link cannot pay a second time");
}

#[tokio::test]
async fn an_emailed_link_opens_its_page_in_the_emails_language_which_the_browser_then_keeps() {
    use app::ssr::entities::user;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let mail = MailCatcher::start().await;
    let app = app_with_mail(&mail, &[]).await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    // Carol reads English (her account says so); the browser she opens the email in prefers French.
    user::Entity::update_many()
        .col_expr(user::Column::Locale, Expr::value("en"))
        .filter(user::Column::Id.eq(carol.id.get()))
        .exec(&app.state.db)
        .await
        .expect("her language");
    let e = app.echeance(&carol, 30_000, app.today()).await;
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");

    let messages = mail.wait_for(1, crate::helpers::PATIENCE).await;
    assert!(
        messages[0]["subject"].as_str().is_some_and(|s| s.contains("Action required")),
        "{}",
        messages[0]["subject"]
    );
    let link = recovery_link(&messages[0]).expect("a link in the email");
    assert!(link.ends_with("&lang=en"), "{link}");
    let browser = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let open = |url: String| {
        let browser = browser.clone();
        async move { browser.get(url).header("accept-language", "fr-FR,fr;q=0.9").send().await.expect("page") }
    };
    let page = open(link).await;
    assert_eq!(page.status(), 200);
    let remembered =
        page.headers().get_all("set-cookie").iter().any(|c| c.to_str().is_ok_and(|c| c.starts_with("lang=en;")));
    assert!(remembered, "{:?}", page.headers());
    assert!(page.text().await.expect("html").contains("<html lang=\"en\""), "the email's language, not the browser's");

    // The pages after it (a login's redirect, the portal) have no parameter: the browser keeps it.
    let next = open(format!("{}/", app.address)).await.text().await.expect("html");
    assert!(next.contains("<html lang=\"en\""), "kept");
    // A French reader's browser that chose English keeps its choice: the link does not override it.
    let chose = reqwest::Client::new()
        .get(recovery_link(&messages[0]).expect("link").replace("lang=en", "lang=fr"))
        .header("cookie", "lang=en")
        .send()
        .await
        .expect("page");
    let set =
        chose.headers().get_all("set-cookie").iter().filter_map(|c| c.to_str().ok()).any(|c| c.starts_with("lang="));
    assert!(!set, "{:?}", chose.headers());
    assert!(chose.text().await.expect("html").contains("<html lang=\"en\""));
}

#[tokio::test]
async fn a_duplicate_payment_failed_webhook_and_a_retried_charge_queue_one_email() {
    let mail = MailCatcher::start().await;
    let app = app_with_mail(&mail, &[]).await;
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let e = app.echeance(&bob, 4_200, app.today()).await;
    // The first answer is lost: the charge is retried with the same key.
    app.stripe.inject("POST /v1/payment_intents", Fault::DropResponse);
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(app.status(e).await, EcheanceStatus::Echouee);
    // The peer's payment_intent.payment_failed arrives; Stripe may deliver it again.
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    while !app.inbox().await.iter().any(|r| r.event_type == "payment_intent.payment_failed")
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let original = app
        .inbox()
        .await
        .into_iter()
        .find(|r| r.event_type == "payment_intent.payment_failed")
        .expect("webhook received");
    let mut duplicate: serde_json::Value = serde_json::from_str(&original.payload).expect("json");
    duplicate["id"] = serde_json::json!("evt_redelivered_copy");
    assert_eq!(app.deliver(&duplicate).await, 200);
    app.process_inbox().await;

    let failed: Vec<_> = app.emails(e).await.into_iter().filter(|m| m.kind == EmailKind::PaymentFailed).collect();
    assert_eq!(failed.len(), 1, "one email queued");
    let received = mail.wait_for(1, crate::helpers::PATIENCE).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail.messages().await.len(), 1, "one email sent: {received:?}");
}

#[tokio::test]
async fn three_emails_queued_while_smtp_is_down_go_out_once_each_when_it_is_back() {
    let mut mail = MailCatcher::start().await;
    let app = app_with_mail(&mail, &[]).await;
    mail.stop().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let mut ids = Vec::new();
    for cents in [1_000, 2_000, 3_000] {
        let e = app.echeance(&alice, cents, app.today()).await;
        charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("paid");
        ids.push(e);
    }
    // Let the worker fail a few times.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for e in &ids {
        let receipt = app.emails(*e).await.into_iter().find(|m| m.kind == EmailKind::PaymentReceived).expect("queued");
        assert_eq!(receipt.status.as_str(), "pending");
        assert!(receipt.attempts >= 1, "tried while SMTP was down");
    }

    mail.restart().await;

    let messages = mail.wait_for(3, Duration::from_secs(40)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let messages = if messages.len() == 3 { mail.messages().await } else { messages };
    assert_eq!(messages.len(), 3, "{messages:?}");
    let mut subjects: Vec<String> =
        messages.iter().map(|m| m["subject"].as_str().unwrap_or_default().to_owned()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 3, "each email once: {subjects:?}");
    for e in &ids {
        assert!(app.emails(*e).await.iter().all(|m| m.status.as_str() == "sent"));
    }
}

#[tokio::test]
async fn an_email_is_marked_failed_after_its_last_retry_and_can_be_sent_again() {
    let mut mail = MailCatcher::start().await;
    let app = app_with_mail(&mail, &[("EMAIL_MAX_ATTEMPTS", "2")]).await;
    mail.stop().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 1_000, app.today()).await;
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("paid");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while app.emails(e).await[0].status.as_str() != "failed" && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.emails(e).await[0].status.as_str(), "failed");
    let failed = email_admin::failed(&app.state).await.expect("list");
    assert_eq!(failed.len(), 1, "shown on the dashboard");
    // Why, worded for the reader, not the row's stored code.
    let why = failed[0].last_error.as_ref().map(|t| app::ui::i18n::trouble_text(t, app::domain::Locale::Fr));
    assert!(why.as_deref().is_some_and(|w| !w.is_empty() && !w.starts_with("other:")), "{why:?}");

    mail.restart().await;
    sender::retry_failed(&app.state).await.expect("requeued");
    assert_eq!(mail.wait_for(1, crate::helpers::PATIENCE).await.len(), 1);
}

#[tokio::test]
async fn an_unused_link_expires_the_payment_intent_is_cancelled_and_the_echeance_is_payable_again() {
    let app = spawn_app_with(Options::default()).await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 3_000, app.today()).await;
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    let pi = app.row(e).await.current_payment_intent_id.expect("pi");

    app.clock.advance(Duration::from_secs(7 * 24 * 3600 + 60));
    let closed = recovery::expire_links(&app.state, 10).await.expect("ran");

    assert_eq!(closed, 1);
    assert_eq!(app.status(e).await, EcheanceStatus::APayer);
    assert_eq!(app.attempts(e).await[0].outcome, AttemptOutcome::Canceled);
    assert_eq!(app.peer.get(&format!("/v1/payment_intents/{pi}")).await["status"], "canceled");
    let next = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent again");
    assert_eq!(next.attempt_no.get(), 2, "a new attempt next time");
}

#[tokio::test]
async fn an_expired_or_tampered_token_is_refused_and_says_nothing() {
    let app = spawn_app_with(Options::default()).await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let e = app.echeance(&carol, 3_000, app.today()).await;
    charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    let pi = app.row(e).await.current_payment_intent_id.expect("pi");
    let secret = app.state.settings.app_secret.expose_secret().as_bytes().to_vec();

    let expired = RecoveryToken::sign(&secret, &pi, app.state.now_ms() / 1000 - 1);
    let refused = authenticate::prepare(&app.state, &pi, &Access::Token(expired.as_str().to_owned()), false).await;
    assert!(matches!(refused, Err(ServiceError::InvalidLink)), "{refused:?}");

    let valid = RecoveryToken::sign(&secret, &pi, app.state.now_ms() / 1000 + 3600);
    let tampered = format!("{}x", valid.as_str());
    assert!(matches!(
        authenticate::prepare(&app.state, &pi, &Access::Token(tampered), false).await,
        Err(ServiceError::InvalidLink)
    ));
    let other_pi = RecoveryToken::sign(&secret, "pi_someone_else", app.state.now_ms() / 1000 + 3600);
    assert!(matches!(
        authenticate::prepare(&app.state, &pi, &Access::Token(other_pi.as_str().to_owned()), false).await,
        Err(ServiceError::InvalidLink)
    ));
}

#[tokio::test]
async fn the_reminder_goes_out_after_the_configured_delay_unless_the_echeance_was_paid() {
    let mail = MailCatcher::start().await;
    let app = app_with_mail(&mail, &[("RECOVERY_REMINDER_AFTER_HOURS", "48")]).await;
    let carol = app.customer("carol", Some(cards::SCA_ALWAYS)).await;
    let waiting = app.echeance(&carol, 3_000, app.today()).await;
    let paid = app.echeance(&carol, 4_000, app.today()).await;
    for e in [waiting, paid] {
        charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    }
    let sent = mail.wait_for(2, crate::helpers::PATIENCE).await;
    assert!(sent.len() >= 2, "each waiting échéance's authentication email: {sent:?}");
    let pi = app.row(paid).await.current_payment_intent_id.expect("pi");
    let secret = app.attempts(paid).await[0].client_secret.clone().expect("secret");
    app.stripe.authenticate(&pi, &secret, true).await;
    authenticate::confirm(&app.state, &pi, &Access::User(carol.id)).await.expect("paid");

    app.clock.advance(Duration::from_secs(49 * 3600));
    sender::send_pending(&app.state, 50).await.expect("sent");

    let messages = mail.wait_for(4, crate::helpers::PATIENCE).await;
    let reminders: Vec<_> =
        messages.iter().filter(|m| m["subject"].as_str().is_some_and(|s| s.starts_with("Rappel"))).collect();
    assert_eq!(reminders.len(), 1, "{messages:?}");
    assert!(reminders[0]["subject"].as_str().is_some_and(|s| s.contains("30,00")));
    // The worker may hold the paid échéance's reminder while this test's run sends the other: wait for its decision.
    let decided = async {
        loop {
            let reminder = app.emails(paid).await.into_iter().find(|m| m.kind == EmailKind::Reminder).expect("queued");
            if reminder.status.as_str() != "pending" {
                break reminder;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let cancelled = tokio::time::timeout(crate::helpers::PATIENCE, decided).await.expect("decided in time");
    assert_eq!(cancelled.status.as_str(), "cancelled");
}

#[tokio::test]
async fn a_template_that_does_not_render_is_refused_with_the_engines_message() {
    let app = spawn_app_by_hand().await;
    let broken =
        TemplateSource { subject: "Bonjour".to_owned(), html: "<p>{{ amount </p>".to_owned(), text: "ok".to_owned() };

    let admin = app.admin("Ada").await;
    let refused = email_admin::save(&app.state, admin.id, "payment_received", "fr", &broken).await;
    match refused {
        Err(ServiceError::Invalid(app::domain::Invalid::Template(message))) => {
            assert!(message.contains("syntax error"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let stored = email_admin::list(&app.state).await.expect("list");
    let receipt = stored.iter().find(|t| t.kind.as_str() == "payment_received" && t.locale == "fr").expect("template");
    assert!(!receipt.html.contains("{{ amount </p>"), "the broken template was not saved");

    let good = TemplateSource {
        subject: "Reçu {{ amount }}".to_owned(),
        html: "<p>{{ label }}</p>".to_owned(),
        text: "{{ label }}".to_owned(),
    };
    let preview = email_admin::preview("payment_received", "fr", &good).await.expect("renders");
    assert_eq!(preview.subject, "Reçu 300,00\u{a0}€");
    email_admin::save(&app.state, admin.id, "payment_received", "fr", &good).await.expect("saved");
}

#[tokio::test]
async fn every_template_the_migrations_install_renders_with_its_preview_variables_in_both_languages() {
    use app::domain::Locale;
    use app::ssr::email::templates;
    let app = crate::helpers::spawn_app().await;
    for &kind in EmailKind::ALL {
        for locale in [Locale::Fr, Locale::En] {
            let source = templates::load(&app.state.db, kind, locale).await.expect("installed");
            let rendered = templates::render(&source, &templates::sample_context(kind, locale))
                .unwrap_or_else(|e| panic!("{kind} ({}): {e}", locale.code()));
            assert!(!rendered.subject.is_empty() && !rendered.text.is_empty(), "{kind}");
        }
    }
}

/// What another instance does while the slow mailer sends its `n`th email.
enum Meanwhile {
    Nothing,
    /// Its worker runs.
    Sends(usize, app::ssr::state::AppState),
    /// Its worker claims a batch (the lease it wrote kept here) and has not reached it yet.
    Claims(usize, app::ssr::state::AppState, std::sync::Mutex<Option<i64>>),
}

/// A mailer that records what it sends, each email taking `step` of the (test) clock.
struct Slow {
    clock: std::sync::Arc<app::ssr::clock::ManualClock>,
    step: Duration,
    sent: std::sync::Mutex<Vec<String>>,
    meanwhile: Meanwhile,
    /// Its server refuses every message (what it records was tried, not taken).
    refuses: bool,
}

impl Slow {
    fn new(app: &TestApp, step: Duration, meanwhile: Meanwhile) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            clock: app.clock.clone(),
            step,
            sent: Default::default(),
            meanwhile,
            refuses: false,
        })
    }

    fn refusing(app: &TestApp, step: Duration, meanwhile: Meanwhile) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self { clock: app.clock.clone(), step, sent: Default::default(), meanwhile, refuses: true })
    }

    fn sent(&self) -> Vec<String> {
        self.sent.lock().expect("sent").clone()
    }
}

#[async_trait::async_trait]
impl app::ssr::email::mailer::Mailer for Slow {
    async fn send(
        &self,
        email: &app::ssr::email::mailer::OutgoingEmail,
    ) -> Result<(), app::ssr::email::mailer::MailError> {
        use app::ssr::entities::email_outbox;
        self.clock.advance(self.step);
        let count = {
            let mut sent = self.sent.lock().expect("sent");
            sent.push(email.dedup_key.clone());
            sent.len()
        };
        match &self.meanwhile {
            Meanwhile::Sends(n, other) if *n == count => {
                sender::send_pending(other, 20).await.expect("the other instance's worker");
            }
            Meanwhile::Claims(n, other, lease) if *n == count => {
                let (now, until) = (other.now_ms(), other.now_ms() + 120_000);
                let claimed = app::ssr::repo::queue::claim::<email_outbox::Entity>(&other.db, 20, now, until).await;
                assert!(!claimed.expect("claimed").is_empty(), "the other instance took the batch");
                *lease.lock().expect("lease") = Some(until);
            }
            _ => {}
        }
        if self.refuses {
            return Err(app::ssr::email::mailer::MailError::Invalid("550 mailbox unavailable".to_owned()));
        }
        Ok(())
    }
}

/// Three receipts queued (three échéances paid), their dedup keys in order.
async fn three_receipts(app: &TestApp) -> Vec<String> {
    let alice = app.customer("alice", Some(cards::OK)).await;
    for cents in [1_000, 2_000, 3_000] {
        let e = app.echeance(&alice, cents, app.today()).await;
        charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("paid");
    }
    let keys: Vec<String> = outbox(app).await.into_iter().map(|row| row.dedup_key).collect();
    assert_eq!(keys.len(), 3, "three receipts to send: {keys:?}");
    keys
}

async fn outbox(app: &TestApp) -> Vec<app::ssr::entities::email_outbox::Model> {
    use app::ssr::entities::email_outbox;
    use sea_orm::{EntityTrait, QueryOrder};
    email_outbox::Entity::find().order_by_asc(email_outbox::Column::Id).all(&app.state.db).await.expect("rows")
}

#[tokio::test]
async fn a_batch_slower_than_its_lease_sends_no_email_that_another_instance_took_meanwhile() {
    let app = spawn_app_by_hand().await;
    let keys = three_receipts(&app).await;
    // Another instance, on the same database.
    let two = Slow::new(&app, Duration::ZERO, Meanwhile::Nothing);
    let other = app::ssr::state::AppState { mailer: two.clone(), ..app.state.clone() };
    // This one's SMTP server takes 100 s an email: its batch's lease (120 s) runs out at its third.
    let one = Slow::new(&app, Duration::from_secs(100), Meanwhile::Sends(2, other));
    let slow = app::ssr::state::AppState { mailer: one.clone(), ..app.state.clone() };
    sender::send_pending(&slow, 20).await.expect("the slow worker");

    assert_eq!(one.sent(), keys[..2], "the slow worker sends what it still holds");
    assert_eq!(two.sent(), keys[2..], "the other worker took the third once its lease had run out");
    let rows = outbox(&app).await;
    assert!(rows.iter().all(|row| row.status == app::ssr::repo::queue::OutboxStatus::Sent), "{rows:?}");
    assert!(rows.iter().all(|row| row.attempts == 1), "each tried once: {rows:?}");
}

#[tokio::test]
async fn an_email_sent_after_its_lease_ran_out_is_written_sent_and_the_worker_that_took_it_back_skips_it() {
    use app::ssr::entities::email_outbox;
    use app::ssr::repo::queue::{self, OutboxStatus};
    let app = spawn_app_by_hand().await;
    let keys = three_receipts(&app).await;
    // The first email takes 130 s: meanwhile another instance claims the whole batch back.
    let one = Slow::new(&app, Duration::from_secs(130), Meanwhile::Claims(1, app.state.clone(), Default::default()));
    let slow = app::ssr::state::AppState { mailer: one.clone(), ..app.state.clone() };
    sender::send_pending(&slow, 20).await.expect("the slow worker");

    assert_eq!(one.sent(), keys[..1], "the others were taken back before it reached them");
    let rows = outbox(&app).await;
    assert_eq!((rows[0].status, rows[0].attempts), (OutboxStatus::Sent, 1), "the email went: it is written so");
    assert!(rows[1..].iter().all(|row| row.status == OutboxStatus::Pending), "{rows:?}");
    // The instance that took them back: not the one already sent, the two others.
    let Meanwhile::Claims(_, other, lease) = &one.meanwhile else { unreachable!() };
    let lease = lease.lock().expect("lease").expect("a lease");
    let later = other.now_ms() + 120_000;
    let mut renewed = Vec::new();
    for row in &rows {
        renewed.push(queue::renew::<email_outbox::Entity>(&other.db, row.id, lease, later).await.expect("renew"));
    }
    assert_eq!(renewed, [false, true, true]);
}

#[tokio::test]
async fn an_email_given_up_after_its_lease_ran_out_is_left_to_the_worker_that_took_it_back() {
    use app::ssr::repo::queue::OutboxStatus;
    let app = spawn_app_by_hand().await;
    let keys = three_receipts(&app).await;
    // The first email takes 130 s and its server refuses it: meanwhile another instance claims the
    // whole batch back (and may be sending it).
    let one =
        Slow::refusing(&app, Duration::from_secs(130), Meanwhile::Claims(1, app.state.clone(), Default::default()));
    let slow = app::ssr::state::AppState { mailer: one.clone(), ..app.state.clone() };
    sender::send_pending(&slow, 20).await.expect("the slow worker");

    assert_eq!(one.sent(), keys[..1], "it tried the first only");
    let rows = outbox(&app).await;
    assert!(
        rows.iter().all(|row| (row.status, row.attempts) == (OutboxStatus::Pending, 0)),
        "not given up by a worker that no longer holds it: {rows:?}"
    );
    // Once the other's lease has run out in turn, a worker whose server takes them sends all three.
    app.clock.advance(Duration::from_secs(121));
    let two = Slow::new(&app, Duration::ZERO, Meanwhile::Nothing);
    let other = app::ssr::state::AppState { mailer: two.clone(), ..app.state.clone() };
    sender::send_pending(&other, 20).await.expect("the other worker");
    assert_eq!(two.sent(), keys);
    let rows = outbox(&app).await;
    assert!(rows.iter().all(|row| (row.status, row.attempts) == (OutboxStatus::Sent, 1)), "{rows:?}");
}
