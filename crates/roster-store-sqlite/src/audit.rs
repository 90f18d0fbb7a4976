//! The audit log on SQLite: appending to a workspace's chain inside the caller's write
//! transaction (writes are serialized by `BEGIN IMMEDIATE`, so reading the head and writing
//! the next link cannot race), reading, and purging.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use roster_core::audit::{AuditEvent, AuditHead, AuditQuery, NewEvent};
use roster_core::store::StoreError;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use crate::error::db_error;
use crate::rows::{micros, time};

/// The last (seq, hash) this process wrote per workspace. Only a hint: an append that uses
/// it checks it against the stored head in the same statement, and re-reads on a mismatch
/// (another process wrote, or a transaction rolled back).
#[derive(Debug, Default, Clone)]
pub(crate) struct Heads(Arc<Mutex<HashMap<i64, (i64, String)>>>);

impl Heads {
    fn get(&self, workspace_pk: i64) -> Option<(i64, String)> {
        self.lock().get(&workspace_pk).cloned()
    }

    fn set(&self, workspace_pk: i64, seq: i64, hash: String) {
        self.lock().insert(workspace_pk, (seq, hash));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (i64, String)>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

const INSERT_EVENT: &str = "INSERT INTO audit_events (id, workspace_pk, seq, occurred_at, action,
        actor_kind, actor_id, target_user_id, request_id, ip, user_agent, changes, prev_hash, hash)
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14
    WHERE EXISTS (SELECT 1 FROM audit_heads
                  WHERE workspace_pk = ?2 AND last_seq = ?3 - 1 AND last_hash = ?13)";

/// Append `event` to `workspace_pk`'s chain. The `audit_events_head` trigger moves the head,
/// so the usual append is one statement; it only inserts if the head is where this process
/// last left it.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Sqlite>,
    heads: &Heads,
    workspace_pk: i64,
    event: &NewEvent,
) -> Result<(), StoreError> {
    if let Some((seq, hash)) = heads.get(workspace_pk) {
        let sealed = event.seal(workspace_pk, seq + 1, &hash);
        if insert(tx, &sealed).await? {
            heads.set(workspace_pk, sealed.seq, sealed.hash);
            return Ok(());
        }
    }
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT last_seq, last_hash FROM audit_heads WHERE workspace_pk = ?1")
            .bind(workspace_pk)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_error)?;
    let (seq, prev) = match head {
        Some(head) => head,
        None => {
            sqlx::query(
                "INSERT INTO audit_heads (workspace_pk, last_seq, last_hash) VALUES (?1, 0, '')",
            )
            .bind(workspace_pk)
            .execute(&mut **tx)
            .await
            .map_err(db_error)?;
            (0, String::new())
        }
    };
    let sealed = event.seal(workspace_pk, seq + 1, &prev);
    if !insert(tx, &sealed).await? {
        return Err(StoreError::Backend(
            "audit head moved inside a write transaction".into(),
        ));
    }
    heads.set(workspace_pk, sealed.seq, sealed.hash);
    Ok(())
}

async fn insert(
    tx: &mut Transaction<'static, Sqlite>,
    sealed: &AuditEvent,
) -> Result<bool, StoreError> {
    let done = sqlx::query(INSERT_EVENT)
        .bind(&sealed.id)
        .bind(sealed.workspace_key)
        .bind(sealed.seq)
        .bind(micros(sealed.occurred_at))
        .bind(&sealed.action)
        .bind(&sealed.actor_kind)
        .bind(&sealed.actor_id)
        .bind(&sealed.target_user_id)
        .bind(&sealed.request_id)
        .bind(&sealed.ip)
        .bind(&sealed.user_agent)
        .bind(&sealed.changes)
        .bind(&sealed.prev_hash)
        .bind(&sealed.hash)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
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
pub(crate) async fn purge(
    tx: &mut Transaction<'static, Sqlite>,
    workspace_pk: i64,
    before: DateTime<Utc>,
    batch: u32,
) -> Result<u64, StoreError> {
    let last: Option<(i64, String)> = sqlx::query_as(
        "SELECT seq, hash FROM (
             SELECT seq, hash FROM audit_events
             WHERE workspace_pk = ?1 AND occurred_at < ?2
             ORDER BY seq LIMIT ?3
         ) ORDER BY seq DESC LIMIT 1",
    )
    .bind(workspace_pk)
    .bind(micros(before))
    .bind(i64::from(batch))
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_error)?;
    let Some((last_seq, last_hash)) = last else {
        return Ok(0);
    };
    // Only a prefix of the chain is ever purged, so the checkpoint stays a link in it.
    let done = sqlx::query("DELETE FROM audit_events WHERE workspace_pk = ?1 AND seq <= ?2")
        .bind(workspace_pk)
        .bind(last_seq)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    sqlx::query(
        "UPDATE audit_heads SET checkpoint_seq = ?2, checkpoint_hash = ?3 WHERE workspace_pk = ?1",
    )
    .bind(workspace_pk)
    .bind(last_seq)
    .bind(&last_hash)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected())
}
