//! This backend's rows: the column reader the shared decoders ([`roster_store_rows`]) read
//! through, and the SQL that writes workspaces and keys.

use chrono::{DateTime, Utc};
use roster_core::keys::ApiKey;
use roster_core::store::StoreError;
use roster_core::Workspace;
use roster_store_rows::{Col, Columns};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Postgres, Row, Transaction};

use crate::error::db_error;

pub(crate) fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(db_error)
}

pub(crate) fn limit_param(limit: Option<u32>) -> Option<i64> {
    limit.map(i64::from)
}

pub(crate) async fn insert_workspace(
    tx: &mut Transaction<'static, Postgres>,
    workspace: &Workspace,
) -> Result<i64, StoreError> {
    // The workspace's chain head is born with it: appends require one.
    sqlx::query_scalar(
        "WITH created AS (
             INSERT INTO workspaces (id, name, roles, created_at, is_operator,
                                     rate_limit_per_minute, audit_retention_days,
                                     invitation_settings, auth_settings)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING pk
         ), head AS (
             INSERT INTO audit_heads (workspace_pk, last_seq, last_hash) SELECT pk, 0, '' FROM created
         )
         SELECT pk FROM created",
    )
    .bind(&workspace.id)
    .bind(&workspace.name)
    .bind(Json(&workspace.roles))
    .bind(workspace.created_at)
    .bind(workspace.is_operator)
    .bind(limit_param(workspace.rate_limit_per_minute))
    .bind(i64::from(workspace.audit_retention_days))
    .bind(Json(&workspace.invitations))
    .bind(Json(&workspace.auth))
    .fetch_one(&mut **tx)
    .await
    .map_err(db_error)
}

pub(crate) async fn insert_api_key(
    tx: &mut Transaction<'static, Postgres>,
    key: &ApiKey,
    workspace_pk: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO api_keys (id, workspace_pk, name, prefix, secret_hash, scopes, created_at,
                               expires_at, rate_limit_per_minute)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&key.id)
    .bind(workspace_pk)
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(&key.secret_hash[..])
    .bind(Json(&key.scopes))
    .bind(key.created_at)
    .bind(key.expires_at)
    .bind(limit_param(key.rate_limit_per_minute))
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(db_error)
}

/// A row as the shared decoders read it ([`roster_store_rows::Columns`]), by column name:
/// `timestamptz`, `jsonb`, `uuid`, `bytea`, and BIGINT for every integer.
pub(crate) struct Cells<'a>(pub &'a PgRow);

impl Columns for Cells<'_> {
    fn int(&self, col: Col) -> Result<i64, StoreError> {
        get(self.0, col.name)
    }

    fn opt_int(&self, col: Col) -> Result<Option<i64>, StoreError> {
        get(self.0, col.name)
    }

    fn text(&self, col: Col) -> Result<String, StoreError> {
        get(self.0, col.name)
    }

    fn opt_text(&self, col: Col) -> Result<Option<String>, StoreError> {
        get(self.0, col.name)
    }

    fn flag(&self, col: Col) -> Result<bool, StoreError> {
        get(self.0, col.name)
    }

    fn bytes(&self, col: Col) -> Result<Vec<u8>, StoreError> {
        get(self.0, col.name)
    }

    fn time(&self, col: Col) -> Result<DateTime<Utc>, StoreError> {
        get(self.0, col.name)
    }

    fn opt_time(&self, col: Col) -> Result<Option<DateTime<Utc>>, StoreError> {
        get(self.0, col.name)
    }

    fn uuid(&self, col: Col) -> Result<uuid::Uuid, StoreError> {
        get(self.0, col.name)
    }

    fn json<T: serde::de::DeserializeOwned>(&self, col: Col) -> Result<T, StoreError> {
        get::<Json<T>>(self.0, col.name).map(|Json(value)| value)
    }
}

/// `rows::user(row)` and the like: each shared decoder over a PostgreSQL row.
macro_rules! decoders {
    ($($name:ident -> $record:ty),* $(,)?) => {
        $(
            pub(crate) fn $name(row: &PgRow) -> Result<$record, StoreError> {
                roster_store_rows::$name(&Cells(row))
            }
        )*
    };
}

roster_store_rows::for_each_record!(decoders);
