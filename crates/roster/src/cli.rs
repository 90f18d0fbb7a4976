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
pub enum ExportFormat {
    Ndjson,
    Csv,
}

impl From<ExportFormat> for roster_core::FileFormat {
    fn from(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Ndjson => Self::Ndjson,
            ExportFormat::Csv => Self::Csv,
        }
    }
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
    /// Manage API clients (seed 000's client_id and client_secret).
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manage the keys that sign client tokens.
    #[command(subcommand, name = "signing-keys")]
    SigningKeys(SigningKeysCommand),
    /// Manage workspaces.
    #[command(subcommand)]
    Workspaces(WorkspacesCommand),
    /// Check and prune the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Import and export users in bulk.
    #[command(subcommand)]
    Users(UsersCommand),
    /// A workspace's role set.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Read the outbox: without an SMTP server configured, Roster's built-in mail catcher.
    #[command(subcommand)]
    Mail(MailCommand),
    /// The web console at /console/.
    #[command(subcommand)]
    Console(ConsoleCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// Print a new one-time setup link (valid 24 hours) where a first console admin of the
    /// workspace is created with an email and a password. Earlier links stay valid until
    /// used or expired.
    #[command(name = "setup-link")]
    SetupLink {
        #[arg(long, default_value = "default")]
        workspace: String,
        /// The address browsers reach the server at; the link starts with it.
        #[arg(
            long,
            env = "ROSTER_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// List a workspace's roles.
    List {
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Print `["admin", ...]`.
        #[arg(long)]
        json: bool,
    },
    /// Replace a workspace's roles (a role some user has cannot be removed).
    Set {
        /// The roles, in order: letters, digits, '_', '-' and '.'.
        #[arg(required = true)]
        roles: Vec<String>,
        #[arg(long, default_value = "default")]
        workspace: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// List a workspace's mail, newest first, with each pending mail's text (which holds
    /// its invitation token).
    List {
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Only `pending`, `sent`, `failed` or `withdrawn` mail.
        #[arg(long)]
        status: Option<String>,
        /// How many (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Import users from an NDJSON or CSV file, with a progress bar (rows/s, ETA). Rows are
    /// matched by external_id (else email): matches are updated, the rest created, so an
    /// import can be run again. Rejected rows are listed with their line numbers; the command
    /// exits non-zero if there were any.
    Import {
        /// The file (`-` for standard input).
        file: std::path::PathBuf,
        #[arg(long, default_value = "default")]
        workspace: String,
        /// The file's format; by default `csv` for a `.csv` file, else `ndjson`.
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export a workspace's users (newest first) as NDJSON or CSV, with a progress bar. The
    /// output is a valid import.
    Export {
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Ndjson)]
        format: ExportFormat,
        /// Only users with this role.
        #[arg(long)]
        role: Option<String>,
        /// Only users with this status.
        #[arg(long)]
        status: Option<String>,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain of a workspace's events (every workspace if none is named); exits
    /// non-zero and names the first event that breaks it.
    Verify {
        /// Workspace name or id.
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Export a workspace's events (newest first) as NDJSON or CSV, with a progress bar.
    Export {
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Ndjson)]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
    /// Purge events older than each workspace's retention now (`serve` also does it hourly).
    Purge {
        #[arg(long)]
        workspace: Option<String>,
    },
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

    /// The address browsers reach the server at (`https://…` behind TLS: the console's
    /// cookie is then `Secure`). The printed setup link starts with it; default
    /// `http://` and the listening address.
    #[arg(long, env = "ROSTER_PUBLIC_URL")]
    pub public_url: Option<String>,

    #[command(flatten)]
    pub access: AccessArgs,

    /// How often expired audit events are purged.
    #[arg(long, env = "ROSTER_AUDIT_PURGE_INTERVAL_SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub audit_purge_interval_seconds: u64,

    #[command(flatten)]
    pub mail: MailArgs,

    /// Vendor APIs not to serve, comma-separated: human-api-admin (Human API's admin API),
    /// human-api-app (Human API's application API), holistics (Holistics' user API),
    /// publica (Publica.la's integration API). The seed numbers 000, 001, 003 and 004 are
    /// accepted for the same.
    #[arg(long, env = "ROSTER_DISABLE_DIALECTS", value_delimiter = ',', value_parser = ["human-api-admin", "human-api-app", "holistics", "publica", "000", "001", "003", "004"])]
    pub disable_dialects: Vec<String>,

    /// At most this many password hashes or verifications at once (each takes a core for
    /// ~20 ms); 0 means one per core.
    #[arg(long, env = "ROSTER_PASSWORD_CONCURRENCY", default_value_t = 0, value_parser = clap::value_parser!(u16))]
    pub password_concurrency: u16,

    #[command(flatten)]
    pub limits: ConnectionArgs,
}

/// What a client may hold of the server: a slow or silent client cannot keep a connection,
/// nor run the process out of file descriptors, nor keep a stopping node alive.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// A request's headers must arrive within this many seconds (idle keep-alive
    /// connections are closed after it too).
    #[arg(long, env = "ROSTER_HEADER_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_seconds: u64,

    /// A request body may pause at most this many seconds between two reads.
    #[arg(long, env = "ROSTER_BODY_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_seconds: u64,

    /// At most this many open connections; past it, new clients wait to be accepted.
    #[arg(long, env = "ROSTER_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,

    /// On SIGTERM or SIGINT, requests in flight get this many seconds to finish; then
    /// every connection still open is closed.
    #[arg(long, env = "ROSTER_SHUTDOWN_GRACE_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_seconds: u64,
}

/// Mail delivery. Without `--smtp-url`, mail stays in the outbox (`GET /v1/outbox`,
/// `roster mail list`) as a built-in mail catcher.
#[derive(Debug, Args)]
pub struct MailArgs {
    /// SMTP server for outbox mail: `smtp://HOST:PORT` (plain; add `?tls=required` for
    /// STARTTLS) or `smtps://HOST:PORT` (TLS), with `USER:PASSWORD@` to authenticate.
    #[arg(long, env = "ROSTER_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of outbox mail.
    #[arg(
        long,
        env = "ROSTER_MAIL_FROM",
        default_value = "Roster <roster@localhost>"
    )]
    pub mail_from: String,

    /// How often the outbox is checked for due mail.
    #[arg(long, env = "ROSTER_MAIL_INTERVAL_SECONDS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub mail_interval_seconds: u64,
}

/// Settings of authentication and rate limits.
#[derive(Debug, Args)]
pub struct AccessArgs {
    /// The `iss` claim of client tokens; usually the server's public URL.
    #[arg(long, env = "ROSTER_TOKEN_ISSUER", default_value = "roster")]
    pub token_issuer: String,

    /// The `aud` claim of client tokens.
    #[arg(long, env = "ROSTER_TOKEN_AUDIENCE", default_value = "roster-admin")]
    pub token_audience: String,

    /// Requests per minute per credential, unless its workspace or the credential sets another.
    #[arg(long, env = "ROSTER_RATE_LIMIT_PER_MINUTE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    pub rate_limit_per_minute: u32,

    /// How long a node trusts a cached key or client: the longest a revocation made on
    /// another node takes to reach this one.
    #[arg(long, env = "ROSTER_AUTH_CACHE_TTL_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub auth_cache_ttl_seconds: u64,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a secret key; its secret is printed once.
    Create {
        /// Workspace name or id.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// A label to recognise the key by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Comma-separated: users:read, users:write, audit:read, credentials:manage, scim, admin.
        #[arg(long, value_delimiter = ',', default_value = "admin")]
        scopes: Vec<String>,
        /// Requests per minute for this key (default: the workspace's limit).
        #[arg(long)]
        rate_limit: Option<u32>,
        /// When the key stops working (RFC 3339, e.g. 2027-01-01T00:00:00Z).
        #[arg(long)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        /// Print `{"id": ..., "secret": ...}`.
        #[arg(long)]
        json: bool,
    },
    /// List a workspace's live keys (never their secrets).
    List {
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key.
    Revoke {
        /// The key's id (key_…).
        id: String,
        #[arg(long, default_value = "default")]
        workspace: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Create an API client; its secret is printed once.
    Create {
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Comma-separated scopes (default users:read,users:write).
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
        /// Enable the admin API for the client now (it is off by default).
        #[arg(long)]
        admin_api: bool,
        /// Print `{"client_id": ..., "client_secret": ...}`.
        #[arg(long)]
        json: bool,
    },
    /// Enable the admin API for a client.
    #[command(name = "enable-admin-api")]
    EnableAdminApi {
        client_id: String,
        #[arg(long, default_value = "default")]
        workspace: String,
    },
    /// Disable the admin API for a client: its tokens stop working.
    #[command(name = "disable-admin-api")]
    DisableAdminApi {
        client_id: String,
        #[arg(long, default_value = "default")]
        workspace: String,
    },
    /// List a workspace's live clients.
    List {
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a client.
    Revoke {
        client_id: String,
        #[arg(long, default_value = "default")]
        workspace: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SigningKeysCommand {
    /// Make a new signing key; older keys keep verifying tokens for one token lifetime.
    Rotate {
        #[arg(long)]
        json: bool,
    },
    /// List signing keys and when they retire.
    List {
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
        /// Requests per minute per credential in this workspace (default: the server's).
        #[arg(long)]
        rate_limit: Option<u32>,
        /// Print `{"id": ..., "name": ...}`.
        #[arg(long)]
        json: bool,
    },
    /// Set a workspace's rate limit per credential.
    #[command(name = "set-rate-limit")]
    SetRateLimit {
        /// Workspace name or id.
        workspace: String,
        /// Requests per minute; omit to return to the server's default.
        per_minute: Option<u32>,
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
