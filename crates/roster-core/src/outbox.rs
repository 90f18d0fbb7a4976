//! The outbox: mail written in the same transaction as the change that calls for it, and
//! delivered afterwards by a worker with retries and backoff.
//!
//! Without a mail transport the outbox is a mail catcher: mails stay `pending` and readable
//! (`GET /v1/outbox`, `roster mail list`). With one, [`Roster::deliver_due_mail`] claims due
//! mails for a lease (so a node that dies mid-delivery leaves them to another), sends them,
//! and records the outcome. A delivered mail keeps its recipient and subject; its text,
//! which may hold a live token, is dropped. An invitation mail still pending when its
//! invitation is revoked (replaced, or the user deactivated or deleted) is withdrawn, its
//! dead token dropped, rather than sent.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::error::{Code, Error, Result};
use crate::listing::Cursor;

/// How often a mail is tried before it is marked failed.
pub const MAX_ATTEMPTS: u32 = 10;
/// The first retry waits this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF_SECONDS: i64 = 30;
const MAX_BACKOFF_SECONDS: i64 = 3_600;
/// How long a claimed mail is left to its claimer before another node may try it.
pub(crate) const LEASE_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStatus {
    Pending,
    Sent,
    Failed,
    /// Not sent, and never will be: what it carried was revoked first (an invitation
    /// replaced by a new one, or withdrawn by deactivation or deletion).
    Withdrawn,
}

impl MailStatus {
    pub const ALL: [MailStatus; 4] = [Self::Pending, Self::Sent, Self::Failed, Self::Withdrawn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim())
            .ok_or_else(|| {
                Error::field(
                    Code::InvalidStatus,
                    "status",
                    "Unknown mail status; use pending, sent, failed or withdrawn.",
                )
            })
    }
}

/// A mail in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Assigned by the store; the list order.
    pub key: i64,
    /// `mail_…`.
    pub id: String,
    pub workspace_key: i64,
    /// The user the mail is about; for a user created in the same write, the store uses the
    /// key it assigns.
    pub user_key: Option<i64>,
    /// What the mail is, e.g. `invitation`.
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    /// Dropped once delivered.
    pub text: Option<String>,
    pub status: MailStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent {
        at: DateTime<Utc>,
    },
    /// Failed for now; try again at `next_attempt_at`.
    Retry {
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    /// Failed for good (a permanent refusal, or the last attempt).
    Failed {
        error: String,
    },
}

/// Why a transport could not send a mail.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// The server refused the mail for good (an SMTP 5xx): retrying will not help.
    pub permanent: bool,
    pub message: String,
}

/// A way to send mail (SMTP in the server; a recorder in tests).
#[async_trait]
pub trait MailSender: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), SendError>;
}

/// What one round of delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u32,
    pub retried: u32,
    pub failed: u32,
}

/// The wait before attempt `attempts + 1`, after `attempts` failures.
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    Duration::seconds((FIRST_BACKOFF_SECONDS << doublings).min(MAX_BACKOFF_SECONDS))
}

/// The outcome of a failed attempt (the `attempts`-th).
pub fn failure(attempts: u32, error: &SendError, now: DateTime<Utc>) -> Delivery {
    let error_text: String = error.message.chars().take(500).collect();
    if error.permanent || attempts >= MAX_ATTEMPTS {
        Delivery::Failed { error: error_text }
    } else {
        Delivery::Retry {
            error: error_text,
            next_attempt_at: now + backoff(attempts),
        }
    }
}

/// A checked outbox list request, as the store receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxQuery {
    pub workspace_key: i64,
    pub status: Option<MailStatus>,
    pub before_key: Option<i64>,
    /// One more than the page size.
    pub limit: u32,
}

/// One page of the outbox.
#[derive(Debug, Clone)]
pub struct MailPage {
    pub mails: Vec<Mail>,
    pub next_cursor: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(9), Duration::seconds(3_600));
        assert_eq!(backoff(u32::MAX), Duration::seconds(3_600));
    }

    #[test]
    fn permanent_and_last_failures_are_final() {
        let now = Utc::now();
        let transient = SendError {
            permanent: false,
            message: "451 try later".into(),
        };
        assert!(matches!(
            failure(1, &transient, now),
            Delivery::Retry { next_attempt_at, .. } if next_attempt_at == now + Duration::seconds(30)
        ));
        assert!(matches!(
            failure(MAX_ATTEMPTS, &transient, now),
            Delivery::Failed { .. }
        ));
        let permanent = SendError {
            permanent: true,
            message: "550 no such user".into(),
        };
        assert!(matches!(
            failure(1, &permanent, now),
            Delivery::Failed { .. }
        ));
    }
}
