//! The audit log on PostgreSQL, sealed after the fact. A change writes its event to
//! `audit_pending` in the change's own statement and transaction, so the two commit
//! together or not at all, and takes no lock another change needs: writers of one
//! workspace commit side by side, and their WAL flushes are shared (group commit).
//!
//! The chain is made by [`seal`]: under the workspace head's row lock, it takes the pending
//! events in the order they arrived, gives each the next sequence number and its hash
//! (`AuditEvent::computed_hash`, linking it to the one before), moves them to
//! `audit_events` and moves the head, in one transaction. It runs from the server's upkeep
//! a few times a second ([`seal_all`], leaving a workspace another node is sealing to that
//! node) and before every read of a workspace's audit log that a pending event would be
//! part of ([`seal_for_read`], `seal_for_query`; waiting its turn), so a reader always sees
//! every event committed before it asked, in the chain.
//!
//! (Before migration 0016 the change's statement moved the head itself: every write of a
//! workspace then waited for the previous one's commit to reach the disk.)

use crate::audit;
use crate::rows;
use crate::PostgresStore;
use async_trait::async_trait;
use roster_core::store::AuditStore;

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use roster_core::audit::{AuditEvent, AuditHead, AuditQuery, NewEvent};
use roster_core::store::StoreError;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgPool, Postgres, QueryBuilder, Transaction};

use crate::error::db_error;

/// `change` (a statement with `RETURNING`, at most one row, using parameters `$1..$n`) and,
/// if it returned a row, its event written for the sealer, as one statement that returns
/// the change's row. The event's parameters follow the change's ([`bind_event`]).
pub(crate) fn audited(change: &str, change_params: usize) -> String {
    let p = |i: usize| format!("${}", change_params + i);
    let (ws, id, at, action, kind, actor, target, request, ip, agent, changes) = (
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
    );
    format!(
        "WITH changed AS ({change}),
         appended AS (
             INSERT INTO audit_pending (workspace_pk, id, occurred_at, action, actor_kind,
                 actor_id, target_user_id, request_id, ip, user_agent, changes)
             SELECT {ws}, {id}, {at}, {action}, {kind}, {actor}, {target}, {request}, {ip},
                    {agent}, {changes}
             FROM changed
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

/// How many pending events one sealing transaction takes. A server's upkeep finds a few
/// hundred at most (a fifth of a second's writes); a backlog (events CLI commands wrote
/// with no server running) goes in steps of this many, each holding the head's lock for
/// one short transaction.
const SEAL_BATCH: i64 = 1000;

/// Whether [`seal`] waits for a head another sealer holds, or leaves that workspace to it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Turn {
    /// A reader: what it reads must include every event committed before it asked.
    Wait,
    /// The upkeep: the holder seals what is pending, and the next round takes the rest.
    Skip,
}

/// Seal `workspace_pk`'s pending events into its chain, oldest arrival first, in batches
/// of [`SEAL_BATCH`] (one transaction each); how many it sealed.
pub(crate) async fn seal(pool: &PgPool, workspace_pk: i64, turn: Turn) -> Result<u64, StoreError> {
    let mut sealed = 0;
    loop {
        let mut tx = pool.begin().await.map_err(db_error)?;
        let batch = seal_batch(&mut tx, workspace_pk, turn).await?;
        if batch == 0 {
            return Ok(sealed);
        }
        tx.commit().await.map_err(db_error)?;
        sealed += batch;
        if batch < SEAL_BATCH as u64 {
            return Ok(sealed);
        }
    }
}

/// Seal up to [`SEAL_BATCH`] of `workspace_pk`'s pending events in `tx`; how many.
async fn seal_batch(
    tx: &mut Transaction<'static, Postgres>,
    workspace_pk: i64,
    turn: Turn,
) -> Result<u64, StoreError> {
    let lock = match turn {
        Turn::Wait => {
            "SELECT last_seq, last_hash FROM audit_heads WHERE workspace_pk = $1 FOR UPDATE"
        }
        Turn::Skip => {
            "SELECT last_seq, last_hash FROM audit_heads WHERE workspace_pk = $1
             FOR UPDATE SKIP LOCKED"
        }
    };
    // No head: another sealer holds it (`Skip`), or the workspace has none to seal into.
    let Some(head) = sqlx::query(lock)
        .bind(workspace_pk)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_error)?
    else {
        return Ok(0);
    };
    let (seq, hash): (i64, String) = (
        rows::get(&head, "last_seq")?,
        rows::get(&head, "last_hash")?,
    );
    // Read after the lock, so it holds every event committed before a sealer ahead of this
    // one let go of the head, and none of those that sealer took.
    let pending = sqlx::query(
        "SELECT arrival, id, workspace_pk, 0::int8 AS seq, occurred_at, action, actor_kind,
                actor_id, target_user_id, request_id, ip, user_agent, changes,
                '' AS prev_hash, '' AS hash
         FROM audit_pending WHERE workspace_pk = $1 ORDER BY arrival LIMIT $2",
    )
    .bind(workspace_pk)
    .bind(SEAL_BATCH)
    .fetch_all(&mut **tx)
    .await
    .map_err(db_error)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let chained = Chained::after(seq, hash, &pending)?;
    sqlx::query(
        "WITH chained AS (
             SELECT * FROM UNNEST($2::int8[], $3::int8[], $4::text[], $5::text[])
                 AS c (arrival, seq, prev_hash, hash)
         ),
         taken AS (
             DELETE FROM audit_pending p USING chained c
             WHERE p.workspace_pk = $1 AND p.arrival = c.arrival
             RETURNING p.*, c.seq, c.prev_hash, c.hash
         )
         INSERT INTO audit_events (id, workspace_pk, seq, occurred_at, action, actor_kind,
             actor_id, target_user_id, request_id, ip, user_agent, changes, prev_hash, hash)
         SELECT id, workspace_pk, seq, occurred_at, action, actor_kind, actor_id,
                target_user_id, request_id, ip, user_agent, changes, prev_hash, hash
         FROM taken",
    )
    .bind(workspace_pk)
    .bind(&chained.arrivals)
    .bind(&chained.seqs)
    .bind(&chained.prev_hashes)
    .bind(&chained.hashes)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    sqlx::query("UPDATE audit_heads SET last_seq = $2, last_hash = $3 WHERE workspace_pk = $1")
        .bind(workspace_pk)
        .bind(chained.seqs.last())
        .bind(chained.hashes.last())
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    Ok(pending.len() as u64)
}

/// One batch's chain links, column by column, for `UNNEST`.
#[derive(Default)]
struct Chained {
    arrivals: Vec<i64>,
    seqs: Vec<i64>,
    prev_hashes: Vec<String>,
    hashes: Vec<String>,
}

impl Chained {
    /// `pending` (rows of `audit_pending`), in order, chained after the event `seq` whose
    /// hash is `hash`.
    fn after(mut seq: i64, mut hash: String, pending: &[PgRow]) -> Result<Self, StoreError> {
        let mut chained = Self::default();
        for row in pending {
            let mut event = rows::event(row)?;
            seq += 1;
            event.seq = seq;
            event.prev_hash = std::mem::take(&mut hash);
            event.hash = event.computed_hash();
            hash.clone_from(&event.hash);
            chained.arrivals.push(rows::get::<i64>(row, "arrival")?);
            chained.seqs.push(event.seq);
            chained.prev_hashes.push(event.prev_hash);
            chained.hashes.push(event.hash);
        }
        Ok(chained)
    }
}

/// Seal what is pending for `workspace_pk` before its chain is read (one index probe when
/// nothing is).
pub(crate) async fn seal_for_read(pool: &PgPool, workspace_pk: i64) -> Result<(), StoreError> {
    seal_if_pending(pool, workspace_pk, None).await
}

/// Seal what is pending for `query`'s workspace before `query` is answered, if a pending
/// event would be among its answers (ignoring its cursor, which a pending event's time may
/// fall either side of). Sealing adds events and changes none, so when no pending event
/// passes the filters, the sealed ones alone are the answer: a question few events answer
/// (has this user been purged? on every 404) does not wait for the sealer's turn.
async fn seal_for_query(pool: &PgPool, query: &AuditQuery) -> Result<(), StoreError> {
    seal_if_pending(pool, query.workspace_key, Some(query)).await
}

/// Seal `workspace_pk`'s pending events if one is pending (that passes `filters`, when
/// given).
async fn seal_if_pending(
    pool: &PgPool,
    workspace_pk: i64,
    filters: Option<&AuditQuery>,
) -> Result<(), StoreError> {
    let mut probe =
        QueryBuilder::new("SELECT EXISTS (SELECT 1 FROM audit_pending WHERE workspace_pk = ");
    probe.push_bind(workspace_pk);
    if let Some(query) = filters {
        push_filters(&mut probe, query);
    }
    probe.push(")");
    let waiting: bool = probe
        .build_query_scalar()
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    if waiting {
        seal(pool, workspace_pk, Turn::Wait).await?;
    }
    Ok(())
}

/// Seal every workspace's pending events, leaving a workspace whose head another sealer
/// holds to it; how many it sealed.
pub(crate) async fn seal_all(pool: &PgPool) -> Result<u64, StoreError> {
    let workspaces: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT workspace_pk FROM audit_pending")
            .fetch_all(pool)
            .await
            .map_err(db_error)?;
    let mut sealed = 0;
    for workspace_pk in workspaces {
        sealed += seal(pool, workspace_pk, Turn::Skip).await?;
    }
    Ok(sealed)
}

/// Newest first by (time, seq); each filter has an index ending in (occurred_at, seq).
pub(crate) fn list_query(query: &AuditQuery) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new("SELECT * FROM audit_events WHERE workspace_pk = ");
    q.push_bind(query.workspace_key);
    push_filters(&mut q, query);
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

/// `query`'s filters but its cursor, as conditions on the columns `audit_events` and
/// `audit_pending` share.
fn push_filters(q: &mut QueryBuilder<'_, Postgres>, query: &AuditQuery) {
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
        audit::seal_for_query(&self.pool, query).await?;
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
        audit::seal_for_read(&self.pool, workspace_key).await?;
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
        audit::seal_for_read(&self.pool, workspace_key).await?;
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

    async fn seal_audit_events(&self) -> Result<u64, StoreError> {
        audit::seal_all(&self.pool).await
    }
}
