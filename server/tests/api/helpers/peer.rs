//! One localstripe per test: its own process, port and state.

use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::process::{Child, Command};

/// A running localstripe.
pub struct Peer {
    /// `http://127.0.0.1:port`.
    pub url: String,
    _child: Child,
    http: reqwest::Client,
}

/// Secret key the tests use with the peer.
pub const SECRET_KEY: &str = "sk_test_echeancier_tests";
/// Publishable key the tests use with the peer.
pub const PUBLISHABLE_KEY: &str = "pk_test_echeancier_tests";

impl Peer {
    /// Starts one (`ECHEANCIER_STRIPE_PEER` is the command, set by `scripts/test`): up to 30 s
    /// each (a Python process started while the whole suite runs on two cores can be slow; one
    /// CI run saw 10 s pass), on a fresh port again if it exits at once (its port taken meanwhile).
    pub async fn start() -> Self {
        let command = std::env::var("ECHEANCIER_STRIPE_PEER")
            .expect("ECHEANCIER_STRIPE_PEER (set by scripts/test: the localstripe launcher command)");
        let http = reqwest::Client::new();
        let mut exits = Vec::new();
        for _ in 0..3 {
            let mut words = command.split_whitespace();
            let program = words.next().expect("a command");
            let port = free_port();
            let mut child = Command::new(program)
                .args(words)
                .arg(port.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("start localstripe");
            let url = format!("http://127.0.0.1:{port}");
            for _ in 0..600 {
                if let Ok(Some(status)) = child.try_wait() {
                    exits.push(format!("port {port}: exited ({status})"));
                    break;
                }
                if http.get(format!("{url}/js.stripe.com/v3/")).send().await.is_ok_and(|r| r.status().is_success()) {
                    return Self { url, _child: child, http };
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if exits.last().is_none_or(|e| !e.starts_with(&format!("port {port}:"))) {
                panic!("localstripe did not answer within 30 s on port {port}");
            }
        }
        panic!("localstripe did not start: {exits:?}");
    }

    /// A raw call to the peer (test setup only; the product goes through the layer).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> serde_json::Value {
        post_form(&self.http, &self.url, path, form).await
    }

    /// A raw GET on the peer.
    pub async fn get(&self, path: &str) -> serde_json::Value {
        get_json(&self.http, &self.url, path).await
    }

    /// The client secret of a PaymentIntent (what Stripe.js is given).
    pub async fn client_secret(&self, payment_intent: &str) -> String {
        self.get(&format!("/v1/payment_intents/{payment_intent}")).await["client_secret"]
            .as_str()
            .expect("a client secret")
            .to_owned()
    }

    /// Every PaymentIntent on the peer (all pages).
    pub async fn payment_intents(&self) -> Vec<serde_json::Value> {
        let mut all = Vec::new();
        let mut after = String::new();
        loop {
            let page = self.get(&format!("/v1/payment_intents?limit=100{after}")).await;
            let data = page["data"].as_array().cloned().unwrap_or_default();
            let Some(last) = data.last().and_then(|p| p["id"].as_str()).map(str::to_owned) else {
                return all;
            };
            all.extend(data);
            if page["has_more"] != true {
                return all;
            }
            after = format!("&starting_after={last}");
        }
    }

    /// The PaymentIntents created for échéance `id`, whatever the attempt.
    pub async fn payment_intents_of(&self, echeance_id: i64) -> Vec<serde_json::Value> {
        let id = echeance_id.to_string();
        self.payment_intents().await.into_iter().filter(|pi| pi["metadata"]["echeance_id"] == id.as_str()).collect()
    }

    /// Registers a webhook endpoint.
    pub async fn register_webhook(&self, url: &str, secret: &str) {
        self.http
            .post(format!("{}/_config/webhooks/tests", self.url))
            .form(&[("url", url), ("secret", secret)])
            .send()
            .await
            .expect("register webhook");
    }
}

/// A POST with the secret key, as a merchant's own script or the Dashboard would send it.
pub async fn post_form(http: &reqwest::Client, base: &str, path: &str, form: &[(&str, &str)]) -> serde_json::Value {
    let response =
        http.post(format!("{base}{path}")).basic_auth(SECRET_KEY, Some("")).form(form).send().await.expect("answered");
    response.json().await.expect("JSON")
}

/// A GET with the secret key.
pub async fn get_json(http: &reqwest::Client, base: &str, path: &str) -> serde_json::Value {
    let response =
        http.get(format!("{base}{path}")).basic_auth(SECRET_KEY, Some("")).send().await.expect("peer answers");
    response.json().await.expect("peer JSON")
}

/// A loopback port free when asked and never handed to another caller of this process.
///
/// Not one the kernel picks (binding port 0, then closing): the kernel hands the ports of its
/// ephemeral range (32768–60999 on Linux) to every `bind(0)` and outgoing connection, so the
/// port could go to another test, or be some connection's own end, before the process it was
/// picked for listened on it — two tests then shared one mail catcher, or a catcher could not
/// start. These come from below that range, from a place that differs from process to process.
pub fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id() % 600 * 20;
    (0..COUNT)
        .map(|_| FIRST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % COUNT)
        .filter_map(|port| u16::try_from(port).ok())
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port between 20000 and 31999")
}
