//! The operator commands.

use anyhow::Context;
use serde_json::json;

use crate::cli::{Cli, Command, KeysCommand, WorkspacesCommand};
use crate::{serve, store};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.global.database_url;
    match cli.command {
        Command::Serve(args) => serve::run(&url, args).await,
        Command::Migrate => {
            store::open(&url).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Keys(KeysCommand::Create {
            workspace,
            name,
            json,
        }) => {
            let roster = store::roster(&url).await?;
            let workspace = roster.find_workspace(&workspace).await.with_context(|| {
                "run `roster serve` once to create the default workspace, or `roster workspaces create`"
            })?;
            let issued = roster.create_api_key(&workspace, &name).await?;
            if json {
                println!(
                    "{}",
                    json!({ "id": issued.key.id, "secret": issued.secret })
                );
            } else {
                println!(
                    "Created key {} for workspace {}. Its secret is shown only this once:\n\n    {}\n",
                    issued.key.id, workspace.name, issued.secret
                );
            }
            Ok(())
        }
        Command::Workspaces(WorkspacesCommand::List { json }) => {
            let roster = store::roster(&url).await?;
            let workspaces = roster.list_workspaces().await?;
            if json {
                let list: Vec<_> = workspaces
                    .iter()
                    .map(|w| json!({ "id": w.id, "name": w.name }))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for w in workspaces {
                    println!("{}\t{}", w.id, w.name);
                }
            }
            Ok(())
        }
        Command::Workspaces(WorkspacesCommand::Create { name, json }) => {
            let roster = store::roster(&url).await?;
            let w = roster.create_workspace(&name).await?;
            if json {
                println!("{}", json!({ "id": w.id, "name": w.name }));
            } else {
                println!("Created workspace {} ({})", w.name, w.id);
            }
            Ok(())
        }
    }
}
