//! The audit chain of each workspace.

use crate::audit::{AuditEvent, AuditHead, AuditQuery, NewEvent};
use crate::error::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The audit chain of each workspace.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Append an event that goes with no change (a failed sign-in).
    async fn append_event(&self, workspace_key: i64, event: &NewEvent) -> Result<(), StoreError>;

    /// Events matching the query, newest first (by time, then sequence).
    async fn list_audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;

    /// Up to `limit` events of the workspace's chain with sequence above `after_seq`, in order.
    async fn audit_chain(
        &self,
        workspace_key: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// The workspace's chain head and checkpoint; `None` before its first event.
    async fn audit_head(&self, workspace_key: i64) -> Result<Option<AuditHead>, StoreError>;

    /// Delete up to `batch` of the workspace's oldest events that occurred before `before`,
    /// moving the checkpoint to the last one deleted, in one transaction. Returns how many.
    async fn purge_audit_events(
        &self,
        workspace_key: i64,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, StoreError>;

    /// Give the events written since the last call their place in each workspace's chain;
    /// how many. A store may commit a change with its event unsealed (PostgreSQL does, so
    /// that writers of one workspace need not wait for each other's commits) and seal it
    /// later: then this runs often (`roster serve`'s upkeep), and every read above seals
    /// first, so what a reader sees is sealed and includes every event committed before it
    /// asked. A store that seals each event as it is written has none.
    async fn seal_audit_events(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}
