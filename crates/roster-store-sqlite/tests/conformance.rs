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
use roster_store_rows::search::SearchTuning;
use roster_store_sqlite::SqliteStore;

async fn fresh() -> Option<Fixture> {
    fresh_tuned(SearchTuning::default()).await
}

async fn fresh_tuned(tuning: SearchTuning) -> Option<Fixture> {
    let dir = std::env::temp_dir().join(format!("roster-conformance-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("roster.db").display());
    let store = SqliteStore::open(&url)
        .await
        .unwrap()
        .with_search_tuning(tuning);
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

/// The search property again, with planner thresholds a few users reach: walks in list
/// order, their budget running out, and the index taking over after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_returns_exactly_the_users_holding_the_substring_on_every_plan() {
    let tuning = SearchTuning {
        common: 12,
        scan_budget: 5,
    };
    let fixture = fresh_tuned(tuning).await.unwrap();
    roster_store_conformance::user_search::search_returns_exactly_the_users_holding_the_substring(
        fixture.store.clone(),
    )
    .await;
    fixture.cleanup().await;
}

/// The search index's upkeep merges what a bulk write left in pieces, in steps, and stops
/// when there is nothing left; searches answer the same before, during and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_index_upkeep_merges_in_steps_and_stops() {
    use roster_core::store::prelude::*;
    let fixture = fresh().await.unwrap();
    let store = fixture.store.clone();
    let ws = roster_store_conformance::user_search::workspace_with_users(&store, 3000).await;
    let expected = roster_store_conformance::user_search::search_keys(&store, &ws, "ann").await;
    assert!(!expected.is_empty());
    let mut steps = 0;
    while store.tidy_search_index().await.unwrap() {
        steps += 1;
        assert!(steps < 10_000, "upkeep never ends");
        if steps % 5 == 0 {
            assert_eq!(
                roster_store_conformance::user_search::search_keys(&store, &ws, "ann").await,
                expected
            );
        }
    }
    assert!(
        steps > 0,
        "3,000 users written one commit each leave segments to merge"
    );
    assert!(
        !store.tidy_search_index().await.unwrap(),
        "nothing left to do"
    );
    assert_eq!(
        roster_store_conformance::user_search::search_keys(&store, &ws, "ann").await,
        expected
    );
    fixture.cleanup().await;
}
