//! The real server binary (`serve`, or a one-shot command), started with a
//! test app's settings as its environment and the Stripe layer given.

use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

use super::{StripeLayer, TestApp, WEBHOOK_SECRET};

/// The environment the binary gets: the app's database, `stripe` as Stripe, `port` as its site.
pub fn binary_env(app: &TestApp, stripe: &StripeLayer, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("APP_ENV", "development".to_owned()),
        ("DATABASE_URL", app.db.url.clone()),
        ("STRIPE_SECRET_KEY", super::peer::SECRET_KEY.to_owned()),
        ("STRIPE_PUBLISHABLE_KEY", super::peer::PUBLISHABLE_KEY.to_owned()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ("STRIPE_API_BASE", format!("{}/", stripe.url)),
        ("STRIPE_JS_URL", format!("{}/js.stripe.com/v3/", stripe.url)),
        ("STRIPE_TIMEOUT_SECS", "3".to_owned()),
        ("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")),
        ("APP_BASE_URL", format!("http://127.0.0.1:{port}/")),
        ("SMTP_URL", "smtp://127.0.0.1:9".to_owned()),
        ("APP_SECRET", "tests-secret-0123456789abcdef0123456789".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]
}

/// `server serve` on `port`, answering `/health`; `extra` overrides the environment.
pub async fn start_binary_with(
    app: &TestApp,
    stripe: &StripeLayer,
    port: u16,
    extra: &[(&'static str, String)],
) -> Child {
    let address = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("serve")
        .envs(binary_env(app, stripe, port))
        .envs(extra.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server binary");
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http.get(format!("{address}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server binary did not start");
}

/// `server serve` on `port` with the app's settings.
pub async fn start_binary(app: &TestApp, stripe: &StripeLayer, port: u16) -> Child {
    start_binary_with(app, stripe, port, &[]).await
}
