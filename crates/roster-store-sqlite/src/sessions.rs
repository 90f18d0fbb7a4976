//! Sessions and personal tokens on SQLite.

use roster_core::session::{EndSessions, Session, SessionKind};
use roster_core::store::{SessionStart, StoreError};
use rusqlite::{params, Row, Transaction};

use crate::error::sql_error;
use crate::rows::{get, micros, time};

/// The `s_…` columns a joined session is read from.
pub(crate) const COLUMNS: &str = "s.pk AS s_pk, s.id AS s_id, s.workspace_pk AS s_workspace_pk,
    s.user_pk AS s_user_pk, s.kind AS s_kind, s.token_hash AS s_token_hash,
    s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at, s.expires_at AS s_expires_at,
    s.ip AS s_ip, s.user_agent AS s_user_agent, s.ended_at AS s_ended_at";

pub(crate) fn session(row: &Row<'_>) -> Result<Session, StoreError> {
    let kind: String = get(row, "s_kind")?;
    let hash: Vec<u8> = get(row, "s_token_hash")?;
    let optional_time = |column: &str| -> Result<_, StoreError> {
        get::<Option<i64>>(row, column)?.map(time).transpose()
    };
    Ok(Session {
        key: get(row, "s_pk")?,
        id: get(row, "s_id")?,
        workspace_key: get(row, "s_workspace_pk")?,
        user_key: get(row, "s_user_pk")?,
        kind: SessionKind::parse(&kind).ok_or_else(|| {
            StoreError::Backend(format!("stored session kind is unknown: {kind}"))
        })?,
        token_hash: hash
            .try_into()
            .map_err(|_| StoreError::Backend("stored token hash is not 32 bytes".into()))?,
        created_at: time(get(row, "s_created_at")?)?,
        last_seen_at: time(get(row, "s_last_seen_at")?)?,
        expires_at: optional_time("s_expires_at")?,
        ip: get(row, "s_ip")?,
        user_agent: get(row, "s_user_agent")?,
        ended_at: optional_time("s_ended_at")?,
    })
}

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
