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
    /// Sent as `Message-ID`-like header so a resend can be traced (`X-Echeancier-Dedup`).
    pub dedup_key: String,
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
            .message_id(Some(format!(
                "<{}@echeancier>",
                email.dedup_key.replace(|c: char| !c.is_ascii_alphanumeric(), ".")
            )))
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
