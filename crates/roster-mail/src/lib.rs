//! Mail delivery: the outbox worker and its SMTP transport.
//!
//! Changes write their mail into the outbox in the same transaction (see
//! `roster_core::outbox`); [`run`] claims due mail every few seconds and hands it to a
//! [`roster_core::MailSender`]. [`SmtpSender`] sends over SMTP with lettre: `smtp://HOST:PORT`
//! (plain, for a relay on the same host or network, `?tls=required` for STARTTLS) or
//! `smtps://HOST:PORT` (TLS from the first byte), with `USER:PASSWORD@` for authentication.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use roster_core::{Mail, MailSender, Roster, SendError};

/// How many mails one round claims at most.
const BATCH: u32 = 50;

/// A bad `--smtp-url` or `--mail-from`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid SMTP URL: {0}")]
    Url(String),
    #[error("invalid sender address '{0}': {1}")]
    From(String, String),
}

/// Sends outbox mail over SMTP.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    /// A sender to the server at `url`, with `from` as the sender (`Name <address>` or an
    /// address).
    pub fn new(url: &str, from: &str) -> Result<Self, ConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| ConfigError::Url(e.to_string()))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| ConfigError::From(from.to_owned(), e.to_string()))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl MailSender for SmtpSender {
    async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let permanent = |message: String| SendError {
            permanent: true,
            message,
        };
        let to = mail
            .recipient
            .parse::<Mailbox>()
            .map_err(|e| permanent(format!("invalid recipient: {e}")))?;
        let text = mail
            .text
            .clone()
            .ok_or_else(|| permanent("the mail has no text left to send".to_owned()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|e| permanent(format!("cannot build the mail: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            })
    }
}

/// Deliver due mail every `every`, forever: each round claims mail until none is due.
/// Failures are retried with backoff by the core; errors of the store are logged and the
/// round is tried again at the next tick.
pub async fn run(roster: Roster, sender: Arc<dyn MailSender>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        loop {
            match roster.deliver_due_mail(sender.as_ref(), BATCH).await {
                Ok(report) => {
                    let handled = report.sent + report.retried + report.failed;
                    if handled > 0 {
                        tracing::info!(
                            sent = report.sent,
                            retried = report.retried,
                            failed = report.failed,
                            "mail delivery"
                        );
                    }
                    if handled < BATCH {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "mail delivery: cannot read the outbox");
                    break;
                }
            }
        }
    }
}
