//! Roster's embedded store: one SQLite file in WAL mode.
//!
//! Writes run on one thread that owns the only writing connection ([`writer`]), each a whole
//! `BEGIN IMMEDIATE` transaction. Reads use a pool of read-only connections that WAL lets run
//! beside the writer, right on the calling task ([`reader`]). Both are rusqlite; sqlx only
//! applies the migrations.

mod audit;
mod error;
mod groups;
mod outbox;
mod reader;
mod rows;
mod sessions;
mod user_writes;
mod users;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
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
    ImportWrite, SessionStart, SignInName, Store, StoreError, UpdateOutcome, UserWrite,
};
use roster_core::ApiClient;
use roster_core::{User, UserListRequest, Workspace};
use rusqlite::params;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use error::{db_error, sql_error};
use reader::Reader;
use writer::Writer;

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

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Migrations run on a connection of their own, opened for the purpose.
    options: SqliteConnectOptions,
    writer: Writer,
    reader: Arc<Reader>,
}

impl SqliteStore {
    /// Open (creating if missing) the database at `url` (`sqlite://PATH` or `sqlite:PATH`).
    /// Does not migrate; call [`Store::migrate`].
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        let writer = Writer::open(options.get_filename(), BUSY_TIMEOUT)?;
        let reader = Arc::new(Reader::open(options.get_filename(), BUSY_TIMEOUT)?);
        Ok(Self {
            options,
            writer,
            reader,
        })
    }

    /// The user of `workspace_key` whose unique `column` (`id` or `external_id`) is `value`.
    async fn user_where(
        &self,
        column: &'static str,
        workspace_key: i64,
        value: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT * FROM users WHERE workspace_pk = ?1 AND {column} = ?2");
        self.reader
            .row(&sql, params![workspace_key, value], rows::user)
    }
}

impl SqliteStore {
    /// Run `change` in a write transaction and, if it reports that it changed something,
    /// append `event` to the workspace's chain in the same transaction.
    async fn write_audited<F>(
        &self,
        workspace_key: i64,
        event: &NewEvent,
        change: F,
    ) -> Result<bool, StoreError>
    where
        F: Fn(&rusqlite::Transaction<'_>) -> Result<bool, StoreError> + Send + 'static,
    {
        let event = event.clone();
        self.writer
            .write(move |tx| {
                let changed = change(tx)?;
                if changed {
                    audit::append(tx, workspace_key, &event)?;
                }
                Ok(changed)
            })
            .await
    }
}

/// Measuring instruments, compiled only with the `bench` feature (`bench/audit-cost.sh`):
/// never part of a server.
#[cfg(feature = "bench")]
impl SqliteStore {
    /// The user row alone, with no audit event: exactly `insert_user`'s transaction minus the
    /// event, so the difference between the two is what auditing costs.
    pub async fn insert_user_without_event(&self, user: &User) -> Result<i64, StoreError> {
        let user = user.clone();
        self.writer
            .write(move |tx| users::insert(tx, &user, None))
            .await
    }

    /// Empty the write-ahead log now, so the next measured phase does not pay for the
    /// previous one's pages (call while nothing writes).
    pub async fn checkpoint_now(&self) -> Result<(), StoreError> {
        let conn = rusqlite::Connection::open(self.options.get_filename()).map_err(sql_error)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_error)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(sql_error)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(self.options.clone())
            .await
            .map_err(db_error)?;
        let migrated = MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")));
        pool.close().await;
        migrated
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.reader.row("SELECT 1", [], |_| Ok(())).map(|_| ())
    }

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
                key_columns!(),
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
                key_columns!(),
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
                key_columns!(),
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
                client_columns!(),
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
                client_columns!(),
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

    async fn set_workspace_rate_limit(
        &self,
        workspace_key: i64,
        per_minute: Option<u32>,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let event = event.clone();
        self.writer
            .write(move |tx| {
                tx.execute(
                    "UPDATE workspaces SET rate_limit_per_minute = ?2 WHERE pk = ?1",
                    params![workspace_key, per_minute],
                )
                .map_err(sql_error)?;
                audit::append(tx, workspace_key, &event)
            })
            .await
    }

    async fn set_audit_retention(
        &self,
        workspace_key: i64,
        days: u32,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let event = event.clone();
        self.writer
            .write(move |tx| {
                tx.execute(
                    "UPDATE workspaces SET audit_retention_days = ?2 WHERE pk = ?1",
                    params![workspace_key, days],
                )
                .map_err(sql_error)?;
                audit::append(tx, workspace_key, &event)
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

    async fn insert_user(
        &self,
        user: &User,
        event: &NewEvent,
        plan: &[UserWrite],
    ) -> Result<i64, StoreError> {
        let (user, event, plan) = (user.clone(), event.clone(), plan.to_vec());
        self.writer
            .write(move |tx| {
                let pk = users::insert(tx, &user, None)?;
                user_writes::execute(tx, user.workspace_key, pk, user.created_at, &plan)?;
                audit::append(tx, user.workspace_key, &event)?;
                Ok(pk)
            })
            .await
    }

    async fn get_user(&self, workspace_key: i64, id: &str) -> Result<Option<User>, StoreError> {
        self.user_where("id", workspace_key, id).await
    }

    async fn find_user_by_uuid(
        &self,
        workspace_key: i64,
        uuid: uuid::Uuid,
    ) -> Result<Option<User>, StoreError> {
        self.user_where("uuid", workspace_key, &uuid.to_string())
            .await
    }

    async fn find_user_by_key(
        &self,
        workspace_key: i64,
        key: i64,
    ) -> Result<Option<User>, StoreError> {
        self.reader.row(
            "SELECT * FROM users WHERE workspace_pk = ?1 AND pk = ?2",
            params![workspace_key, key],
            rows::user,
        )
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
        let query = users::list_query(request);
        self.reader.rows(
            &query.text,
            rusqlite::params_from_iter(query.params),
            rows::user,
        )
    }

    async fn update_user(
        &self,
        user: &User,
        expected_version: i64,
        event: &NewEvent,
        plan: &[UserWrite],
    ) -> Result<UpdateOutcome, StoreError> {
        let (user, event, plan) = (user.clone(), event.clone(), plan.to_vec());
        self.writer
            .write(move |tx| {
                let outcome = users::update(tx, &user, expected_version)?;
                if outcome == UpdateOutcome::Updated {
                    user_writes::execute(tx, user.workspace_key, user.key, user.updated_at, &plan)?;
                    audit::append(tx, user.workspace_key, &event)?;
                }
                Ok(outcome)
            })
            .await
    }

    async fn purge_user(
        &self,
        workspace_key: i64,
        user_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        self.write_audited(workspace_key, event, move |tx| {
            user_writes::purge(tx, workspace_key, user_key)
        })
        .await
    }

    async fn find_invitation(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Invitation, User, String)>, StoreError> {
        self.reader.row(
            user_writes::FIND_INVITATION,
            [token_hash.as_slice()],
            |row| {
                Ok((
                    user_writes::invitation(row)?,
                    rows::user(row)?,
                    rows::get(row, "w_id")?,
                ))
            },
        )
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

    async fn list_outbox(&self, query: &OutboxQuery) -> Result<Vec<Mail>, StoreError> {
        let query = outbox::list_query(query);
        self.reader.rows(
            &query.text,
            rusqlite::params_from_iter(query.params),
            outbox::mail,
        )
    }

    async fn claim_due_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Mail>, StoreError> {
        self.writer
            .write(move |tx| {
                let mut claim = tx.prepare_cached(outbox::CLAIM).map_err(sql_error)?;
                let mut rows = claim
                    .query(params![
                        rows::micros(now),
                        rows::micros(lease_until),
                        i64::from(limit)
                    ])
                    .map_err(sql_error)?;
                let mut mails = Vec::new();
                while let Some(row) = rows.next().map_err(sql_error)? {
                    mails.push(outbox::mail(row)?);
                }
                Ok(mails)
            })
            .await
    }

    async fn record_delivery(&self, mail_key: i64, outcome: &Delivery) -> Result<(), StoreError> {
        let outcome = outcome.clone();
        self.writer
            .write(move |tx| outbox::record(tx, mail_key, &outcome))
            .await
    }

    async fn insert_group(&self, group: &Group, event: &NewEvent) -> Result<i64, StoreError> {
        let (group, event) = (group.clone(), event.clone());
        self.writer
            .write(move |tx| {
                let pk = groups::insert(tx, &group)?;
                audit::append(tx, group.workspace_key, &event)?;
                Ok(pk)
            })
            .await
    }

    async fn find_group(&self, workspace_key: i64, id: &str) -> Result<Option<Group>, StoreError> {
        self.reader.row(
            "SELECT * FROM groups WHERE workspace_pk = ?1 AND id = ?2",
            params![workspace_key, id],
            groups::group,
        )
    }

    async fn find_group_by_key(
        &self,
        workspace_key: i64,
        key: i64,
    ) -> Result<Option<Group>, StoreError> {
        self.reader.row(
            "SELECT * FROM groups WHERE workspace_pk = ?1 AND pk = ?2",
            params![workspace_key, key],
            groups::group,
        )
    }

    async fn list_groups(
        &self,
        workspace_key: i64,
        before_key: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Group>, StoreError> {
        self.reader.rows(
            "SELECT * FROM groups WHERE workspace_pk = ?1 AND pk < ?2 ORDER BY pk DESC LIMIT ?3",
            params![
                workspace_key,
                before_key.unwrap_or(i64::MAX),
                i64::from(limit)
            ],
            groups::group,
        )
    }

    async fn update_group(&self, group: &Group, event: &NewEvent) -> Result<bool, StoreError> {
        let group = group.clone();
        self.write_audited(group.workspace_key, event, move |tx| {
            groups::update(tx, &group)
        })
        .await
    }

    async fn delete_group(
        &self,
        workspace_key: i64,
        group_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        self.write_audited(workspace_key, event, move |tx| {
            groups::delete(tx, workspace_key, group_key)
        })
        .await
    }

    async fn put_membership(
        &self,
        workspace_key: i64,
        membership: &Membership,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let membership = membership.clone();
        self.write_audited(workspace_key, event, move |tx| {
            groups::put_membership(tx, workspace_key, &membership)
        })
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
        self.write_audited(workspace_key, event, move |tx| {
            groups::delete_membership(tx, workspace_key, group_key, user_key)
        })
        .await
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
             WHERE m.group_pk = ?1 AND (m.expires_at IS NULL OR m.expires_at > ?2)
               AND u.workspace_pk = ?3 AND u.deleted_at IS NULL AND m.user_pk < ?4
             ORDER BY m.user_pk DESC LIMIT ?5",
            groups::MEMBERSHIP_COLUMNS
        );
        self.reader.rows(
            &sql,
            params![
                group_key,
                rows::micros(now),
                workspace_key,
                before_user_key.unwrap_or(i64::MAX),
                i64::from(limit)
            ],
            |row| Ok((rows::user(row)?, groups::membership(row)?)),
        )
    }

    async fn groups_of_users(
        &self,
        workspace_key: i64,
        user_keys: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, Group, Membership)>, StoreError> {
        let sql = format!(
            "SELECT m.user_pk, g.*, {} FROM group_members m JOIN groups g ON g.pk = m.group_pk
             WHERE m.user_pk IN (SELECT value FROM json_each(?1))
               AND (m.expires_at IS NULL OR m.expires_at > ?2)
               AND g.workspace_pk = ?3
             ORDER BY m.user_pk, g.name_key",
            groups::MEMBERSHIP_COLUMNS
        );
        self.reader.rows(
            &sql,
            params![rows::to_json(&user_keys)?, rows::micros(now), workspace_key],
            |row| {
                Ok((
                    row.get("user_pk").map_err(sql_error)?,
                    groups::group(row)?,
                    groups::membership(row)?,
                ))
            },
        )
    }

    async fn find_import_matches(
        &self,
        workspace_key: i64,
        external_ids: &[String],
        email_keys: &[String],
    ) -> Result<Vec<User>, StoreError> {
        self.reader.rows(
            users::IMPORT_MATCHES,
            params![
                workspace_key,
                rows::to_json(&external_ids)?,
                rows::to_json(&email_keys)?
            ],
            rows::user,
        )
    }

    async fn import_users(
        &self,
        workspace_key: i64,
        writes: &[ImportWrite],
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let (writes, event) = (writes.to_vec(), event.clone());
        self.writer
            .write_alone(move |tx| {
                users::import(tx, &writes)?;
                audit::append(tx, workspace_key, &event)
            })
            .await
    }

    async fn append_event(&self, workspace_key: i64, event: &NewEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.writer
            .write(move |tx| audit::append(tx, workspace_key, &event))
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

    async fn find_sign_in(
        &self,
        workspace_key: i64,
        name: &SignInName,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let (sql, value) = match name {
            SignInName::EmailKey(key) => (
                "SELECT * FROM users WHERE workspace_pk = ?1 AND email_key = ?2 AND deleted_at IS NULL",
                key,
            ),
            SignInName::ExternalId(id) => (
                "SELECT * FROM users WHERE workspace_pk = ?1 AND external_id = ?2 AND deleted_at IS NULL",
                id,
            ),
        };
        self.reader.row(sql, params![workspace_key, value], |row| {
            Ok((rows::user(row)?, rows::get(row, "password_hash")?))
        })
    }

    async fn live_sessions(
        &self,
        workspace_key: i64,
        user_key: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "SELECT {} FROM sessions s WHERE s.user_pk = ?1 AND s.workspace_pk = ?2
               AND s.ended_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?3)
             ORDER BY s.created_at, s.pk",
            sessions::COLUMNS
        );
        self.reader.rows(
            &sql,
            params![user_key, workspace_key, rows::micros(now)],
            sessions::session,
        )
    }

    async fn start_session(
        &self,
        start: &SessionStart,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let (start, event) = (start.clone(), event.clone());
        self.writer
            .write(move |tx| {
                sessions::start(tx, &start)?;
                audit::append(tx, start.session.workspace_key, &event)
            })
            .await
    }

    async fn find_session(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Session, User, String)>, StoreError> {
        let sql = format!(
            "SELECT u.*, {}, w.id AS w_id FROM sessions s
               JOIN users u ON u.pk = s.user_pk JOIN workspaces w ON w.pk = s.workspace_pk
             WHERE s.token_hash = ?1",
            sessions::COLUMNS
        );
        self.reader.row(&sql, [token_hash.as_slice()], |row| {
            Ok((
                sessions::session(row)?,
                rows::user(row)?,
                rows::get(row, "w_id")?,
            ))
        })
    }

    async fn touch_session(
        &self,
        session_key: i64,
        last_seen_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |tx| {
                tx.prepare_cached(
                    "UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE pk = ?1",
                )
                .and_then(|mut touch| {
                    touch.execute(params![
                        session_key,
                        rows::micros(last_seen_at),
                        expires_at.map(rows::micros)
                    ])
                })
                .map(|_| ())
                .map_err(sql_error)
            })
            .await
    }

    async fn end_sessions(
        &self,
        workspace_key: i64,
        user_key: i64,
        which: &EndSessions,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<u64, StoreError> {
        let (which, event) = (which.clone(), event.clone());
        self.writer
            .write(move |tx| {
                let ended = sessions::end(tx, workspace_key, user_key, &which, rows::micros(at))?;
                if ended > 0 {
                    audit::append(tx, workspace_key, &event)?;
                }
                Ok(ended)
            })
            .await
    }

    async fn insert_personal_token(
        &self,
        token: &Session,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let token = token.clone();
        self.write_audited(token.workspace_key, event, move |tx| {
            sessions::insert_personal(tx, &token)
        })
        .await
    }

    async fn list_audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let query = audit::list_query(query);
        self.reader.rows(
            &query.text,
            rusqlite::params_from_iter(query.params),
            audit::event,
        )
    }

    async fn audit_chain(
        &self,
        workspace_key: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.reader.rows(
            "SELECT * FROM audit_events WHERE workspace_pk = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            params![workspace_key, after_seq, i64::from(limit)],
            audit::event,
        )
    }

    async fn audit_head(&self, workspace_key: i64) -> Result<Option<AuditHead>, StoreError> {
        self.reader.row(
            "SELECT * FROM audit_heads WHERE workspace_pk = ?1",
            [workspace_key],
            audit::head,
        )
    }

    async fn purge_audit_events(
        &self,
        workspace_key: i64,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, StoreError> {
        self.writer
            .write_alone(move |tx| audit::purge(tx, workspace_key, before, batch))
            .await
    }
}
