//! The audit log on SQLite: appending to a workspace's chain inside the caller's write
//! transaction (writes are serialized by `BEGIN IMMEDIATE`, so reading the head and writing
//! the next link cannot race, even with another process on the file), reading, and purging.

use chrono::{DateTime, Utc};
use roster_core::audit::{AuditEvent, AuditHead, AuditQuery, NewEvent};
use roster_core::store::StoreError;
use rusqlite::{params, OptionalExtension, Transaction};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::error::{db_error, sql_error};
use crate::rows::{micros, time};

/// Append `event` to `workspace_pk`'s chain. The `audit_events_head` trigger moves the head.
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
    Ok(())
}

pub(crate) fn event(row: &SqliteRow) -> Result<AuditEvent, StoreError> {
    let get = |e: sqlx::Error| db_error(e);
    Ok(AuditEvent {
        id: row.try_get("id").map_err(get)?,
        workspace_key: row.try_get("workspace_pk").map_err(get)?,
        seq: row.try_get("seq").map_err(get)?,
        occurred_at: time(row.try_get("occurred_at").map_err(get)?)?,
        action: row.try_get("action").map_err(get)?,
        actor_kind: row.try_get("actor_kind").map_err(get)?,
        actor_id: row.try_get("actor_id").map_err(get)?,
        target_user_id: row.try_get("target_user_id").map_err(get)?,
        request_id: row.try_get("request_id").map_err(get)?,
        ip: row.try_get("ip").map_err(get)?,
        user_agent: row.try_get("user_agent").map_err(get)?,
        changes: row.try_get("changes").map_err(get)?,
        prev_hash: row.try_get("prev_hash").map_err(get)?,
        hash: row.try_get("hash").map_err(get)?,
    })
}

/// Newest first by (time, seq); each filter has an index ending in (occurred_at, seq).
pub(crate) fn list_query(query: &AuditQuery) -> QueryBuilder<'static, Sqlite> {
    let mut q = QueryBuilder::new("SELECT * FROM audit_events WHERE workspace_pk = ");
    q.push_bind(query.workspace_key);
    if let Some(action) = &query.action {
        q.push(" AND action = ").push_bind(action.clone());
    }
    if let Some(user_id) = &query.user_id {
        q.push(" AND target_user_id = ").push_bind(user_id.clone());
    }
    if let Some(actor_id) = &query.actor_id {
        q.push(" AND actor_id = ").push_bind(actor_id.clone());
    }
    if let Some(start) = query.start {
        q.push(" AND occurred_at >= ").push_bind(micros(start));
    }
    if let Some(end) = query.end {
        q.push(" AND occurred_at < ").push_bind(micros(end));
    }
    if let Some((at, seq)) = query.before {
        q.push(" AND (occurred_at, seq) < (")
            .push_bind(micros(at))
            .push(", ")
            .push_bind(seq)
            .push(")");
    }
    q.push(" ORDER BY occurred_at DESC, seq DESC LIMIT ")
        .push_bind(i64::from(query.limit));
    q
}

pub(crate) fn head(row: &SqliteRow) -> Result<AuditHead, StoreError> {
    Ok(AuditHead {
        last_seq: row.try_get("last_seq").map_err(db_error)?,
        last_hash: row.try_get("last_hash").map_err(db_error)?,
        checkpoint_seq: row.try_get("checkpoint_seq").map_err(db_error)?,
        checkpoint_hash: row.try_get("checkpoint_hash").map_err(db_error)?,
    })
}

/// Delete up to `batch` of the oldest events before `before` and move the checkpoint.
pub(crate) fn purge(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    before: DateTime<Utc>,
    batch: u32,
) -> Result<u64, StoreError> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM (
                 SELECT seq, hash FROM audit_events
                 WHERE workspace_pk = ?1 AND occurred_at < ?2
                 ORDER BY seq LIMIT ?3
             ) ORDER BY seq DESC LIMIT 1",
            params![workspace_pk, micros(before), i64::from(batch)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(sql_error)?;
    let Some((last_seq, last_hash)) = last else {
        return Ok(0);
    };
    // Only a prefix of the chain is ever purged, so the checkpoint stays a link in it.
    let purged = tx
        .execute(
            "DELETE FROM audit_events WHERE workspace_pk = ?1 AND seq <= ?2",
            params![workspace_pk, last_seq],
        )
        .map_err(sql_error)?;
    tx.execute(
        "UPDATE audit_heads SET checkpoint_seq = ?2, checkpoint_hash = ?3 WHERE workspace_pk = ?1",
        params![workspace_pk, last_seq, last_hash],
    )
    .map_err(sql_error)?;
    Ok(purged as u64)
}
