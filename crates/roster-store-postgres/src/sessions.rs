//! Sessions and personal tokens on PostgreSQL.

use crate::PostgresStore;
use crate::{audit, rows, sessions};
use async_trait::async_trait;
use roster_core::audit::NewEvent;
use roster_core::store::SessionStore;
use roster_core::store::SignInName;
use roster_core::User;

use chrono::{DateTime, Utc};
use roster_core::session::{EndSessions, Session};
use roster_core::store::{SessionStart, StoreError};
use sqlx::{Postgres, Transaction};

use crate::error::db_error;

async fn insert(tx: &mut Transaction<'static, Postgres>, s: &Session) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id, workspace_pk, user_pk, kind, token_hash, created_at,
                               last_seen_at, expires_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&s.id)
    .bind(s.workspace_key)
    .bind(s.user_key)
    .bind(s.kind.as_str())
    .bind(s.token_hash.as_slice())
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .bind(s.expires_at)
    .bind(&s.ip)
    .bind(&s.user_agent)
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(db_error)
}

/// Write a sign-in; `Stale` if the user's live session count moved since it was read. The
/// user's row is locked first, so sign-ins of one user take turns.
pub(crate) async fn start(
    tx: &mut Transaction<'static, Postgres>,
    start: &SessionStart,
) -> Result<(), StoreError> {
    let s = &start.session;
    sqlx::query("SELECT pk FROM users WHERE pk = $1 FOR UPDATE")
        .bind(s.user_key)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE user_pk = $1 AND kind = 'session'
           AND ended_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(s.user_key)
    .bind(s.created_at)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_error)?;
    if u64::try_from(live).ok() != Some(start.expected_live) {
        return Err(StoreError::Stale);
    }
    if !start.evict.is_empty() {
        sqlx::query("UPDATE sessions SET ended_at = $2 WHERE pk = ANY($1) AND ended_at IS NULL")
            .bind(&start.evict)
            .bind(s.created_at)
            .execute(&mut **tx)
            .await
            .map_err(db_error)?;
    }
    insert(tx, s).await?;
    sqlx::query(
        "UPDATE users SET last_sign_in_at = current_sign_in_at, current_sign_in_at = $2,
                          password_hash = COALESCE($3, password_hash)
         WHERE pk = $1",
    )
    .bind(s.user_key)
    .bind(s.created_at)
    .bind(&start.rehash)
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(db_error)
}

/// Insert a personal token; false if the user has a live one.
pub(crate) async fn insert_personal(
    tx: &mut Transaction<'static, Postgres>,
    token: &Session,
) -> Result<bool, StoreError> {
    sqlx::query("SELECT pk FROM users WHERE pk = $1 FOR UPDATE")
        .bind(token.user_key)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    let exists: Option<i64> = sqlx::query_scalar(
        "SELECT pk FROM sessions WHERE user_pk = $1 AND kind = 'personal_token' AND ended_at IS NULL",
    )
    .bind(token.user_key)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_error)?;
    if exists.is_some() {
        return Ok(false);
    }
    insert(tx, token).await?;
    sqlx::query("UPDATE users SET has_authentication_token = true WHERE pk = $1")
        .bind(token.user_key)
        .execute(&mut **tx)
        .await
        .map(|_| true)
        .map_err(db_error)
}

pub(crate) async fn end_personal_token(
    tx: &mut Transaction<'static, Postgres>,
    user_pk: i64,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let ended = sqlx::query(
        "UPDATE sessions SET ended_at = $2
         WHERE user_pk = $1 AND kind = 'personal_token' AND ended_at IS NULL",
    )
    .bind(user_pk)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?
    .rows_affected();
    sqlx::query("UPDATE users SET has_authentication_token = false WHERE pk = $1")
        .bind(user_pk)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    Ok(ended)
}

/// End the chosen live sessions of a user of the workspace; returns how many.
pub(crate) async fn end(
    tx: &mut Transaction<'static, Postgres>,
    workspace_pk: i64,
    user_pk: i64,
    which: &EndSessions,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    match which {
        EndSessions::AllSessions => sqlx::query(
            "UPDATE sessions SET ended_at = $3 WHERE workspace_pk = $1 AND user_pk = $2
               AND kind = 'session' AND ended_at IS NULL",
        )
        .bind(workspace_pk)
        .bind(user_pk)
        .bind(at)
        .execute(&mut **tx)
        .await
        .map(|done| done.rows_affected())
        .map_err(db_error),
        EndSessions::One(id) => {
            let kind: Option<String> = sqlx::query_scalar(
                "SELECT kind FROM sessions WHERE workspace_pk = $1 AND user_pk = $2 AND id = $3
                   AND ended_at IS NULL",
            )
            .bind(workspace_pk)
            .bind(user_pk)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_error)?;
            match kind.as_deref() {
                None => Ok(0),
                Some("personal_token") => end_personal_token(tx, user_pk, at).await,
                Some(_) => sqlx::query(
                    "UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL",
                )
                .bind(id)
                .bind(at)
                .execute(&mut **tx)
                .await
                .map(|done| done.rows_affected())
                .map_err(db_error),
            }
        }
        EndSessions::PersonalToken => end_personal_token(tx, user_pk, at).await,
    }
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn find_sign_in(
        &self,
        workspace_key: i64,
        name: &SignInName,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let (sql, value) = match name {
            SignInName::EmailKey(key) => (
                "SELECT * FROM users WHERE workspace_pk = $1 AND email_key = $2 AND deleted_at IS NULL",
                key,
            ),
            SignInName::ExternalId(id) => (
                "SELECT * FROM users WHERE workspace_pk = $1 AND external_id = $2 AND deleted_at IS NULL",
                id,
            ),
        };
        let row = sqlx::query(sql)
            .bind(workspace_key)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| Ok((rows::user(&row)?, rows::get(&row, "password_hash")?)))
            .transpose()
    }

    async fn live_sessions(
        &self,
        workspace_key: i64,
        user_key: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "SELECT {} FROM sessions s WHERE s.user_pk = $1 AND s.workspace_pk = $2
               AND s.ended_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > $3)
             ORDER BY s.created_at, s.pk",
            roster_store_rows::SESSION_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(user_key)
            .bind(workspace_key)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::session).collect()
    }

    async fn start_session(
        &self,
        start: &SessionStart,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sessions::start(&mut tx, start).await?;
        audit::append(&mut tx, start.session.workspace_key, event).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn find_session(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Session, User, String)>, StoreError> {
        let sql = format!(
            "SELECT u.*, {}, w.id AS w_id FROM sessions s
               JOIN users u ON u.pk = s.user_pk JOIN workspaces w ON w.pk = s.workspace_pk
             WHERE s.token_hash = $1",
            roster_store_rows::SESSION_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(token_hash.as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| {
            Ok((
                rows::session(&row)?,
                rows::user(&row)?,
                rows::get(&row, "w_id")?,
            ))
        })
        .transpose()
    }

    async fn touch_session(
        &self,
        session_key: i64,
        last_seen_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE pk = $1")
            .bind(session_key)
            .bind(last_seen_at)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_error)
    }

    async fn end_sessions(
        &self,
        workspace_key: i64,
        user_key: i64,
        which: &EndSessions,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let ended = sessions::end(&mut tx, workspace_key, user_key, which, at).await?;
        if ended > 0 {
            audit::append(&mut tx, workspace_key, event).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(ended)
    }

    async fn insert_personal_token(
        &self,
        token: &Session,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if !sessions::insert_personal(&mut tx, token).await? {
            return Ok(false);
        }
        audit::append(&mut tx, token.workspace_key, event).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }
}
