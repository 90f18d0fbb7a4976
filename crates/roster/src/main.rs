//! `roster`: the server and the operator CLI, one binary.

mod cli;
mod commands;
mod output;
mod serve;
mod store;
mod transfer;

use clap::Parser;

/// mimalloc rather than the system allocator: a list page or a SCIM page builds and drops
/// thousands of small strings and JSON values, and glibc's malloc and free were a third of
/// such a request's time in a profile (bench/RESULTS.md has the before and after).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(&cli.global);
    match commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of our output went away (`| head`): nothing more to say.
        Err(err) if output::is_closed_pipe(&err) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
