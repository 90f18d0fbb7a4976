//! `roster-bench`: the instruments `bench/run` uses beside the real server.
//!
//! - `baseline`: a bare HTTP server (same stack: tokio, hyper, axum) that answers
//!   `GET /v1/users/{id}` with one fixed user: the ceiling any server meets on this machine.
//! - `users`: synthetic users as NDJSON, realistic enough to exercise every index (names,
//!   emails, roles, statuses, attributes; a rare surname for the search scenario).
//! - `load`: a steady mix of reads and writes at a fixed rate, for the soak.
//! - `probe`: what the load needs from a loaded database: random user ids, a cursor deep in
//!   the list, an email to look up.

mod load;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use clap::{Parser, Subcommand};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use roster_core::{OsRandom, Page, Roster, Store, SystemClock, UserFilter};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(name = "roster-bench", about = "Instruments for bench/run")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve `GET /v1/users/{id}` with one fixed user, and nothing else.
    Baseline {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
    },
    /// Write synthetic users as NDJSON.
    Users {
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        #[arg(long)]
        output: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// A steady mix of reads and audited writes at a fixed rate (the soak's load): one
    /// JSON line a second, then the run's summary.
    Load {
        #[arg(long, default_value = "127.0.0.1:18080")]
        server: String,
        /// A secret key with the users scopes.
        #[arg(long, env = "ROSTER_BENCH_KEY")]
        key: String,
        /// Requests a second.
        #[arg(long, default_value_t = 1_000)]
        rate: u64,
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// `probe`'s output: the user ids to read.
        #[arg(long)]
        probe: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Print, as JSON, what the load scenarios need from a loaded database.
    Probe {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value = "default")]
        workspace: String,
        /// How many random user ids to sample.
        #[arg(long, default_value_t = 10_000)]
        ids: usize,
    },
}

/// Users whose family name is the search scenario's rare one: one in this many.
pub const RARE_EVERY: u64 = 10_000;
/// The rare surname, and the substring the search scenario looks for.
pub const RARE_NAME: &str = "Quixotella";
pub const RARE_TERM: &str = "xotel";
/// A substring every trigram of which is common (a family name, a dot, digits) that no user
/// holds: numbers have at most six digits.
pub const NOBODY_TERM: &str = "garcia.1234567";
/// A substring nearly every user holds: every email domain has it.
pub const EVERYONE_TERM: &str = "example";

const GIVEN: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Aisha",
    "Mateo",
    "Yuki",
    "Priya",
    "Olumide",
    "Sofia",
    "Lukas",
    "Chloé",
    "Søren",
    "Zoë",
    "Wei",
    "Fatima",
    "Diego",
    "Ingrid",
    "Kofi",
    "Anya",
    "Rahul",
    "Hana",
    "Nikolai",
    "Amara",
];
const FAMILY: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Nakamura",
    "Okafor",
    "Müller",
    "Rossi",
    "Kowalski",
    "Novak",
    "Haddad",
    "Andersson",
    "O'Brien",
    "Dubois",
    "Singh",
    "Kim",
    "Nguyen",
    "Silva",
    "Ivanova",
    "Mensah",
    "Fischer",
    "Costa",
    "Yilmaz",
    "Berg",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "corp.example",
    "mail.example.org",
    "acme.test",
];
const DEPARTMENTS: &[&str] = &[
    "engineering",
    "sales",
    "marketing",
    "finance",
    "support",
    "legal",
    "people",
    "operations",
];
const LOCATIONS: &[&str] = &["Berlin", "Lagos", "São Paulo", "Tokyo", "Austin", "Pune"];

fn synthetic_users(count: u64, seed: u64, output: PathBuf) -> anyhow::Result<()> {
    let file = std::fs::File::create(&output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut rng = StdRng::seed_from_u64(seed);
    for n in 0..count {
        let given = GIVEN[rng.gen_range(0..GIVEN.len())];
        let family = if n % RARE_EVERY == RARE_EVERY / 2 {
            RARE_NAME
        } else {
            FAMILY[rng.gen_range(0..FAMILY.len())]
        };
        let local: String = format!("{given}.{family}")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase();
        let role = match rng.gen_range(0..100) {
            0..5 => "admin",
            5..30 => "editor",
            _ => "viewer",
        };
        let status = match rng.gen_range(0..100) {
            0..80 => "active",
            80..95 => "invited",
            _ => "inactive",
        };
        let user = json!({
            "external_id": format!("emp-{n:07}"),
            "email": format!("{local}.{n}@{}", DOMAINS[rng.gen_range(0..DOMAINS.len())]),
            "name": format!("{given} {family}"),
            "given_name": given,
            "family_name": family,
            "role": role,
            "status": status,
            "attributes": {
                "department": DEPARTMENTS[rng.gen_range(0..DEPARTMENTS.len())],
                "location": LOCATIONS[rng.gen_range(0..LOCATIONS.len())],
                "employee_number": n,
            },
        });
        serde_json::to_writer(&mut out, &user)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

async fn probe(database_url: &str, workspace: &str, sample: usize) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = if database_url.starts_with("postgres") {
        Arc::new(roster_store_postgres::PostgresStore::connect(database_url).await?)
    } else {
        Arc::new(roster_store_sqlite::SqliteStore::open(database_url).await?)
    };
    let roster = Roster::new(store, Arc::new(SystemClock), Arc::new(OsRandom));
    let ws = roster.find_workspace(workspace).await?;
    let filter = UserFilter::default();
    // Walk the whole list (as a client would), sampling ids and keeping the cursor halfway.
    let mut rng = StdRng::seed_from_u64(11);
    let mut ids: Vec<String> = Vec::with_capacity(sample);
    let mut seen = 0usize;
    let mut cursors = Vec::new();
    let mut email = None;
    let mut cursor = None;
    loop {
        let page = roster
            .list_users(
                &ws,
                &filter,
                &Page {
                    limit: Some(100),
                    cursor,
                },
            )
            .await?;
        for user in page.users {
            seen += 1;
            if ids.len() < sample {
                ids.push(user.id);
            } else {
                let slot = rng.gen_range(0..seen);
                if slot < sample {
                    ids[slot] = user.id;
                }
            }
            if email.is_none() && seen > 1000 {
                email = Some(user.email);
            }
        }
        match page.next_cursor {
            Some(next) => {
                let encoded = next.encode();
                cursors.push(encoded.clone());
                cursor = Some(encoded);
            }
            None => break,
        }
    }
    let deep_cursor = cursors.get(cursors.len() / 2).cloned();
    let everyone = UserFilter {
        search: Some(EVERYONE_TERM.to_owned()),
        ..UserFilter::default()
    };
    let everyone_filtered = UserFilter {
        role: Some("editor".to_owned()),
        status: Some("inactive".to_owned()),
        ..everyone.clone()
    };
    println!(
        "{}",
        json!({
            "users": seen,
            "ids": ids,
            "deep_cursor": deep_cursor,
            "email": email,
            "search": RARE_TERM,
            "nobody": NOBODY_TERM,
            "everyone": EVERYONE_TERM,
            "everyone_deep_cursor": middle_cursor(&roster, &ws, &everyone).await?,
            "everyone_filtered_deep_cursor": middle_cursor(&roster, &ws, &everyone_filtered).await?,
        })
    );
    Ok(())
}

/// The cursor halfway through the pages of `filter` (100 users a page), if it has two.
async fn middle_cursor(
    roster: &Roster,
    ws: &roster_core::Workspace,
    filter: &UserFilter,
) -> anyhow::Result<Option<String>> {
    let mut cursors = Vec::new();
    let mut cursor = None;
    loop {
        let page = roster
            .list_users(
                ws,
                filter,
                &Page {
                    limit: Some(100),
                    cursor,
                },
            )
            .await?;
        match page.next_cursor {
            Some(next) => {
                let encoded = next.encode();
                cursors.push(encoded.clone());
                cursor = Some(encoded);
            }
            None => return Ok(cursors.get(cursors.len() / 2).cloned()),
        }
    }
}

async fn baseline(listen: SocketAddr) -> anyhow::Result<()> {
    let user = json!({
        "id": "usr_2x9k3m4n5p6q7r8s9t0v",
        "name": "Jane Cooper",
        "email": "jane.cooper@example.com",
        "role": "editor",
        "status": "active",
        "external_id": "emp-0000042",
        "given_name": "Jane",
        "family_name": "Cooper",
        "attributes": {"department": "engineering", "location": "Berlin", "employee_number": 42},
        "created_at": "2026-11-22T10:00:00.000000Z",
        "updated_at": "2026-11-22T10:00:00.000000Z",
    })
    .to_string();
    let app = axum::Router::new().route(
        "/v1/users/{id}",
        get(move || {
            let user = user.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    user,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("baseline listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Baseline { listen } => baseline(listen).await,
        Command::Users {
            count,
            output,
            seed,
        } => synthetic_users(count, seed, output),
        Command::Load {
            server,
            key,
            rate,
            seconds,
            probe,
            seed,
        } => {
            let text = std::fs::read_to_string(&probe)
                .with_context(|| format!("cannot read {}", probe.display()))?;
            let probed: serde_json::Value = serde_json::from_str(&text)?;
            let ids = probed["ids"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| id.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            load::run(load::LoadArgs {
                server,
                key,
                rate,
                seconds,
                ids,
                seed,
            })
            .await
        }
        Command::Probe {
            database_url,
            workspace,
            ids,
        } => probe(&database_url, &workspace, ids).await,
    }
}
