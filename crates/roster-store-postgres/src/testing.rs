//! Test support: a fresh, migrated database per test on the server named by
//! `ROSTER_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//!
//! When the server cannot be reached, tests skip with a printed reason on a developer's
//! machine, and fail in CI (`CI` set) or when `ROSTER_TEST_REQUIRE_POSTGRES=1`.

use sqlx::{Connection, Executor, PgConnection};

use crate::PostgresStore;
use roster_core::Store;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database made for one test; [`FreshDatabase::drop_database`] removes it.
pub struct FreshDatabase {
    pub store: PostgresStore,
    pub url: String,
    admin_url: String,
    name: String,
}

/// True when a missing PostgreSQL must fail the test run rather than skip.
pub fn postgres_required() -> bool {
    let set =
        |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    set("CI") || set("ROSTER_TEST_REQUIRE_POSTGRES")
}

/// Create and migrate a new database, or `None` (after printing why) when PostgreSQL is not
/// reachable and not required.
///
/// # Panics
/// When PostgreSQL is required but unreachable, or when it answers but refuses the set-up.
#[allow(clippy::panic, reason = "test support: failing loudly is the point")]
pub async fn fresh_database() -> Option<FreshDatabase> {
    let admin_url =
        std::env::var("ROSTER_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let mut admin = match PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(err) if !postgres_required() => {
            eprintln!("skipping PostgreSQL test: cannot connect to {admin_url}: {err}");
            return None;
        }
        Err(err) => panic!("PostgreSQL is required (CI) but {admin_url} is unreachable: {err}"),
    };
    let name = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
    if let Err(err) = admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
    {
        panic!("cannot create test database {name}: {err}");
    }
    let _ = admin.close().await;
    let url = with_database(&admin_url, &name);
    let store = match PostgresStore::connect(&url).await {
        Ok(store) => store,
        Err(err) => panic!("cannot connect to test database {name}: {err}"),
    };
    if let Err(err) = store.migrate().await {
        panic!("cannot migrate test database {name}: {err}");
    }
    Some(FreshDatabase {
        store,
        url,
        admin_url,
        name,
    })
}

/// Drops its test database when dropped (from a thread of its own, so it works inside and
/// outside an async runtime, and after a failed test).
pub struct DatabaseGuard {
    admin_url: String,
    name: String,
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropped.join();
    }
}

impl FreshDatabase {
    /// The store, and a guard that drops the database when it goes out of scope.
    pub fn with_guard(self) -> (PostgresStore, DatabaseGuard) {
        (
            self.store,
            DatabaseGuard {
                admin_url: self.admin_url,
                name: self.name,
            },
        )
    }

    /// Make each user written from now on take a key `step` above the last, so a few
    /// users span many of the trigram indexes' key buckets (`user_search`).
    #[allow(clippy::panic, reason = "test support: failing loudly is the point")]
    pub async fn spread_user_keys(&self, step: i64) {
        let statement = format!("ALTER SEQUENCE users_pk_seq INCREMENT BY {step}");
        if let Err(e) = sqlx::query(&statement).execute(&self.store.pool).await {
            panic!("spreading user keys failed: {e}");
        }
    }

    /// Setting `name` on a connection of the store's pool and on one of its pool of
    /// generic plans (`user_search::Pools`).
    pub async fn settings(&self, name: &str) -> (String, String) {
        (
            setting(&self.store.pool, name).await,
            setting(&self.store.generic_pool, name).await,
        )
    }

    /// The storage parameters each of the users' trigram indexes was given
    /// (`pg_class.reloptions`), the indexes the store's upkeep tends, in its order.
    #[allow(clippy::panic, reason = "test support: failing loudly is the point")]
    pub async fn trigram_index_options(&self) -> Vec<String> {
        let options: Result<Vec<Option<Vec<String>>>, _> = sqlx::query_scalar(
            "SELECT c.reloptions FROM unnest($1::text[]) WITH ORDINALITY AS i(name, n)
             JOIN pg_class c ON c.oid = i.name::regclass ORDER BY i.n",
        )
        .bind(crate::users::TRIGRAM_INDEXES)
        .fetch_all(&self.store.pool)
        .await;
        match options {
            Ok(options) => options.into_iter().flatten().flatten().collect(),
            Err(e) => panic!("reading the trigram indexes' options failed: {e}"),
        }
    }

    /// Close the store and drop the database.
    pub async fn drop_database(self) {
        self.store.close().await;
        if let Ok(mut admin) = PgConnection::connect(&self.admin_url).await {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
                .await;
            let _ = admin.close().await;
        }
    }
}

#[allow(clippy::panic, reason = "test support: failing loudly is the point")]
async fn setting(pool: &sqlx::PgPool, name: &str) -> String {
    match sqlx::query_scalar("SELECT current_setting($1)")
        .bind(name)
        .fetch_one(pool)
        .await
    {
        Ok(value) => value,
        Err(e) => panic!("reading setting {name} failed: {e}"),
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}
