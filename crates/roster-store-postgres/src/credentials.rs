//! What authenticates a program: secret keys, API clients, token signing keys.

use crate::error::db_error;
use crate::PostgresStore;
use crate::{audit, rows};
use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use roster_core::audit::NewEvent;
use roster_core::keys::ApiKey;
use roster_core::signing::SigningKey;
use roster_core::store::CredentialStore;
use roster_core::store::StoreError;
use roster_core::ApiClient;
use roster_core::Workspace;
use sqlx::types::Json;

#[async_trait]
impl CredentialStore for PostgresStore {
    async fn insert_api_key(&self, key: &ApiKey, event: &NewEvent) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        rows::insert_api_key(&mut tx, key, key.workspace_key).await?;
        audit::append(&mut tx, key.workspace_key, event).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn find_api_key(
        &self,
        secret_hash: &[u8; 32],
    ) -> Result<Option<(ApiKey, Workspace)>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            roster_store_rows::key_columns!(),
            ", w.* FROM api_keys k JOIN workspaces w ON w.pk = k.workspace_pk
                 WHERE k.secret_hash = $1 AND k.revoked_at IS NULL"
        ))
        .bind(&secret_hash[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        match row {
            Some(row) => Ok(Some((rows::api_key(&row)?, rows::workspace(&row)?))),
            None => Ok(None),
        }
    }

    async fn list_api_keys(&self, workspace_key: i64) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            roster_store_rows::key_columns!(),
            " FROM api_keys k WHERE k.workspace_pk = $1 AND k.revoked_at IS NULL
              ORDER BY k.created_at, k.id"
        ))
        .bind(workspace_key)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(rows::api_key).collect()
    }

    async fn revoke_api_key(
        &self,
        workspace_key: i64,
        id: &str,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<Option<ApiKey>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let row = sqlx::query(concat!(
            "UPDATE api_keys AS k SET revoked_at = $3
             WHERE k.workspace_pk = $1 AND k.id = $2 AND k.revoked_at IS NULL
             RETURNING ",
            roster_store_rows::key_columns!()
        ))
        .bind(workspace_key)
        .bind(id)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if row.is_some() {
            audit::append(&mut tx, workspace_key, event).await?;
        }
        tx.commit().await.map_err(db_error)?;
        row.as_ref().map(rows::api_key).transpose()
    }

    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_error)
    }

    async fn insert_api_client(
        &self,
        client: &ApiClient,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query(
            "INSERT INTO api_clients (client_id, workspace_pk, name, secret_hash, scopes,
                                      admin_api_enabled, rate_limit_per_minute, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&client.client_id)
        .bind(client.workspace_key)
        .bind(&client.name)
        .bind(&client.secret_hash[..])
        .bind(Json(&client.scopes))
        .bind(client.admin_api_enabled)
        .bind(rows::limit_param(client.rate_limit_per_minute))
        .bind(client.created_at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        audit::append(&mut tx, client.workspace_key, event).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn find_api_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(ApiClient, Workspace)>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            roster_store_rows::client_columns!(),
            ", w.* FROM api_clients c JOIN workspaces w ON w.pk = c.workspace_pk
             WHERE c.client_id = $1 AND c.revoked_at IS NULL"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        match row {
            Some(row) => Ok(Some((rows::api_client(&row)?, rows::workspace(&row)?))),
            None => Ok(None),
        }
    }

    async fn list_api_clients(&self, workspace_key: i64) -> Result<Vec<ApiClient>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            roster_store_rows::client_columns!(),
            " FROM api_clients c WHERE c.workspace_pk = $1 AND c.revoked_at IS NULL
              ORDER BY c.created_at, c.client_id"
        ))
        .bind(workspace_key)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(rows::api_client).collect()
    }

    async fn update_api_client(
        &self,
        client: &ApiClient,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "UPDATE api_clients SET name = $3, scopes = $4, admin_api_enabled = $5,
                                    rate_limit_per_minute = $6
             WHERE workspace_pk = $1 AND client_id = $2 AND revoked_at IS NULL",
        )
        .bind(client.workspace_key)
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(Json(&client.scopes))
        .bind(client.admin_api_enabled)
        .bind(rows::limit_param(client.rate_limit_per_minute));
        self.execute_audited(client.workspace_key, event, change)
            .await
    }

    async fn revoke_api_client(
        &self,
        workspace_key: i64,
        client_id: &str,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "UPDATE api_clients SET revoked_at = $3
             WHERE workspace_pk = $1 AND client_id = $2 AND revoked_at IS NULL",
        )
        .bind(workspace_key)
        .bind(client_id)
        .bind(at);
        self.execute_audited(workspace_key, event, change).await
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let rows = sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::signing_key).collect()
    }

    async fn rotate_signing_key(
        &self,
        key: &SigningKey,
        retire_others_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("UPDATE signing_keys SET retires_at = $1 WHERE retires_at IS NULL")
            .bind(retire_others_at)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_pem, modulus, exponent, created_at, retires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.kid)
        .bind(&key.private_pem)
        .bind(&key.modulus)
        .bind(&key.exponent)
        .bind(key.created_at)
        .bind(key.retires_at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }
}
