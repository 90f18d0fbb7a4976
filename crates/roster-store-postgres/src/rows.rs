//! Rows to domain values and back.

use chrono::{DateTime, Utc};
use roster_core::keys::ApiKey;
use roster_core::signing::SigningKey;
use roster_core::store::StoreError;
use roster_core::ApiClient;
use roster_core::{User, UserStatus, Workspace};
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

/// Rate limits are `u32` in the domain and BIGINT here.
fn limit(row: &PgRow, column: &str) -> Result<Option<u32>, StoreError> {
    get::<Option<i64>>(row, column)?
        .map(|n| {
            u32::try_from(n)
                .map_err(|_| StoreError::Backend(format!("stored {column} out of range: {n}")))
        })
        .transpose()
}

pub(crate) fn limit_param(limit: Option<u32>) -> Option<i64> {
    limit.map(i64::from)
}

pub(crate) fn workspace(row: &PgRow) -> Result<Workspace, StoreError> {
    Ok(Workspace {
        key: get(row, "pk")?,
        id: get(row, "id")?,
        name: get(row, "name")?,
        roles: get::<Json<Vec<String>>>(row, "roles")?.0,
        created_at: get(row, "created_at")?,
        is_operator: get(row, "is_operator")?,
        rate_limit_per_minute: limit(row, "rate_limit_per_minute")?,
        audit_retention_days: u32::try_from(get::<i64>(row, "audit_retention_days")?)
            .map_err(|_| StoreError::Backend("stored audit_retention_days out of range".into()))?,
        invitations: get::<Json<roster_core::InvitationSettings>>(row, "invitation_settings")?.0,
        auth: get::<Json<roster_core::AuthSettings>>(row, "auth_settings")?.0,
    })
}

pub(crate) fn api_key(row: &PgRow) -> Result<ApiKey, StoreError> {
    let hash: Vec<u8> = get(row, "secret_hash")?;
    Ok(ApiKey {
        id: get(row, "key_id")?,
        workspace_key: get(row, "workspace_pk")?,
        name: get(row, "key_name")?,
        prefix: get(row, "prefix")?,
        secret_hash: hash
            .try_into()
            .map_err(|_| StoreError::Backend("stored secret hash is not 32 bytes".into()))?,
        scopes: get::<Json<Vec<roster_core::Scope>>>(row, "scopes")?.0,
        created_at: get(row, "key_created_at")?,
        expires_at: get::<Option<DateTime<Utc>>>(row, "expires_at")?,
        rate_limit_per_minute: limit(row, "key_rate_limit")?,
        last_used_at: get(row, "last_used_at")?,
    })
}

pub(crate) fn api_client(row: &PgRow) -> Result<ApiClient, StoreError> {
    let hash: Vec<u8> = get(row, "secret_hash")?;
    Ok(ApiClient {
        client_id: get(row, "client_id")?,
        workspace_key: get(row, "workspace_pk")?,
        name: get(row, "client_name")?,
        secret_hash: hash
            .try_into()
            .map_err(|_| StoreError::Backend("stored secret hash is not 32 bytes".into()))?,
        scopes: get::<Json<Vec<roster_core::Scope>>>(row, "scopes")?.0,
        admin_api_enabled: get(row, "admin_api_enabled")?,
        rate_limit_per_minute: limit(row, "client_rate_limit")?,
        created_at: get(row, "client_created_at")?,
    })
}

pub(crate) fn signing_key(row: &PgRow) -> Result<SigningKey, StoreError> {
    Ok(SigningKey {
        kid: get(row, "kid")?,
        private_pem: get(row, "private_pem")?,
        modulus: get(row, "modulus")?,
        exponent: get(row, "exponent")?,
        created_at: get(row, "created_at")?,
        retires_at: get(row, "retires_at")?,
    })
}

pub(crate) fn user(row: &PgRow) -> Result<User, StoreError> {
    let status: String = get(row, "status")?;
    Ok(User {
        key: get(row, "pk")?,
        id: get(row, "id")?,
        uuid: get(row, "uuid")?,
        workspace_key: get(row, "workspace_pk")?,
        external_id: get(row, "external_id")?,
        email: get(row, "email")?,
        name: get(row, "name")?,
        given_name: get(row, "given_name")?,
        family_name: get(row, "family_name")?,
        role: get(row, "role")?,
        status: UserStatus::parse(&status)
            .map_err(|_| StoreError::Backend(format!("stored status is unknown: {status}")))?,
        attributes: get::<Json<roster_core::attributes::Attributes>>(row, "attributes")?.0,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        deleted_at: get(row, "deleted_at")?,
        version: get(row, "version")?,
        sessions_limit: limit(row, "sessions_limit")?,
        allow_authentication_token: get(row, "allow_authentication_token")?,
        has_authentication_token: get(row, "has_authentication_token")?,
        current_sign_in_at: get(row, "current_sign_in_at")?,
        last_sign_in_at: get(row, "last_sign_in_at")?,
    })
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
