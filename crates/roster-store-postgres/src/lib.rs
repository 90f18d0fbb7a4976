//! Roster's scale-out store: PostgreSQL, shared by any number of stateless nodes.
//!
//! Uniqueness and optimistic versions are enforced by the database, so nodes need no
//! coordination of their own; nothing here assumes it is the only writer.

mod audit;
mod credentials;
mod error;
mod groups;
mod outbox;
mod rows;
mod search_sample;
mod sessions;
mod statistics;
#[cfg(feature = "testing")]
pub mod testing;
mod user_queries;
mod user_search;
mod user_writes;
mod users;
mod workspaces;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use roster_core::audit::NewEvent;
use roster_core::store::{Store, StoreError};
use roster_core::User;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use error::db_error;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connections of [`PostgresStore`]'s pool of generic plans at most: searches asking the
/// trigram indexes at once (each a few short statements; two cores serve far fewer).
const GENERIC_CONNECTIONS: u32 = 8;

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Connections whose statements are planned once, without their values
    /// (`plan_cache_mode = force_generic_plan`), for statements whose plan the values do not
    /// change and whose planning costs more than running them: see `user_search::Pools`.
    generic_pool: PgPool,
    /// Planner statistics for searches and whose turn it is to take them (see
    /// `user_search::Counting`).
    search_counting: std::sync::Arc<user_search::Counting>,
    /// How long the background upkeep leaves a table after its statistics were gathered
    /// (see `statistics::refresh`).
    statistics_rest: Duration,
}

impl PostgresStore {
    /// Close the connection pool: every later call fails as an unreachable database does
    /// (`StoreError::Unavailable`). For tests of what clients see then.
    #[cfg(feature = "testing")]
    pub async fn close(&self) {
        self.pool.close().await;
        self.generic_pool.close().await;
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
            .options([("client_min_messages", "warning")])
            // Searches scan the trigram indexes' pending lists linearly: keep them short
            // (migration 0017; an import batch raises it for its own transaction).
            .options([("gin_pending_list_limit", users::PENDING_LIST_LIMIT)])
            // Each page size is a statement of its own (see `users::written_limit`): room
            // for the few sizes clients use beside every other statement.
            .statement_cache_capacity(256);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(db_error)?;
        let generic_pool = PgPoolOptions::new()
            .max_connections(GENERIC_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options.options([("plan_cache_mode", "force_generic_plan")]));
        Ok(Self {
            pool,
            generic_pool,
            search_counting: std::sync::Arc::new(user_search::Counting::new(
                roster_store_rows::search::SearchTuning::default(),
            )),
            statistics_rest: statistics::REST,
        })
    }

    /// The same store with the background upkeep leaving a table `rest` after its
    /// statistics were gathered, not a minute (tests refresh one table several times).
    #[must_use]
    pub fn with_statistics_rest(mut self, rest: Duration) -> Self {
        self.statistics_rest = rest;
        self
    }

    /// The same store with the search planner's thresholds set (tests lower them to reach
    /// every path of a plan with a few users).
    #[must_use]
    pub fn with_search_tuning(mut self, tuning: roster_store_rows::search::SearchTuning) -> Self {
        self.search_counting = std::sync::Arc::new(user_search::Counting::new(tuning));
        self
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

    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError> {
        statistics::refresh(&self.pool, self.statistics_rest).await
    }
}
