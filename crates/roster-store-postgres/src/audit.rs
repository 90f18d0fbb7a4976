//! The audit log on PostgreSQL: appending to a workspace's chain inside the caller's
//! transaction. Taking the next sequence number updates (and so locks) the workspace's head
//! row, so concurrent writers of one workspace take turns at the chain and it never forks;
//! workspaces do not wait on each other.

use chrono::{DateTime, Utc};
use roster_core::audit::{AuditEvent, AuditHead, AuditQuery, NewEvent};
use roster_core::store::StoreError;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row, Transaction};

use crate::error::db_error;

/// Append `event` to `workspace_pk`'s chain in two statements: taking the next sequence
/// number locks the head row; writing the event and the new head hash is one statement.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Postgres>,
    workspace_pk: i64,
    event: &NewEvent,
) -> Result<(), StoreError> {
    let next = || {
        sqlx::query_as::<_, (i64, String)>(
            "UPDATE audit_heads SET last_seq = last_seq + 1 WHERE workspace_pk = $1
             RETURNING last_seq, last_hash",
        )
        .bind(workspace_pk)
    };
    let head = match next().fetch_optional(&mut **tx).await.map_err(db_error)? {
        Some(head) => head,
        None => {
            // A workspace's first event: make its head (another writer may race us to it).
            sqlx::query(
                "INSERT INTO audit_heads (workspace_pk, last_seq, last_hash) VALUES ($1, 0, '')
                 ON CONFLICT (workspace_pk) DO NOTHING",
            )
            .bind(workspace_pk)
            .execute(&mut **tx)
            .await
            .map_err(db_error)?;
            next().fetch_one(&mut **tx).await.map_err(db_error)?
        }
    };
    let (seq, prev) = head;
    let sealed = event.seal(workspace_pk, seq, &prev);
    sqlx::query(
        "WITH appended AS (
             INSERT INTO audit_events (id, workspace_pk, seq, occurred_at, action, actor_kind,
                 actor_id, target_user_id, request_id, ip, user_agent, changes, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         )
         UPDATE audit_heads SET last_hash = $14 WHERE workspace_pk = $2",
    )
    .bind(&sealed.id)
    .bind(workspace_pk)
    .bind(seq)
    .bind(sealed.occurred_at)
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
    Ok(())
}

pub(crate) fn event(row: &PgRow) -> Result<AuditEvent, StoreError> {
    let get = |e: sqlx::Error| db_error(e);
    Ok(AuditEvent {
        id: row.try_get("id").map_err(get)?,
        workspace_key: row.try_get("workspace_pk").map_err(get)?,
        seq: row.try_get("seq").map_err(get)?,
        occurred_at: row.try_get("occurred_at").map_err(get)?,
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
pub(crate) fn list_query(query: &AuditQuery) -> QueryBuilder<'static, Postgres> {
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
        q.push(" AND occurred_at >= ").push_bind(start);
    }
    if let Some(end) = query.end {
        q.push(" AND occurred_at < ").push_bind(end);
    }
    if let Some((at, seq)) = query.before {
        q.push(" AND (occurred_at, seq) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(seq)
            .push(")");
    }
    q.push(" ORDER BY occurred_at DESC, seq DESC LIMIT ")
        .push_bind(i64::from(query.limit));
    q
}

pub(crate) fn head(row: &PgRow) -> Result<AuditHead, StoreError> {
    Ok(AuditHead {
        last_seq: row.try_get("last_seq").map_err(db_error)?,
        last_hash: row.try_get("last_hash").map_err(db_error)?,
        checkpoint_seq: row.try_get("checkpoint_seq").map_err(db_error)?,
        checkpoint_hash: row.try_get("checkpoint_hash").map_err(db_error)?,
    })
}

/// Delete up to `batch` of the oldest events before `before` and move the checkpoint.
pub(crate) async fn purge(
    tx: &mut Transaction<'static, Postgres>,
    workspace_pk: i64,
    before: DateTime<Utc>,
    batch: u32,
) -> Result<u64, StoreError> {
    // The head lock keeps a concurrent append or purge of this workspace out.
    sqlx::query("SELECT 1 FROM audit_heads WHERE workspace_pk = $1 FOR UPDATE")
        .bind(workspace_pk)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    let last: Option<(i64, String)> = sqlx::query_as(
        "SELECT seq, hash FROM (
             SELECT seq, hash FROM audit_events
             WHERE workspace_pk = $1 AND occurred_at < $2
             ORDER BY seq LIMIT $3
         ) oldest ORDER BY seq DESC LIMIT 1",
    )
    .bind(workspace_pk)
    .bind(before)
    .bind(i64::from(batch))
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_error)?;
    let Some((last_seq, last_hash)) = last else {
        return Ok(0);
    };
    let done = sqlx::query("DELETE FROM audit_events WHERE workspace_pk = $1 AND seq <= $2")
        .bind(workspace_pk)
        .bind(last_seq)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    sqlx::query(
        "UPDATE audit_heads SET checkpoint_seq = $2, checkpoint_hash = $3 WHERE workspace_pk = $1",
    )
    .bind(workspace_pk)
    .bind(last_seq)
    .bind(&last_hash)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected())
}
