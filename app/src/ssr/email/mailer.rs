//! The mailer port and its SMTP implementation (lettre).

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;

/// A rendered email, ready to send.
#[derive(Clone, Debug)]
pub struct OutgoingEmail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body.
    pub text: String,
    /// Sent as the `X-Echeancier-Dedup` header so a resend can be traced to its cause.
    pub dedup_key: String,
    /// The `Message-ID` ([`message_id`]): the same on every try of one outbox row.
    pub message_id: String,
}

/// The `Message-ID` of outbox row `row_id` (dedup key `dedup_key`) sent by the site at `host`:
/// the same on every try of the row (an SMTP answer lost after the message was taken, then sent
/// again, is one message to the reader's mail client, which keeps one of the two) and its own to
/// the row — a warning withdrawn and queued again under the same key is another message, which a
/// client that saw the first must not fold into it.
#[must_use]
pub fn message_id(row_id: i64, dedup_key: &str, host: Option<&str>) -> String {
    let key = dedup_key.replace(|c: char| !c.is_ascii_alphanumeric(), ".");
    // A host name or an IPv4 address; an IPv6 literal (`[::1]`) is not a dot-atom.
    let host = host.filter(|h| !h.starts_with('[')).unwrap_or_default();
    let host: String = host.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')).collect();
    let host = host.trim_matches('.');
    let host = if host.is_empty() { "echeancier" } else { host };
    format!("<{key}.{row_id}@{host}>")
}

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The address or content cannot make a message; retrying will not help.
    #[error("invalid message: {0}")]
    Invalid(String),
    /// The SMTP server did not take it; retry later.
    #[error("SMTP failure: {0}")]
    Transport(String),
}

/// Sends email.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one email.
    ///
    /// # Errors
    /// See [`MailError`].
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}

/// Sends through an SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// Builds the transport from `smtp://host:port` or `smtps://user:pass@host:port`.
    ///
    /// # Errors
    /// A malformed URL or sender address.
    pub fn new(url: &secrecy::SecretString, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        Ok(Self { transport, from: from.parse()? })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let to: Mailbox =
            email.to.parse().map_err(|e: lettre::address::AddressError| MailError::Invalid(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .header(DedupHeader(email.dedup_key.clone()))
            .message_id(Some(email.message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| MailError::Invalid(e.to_string()))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| MailError::Transport(e.to_string()))
    }
}

/// `X-Echeancier-Dedup`: the outbox row's dedup key.
#[derive(Clone, Debug)]
struct DedupHeader(String);

impl lettre::message::header::Header for DedupHeader {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("X-Echeancier-Dedup")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::message_id;

    #[test]
    fn a_message_id_is_one_rows_on_every_try_and_its_own() {
        let first = message_id(41, "card_expiring:pm7:2027-03", Some("pay.example.fr"));
        assert_eq!(first, "<card.expiring.pm7.2027.03.41@pay.example.fr>");
        assert_eq!(first, message_id(41, "card_expiring:pm7:2027-03", Some("pay.example.fr")), "the same row");
        assert_ne!(first, message_id(58, "card_expiring:pm7:2027-03", Some("pay.example.fr")), "queued again");
        assert_eq!(message_id(3, "k", Some("[::1]")), "<k.3@echeancier>", "no host name: ours");
        assert_eq!(message_id(3, "k", None), "<k.3@echeancier>");
        assert_eq!(message_id(3, "k", Some("127.0.0.1")), "<k.3@127.0.0.1>");
    }
}
