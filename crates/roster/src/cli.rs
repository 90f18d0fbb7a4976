//! The command line: global options and subcommands.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Roster: a self-hosted user administration server.
///
/// `roster serve` runs the server; the other commands are operator tools that work on the
/// same database, also while a server is running.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Where Roster keeps its data: `sqlite://PATH` (embedded, the default) or
    /// `postgres://USER@HOST:PORT/DB` (scale-out).
    #[arg(
        long,
        env = "ROSTER_DATABASE_URL",
        default_value = "sqlite://roster.db",
        hide_env_values = true,
        global = true
    )]
    pub database_url: String,

    /// Log format on standard error. The level is set with RUST_LOG (default `info`).
    #[arg(long, env = "ROSTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server. On an empty database it creates the `default` workspace and prints
    /// its first admin key, once.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit (`serve` also applies them at start).
    Migrate,
    /// Manage secret keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage workspaces.
    #[command(subcommand)]
    Workspaces(WorkspacesCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// On an empty database, make the first admin key exactly this secret
    /// (`sk_live_` and at least 43 URL-safe characters) instead of a random one.
    #[arg(long, env = "ROSTER_BOOTSTRAP_SECRET_KEY", hide_env_values = true)]
    pub bootstrap_secret_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an admin secret key; its secret is printed once.
    Create {
        /// Workspace name or id.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// A label to recognise the key by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Print `{"id": ..., "secret": ...}`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkspacesCommand {
    /// List workspaces.
    List {
        /// Print `[{"id": ..., "name": ...}, ...]`.
        #[arg(long)]
        json: bool,
    },
    /// Create a workspace.
    Create {
        /// 1 to 64 characters of a-z, 0-9, '-' and '_'.
        name: String,
        /// Print `{"id": ..., "name": ...}`.
        #[arg(long)]
        json: bool,
    },
}

pub fn init_logging(global: &Global) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match global.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
