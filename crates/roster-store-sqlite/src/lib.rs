//! Roster's embedded store: one SQLite file in WAL mode.
//!
//! Writes run on one thread that owns the only writing connection ([`writer`]), each a whole
//! `BEGIN IMMEDIATE` transaction. Reads use a pool of read-only connections that WAL lets run
//! beside the writer, right on the calling task ([`reader`]). Both are rusqlite; sqlx only
//! applies the migrations.

mod audit;
mod credentials;
mod error;
mod groups;
mod outbox;
mod reader;
mod rows;
mod sessions;
mod substring;
mod user_queries;
mod user_search;
mod user_writes;
mod users;
mod workspaces;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use roster_core::audit::NewEvent;
use roster_core::store::{Store, StoreError};
use roster_core::User;
use rusqlite::params;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use error::db_error;
use reader::Reader;
use writer::Writer;

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Migrations run on a connection of their own, opened for the purpose.
    options: SqliteConnectOptions,
    writer: Writer,
    reader: Arc<Reader>,
    /// Planner statistics for searches (see `roster_store_rows::search`).
    trigram_counts: Arc<roster_store_rows::search::TrigramCounts>,
    /// Where the search index's background merging stands (see `user_search::tidy`).
    search_tidy: Arc<user_search::Tidy>,
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
        let writer = Writer::open(
            options.get_filename(),
            BUSY_TIMEOUT,
            user_search::merge_step,
        )?;
        let reader = Arc::new(Reader::open(options.get_filename(), BUSY_TIMEOUT)?);
        Ok(Self {
            options,
            writer,
            reader,
            trigram_counts: Arc::default(),
            search_tidy: Arc::default(),
        })
    }

    /// The same store with the search planner's thresholds set (tests lower them to reach
    /// every path of a plan with a few users).
    #[must_use]
    pub fn with_search_tuning(mut self, tuning: roster_store_rows::search::SearchTuning) -> Self {
        self.trigram_counts = Arc::new(roster_store_rows::search::TrigramCounts::new(
            tuning,
            roster_store_rows::search::Intersection::Seeks,
        ));
        self
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
        let conn =
            rusqlite::Connection::open(self.options.get_filename()).map_err(error::sql_error)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(error::sql_error)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(error::sql_error)
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
}
