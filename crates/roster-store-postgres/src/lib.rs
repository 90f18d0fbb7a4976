//! Roster's scale-out store: PostgreSQL, shared by any number of stateless nodes.
//!
//! Uniqueness and optimistic versions are enforced by the database, so nodes need no
//! coordination of their own; nothing here assumes it is the only writer.

mod audit;
mod error;
mod groups;
mod rows;
mod sessions;
#[cfg(feature = "testing")]
pub mod testing;
mod user_writes;
mod users;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_core::audit::{AuditEvent, AuditHead, AuditQuery, NewEvent};
use roster_core::group::{Group, Membership};
use roster_core::invitation::{Invitation, InvitationSettings};
use roster_core::keys::ApiKey;
use roster_core::outbox::{Delivery, Mail, OutboxQuery};
use roster_core::session::{AuthSettings, EndSessions, Session};
use roster_core::signing::SigningKey;
use roster_core::store::{
    ImportWrite, SessionStart, SignInName, Store, StoreError, UniqueKey, UpdateOutcome, UserWrite,
};
use roster_core::ApiClient;
use roster_core::{User, UserListRequest, Workspace};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::types::Json;
use sqlx::PgPool;

use error::db_error;

/// The api_keys columns `rows::api_key` reads, under names that do not clash with a
/// joined workspace's.
macro_rules! key_columns {
    () => {
        "k.id AS key_id, k.workspace_pk, k.name AS key_name, k.prefix, k.secret_hash, k.scopes,
         k.created_at AS key_created_at, k.expires_at, k.rate_limit_per_minute AS key_rate_limit,
         k.last_used_at"
    };
}

/// The api_clients columns `rows::api_client` reads.
macro_rules! client_columns {
    () => {
        "c.client_id, c.workspace_pk, c.name AS client_name, c.secret_hash, c.scopes,
         c.admin_api_enabled, c.rate_limit_per_minute AS client_rate_limit,
         c.created_at AS client_created_at"
    };
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Close the connection pool: every later call fails as an unreachable database does
    /// (`StoreError::Unavailable`). For tests of what clients see then.
    #[cfg(feature = "testing")]
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Connect to `url` (`postgres://…`). Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?
            .application_name("roster")
            // Roster's statements are short; JIT compiling one costs more than it can save
            // (measured: 290 ms added to a 5 ms search at a million users).
            .options([("jit", "off")])
            // Notices ("relation … already exists, skipping" from the idempotent migration
            // bookkeeping) are not news to an operator; warnings and errors still arrive.
            .options([("client_min_messages", "warning")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(db_error)?;
        Ok(Self { pool })
    }

    /// Run `change` (one statement) in a transaction and, if it changed a row, append
    /// `event` to the workspace's chain in the same transaction.
    async fn execute_audited(
        &self,
        workspace_key: i64,
        event: &NewEvent,
        change: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let changed = change
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected()
            == 1;
        if changed {
            audit::append(&mut tx, workspace_key, event).await?;
            tx.commit().await.map_err(db_error)?;
        }
        Ok(changed)
    }

    /// The user of `workspace_key` whose unique `column` (`id` or `external_id`) is `value`.
    async fn user_where(
        &self,
        column: &'static str,
        workspace_key: i64,
        value: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT * FROM users WHERE workspace_pk = $1 AND {column} = $2");
        sqlx::query(&sql)
            .bind(workspace_key)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::user)
            .transpose()
    }
}

/// Measuring instruments, compiled only with the `bench` feature (`bench/audit-cost.sh`):
/// never part of a server.
#[cfg(feature = "bench")]
impl PostgresStore {
    /// The user row alone, with no audit event: exactly `insert_user`'s statement minus the
    /// event, so the difference between the two is what auditing costs.
    pub async fn insert_user_without_event(&self, user: &User) -> Result<i64, StoreError> {
        users::insert_without_event(&self.pool, user).await
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_error)
    }

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
            key_columns!(),
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
            key_columns!(),
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
            key_columns!()
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
            client_columns!(),
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
            client_columns!(),
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

    async fn insert_user(
        &self,
        user: &User,
        event: &NewEvent,
        plan: &[UserWrite],
    ) -> Result<i64, StoreError> {
        users::insert(&self.pool, user, event, plan).await
    }

    async fn get_user(&self, workspace_key: i64, id: &str) -> Result<Option<User>, StoreError> {
        self.user_where("id", workspace_key, id).await
    }

    async fn find_user_by_uuid(
        &self,
        workspace_key: i64,
        uuid: uuid::Uuid,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE workspace_pk = $1 AND uuid = $2")
            .bind(workspace_key)
            .bind(uuid)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn find_user_by_key(
        &self,
        workspace_key: i64,
        key: i64,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE workspace_pk = $1 AND pk = $2")
            .bind(workspace_key)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn find_user_by_external_id(
        &self,
        workspace_key: i64,
        external_id: &str,
    ) -> Result<Option<User>, StoreError> {
        self.user_where("external_id", workspace_key, external_id)
            .await
    }

    async fn list_users(&self, request: &UserListRequest) -> Result<Vec<User>, StoreError> {
        let rows = users::list_query(request)
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::user).collect()
    }

    async fn update_user(
        &self,
        user: &User,
        expected_version: i64,
        event: &NewEvent,
        plan: &[UserWrite],
    ) -> Result<UpdateOutcome, StoreError> {
        users::update(&self.pool, user, expected_version, event, plan).await
    }

    async fn purge_user(
        &self,
        workspace_key: i64,
        user_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if !user_writes::purge(&mut tx, workspace_key, user_key).await? {
            return Ok(false);
        }
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn find_invitation(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Invitation, User, String)>, StoreError> {
        let row = sqlx::query(user_writes::FIND_INVITATION)
            .bind(token_hash.as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| {
            Ok((
                user_writes::invitation(&row)?,
                rows::user(&row)?,
                rows::get(&row, "w_id")?,
            ))
        })
        .transpose()
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

    async fn list_outbox(&self, query: &OutboxQuery) -> Result<Vec<Mail>, StoreError> {
        let rows = groups::outbox_query(query)
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(groups::mail).collect()
    }

    async fn claim_due_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Mail>, StoreError> {
        let rows = sqlx::query(groups::CLAIM)
            .bind(now)
            .bind(lease_until)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(groups::mail).collect()
    }

    async fn record_delivery(&self, mail_key: i64, outcome: &Delivery) -> Result<(), StoreError> {
        let query = match outcome {
            Delivery::Sent { at } => sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at = $2, text = NULL, last_error = NULL,
                                   attempts = attempts + 1
                 WHERE pk = $1",
            )
            .bind(mail_key)
            .bind(*at),
            Delivery::Retry {
                error,
                next_attempt_at,
            } => sqlx::query(
                "UPDATE outbox SET last_error = $2, next_attempt_at = $3, attempts = attempts + 1
                 WHERE pk = $1",
            )
            .bind(mail_key)
            .bind(error)
            .bind(*next_attempt_at),
            Delivery::Failed { error } => sqlx::query(
                "UPDATE outbox SET status = 'failed', last_error = $2, attempts = attempts + 1
                 WHERE pk = $1",
            )
            .bind(mail_key)
            .bind(error),
        };
        query
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_error)
    }

    async fn insert_group(&self, group: &Group, event: &NewEvent) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let pk: i64 = sqlx::query_scalar(
            "INSERT INTO groups (id, workspace_pk, name, name_key, description, created_at,
                                 updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING pk",
        )
        .bind(&group.id)
        .bind(group.workspace_key)
        .bind(&group.name)
        .bind(group.name_key())
        .bind(&group.description)
        .bind(group.created_at)
        .bind(group.updated_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        audit::append(&mut tx, group.workspace_key, event).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(pk)
    }

    async fn find_group(&self, workspace_key: i64, id: &str) -> Result<Option<Group>, StoreError> {
        let row = sqlx::query("SELECT * FROM groups WHERE workspace_pk = $1 AND id = $2")
            .bind(workspace_key)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(groups::group).transpose()
    }

    async fn find_group_by_key(
        &self,
        workspace_key: i64,
        key: i64,
    ) -> Result<Option<Group>, StoreError> {
        let row = sqlx::query("SELECT * FROM groups WHERE workspace_pk = $1 AND pk = $2")
            .bind(workspace_key)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(groups::group).transpose()
    }

    async fn list_groups(
        &self,
        workspace_key: i64,
        before_key: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Group>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM groups WHERE workspace_pk = $1 AND pk < $2 ORDER BY pk DESC LIMIT $3",
        )
        .bind(workspace_key)
        .bind(before_key.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(groups::group).collect()
    }

    async fn update_group(&self, group: &Group, event: &NewEvent) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "UPDATE groups SET name = $3, name_key = $4, description = $5, updated_at = $6
             WHERE workspace_pk = $1 AND pk = $2",
        )
        .bind(group.workspace_key)
        .bind(group.key)
        .bind(&group.name)
        .bind(group.name_key())
        .bind(&group.description)
        .bind(group.updated_at);
        self.execute_audited(group.workspace_key, event, change)
            .await
    }

    async fn delete_group(
        &self,
        workspace_key: i64,
        group_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT pk FROM groups WHERE workspace_pk = $1 AND pk = $2 FOR UPDATE",
        )
        .bind(workspace_key)
        .bind(group_key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if found.is_none() {
            return Ok(false);
        }
        for statement in [
            "DELETE FROM group_members WHERE group_pk = $1",
            "DELETE FROM groups WHERE pk = $1",
        ] {
            sqlx::query(statement)
                .bind(group_key)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn put_membership(
        &self,
        workspace_key: i64,
        membership: &Membership,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let change = sqlx::query(groups::PUT_MEMBERSHIP)
            .bind(workspace_key)
            .bind(membership.group_key)
            .bind(membership.user_key)
            .bind(membership.added_at)
            .bind(membership.expires_at);
        self.execute_audited(workspace_key, event, change)
            .await
            .map(|_| ())
    }

    async fn delete_membership(
        &self,
        workspace_key: i64,
        group_key: i64,
        user_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "DELETE FROM group_members WHERE group_pk = $2 AND user_pk = $3
               AND group_pk IN (SELECT pk FROM groups WHERE workspace_pk = $1)",
        )
        .bind(workspace_key)
        .bind(group_key)
        .bind(user_key);
        self.execute_audited(workspace_key, event, change).await
    }

    async fn list_members(
        &self,
        workspace_key: i64,
        group_key: i64,
        now: DateTime<Utc>,
        before_user_key: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(User, Membership)>, StoreError> {
        let sql = format!(
            "SELECT u.*, {} FROM group_members m JOIN users u ON u.pk = m.user_pk
             WHERE m.group_pk = $1 AND (m.expires_at IS NULL OR m.expires_at > $2)
               AND u.workspace_pk = $3 AND u.deleted_at IS NULL AND m.user_pk < $4
             ORDER BY m.user_pk DESC LIMIT $5",
            groups::MEMBERSHIP_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(group_key)
            .bind(now)
            .bind(workspace_key)
            .bind(before_user_key.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| Ok((rows::user(row)?, groups::membership(row)?)))
            .collect()
    }

    async fn groups_of_users(
        &self,
        workspace_key: i64,
        user_keys: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, Group, Membership)>, StoreError> {
        let sql = format!(
            "SELECT m.user_pk, g.*, {} FROM group_members m JOIN groups g ON g.pk = m.group_pk
             WHERE m.user_pk = ANY($1) AND (m.expires_at IS NULL OR m.expires_at > $2)
               AND g.workspace_pk = $3
             ORDER BY m.user_pk, g.name_key",
            groups::MEMBERSHIP_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(user_keys)
            .bind(now)
            .bind(workspace_key)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok((
                    sqlx::Row::try_get(row, "user_pk").map_err(db_error)?,
                    groups::group(row)?,
                    groups::membership(row)?,
                ))
            })
            .collect()
    }

    async fn find_import_matches(
        &self,
        workspace_key: i64,
        external_ids: &[String],
        email_keys: &[String],
    ) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(users::IMPORT_MATCHES)
            .persistent(false)
            .bind(workspace_key)
            .bind(external_ids)
            .bind(email_keys)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::user).collect()
    }

    async fn import_users(
        &self,
        workspace_key: i64,
        writes: &[ImportWrite],
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        users::import(&mut tx, writes).await?;
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn append_event(&self, workspace_key: i64, event: &NewEvent) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
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

    async fn find_sign_in(
        &self,
        workspace_key: i64,
        name: &SignInName,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let (sql, value) = match name {
            SignInName::EmailKey(key) => (
                "SELECT * FROM users WHERE workspace_pk = $1 AND email_key = $2 AND deleted_at IS NULL",
                key,
            ),
            SignInName::ExternalId(id) => (
                "SELECT * FROM users WHERE workspace_pk = $1 AND external_id = $2 AND deleted_at IS NULL",
                id,
            ),
        };
        let row = sqlx::query(sql)
            .bind(workspace_key)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| Ok((rows::user(&row)?, rows::get(&row, "password_hash")?)))
            .transpose()
    }

    async fn live_sessions(
        &self,
        workspace_key: i64,
        user_key: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "SELECT {} FROM sessions s WHERE s.user_pk = $1 AND s.workspace_pk = $2
               AND s.ended_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > $3)
             ORDER BY s.created_at, s.pk",
            sessions::COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(user_key)
            .bind(workspace_key)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(sessions::session).collect()
    }

    async fn start_session(
        &self,
        start: &SessionStart,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sessions::start(&mut tx, start).await?;
        audit::append(&mut tx, start.session.workspace_key, event).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn find_session(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Session, User, String)>, StoreError> {
        let sql = format!(
            "SELECT u.*, {}, w.id AS w_id FROM sessions s
               JOIN users u ON u.pk = s.user_pk JOIN workspaces w ON w.pk = s.workspace_pk
             WHERE s.token_hash = $1",
            sessions::COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(token_hash.as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| {
            Ok((
                sessions::session(&row)?,
                rows::user(&row)?,
                rows::get(&row, "w_id")?,
            ))
        })
        .transpose()
    }

    async fn touch_session(
        &self,
        session_key: i64,
        last_seen_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE pk = $1")
            .bind(session_key)
            .bind(last_seen_at)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_error)
    }

    async fn end_sessions(
        &self,
        workspace_key: i64,
        user_key: i64,
        which: &EndSessions,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let ended = sessions::end(&mut tx, workspace_key, user_key, which, at).await?;
        if ended > 0 {
            audit::append(&mut tx, workspace_key, event).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(ended)
    }

    async fn insert_personal_token(
        &self,
        token: &Session,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if !sessions::insert_personal(&mut tx, token).await? {
            return Ok(false);
        }
        audit::append(&mut tx, token.workspace_key, event).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn list_audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = audit::list_query(query)
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(audit::event).collect()
    }

    async fn audit_chain(
        &self,
        workspace_key: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM audit_events WHERE workspace_pk = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(workspace_key)
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(audit::event).collect()
    }

    async fn audit_head(&self, workspace_key: i64) -> Result<Option<AuditHead>, StoreError> {
        sqlx::query("SELECT * FROM audit_heads WHERE workspace_pk = $1")
            .bind(workspace_key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(audit::head)
            .transpose()
    }

    async fn purge_audit_events(
        &self,
        workspace_key: i64,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let purged = audit::purge(&mut tx, workspace_key, before, batch).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(purged)
    }
}
