//! The store conformance suite on PostgreSQL, one fresh database per case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

use std::sync::Arc;

use roster_store_conformance::Fixture;
use roster_store_postgres::testing::fresh_database;

async fn fresh() -> Option<Fixture> {
    let db = fresh_database().await?;
    let store = Arc::new(db.store.clone());
    Some(Fixture::new(store, db.drop_database()))
}

roster_store_conformance::suite!(fresh);

/// The search property again, with planner thresholds a few users reach: walks in list
/// order a budget at a time, and the index for the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_returns_exactly_the_users_holding_the_substring_on_every_plan() {
    search_property_with_small_thresholds(None).await;
}

/// The search property again, with users' keys far apart (a few users to each of the
/// trigram indexes' key buckets), so a search whose trigrams are all common walks a budget
/// of users and then the index a few buckets at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_returns_exactly_the_users_holding_the_substring_across_key_buckets() {
    // About four users to a bucket of 4,096 keys.
    search_property_with_small_thresholds(Some(1031)).await;
}

/// A search asks the trigram indexes on connections that plan a statement once, without its
/// values (planning one for its patterns cost twice as much as running it); every other
/// statement is planned for its values.
#[tokio::test]
async fn trigram_statements_have_connections_of_generic_plans() {
    let Some(db) = fresh_database().await else {
        return;
    };
    let (planned, generic) = db.settings("plan_cache_mode").await;
    db.drop_database().await;
    assert_eq!(planned, "auto");
    assert_eq!(generic, "force_generic_plan");
}

/// Searches scan the trigram indexes' pending lists whole, so every connection keeps them
/// short; the indexes themselves set no limit, which would override the connections' (and
/// an import batch's larger one, migration 0017).
#[tokio::test]
async fn trigram_pending_lists_are_capped_by_each_connection() {
    let Some(db) = fresh_database().await else {
        return;
    };
    let limits = db.settings("gin_pending_list_limit").await;
    let options = db.trigram_index_options().await;
    db.drop_database().await;
    assert_eq!(limits, ("1MB".to_owned(), "1MB".to_owned()));
    assert_eq!(options, vec!["fastupdate=on"; 3]);
}

/// The search property on a fresh database with planner thresholds a few users reach, and
/// user keys `spread` apart when given.
async fn search_property_with_small_thresholds(spread: Option<i64>) {
    let Some(db) = fresh_database().await else {
        return;
    };
    if let Some(step) = spread {
        db.spread_user_keys(step).await;
    }
    let tuning = roster_store_rows::search::SearchTuning {
        common: 12,
        scan_budget: 5,
    };
    let store = Arc::new(db.store.clone().with_search_tuning(tuning));
    roster_store_conformance::user_search::search_returns_exactly_the_users_holding_the_substring(
        store,
    )
    .await;
    db.drop_database().await;
}
