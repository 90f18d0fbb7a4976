//! What authenticates a program: secret keys, API clients, token signing keys.

use crate::error::sql_error;
use crate::SqliteStore;
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
use rusqlite::params;

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn insert_api_key(&self, key: &ApiKey, event: &NewEvent) -> Result<(), StoreError> {
        let (key, event) = (key.clone(), event.clone());
        self.writer
            .write(move |tx| {
                rows::insert_api_key(tx, &key, key.workspace_key)?;
                audit::append(tx, key.workspace_key, &event)
            })
            .await
    }

    async fn find_api_key(
        &self,
        secret_hash: &[u8; 32],
    ) -> Result<Option<(ApiKey, Workspace)>, StoreError> {
        self.reader.row(
            concat!(
                "SELECT ",
                roster_store_rows::key_columns!(),
                ", w.* FROM api_keys k JOIN workspaces w ON w.pk = k.workspace_pk
                 WHERE k.secret_hash = ?1 AND k.revoked_at IS NULL"
            ),
            [&secret_hash[..]],
            |row| Ok((rows::api_key(row)?, rows::workspace(row)?)),
        )
    }

    async fn list_api_keys(&self, workspace_key: i64) -> Result<Vec<ApiKey>, StoreError> {
        self.reader.rows(
            concat!(
                "SELECT ",
                roster_store_rows::key_columns!(),
                " FROM api_keys k WHERE k.workspace_pk = ?1 AND k.revoked_at IS NULL
                  ORDER BY k.created_at, k.id"
            ),
            [workspace_key],
            rows::api_key,
        )
    }

    async fn revoke_api_key(
        &self,
        workspace_key: i64,
        id: &str,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<Option<ApiKey>, StoreError> {
        let key_id = id.to_owned();
        let revoked = self
            .write_audited(workspace_key, event, move |tx| {
                tx.execute(
                    "UPDATE api_keys SET revoked_at = ?3
                     WHERE workspace_pk = ?1 AND id = ?2 AND revoked_at IS NULL",
                    params![workspace_key, key_id, rows::micros(at)],
                )
                .map(|n| n == 1)
                .map_err(sql_error)
            })
            .await?;
        if !revoked {
            return Ok(None);
        }
        // A revoked key never changes again, so reading it back after the commit is exact.
        self.reader.row(
            concat!(
                "SELECT ",
                roster_store_rows::key_columns!(),
                " FROM api_keys k WHERE k.workspace_pk = ?1 AND k.id = ?2"
            ),
            params![workspace_key, id],
            rows::api_key,
        )
    }

    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.writer
            .write(move |tx| {
                tx.execute(
                    "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
                    params![id, rows::micros(at)],
                )
                .map(|_| ())
                .map_err(sql_error)
            })
            .await
    }

    async fn insert_api_client(
        &self,
        client: &ApiClient,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let (client, event) = (client.clone(), event.clone());
        self.writer
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO api_clients (client_id, workspace_pk, name, secret_hash, scopes,
                                              admin_api_enabled, rate_limit_per_minute, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        client.client_id,
                        client.workspace_key,
                        client.name,
                        &client.secret_hash[..],
                        rows::to_json(&client.scopes)?,
                        client.admin_api_enabled,
                        client.rate_limit_per_minute,
                        rows::micros(client.created_at),
                    ],
                )
                .map_err(sql_error)?;
                audit::append(tx, client.workspace_key, &event)
            })
            .await
    }

    async fn find_api_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(ApiClient, Workspace)>, StoreError> {
        self.reader.row(
            concat!(
                "SELECT ",
                roster_store_rows::client_columns!(),
                ", w.* FROM api_clients c JOIN workspaces w ON w.pk = c.workspace_pk
                 WHERE c.client_id = ?1 AND c.revoked_at IS NULL"
            ),
            [client_id],
            |row| Ok((rows::api_client(row)?, rows::workspace(row)?)),
        )
    }

    async fn list_api_clients(&self, workspace_key: i64) -> Result<Vec<ApiClient>, StoreError> {
        self.reader.rows(
            concat!(
                "SELECT ",
                roster_store_rows::client_columns!(),
                " FROM api_clients c WHERE c.workspace_pk = ?1 AND c.revoked_at IS NULL
                  ORDER BY c.created_at, c.client_id"
            ),
            [workspace_key],
            rows::api_client,
        )
    }

    async fn update_api_client(
        &self,
        client: &ApiClient,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let client = client.clone();
        self.write_audited(client.workspace_key, event, move |tx| {
            tx.execute(
                "UPDATE api_clients SET name = ?3, scopes = ?4, admin_api_enabled = ?5,
                                        rate_limit_per_minute = ?6
                 WHERE workspace_pk = ?1 AND client_id = ?2 AND revoked_at IS NULL",
                params![
                    client.workspace_key,
                    client.client_id,
                    client.name,
                    rows::to_json(&client.scopes)?,
                    client.admin_api_enabled,
                    client.rate_limit_per_minute,
                ],
            )
            .map(|n| n == 1)
            .map_err(sql_error)
        })
        .await
    }

    async fn revoke_api_client(
        &self,
        workspace_key: i64,
        client_id: &str,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let client_id = client_id.to_owned();
        self.write_audited(workspace_key, event, move |tx| {
            tx.execute(
                "UPDATE api_clients SET revoked_at = ?3
                 WHERE workspace_pk = ?1 AND client_id = ?2 AND revoked_at IS NULL",
                params![workspace_key, client_id, rows::micros(at)],
            )
            .map(|n| n == 1)
            .map_err(sql_error)
        })
        .await
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        self.reader.rows(
            "SELECT * FROM signing_keys ORDER BY created_at, kid",
            [],
            rows::signing_key,
        )
    }

    async fn rotate_signing_key(
        &self,
        key: &SigningKey,
        retire_others_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = key.clone();
        self.writer
            .write(move |tx| {
                tx.execute(
                    "UPDATE signing_keys SET retires_at = ?1 WHERE retires_at IS NULL",
                    [rows::micros(retire_others_at)],
                )
                .map_err(sql_error)?;
                tx.execute(
                    "INSERT INTO signing_keys (kid, private_pem, modulus, exponent, created_at,
                                               retires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        key.kid,
                        key.private_pem,
                        key.modulus,
                        key.exponent,
                        rows::micros(key.created_at),
                        key.retires_at.map(rows::micros),
                    ],
                )
                .map(|_| ())
                .map_err(sql_error)
            })
            .await
    }
}
