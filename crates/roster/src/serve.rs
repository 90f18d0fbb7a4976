//! `roster serve`: bootstrap, listen, shut down gracefully on SIGINT or SIGTERM.

use std::time::Duration;

use anyhow::Context;
use roster_core::Config;
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
    let roster = store::roster(url).await?.with_config(config);
    if let Some(made) = roster
        .bootstrap(args.bootstrap_secret_key.as_deref())
        .await
        .context("cannot set up the default workspace")?
    {
        // The one time this secret is shown. It goes to standard output, not the log.
        println!(
            "Created workspace \"{}\" ({}) and its first admin key. The secret is shown only this once:\n\n    {}\n",
            made.workspace.name, made.workspace.id, made.key.secret
        );
    }
    roster
        .ensure_signing_key()
        .await
        .context("cannot set up a key to sign client tokens")?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    println!("Roster listening on http://{address}");
    tracing::info!(%address, "listening");
    axum::serve(listener, roster_http::router(roster))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
