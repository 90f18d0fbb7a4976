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
