//! Admins: the first one made by the command line, whose emailed single-use
//! link (read back from the SMTP server) lets them choose a password and log
//! in; others invited the same way; any but the last active one disabled.

use std::time::Duration;

use app::domain::{Field, Invalid, Locale, Refusal, Role};
use app::ssr::entities::{login_link, session, user};
use app::ssr::services::admins::{self, NewAdmin};
use app::ssr::services::error::ServiceError;
use app::ssr::services::links;
use app::ssr::services::second_factor::Entry;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::helpers::binary::binary_env;
use crate::helpers::mail::{MailCatcher, link_containing};
use crate::helpers::peer::free_port;
use crate::helpers::{Customer, TestApp, browser_of, spawn_app_by_hand};

const PASSWORD: &str = "une phrase de passe assez longue";

/// `server user …` run as its own process on the app's database.
async fn cli(app: &TestApp, mail: &MailCatcher, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("user")
        .args(args)
        .envs(binary_env(app, &app.stripe, free_port()))
        .env("SMTP_URL", mail.smtp_url())
        .output()
        .await
        .expect("the server binary runs")
}

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).and_then(|t| t.split('&').next()).expect("a token").to_owned()
}

#[tokio::test]
async fn the_first_admin_is_made_by_the_command_line_and_chooses_a_password_through_the_emailed_link() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_by_hand().await;
    let output =
        cli(&app, &mail, &["create", "--admin", "--email", "premiere@example.test", "--name", "Première"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("token="), "the link is emailed, not printed: {stdout}");

    let messages = mail.wait_for(1, crate::helpers::PATIENCE).await;
    assert_eq!(messages[0]["to"][0]["address"], "premiere@example.test");
    let link = link_containing(&messages[0], "/password/set?token=").expect("the set-password link");
    let token = token_of(&link);
    let stored = login_link::Entity::find().one(&app.state.db).await.expect("query").expect("the link row");
    assert!(!stored.token_hash.contains(&token), "only the token's hash is stored");
    assert_eq!(app.login_status("premiere@example.test", "").await, 401, "no password before the link");

    // A password too short, or typed differently, spends nothing.
    for (password, again) in [("court", "court"), (PASSWORD, "une autre phrase bien longue")] {
        let refused = links::set_password(&app.state, &token, password, again).await;
        assert!(matches!(refused, Err(ServiceError::Invalid(Invalid::Field(Field::Password)))), "{refused:?}");
    }
    let entry = links::set_password(&app.state, &token, PASSWORD, PASSWORD).await.expect("password set");
    let Entry::Session(opened) = entry else { panic!("no second factor yet: a session") };
    assert_eq!(opened.user.role, Role::Admin);
    assert_eq!(app.login_status("premiere@example.test", PASSWORD).await, 200);
    // Spent.
    let again = links::set_password(&app.state, &token, PASSWORD, PASSWORD).await;
    assert!(matches!(again, Err(ServiceError::InvalidLink)), "{again:?}");

    // The same address twice: refused, nothing written.
    let output = cli(&app, &mail, &["create", "--admin", "--email", "premiere@example.test"]).await;
    assert!(!output.status.success());
    assert_eq!(user::Entity::find().count(&app.state.db).await.expect("count"), 1);

    // --print-link prints it instead of sending it.
    let output = cli(&app, &mail, &["create", "--admin", "--email", "seconde@example.test", "--print-link"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.trim().contains("/password/set?token="), "{printed}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail.wait_for(1, Duration::from_secs(1)).await.len(), 1, "no second email");
}

#[tokio::test]
async fn an_expired_link_is_refused_and_the_last_active_admin_cannot_be_disabled() {
    let app = spawn_app_by_hand().await;
    let new = |email: &str| NewAdmin { email: email.to_owned(), name: "Admin".to_owned(), locale: Locale::Fr };
    let first = admins::create(&app.state, None, new("un@example.test"), false).await.expect("created");
    let late = admins::create(&app.state, None, new("deux@example.test"), false).await.expect("created");
    links::set_password(&app.state, &token_of(&first.link), PASSWORD, PASSWORD).await.expect("set");

    app.clock.advance(Duration::from_secs(73 * 3600));
    let expired = links::set_password(&app.state, &token_of(&late.link), PASSWORD, PASSWORD).await;
    assert!(matches!(expired, Err(ServiceError::InvalidLink)), "{expired:?}");
    let forged = links::set_password(&app.state, "not-a-token", PASSWORD, PASSWORD).await;
    assert!(matches!(forged, Err(ServiceError::InvalidLink)), "{forged:?}");

    // Two active admins: one may go; then the other is the last.
    let client = browser_of(&app.address);
    let third = admins::create(&app.state, Some(first.id), new("trois@example.test"), false).await.expect("invited");
    links::set_password(&app.state, &token_of(&third.link), PASSWORD, PASSWORD).await.expect("set");
    app.login(
        &client,
        &Customer {
            id: third.id,
            email: "trois@example.test".to_owned(),
            password: PASSWORD.to_owned(),
            stripe_customer: String::new(),
        },
    )
    .await;
    admins::disable(&app.state, Some(first.id), third.id.get()).await.expect("disabled");
    assert_eq!(app.login_status("trois@example.test", PASSWORD).await, 401, "a disabled admin cannot log in");
    let sessions = session::Entity::find().filter(session::Column::UserId.eq(third.id.get())).count(&app.state.db);
    assert_eq!(sessions.await.expect("count"), 0, "their sessions ended");

    // « deux » never chose a password: « un » is the last admin who can log in, and stays…
    let last = admins::disable(&app.state, None, first.id.get()).await;
    assert!(matches!(last, Err(ServiceError::Refused(Refusal::LastAdmin))), "{last:?}");
    // …while « deux » may go.
    admins::disable(&app.state, Some(first.id), late.id.get()).await.expect("disabled");
    let again = admins::disable(&app.state, None, late.id.get()).await;
    assert!(matches!(again, Err(ServiceError::NotFound)), "already disabled: {again:?}");
    assert_eq!(app.login_status("un@example.test", PASSWORD).await, 200, "someone can still log in");
}

#[tokio::test]
async fn the_export_is_named_after_the_merchants_day_not_greenwichs() {
    use chrono::Timelike;
    let app = crate::helpers::spawn_app().await;
    // 23:30 UTC is already the next day in Paris (00:30 or 01:30).
    let now = app.state.clock.now();
    let to_2330 = (i64::from(23 * 60 + 30) - i64::from(now.hour() * 60 + now.minute())).rem_euclid(24 * 60);
    app.clock.advance(std::time::Duration::from_secs(u64::try_from(to_2330 * 60).expect("minutes")));
    let utc_day = app.state.clock.now().date_naive();
    assert_ne!(app.today(), utc_day, "the two calendars disagree at this hour");
    let (_, client) = app.logged_in_admin().await;
    let csv = client.get(format!("{}/admin/export.csv", app.address)).send().await.expect("answers");
    assert_eq!(csv.status().as_u16(), 200);
    let name = csv.headers()["content-disposition"].to_str().expect("ascii").to_owned();
    assert_eq!(name, format!("attachment; filename=\"echeances-{}.csv\"", app.today()));
}

#[tokio::test]
async fn the_exports_refusal_speaks_the_language_its_link_asks_for() {
    use app::api::error::AppError;
    use app::domain::Locale;
    let app = crate::helpers::spawn_app().await;
    let anonymous = reqwest::Client::new();
    for (lang, browser, locale) in [("en", "fr-FR", Locale::En), ("fr", "en-GB", Locale::Fr)] {
        let url = format!("{}/admin/export.csv?status=payee&lang={lang}", app.address);
        let refused = anonymous.get(url).header("accept-language", browser).send().await.expect("answers");
        assert_eq!(refused.status().as_u16(), 401);
        assert_eq!(refused.text().await.expect("text"), AppError::Unauthenticated.message(locale), "lang={lang}");
    }
    // With no `lang`, the browser's language.
    let url = format!("{}/admin/export.csv", app.address);
    let refused = anonymous.get(url).header("accept-language", "en-GB").send().await.expect("answers");
    assert_eq!(refused.text().await.expect("text"), AppError::Unauthenticated.message(Locale::En));
    // A key given twice is no reason to answer before asking who it is (it was axum's English 400).
    let url = format!("{}/admin/export.csv?status=payee&status=a_payer&lang=en", app.address);
    let refused = anonymous.get(url).header("accept-language", "fr-FR").send().await.expect("answers");
    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(refused.text().await.expect("text"), AppError::Unauthenticated.message(Locale::En));
}

#[tokio::test]
async fn the_export_reads_its_link_as_the_dashboard_does_a_key_given_twice_takes_its_last_value() {
    use app::domain::{EcheanceId, EcheanceStatus};
    use app::ssr::services::charge::{self, Trigger};
    let app = crate::helpers::spawn_app().await;
    let alice = app.customer("alice", Some(crate::helpers::cards::OK)).await;
    let paid = app.echeance(&alice, 1_234, app.today()).await;
    let due = app.echeance(&alice, 5_678, app.today()).await;
    charge::charge(&app.state, EcheanceId::new(paid).expect("id"), Trigger::DueDate).await.expect("charged");
    assert_eq!((app.status(paid).await, app.status(due).await), (EcheanceStatus::Payee, EcheanceStatus::APayer));
    let (_, client) = app.logged_in_admin().await;
    let export = |query: &'static str| {
        let request = client.get(format!("{}/admin/export.csv?{query}", app.address)).send();
        async move {
            let answer = request.await.expect("answers");
            assert_eq!(answer.status().as_u16(), 200, "{query}");
            answer.text().await.expect("csv")
        }
    };
    let rows = |csv: &str| csv.lines().skip(1).map(|l| l.split(';').next().unwrap_or_default().to_owned()).collect();
    let ids = |ids: &[i64]| ids.iter().map(ToString::to_string).collect::<Vec<String>>();
    let both: Vec<String> = rows(&export("").await);
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(rows(&export("status=payee&status=a_payer").await), ids(&[due]), "the last one");
    assert_eq!(rows(&export("status=a_payer&status=payee&unknown=1").await), ids(&[paid]), "an unknown key ignored");
    assert_eq!(rows(&export("q=&status=payee").await), ids(&[paid]), "an empty key is no filter");
    // Percent-decoded, as the dashboard's own link encodes its values.
    assert_eq!(rows(&export("customer=ali%63e&status=payee").await), ids(&[paid]), "%63 is a c");
}

#[tokio::test]
async fn an_address_taken_meanwhile_by_another_request_is_said_taken_not_a_failure() {
    let app = crate::helpers::spawn_app().await;
    // A plan for that customer is being written and not committed yet.
    let (other, _) =
        crate::helpers::uncommitted_customer(&app.state.db, "camille@example.test", app.state.now_ms()).await;
    let state = app.state.clone();
    let input = NewAdmin { email: "camille@example.test".to_owned(), name: "Camille".to_owned(), locale: Locale::Fr };
    let inviting = tokio::spawn(async move { admins::create(&state, None, input, false).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!inviting.is_finished(), "the write waits for the other one");
    other.commit().await.expect("commit");
    // PostgreSQL let both read "no such address": the second insert failed on the unique address (a 500).
    let invited = inviting.await.expect("joined");
    assert!(matches!(invited, Err(ServiceError::Invalid(Invalid::EmailTaken))), "{invited:?}");
    assert_eq!(user::Entity::find().count(&app.state.db).await.expect("count"), 1);
}
