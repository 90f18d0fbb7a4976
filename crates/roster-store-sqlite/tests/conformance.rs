//! The store conformance suite on SQLite, one fresh database file per case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

use std::sync::Arc;

use roster_core::Store;
use roster_store_conformance::Fixture;
use roster_store_sqlite::SqliteStore;

async fn fresh() -> Option<Fixture> {
    let dir = std::env::temp_dir().join(format!("roster-conformance-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("roster.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    Some(Fixture::new(Arc::new(store), async move {
        let _ = std::fs::remove_dir_all(dir);
    }))
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

roster_store_conformance::suite!(fresh);
