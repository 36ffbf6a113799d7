//! A real SMTP server per test (maildev, from npm): the product sends through
//! SMTP, the test reads what arrived through maildev's REST API.

use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

use super::peer::free_port;

/// A running maildev.
pub struct MailCatcher {
    smtp: u16,
    web: u16,
    child: Option<Child>,
    http: reqwest::Client,
}

impl MailCatcher {
    /// Starts one (`ECHEANCIER_MAILDEV` is its binary, set by `scripts/test`).
    /// On fresh ports again if it exits at once (a port taken meanwhile by something else).
    pub async fn start() -> Self {
        let mut exits = Vec::new();
        for _ in 0..3 {
            let mut catcher = Self::unstarted();
            match catcher.launch().await {
                Ok(()) => return catcher,
                Err(exit) => exits.push(exit),
            }
        }
        panic!("maildev did not start: {exits:?}");
    }

    /// Ports chosen, nothing listening yet: sends fail until [`MailCatcher::restart`].
    pub fn unstarted() -> Self {
        Self { smtp: free_port(), web: free_port(), child: None, http: reqwest::Client::new() }
    }

    /// Whether it was started (and not stopped since).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// `smtp://127.0.0.1:port`.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp)
    }

    /// Stops the SMTP server (the app's sends fail until [`MailCatcher::restart`]).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same ports.
    pub async fn restart(&mut self) {
        if let Err(exit) = self.launch().await {
            panic!("maildev did not start again: {exit}");
        }
    }

    /// Starts maildev on its ports and waits until it answers; `Err` if it exited at start.
    async fn launch(&mut self) -> Result<(), String> {
        let binary =
            std::env::var("ECHEANCIER_MAILDEV").expect("ECHEANCIER_MAILDEV (set by scripts/test: the maildev binary)");
        let child = Command::new(binary)
            .args(["--smtp", &self.smtp.to_string(), "--web", &self.web.to_string(), "--ip", "127.0.0.1", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start maildev");
        self.child = Some(child);
        // Up to 30 s: a node process started while the whole suite runs on two cores can be slow.
        for _ in 0..600 {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(tokio::process::Child::try_wait) {
                self.child = None;
                return Err(format!("exited at start ({status}): port {} or {} taken?", self.smtp, self.web));
            }
            if self
                .http
                .get(format!("http://127.0.0.1:{}/email", self.web))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("maildev did not answer within 30 s on port {}", self.web);
    }

    /// Every message received since it started.
    pub async fn messages(&self) -> Vec<serde_json::Value> {
        let response =
            self.http.get(format!("http://127.0.0.1:{}/email", self.web)).send().await.expect("maildev answers");
        response.json().await.expect("maildev JSON")
    }

    /// Waits until at least `n` messages arrived (or `within` passed); returns them.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let messages = self.messages().await;
            if messages.len() >= n || tokio::time::Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The first `https?://…/payment/authenticate/…?token=…` link of a message's text.
pub fn recovery_link(message: &serde_json::Value) -> Option<String> {
    link_containing(message, "/payment/authenticate/")
}

/// The first link of the message's text part whose address contains `needle`.
pub fn link_containing(message: &serde_json::Value, needle: &str) -> Option<String> {
    message["text"]
        .as_str()?
        .split_whitespace()
        .find(|word| word.starts_with("http") && word.contains(needle))
        .map(str::to_owned)
}
