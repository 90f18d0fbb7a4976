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

/// A workspace of `users` users written one commit each, and the upkeep's merge of them
/// started: the first look sees users being added, so merging waits for the next, which
/// sees none.
async fn start_a_merge(store: &Arc<dyn Store>, users: u32) -> roster_core::Workspace {
    let ws = roster_store_conformance::user_search::workspace_with_users(store, users).await;
    assert!(
        !store.tidy_search_index().await.unwrap(),
        "writes may still be going on"
    );
    assert!(store.tidy_search_index().await.unwrap(), "a merge started");
    ws
}

/// On SQLite the upkeep has work after users written one commit each: FTS5 left a
/// segment per commit, which it merges in steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_index_upkeep_merges_what_commits_left_in_pieces() {
    let fixture = fresh().await.unwrap();
    let store = fixture.store.clone();
    start_a_merge(&store, 1500).await;
    while store.tidy_search_index().await.unwrap() {}
    fixture.cleanup().await;
}

/// Users written while a merge runs are not counted as merged when it ends: the next quiet
/// moment merges again. (A merge that a pause in a bulk import let start covered only the
/// users before it, and the rest stayed in segments of their own.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_index_upkeep_merges_again_what_was_written_during_a_merge() {
    let fixture = fresh().await.unwrap();
    let store = fixture.store.clone();
    let ws = start_a_merge(&store, 4000).await;
    // More users than the upkeep waits for (1,000) arrive while it runs.
    for n in 0..1100u32 {
        roster_store_conformance::user_search::add_user(&store, &ws, 10_000 + n).await;
    }
    while store.tidy_search_index().await.unwrap() {}
    // The writes are over: the next looks merge them in.
    let mut merged_again = false;
    for _ in 0..3 {
        merged_again |= store.tidy_search_index().await.unwrap();
    }
    assert!(
        merged_again,
        "the users written during the merge were merged in"
    );
    fixture.cleanup().await;
}

/// Writes between the upkeep's steps do not turn each step into a new merge: the merge the
/// first step starts is carried on (by the upkeep and by the writer's own step after each
/// write) to its end, and writes keep working. (Starting over at every step left a segment
/// per step, until FTS5's 2,000 segments refused every write.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_index_upkeep_carries_its_merge_on_between_writes() {
    let fixture = fresh().await.unwrap();
    let store = fixture.store.clone();
    let ws = start_a_merge(&store, 4000).await;
    let before = roster_store_conformance::user_search::search_keys(&store, &ws, "ann").await;
    let mut steps = 1;
    for n in 0..2100u32 {
        roster_store_conformance::user_search::add_user(&store, &ws, 10_000 + n).await;
        if store.tidy_search_index().await.unwrap() {
            steps += 1;
        }
    }
    assert!(steps < 2100, "the merge came to an end between the writes");
    assert_eq!(
        roster_store_conformance::user_search::search_keys(&store, &ws, "ann").await,
        before
    );
    fixture.cleanup().await;
}
