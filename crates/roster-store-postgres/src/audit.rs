//! The audit log on PostgreSQL. The database seals each event (`roster_audit_hash`, the same
//! hash as `AuditEvent::computed_hash`), so a change, its event and the chain's new head are
//! one statement: moving the head row takes the next sequence number and locks the row until
//! the transaction ends, so concurrent writers of one workspace take turns at the chain and
//! it never forks; workspaces do not wait on each other.

use crate::audit;
use crate::rows;
use crate::PostgresStore;
use async_trait::async_trait;
use roster_core::store::AuditStore;

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use roster_core::audit::{AuditEvent, AuditHead, AuditQuery, NewEvent};
use roster_core::store::StoreError;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{Postgres, QueryBuilder, Transaction};

use crate::error::db_error;

/// `change` (a statement with `RETURNING`, at most one row, using parameters `$1..$n`) and,
/// if it returned a row, its event appended to the workspace's chain, as one statement that
/// returns the change's row. The event's parameters follow the change's ([`bind_event`]).
///
/// The event row is joined to the head with a LEFT JOIN: a workspace without a head would
/// give the event a NULL sequence number and fail the whole statement, never commit the
/// change alone.
pub(crate) fn audited(change: &str, change_params: usize) -> String {
    let p = |i: usize| format!("${}", change_params + i);
    let (ws, id, at, micros, action, kind, actor, target, request, ip, agent, changes) = (
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7),
        p(8),
        p(9),
        p(10),
        p(11),
        p(12),
    );
    format!(
        "WITH changed AS ({change}),
         head AS (
             UPDATE audit_heads SET last_seq = last_seq + 1, prev_hash = last_hash,
                 last_hash = roster_audit_hash(last_hash, last_seq + 1, workspace_pk, {id},
                     {micros}, {action}, {kind}, {actor}, {target}, {request}, {ip}, {agent},
                     {changes})
             WHERE workspace_pk = {ws} AND EXISTS (SELECT 1 FROM changed)
             RETURNING last_seq, prev_hash, last_hash
         ),
         appended AS (
             INSERT INTO audit_events (id, workspace_pk, seq, occurred_at, action, actor_kind,
                 actor_id, target_user_id, request_id, ip, user_agent, changes, prev_hash, hash)
             SELECT {id}, {ws}, head.last_seq, {at}, {action}, {kind}, {actor}, {target},
                    {request}, {ip}, {agent}, {changes}, head.prev_hash, head.last_hash
             FROM changed LEFT JOIN head ON true
         )
         SELECT * FROM changed"
    )
}

/// Bind `event`'s parameters, in the order [`audited`] numbers them.
pub(crate) fn bind_event<'q>(
    query: Query<'q, Postgres, PgArguments>,
    workspace_pk: i64,
    event: &'q NewEvent,
) -> Query<'q, Postgres, PgArguments> {
    query
        .bind(workspace_pk)
        .bind(&event.id)
        .bind(event.occurred_at)
        .bind(event.occurred_at.timestamp_micros())
        .bind(event.action.as_str())
        .bind(event.actor_kind)
        .bind(&event.actor_id)
        .bind(&event.target_user_id)
        .bind(&event.request_id)
        .bind(&event.ip)
        .bind(&event.user_agent)
        .bind(&event.changes)
}

/// Appending with no change of its own to go with it.
static APPEND: LazyLock<String> = LazyLock::new(|| audited("SELECT 1 AS appended", 0));

/// Append `event` to `workspace_pk`'s chain inside the caller's transaction.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Postgres>,
    workspace_pk: i64,
    event: &NewEvent,
) -> Result<(), StoreError> {
    bind_event(sqlx::query(APPEND.as_str()), workspace_pk, event)
        .execute(&mut **tx)
        .await
        .map(|_| ())
        .map_err(db_error)
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
    let last = sqlx::query(
        "SELECT * FROM (
             SELECT * FROM audit_events
             WHERE workspace_pk = $1 AND occurred_at < $2
             ORDER BY seq LIMIT $3
         ) oldest ORDER BY seq DESC LIMIT 1",
    )
    .bind(workspace_pk)
    .bind(before)
    .bind(i64::from(batch))
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_error)?
    .map(|row| rows::event(&row))
    .transpose()?;
    let Some(last) = last else {
        return Ok(0);
    };
    let (last_seq, last_hash) = (last.seq, last.hash.clone());
    let kept = serde_json::to_string(&last)
        .map_err(|e| StoreError::Backend(format!("checkpoint event: {e}")))?;
    let done = sqlx::query("DELETE FROM audit_events WHERE workspace_pk = $1 AND seq <= $2")
        .bind(workspace_pk)
        .bind(last_seq)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    sqlx::query(
        "UPDATE audit_heads SET checkpoint_seq = $2, checkpoint_hash = $3, checkpoint_event = $4
         WHERE workspace_pk = $1",
    )
    .bind(workspace_pk)
    .bind(last_seq)
    .bind(&last_hash)
    .bind(kept)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected())
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn append_event(&self, workspace_key: i64, event: &NewEvent) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn list_audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = audit::list_query(query)
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::event).collect()
    }

    async fn audit_chain(
        &self,
        workspace_key: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM audit_events WHERE workspace_pk = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(workspace_key)
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(rows::event).collect()
    }

    async fn audit_head(&self, workspace_key: i64) -> Result<Option<AuditHead>, StoreError> {
        sqlx::query("SELECT * FROM audit_heads WHERE workspace_pk = $1")
            .bind(workspace_key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::head)
            .transpose()
    }

    async fn purge_audit_events(
        &self,
        workspace_key: i64,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let purged = audit::purge(&mut tx, workspace_key, before, batch).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(purged)
    }
}
