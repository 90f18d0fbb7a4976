//! Picking the store backend from the database URL.

use std::sync::Arc;

use anyhow::{bail, Context};
use roster_core::{OsRandom, Roster, Store, SystemClock};
use roster_store_postgres::PostgresStore;
use roster_store_sqlite::SqliteStore;

/// Open the store `url` names and apply pending migrations.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(
            SqliteStore::open(url)
                .await
                .context("cannot open the SQLite database")?,
        )
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(
            PostgresStore::connect(url)
                .await
                .context("cannot connect to PostgreSQL")?,
        )
    } else {
        bail!("unsupported database URL '{url}': use sqlite://PATH or postgres://…");
    };
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// The core over the store `url` names, with the real clock and randomness.
pub async fn roster(url: &str) -> anyhow::Result<Roster> {
    Ok(Roster::new(
        open(url).await?,
        Arc::new(SystemClock),
        Arc::new(OsRandom),
    ))
}
