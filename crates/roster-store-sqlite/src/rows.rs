//! This backend's rows: the column reader the shared decoders ([`roster_store_rows`]) read
//! through, and the SQL that writes workspaces and keys.

use chrono::{DateTime, Utc};
use roster_core::keys::ApiKey;
use roster_core::store::StoreError;
use roster_core::Workspace;
use roster_store_rows::{Col, Columns};
use rusqlite::types::{FromSql, FromSqlError, Value, ValueRef};
use rusqlite::{params, Row};

use crate::error::sql_error;

pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn time(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Backend(format!("stored time out of range: {micros}")))
}

pub(crate) fn get<T: FromSql>(row: &Row<'_>, column: &str) -> Result<T, StoreError> {
    row.get(column).map_err(sql_error)
}

/// SQL text and its parameters, built a clause at a time (`?N` placeholders).
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.params.push(value.into());
        self.text.push_str(&format!("?{}", self.params.len()));
        self
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

pub(crate) fn insert_workspace(
    tx: &rusqlite::Transaction<'_>,
    workspace: &Workspace,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO workspaces (id, name, roles, created_at, is_operator, rate_limit_per_minute,
                                 audit_retention_days, invitation_settings, auth_settings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            workspace.id,
            workspace.name,
            to_json(&workspace.roles)?,
            micros(workspace.created_at),
            workspace.is_operator,
            workspace.rate_limit_per_minute,
            workspace.audit_retention_days,
            to_json(&workspace.invitations)?,
            to_json(&workspace.auth)?,
        ],
    )
    .map_err(sql_error)?;
    Ok(tx.last_insert_rowid())
}

pub(crate) fn insert_api_key(
    tx: &rusqlite::Transaction<'_>,
    key: &ApiKey,
    workspace_pk: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO api_keys (id, workspace_pk, name, prefix, secret_hash, scopes, created_at,
                               expires_at, rate_limit_per_minute)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            key.id,
            workspace_pk,
            key.name,
            key.prefix,
            &key.secret_hash[..],
            to_json(&key.scopes)?,
            micros(key.created_at),
            key.expires_at.map(micros),
            key.rate_limit_per_minute,
        ],
    )
    .map(|_| ())
    .map_err(sql_error)
}

/// A row as the shared decoders read it ([`roster_store_rows::Columns`]): times are
/// microseconds since the epoch, JSON is text, flags are 0 or 1; a column with a position is
/// read by it.
pub(crate) struct Cells<'a, 'r>(pub &'a Row<'r>);

impl Cells<'_, '_> {
    fn value(&self, col: Col) -> Result<ValueRef<'_>, StoreError> {
        match col.at {
            Some(at) => self.0.get_ref(at),
            None => self.0.get_ref(col.name),
        }
        .map_err(sql_error)
    }
}

fn typed<T>(value: Result<T, FromSqlError>) -> Result<T, StoreError> {
    value.map_err(|e| sql_error(e.into()))
}

impl Columns for Cells<'_, '_> {
    fn int(&self, col: Col) -> Result<i64, StoreError> {
        typed(self.value(col)?.as_i64())
    }

    fn opt_int(&self, col: Col) -> Result<Option<i64>, StoreError> {
        typed(self.value(col)?.as_i64_or_null())
    }

    fn text(&self, col: Col) -> Result<String, StoreError> {
        typed(self.value(col)?.as_str()).map(str::to_owned)
    }

    fn opt_text(&self, col: Col) -> Result<Option<String>, StoreError> {
        typed(self.value(col)?.as_str_or_null()).map(|v| v.map(str::to_owned))
    }

    fn flag(&self, col: Col) -> Result<bool, StoreError> {
        self.int(col).map(|n| n != 0)
    }

    fn bytes(&self, col: Col) -> Result<Vec<u8>, StoreError> {
        typed(self.value(col)?.as_blob()).map(<[u8]>::to_vec)
    }

    fn time(&self, col: Col) -> Result<DateTime<Utc>, StoreError> {
        time(self.int(col)?)
    }

    fn opt_time(&self, col: Col) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_int(col)?.map(time).transpose()
    }

    fn uuid(&self, col: Col) -> Result<uuid::Uuid, StoreError> {
        typed(self.value(col)?.as_str())?
            .parse()
            .map_err(|e| StoreError::Backend(format!("stored {} is invalid: {e}", col.name)))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, col: Col) -> Result<T, StoreError> {
        serde_json::from_str(typed(self.value(col)?.as_str())?)
            .map_err(|e| StoreError::Backend(format!("stored {} is not valid JSON: {e}", col.name)))
    }
}

/// `rows::user(row)` and the like: each shared decoder over a SQLite row.
macro_rules! decoders {
    ($($name:ident -> $record:ty),* $(,)?) => {
        $(
            pub(crate) fn $name(row: &Row<'_>) -> Result<$record, StoreError> {
                roster_store_rows::$name(&Cells(row))
            }
        )*
    };
}

roster_store_rows::for_each_record!(decoders);
