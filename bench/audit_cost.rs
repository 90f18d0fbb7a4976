//! What the audit log costs on user creation, on SQLite and PostgreSQL, in one run: the same
//! user row written by `Roster::create_user` (row + chained event in one transaction) and by
//! a bare transaction that writes only the row.
//!
//! Run: `bash bench/audit-cost.sh` (PostgreSQL from ROSTER_TEST_POSTGRES_URL, default
//! postgres://postgres@127.0.0.1:5432/postgres; skipped with a note if unreachable).

use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_core::{AuditContext, NewUser, OsRandom, Roster, Store, SystemClock};

const USERS: u32 = 2_000;

fn new_user(tag: &str, n: u32) -> NewUser {
    NewUser {
        name: Some(format!("User {n}")),
        email: Some(format!("{tag}{n}@example.com")),
        role: Some("viewer".into()),
        send_invitation: Some(false),
        ..NewUser::default()
    }
}

/// Users created through the core: row and audit event in one transaction.
async fn with_audit(roster: &Roster) -> anyhow::Result<Duration> {
    let ws = roster.find_workspace("default").await?;
    let ctx = AuditContext::operator();
    let started = Instant::now();
    for n in 0..USERS {
        roster
            .create_user(&ws, &ctx, new_user("audited", n))
            .await?;
    }
    Ok(started.elapsed())
}

const INSERT_SQLITE: &str = "INSERT INTO users (id, uuid, workspace_pk, email, email_key, name, role, status,
    attributes, created_at, updated_at, version) VALUES (?1, ?2, ?3, ?4, ?4, ?5, 'viewer', 'active', '{}', ?6, ?6, 1)";
const INSERT_POSTGRES: &str = "INSERT INTO users (id, uuid, workspace_pk, email, email_key, name, role, status,
    attributes, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $4, $5, 'viewer', 'active', '{}', $6, $6, 1)";

fn report(store: &str, audited: Duration, bare: Duration) {
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(USERS);
    let overhead = (audited.as_secs_f64() / bare.as_secs_f64() - 1.0) * 100.0;
    println!(
        "| {store} | {:.0} µs | {:.0} µs | {overhead:+.1}% |",
        per(bare),
        per(audited)
    );
}

async fn sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let store = roster_store_sqlite::SqliteStore::open(&url).await?;
    store.migrate().await?;
    let roster = Roster::new(Arc::new(store), Arc::new(SystemClock), Arc::new(OsRandom));
    roster.bootstrap(None).await?;
    let ws = roster.find_workspace("default").await?;
    // The same single-writer, BEGIN IMMEDIATE discipline the store uses.
    let options: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            options
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal),
        )
        .await?;
    let started = Instant::now();
    for n in 0..USERS {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(INSERT_SQLITE)
            .bind(format!("usr_bare{n}"))
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(ws.key)
            .bind(format!("bare{n}@example.com"))
            .bind(format!("User {n}"))
            .bind(chrono::Utc::now().timestamp_micros())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let bare = started.elapsed();
    pool.close().await;
    report("SQLite", with_audit(&roster).await?, bare);
    Ok(())
}

async fn postgres() -> anyhow::Result<()> {
    let Some(db) = roster_store_postgres::testing::fresh_database().await else {
        println!("| PostgreSQL | (unreachable: skipped) | | |");
        return Ok(());
    };
    let roster = Roster::new(
        Arc::new(db.store.clone()),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
    );
    roster.bootstrap(None).await?;
    let ws = roster.find_workspace("default").await?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await?;
    let started = Instant::now();
    for n in 0..USERS {
        let mut tx = pool.begin().await?;
        sqlx::query(INSERT_POSTGRES)
            .bind(format!("usr_bare{n}"))
            .bind(uuid::Uuid::new_v4())
            .bind(ws.key)
            .bind(format!("bare{n}@example.com"))
            .bind(format!("User {n}"))
            .bind(chrono::Utc::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let bare = started.elapsed();
    pool.close().await;
    report("PostgreSQL", with_audit(&roster).await?, bare);
    db.drop_database().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!("{USERS} users created one after another on each store.\n");
    println!("| store | row only (bare transaction) | row + audit event (create_user) | audit overhead |");
    println!("| --- | ---: | ---: | ---: |");
    sqlite().await?;
    postgres().await?;
    Ok(())
}
