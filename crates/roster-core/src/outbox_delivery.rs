//! The outbox operations: reading a workspace's mails, and delivering due mail with
//! leases, retries and backoff. What a mail is, and the delivery rules, live in `outbox`.

use chrono::Duration;

use crate::error::Result;
use crate::listing::{cut_page, fingerprint, Page};
use crate::outbox::{
    failure, Delivery, DeliveryReport, MailPage, MailSender, MailStatus, OutboxQuery, LEASE_SECONDS,
};
use crate::roster::Roster;
use crate::workspace::Workspace;

impl Roster {
    /// The workspace's mails, newest first.
    pub async fn list_outbox(
        &self,
        workspace: &Workspace,
        status: Option<&str>,
        page: &Page,
    ) -> Result<MailPage> {
        let status = status
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(MailStatus::parse)
            .transpose()?;
        let print = fingerprint(&[Some("outbox"), status.map(MailStatus::as_str)]);
        let (limit, before_key) = page.bounds(print)?;
        let query = OutboxQuery {
            workspace_key: workspace.key,
            status,
            before_key,
            limit: limit + 1,
        };
        let mut mails = self.store.list_outbox(&query).await?;
        let next_cursor = cut_page(&mut mails, limit, print, |m| m.key);
        Ok(MailPage { mails, next_cursor })
    }

    /// Claim up to `batch` due mails, send each through `sender`, and record what happened.
    pub async fn deliver_due_mail(
        &self,
        sender: &dyn MailSender,
        batch: u32,
    ) -> Result<DeliveryReport> {
        let now = self.clock.now();
        let due = self
            .store
            .claim_due_mail(now, now + Duration::seconds(LEASE_SECONDS), batch)
            .await?;
        let mut report = DeliveryReport::default();
        for mail in due {
            let outcome = match sender.send(&mail).await {
                Ok(()) => {
                    report.sent += 1;
                    Delivery::Sent {
                        at: self.clock.now(),
                    }
                }
                Err(error) => {
                    let outcome = failure(mail.attempts + 1, &error, self.clock.now());
                    tracing::warn!(mail = %mail.id, attempt = mail.attempts + 1, %error, "mail delivery failed");
                    match outcome {
                        Delivery::Failed { .. } => report.failed += 1,
                        _ => report.retried += 1,
                    }
                    outcome
                }
            };
            self.store.record_delivery(mail.key, &outcome).await?;
        }
        Ok(report)
    }
}
