//! The customer is never surprised: told a few days before each debit (once
//! per échéance and date, whoever runs the daily job, however often); sent a
//! receipt after each one that says which card paid, what remains and when the
//! next one is; told when the plan is in place (its whole schedule), fully
//! paid, or in default — and every admin who can log in is told of a default.
//! Emails are read back from the SMTP server.

use std::sync::Arc;
use std::time::Duration;

use app::domain::{EcheanceId, EmailKind, Locale};
use app::ssr::entities::{email_outbox, payment_method, user};
use app::ssr::services::admins;
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::due;
use app::ssr::services::reminders;
use app::ssr::services::schedule::{self, Job};
use chrono::Days;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::helpers::mail::MailCatcher;
use crate::helpers::{Options, TestApp, cards, spawn_app_with, spawn_on};
use crate::plans::accepted_plan;

fn in_days(app: &TestApp, days: u64) -> chrono::NaiveDate {
    app.today().checked_add_days(Days::new(days)).expect("a date")
}

/// The échéances the reminders named, in order.
async fn announced(app: &TestApp) -> Vec<i64> {
    email_outbox::Entity::find()
        .filter(email_outbox::Column::Kind.eq(EmailKind::UpcomingDebit))
        .order_by_asc(email_outbox::Column::EcheanceId)
        .all(&app.state.db)
        .await
        .expect("outbox")
        .into_iter()
        .filter_map(|e| e.echeance_id)
        .collect()
}

fn text(message: &serde_json::Value) -> String {
    message["text"].as_str().unwrap_or_default().replace('\u{a0}', " ")
}

/// (To, subject) of the messages the SMTP server holds, once `n` are there (or after
/// [`crate::helpers::PATIENCE`]).
async fn subjects(mail: &MailCatcher, n: usize) -> Vec<(String, String)> {
    let field = |m: &serde_json::Value, f: &str| m[f].as_str().unwrap_or_default().replace('\u{a0}', " ");
    let messages = mail.wait_for(n, crate::helpers::PATIENCE).await;
    messages
        .iter()
        .map(|m| (m["to"][0]["address"].as_str().unwrap_or_default().to_owned(), field(m, "subject")))
        .collect()
}

/// The messages the SMTP server holds whose subject starts with `prefix`, once `n` are there
/// (or after [`crate::helpers::PATIENCE`]).
async fn with_subject(mail: &MailCatcher, prefix: &str, n: usize) -> Vec<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    loop {
        let found: Vec<serde_json::Value> = mail
            .wait_for(0, Duration::from_millis(10))
            .await
            .into_iter()
            .filter(|m| m["subject"].as_str().is_some_and(|s| s.starts_with(prefix)))
            .collect();
        if found.len() >= n || tokio::time::Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Moves échéance `id` to `date` (what an admin's move of a due date writes).
async fn move_due_date(app: &TestApp, id: i64, date: chrono::NaiveDate) {
    app::ssr::entities::echeance::Entity::update_many()
        .col_expr(app::ssr::entities::echeance::Column::DueDate, sea_orm::sea_query::Expr::value(date))
        .filter(app::ssr::entities::echeance::Column::Id.eq(id))
        .exec(&app.state.db)
        .await
        .expect("moved");
}

/// The outbox rows of `kind`, oldest first.
async fn queued(app: &TestApp, kind: EmailKind) -> Vec<email_outbox::Model> {
    email_outbox::Entity::find()
        .filter(email_outbox::Column::Kind.eq(kind))
        .order_by_asc(email_outbox::Column::Id)
        .all(&app.state.db)
        .await
        .expect("outbox")
}

#[tokio::test]
async fn each_coming_debit_is_announced_once_whatever_runs_the_daily_job_and_however_often() {
    let mail = MailCatcher::start().await;
    let one =
        Arc::new(spawn_app_with(Options { env: vec![("SMTP_URL", mail.smtp_url())], ..Default::default() }).await);
    let two =
        Arc::new(spawn_on(one.db.clone(), one.peer.clone(), Options { workers: false, ..Default::default() }).await);
    let alice = one.customer("alice", Some(cards::OK)).await;
    let tomorrow = one.echeance(&alice, 12_000, in_days(&one, 1)).await;
    let in_three = one.echeance(&alice, 13_000, in_days(&one, 3)).await;
    let _in_four = one.echeance(&alice, 14_000, in_days(&one, 4)).await;
    let _today = one.echeance(&alice, 15_000, one.today()).await;
    // No card: nothing will be charged, nothing is announced.
    let bruno = one.customer("bruno", None).await;
    let _no_card = one.echeance(&bruno, 16_000, in_days(&one, 2)).await;

    let today = one.today();
    let (a, b) = tokio::join!(
        reminders::queue_upcoming_debits(&one.state, today),
        reminders::queue_upcoming_debits(&two.state, today),
    );
    let again = reminders::queue_upcoming_debits(&one.state, today).await.expect("again");
    assert_eq!(a.expect("one") + b.expect("two") + again, 2, "two debits in the next three days, each queued once");
    assert_eq!(announced(&one).await, vec![tomorrow, in_three]);

    let messages = mail.wait_for(2, crate::helpers::PATIENCE).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    let about_three = messages
        .iter()
        .find(|m| m["subject"].as_str().is_some_and(|s| s.contains("130,00")))
        .expect("the email of the debit in three days");
    assert_eq!(about_three["to"][0]["address"], alice.email.as_str());
    let date = Locale::Fr.format_date(in_days(&one, 3));
    assert!(about_three["subject"].as_str().is_some_and(|s| s.contains(&date)), "{}", about_three["subject"]);
    assert!(text(about_three).contains("sur votre carte Visa •••• 4242"), "{}", text(about_three));

    // The scheduled job: its first start only remembers the time; a day later it runs, on one
    // instance, and the window has moved on by a day (the debit in four days is now in three).
    schedule::run_if_due(&one.state, Job::CustomerNotices).await.expect("first start");
    one.clock.advance(Duration::from_secs(24 * 3600));
    let (x, y) = tokio::join!(
        schedule::run_if_due(&one.state, Job::CustomerNotices),
        schedule::run_if_due(&two.state, Job::CustomerNotices),
    );
    x.expect("one");
    y.expect("two");
    assert_eq!(announced(&one).await.len(), 3, "the debit now three days away, once");
}

#[tokio::test]
async fn a_notice_held_back_is_not_sent_once_its_debit_will_not_happen_on_that_date() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { workers: false, env: vec![("SMTP_URL", mail.smtp_url())] }).await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let paid_ahead = app.echeance(&alice, 12_000, in_days(&app, 1)).await;
    let moved = app.echeance(&alice, 13_000, in_days(&app, 2)).await;
    let kept = app.echeance(&alice, 14_000, in_days(&app, 3)).await;
    assert_eq!(reminders::queue_upcoming_debits(&app.state, app.today()).await.expect("queued"), 3);

    // Before the outbox runs (an SMTP outage): one is paid ahead, one moved to another date.
    charge::charge(&app.state, EcheanceId::new(paid_ahead).expect("id"), Trigger::Customer(alice.id))
        .await
        .expect("paid ahead");
    move_due_date(&app, moved, in_days(&app, 9)).await;
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("sent");

    let notices = with_subject(&mail, "Prochain prélèvement", 1).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0]["subject"].as_str().is_some_and(|s| s.contains("140,00")), "{}", notices[0]["subject"]);
    let rows = queued(&app, EmailKind::UpcomingDebit).await;
    let status_of = |e: i64| rows.iter().find(|r| r.echeance_id == Some(e)).map(|r| r.status.as_str().to_owned());
    assert_eq!(status_of(paid_ahead).as_deref(), Some("cancelled"));
    assert_eq!(status_of(moved).as_deref(), Some("cancelled"));
    assert_eq!(status_of(kept).as_deref(), Some("sent"));
    // The moved one is announced for its new date when that comes near.
    app.clock.advance(Duration::from_secs(6 * 24 * 3600));
    assert_eq!(reminders::queue_upcoming_debits(&app.state, app.today()).await.expect("queued"), 1);
}

/// Sets the expiry of `customer`'s saved cards to the month of `date`.
async fn card_expires(app: &TestApp, customer: &crate::helpers::Customer, date: chrono::NaiveDate) {
    use chrono::Datelike as _;
    payment_method::Entity::update_many()
        .col_expr(
            payment_method::Column::ExpMonth,
            sea_orm::sea_query::Expr::value(i32::try_from(date.month()).expect("month")),
        )
        .col_expr(payment_method::Column::ExpYear, sea_orm::sea_query::Expr::value(date.year()))
        .filter(payment_method::Column::UserId.eq(customer.id.get()))
        .exec(&app.state.db)
        .await
        .expect("expiry set");
}

#[tokio::test]
async fn a_card_that_will_not_last_until_a_coming_debit_is_warned_of_once_unless_replaced_meanwhile() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { workers: false, env: vec![("SMTP_URL", mail.smtp_url())] }).await;
    let today = app.today();
    let month_before = |d: chrono::NaiveDate| d.checked_sub_months(chrono::Months::new(1)).expect("a date");
    // Alice's card expires the month before her debit in ten days (and the one after it).
    let alice = app.customer("alice", Some(cards::OK)).await;
    let due = in_days(&app, 10);
    app.echeance(&alice, 12_000, due).await;
    app.echeance(&alice, 13_000, in_days(&app, 12)).await;
    card_expires(&app, &alice, month_before(due)).await;
    // Bruno's lasts; Carole's does not, but she saves another card before the warning goes out.
    let bruno = app.customer("bruno", Some(cards::OK)).await;
    app.echeance(&bruno, 5_000, in_days(&app, 5)).await;
    card_expires(&app, &bruno, today.checked_add_months(chrono::Months::new(24)).expect("a date")).await;
    let carole = app.customer("carole", Some(cards::OK)).await;
    app.echeance(&carole, 6_000, in_days(&app, 6)).await;
    card_expires(&app, &carole, month_before(in_days(&app, 6))).await;

    let first = reminders::queue_card_expiry_notices(&app.state, today).await.expect("ran");
    let again = reminders::queue_card_expiry_notices(&app.state, today).await.expect("ran again");
    assert_eq!((first, again), (2, 0), "Alice and Carole, once each");
    app.save_card_through_setup(carole.id, cards::OK).await;
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("sent");

    let warned = with_subject(&mail, "Votre carte", 1).await;
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0]["to"][0]["address"], alice.email.as_str());
    let body = text(&warned[0]);
    let expiry = month_before(due);
    use chrono::Datelike as _;
    let expected = format!(
        "Votre carte Visa •••• 4242 expire fin {:02}/{}, avant le prélèvement de 120,00 € prévu le {}",
        expiry.month(),
        expiry.year(),
        Locale::Fr.format_date(due)
    );
    assert!(body.contains(&expected), "{body}");
    let rows = queued(&app, EmailKind::CardExpiring).await;
    let carole_row = rows.iter().find(|r| r.to_address == carole.email).expect("Carole's warning");
    assert_eq!(carole_row.status.as_str(), "cancelled", "her new card lasts: the warning was dropped");
    assert_eq!(reminders::queue_card_expiry_notices(&app.state, today).await.expect("ran"), 0);
}

#[tokio::test]
async fn a_cards_warning_held_back_names_the_first_debit_the_card_will_still_miss_or_is_withdrawn_until_one_comes() {
    use app::domain::Trouble;
    let mail = MailCatcher::start().await;
    let env = vec![("SMTP_URL", mail.smtp_url()), ("CARD_EXPIRY_NOTICE_DAYS", "90".to_owned())];
    let app = spawn_app_with(Options { workers: false, env }).await;
    // Every date from one day (midnight may pass while the test runs).
    let start = app.today();
    let day = |n: u64| start.checked_add_days(Days::new(n)).expect("a date");
    // Each card expires the month before its customer's first debit; Alice has a second one.
    let short_card = async |name: &str, cents: i64, days: u64| {
        let customer = app.customer(name, Some(cards::OK)).await;
        let debit = app.echeance(&customer, cents, day(days)).await;
        let expiry = day(days).checked_sub_months(chrono::Months::new(1)).expect("a date");
        card_expires(&app, &customer, expiry).await;
        (customer, debit)
    };
    let (alice, alices_first) = short_card("alice", 12_000, 10).await;
    let alices_second = app.echeance(&alice, 13_000, day(40)).await;
    let (bruno, bruno_only) = short_card("bruno", 5_000, 8).await;
    let (carole, caroles) = short_card("carole", 6_000, 6).await;
    let (dan, dans) = short_card("dan", 7_000, 14).await;
    let (fay, fays) = short_card("fay", 4_000, 7).await;
    // Erin's card lasts until the end of the month forty days on: it misses her debits in 75
    // and 80 days.
    let erin = app.customer("erin", Some(cards::OK)).await;
    let erins_first = app.echeance(&erin, 8_000, day(75)).await;
    let erins_second = app.echeance(&erin, 9_000, day(80)).await;
    card_expires(&app, &erin, day(40)).await;
    assert_eq!(reminders::queue_card_expiry_notices(&app.state, app.today()).await.expect("ran"), 6);
    let named = async || {
        let rows = queued(&app, EmailKind::CardExpiring).await;
        let mut named: Vec<(String, Option<i64>, String)> =
            rows.into_iter().map(|r| (r.to_address, r.echeance_id, r.status.as_str().to_owned())).collect();
        named.sort();
        named
    };
    let queued_for = named().await;
    assert!(queued_for.iter().any(|(to, e, _)| to == &alice.email && *e == Some(alices_first)), "{queued_for:?}");

    // Held back (an SMTP outage) for eleven days: Bruno pays his only debit ahead, Carole's is
    // moved six weeks on (her card still runs out before it), Fay's past the notice window (90
    // days: named all the same, early), Alice's first is past its date.
    charge::charge(&app.state, EcheanceId::new(bruno_only).expect("id"), Trigger::Customer(bruno.id))
        .await
        .expect("paid ahead");
    let moved_to = day(45);
    move_due_date(&app, caroles, moved_to).await;
    let fays_date = day(200);
    move_due_date(&app, fays, fays_date).await;
    // Erin's first is moved into the months her card lasts: it no longer misses it.
    move_due_date(&app, erins_first, day(20)).await;
    let (alices_second_date, dans_date, erins_second_date) = (day(40), day(14), day(80));
    app.clock.advance(Duration::from_secs(11 * 24 * 3600));
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("sent");

    let mut expected = vec![
        (alice.email.clone(), Some(alices_second), "sent".to_owned()),
        (bruno.email.clone(), Some(bruno_only), "cancelled".to_owned()),
        (carole.email.clone(), Some(caroles), "sent".to_owned()),
        (dan.email.clone(), Some(dans), "sent".to_owned()),
        (erin.email.clone(), Some(erins_second), "sent".to_owned()),
        (fay.email.clone(), Some(fays), "sent".to_owned()),
    ];
    expected.sort();
    assert_eq!(named().await, expected);
    let row = queued(&app, EmailKind::CardExpiring).await.into_iter().find(|r| r.to_address == bruno.email);
    let row = row.expect("Bruno's warning");
    assert_eq!(row.last_error.as_deref().map(Trouble::read), Some(Trouble::NoDebitMissed));
    assert!(row.dedup_key.ends_with(&format!(":withdrawn:{}", row.id)), "its key freed: {}", row.dedup_key);
    let warned = with_subject(&mail, "Votre carte", 5).await;
    assert_eq!(warned.len(), 5, "{warned:?}");
    let body_to = |who: &crate::helpers::Customer| {
        warned.iter().find(|m| m["to"][0]["address"] == who.email.as_str()).map(text).unwrap_or_default()
    };
    let names = |amount: &str, date: chrono::NaiveDate| {
        format!("avant le prélèvement de {amount} € prévu le {}", Locale::Fr.format_date(date))
    };
    for (who, amount, date) in [
        (&alice, "130,00", alices_second_date),
        (&carole, "60,00", moved_to),
        (&dan, "70,00", dans_date),
        (&erin, "90,00", erins_second_date),
        (&fay, "40,00", fays_date),
    ] {
        assert!(body_to(who).contains(&names(amount, date)), "{}: {}", who.email, body_to(who));
    }
    // Each card warned once: the next runs queue nothing more for those.
    assert_eq!(reminders::queue_card_expiry_notices(&app.state, app.today()).await.expect("ran"), 0);
    // A withdrawn warning is owed again once a debit its card will not last until comes near:
    // Bruno's new one.
    let brunos_new_date = in_days(&app, 19);
    app.echeance(&bruno, 5_500, brunos_new_date).await;
    assert_eq!(reminders::queue_card_expiry_notices(&app.state, app.today()).await.expect("ran"), 1);
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("sent");
    let to_bruno = with_subject(&mail, "Votre carte", 6).await;
    let to_bruno = to_bruno.iter().find(|m| m["to"][0]["address"] == bruno.email.as_str()).map(text);
    assert!(to_bruno.is_some_and(|body| body.contains(&names("55,00", brunos_new_date))), "Bruno warned again");
    // The daily job run as of a later day (`server notices --date`, the demo's tour): its warning
    // goes today, naming the debit it will miss.
    let (gus, _) = short_card("gus", 3_000, 150).await;
    let as_of = day(140);
    assert_eq!(reminders::queue_card_expiry_notices(&app.state, as_of).await.expect("ran"), 1);
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("sent");
    let to_gus = with_subject(&mail, "Votre carte", 7).await;
    let to_gus = to_gus.iter().find(|m| m["to"][0]["address"] == gus.email.as_str()).map(text);
    assert!(to_gus.is_some_and(|body| body.contains(&names("30,00", day(150)))), "Gus warned");
}

/// An SMTP server that takes each message and whose answer is then lost (a timeout after its
/// "250"): the sender tries the row again.
struct AnswerLost(Arc<dyn app::ssr::email::mailer::Mailer>);

#[async_trait::async_trait]
impl app::ssr::email::mailer::Mailer for AnswerLost {
    async fn send(
        &self,
        email: &app::ssr::email::mailer::OutgoingEmail,
    ) -> Result<(), app::ssr::email::mailer::MailError> {
        self.0.send(email).await?;
        Err(app::ssr::email::mailer::MailError::Transport("timed out waiting for the answer".to_owned()))
    }
}

#[tokio::test]
async fn a_card_warning_withdrawn_then_owed_again_is_a_new_message_not_a_copy_of_the_first() {
    let mail = MailCatcher::start().await;
    let env = vec![("SMTP_URL", mail.smtp_url()), ("CARD_EXPIRY_NOTICE_DAYS", "90".to_owned())];
    let app = spawn_app_with(Options { workers: false, env }).await;
    let bruno = app.customer("bruno", Some(cards::OK)).await;
    let debit = app.echeance(&bruno, 5_000, in_days(&app, 8)).await;
    let expiry = in_days(&app, 8).checked_sub_months(chrono::Months::new(1)).expect("a date");
    card_expires(&app, &bruno, expiry).await;
    assert_eq!(reminders::queue_card_expiry_notices(&app.state, app.today()).await.expect("ran"), 1);
    // Its first try reaches Bruno, but the server's answer is lost: the row is tried again.
    let lost =
        app::ssr::state::AppState { mailer: Arc::new(AnswerLost(app.state.mailer.clone())), ..app.state.clone() };
    app::ssr::email::sender::send_pending(&lost, 20).await.expect("tried");
    let first = queued(&app, EmailKind::CardExpiring).await;
    assert_eq!((first.len(), first[0].status.as_str(), first[0].attempts), (1, "pending", 1), "{first:?}");
    // Before it is tried again Bruno pays ahead: withdrawn, its key freed.
    charge::charge(&app.state, EcheanceId::new(debit).expect("id"), Trigger::Customer(bruno.id)).await.expect("paid");
    app.clock.advance(Duration::from_secs(3600));
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("sent");
    let withdrawn = queued(&app, EmailKind::CardExpiring).await;
    assert_eq!(withdrawn[0].status.as_str(), "cancelled", "{withdrawn:?}");
    // A new debit the card will not last until: owed again, under the same key, and sent.
    app.echeance(&bruno, 5_500, in_days(&app, 19)).await;
    assert_eq!(reminders::queue_card_expiry_notices(&app.state, app.today()).await.expect("ran"), 1);
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("sent");
    let rows = queued(&app, EmailKind::CardExpiring).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1].dedup_key, first[0].dedup_key, "the warning is owed again under its key");
    assert_eq!(rows[1].status.as_str(), "sent");

    let warned = with_subject(&mail, "Votre carte", 2).await;
    assert_eq!(warned.len(), 2, "{warned:?}");
    let headers = |m: &serde_json::Value| {
        (m["headers"]["x-echeancier-dedup"].as_str().map(str::to_owned), m["messageId"].as_str().map(str::to_owned))
    };
    let (one, two) = (headers(&warned[0]), headers(&warned[1]));
    assert_eq!(one.0, two.0, "both from one key: {one:?} {two:?}");
    assert!(one.1.is_some() && two.1.is_some(), "{one:?} {two:?}");
    assert_ne!(one.1, two.1, "the second warning is not folded into the first by Bruno's mail client");
    assert!(text(&warned[1]).contains("55,00"), "the second names the new debit: {}", text(&warned[1]));
}

#[tokio::test]
async fn a_closed_account_is_told_neither_of_a_coming_debit_nor_of_its_expiring_card() {
    let app = crate::helpers::spawn_app_by_hand().await;
    let today = app.today();
    // Both customers: a debit in two days (within both notices' windows), a card that expires
    // the month before it.
    let due = in_days(&app, 2);
    let short = due.checked_sub_months(chrono::Months::new(1)).expect("a date");
    let alice = app.customer("alice", Some(cards::OK)).await;
    app.echeance(&alice, 12_000, due).await;
    card_expires(&app, &alice, short).await;
    let gone = app.customer("gone", Some(cards::OK)).await;
    app.echeance(&gone, 13_000, due).await;
    card_expires(&app, &gone, short).await;
    // Gone's account is closed (what an erasure does first, before its échéances are cancelled).
    user::Entity::update_many()
        .col_expr(user::Column::DisabledAt, sea_orm::sea_query::Expr::value(app.state.now_ms()))
        .filter(user::Column::Id.eq(gone.id.get()))
        .exec(&app.state.db)
        .await
        .expect("closed");

    assert_eq!(reminders::queue_upcoming_debits(&app.state, today).await.expect("debits"), 1);
    assert_eq!(reminders::queue_card_expiry_notices(&app.state, today).await.expect("cards"), 1);
    for kind in [EmailKind::UpcomingDebit, EmailKind::CardExpiring] {
        let to: Vec<String> = queued(&app, kind).await.into_iter().map(|r| r.to_address).collect();
        assert_eq!(to, vec![alice.email.clone()], "{kind:?}: Alice only, not the closed account");
    }
}

#[tokio::test]
async fn with_zero_days_no_debit_is_announced() {
    let app = spawn_app_with(Options { workers: false, env: vec![("DEBIT_REMINDER_DAYS", "0".to_owned())] }).await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    app.echeance(&alice, 12_000, in_days(&app, 1)).await;
    app.echeance(&alice, 13_000, in_days(&app, 3)).await;
    assert_eq!(reminders::queue_upcoming_debits(&app.state, app.today()).await.expect("run"), 0);
    assert!(announced(&app).await.is_empty());
}

#[tokio::test]
async fn a_plan_is_summed_up_when_in_place_each_receipt_says_what_remains_and_the_end_is_told() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { env: vec![("SMTP_URL", mail.smtp_url())], ..Default::default() }).await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let plan = accepted_plan(&app, &alice, 30_000, 3).await;
    let ids: Vec<i64> = plan.echeances.iter().map(|e| e.id).collect();
    let dates: Vec<String> = plan.echeances.iter().map(|e| Locale::Fr.format_date(e.due_date)).collect();

    let summary = with_subject(&mail, "Votre échéancier", 1).await;
    assert_eq!(summary.len(), 1, "the plan in place, once");
    let body = text(&summary[0]);
    assert!(body.contains("300,00 € en 3 échéances, prélevées sur votre carte Visa •••• 4242"), "{body}");
    for date in &dates {
        assert!(body.contains(&format!("- {date} : 100,00 €")), "{date} in {body}");
    }

    charge::charge(&app.state, EcheanceId::new(ids[0]).expect("id"), Trigger::DueDate).await.expect("paid");
    let first = with_subject(&mail, "Reçu", 1).await;
    assert_eq!(first.len(), 1, "one receipt");
    let body = text(&first[0]);
    assert!(body.contains("réglé avec votre carte Visa •••• 4242"), "{body}");
    assert!(
        body.contains(&format!("Reste à régler : 200,00 € (2 échéances), prochaine échéance le {}", dates[1])),
        "{body}"
    );

    for id in &ids[1..] {
        charge::charge(&app.state, EcheanceId::new(*id).expect("id"), Trigger::DueDate).await.expect("paid");
    }
    let all = with_subject(&mail, "Reçu", 3).await;
    assert_eq!(all.len(), 3, "one receipt per échéance");
    let bodies: Vec<String> = all.iter().map(text).collect();
    assert!(bodies.iter().any(|t| t.contains("Reste à régler : 100,00 € (1 échéance),")), "the second: {bodies:?}");
    assert!(bodies.iter().any(|t| t.contains("Votre échéancier est entièrement réglé.")), "the last: {bodies:?}");
    let done = with_subject(&mail, "Votre échéancier « ", 2).await;
    assert_eq!(done.len(), 2, "in place, then fully paid");
    assert!(done.iter().map(text).any(|t| t.contains("est soldé : 3 échéances réglées, 300,00 € en tout")), "{done:?}");
    assert_eq!(queued(&app, EmailKind::PlanSummary).await.len(), 1, "summed up once");
    assert_eq!(queued(&app, EmailKind::PlanCompleted).await.len(), 1);
    assert_eq!(app.emails(ids[2]).await.iter().filter(|e| e.kind == EmailKind::PaymentReceived).count(), 1);
}

#[tokio::test]
async fn a_plan_in_default_tells_its_customer_and_every_admin_who_can_log_in() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options {
        env: vec![("SMTP_URL", mail.smtp_url()), ("RETRY_SCHEDULE_HOURS", String::new())],
        ..Default::default()
    })
    .await;
    let ana = app.admin("Ana").await;
    let ben = app.admin("Ben").await;
    let gone = app.admin("Gone").await;
    admins::disable(&app.state, Some(ana.id), gone.id.get()).await.expect("disabled");
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let plan = accepted_plan(&app, &bob, 3_000, 3).await;

    due::charge_due(&app.state, app.today(), 100).await.expect("ran");
    let customer = with_subject(&mail, "Échéancier « ", 1).await;
    assert_eq!(customer.len(), 1, "{customer:?}");
    assert_eq!(customer[0]["to"][0]["address"], bob.email.as_str());
    let body = text(&customer[0]);
    let due = Locale::Fr.format_date(plan.echeances[0].due_date);
    assert!(body.contains(&format!("le paiement de 10,00 € (échéance du {due})")), "{body}");
    let told = with_subject(&mail, "Échéancier en défaut", 2).await;
    let mut to: Vec<String> =
        queued(&app, EmailKind::AdminPlanInDefault).await.into_iter().map(|e| e.to_address).collect();
    to.sort();
    let mut admins_expected = vec![ana.email.clone(), ben.email.clone()];
    admins_expected.sort();
    assert_eq!(to, admins_expected, "each admin who can log in, once; not the disabled one");
    assert!(text(&told[0]).contains(&format!("/admin/plans/{}", plan.plan.id)), "{}", text(&told[0]));
    assert_eq!(queued(&app, EmailKind::PlanInDefault).await.len(), 1);
}

#[tokio::test]
async fn a_declined_payment_emails_why_and_a_link_that_logs_the_customer_in_once() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { env: vec![("SMTP_URL", mail.smtp_url())], ..Default::default() }).await;
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let e = app.echeance(&bob, 4_200, app.today()).await;
    charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await.expect("sent");
    assert_eq!(app.status(e).await, app::domain::EcheanceStatus::Echouee);

    let messages = with_subject(&mail, "Votre paiement de 42,00", 1).await;
    assert_eq!(messages.len(), 1, "one failure email");
    let body = text(&messages[0]);
    assert!(body.contains("n’a pas abouti : votre banque l’a refusé sans en préciser la raison"), "{body}");
    assert!(body.contains("Nous réessaierons automatiquement le "), "a soft decline is retried: {body}");
    let link = crate::helpers::mail::link_containing(&messages[0], "/login/link?token=").expect("a login link");
    assert_eq!(queued(&app, EmailKind::PaymentFailed).await.len(), 1);

    // The link logs bob in — once; it is no password and nobody else's.
    let token = link.split("token=").nth(1).and_then(|t| t.split('&').next()).expect("a token").to_owned();
    let browser = app.browser();
    let log_in = |client: reqwest::Client| {
        let (url, token) = (format!("{}/api/login/link", app.address), token.clone());
        async move {
            let response = client
                .post(url)
                .header("accept", "application/json")
                .form(&[("token", token.as_str())])
                .send()
                .await
                .expect("answers");
            (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    assert_eq!(log_in(browser.clone()).await, (200, serde_json::json!("/")));
    let (status, body) = app.pay(&browser, e).await;
    assert!(matches!(status, 200 | 422), "logged in as bob: paid with the saved card ({status} {body})");
    assert_eq!(app.attempts(e).await.len(), 2, "the link's session paid (the card declined again)");
    assert_eq!(log_in(app.browser()).await.0, 410, "a link works once");
}

/// Runs the webhook worker until `done` holds (the peer's events come about a second after).
async fn processed_until<F, Fut>(app: &TestApp, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    while tokio::time::Instant::now() < deadline {
        app.process_inbox().await;
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let inbox: Vec<(String, String, Option<String>, Option<String>)> = app
        .inbox()
        .await
        .into_iter()
        .map(|r| (r.event_type, r.status.as_str().to_owned(), r.note, r.last_error))
        .collect();
    panic!("the webhook never applied: {inbox:?}");
}

#[tokio::test]
async fn the_card_updater_extends_a_card_before_its_warning_goes_out_and_a_detached_card_is_not_charged() {
    use chrono::Datelike as _;
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { workers: false, env: vec![("SMTP_URL", mail.smtp_url())] }).await;
    let today = app.today();
    let alice = app.customer("alice", Some(cards::OK)).await;
    let due = in_days(&app, 10);
    let e = app.echeance(&alice, 12_000, due).await;
    card_expires(&app, &alice, due.checked_sub_months(chrono::Months::new(1)).expect("a date")).await;
    assert_eq!(reminders::queue_card_expiry_notices(&app.state, today).await.expect("ran"), 1);
    let card = || async {
        payment_method::Entity::find()
            .filter(payment_method::Column::UserId.eq(alice.id.get()))
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("alice's card")
    };
    let pm = card().await.stripe_payment_method_id;

    // The network renewed the card before the warning went out: new expiry, new number.
    let year = today.year() + 4;
    app.stripe.update_card(&pm, 11, year, "1881").await;
    processed_until(&app, || async { card().await.last4 == "1881" }).await;
    let renewed = card().await;
    assert_eq!((renewed.exp_month, renewed.exp_year, renewed.usable), (11, year, true));
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("sent");
    let warning = queued(&app, EmailKind::CardExpiring).await;
    assert_eq!(warning[0].status.as_str(), "cancelled", "the renewed card lasts: no warning");
    // The catcher answers the sender before it stores a message: a moment for one, had it been sent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(with_subject(&mail, "Votre carte", 0).await.is_empty(), "sent above, had it been");
    assert_eq!(reminders::queue_card_expiry_notices(&app.state, today).await.expect("ran"), 0);

    // Detached on Stripe (the bank, the Dashboard): no longer charged.
    app.stripe.post(&format!("/v1/payment_methods/{pm}/detach"), &[]).await;
    processed_until(&app, || async { !card().await.usable }).await;
    let refused = charge::charge(&app.state, EcheanceId::new(e).expect("id"), Trigger::DueDate).await;
    assert!(
        matches!(refused, Err(app::ssr::services::error::ServiceError::Invalid(app::domain::Invalid::NoCard))),
        "{refused:?}"
    );
    assert!(app.attempts(e).await.is_empty(), "nothing sent to Stripe");
}

#[tokio::test]
async fn what_a_customer_is_asked_to_do_on_a_plan_of_the_test_keys_waits_for_them() {
    use app::domain::{EcheanceStatus, KeyMode, PlanStatus, Trouble};
    let mail = MailCatcher::start().await;
    let on_keys = |secret: &str| Options {
        workers: false,
        env: vec![
            ("STRIPE_SECRET_KEY", secret.to_owned()),
            ("SMTP_URL", mail.smtp_url()),
            ("DEBIT_REMINDER_DAYS", "10".to_owned()),
        ],
    };
    // On the test keys, before the outbox runs: Alice's first échéance waits for 3D Secure (she is
    // asked to authenticate), her second is announced and her card will not last until it; Bob is
    // invited to a plan; Dan's first payment was declined (he is asked to pay it or save a card).
    let first = spawn_app_with(on_keys(crate::helpers::peer::SECRET_KEY)).await;
    let alice = first.customer("alice", Some(cards::SCA_ALWAYS)).await;
    let hers = accepted_plan(&first, &alice, 2_000, 2).await;
    let waiting = hers.echeances[0].id;
    let dan = first.customer("dan", Some(cards::DECLINED)).await;
    let his = accepted_plan(&first, &dan, 2_000, 2).await;
    due::charge_due(&first.state, first.today(), 10).await.expect("ran");
    assert_eq!(first.status(waiting).await, EcheanceStatus::EnAttente);
    assert_eq!(first.status(his.echeances[0].id).await, EcheanceStatus::Echouee);
    assert_eq!(reminders::queue_upcoming_debits(&first.state, first.today()).await.expect("queued"), 2);
    let next_due = first.today().checked_add_days(Days::new(7)).expect("a date");
    card_expires(&first, &alice, next_due.checked_sub_months(chrono::Months::new(1)).expect("a date")).await;
    assert_eq!(reminders::queue_card_expiry_notices(&first.state, first.today()).await.expect("queued"), 1);
    app::ssr::services::plans::create(
        &first.state,
        None,
        crate::plans::request("bob@example.test", 2_000, 2, first.today(), app::domain::Interval::Week),
    )
    .await
    .expect("created");
    let kinds =
        [EmailKind::AuthenticationRequired, EmailKind::UpcomingDebit, EmailKind::CardExpiring, EmailKind::Invitation];
    let asked = async |app: &TestApp| {
        let rows = email_outbox::Entity::find()
            .filter(email_outbox::Column::Kind.is_in(kinds))
            .filter(email_outbox::Column::ToAddress.ne(dan.email.as_str()))
            .order_by_asc(email_outbox::Column::Id)
            .all(&app.state.db)
            .await
            .expect("outbox");
        rows.into_iter()
            .map(|m| (m.kind, m.status.as_str().to_owned(), m.attempts, m.last_error.as_deref().map(Trouble::read)))
            .collect::<Vec<_>>()
    };
    // (Alice's own invitation, her plan accepted, is dropped as before.)
    let accepted = (EmailKind::Invitation, "cancelled".to_owned(), 1, Some(Trouble::PlanNow(PlanStatus::Actif)));
    let dans = async |app: &TestApp| {
        let failed = queued(app, EmailKind::PaymentFailed).await;
        failed
            .into_iter()
            .map(|m| (m.status.as_str().to_owned(), m.last_error.as_deref().map(Trouble::read)))
            .collect::<Vec<_>>()
    };
    let (db, peer) = (first.db.clone(), first.peer.clone());
    drop(first);

    // On the live keys its links would be refused and its debit would not happen: none of it goes,
    // and it waits, saying why.
    let live = spawn_on(db.clone(), peer.clone(), on_keys("sk_live_echeancier_tests")).await;
    app::ssr::email::sender::send_pending(&live.state, 20).await.expect("the outbox");
    let waits = Some(Trouble::OtherMode(KeyMode::Test));
    let mut expected = vec![accepted.clone()];
    expected.extend(kinds.iter().map(|kind| (*kind, "pending".to_owned(), 0, waits.clone())));
    assert_eq!(asked(&live).await, expected);
    assert_eq!(dans(&live).await, [("pending".to_owned(), waits.clone())]);
    let told = subjects(&mail, 2).await;
    let summary = "Votre échéancier « Formation 2027 » est en place".to_owned();
    assert_eq!(told, [(alice.email.clone(), summary.clone()), (dan.email.clone(), summary)], "only what informs");
    // Nor does her page offer to authenticate the payment its 3D Secure page would refuse.
    let browser = live.browser();
    live.login(&browser, &alice).await;
    let home = browser.get(format!("{}/?lang=fr", live.address)).send().await.expect("answers");
    let home = home.text().await.expect("page");
    assert!(home.contains(&format!("other-mode-{waiting}\"")), "says why");
    assert!(!home.contains("/payment/authenticate/"), "no « Authentifier »");
    drop(live);

    // Back on the test keys, each goes at its next look (within the hour).
    let test = spawn_on(db, peer, on_keys(crate::helpers::peer::SECRET_KEY)).await;
    app::ssr::email::sender::send_pending(&test.state, 20).await.expect("the outbox");
    assert_eq!(asked(&test).await, expected, "not looked at again yet");
    test.clock.advance(Duration::from_secs(120));
    app::ssr::email::sender::send_pending(&test.state, 20).await.expect("the outbox");
    assert_eq!(asked(&test).await, expected, "nor every minute: the keys change at a start");
    test.clock.advance(Duration::from_secs(3_600));
    app::ssr::email::sender::send_pending(&test.state, 20).await.expect("the outbox");
    let sent = asked(&test).await;
    assert_eq!(sent[0], accepted);
    assert!(sent[1..].iter().all(|(_, status, attempts, _)| (status.as_str(), *attempts) == ("sent", 1)), "{sent:?}");
    assert_eq!(dans(&test).await, [("sent".to_owned(), None)]);
    let told: Vec<_> = subjects(&mail, 8).await.into_iter().filter(|(to, _)| *to != dan.email).collect();
    let (last, asked_to) = (
        &told[1..],
        ["Action requise", "Prochain prélèvement", "Votre carte Visa •••• 3184", "Échéancier vous propose"],
    );
    assert!(last.iter().zip(asked_to).all(|((_, subject), asked)| subject.starts_with(asked)), "{told:?}");
    assert_eq!(told.iter().filter(|(to, _)| *to == alice.email).count(), 4, "{told:?}");
    assert_eq!(told[4].0, "bob@example.test");
}

#[tokio::test]
async fn an_invitation_or_a_3d_secure_email_whose_link_expired_before_it_went_is_dropped() {
    use app::domain::{EcheanceStatus, Interval, Trouble};
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { workers: false, env: vec![("SMTP_URL", mail.smtp_url())] }).await;
    let invite = async |email: &str| {
        let plan = crate::plans::request(email, 2_000, 2, app.today(), Interval::Week);
        app::ssr::services::plans::create(&app.state, None, plan).await.expect("created");
    };
    let why = async |to: &str, kind: EmailKind| {
        let rows = queued(&app, kind).await;
        let row = rows.into_iter().find(|m| m.to_address == to).expect("queued");
        (row.status.as_str().to_owned(), row.last_error.as_deref().map(Trouble::read))
    };
    // Alice is asked to authenticate (a link of seven days), Bob is invited (fourteen days); the
    // outbox does not run for eight days (an SMTP outage, say).
    let alice = app.customer("alice", Some(cards::SCA_ALWAYS)).await;
    let hers = accepted_plan(&app, &alice, 2_000, 2).await;
    due::charge_due(&app.state, app.today(), 10).await.expect("ran");
    assert_eq!(app.status(hers.echeances[0].id).await, EcheanceStatus::EnAttente);
    invite("bob@example.test").await;
    app.clock.advance(Duration::from_secs(8 * 86_400));
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("the outbox");
    let expired = ("cancelled".to_owned(), Some(Trouble::LinkExpired));
    assert_eq!(why(&alice.email, EmailKind::AuthenticationRequired).await, expired, "its page would refuse it");
    assert_eq!(why("bob@example.test", EmailKind::Invitation).await, ("sent".to_owned(), None), "still good");

    // Carol's invitation (a link of fourteen days) is held fifteen days, the setting raised to
    // thirty meanwhile: what counts is the link she would get, and it has expired.
    invite("carol@example.test").await;
    let env = vec![("SMTP_URL", mail.smtp_url()), ("INVITATION_TTL_DAYS", "30".to_owned())];
    let later = spawn_on(app.db.clone(), app.peer.clone(), Options { workers: false, env }).await;
    later.clock.advance(Duration::from_secs((8 + 15) * 86_400));
    app::ssr::email::sender::send_pending(&later.state, 20).await.expect("the outbox");
    assert_eq!(why("carol@example.test", EmailKind::Invitation).await, expired);
    // What went: Alice's plan summary and Bob's invitation.
    let told: Vec<String> = subjects(&mail, 2).await.into_iter().map(|(_, subject)| subject).collect();
    assert_eq!(
        told,
        [
            "Votre échéancier « Formation 2027 » est en place",
            "Échéancier vous propose de payer Formation 2027 en 2 fois"
        ]
    );
}

/// A customer whose card will be declined, on a plan of two: (the customer, its first échéance).
async fn of_a_declined_card(app: &TestApp, name: &str) -> (crate::helpers::Customer, i64) {
    let customer = app.customer(name, Some(cards::DECLINED)).await;
    let first = accepted_plan(app, &customer, 2_000, 2).await.echeances[0].id;
    (customer, first)
}

#[tokio::test]
async fn a_failed_payments_email_held_back_is_not_sent_once_paid_nor_once_its_link_expired() {
    use app::domain::{EcheanceStatus, Trouble};
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { workers: false, env: vec![("SMTP_URL", mail.smtp_url())] }).await;
    // Dan's and Erin's first payments are declined; the outbox does not run meanwhile.
    let (dan, his) = of_a_declined_card(&app, "dan").await;
    let (erin, hers) = of_a_declined_card(&app, "erin").await;
    let (fay, fays) = of_a_declined_card(&app, "fay").await;
    due::charge_due(&app.state, app.today(), 10).await.expect("ran");
    // Fay tries again at once, declined again: her first email tells a try the second replaces.
    charge::charge(&app.state, EcheanceId::new(fays).expect("id"), Trigger::Customer(fay.id)).await.expect("declined");
    assert_eq!((app.status(his).await, app.status(hers).await), (EcheanceStatus::Echouee, EcheanceStatus::Echouee));
    let failed = async |to: &str| {
        let rows = queued(&app, EmailKind::PaymentFailed).await;
        let row = rows.into_iter().find(|m| m.to_address == to).expect("queued");
        (row.status.as_str().to_owned(), row.last_error.as_deref().map(Trouble::read))
    };
    // Dan saves another card and pays: told of the failure after his receipt, he would be misled.
    app.save_card_through_setup(dan.id, cards::OK).await;
    charge::charge(&app.state, EcheanceId::new(his).expect("id"), Trigger::Customer(dan.id)).await.expect("paid");
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("the outbox");
    let paid = Some(Trouble::EcheanceNow { status: EcheanceStatus::Payee, due_date: None });
    assert_eq!(failed(&dan.email).await, ("cancelled".to_owned(), paid));
    assert_eq!(failed(&erin.email).await, ("sent".to_owned(), None), "Erin's still true, its link good");
    let mut rows = queued(&app, EmailKind::PaymentFailed).await;
    rows.sort_by_key(|m| m.id);
    let fays: Vec<_> = rows
        .iter()
        .filter(|m| m.to_address == fay.email)
        .map(|m| (m.status.as_str(), m.last_error.as_deref().map(Trouble::read)))
        .collect();
    assert_eq!(fays, [("cancelled", Some(Trouble::Superseded)), ("sent", None)]);

    // A second decline of Erin's, held eight days: its link to pay (seven days) has expired.
    charge::charge(&app.state, EcheanceId::new(hers).expect("id"), Trigger::Customer(erin.id)).await.expect("declined");
    app.clock.advance(Duration::from_secs(8 * 86_400));
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("the outbox");
    let rows = queued(&app, EmailKind::PaymentFailed).await;
    let second = rows.iter().filter(|m| m.to_address == erin.email).max_by_key(|m| m.id).expect("her second");
    assert_eq!(
        (second.status.as_str(), second.last_error.as_deref().map(Trouble::read)),
        ("cancelled", Some(Trouble::LinkExpired))
    );
}

#[tokio::test]
async fn an_email_whose_checks_the_database_did_not_answer_is_neither_sent_nor_dropped() {
    use app::domain::EcheanceStatus;
    use sea_orm::ConnectionTrait as _;
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { workers: false, env: vec![("SMTP_URL", mail.smtp_url())] }).await;
    let (erin, hers) = of_a_declined_card(&app, "erin").await;
    due::charge_due(&app.state, app.today(), 10).await.expect("ran");
    assert_eq!(app.status(hers).await, EcheanceStatus::Echouee);
    let failed = async || {
        let rows = queued(&app, EmailKind::PaymentFailed).await;
        let row = rows.into_iter().find(|m| m.to_address == erin.email).expect("queued");
        (row.status.as_str().to_owned(), row.attempts, row.last_error)
    };
    // Whether her email is still true is read from the plans, which do not answer for a while.
    let plans_away = async |sql: &str| {
        app.state.db.execute_unprepared(sql).await.expect("renamed");
    };
    plans_away("ALTER TABLE payment_plans RENAME TO payment_plans_away").await;
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("the outbox");
    let (status, attempts, error) = failed().await;
    assert_eq!((status.as_str(), attempts), ("pending", 1), "tried again later: {error:?}");
    assert!(error.as_deref().is_some_and(|e| e.starts_with("checking it:")), "{error:?}");
    plans_away("ALTER TABLE payment_plans_away RENAME TO payment_plans").await;

    app.clock.advance(Duration::from_secs(3_600));
    app::ssr::email::sender::send_pending(&app.state, 20).await.expect("the outbox");
    let (status, attempts, _) = failed().await;
    assert_eq!((status.as_str(), attempts), ("sent", 2));
    assert_eq!(with_subject(&mail, "Votre paiement", 1).await.len(), 1, "sent once, once it was known still true");
}
