//! Getting back in: a login link and a password reset, each asked for on the
//! login page with an address. The answer is the same for an address with an
//! account and one without; the link (read back from the SMTP server) works
//! once, for its purpose only, until it expires; asking is throttled per
//! address and per client, every request counted alike.

use std::time::Duration;

use app::domain::{Locale, Role};
use app::ssr::entities::session;
use app::ssr::services::error::ServiceError;
use app::ssr::services::links::{self, Purpose};
use app::ssr::services::second_factor::Entry;
use app::ui::i18n::Texts;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};

use crate::helpers::mail::{MailCatcher, link_containing};
use crate::helpers::{Options, TestApp, browser_of, spawn_app_by_hand, spawn_app_with};

const NEW_PASSWORD: &str = "un tout nouveau mot de passe";

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).and_then(|t| t.split('&').next()).expect("a token").to_owned()
}

/// Asks through the page's server function: (status, body).
async fn ask(app: &TestApp, endpoint: &str, email: &str) -> (u16, String) {
    let response = browser_of(&app.address)
        .post(format!("{}/api/{endpoint}", app.address))
        .header("accept", "application/json")
        .form(&[("email", email)])
        .send()
        .await
        .expect("answers");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn a_login_link_answers_the_same_for_any_address_works_once_for_its_purpose_and_expires() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { env: vec![("SMTP_URL", mail.smtp_url())], ..Default::default() }).await;
    let alice = app.customer("alice", None).await;

    let known = ask(&app, "login/link/request", &alice.email).await;
    let unknown = ask(&app, "login/link/request", "personne@example.test").await;
    assert_eq!(known, unknown, "the answer says nothing about the address");
    assert_eq!(known.0, 200);
    let messages = mail.wait_for(1, crate::helpers::PATIENCE).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mail.wait_for(1, Duration::from_millis(10)).await.len(), 1, "one email, to the account only");
    assert_eq!(messages[0]["to"][0]["address"], alice.email.as_str());
    let link = link_containing(&messages[0], "/login/link?token=").expect("the login link");
    let token = token_of(&link);

    // Only a login link logs in, and once.
    let wrong = links::set_password(&app.state, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert!(matches!(wrong, Err(ServiceError::InvalidLink)), "a login link sets no password: {wrong:?}");
    let Entry::Session(opened) = links::log_in(&app.state, &token).await.expect("logged in") else {
        panic!("a customer has no second factor: a session");
    };
    assert_eq!((opened.user.id, opened.user.role), (alice.id, Role::Customer));
    assert!(matches!(links::log_in(&app.state, &token).await, Err(ServiceError::InvalidLink)), "spent");

    // Fifteen minutes, no more.
    links::request(&app.state, &alice.email, Purpose::Login, "198.51.100.7").await.expect("asked");
    let messages = mail.wait_for(2, crate::helpers::PATIENCE).await;
    let late = messages.iter().filter_map(|m| link_containing(m, "/login/link?token=")).find(|l| *l != link);
    app.clock.advance(Duration::from_secs(16 * 60));
    let expired = links::log_in(&app.state, &token_of(&late.expect("a second link"))).await;
    assert!(matches!(expired, Err(ServiceError::InvalidLink)), "{expired:?}");
}

#[tokio::test]
async fn a_password_reset_sets_a_new_password_and_ends_the_old_sessions() {
    let mail = MailCatcher::start().await;
    let app = spawn_app_with(Options { env: vec![("SMTP_URL", mail.smtp_url())], ..Default::default() }).await;
    let alice = app.customer("alice", None).await;
    let elsewhere = browser_of(&app.address);
    app.login(&elsewhere, &alice).await;

    let known = ask(&app, "password/reset/request", &alice.email).await;
    let unknown = ask(&app, "password/reset/request", "personne@example.test").await;
    assert_eq!(known, unknown);
    let messages = mail.wait_for(1, crate::helpers::PATIENCE).await;
    let link = link_containing(&messages[0], "/password/set?token=").expect("the reset link");
    let token = token_of(&link);
    assert!(matches!(links::log_in(&app.state, &token).await, Err(ServiceError::InvalidLink)), "not a login link");

    links::set_password(&app.state, &token, NEW_PASSWORD, NEW_PASSWORD).await.expect("reset");
    assert_eq!(app.login_status(&alice.email, &alice.password).await, 401, "the old password is gone");
    assert_eq!(app.login_status(&alice.email, NEW_PASSWORD).await, 200);
    let sessions = session::Entity::find().filter(session::Column::UserId.eq(alice.id.get())).count(&app.state.db);
    assert_eq!(sessions.await.expect("count"), 2, "the reset's session and the new login's; the old one ended");
    let again = links::set_password(&app.state, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert!(matches!(again, Err(ServiceError::InvalidLink)), "spent");
}

#[tokio::test]
async fn asking_is_throttled_per_address_and_per_client_for_known_and_unknown_addresses_alike() {
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", None).await;
    for (n, email) in [alice.email.as_str(), "personne@example.test"].into_iter().enumerate() {
        let client = format!("203.0.113.{n}");
        for _ in 0..3 {
            links::request(&app.state, email, Purpose::Login, &client).await.expect("free");
        }
        let fourth = links::request(&app.state, email, Purpose::ResetPassword, &client).await;
        assert!(matches!(fourth, Err(ServiceError::RateLimited)), "{email}: {fourth:?}");
    }
    // Whoever hammers an address from one place does not keep its owner, elsewhere, out.
    links::request(&app.state, &alice.email, Purpose::Login, "198.51.100.200").await.expect("the owner still can");
    // One client, many addresses: ten, then it waits.
    for n in 0..10 {
        links::request(&app.state, &format!("a{n}@example.test"), Purpose::Login, "192.0.2.9").await.expect("free");
    }
    let eleventh = links::request(&app.state, "a10@example.test", Purpose::Login, "192.0.2.9").await;
    assert!(matches!(eleventh, Err(ServiceError::RateLimited)), "{eleventh:?}");
    // A minute later the address may ask once more.
    app.clock.advance(Duration::from_secs(61));
    links::request(&app.state, &alice.email, Purpose::Login, "203.0.113.50").await.expect("after a minute");
}

#[tokio::test]
async fn without_javascript_a_login_link_and_a_new_password_take_the_browser_in_not_back_to_the_spent_link() {
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", None).await;
    let account = app::ssr::entities::user::Entity::find_by_id(alice.id.get()).one(&app.state.db).await;
    let account = account.expect("query").expect("alice");
    for (purpose, endpoint) in [(Purpose::Login, "login/link"), (Purpose::ResetPassword, "password/set")] {
        // The page the link opens has the server function's path.
        let txn = app.state.db.begin().await.expect("txn");
        let link = links::issue(&app.state, &txn, &account, purpose, false, app.state.now_ms()).await.expect("link");
        txn.commit().await.expect("commit");
        let token = token_of(&link);
        let page = format!("/{endpoint}?token={token}");
        let form = [("token", token.as_str()), ("password", NEW_PASSWORD), ("again", NEW_PASSWORD)];
        let form = if purpose == Purpose::Login { &form[..1] } else { &form[..] };

        let (next, browser) = app.post_without_javascript(&page, endpoint, form).await;

        assert_eq!(next, "/", "{endpoint}: the customer's home, not the spent link's page");
        let me = browser.post(format!("{}/api/me", app.address)).header("origin", &app.address);
        let me = me.header("accept", "application/json").send().await;
        let me: serde_json::Value = me.expect("answers").json().await.expect("json");
        assert_eq!(me["id"], alice.id.get(), "{endpoint}: logged in");
    }
}

#[tokio::test]
async fn without_javascript_asking_for_a_link_says_the_email_is_on_its_way_for_any_address() {
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", None).await;
    for (endpoint, locale) in [("login/link/request", Locale::Fr), ("password/reset/request", Locale::En)] {
        for email in [alice.email.as_str(), "nobody@example.test"] {
            let (next, browser) = app.post_without_javascript("/", endpoint, &[("email", email)]).await;

            assert_eq!(next, app::api::session::LINK_SENT, "{endpoint}, {email}: the same answer for any address");
            let page = browser.get(format!("{}{next}&lang={}", app.address, locale.code())).send().await;
            let page = page.expect("answers").text().await.expect("page");
            let said = Texts::of(locale).link_sent;
            assert_eq!(page.matches(said).count(), 1, "{endpoint}, {email}: « {said} » once on the page");
        }
    }
    // Without the parameter, the page says nothing was sent.
    let page = browser_of(&app.address).get(format!("{}/", app.address)).send().await.expect("answers");
    let page = page.text().await.expect("page");
    assert!(!page.contains(Texts::of(Locale::Fr).link_sent) && !page.contains(Texts::of(Locale::En).link_sent));
}
