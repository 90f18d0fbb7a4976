//! Workspaces and their settings.

use crate::audit::NewEvent;
use crate::error::StoreError;
use crate::invitation::InvitationSettings;
use crate::keys::ApiKey;
use crate::session::AuthSettings;
use crate::store::SetupToken;
use crate::workspace::Workspace;
use async_trait::async_trait;

/// Workspaces and their settings.
#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// On an empty installation, create `workspace` and its first key in one transaction and
    /// return true; if any workspace exists already, change nothing and return false.
    async fn bootstrap(
        &self,
        workspace: &Workspace,
        key: &ApiKey,
        events: &[NewEvent],
    ) -> Result<bool, StoreError>;

    /// Insert a workspace; its `key` is assigned by the store and returned. The event starts
    /// the new workspace's chain.
    async fn insert_workspace(
        &self,
        workspace: &Workspace,
        event: &NewEvent,
    ) -> Result<i64, StoreError>;

    async fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError>;

    /// The workspace whose public id or name is `id_or_name`.
    async fn find_workspace(&self, id_or_name: &str) -> Result<Option<Workspace>, StoreError>;

    /// Change a workspace's default rate limit.
    async fn set_workspace_rate_limit(
        &self,
        workspace_key: i64,
        per_minute: Option<u32>,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// Change how many days a workspace keeps its audit events.
    async fn set_audit_retention(
        &self,
        workspace_key: i64,
        days: u32,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// Replace a workspace's role set. If a user (soft-deleted ones included) has one of
    /// `removed`, write nothing and return that role.
    async fn set_workspace_roles(
        &self,
        workspace_key: i64,
        roles: &[String],
        removed: &[String],
        event: &NewEvent,
    ) -> Result<Option<String>, StoreError>;

    async fn set_invitation_settings(
        &self,
        workspace_key: i64,
        settings: &InvitationSettings,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    async fn set_auth_settings(
        &self,
        workspace_key: i64,
        settings: &AuthSettings,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// Store a console setup token (its hash) with its event.
    async fn insert_setup_token(
        &self,
        token: &SetupToken,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// The setup token with this hash, and its workspace's public id.
    async fn find_setup_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(SetupToken, String)>, StoreError>;
}
