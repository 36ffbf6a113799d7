//! Admins' second factor: an authenticator app enrolled from the security
//! page, then a code asked after every first factor (password, login link, new
//! password), each code accepted once, recovery codes single-use, wrong codes
//! throttled; and, when the settings require it, an admin without one can do
//! nothing but set it up. Codes are computed here by an RFC 6238 written
//! apart from the server's (HMAC-SHA-1 over the step), on the app's clock.

use std::time::Duration;

use app::domain::{Invalid, Locale, Role};
use app::ssr::db;
use app::ssr::entities::{recovery_code, session, user};
use app::ssr::services::error::ServiceError;
use app::ssr::services::links::{self, Purpose};
use app::ssr::services::second_factor::{self, Entry};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use serde_json::Value;

use crate::helpers::binary::binary_env;
use crate::helpers::peer::free_port;
use crate::helpers::{Customer, Options, TestApp, spawn_app_by_hand, spawn_app_with};

/// RFC 4648 base32 (no padding), as authenticator apps read the key.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let index = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase()).expect("a base32 letter");
        value = (value << 5) | index as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((value >> bits) & 0xff) as u8);
        }
    }
    out
}

/// The six-digit code of `secret` (base32) for the step holding `unix_ms` (RFC 6238 / RFC 4226).
fn code_at(secret: &str, unix_ms: i64) -> String {
    let step = u64::try_from(unix_ms / 1000 / 30).expect("after 1970");
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(&base32_decode(secret)).expect("key");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    format!("{:06}", binary % 1_000_000)
}

/// A code that is none of the three the server accepts around `unix_ms`.
fn wrong_code(secret: &str, unix_ms: i64) -> String {
    let near: Vec<String> = [-30_000, 0, 30_000].iter().map(|d| code_at(secret, unix_ms + d)).collect();
    (0..).map(|n| format!("{:06}", (123_456 + n * 7_919) % 1_000_000)).find(|c| !near.contains(c)).expect("a code")
}

/// A server function's answer: status and JSON body.
async fn call(app: &TestApp, client: &reqwest::Client, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = client
        .post(format!("{}/api/{endpoint}", app.address))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Logs in with the password on a fresh browser: (status, where to go next, the browser).
async fn password_login(app: &TestApp, admin: &Customer) -> (u16, Value, reqwest::Client) {
    let client = app.browser();
    let (status, next) =
        call(app, &client, "login", &[("email", admin.email.as_str()), ("password", admin.password.as_str())]).await;
    (status, next, client)
}

/// Whether `client` may act as an admin: the admins' list answers 200.
async fn admin_status(app: &TestApp, client: &reqwest::Client) -> u16 {
    call(app, client, "admin/admins", &[]).await.0
}

/// Enrols an authenticator app for `admin`, logged in on `client`: the secret and the recovery codes.
async fn enrol(app: &TestApp, client: &reqwest::Client, admin: &Customer) -> (String, Vec<String>) {
    let (status, enrollment) = call(app, client, "admin/security/begin", &[]).await;
    assert_eq!(status, 200, "{enrollment}");
    let secret = enrollment["secret"].as_str().expect("a secret").to_owned();
    let code = code_at(&secret, app.state.now_ms());
    let form = [("code", code.as_str()), ("password", admin.password.as_str())];
    let (status, codes) = call(app, client, "admin/security/confirm", &form).await;
    assert_eq!(status, 200, "{codes}");
    let codes = codes.as_array().expect("codes").iter().map(|c| c.as_str().expect("a code").to_owned()).collect();
    (secret, codes)
}

/// `secret` sealed as the server seals it, under `key`: `v1.` (no tag, as before `v2.`) or `v2.` (tagged).
fn seal_with(key: &[u8], secret: &[u8], tagged: bool) -> String {
    let mac = |purpose: &[u8], bytes: &[u8]| {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("key");
        mac.update(purpose);
        mac.update(bytes);
        mac.finalize().into_bytes()
    };
    let nonce = [7u8; 16];
    let pad = mac(b"echeancier-totp-seal:", &nonce);
    let mut sealed = nonce.to_vec();
    sealed.extend(secret.iter().zip(pad.iter()).map(|(s, p)| s ^ p));
    if !tagged {
        return format!("v1.{}", URL_SAFE_NO_PAD.encode(sealed));
    }
    let tag = mac(b"echeancier-totp-tag:", &sealed);
    sealed.extend_from_slice(&tag[..16]);
    format!("v2.{}", URL_SAFE_NO_PAD.encode(sealed))
}

/// A new app (no workers) and admin `name`, logged in on a browser with an app enrolled: the
/// browser, the app's secret and the recovery codes.
async fn enrolled(name: &str) -> (TestApp, Customer, reqwest::Client, String, Vec<String>) {
    let app = spawn_app_by_hand().await;
    let admin = app.admin(name).await;
    let (_, _, client) = password_login(&app, &admin).await;
    let (secret, codes) = enrol(&app, &client, &admin).await;
    (app, admin, client, secret, codes)
}

async fn account(app: &TestApp, admin: &Customer) -> user::Model {
    user::Entity::find_by_id(admin.id.get()).one(&app.state.db).await.expect("query").expect("the account")
}

#[tokio::test]
async fn an_admin_turns_on_the_second_factor_then_every_login_needs_a_code_that_works_once() {
    let app = spawn_app_by_hand().await;
    let alice = app.admin("Alice").await;
    let (status, next, client) = password_login(&app, &alice).await;
    assert_eq!((status, next.as_str()), (200, Some("/admin")), "no second factor yet: straight in");
    let (_, _, elsewhere) = password_login(&app, &alice).await;
    assert_eq!(admin_status(&app, &elsewhere).await, 200);

    // A code before any key was made for it: nothing waits, begin first (not « wrong code »).
    let early = [("code", "123456"), ("password", alice.password.as_str())];
    let (status, body) = call(&app, &client, "admin/security/confirm", &early).await;
    assert_eq!((status, body), (409, serde_json::json!({ "Refused": "EnrolmentGone" })));

    // The enrolment: a secret kept aside (sealed) until a first code confirms it.
    let (status, enrollment) = call(&app, &client, "admin/security/begin", &[]).await;
    assert_eq!(status, 200, "{enrollment}");
    let secret = enrollment["secret"].as_str().expect("a secret").to_owned();
    let uri = enrollment["uri"].as_str().expect("a URI");
    assert!(uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(enrollment["qr_svg"].as_str().is_some_and(|svg| svg.starts_with("<svg")), "a QR code");
    let stored = account(&app, &alice).await;
    let pending = stored.totp_pending.clone().expect("a pending secret");
    let sealed = URL_SAFE_NO_PAD.decode(pending.strip_prefix("v2.").expect("sealed")).expect("base64");
    let raw = base32_decode(&secret);
    assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_slice()), "the secret is not stored as is");
    assert!(stored.totp_secret.is_none(), "not on before a first code");

    let now = app.state.now_ms();
    let password = alice.password.as_str();
    let wrong = wrong_code(&secret, now);
    let (status, body) =
        call(&app, &client, "admin/security/confirm", &[("code", &wrong), ("password", password)]).await;
    assert_eq!(status, 422, "a wrong code turns nothing on: {body}");
    assert_eq!(body, serde_json::json!({ "Invalid": "WrongSetupCode" }));
    // Said to be wrong, in the reader's language (it read « Valeur invalide : code (6 chiffres…) », a format hint).
    let refusal: app::api::error::AppError = serde_json::from_value(body).expect("the server function's error");
    let (fr, en) = (refusal.message(Locale::Fr), refusal.message(Locale::En));
    assert!(fr.starts_with("Code incorrect") && en.starts_with("Incorrect code"), "{fr} / {en}");
    let first_code = code_at(&secret, now);
    let form = [("code", first_code.as_str()), ("password", "not the password")];
    let (status, body) = call(&app, &client, "admin/security/confirm", &form).await;
    assert_eq!(status, 422, "a session alone does not tie the account to a phone: the password too");
    assert_eq!(body, serde_json::json!({ "Invalid": "WrongPassword" }), "a wrong password, not a lost session");
    assert!(account(&app, &alice).await.totp_secret.is_none());

    // Typed with a space, as apps show it.
    let spaced = format!("{} {}", &first_code[..3], &first_code[3..]);
    let form = [("code", spaced.as_str()), ("password", password)];
    let (status, codes) = call(&app, &client, "admin/security/confirm", &form).await;
    assert_eq!(status, 200, "{codes}");
    let codes: Vec<String> =
        codes.as_array().expect("codes").iter().map(|c| c.as_str().expect("str").to_owned()).collect();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'), "{codes:?}");
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "ten different codes");
    let rows =
        recovery_code::Entity::find().filter(recovery_code::Column::UserId.eq(alice.id.get())).all(&app.state.db);
    let rows = rows.await.expect("rows");
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| codes.iter().all(|c| !r.code_hash.contains(&c.replace('-', "")))), "only hashes");
    assert_eq!(admin_status(&app, &client).await, 200, "this session stays");
    assert_eq!(admin_status(&app, &elsewhere).await, 401, "the other session did not pass the second factor: ended");
    // A session a password alone opened while the enrolment ran (a login racing it) is no session.
    let mut raced = app::ssr::auth::CurrentUser::try_from(account(&app, &alice).await).expect("user");
    raced.second_factor = false;
    let raced = app::ssr::auth::open_session(&app.state.db, raced, app.state.now_ms()).await.expect("row");
    let found = app::ssr::auth::user_for_token(&app.state, &raced.token).await.expect("query");
    assert!(found.is_none(), "a first factor alone is not a session of an account with a second factor");

    // A password alone no longer opens a session: the second step, by a cookie of this browser.
    let (status, next, browser) = password_login(&app, &alice).await;
    assert_eq!((status, next.as_str()), (200, Some("/login/code")));
    assert_eq!(admin_status(&app, &browser).await, 401, "not logged in yet");
    let (status, _) = call(&app, &app.browser(), "login/code", &[("code", &code_at(&secret, now))]).await;
    assert_eq!(status, 401, "another browser has no challenge");
    let (status, _) = call(&app, &browser, "login/code", &[("code", &wrong_code(&secret, now))]).await;
    assert_eq!(status, 422);
    let (status, _) = call(&app, &browser, "login/code", &[("code", first_code.as_str())]).await;
    assert_eq!(status, 422, "the enrolment's code is spent: a code works once");
    app.clock.advance(Duration::from_secs(30));
    let later = code_at(&secret, app.state.now_ms());
    let (status, next) = call(&app, &browser, "login/code", &[("code", later.as_str())]).await;
    assert_eq!((status, next.as_str()), (200, Some("/admin")));
    assert_eq!(admin_status(&app, &browser).await, 200, "logged in");
    let (status, _) = call(&app, &browser, "login/code", &[("code", later.as_str())]).await;
    assert_eq!(status, 401, "the challenge is spent");

    // Recovery codes: any case, with or without the dash, once each.
    let (_, _, phone_lost) = password_login(&app, &alice).await;
    let typed = codes[0].replace('-', "").to_uppercase();
    let (status, _) = call(&app, &phone_lost, "login/code", &[("code", typed.as_str())]).await;
    assert_eq!(status, 200, "a recovery code stands in for the app");
    let (_, _, again) = password_login(&app, &alice).await;
    let (status, _) = call(&app, &again, "login/code", &[("code", codes[0].as_str())]).await;
    assert_eq!(status, 422, "spent");
    let (status, _) = call(&app, &again, "login/code", &[("code", codes[1].as_str())]).await;
    assert_eq!(status, 200);
    let (status, now_status) = call(&app, &again, "admin/security", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(now_status, serde_json::json!({ "on": true, "required": false, "codes_left": 8 }));

    // Renewed codes replace the old ones; turned off (with a code), a password is enough again.
    app.clock.advance(Duration::from_secs(30));
    let code = code_at(&secret, app.state.now_ms());
    let (status, renewed) = call(&app, &again, "admin/security/codes", &[("code", code.as_str())]).await;
    assert_eq!(status, 200, "{renewed}");
    let (_, _, old_code) = password_login(&app, &alice).await;
    let (status, _) = call(&app, &old_code, "login/code", &[("code", codes[2].as_str())]).await;
    assert_eq!(status, 422, "the old codes stopped working");
    let fresh = renewed[0].as_str().expect("a renewed code");
    let (status, _) = call(&app, &again, "admin/security/off", &[("code", code.as_str())]).await;
    assert_eq!(status, 422, "the renewal's code is spent");
    let (status, _) = call(&app, &again, "admin/security/off", &[("code", fresh)]).await;
    assert_eq!(status, 200);
    let (status, next, _) = password_login(&app, &alice).await;
    assert_eq!((status, next.as_str()), (200, Some("/admin")));
    let codes_left =
        recovery_code::Entity::find().filter(recovery_code::Column::UserId.eq(alice.id.get())).count(&app.state.db);
    assert_eq!(codes_left.await.expect("count"), 0, "no codes without a second factor");
}

#[tokio::test]
async fn when_the_settings_require_it_an_admin_without_a_second_factor_can_only_set_one_up() {
    let app = spawn_app_with(Options { workers: false, env: vec![("ADMIN_TOTP_REQUIRED", "true".to_owned())] }).await;
    let bob = app.admin("Bob").await;
    let (status, next, client) = password_login(&app, &bob).await;
    assert_eq!((status, next.as_str()), (200, Some("/admin/security")), "sent to set it up");
    let (status, body) = call(&app, &client, "admin/admins", &[]).await;
    assert_eq!(status, 409);
    assert_eq!(body, serde_json::json!({ "Refused": "SecondFactorSetupRequired" }));
    let csv = client.get(format!("{}/admin/export.csv", app.address)).send().await.expect("answers");
    assert_eq!(csv.status().as_u16(), 409, "every admin entry, plain routes too");
    let live = client.get(format!("{}/events", app.address)).send().await.expect("answers");
    assert_eq!(live.status().as_u16(), 409, "the admins' live feed too");
    let (status, body) = call(&app, &client, "admin/security", &[]).await;
    assert_eq!((status, body), (200, serde_json::json!({ "on": false, "required": true, "codes_left": 0 })));

    // A customer is not concerned.
    let customer = app.customer("carole", None).await;
    let (status, next, _) = password_login(&app, &customer).await;
    assert_eq!((status, next.as_str()), (200, Some("/")));

    let (secret, _) = enrol(&app, &client, &bob).await;
    assert_eq!(admin_status(&app, &client).await, 200, "set up: the dashboard opens");
    app.clock.advance(Duration::from_secs(30));
    let code = code_at(&secret, app.state.now_ms());
    let (status, body) = call(&app, &client, "admin/security/off", &[("code", code.as_str())]).await;
    assert_eq!((status, body), (409, serde_json::json!({ "Refused": "SecondFactorRequired" })));
    assert!(account(&app, &bob).await.totp_secret.is_some(), "still on");

    // Phone and codes lost: the command line turns it off and ends the sessions;
    // the next login sets one up again.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["user", "reset-second-factor", "--email", bob.email.as_str()])
        .envs(binary_env(&app, &app.stripe, free_port()))
        .output()
        .await
        .expect("the server binary runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(admin_status(&app, &client).await, 401, "sessions ended");
    let reset = account(&app, &bob).await;
    assert!(reset.totp_secret.is_none() && reset.totp_last_step.is_none());
    let (status, next, _) = password_login(&app, &bob).await;
    assert_eq!((status, next.as_str()), (200, Some("/admin/security")));
    let unknown = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["user", "reset-second-factor", "--email", "personne@example.test"])
        .envs(binary_env(&app, &app.stripe, free_port()))
        .output()
        .await
        .expect("the server binary runs");
    assert!(!unknown.status.success(), "an unknown admin is an error");
}

#[tokio::test]
async fn a_login_link_or_a_new_password_is_a_first_factor_only_and_wrong_codes_are_throttled() {
    let (app, carl, _, secret, _) = enrolled("Carl").await;
    let sessions = || session::Entity::find().filter(session::Column::UserId.eq(carl.id.get())).count(&app.state.db);
    let before = sessions().await.expect("count");

    let issue = |purpose: Purpose| {
        let app = &app;
        let carl = &carl;
        async move {
            let txn = db::begin_write(&app.state.db).await.expect("txn");
            let row = account(app, carl).await;
            let link = links::issue(&app.state, &txn, &row, purpose, false, app.state.now_ms()).await.expect("link");
            txn.commit().await.expect("commit");
            link.split("token=").nth(1).and_then(|t| t.split('&').next()).expect("token").to_owned()
        }
    };
    let by_link = links::log_in(&app.state, &issue(Purpose::Login).await).await.expect("first factor");
    assert!(matches!(by_link, Entry::SecondFactor(_)), "a login link leads to the second step: {by_link:?}");
    let new_password = "un nouveau mot de passe bien long";
    let reset_token = issue(Purpose::ResetPassword).await;
    let reset = links::set_password(&app.state, &reset_token, new_password, new_password);
    let Entry::SecondFactor(challenge) = reset.await.expect("password set") else {
        panic!("a new password leads to the second step");
    };
    assert_eq!(before, 1);
    assert_eq!(sessions().await.expect("count"), 0, "no session opened; the reset ended the other one");

    // Five wrong codes, then even the right one waits (time stands still but for the test's own moves: the
    // wait is a second long).
    app.clock.freeze();
    app.clock.advance(Duration::from_secs(30));
    let now = app.state.now_ms();
    for _ in 0..5 {
        let wrong = second_factor::pass(&app.state, &challenge, &wrong_code(&secret, now), "203.0.113.7").await;
        assert!(matches!(wrong, Err(ServiceError::Invalid(Invalid::WrongCode))), "{wrong:?}");
    }
    let right = code_at(&secret, now);
    let held = second_factor::pass(&app.state, &challenge, &right, "203.0.113.7").await;
    assert!(matches!(held, Err(ServiceError::RateLimited)), "{held:?}");
    // The challenge lives five minutes: a fresh one after the wait.
    app.clock.advance(Duration::from_secs(6 * 60));
    let expired = second_factor::pass(&app.state, &challenge, &right, "203.0.113.7").await;
    assert!(matches!(expired, Err(ServiceError::Unauthenticated)), "the challenge expired: {expired:?}");
    let Entry::SecondFactor(fresh) = links::log_in(&app.state, &issue(Purpose::Login).await).await.expect("link")
    else {
        panic!("the second step");
    };
    let code = code_at(&secret, app.state.now_ms());
    let opened = second_factor::pass(&app.state, &fresh, &code, "203.0.113.7").await.expect("in");
    assert_eq!((opened.user.id, opened.user.role, opened.user.second_factor), (carl.id, Role::Admin, true));
}

#[tokio::test]
async fn two_renewals_at_once_with_two_recovery_codes_make_one_new_set_and_refuse_the_other_code() {
    let (app, dora, client, _, mut codes) = enrolled("Dora").await;
    // Two tabs renew at once, each with a recovery code of its own: both spend a code, then replace all of them.
    // The test holds the codes' rows a moment, so that both renewals are under way when they are let go.
    for round in 0..4 {
        let hold = db::begin_write(&app.state.db).await.expect("txn");
        let held =
            recovery_code::Entity::find().filter(recovery_code::Column::UserId.eq(dora.id.get())).lock_exclusive();
        assert_eq!(held.all(&hold).await.expect("lock").len(), 10);
        let (first, second, ()) = tokio::join!(
            second_factor::renew_codes(&app.state, dora.id, &codes[0]),
            second_factor::renew_codes(&app.state, dora.id, &codes[1]),
            async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                hold.commit().await.expect("let go");
            },
        );
        let (renewed, refused) = match (first, second) {
            (Ok(renewed), Err(refused)) | (Err(refused), Ok(renewed)) => (renewed, refused),
            other => panic!("round {round}: one renewal, and the other's code gone with the old set: {other:?}"),
        };
        assert!(matches!(refused, ServiceError::Invalid(Invalid::WrongCode)), "round {round}: {refused:?}");
        let stored = recovery_code::Entity::find()
            .filter(recovery_code::Column::UserId.eq(dora.id.get()))
            .filter(recovery_code::Column::UsedAt.is_null())
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!((stored, renewed.len()), (10, 10), "round {round}: one set of ten, all unused");
        codes = renewed;
    }
    let (status, _) = call(&app, &client, "admin/security/off", &[("code", codes[9].as_str())]).await;
    assert_eq!(status, 200, "the last set is the one that works");
}

#[tokio::test]
async fn a_key_sealed_under_another_app_secret_is_refused_as_such_and_an_untagged_one_is_sealed_again() {
    use secrecy::ExposeSecret as _;
    let (app, alice, _, secret, codes) = enrolled("Alice").await;
    let raw = base32_decode(&secret);
    let ours = app.state.settings.app_secret.expose_secret().as_bytes().to_vec();
    let (app, alice, secret, codes) = (&app, &alice, &secret, &codes);
    let store = move |sealed: String| async move {
        let row = user::ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(alice.id.get()),
            totp_secret: sea_orm::ActiveValue::Set(Some(sealed)),
            ..Default::default()
        };
        sea_orm::ActiveModelTrait::update(row, &app.state.db).await.expect("stored");
    };
    // A code of the next step, on a browser past the password.
    let login = move |code_of_step: bool| async move {
        app.clock.advance(Duration::from_secs(30));
        let (status, next, browser) = password_login(app, alice).await;
        assert_eq!((status, next.as_str()), (200, Some("/login/code")));
        let code = if code_of_step { code_at(secret, app.state.now_ms()) } else { codes[0].clone() };
        call(app, &browser, "login/code", &[("code", code.as_str())]).await
    };

    // The test's sealing is the server's: a key it sealed under the server's secret opens.
    store(seal_with(&ours, &raw, true)).await;
    assert_eq!(login(true).await.0, 200);

    // Sealed before tags (`v1.`): it still opens, and the accepted code seals it again, tagged.
    let untagged = seal_with(&ours, &raw, false);
    store(untagged.clone()).await;
    assert_eq!(login(true).await.0, 200);
    let resealed = account(app, alice).await.totp_secret.expect("still on");
    assert!(resealed.starts_with("v2.") && resealed != untagged, "{resealed}");
    assert_eq!(login(true).await.0, 200, "the new seal opens");

    // APP_SECRET changed since it was sealed: neither an app code nor a recovery code can be
    // right, and the admin is told why (not « wrong code » forever).
    store(seal_with(b"the secret before a rotation", &raw, true)).await;
    for by_app in [true, false] {
        let (status, body) = login(by_app).await;
        assert_eq!((status, &body), (409, &serde_json::json!({ "Refused": "SecondFactorUnreadable" })));
        let refusal: app::api::error::AppError = serde_json::from_value(body).expect("the server function's error");
        let (fr, en) = (refusal.message(Locale::Fr), refusal.message(Locale::En));
        assert!(fr.contains("APP_SECRET") && fr.contains("réinitialiser"), "{fr}");
        assert!(en.contains("APP_SECRET") && en.contains("reset"), "{en}");
    }
    // A changed byte of the key is refused the same way; nothing of it was spent.
    // A character in the middle (the last one's spare bits could make it a base64 error instead).
    let mut altered = seal_with(&ours, &raw, true).into_bytes();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
    store(String::from_utf8(altered).expect("ascii")).await;
    assert_eq!(login(true).await.1, serde_json::json!({ "Refused": "SecondFactorUnreadable" }));
    let unused = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(alice.id.get()))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(&app.state.db);
    assert_eq!(unused.await.expect("count"), 10, "no recovery code spent");
}
