//! The audit log on SQLite: appending to a workspace's chain inside the caller's write
//! transaction (writes are serialized by `BEGIN IMMEDIATE`, so reading the head and writing
//! the next link cannot race, even with another process on the file), reading, and purging.

use crate::audit;
use crate::rows;
use crate::SqliteStore;
use async_trait::async_trait;
use roster_core::store::AuditStore;

use chrono::{DateTime, Utc};
use roster_core::audit::{AuditEvent, AuditHead, AuditQuery, NewEvent};
use roster_core::store::StoreError;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::sql_error;
use crate::rows::{micros, Sql};

/// Append `event` to `workspace_pk`'s chain and move the chain's head to it.
pub(crate) fn append(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    event: &NewEvent,
) -> Result<(), StoreError> {
    let head: Option<(i64, String)> = tx
        .prepare_cached("SELECT last_seq, last_hash FROM audit_heads WHERE workspace_pk = ?1")
        .and_then(|mut head| {
            head.query_row([workspace_pk], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(sql_error)?;
    let (seq, prev) = match head {
        Some(head) => head,
        None => {
            tx.prepare_cached(
                "INSERT INTO audit_heads (workspace_pk, last_seq, last_hash) VALUES (?1, 0, '')",
            )
            .and_then(|mut start| start.execute([workspace_pk]))
            .map_err(sql_error)?;
            (0, String::new())
        }
    };
    let sealed = event.seal(workspace_pk, seq + 1, &prev);
    tx.prepare_cached(
        "INSERT INTO audit_events (id, workspace_pk, seq, occurred_at, action, actor_kind,
             actor_id, target_user_id, request_id, ip, user_agent, changes, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            sealed.id,
            sealed.workspace_key,
            sealed.seq,
            micros(sealed.occurred_at),
            sealed.action,
            sealed.actor_kind,
            sealed.actor_id,
            sealed.target_user_id,
            sealed.request_id,
            sealed.ip,
            sealed.user_agent,
            sealed.changes,
            sealed.prev_hash,
            sealed.hash,
        ])
    })
    .map_err(sql_error)?;
    tx.prepare_cached(
        "UPDATE audit_heads SET last_seq = ?2, last_hash = ?3 WHERE workspace_pk = ?1",
    )
    .and_then(|mut head| head.execute(params![workspace_pk, sealed.seq, sealed.hash]))
    .map_err(sql_error)?;
    Ok(())
}

/// Newest first by (time, seq); each filter has an index ending in (occurred_at, seq).
pub(crate) fn list_query(query: &AuditQuery) -> Sql {
    let mut q = Sql::new("SELECT * FROM audit_events WHERE workspace_pk = ");
    q.bind(query.workspace_key);
    if let Some(action) = &query.action {
        q.push(" AND action = ").bind(action.clone());
    }
    if let Some(user_id) = &query.user_id {
        q.push(" AND target_user_id = ").bind(user_id.clone());
    }
    if let Some(actor_id) = &query.actor_id {
        q.push(" AND actor_id = ").bind(actor_id.clone());
    }
    if let Some(start) = query.start {
        q.push(" AND occurred_at >= ").bind(micros(start));
    }
    if let Some(end) = query.end {
        q.push(" AND occurred_at < ").bind(micros(end));
    }
    if let Some((at, seq)) = query.before {
        q.push(" AND (occurred_at, seq) < (")
            .bind(micros(at))
            .push(", ")
            .bind(seq)
            .push(")");
    }
    q.push(" ORDER BY occurred_at DESC, seq DESC LIMIT ")
        .bind(i64::from(query.limit));
    q
}

/// Delete up to `batch` of the oldest events before `before` and move the checkpoint.
pub(crate) fn purge(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    before: DateTime<Utc>,
    batch: u32,
) -> Result<u64, StoreError> {
    let last: Option<AuditEvent> = tx
        .query_row(
            "SELECT * FROM (
                 SELECT * FROM audit_events
                 WHERE workspace_pk = ?1 AND occurred_at < ?2
                 ORDER BY seq LIMIT ?3
             ) ORDER BY seq DESC LIMIT 1",
            params![workspace_pk, micros(before), i64::from(batch)],
            |row| Ok(rows::event(row)),
        )
        .optional()
        .map_err(sql_error)?
        .transpose()?;
    let Some(last) = last else {
        return Ok(0);
    };
    let (last_seq, last_hash) = (last.seq, last.hash.clone());
    let kept = serde_json::to_string(&last)
        .map_err(|e| StoreError::Backend(format!("checkpoint event: {e}")))?;
    // Only a prefix of the chain is ever purged, so the checkpoint stays a link in it.
    let purged = tx
        .execute(
            "DELETE FROM audit_events WHERE workspace_pk = ?1 AND seq <= ?2",
            params![workspace_pk, last_seq],
        )
        .map_err(sql_error)?;
    tx.execute(
        "UPDATE audit_heads SET checkpoint_seq = ?2, checkpoint_hash = ?3, checkpoint_event = ?4
         WHERE workspace_pk = ?1",
        params![workspace_pk, last_seq, last_hash, kept],
    )
    .map_err(sql_error)?;
    Ok(purged as u64)
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_event(&self, workspace_key: i64, event: &NewEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.writer
            .write(move |tx| audit::append(tx, workspace_key, &event))
            .await
    }

    async fn list_audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let query = audit::list_query(query);
        self.reader.rows(
            &query.text,
            rusqlite::params_from_iter(query.params),
            rows::event,
        )
    }

    async fn audit_chain(
        &self,
        workspace_key: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.reader.rows(
            "SELECT * FROM audit_events WHERE workspace_pk = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            params![workspace_key, after_seq, i64::from(limit)],
            rows::event,
        )
    }

    async fn audit_head(&self, workspace_key: i64) -> Result<Option<AuditHead>, StoreError> {
        self.reader.row(
            "SELECT * FROM audit_heads WHERE workspace_pk = ?1",
            [workspace_key],
            rows::head,
        )
    }

    async fn purge_audit_events(
        &self,
        workspace_key: i64,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, StoreError> {
        self.writer
            .write_alone(move |tx| audit::purge(tx, workspace_key, before, batch))
            .await
    }
}
