//! What authentication costs per request, measured in-process on a SQLite store:
//! a secret key and a client token, first sight (store lookup) and cached.
//!
//! Run: `bash bench/auth-cost.sh` (a release build of this example).

use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_core::{
    AuditContext, ClientRequest, KeyRequest, OsRandom, Roster, Scope, Store, SystemClock,
    TokenRequest,
};
use roster_store_sqlite::SqliteStore;

fn per_op(total: Duration, n: u32) -> String {
    format!("{:>8.2} µs", total.as_secs_f64() * 1e6 / f64::from(n))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&format!(
        "sqlite://{}",
        dir.path().join("auth.db").display()
    ))
    .await?;
    store.migrate().await?;
    let roster = Roster::new(Arc::new(store), Arc::new(SystemClock), Arc::new(OsRandom));
    let made = roster
        .bootstrap(None)
        .await?
        .ok_or_else(|| anyhow::anyhow!("fresh database was already set up"))?;
    let ws = made.workspace;

    // Keys seen for the first time: hash + store lookup + cache insert.
    let fresh: u32 = 2_000;
    let mut secrets = Vec::new();
    for _ in 0..fresh {
        let request = KeyRequest {
            scopes: Some(vec!["users:read".into()]),
            ..KeyRequest::default()
        };
        secrets.push(
            roster
                .create_api_key(&ws, &AuditContext::operator(), request, &[Scope::Admin])
                .await?
                .secret,
        );
    }
    let started = Instant::now();
    for secret in &secrets {
        roster.authenticate(secret).await?;
    }
    let key_first = started.elapsed();

    let cached: u32 = 200_000;
    let secret = &secrets[0];
    let started = Instant::now();
    for _ in 0..cached {
        roster.authenticate(secret).await?;
    }
    let key_cached = started.elapsed();

    let client = roster
        .create_api_client(
            &ws,
            &AuditContext::operator(),
            ClientRequest {
                admin_api_enabled: true,
                ..ClientRequest::default()
            },
            &[Scope::Admin],
        )
        .await?;
    let request = || TokenRequest {
        client_id: Some(client.client.client_id.clone()),
        client_secret: Some(client.secret.clone()),
        kind: Some("client".into()),
        ip: None,
    };
    let fresh_tokens: u32 = 200;
    let mut issued = Vec::new();
    let started = Instant::now();
    for _ in 0..fresh_tokens {
        issued.push(roster.issue_client_token(request()).await?.token);
    }
    let issue = started.elapsed();
    let started = Instant::now();
    for token in &issued {
        roster.authenticate(token).await?;
    }
    let token_first = started.elapsed();

    let tokens: u32 = 200_000;
    let started = Instant::now();
    for _ in 0..tokens {
        roster.authenticate(&issued[0]).await?;
    }
    let token_cached = started.elapsed();

    println!("| what | per request |");
    println!("| --- | ---: |");
    println!(
        "| secret key, first sight (SHA-256 + SQLite lookup) | {} |",
        per_op(key_first, fresh)
    );
    println!(
        "| secret key, cached (SHA-256 + cache hit) | {} |",
        per_op(key_cached, cached)
    );
    println!(
        "| client token, first sight (RS256 verify + client lookup) | {} |",
        per_op(token_first, fresh_tokens)
    );
    println!(
        "| client token, seen before (SHA-256 + cache hits) | {} |",
        per_op(token_cached, tokens)
    );
    println!(
        "| client token issue (secret check + RS256 sign) | {} |",
        per_op(issue, fresh_tokens)
    );
    Ok(())
}
