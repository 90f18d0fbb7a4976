//! Planner statistics upkeep (`Store::refresh_statistics`) on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use roster_core::audit::{Action, NewEvent};
use roster_core::store::{ImportWrite, UserStore, WorkspaceStore};
use roster_core::{Store, User, UserStatus, Workspace};
use roster_store_postgres::testing::fresh_database;
use sqlx::{Connection, Executor, PgConnection};

/// Rows added to `workspaces` on `conn`, with the server's table counts made current: a
/// backend reports its counts at most once a second, and `pg_stat_force_next_flush` makes
/// it report them before it answers the next statement.
async fn add_workspaces(conn: &mut PgConnection, from: i32, count: i32) {
    conn.execute(
        format!(
            "INSERT INTO workspaces (id, name, roles, created_at)
             SELECT 'ws_stat_' || g, 'statistics-' || g, '[]', now()
             FROM generate_series({from}, {}) AS g",
            from + count - 1
        )
        .as_str(),
    )
    .await
    .unwrap();
    conn.execute("SELECT pg_stat_force_next_flush()")
        .await
        .unwrap();
    conn.execute("SELECT 1").await.unwrap();
}

async fn estimated_rows(conn: &mut PgConnection, table: &str) -> f32 {
    sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE relname = $1")
        .bind(table)
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_table_changed_by_a_tenth_is_analyzed_once_by_one_node() {
    let Some(db) = fresh_database().await else {
        return;
    };
    let store = db.store.clone().with_statistics_rest(Duration::ZERO);
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    // Autovacuum, where it is on, must not analyze the table behind the test's back.
    conn.execute("ALTER TABLE workspaces SET (autovacuum_enabled = false)")
        .await
        .unwrap();
    // Whatever the migrations left stale.
    store.refresh_statistics().await.unwrap();

    add_workspaces(&mut conn, 1, 300).await;
    // Another node holds the round: this one skips it.
    conn.execute("SELECT pg_advisory_lock(hashtext('roster.statistics'))")
        .await
        .unwrap();
    assert_eq!(
        store.refresh_statistics().await.unwrap(),
        Vec::<String>::new()
    );
    conn.execute("SELECT pg_advisory_unlock(hashtext('roster.statistics'))")
        .await
        .unwrap();

    let done = store.refresh_statistics().await.unwrap();
    assert!(done.contains(&"workspaces".to_owned()), "{done:?}");
    assert!(estimated_rows(&mut conn, "workspaces").await >= 300.0);
    conn.execute("SELECT pg_stat_force_next_flush()")
        .await
        .unwrap();
    conn.execute("SELECT 1").await.unwrap();
    let again = store.refresh_statistics().await.unwrap();
    assert!(!again.contains(&"workspaces".to_owned()), "{again:?}");

    // The threshold is 50 rows and a tenth of the table: 80 changes here. 60 are not
    // enough; 90 are.
    add_workspaces(&mut conn, 1000, 60).await;
    let small = store.refresh_statistics().await.unwrap();
    assert!(!small.contains(&"workspaces".to_owned()), "{small:?}");
    add_workspaces(&mut conn, 2000, 30).await;
    let grown = store.refresh_statistics().await.unwrap();
    assert!(grown.contains(&"workspaces".to_owned()), "{grown:?}");

    // With the default rest, a table analyzed a moment ago waits, however much it changed.
    add_workspaces(&mut conn, 3000, 500).await;
    let resting = db.store.refresh_statistics().await.unwrap();
    assert!(!resting.contains(&"workspaces".to_owned()), "{resting:?}");
    let busy = store.refresh_statistics().await.unwrap();
    assert!(busy.contains(&"workspaces".to_owned()), "{busy:?}");

    conn.close().await.unwrap();
    db.drop_database().await;
}

fn import_event(n: u32) -> NewEvent {
    NewEvent {
        id: format!("evt_import_{n}"),
        occurred_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        action: Action::UserImport,
        actor_kind: "api_key",
        actor_id: Some("key_test".into()),
        target_user_id: None,
        request_id: None,
        ip: None,
        user_agent: None,
        changes: "{}".into(),
    }
}

/// New users `from..from + count` of `ws`, as an import batch creates them.
fn new_users(ws: &Workspace, from: u32, count: u32) -> Vec<ImportWrite> {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    (from..from + count)
        .map(|n| ImportWrite {
            user: User {
                key: 0,
                id: format!("usr_{n}"),
                uuid: uuid::Uuid::from_u128(u128::from(n)),
                workspace_key: ws.key,
                external_id: Some(format!("emp-{n}")),
                user_name: format!("user{n}@example.com"),
                email: format!("user{n}@example.com"),
                name: format!("User {n}"),
                given_name: None,
                family_name: None,
                role: "viewer".into(),
                status: UserStatus::Active,
                attributes: Default::default(),
                created_at: at,
                updated_at: at,
                deleted_at: None,
                version: 1,
                sessions_limit: None,
                allow_authentication_token: false,
                has_authentication_token: false,
                current_sign_in_at: None,
                last_sign_in_at: None,
            },
            expected_version: None,
            password_hash: None,
            plan: Vec::new(),
        })
        .collect()
}

/// An import batch that grows the users table by half gathers its statistics in its own
/// transaction, counting its own rows; a batch that grows it less leaves them.
#[tokio::test]
async fn an_import_batch_that_grows_the_users_table_by_half_analyzes_it() {
    let Some(db) = fresh_database().await else {
        return;
    };
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    conn.execute("ALTER TABLE users SET (autovacuum_enabled = false)")
        .await
        .unwrap();
    let mut ws = Workspace {
        key: 0,
        id: "ws_stats".into(),
        name: "stats".into(),
        roles: vec!["viewer".into()],
        created_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        is_operator: false,
        rate_limit_per_minute: None,
        audit_retention_days: 90,
        invitations: Default::default(),
        auth: Default::default(),
    };
    ws.key = db
        .store
        .insert_workspace(&ws, &import_event(0))
        .await
        .unwrap();

    db.store
        .import_users(ws.key, &new_users(&ws, 0, 2000), &import_event(1))
        .await
        .unwrap();
    assert_eq!(estimated_rows(&mut conn, "users").await, 2000.0);

    // A tenth more: the statistics stay as they were.
    db.store
        .import_users(ws.key, &new_users(&ws, 2000, 200), &import_event(2))
        .await
        .unwrap();
    assert_eq!(estimated_rows(&mut conn, "users").await, 2000.0);

    // Past half again as many pages as were analyzed: gathered again, counting all.
    db.store
        .import_users(ws.key, &new_users(&ws, 2200, 1300), &import_event(3))
        .await
        .unwrap();
    assert_eq!(estimated_rows(&mut conn, "users").await, 3500.0);

    conn.close().await.unwrap();
    db.drop_database().await;
}
