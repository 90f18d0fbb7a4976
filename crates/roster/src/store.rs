//! Picking the store backend from the database URL.

use std::sync::Arc;

use anyhow::{bail, Context};
use roster_core::{OsRandom, Roster, Store, SystemClock};
use roster_store_postgres::PostgresStore;
use roster_store_sqlite::SqliteStore;

/// Whether opening a store may create its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// `serve` and `migrate`: an SQLite file that does not exist yet is made.
    Yes,
    /// Every other command: a missing SQLite file is an error that names the path looked
    /// for, never a new empty database.
    No,
}

/// The file an SQLite URL names, if it names one (`sqlite://roster.db`, `sqlite:///a/b.db`,
/// with or without `?options`; not `:memory:`).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Open the store `url` names and apply pending migrations.
pub async fn open(url: &str, create: Create) -> anyhow::Result<Arc<dyn Store>> {
    if create == Create::No {
        if let Some(path) = sqlite_file(url).filter(|p| !p.exists()) {
            let shown = std::path::absolute(&path).unwrap_or(path);
            bail!(
                "no Roster database at {} (from --database-url / ROSTER_DATABASE_URL '{url}'); \
                 run this where `roster serve` keeps its database, pass its URL, or create one \
                 with `roster migrate`",
                shown.display()
            );
        }
    }
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
pub async fn roster(url: &str, create: Create) -> anyhow::Result<Roster> {
    Ok(Roster::new(
        open(url, create).await?,
        Arc::new(SystemClock),
        Arc::new(OsRandom),
    ))
}
