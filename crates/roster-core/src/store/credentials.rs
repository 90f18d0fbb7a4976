//! What authenticates a program: secret keys, API clients, token signing keys.

use crate::audit::NewEvent;
use crate::clients::ApiClient;
use crate::error::StoreError;
use crate::keys::ApiKey;
use crate::signing::SigningKey;
use crate::workspace::Workspace;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What authenticates a program: secret keys, API clients, token signing keys.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    async fn insert_api_key(&self, key: &ApiKey, event: &NewEvent) -> Result<(), StoreError>;

    /// The unrevoked key with this secret hash, with its workspace.
    async fn find_api_key(
        &self,
        secret_hash: &[u8; 32],
    ) -> Result<Option<(ApiKey, Workspace)>, StoreError>;

    /// The workspace's unrevoked keys, oldest first.
    async fn list_api_keys(&self, workspace_key: i64) -> Result<Vec<ApiKey>, StoreError>;

    /// Revoke the workspace's key `id`; returns it if it was live.
    async fn revoke_api_key(
        &self,
        workspace_key: i64,
        id: &str,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<Option<ApiKey>, StoreError>;

    /// Record that key `id` authenticated a request at `at`.
    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    async fn insert_api_client(
        &self,
        client: &ApiClient,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// The unrevoked client `client_id`, with its workspace.
    async fn find_api_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(ApiClient, Workspace)>, StoreError>;

    /// The workspace's unrevoked clients, oldest first.
    async fn list_api_clients(&self, workspace_key: i64) -> Result<Vec<ApiClient>, StoreError>;

    /// Write the mutable fields (name, scopes, admin API flag, rate limit) of an unrevoked
    /// client of its workspace; false if there is none.
    async fn update_api_client(
        &self,
        client: &ApiClient,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;

    /// Revoke the workspace's client; false if there was no live one.
    async fn revoke_api_client(
        &self,
        workspace_key: i64,
        client_id: &str,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;

    /// Every signing key, retired ones included.
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError>;

    /// Add `key` and, in the same transaction, set `retire_others_at` as the retirement time
    /// of every other key that has none.
    async fn rotate_signing_key(
        &self,
        key: &SigningKey,
        retire_others_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
