//! The `specserve` command line: the server. With no subcommand it serves;
//! the other commands are for its operators (`db`, `user`, `token`,
//! `cluster`). The toolchain for API designers and QA (`lint`, `gen`, `new`,
//! `diff`, `validate`, `conformance`) is the `specserve-tools` binary, so the
//! server links no code generator. Errors stop here as `anyhow` reports and a
//! non-zero exit.

mod admin;
mod cluster;
mod limits;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// An AsyncAPI-first WebSocket API server. With no subcommand, `serve`.
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: serve::ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the WSS server.
    Serve(Box<serve::ServeArgs>),
    /// Database administration.
    #[command(subcommand)]
    Db(admin::DbCommand),
    /// User administration.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Token administration.
    #[command(subcommand)]
    Token(admin::TokenCommand),
    /// Cluster administration: `cluster keygen` writes a cluster key.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

/// What a command reports when it ran: success, or a verdict of "no" that is
/// not an error.
pub enum Outcome {
    /// Exit 0.
    Passed,
    /// Exit 1, after the command printed why.
    Failed,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Passed) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let runtime = || tokio::runtime::Builder::new_multi_thread().enable_all().build();
    match cli.command {
        None => runtime()?.block_on(serve::run(cli.serve)),
        Some(Command::Serve(args)) => runtime()?.block_on(serve::run(*args)),
        Some(Command::Db(command)) => runtime()?.block_on(admin::db(command)),
        Some(Command::User(command)) => admin::user(command, &runtime()?),
        Some(Command::Token(command)) => runtime()?.block_on(admin::token(command)),
        Some(Command::Cluster(command)) => cluster::run(command),
    }
}
