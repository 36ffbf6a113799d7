//! A plan's invitation: emailed through SMTP in the plan's own transaction,
//! its signed link shows the schedule and the mandate without changing
//! anything, accepting through it records the consent, spends the link and
//! logs the customer in; the plan is active once the card is saved. Forged,
//! expired, spent or cancelled links open nothing.

use std::time::Duration;

use app::domain::{Interval, Locale, PlanStatus, Trouble, UserId};
use app::ssr::entities::{email_outbox, payment_plan, plan_consent, session};
use app::ssr::repo::queue::OutboxStatus;
use app::ssr::services::error::ServiceError;
use app::ssr::services::invitations;
use app::ssr::services::plans;
use app::ui::i18n::trouble_text;
use chrono::Days;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::helpers::mail::{MailCatcher, link_containing};
use crate::helpers::{Options, TestApp, cards, spawn_app_by_hand, spawn_app_with};
use crate::plans::{consent, request};

async fn app_with_mail(mail: &MailCatcher) -> TestApp {
    let env = vec![("SMTP_URL", mail.smtp_url()), ("MERCHANT_NAME", "Atelier Zoé".to_owned())];
    spawn_app_with(Options { env, ..Default::default() }).await
}

/// The plan id and token of an invitation link.
fn parts(link: &str) -> (i64, String) {
    let path = link.split("/plans/").nth(1).expect("a plan link");
    let id = path.split('/').next().and_then(|i| i.parse().ok()).expect("plan id");
    let token = link.split("token=").nth(1).and_then(|t| t.split('&').next()).expect("a token").to_owned();
    (id, token)
}

fn refused<T>(result: Result<T, ServiceError>) -> bool {
    matches!(result, Err(ServiceError::InvalidLink))
}

/// A plan for zoe, first due in ten days, three monthly échéances, and the
/// plan id and token of the invitation queued with it (no mail catcher).
async fn queued_invitation(app: &TestApp) -> (plans::CreatedPlan, i64, String) {
    let first_due = app.today().checked_add_days(Days::new(10)).expect("date");
    let created = plans::create(&app.state, None, request("zoe@example.test", 90_000, 3, first_due, Interval::Month))
        .await
        .expect("created");
    let row = email_outbox::Entity::find().one(&app.state.db).await.expect("query").expect("queued with the plan");
    let context: serde_json::Value = serde_json::from_str(&row.context).expect("json");
    let (id, token) = parts(context["link"].as_str().expect("a link"));
    (created, id, token)
}

async fn plan(app: &TestApp, id: i64) -> payment_plan::Model {
    payment_plan::Entity::find_by_id(id).one(&app.state.db).await.expect("query").expect("plan")
}

#[tokio::test]
async fn a_new_customer_is_invited_by_email_accepts_through_the_link_and_is_active_once_the_card_is_saved() {
    let mail = MailCatcher::start().await;
    let app = app_with_mail(&mail).await;
    let created = plans::create(&app.state, None, request("zoe@example.test", 90_000, 3, app.today(), Interval::Month))
        .await
        .expect("created");
    let customer = UserId::new(created.plan.customer_id).expect("id");

    let messages = mail.wait_for(1, crate::helpers::PATIENCE).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message["to"][0]["address"], "zoe@example.test");
    let subject = message["subject"].as_str().unwrap_or_default();
    assert!(
        subject.contains("Atelier Zoé") && subject.contains("Formation 2027") && subject.contains("3 fois"),
        "{subject}"
    );
    let text = message["text"].as_str().unwrap_or_default();
    assert!(text.contains("300,00") && text.contains("900,00"), "the schedule and the total: {text}");
    let link = link_containing(message, "/accept?token=").expect("the invitation link");
    assert!(link.starts_with(&format!("{}/plans/{}/accept?token=", app.address, created.plan.id)), "{link}");
    let (id, token) = parts(&link);

    // Opening the link shows the plan and changes nothing (a mail scanner may open it first).
    let shown = invitations::open(&app.state, id, &token, Locale::Fr).await.expect("the link opens the plan");
    assert_eq!(shown.echeances.len(), 3);
    assert_eq!(shown.customer_name, "Zoé Martin");
    assert_eq!(shown.due_now.as_ref().map(|e| e.seq), Some(1), "the first échéance is due today: paid on the page");
    assert!(
        shown.mandate.starts_with("J’autorise Atelier Zoé") && shown.mandate.contains("900,00"),
        "{}",
        shown.mandate
    );
    assert_eq!(plan(&app, id).await.status, PlanStatus::EnAttenteClient);
    assert_eq!(plan_consent::Entity::find().count(&app.state.db).await.expect("count"), 0);

    let (accepted, opened) = invitations::accept(&app.state, id, &token, &shown.terms, Locale::Fr, consent())
        .await
        .expect("accepted through the link");
    assert_eq!(accepted.status, PlanStatus::EnAttenteClient, "accepted, but no card yet");
    assert!(accepted.card.is_none());
    assert_eq!(opened.user.id, customer, "the link logged its customer in");
    let sessions = session::Entity::find().filter(session::Column::UserId.eq(customer.get())).count(&app.state.db);
    assert_eq!(sessions.await.expect("count"), 1);
    let given = plan_consent::Entity::find()
        .filter(plan_consent::Column::PaymentPlanId.eq(id))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("the consent is recorded");
    assert_eq!(given.mandate_text, shown.mandate, "stored as shown");
    assert_eq!((given.ip.as_str(), given.user_agent.as_str()), ("203.0.113.7", "Mozilla/5.0 (test)"));

    // Spent: neither shown nor accepted again.
    let again = invitations::accept(&app.state, id, &token, &shown.terms, Locale::Fr, consent()).await;
    assert!(matches!(again, Err(ServiceError::InvalidLink)), "{:?}", again.map(|a| a.0));
    assert!(matches!(invitations::open(&app.state, id, &token, Locale::Fr).await, Err(ServiceError::InvalidLink)));

    app.save_card_through_setup(customer, cards::OK).await;
    assert_eq!(plan(&app, id).await.status, PlanStatus::Actif);
}

#[tokio::test]
async fn forged_expired_and_foreign_links_open_nothing() {
    let mail = MailCatcher::start().await;
    let app = app_with_mail(&mail).await;
    let first = plans::create(&app.state, None, request("zoe@example.test", 90_000, 3, app.today(), Interval::Month))
        .await
        .expect("created");
    let second = plans::create(&app.state, None, request("yann@example.test", 60_000, 2, app.today(), Interval::Month))
        .await
        .expect("created");
    let messages = mail.wait_for(2, crate::helpers::PATIENCE).await;
    let link_of = |to: &str| {
        messages
            .iter()
            .find(|m| m["to"][0]["address"] == to)
            .and_then(|m| link_containing(m, "/accept?token="))
            .expect("an invitation")
    };
    let (id, token) = parts(&link_of("zoe@example.test"));
    assert_eq!(id, first.plan.id);

    // Another plan's id with this token, a forged signature, an extended expiry, garbage.
    assert!(refused(invitations::open(&app.state, second.plan.id, &token, Locale::Fr).await));
    let (expires, signature) = token.split_once('.').expect("token");
    let forged = format!("{expires}.{}", signature.chars().rev().collect::<String>());
    assert!(refused(invitations::open(&app.state, id, &forged, Locale::Fr).await));
    let extended = format!("{}.{signature}", expires.parse::<i64>().expect("expiry") + 86_400);
    assert!(refused(invitations::open(&app.state, id, &extended, Locale::Fr).await));
    assert!(refused(invitations::open(&app.state, id, "", Locale::Fr).await));
    assert!(refused(invitations::open(&app.state, 999_999, &token, Locale::Fr).await));
    let terms = invitations::open(&app.state, id, &token, Locale::Fr).await.expect("opens").terms;
    assert!(refused(invitations::accept(&app.state, id, &forged, &terms, Locale::Fr, consent()).await));

    // Past INVITATION_TTL_DAYS (14 by default): expired, nothing recorded.
    app.clock.advance(Duration::from_secs(15 * 86_400));
    assert!(refused(invitations::accept(&app.state, id, &token, &terms, Locale::Fr, consent()).await));
    assert_eq!(plan_consent::Entity::find().count(&app.state.db).await.expect("count"), 0);
    assert_eq!(plan(&app, id).await.status, PlanStatus::EnAttenteClient);
    assert_eq!(session::Entity::find().count(&app.state.db).await.expect("count"), 0);
}

#[tokio::test]
async fn a_cancelled_plan_sends_no_invitation_and_its_link_opens_nothing() {
    let app = spawn_app_by_hand().await;
    let admin = app.admin("root").await;
    let (created, _, token) = queued_invitation(&app).await;
    let row = email_outbox::Entity::find().one(&app.state.db).await.expect("query").expect("queued with the plan");
    let shown = invitations::open(&app.state, created.plan.id, &token, Locale::Fr).await.expect("opens");
    assert!(shown.due_now.is_none(), "nothing due yet: the card is only saved");

    plans::cancel(&app.state, created.plan.id, admin.id).await.expect("cancelled");
    app::ssr::email::sender::send_pending(&app.state, 10).await.expect("sent");

    let row = email_outbox::Entity::find_by_id(row.id).one(&app.state.db).await.expect("query").expect("row");
    assert_eq!(row.status, OutboxStatus::Cancelled, "{:?}", row.last_error);
    // Why, as data the dashboard words in its reader's language (it was an English sentence for everyone).
    let why = row.last_error.as_deref().map(Trouble::read);
    assert_eq!(why, Some(Trouble::PlanNow(PlanStatus::Annule)));
    assert_eq!(
        trouble_text(&Trouble::PlanNow(PlanStatus::Annule), Locale::Fr),
        "plus d’actualité : l’échéancier est désormais « Annulé »"
    );
    let opened = invitations::open(&app.state, created.plan.id, &token, Locale::Fr).await;
    assert!(matches!(opened, Err(ServiceError::InvalidLink)), "{opened:?}");
}

#[tokio::test]
async fn a_customer_who_already_has_a_card_is_active_as_soon_as_they_accept() {
    let mail = MailCatcher::start().await;
    let app = app_with_mail(&mail).await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let created = plans::create(&app.state, None, request(&alice.email, 30_000, 2, app.today(), Interval::Week))
        .await
        .expect("created");
    assert_eq!(created.plan.customer_id, alice.id.get(), "the existing customer, found by address");
    let messages = mail.wait_for(1, crate::helpers::PATIENCE).await;
    let (id, token) = parts(&link_containing(&messages[0], "/accept?token=").expect("link"));

    let terms = invitations::open(&app.state, id, &token, Locale::En).await.expect("opens").terms;
    let (accepted, _) =
        invitations::accept(&app.state, id, &token, &terms, Locale::En, consent()).await.expect("accepted");

    assert_eq!(accepted.status, PlanStatus::Actif);
    assert!(accepted.card.is_some_and(|c| c.last4 == "4242"));
    let given = plan_consent::Entity::find().one(&app.state.db).await.expect("query").expect("consent");
    assert!(
        given.mandate_text.starts_with("I authorise Atelier Zoé"),
        "worded as the page showed it: {}",
        given.mandate_text
    );
}

#[tokio::test]
async fn a_plan_changed_after_its_page_was_opened_is_not_accepted_on_the_old_terms() {
    use app::domain::Refusal;
    let app = spawn_app_by_hand().await;
    let admin = app.admin("root").await;
    let (created, id, token) = queued_invitation(&app).await;
    let shown = invitations::open(&app.state, id, &token, Locale::Fr).await.expect("opens");

    // The admin moves the last date while the customer reads the page.
    let last = created.echeances.last().expect("a last échéance");
    let later = last.due_date.checked_add_days(Days::new(14)).expect("date");
    let moved = app::domain::EcheanceId::new(last.id).expect("id");
    plans::move_due_date(&app.state, moved, later, admin.id).await.expect("moved");
    let refused = invitations::accept(&app.state, id, &token, &shown.terms, Locale::Fr, consent()).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::TermsChanged))), "{:?}", refused.map(|a| a.0));
    assert_eq!(plan_consent::Entity::find().count(&app.state.db).await.expect("count"), 0, "nothing recorded");
    assert_eq!(session::Entity::find().count(&app.state.db).await.expect("count"), 0, "no one logged in");

    // Read again, the new terms are the ones accepted, and the link still works for it.
    let again = invitations::open(&app.state, id, &token, Locale::Fr).await.expect("still opens");
    assert_ne!(again.terms, shown.terms);
    assert!(again.echeances.iter().any(|e| e.due_date == later));
    invitations::accept(&app.state, id, &token, &again.terms, Locale::Fr, consent()).await.expect("accepted");
    let given = plan_consent::Entity::find().one(&app.state.db).await.expect("query").expect("the consent");
    assert_eq!(given.mandate_text, again.mandate, "the terms read");
}

#[tokio::test]
async fn a_plan_of_one_echeance_is_worded_in_the_singular_in_both_languages() {
    let mail = MailCatcher::start().await;
    let app = app_with_mail(&mail).await;
    let mut english = request("ann@example.test", 30_000, 1, app.today(), Interval::Month);
    english.customer.locale = Locale::En;
    for input in [request("zoe@example.test", 30_000, 1, app.today(), Interval::Month), english] {
        plans::create(&app.state, None, input).await.expect("created");
    }
    let messages = mail.wait_for(2, crate::helpers::PATIENCE).await;
    let to = |address: &str| messages.iter().find(|m| m["to"][0]["address"] == address).expect("an invitation");
    let (fr, en) = (to("zoe@example.test"), to("ann@example.test"));
    let words = |m: &serde_json::Value| format!("{} {} {}", m["subject"], m["text"], m["html"]);
    assert!(words(fr).contains("en 1 échéance :"), "{}", words(fr));
    assert!(words(en).contains("in 1 installment:"), "{}", words(en));
    assert!(words(en).contains("in 1 installment\""), "the subject: {}", en["subject"]);
    assert!(!words(fr).contains("1 échéances") && !words(en).contains("1 installments"));

    let (id, token) = parts(&link_containing(fr, "/accept?token=").expect("link"));
    let shown = invitations::open(&app.state, id, &token, Locale::Fr).await.expect("opens");
    assert!(shown.mandate.contains("(1 échéance de 300,00"), "{}", shown.mandate);
    let (id, token) = parts(&link_containing(en, "/accept?token=").expect("link"));
    let shown = invitations::open(&app.state, id, &token, Locale::En).await.expect("opens");
    assert!(shown.mandate.contains("(1 installment of €300.00, on "), "{}", shown.mandate);
}
