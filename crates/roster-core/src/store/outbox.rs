//! The mail outbox and its delivery.

use crate::error::StoreError;
use crate::outbox::{Delivery, Mail, OutboxQuery};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The mail outbox and its delivery.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Mails of the outbox, newest first.
    async fn list_outbox(&self, query: &OutboxQuery) -> Result<Vec<Mail>, StoreError>;

    /// Up to `limit` pending mails of any workspace due at `now` (the longest due chosen
    /// first; returned in no particular order), each leased until `lease_until` (its next
    /// attempt moves there), so no other claimer gets it meanwhile. Safe to call from
    /// several nodes at once.
    async fn claim_due_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Mail>, StoreError>;

    /// Record an attempt's outcome: one more attempt; sent (the text dropped), due again,
    /// or failed.
    async fn record_delivery(&self, mail_key: i64, outcome: &Delivery) -> Result<(), StoreError>;
}
