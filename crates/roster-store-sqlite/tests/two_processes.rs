//! Two stores on one SQLite file, as a running server and the CLI are: their writes
//! interleave on one audit chain without forking it, although each caches the chain's head.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

use roster_core::store::prelude::*;
use std::sync::Arc;

use roster_core::{AuditContext, ManualClock, NewUser, Roster, SeededRandom, Store};
use roster_store_sqlite::SqliteStore;

async fn roster(url: &str, seed: u64) -> Roster {
    let store = SqliteStore::open(url).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    Roster::new(Arc::new(store), clock, Arc::new(SeededRandom::new(seed)))
}

#[tokio::test]
async fn interleaved_writers_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());
    let server = roster(&url, 1).await;
    server.bootstrap(None).await.unwrap();
    let cli = roster(&url, 2).await;
    let ctx = AuditContext::operator();
    for n in 0..6 {
        let writer = if n % 3 == 0 { &cli } else { &server };
        let ws = writer.find_workspace("default").await.unwrap();
        let user = NewUser {
            name: Some(format!("U{n}")),
            email: Some(format!("u{n}@example.com")),
            role: Some("viewer".into()),
            ..NewUser::default()
        };
        writer.create_user(&ws, &ctx, user).await.unwrap();
    }
    let ws = server.find_workspace("default").await.unwrap();
    let report = server.verify_audit_chain(&ws).await.unwrap();
    assert_eq!(report.broken, None);
    assert_eq!(
        report.checked,
        2 + 6,
        "bootstrap's two events and six users"
    );
    let reader = SqliteStore::open(&url).await.unwrap();
    let chain = reader.audit_chain(ws.key, 0, 100).await.unwrap();
    assert_eq!(
        chain.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
}
