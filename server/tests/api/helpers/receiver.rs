//! The host site's webhook endpoint, as a test runs it: records every
//! request (headers and raw body) and answers with the statuses it is told
//! (200 once they run out); it can go down (its port closed) and come back
//! on the same address.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the endpoint received.
#[derive(Clone, Debug)]
pub struct Received {
    /// `Echeancier-Signature`.
    pub signature: String,
    /// The raw body, as signed.
    pub body: String,
    /// What the endpoint answered.
    pub answered: u16,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON event")
    }
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    answers: Mutex<VecDeque<u16>>,
    /// How long the next requests take to be answered, in order of arrival (then at once).
    delays: Mutex<VecDeque<Duration>>,
    /// Requests arrived, answered or not yet.
    arrived: std::sync::atomic::AtomicUsize,
}

/// A running endpoint.
pub struct Receiver {
    /// `http://127.0.0.1:port/hooks`.
    pub url: String,
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().expect("lock").take() {
            task.abort();
        }
    }
}

async fn hook(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inner.arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let answered = inner.answers.lock().expect("lock").pop_front().unwrap_or(200);
    let delay = inner.delays.lock().expect("lock").pop_front().unwrap_or_default();
    tokio::time::sleep(delay).await;
    let signature = headers.get("echeancier-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    inner.received.lock().expect("lock").push(Received {
        signature,
        body: String::from_utf8_lossy(&body).into_owned(),
        answered,
    });
    StatusCode::from_u16(answered).expect("status")
}

impl Receiver {
    /// Starts on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let addr = listener.local_addr().expect("address");
        let receiver =
            Self { url: format!("http://{addr}/hooks"), addr, inner: Arc::default(), task: Mutex::new(None) };
        receiver.serve(listener);
        receiver
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let router = Router::new().route("/hooks", post(hook)).with_state(self.inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        *self.task.lock().expect("lock") = Some(task);
    }

    /// The next answers, in order (then 200).
    pub fn answer_with(&self, statuses: &[u16]) {
        self.inner.answers.lock().expect("lock").extend(statuses);
    }

    /// How long the next requests take to be answered, in the order they arrive (then at once).
    pub fn answer_after(&self, delays: &[Duration]) {
        self.inner.delays.lock().expect("lock").extend(delays);
    }

    /// Closes the port: connections are refused.
    pub async fn go_down(&self) {
        let task = self.task.lock().expect("lock").take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same address.
    pub async fn come_back(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("bind the receiver again");
        self.serve(listener);
    }

    /// How many requests arrived, those still waiting for their answer included.
    pub fn arrived(&self) -> usize {
        self.inner.arrived.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().expect("lock").clone()
    }

    /// Waits until `n` requests arrived (or `within` passes), and returns them.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= n || tokio::time::Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Whether the official Stripe library (stripe-python's
/// `WebhookSignature.verify_header`, with its default 300-second tolerance)
/// accepts `signature` for `body` with `secret`.
pub fn stripe_python_accepts(body: &str, signature: &str, secret: &str) -> bool {
    let command = std::env::var("ECHEANCIER_STRIPE_PEER").expect("ECHEANCIER_STRIPE_PEER (set by scripts/test)");
    let python = command.split_whitespace().next().expect("the peer's python");
    let script = "import sys, stripe\n\
        payload = sys.stdin.buffer.read().decode('utf-8')\n\
        try:\n    stripe.WebhookSignature.verify_header(payload, sys.argv[1], sys.argv[2], 300)\n\
        except Exception as e:\n    print(e); sys.exit(1)\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script, signature, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run stripe-python");
    {
        use std::io::Write as _;
        child.stdin.take().expect("stdin").write_all(body.as_bytes()).expect("write the payload");
    }
    child.wait().expect("stripe-python ran").success()
}
