//! Workspaces and their settings.

use crate::error::sql_error;
use crate::SqliteStore;
use crate::{audit, rows};
use async_trait::async_trait;
use roster_core::audit::NewEvent;
use roster_core::console::SetupToken;
use roster_core::invitation::InvitationSettings;
use roster_core::keys::ApiKey;
use roster_core::session::AuthSettings;
use roster_core::store::StoreError;
use roster_core::store::WorkspaceStore;
use roster_core::Workspace;
use rusqlite::params;

#[async_trait]
impl WorkspaceStore for SqliteStore {
    async fn bootstrap(
        &self,
        workspace: &Workspace,
        key: &ApiKey,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        let (workspace, key, events) = (workspace.clone(), key.clone(), events.to_vec());
        self.writer
            .write(move |tx| {
                let existing: bool = tx
                    .query_row("SELECT EXISTS (SELECT 1 FROM workspaces)", [], |row| {
                        row.get(0)
                    })
                    .map_err(sql_error)?;
                if existing {
                    return Ok(false);
                }
                let workspace_pk = rows::insert_workspace(tx, &workspace)?;
                rows::insert_api_key(tx, &key, workspace_pk)?;
                for event in &events {
                    audit::append(tx, workspace_pk, event)?;
                }
                Ok(true)
            })
            .await
    }

    async fn insert_workspace(
        &self,
        workspace: &Workspace,
        event: &NewEvent,
    ) -> Result<i64, StoreError> {
        let (workspace, event) = (workspace.clone(), event.clone());
        self.writer
            .write(move |tx| {
                let pk = rows::insert_workspace(tx, &workspace)?;
                audit::append(tx, pk, &event)?;
                Ok(pk)
            })
            .await
    }

    async fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        self.reader
            .rows("SELECT * FROM workspaces ORDER BY pk", [], rows::workspace)
    }

    async fn find_workspace(&self, id_or_name: &str) -> Result<Option<Workspace>, StoreError> {
        self.reader.row(
            "SELECT * FROM workspaces WHERE id = ?1 OR name = ?1",
            [id_or_name],
            rows::workspace,
        )
    }

    async fn set_workspace_rate_limit(
        &self,
        workspace_key: i64,
        per_minute: Option<u32>,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        self.write_audited(workspace_key, event, move |tx| {
            tx.execute(
                "UPDATE workspaces SET rate_limit_per_minute = ?2 WHERE pk = ?1",
                params![workspace_key, per_minute],
            )
            .map(|n| n == 1)
            .map_err(sql_error)
        })
        .await
        .map(|_| ())
    }

    async fn set_audit_retention(
        &self,
        workspace_key: i64,
        days: u32,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        self.write_audited(workspace_key, event, move |tx| {
            tx.execute(
                "UPDATE workspaces SET audit_retention_days = ?2 WHERE pk = ?1",
                params![workspace_key, days],
            )
            .map(|n| n == 1)
            .map_err(sql_error)
        })
        .await
        .map(|_| ())
    }

    async fn set_workspace_roles(
        &self,
        workspace_key: i64,
        roles: &[String],
        removed: &[String],
        event: &NewEvent,
    ) -> Result<Option<String>, StoreError> {
        let (roles, removed, event) = (
            rows::to_json(&roles)?,
            rows::to_json(&removed)?,
            event.clone(),
        );
        self.writer
            .write(move |tx| {
                let in_use: Option<String> = tx
                    .query_row(
                        "SELECT role FROM users WHERE workspace_pk = ?1
                           AND role IN (SELECT value FROM json_each(?2)) LIMIT 1",
                        params![workspace_key, removed],
                        |row| row.get(0),
                    )
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        other => Err(other),
                    })
                    .map_err(sql_error)?;
                if in_use.is_some() {
                    return Ok(in_use);
                }
                tx.execute(
                    "UPDATE workspaces SET roles = ?2 WHERE pk = ?1",
                    params![workspace_key, roles],
                )
                .map_err(sql_error)?;
                audit::append(tx, workspace_key, &event)?;
                Ok(None)
            })
            .await
    }

    async fn set_invitation_settings(
        &self,
        workspace_key: i64,
        settings: &InvitationSettings,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let (settings, event) = (rows::to_json(settings)?, event.clone());
        self.writer
            .write(move |tx| {
                tx.execute(
                    "UPDATE workspaces SET invitation_settings = ?2 WHERE pk = ?1",
                    params![workspace_key, settings],
                )
                .map_err(sql_error)?;
                audit::append(tx, workspace_key, &event)
            })
            .await
    }

    async fn set_auth_settings(
        &self,
        workspace_key: i64,
        settings: &AuthSettings,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let settings = rows::to_json(settings)?;
        self.write_audited(workspace_key, event, move |tx| {
            tx.execute(
                "UPDATE workspaces SET auth_settings = ?2 WHERE pk = ?1",
                params![workspace_key, settings],
            )
            .map(|n| n == 1)
            .map_err(sql_error)
        })
        .await
        .map(|_| ())
    }

    async fn insert_setup_token(
        &self,
        token: &SetupToken,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let token = token.clone();
        self.write_audited(token.workspace_key, event, move |tx| {
            tx.execute(
                "INSERT INTO console_setup_tokens (token_hash, workspace_pk, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    token.token_hash.as_slice(),
                    token.workspace_key,
                    rows::micros(token.created_at),
                    rows::micros(token.expires_at),
                ],
            )
            .map(|n| n == 1)
            .map_err(sql_error)
        })
        .await
        .map(|_| ())
    }

    async fn find_setup_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(SetupToken, String)>, StoreError> {
        self.reader.row(
            roster_store_rows::find_setup_token!("?1"),
            [token_hash.as_slice()],
            |row| Ok((rows::setup_token(row)?, rows::get(row, "w_id")?)),
        )
    }
}
