//! Rows to domain values and back.

use chrono::{DateTime, Utc};
use roster_core::keys::ApiKey;
use roster_core::signing::SigningKey;
use roster_core::store::StoreError;
use roster_core::ApiClient;
use roster_core::{User, UserStatus, Workspace};
use rusqlite::types::{FromSql, Value};
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

fn json<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("stored {column} is not valid JSON: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

pub(crate) fn workspace(row: &Row<'_>) -> Result<Workspace, StoreError> {
    Ok(Workspace {
        key: get(row, "pk")?,
        id: get(row, "id")?,
        name: get(row, "name")?,
        roles: json(&get::<String>(row, "roles")?, "roles")?,
        created_at: time(get(row, "created_at")?)?,
        is_operator: get(row, "is_operator")?,
        rate_limit_per_minute: get(row, "rate_limit_per_minute")?,
        audit_retention_days: get(row, "audit_retention_days")?,
        invitations: json(
            &get::<String>(row, "invitation_settings")?,
            "invitation_settings",
        )?,
        auth: json(&get::<String>(row, "auth_settings")?, "auth_settings")?,
    })
}

pub(crate) fn api_key(row: &Row<'_>) -> Result<ApiKey, StoreError> {
    let hash: Vec<u8> = get(row, "secret_hash")?;
    Ok(ApiKey {
        id: get(row, "key_id")?,
        workspace_key: get(row, "workspace_pk")?,
        name: get(row, "key_name")?,
        prefix: get(row, "prefix")?,
        secret_hash: hash
            .try_into()
            .map_err(|_| StoreError::Backend("stored secret hash is not 32 bytes".into()))?,
        scopes: json(&get::<String>(row, "scopes")?, "scopes")?,
        created_at: time(get(row, "key_created_at")?)?,
        expires_at: get::<Option<i64>>(row, "expires_at")?
            .map(time)
            .transpose()?,
        rate_limit_per_minute: get(row, "key_rate_limit")?,
        last_used_at: get::<Option<i64>>(row, "last_used_at")?
            .map(time)
            .transpose()?,
    })
}

pub(crate) fn api_client(row: &Row<'_>) -> Result<ApiClient, StoreError> {
    let hash: Vec<u8> = get(row, "secret_hash")?;
    Ok(ApiClient {
        client_id: get(row, "client_id")?,
        workspace_key: get(row, "workspace_pk")?,
        name: get(row, "client_name")?,
        secret_hash: hash
            .try_into()
            .map_err(|_| StoreError::Backend("stored secret hash is not 32 bytes".into()))?,
        scopes: json(&get::<String>(row, "scopes")?, "scopes")?,
        admin_api_enabled: get(row, "admin_api_enabled")?,
        rate_limit_per_minute: get(row, "client_rate_limit")?,
        created_at: time(get(row, "client_created_at")?)?,
    })
}

pub(crate) fn signing_key(row: &Row<'_>) -> Result<SigningKey, StoreError> {
    Ok(SigningKey {
        kid: get(row, "kid")?,
        private_pem: get(row, "private_pem")?,
        modulus: get(row, "modulus")?,
        exponent: get(row, "exponent")?,
        created_at: time(get(row, "created_at")?)?,
        retires_at: get::<Option<i64>>(row, "retires_at")?
            .map(time)
            .transpose()?,
    })
}

/// A `users` row read with `SELECT *` (or `u.*`), by column position, which is the table's
/// column order (migrations only ever add columns at the end): reading a row by names costs a
/// scan of the column names per field, and this is the hottest read there is.
pub(crate) fn user(row: &Row<'_>) -> Result<User, StoreError> {
    let at = |i: usize| -> Result<_, StoreError> { row.get_ref(i).map_err(sql_error) };
    let text = |i: usize| -> Result<String, StoreError> {
        at(i)?
            .as_str()
            .map(str::to_owned)
            .map_err(|e| sql_error(e.into()))
    };
    let optional = |i: usize| -> Result<Option<String>, StoreError> {
        at(i)?
            .as_str_or_null()
            .map(|v| v.map(str::to_owned))
            .map_err(|e| sql_error(e.into()))
    };
    let integer =
        |i: usize| -> Result<i64, StoreError> { at(i)?.as_i64().map_err(|e| sql_error(e.into())) };
    let optional_time = |i: usize| -> Result<Option<DateTime<Utc>>, StoreError> {
        at(i)?
            .as_i64_or_null()
            .map_err(|e| sql_error(e.into()))?
            .map(time)
            .transpose()
    };
    let status = text(11)?;
    let uuid = text(2)?;
    Ok(User {
        key: integer(0)?,
        id: text(1)?,
        uuid: uuid
            .parse()
            .map_err(|e| StoreError::Backend(format!("stored uuid is invalid: {e}")))?,
        workspace_key: integer(3)?,
        external_id: optional(4)?,
        email: text(5)?,
        name: text(7)?,
        given_name: optional(8)?,
        family_name: optional(9)?,
        role: text(10)?,
        status: UserStatus::parse(&status)
            .map_err(|_| StoreError::Backend(format!("stored status is unknown: {status}")))?,
        attributes: json(&text(12)?, "attributes")?,
        created_at: time(integer(13)?)?,
        updated_at: time(integer(14)?)?,
        deleted_at: at(15)?
            .as_i64_or_null()
            .map_err(|e| sql_error(e.into()))?
            .map(time)
            .transpose()?,
        version: integer(16)?,
        sessions_limit: at(18)?
            .as_i64_or_null()
            .map_err(|e| sql_error(e.into()))?
            .map(|n| {
                u32::try_from(n).map_err(|_| {
                    StoreError::Backend(format!("stored sessions_limit out of range: {n}"))
                })
            })
            .transpose()?,
        allow_authentication_token: integer(19)? != 0,
        has_authentication_token: integer(20)? != 0,
        current_sign_in_at: optional_time(21)?,
        last_sign_in_at: optional_time(22)?,
    })
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
