//! The operator commands. They act with full authority: whoever can open the database is
//! the operator.

use anyhow::Context;
use roster_core::transfer::export;
use roster_core::{
    AuditContext, AuditFilter, ClientPatch, ClientRequest, FileFormat, KeyRequest, Page, Roster,
    Scope, UserFilter, UserListRequest, Workspace,
};
use serde_json::{json, Value};

use crate::cli::{
    AuditCommand, Cli, ClientsCommand, Command, ConsoleCommand, ExportFormat, KeysCommand,
    MailCommand, RolesCommand, SigningKeysCommand, UsersCommand, WorkspacesCommand,
};
use crate::output::say;
use crate::{serve, store, transfer};

/// What the CLI may grant: everything.
const OPERATOR: &[Scope] = &[Scope::Admin];

/// The audit context of CLI changes: the operator.
fn ctx() -> AuditContext {
    AuditContext::operator()
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.global.database_url;
    match cli.command {
        Command::Serve(args) => serve::run(&url, args).await,
        Command::Migrate => {
            store::open(&url, store::Create::Yes).await?;
            say!("migrations applied");
            Ok(())
        }
        Command::Keys(command) => {
            keys(store::roster(&url, store::Create::No).await?, command).await
        }
        Command::Clients(command) => {
            clients(store::roster(&url, store::Create::No).await?, command).await
        }
        Command::SigningKeys(command) => {
            signing_keys(store::roster(&url, store::Create::No).await?, command).await
        }
        Command::Workspaces(command) => {
            workspaces(store::roster(&url, store::Create::No).await?, command).await
        }
        Command::Audit(command) => {
            audit(store::roster(&url, store::Create::No).await?, command).await
        }
        Command::Users(command) => {
            users(store::roster(&url, store::Create::No).await?, command).await
        }
        Command::Roles(command) => {
            roles(store::roster(&url, store::Create::No).await?, command).await
        }
        Command::Mail(command) => {
            mail(store::roster(&url, store::Create::No).await?, command).await
        }
        Command::Console(ConsoleCommand::SetupLink {
            workspace: ws,
            public_url,
        }) => {
            let roster = store::roster(&url, store::Create::No).await?;
            let ws = workspace(&roster, &ws).await?;
            let link = roster.issue_console_setup_link(&ws, &ctx()).await?;
            say!("{}", setup_link_text(&public_url, &link));
            Ok(())
        }
    }
}

/// How a new setup link is shown, by `serve` on a first start and by
/// `roster console setup-link`.
pub fn setup_link_text(public_url: &str, link: &roster_core::console::SetupLink) -> String {
    format!(
        "Create the first console admin of workspace \"{}\" at this one-time link (valid until {}):\n\n    {}/console/setup?token={}\n",
        link.workspace.name,
        link.expires_at.format("%Y-%m-%d %H:%M UTC"),
        public_url.trim_end_matches('/'),
        link.token
    )
}

async fn roles(roster: Roster, command: RolesCommand) -> anyhow::Result<()> {
    match command {
        RolesCommand::List {
            workspace: ws,
            json,
        } => {
            let ws = workspace(&roster, &ws).await?;
            if json {
                print_json(&json!(ws.roles))?;
            } else {
                for role in ws.roles {
                    say!("{role}");
                }
            }
        }
        RolesCommand::Set {
            roles,
            workspace: ws,
        } => {
            let ws = workspace(&roster, &ws).await?;
            let ws = roster.set_roles(&ws, &ctx(), &roles).await?;
            say!(
                "Workspace {} has the roles: {}.",
                ws.name,
                ws.roles.join(", ")
            );
        }
    }
    Ok(())
}

async fn mail(roster: Roster, command: MailCommand) -> anyhow::Result<()> {
    match command {
        MailCommand::List {
            workspace: ws,
            status,
            limit,
            json,
        } => {
            let ws = workspace(&roster, &ws).await?;
            let page = Page {
                limit: Some(limit),
                cursor: None,
            };
            let mails = roster
                .list_outbox(&ws, status.as_deref(), &page)
                .await?
                .mails;
            if json {
                let list = mails
                    .iter()
                    .map(|m| {
                        json!({
                            "id": m.id, "kind": m.kind, "to": m.recipient, "subject": m.subject,
                            "text": m.text, "status": m.status.as_str(), "attempts": m.attempts,
                            "last_error": m.last_error, "created_at": m.created_at,
                            "sent_at": m.sent_at,
                        })
                    })
                    .collect();
                print_json(&Value::Array(list))?;
            } else if mails.is_empty() {
                say!("The outbox of {} is empty.", ws.name);
            } else {
                for m in mails {
                    say!(
                        "{}  {}  {}  to {}  \"{}\"",
                        m.id,
                        m.created_at.format("%Y-%m-%d %H:%M:%S"),
                        m.status.as_str(),
                        m.recipient,
                        m.subject
                    );
                    if let Some(error) = &m.last_error {
                        say!("    last error: {error}");
                    }
                    if let Some(text) = &m.text {
                        for line in text.lines() {
                            say!("    | {line}");
                        }
                    }
                    say!();
                }
            }
        }
    }
    Ok(())
}

async fn workspace(roster: &Roster, name_or_id: &str) -> anyhow::Result<Workspace> {
    roster.find_workspace(name_or_id).await.with_context(|| {
        "run `roster serve` once to create the default workspace, or `roster workspaces create`"
    })
}

fn scope_names(scopes: &[Scope]) -> Vec<&'static str> {
    scopes.iter().map(|s| s.as_str()).collect()
}

fn print_json(value: &Value) -> std::io::Result<()> {
    crate::output::line(format_args!("{value}"))
}

async fn keys(roster: Roster, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            workspace: ws,
            name,
            scopes,
            rate_limit,
            expires_at,
            json,
        } => {
            let ws = workspace(&roster, &ws).await?;
            let request = KeyRequest {
                name: Some(name),
                scopes: Some(scopes),
                expires_at,
                rate_limit_per_minute: rate_limit,
            };
            let issued = roster
                .create_api_key(&ws, &ctx(), request, OPERATOR)
                .await?;
            if json {
                print_json(&json!({ "id": issued.key.id, "secret": issued.secret }))?;
            } else {
                say!(
                    "Created key {} ({}) for workspace {}. Its secret is shown only this once:\n\n    {}\n",
                    issued.key.id,
                    scope_names(&issued.key.scopes).join(","),
                    ws.name,
                    issued.secret
                );
            }
        }
        KeysCommand::List {
            workspace: ws,
            json,
        } => {
            let ws = workspace(&roster, &ws).await?;
            let keys = roster.list_api_keys(&ws).await?;
            if json {
                let list = keys
                    .iter()
                    .map(|k| {
                        json!({
                            "id": k.id, "name": k.name, "prefix": k.prefix,
                            "scopes": scope_names(&k.scopes),
                            "created_at": k.created_at, "last_used_at": k.last_used_at,
                            "expires_at": k.expires_at, "rate_limit_per_minute": k.rate_limit_per_minute,
                        })
                    })
                    .collect();
                print_json(&Value::Array(list))?;
            } else {
                for k in keys {
                    say!(
                        "{}\t{}…\t{}\t{}",
                        k.id,
                        k.prefix,
                        scope_names(&k.scopes).join(","),
                        k.name
                    );
                }
            }
        }
        KeysCommand::Revoke { id, workspace: ws } => {
            let ws = workspace(&roster, &ws).await?;
            roster.revoke_api_key(&ws, &ctx(), &id, OPERATOR).await?;
            say!("Revoked key {id}. Running servers stop accepting it within their auth cache TTL (10 s by default).");
        }
    }
    Ok(())
}

async fn clients(roster: Roster, command: ClientsCommand) -> anyhow::Result<()> {
    let set_admin_api = |enabled: bool| ClientPatch {
        admin_api_enabled: Some(enabled),
        ..ClientPatch::default()
    };
    match command {
        ClientsCommand::Create {
            workspace: ws,
            name,
            scopes,
            admin_api,
            json,
        } => {
            create_client(&roster, &ws, name, scopes, admin_api, json).await?;
        }
        ClientsCommand::EnableAdminApi {
            client_id,
            workspace: ws,
        } => {
            let ws = workspace(&roster, &ws).await?;
            roster
                .update_api_client(&ws, &ctx(), &client_id, &set_admin_api(true), OPERATOR)
                .await?;
            say!("Enabled the admin API for client {client_id}.");
        }
        ClientsCommand::DisableAdminApi {
            client_id,
            workspace: ws,
        } => {
            let ws = workspace(&roster, &ws).await?;
            roster
                .update_api_client(&ws, &ctx(), &client_id, &set_admin_api(false), OPERATOR)
                .await?;
            say!("Disabled the admin API for client {client_id}.");
        }
        ClientsCommand::List {
            workspace: ws,
            json,
        } => {
            list_clients(&roster, &ws, json).await?;
        }
        ClientsCommand::Revoke {
            client_id,
            workspace: ws,
        } => {
            let ws = workspace(&roster, &ws).await?;
            roster
                .revoke_api_client(&ws, &ctx(), &client_id, OPERATOR)
                .await?;
            say!("Revoked client {client_id}.");
        }
    }
    Ok(())
}

async fn create_client(
    roster: &Roster,
    ws: &str,
    name: String,
    scopes: Option<Vec<String>>,
    admin_api: bool,
    json: bool,
) -> anyhow::Result<()> {
    let ws = workspace(roster, ws).await?;
    let request = ClientRequest {
        name: Some(name),
        scopes,
        admin_api_enabled: admin_api,
        rate_limit_per_minute: None,
    };
    let issued = roster
        .create_api_client(&ws, &ctx(), request, OPERATOR)
        .await?;
    if json {
        print_json(&json!({
            "client_id": issued.client.client_id,
            "client_secret": issued.secret,
        }))?;
    } else {
        say!(
            "Created client {} for workspace {} (admin API {}). Its secret is shown only this once:\n\n    {}\n",
            issued.client.client_id,
            ws.name,
            if admin_api { "enabled" } else { "disabled: enable it with `roster clients enable-admin-api`" },
            issued.secret
        );
    }
    Ok(())
}

async fn list_clients(roster: &Roster, ws: &str, json: bool) -> anyhow::Result<()> {
    let ws = workspace(roster, ws).await?;
    let clients = roster.list_api_clients(&ws).await?;
    if json {
        let list = clients
            .iter()
            .map(|c| {
                json!({
                    "client_id": c.client_id, "name": c.name,
                    "scopes": scope_names(&c.scopes),
                    "admin_api_enabled": c.admin_api_enabled,
                    "rate_limit_per_minute": c.rate_limit_per_minute,
                    "created_at": c.created_at,
                })
            })
            .collect();
        print_json(&Value::Array(list))?;
    } else {
        for c in clients {
            say!(
                "{}\tadmin API {}\t{}\t{}",
                c.client_id,
                if c.admin_api_enabled { "on" } else { "off" },
                scope_names(&c.scopes).join(","),
                c.name
            );
        }
    }
    Ok(())
}

async fn signing_keys(roster: Roster, command: SigningKeysCommand) -> anyhow::Result<()> {
    let describe = |k: &roster_core::signing::SigningKey| json!({ "kid": k.kid, "created_at": k.created_at, "retires_at": k.retires_at });
    match command {
        SigningKeysCommand::Rotate { json } => {
            let key = roster.rotate_signing_key().await?;
            if json {
                print_json(&describe(&key))?;
            } else {
                say!(
                    "New signing key {}. Older keys verify tokens for one more token lifetime.",
                    key.kid
                );
            }
        }
        SigningKeysCommand::List { json } => {
            let keys = roster.list_signing_keys().await?;
            if json {
                print_json(&Value::Array(keys.iter().map(describe).collect()))?;
            } else {
                for k in keys {
                    let retires = k
                        .retires_at
                        .map_or_else(|| "current".to_owned(), |at| format!("retires {at}"));
                    say!("{}\tcreated {}\t{retires}", k.kid, k.created_at);
                }
            }
        }
    }
    Ok(())
}

async fn workspaces(roster: Roster, command: WorkspacesCommand) -> anyhow::Result<()> {
    match command {
        WorkspacesCommand::List { json } => {
            let all = roster.list_workspaces().await?;
            if json {
                let list = all
                    .iter()
                    .map(|w| json!({ "id": w.id, "name": w.name }))
                    .collect();
                print_json(&Value::Array(list))?;
            } else {
                for w in all {
                    say!("{}\t{}", w.id, w.name);
                }
            }
        }
        WorkspacesCommand::Create {
            name,
            rate_limit,
            json,
        } => {
            let w = roster.create_workspace(&ctx(), &name, rate_limit).await?;
            if json {
                print_json(&json!({ "id": w.id, "name": w.name }))?;
            } else {
                say!("Created workspace {} ({})", w.name, w.id);
            }
        }
        WorkspacesCommand::SetRateLimit {
            workspace: ws,
            per_minute,
        } => {
            let ws = workspace(&roster, &ws).await?;
            roster
                .set_workspace_rate_limit(&ws, &ctx(), per_minute)
                .await?;
            match per_minute {
                Some(n) => say!(
                    "Workspace {} allows {n} requests per minute per credential.",
                    ws.name
                ),
                None => say!(
                    "Workspace {} uses the server's default rate limit.",
                    ws.name
                ),
            }
        }
    }
    Ok(())
}

async fn audit(roster: Roster, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify { workspace: ws } => {
            let targets = match ws {
                Some(ws) => vec![workspace(&roster, &ws).await?],
                None => roster.list_workspaces().await?,
            };
            let mut broken = 0;
            for ws in targets {
                let report = roster.verify_audit_chain(&ws).await?;
                for warning in &report.warnings {
                    say!("{}: note: {warning}", ws.name);
                }
                match report.broken {
                    None => say!("{}: ok, {} events verified", ws.name, report.checked),
                    Some((event, why)) => {
                        broken += 1;
                        say!(
                            "{}: BROKEN at event {event}: {why} ({} events verified before it)",
                            ws.name,
                            report.checked
                        );
                    }
                }
            }
            if broken > 0 {
                anyhow::bail!("{broken} audit chain(s) failed verification");
            }
        }
        AuditCommand::Export {
            workspace: ws,
            format,
            output,
        } => {
            let ws = workspace(&roster, &ws).await?;
            export_audit(&roster, ws, format, output).await?;
        }
        AuditCommand::Purge { workspace: ws } => {
            let targets = match ws {
                Some(ws) => vec![workspace(&roster, &ws).await?],
                None => roster.list_workspaces().await?,
            };
            for ws in targets {
                let purged = roster.purge_expired_audit_events(&ws).await?;
                say!(
                    "{}: purged {purged} events older than {} days",
                    ws.name,
                    ws.audit_retention_days
                );
            }
        }
    }
    Ok(())
}

/// Stream a workspace's events to a file or standard output, showing progress on stderr.
async fn export_audit(
    roster: &Roster,
    ws: Workspace,
    format: ExportFormat,
    output: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let total = Some(roster.audit_event_count(&ws).await?);
    let format = FileFormat::from(format);
    let stream = export::events(roster.clone(), ws, AuditFilter::default(), format);
    transfer::write_export(stream, format, total, "events", output).await
}

async fn users(roster: Roster, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Import {
            file,
            workspace: ws,
            format,
            json,
        } => {
            let ws = workspace(&roster, &ws).await?;
            let format = match format {
                Some(format) => FileFormat::from(format),
                None if file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("csv")) =>
                {
                    FileFormat::Csv
                }
                None => FileFormat::Ndjson,
            };
            let report = transfer::import_file(&roster, ws, ctx(), format, &file).await?;
            transfer::print_report(&report, json)?;
            if report.rejected > 0 {
                anyhow::bail!("{} row(s) were rejected", report.rejected);
            }
        }
        UsersCommand::Export {
            workspace: ws,
            format,
            role,
            status,
            output,
        } => {
            let ws = workspace(&roster, &ws).await?;
            let format = FileFormat::from(format);
            let filter = UserFilter {
                role,
                status,
                search: None,
                email: None,
                group: None,
                include_deleted: false,
            };
            // Check the filters before the output file is made.
            UserListRequest::build(&ws, &filter, &Page::default(), None, roster.now())?;
            let stream = export::users(roster.clone(), ws, filter, format);
            transfer::write_export(stream, format, None, "users", output).await?;
        }
    }
    Ok(())
}
