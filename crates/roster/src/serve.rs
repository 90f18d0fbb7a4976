//! `roster serve`: listen, bootstrap, serve, shut down gracefully on SIGINT or SIGTERM.
//!
//! The port is bound before anything else, so a start that cannot listen (the port is
//! taken) has neither created a database nor printed a one-time admin key it then loses.

use std::time::Duration;

use anyhow::Context;
use roster_core::{Config, Roster};
use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::store;

pub async fn run(url: &str, args: ServeArgs) -> anyhow::Result<()> {
    let config = Config {
        token_issuer: args.access.token_issuer.clone(),
        token_audience: args.access.token_audience.clone(),
        auth_cache_ttl: Duration::from_secs(args.access.auth_cache_ttl_seconds),
        default_rate_limit_per_minute: args.access.rate_limit_per_minute,
        ..Config::default()
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    // Before anything is created or printed, like the port.
    let shutdown = shutdown_signal()?;
    let mut roster = store::roster(url, store::Create::Yes)
        .await?
        .with_config(config);
    if args.password_concurrency > 0 {
        roster = roster.with_password_concurrency(usize::from(args.password_concurrency));
    }
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", listener_address(&listener)));
    bootstrap(&roster, args.bootstrap_secret_key.as_deref(), &public_url).await?;
    roster
        .ensure_signing_key()
        .await
        .context("cannot set up a key to sign client tokens")?;
    let address = listener.local_addr()?;
    println!("Roster listening on http://{address}");
    tracing::info!(%address, "listening");
    let upkeep = [
        tokio::spawn(purge_audit_events(
            roster.clone(),
            Duration::from_secs(args.audit_purge_interval_seconds),
        )),
        tokio::spawn(tidy_search_index(roster.clone())),
        tokio::spawn(refresh_statistics(roster.clone())),
        tokio::spawn(seal_audit_events(roster.clone())),
    ];
    let mailer = match &args.mail.smtp_url {
        Some(url) => {
            let sender = roster_mail::SmtpSender::new(url, &args.mail.mail_from)
                .context("cannot set up mail delivery")?;
            tracing::info!("delivering outbox mail over SMTP");
            Some(tokio::spawn(roster_mail::run(
                roster.clone(),
                std::sync::Arc::new(sender),
                Duration::from_secs(args.mail.mail_interval_seconds),
            )))
        }
        None => {
            tracing::info!(
                "no --smtp-url: mail stays in the outbox (GET /v1/outbox, roster mail list)"
            );
            None
        }
    };
    let console = roster_http::console::Settings {
        secure_cookies: public_url.starts_with("https://"),
    };
    let app = roster_http::router_full(roster, dialects(&args), console);
    roster_http::server::serve(listener, app, limits(&args), shutdown).await;
    for task in upkeep {
        task.abort();
    }
    if let Some(mailer) = mailer {
        mailer.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// On an empty installation, make the default workspace and print, once, its first admin
/// key and a console setup link.
async fn bootstrap(roster: &Roster, secret: Option<&str>, public_url: &str) -> anyhow::Result<()> {
    let Some(made) = roster
        .bootstrap(secret)
        .await
        .context("cannot set up the default workspace")?
    else {
        return Ok(());
    };
    // The one time this secret is shown. It goes to standard output, not the log.
    println!(
        "Created workspace \"{}\" ({}) and its first admin key. The secret is shown only this once:\n\n    {}\n",
        made.workspace.name, made.workspace.id, made.key.secret
    );
    let link = roster
        .issue_console_setup_link(&made.workspace, &roster_core::AuditContext::system())
        .await
        .context("cannot make the console's setup link")?;
    println!("{}", crate::commands::setup_link_text(public_url, &link));
    Ok(())
}

/// The address `listener` is bound to, as a browser reaches it (a wildcard address as
/// 127.0.0.1).
fn listener_address(listener: &TcpListener) -> String {
    match listener.local_addr() {
        Ok(addr) if addr.ip().is_unspecified() => format!("127.0.0.1:{}", addr.port()),
        Ok(addr) => addr.to_string(),
        Err(_) => "127.0.0.1:8080".to_owned(),
    }
}

/// The dialects `--disable-dialects` leaves on.
fn dialects(args: &ServeArgs) -> roster_http::dialects::Dialects {
    let off = |name: &str, seed: &str| args.disable_dialects.iter().any(|d| d == name || d == seed);
    roster_http::dialects::Dialects {
        human_api_admin: !off("human-api-admin", "000"),
        human_api_app: !off("human-api-app", "001"),
        holistics: !off("holistics", "003"),
        publica: !off("publica", "004"),
    }
}

fn limits(args: &ServeArgs) -> roster_http::server::Limits {
    roster_http::server::Limits {
        header_read_timeout: Duration::from_secs(args.limits.header_timeout_seconds),
        body_idle_timeout: Duration::from_secs(args.limits.body_timeout_seconds),
        max_connections: args.limits.max_connections,
        shutdown_grace: Duration::from_secs(args.limits.shutdown_grace_seconds),
    }
}

/// How often the search index's upkeep looks for work. It starts once two looks in a row
/// saw the same users (a bulk import is over), so this is also how soon after an import the
/// index is merged whole: until then searches read the import's trigrams from many
/// segments (on SQLite, the writer's step after each write group merges only a level at a
/// time). A look is one index probe.
const TIDY_LOOK_EVERY: Duration = Duration::from_secs(2);

/// Search index upkeep, in small steps while there is some (a pause between them leaves
/// the writer to requests), then a look every [`TIDY_LOOK_EVERY`].
async fn tidy_search_index(roster: Roster) {
    loop {
        let pause = match roster.tidy_search_index().await {
            Ok(true) => Duration::from_millis(20),
            Ok(false) => TIDY_LOOK_EVERY,
            Err(err) => {
                tracing::warn!(error = %err, "search index upkeep failed");
                Duration::from_secs(10)
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// How often the store is asked whether a table changed enough for its planner statistics
/// to be gathered again (a tenth of its rows; each table at most once a minute). A bulk
/// import does not wait for it: its own batches gather the users table's statistics once
/// the table has grown by half.
const STATISTICS_LOOK_EVERY: Duration = Duration::from_secs(5);

/// Planner statistics upkeep (see [`Roster::refresh_statistics`]), a look every
/// [`STATISTICS_LOOK_EVERY`].
async fn refresh_statistics(roster: Roster) {
    let mut ticks = tokio::time::interval(STATISTICS_LOOK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match roster.refresh_statistics().await {
            Ok(tables) if tables.is_empty() => {}
            Ok(tables) => tracing::debug!(?tables, "planner statistics gathered"),
            Err(err) => tracing::warn!(error = %err, "planner statistics upkeep failed"),
        }
    }
}

/// How often the audit events written since the last look are sealed into their chains.
/// Nobody waits for it (a read of the audit log seals first); it keeps the sealing in
/// batches and the unsealed moments short.
const SEAL_EVERY: Duration = Duration::from_millis(200);

/// Audit sealing upkeep (see [`Roster::seal_audit_events`]), a round every [`SEAL_EVERY`].
async fn seal_audit_events(roster: Roster) {
    let mut ticks = tokio::time::interval(SEAL_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(err) = roster.seal_audit_events().await {
            tracing::warn!(error = %err, "audit sealing failed");
        }
    }
}

/// Retention: purge each workspace's expired audit events, in small batches, forever.
async fn purge_audit_events(roster: Roster, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let workspaces = match roster.list_workspaces().await {
            Ok(all) => all,
            Err(err) => {
                tracing::warn!(error = %err, "audit retention: cannot list workspaces");
                continue;
            }
        };
        for workspace in workspaces {
            match roster.purge_expired_audit_events(&workspace).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(workspace = workspace.name, purged, "audit retention"),
                Err(err) => {
                    tracing::warn!(workspace = workspace.name, error = %err, "audit retention failed")
                }
            }
        }
    }
}

/// Listens for SIGINT and SIGTERM from the moment it is called, not from its first poll:
/// a signal sent right after the server said it listens must stop it gracefully, not
/// kill it with the default action.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C: shutting down");
        } else {
            std::future::pending::<()>().await;
        }
    })
}
