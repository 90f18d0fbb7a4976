//! Sessions and personal tokens on SQLite.

use crate::SqliteStore;
use crate::{audit, rows, sessions};
use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use roster_core::audit::NewEvent;
use roster_core::store::SessionStore;
use roster_core::store::SignInName;
use roster_core::User;

use roster_core::session::{EndSessions, Session};
use roster_core::store::{SessionStart, StoreError};
use rusqlite::{params, Transaction};

use crate::error::sql_error;
use crate::rows::micros;

fn insert(tx: &Transaction<'_>, session: &Session) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO sessions (id, workspace_pk, user_pk, kind, token_hash, created_at,
                               last_seen_at, expires_at, ip, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            session.id,
            session.workspace_key,
            session.user_key,
            session.kind.as_str(),
            session.token_hash.as_slice(),
            micros(session.created_at),
            micros(session.last_seen_at),
            session.expires_at.map(micros),
            session.ip,
            session.user_agent,
        ])
    })
    .map(|_| ())
    .map_err(sql_error)
}

/// Write a sign-in; `Stale` if the user's live session count moved since it was read.
pub(crate) fn start(tx: &Transaction<'_>, start: &SessionStart) -> Result<(), StoreError> {
    let s = &start.session;
    let live: i64 = tx
        .prepare_cached(
            "SELECT count(*) FROM sessions WHERE user_pk = ?1 AND kind = 'session'
               AND ended_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
        )
        .and_then(|mut count| {
            count.query_row(params![s.user_key, micros(s.created_at)], |r| r.get(0))
        })
        .map_err(sql_error)?;
    if u64::try_from(live).ok() != Some(start.expected_live) {
        return Err(StoreError::Stale);
    }
    for key in &start.evict {
        tx.prepare_cached("UPDATE sessions SET ended_at = ?2 WHERE pk = ?1 AND ended_at IS NULL")
            .and_then(|mut end| end.execute(params![key, micros(s.created_at)]))
            .map_err(sql_error)?;
    }
    insert(tx, s)?;
    tx.prepare_cached(
        "UPDATE users SET last_sign_in_at = current_sign_in_at, current_sign_in_at = ?2,
                          password_hash = COALESCE(?3, password_hash)
         WHERE pk = ?1",
    )
    .and_then(|mut signed_in| {
        signed_in.execute(params![s.user_key, micros(s.created_at), start.rehash])
    })
    .map(|_| ())
    .map_err(sql_error)
}

/// Insert a personal token; false if the user has a live one.
pub(crate) fn insert_personal(tx: &Transaction<'_>, token: &Session) -> Result<bool, StoreError> {
    let exists = tx
        .prepare_cached(
            "SELECT 1 FROM sessions WHERE user_pk = ?1 AND kind = 'personal_token' AND ended_at IS NULL",
        )
        .and_then(|mut found| found.exists([token.user_key]))
        .map_err(sql_error)?;
    if exists {
        return Ok(false);
    }
    insert(tx, token)?;
    tx.prepare_cached("UPDATE users SET has_authentication_token = 1 WHERE pk = ?1")
        .and_then(|mut flag| flag.execute([token.user_key]))
        .map(|_| true)
        .map_err(sql_error)
}

pub(crate) fn end_personal_token(
    tx: &Transaction<'_>,
    user_pk: i64,
    at: i64,
) -> Result<u64, StoreError> {
    let ended = tx
        .prepare_cached(
            "UPDATE sessions SET ended_at = ?2
             WHERE user_pk = ?1 AND kind = 'personal_token' AND ended_at IS NULL",
        )
        .and_then(|mut end| end.execute(params![user_pk, at]))
        .map_err(sql_error)?;
    tx.prepare_cached("UPDATE users SET has_authentication_token = 0 WHERE pk = ?1")
        .and_then(|mut flag| flag.execute([user_pk]))
        .map_err(sql_error)?;
    Ok(ended as u64)
}

/// End the chosen live sessions of a user of the workspace; returns how many.
pub(crate) fn end(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    user_pk: i64,
    which: &EndSessions,
    at: i64,
) -> Result<u64, StoreError> {
    let ended = match which {
        EndSessions::AllSessions => tx
            .execute(
                "UPDATE sessions SET ended_at = ?3 WHERE workspace_pk = ?1 AND user_pk = ?2
                   AND kind = 'session' AND ended_at IS NULL",
                params![workspace_pk, user_pk, at],
            )
            .map_err(sql_error)? as u64,
        EndSessions::One(id) => {
            let personal: Option<String> = tx
                .query_row(
                    "SELECT kind FROM sessions WHERE workspace_pk = ?1 AND user_pk = ?2
                       AND id = ?3 AND ended_at IS NULL",
                    params![workspace_pk, user_pk, id],
                    |row| row.get(0),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    other => Err(other),
                })
                .map_err(sql_error)?;
            match personal.as_deref() {
                None => 0,
                Some("personal_token") => end_personal_token(tx, user_pk, at)?,
                Some(_) => tx
                    .execute(
                        "UPDATE sessions SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL",
                        params![id, at],
                    )
                    .map_err(sql_error)? as u64,
            }
        }
        EndSessions::PersonalToken => end_personal_token(tx, user_pk, at)?,
    };
    Ok(ended)
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn find_sign_in(
        &self,
        workspace_key: i64,
        name: &SignInName,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let (sql, value) = match name {
            SignInName::EmailKey(key) => (
                "SELECT * FROM users WHERE workspace_pk = ?1 AND email_key = ?2 AND deleted_at IS NULL",
                key,
            ),
            SignInName::ExternalId(id) => (
                "SELECT * FROM users WHERE workspace_pk = ?1 AND external_id = ?2 AND deleted_at IS NULL",
                id,
            ),
        };
        self.reader.row(sql, params![workspace_key, value], |row| {
            Ok((rows::user(row)?, rows::get(row, "password_hash")?))
        })
    }

    async fn live_sessions(
        &self,
        workspace_key: i64,
        user_key: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "SELECT {} FROM sessions s WHERE s.user_pk = ?1 AND s.workspace_pk = ?2
               AND s.ended_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?3)
             ORDER BY s.created_at, s.pk",
            roster_store_rows::SESSION_COLUMNS
        );
        self.reader.rows(
            &sql,
            params![user_key, workspace_key, rows::micros(now)],
            rows::session,
        )
    }

    async fn start_session(
        &self,
        start: &SessionStart,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let (start, event) = (start.clone(), event.clone());
        self.writer
            .write(move |tx| {
                sessions::start(tx, &start)?;
                audit::append(tx, start.session.workspace_key, &event)
            })
            .await
    }

    async fn find_session(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Session, User, String)>, StoreError> {
        let sql = format!(
            "SELECT u.*, {}, w.id AS w_id FROM sessions s
               JOIN users u ON u.pk = s.user_pk JOIN workspaces w ON w.pk = s.workspace_pk
             WHERE s.token_hash = ?1",
            roster_store_rows::SESSION_COLUMNS
        );
        self.reader.row(&sql, [token_hash.as_slice()], |row| {
            Ok((
                rows::session(row)?,
                rows::user(row)?,
                rows::get(row, "w_id")?,
            ))
        })
    }

    async fn touch_session(
        &self,
        session_key: i64,
        last_seen_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |tx| {
                tx.prepare_cached(
                    "UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE pk = ?1",
                )
                .and_then(|mut touch| {
                    touch.execute(params![
                        session_key,
                        rows::micros(last_seen_at),
                        expires_at.map(rows::micros)
                    ])
                })
                .map(|_| ())
                .map_err(sql_error)
            })
            .await
    }

    async fn end_sessions(
        &self,
        workspace_key: i64,
        user_key: i64,
        which: &EndSessions,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<u64, StoreError> {
        let (which, event) = (which.clone(), event.clone());
        self.writer
            .write(move |tx| {
                let ended = sessions::end(tx, workspace_key, user_key, &which, rows::micros(at))?;
                if ended > 0 {
                    audit::append(tx, workspace_key, &event)?;
                }
                Ok(ended)
            })
            .await
    }

    async fn insert_personal_token(
        &self,
        token: &Session,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let token = token.clone();
        self.write_audited(token.workspace_key, event, move |tx| {
            sessions::insert_personal(tx, &token)
        })
        .await
    }
}
