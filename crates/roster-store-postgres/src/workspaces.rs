//! Workspaces and their settings.

use crate::error::db_error;
use crate::PostgresStore;
use crate::{audit, rows};
use async_trait::async_trait;
use roster_core::audit::NewEvent;
use roster_core::console::SetupToken;
use roster_core::invitation::InvitationSettings;
use roster_core::keys::ApiKey;
use roster_core::session::AuthSettings;
use roster_core::store::StoreError;
use roster_core::store::UniqueKey;
use roster_core::store::WorkspaceStore;
use roster_core::Workspace;
use sqlx::types::Json;

#[async_trait]
impl WorkspaceStore for PostgresStore {
    async fn bootstrap(
        &self,
        workspace: &Workspace,
        key: &ApiKey,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        if existing > 0 {
            return Ok(false);
        }
        // Two nodes starting on an empty database race here; the workspace name's unique
        // constraint lets exactly one of them win.
        let workspace_pk = match rows::insert_workspace(&mut tx, workspace).await {
            Err(StoreError::Unique(UniqueKey::WorkspaceName)) => return Ok(false),
            other => other?,
        };
        rows::insert_api_key(&mut tx, key, workspace_pk).await?;
        for event in events {
            audit::append(&mut tx, workspace_pk, event).await?;
        }
        match tx.commit().await.map_err(db_error) {
            Err(StoreError::Unique(UniqueKey::WorkspaceName)) => Ok(false),
            other => other.map(|()| true),
        }
    }

    async fn insert_workspace(
        &self,
        workspace: &Workspace,
        event: &NewEvent,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let pk = rows::insert_workspace(&mut tx, workspace).await?;
        audit::append(&mut tx, pk, event).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(pk)
    }

    async fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        let rows = sqlx::query("SELECT * FROM workspaces ORDER BY pk")
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::workspace).collect()
    }

    async fn find_workspace(&self, id_or_name: &str) -> Result<Option<Workspace>, StoreError> {
        sqlx::query("SELECT * FROM workspaces WHERE id = $1 OR name = $1")
            .bind(id_or_name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::workspace)
            .transpose()
    }

    async fn set_workspace_rate_limit(
        &self,
        workspace_key: i64,
        per_minute: Option<u32>,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("UPDATE workspaces SET rate_limit_per_minute = $2 WHERE pk = $1")
            .bind(workspace_key)
            .bind(rows::limit_param(per_minute))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn set_audit_retention(
        &self,
        workspace_key: i64,
        days: u32,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("UPDATE workspaces SET audit_retention_days = $2 WHERE pk = $1")
            .bind(workspace_key)
            .bind(i64::from(days))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn set_workspace_roles(
        &self,
        workspace_key: i64,
        roles: &[String],
        removed: &[String],
        event: &NewEvent,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // Lock the workspace row: two role changes of one workspace take turns.
        sqlx::query("SELECT pk FROM workspaces WHERE pk = $1 FOR UPDATE")
            .bind(workspace_key)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let in_use: Option<String> = sqlx::query_scalar(
            "SELECT role FROM users WHERE workspace_pk = $1 AND role = ANY($2) LIMIT 1",
        )
        .bind(workspace_key)
        .bind(removed)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if in_use.is_some() {
            return Ok(in_use);
        }
        sqlx::query("UPDATE workspaces SET roles = $2 WHERE pk = $1")
            .bind(workspace_key)
            .bind(Json(roles))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(None)
    }

    async fn set_invitation_settings(
        &self,
        workspace_key: i64,
        settings: &InvitationSettings,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("UPDATE workspaces SET invitation_settings = $2 WHERE pk = $1")
            .bind(workspace_key)
            .bind(Json(settings))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn set_auth_settings(
        &self,
        workspace_key: i64,
        settings: &AuthSettings,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let change = sqlx::query("UPDATE workspaces SET auth_settings = $2 WHERE pk = $1")
            .bind(workspace_key)
            .bind(Json(settings));
        self.execute_audited(workspace_key, event, change)
            .await
            .map(|_| ())
    }

    async fn insert_setup_token(
        &self,
        token: &SetupToken,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let change = sqlx::query(
            "INSERT INTO console_setup_tokens (token_hash, workspace_pk, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token.token_hash.as_slice())
        .bind(token.workspace_key)
        .bind(token.created_at)
        .bind(token.expires_at);
        self.execute_audited(token.workspace_key, event, change)
            .await
            .map(|_| ())
    }

    async fn find_setup_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(SetupToken, String)>, StoreError> {
        let row = sqlx::query(roster_store_rows::find_setup_token!("$1"))
            .bind(token_hash.as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| Ok((rows::setup_token(&row)?, rows::get(&row, "w_id")?)))
            .transpose()
    }
}
