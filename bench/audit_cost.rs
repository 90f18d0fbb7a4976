//! What the audit log costs on user creation, on SQLite and PostgreSQL, in one run.
//!
//! Three ways of creating the same kind of user, taken in turns (ten rounds of 200 each, so
//! drift in the machine hits all three alike):
//! - **row only**: the store's user insert with no event (`insert_user_without_event`,
//!   built only with the stores' `bench` feature): the same transaction or statement as the
//!   real insert, minus the event;
//! - **row + event**: `Store::insert_user`, the real thing: row, event and chain head;
//! - **create_user**: the whole core operation (validation, event building, row + event).
//!
//! Then the same row-only and row + event inserts from 32 concurrent tasks, as a loaded
//! server makes them (SQLite commits whatever queued together; PostgreSQL runs them side by
//! side on its pool).
//!
//! Run: `bash bench/audit-cost.sh` (PostgreSQL from ROSTER_TEST_POSTGRES_URL, default
//! postgres://postgres@127.0.0.1:5432/postgres; skipped with a note if unreachable).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use roster_core::audit::{canonical, user_changes};
use roster_core::{
    Action, AuditContext, NewEvent, NewUser, OsRandom, Roster, Store, SystemClock, User,
    UserStatus, Workspace,
};
use roster_store_postgres::PostgresStore;
use roster_store_sqlite::SqliteStore;

const ROUNDS: u32 = 10;
const PER_ROUND: u32 = 200;

/// The store under test, for the one call that is not in the `Store` trait.
#[derive(Clone)]
enum Bare {
    Sqlite(Box<SqliteStore>),
    Postgres(PostgresStore),
}

impl Bare {
    async fn insert(&self, user: &User) -> anyhow::Result<()> {
        match self {
            Bare::Sqlite(store) => store.insert_user_without_event(user).await?,
            Bare::Postgres(store) => store.insert_user_without_event(user).await?,
        };
        Ok(())
    }

    /// Start the next phase from the same state: SQLite's log emptied (untimed), so no
    /// phase pays for the pages an earlier one wrote.
    async fn settle(&self) -> anyhow::Result<()> {
        if let Bare::Sqlite(store) = self {
            store.checkpoint_now().await?;
        }
        Ok(())
    }
}

fn user(ws: &Workspace, tag: &str, n: u32) -> User {
    let now = Utc::now();
    User {
        key: 0,
        id: format!("usr_{tag}{n:08}"),
        // Time-ordered, as the core makes them (a random UUID would scatter the index writes).
        uuid: roster_core::ids::new_uuid_v7(now, &OsRandom),
        workspace_key: ws.key,
        external_id: None,
        user_name: format!("{tag}{n}@example.com"),
        email: format!("{tag}{n}@example.com"),
        name: format!("User {n}"),
        given_name: None,
        family_name: None,
        role: "viewer".into(),
        status: UserStatus::Active,
        attributes: serde_json::Map::new(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
        sessions_limit: None,
        allow_authentication_token: false,
        has_authentication_token: false,
        current_sign_in_at: None,
        last_sign_in_at: None,
    }
}

fn creation_event(user: &User) -> NewEvent {
    NewEvent {
        id: format!("evt_{}", user.id),
        occurred_at: user.created_at,
        action: Action::UserCreate,
        actor_kind: "operator",
        actor_id: None,
        target_user_id: Some(user.id.clone()),
        request_id: None,
        ip: None,
        user_agent: None,
        changes: canonical(&user_changes(None, user)),
    }
}

#[derive(Default)]
struct Totals {
    bare: Duration,
    audited: Duration,
    core: Duration,
}

async fn measure(store: Arc<dyn Store>, bare: Bare, name: &str) -> anyhow::Result<()> {
    let roster = Roster::new(store.clone(), Arc::new(SystemClock), Arc::new(OsRandom));
    roster.bootstrap(None).await?;
    let ws = roster.find_workspace("default").await?;
    let ctx = AuditContext::operator();
    let mut totals = Totals::default();
    for round in 0..ROUNDS {
        let base = round * PER_ROUND;
        bare.settle().await?;
        let started = Instant::now();
        for n in base..base + PER_ROUND {
            bare.insert(&user(&ws, "bare", n)).await?;
        }
        totals.bare += started.elapsed();

        bare.settle().await?;
        let started = Instant::now();
        for n in base..base + PER_ROUND {
            let user = user(&ws, "audited", n);
            store
                .insert_user(&user, &creation_event(&user), &[])
                .await?;
        }
        totals.audited += started.elapsed();

        bare.settle().await?;
        let started = Instant::now();
        for n in base..base + PER_ROUND {
            let input = NewUser {
                name: Some(format!("User {n}")),
                email: Some(format!("core{n}@example.com")),
                role: Some("viewer".into()),
                send_invitation: Some(false),
                ..NewUser::default()
            };
            roster.create_user(&ws, &ctx, input).await?;
        }
        totals.core += started.elapsed();
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(ROUNDS * PER_ROUND);
    let overhead = (totals.audited.as_secs_f64() / totals.bare.as_secs_f64() - 1.0) * 100.0;
    println!(
        "| {name}, one at a time | {:.0} µs | {:.0} µs | {overhead:+.1}% | {:.0} µs |",
        per(totals.bare),
        per(totals.audited),
        per(totals.core),
    );

    let mut loaded = Totals::default();
    for round in 0..ROUNDS {
        bare.settle().await?;
        loaded.bare += concurrently(round, |n| {
            let (bare, user) = (bare.clone(), user(&ws, "lbare", n));
            async move { bare.insert(&user).await }
        })
        .await?;
        bare.settle().await?;
        loaded.audited += concurrently(round, |n| {
            let (store, user) = (store.clone(), user(&ws, "laudited", n));
            async move {
                store
                    .insert_user(&user, &creation_event(&user), &[])
                    .await?;
                Ok(())
            }
        })
        .await?;
    }
    let rate = |d: Duration| f64::from(ROUNDS * PER_ROUND) / d.as_secs_f64();
    let overhead = (loaded.audited.as_secs_f64() / loaded.bare.as_secs_f64() - 1.0) * 100.0;
    println!(
        "| {name}, {TASKS} concurrent tasks | {:.0}/s | {:.0}/s | {overhead:+.1}% | |",
        rate(loaded.bare),
        rate(loaded.audited),
    );
    Ok(())
}

const TASKS: u32 = 32;

/// Round `round`'s users inserted by `TASKS` tasks at once; the wall time it took.
async fn concurrently<F, Fut>(round: u32, insert: F) -> anyhow::Result<Duration>
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let base = round * PER_ROUND;
    let per_task = PER_ROUND / TASKS + 1;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let inserts: Vec<Fut> = (base + task * per_task
            ..base + ((task + 1) * per_task).min(PER_ROUND))
            .map(&insert)
            .collect();
        tasks.push(tokio::spawn(async move {
            for insert in inserts {
                insert.await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

async fn sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let store = SqliteStore::open(&url).await?;
    store.migrate().await?;
    measure(
        Arc::new(store.clone()),
        Bare::Sqlite(Box::new(store)),
        "SQLite",
    )
    .await
}

async fn postgres() -> anyhow::Result<()> {
    let Some(db) = roster_store_postgres::testing::fresh_database().await else {
        println!("| PostgreSQL | (unreachable: skipped) | | | |");
        return Ok(());
    };
    let store = db.store.clone();
    measure(Arc::new(store.clone()), Bare::Postgres(store), "PostgreSQL").await?;
    db.drop_database().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!(
        "{} users created one after another per column and store, in {ROUNDS} interleaved rounds.\n",
        ROUNDS * PER_ROUND
    );
    println!("| store | row only | row + event | audit overhead | create_user (core) |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    sqlite().await?;
    postgres().await?;
    Ok(())
}
