//! User writes and the list query.

use roster_core::store::{StoreError, UpdateOutcome};
use roster_core::{User, UserListRequest};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Transaction};

use crate::error::db_error;

pub(crate) async fn insert(
    tx: &mut Transaction<'static, Postgres>,
    user: &User,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO users (id, uuid, workspace_pk, external_id, email, email_key, name,
                            given_name, family_name, role, status, attributes,
                            created_at, updated_at, deleted_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING pk",
    )
    .bind(&user.id)
    .bind(user.uuid)
    .bind(user.workspace_key)
    .bind(&user.external_id)
    .bind(&user.email)
    .bind(user.email_key())
    .bind(&user.name)
    .bind(&user.given_name)
    .bind(&user.family_name)
    .bind(&user.role)
    .bind(user.status.as_str())
    .bind(Json(&user.attributes))
    .bind(user.created_at)
    .bind(user.updated_at)
    .bind(user.deleted_at)
    .bind(user.version)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_error)
}

pub(crate) async fn update(
    tx: &mut Transaction<'static, Postgres>,
    user: &User,
    expected_version: i64,
) -> Result<UpdateOutcome, StoreError> {
    let done = sqlx::query(
        "UPDATE users SET external_id = $1, email = $2, email_key = $3, name = $4,
                          given_name = $5, family_name = $6, role = $7, status = $8,
                          attributes = $9, updated_at = $10, deleted_at = $11, version = $12
         WHERE workspace_pk = $13 AND pk = $14 AND version = $15",
    )
    .bind(&user.external_id)
    .bind(&user.email)
    .bind(user.email_key())
    .bind(&user.name)
    .bind(&user.given_name)
    .bind(&user.family_name)
    .bind(&user.role)
    .bind(user.status.as_str())
    .bind(Json(&user.attributes))
    .bind(user.updated_at)
    .bind(user.deleted_at)
    .bind(user.version)
    .bind(user.workspace_key)
    .bind(user.key)
    .bind(expected_version)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    if done.rows_affected() == 1 {
        return Ok(UpdateOutcome::Updated);
    }
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT version FROM users WHERE workspace_pk = $1 AND pk = $2")
            .bind(user.workspace_key)
            .bind(user.key)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_error)?;
    Ok(match exists {
        Some(_) => UpdateOutcome::VersionConflict,
        None => UpdateOutcome::Missing,
    })
}

/// Newest first, after the cursor; search is `ILIKE '%…%'` on name or email, answered by
/// the trigram indexes.
pub(crate) fn list_query(request: &UserListRequest) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new("SELECT * FROM users WHERE workspace_pk = ");
    q.push_bind(request.workspace_key);
    if !request.include_deleted {
        q.push(" AND deleted_at IS NULL");
    }
    if let Some(role) = &request.role {
        q.push(" AND role = ").push_bind(role.clone());
    }
    if let Some(status) = request.status {
        q.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(email_key) = &request.email_key {
        q.push(" AND email_key = ").push_bind(email_key.clone());
    }
    if let Some(search) = &request.search {
        let pattern = UserListRequest::like_pattern(search);
        q.push(" AND (name ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR email ILIKE ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(before) = request.before_key {
        q.push(" AND pk < ").push_bind(before);
    }
    q.push(" ORDER BY pk DESC LIMIT ")
        .push_bind(i64::from(request.limit));
    q
}
