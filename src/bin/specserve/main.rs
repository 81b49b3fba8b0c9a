//! The `specserve` command line. With no subcommand it serves; the other
//! commands are for operators (`db`, `user`, `token`), QA (`validate`, `lint`,
//! `diff`, `conformance`) and API designers (`gen`, `new`). Errors stop here as
//! `anyhow` reports and a non-zero exit.

mod admin;
mod cluster;
mod develop;
mod limits;
mod qa;
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
    /// Validate payloads, frames or a JSON-lines capture against the spec (for QA).
    /// Exit 0 when every input is valid, 1 otherwise.
    Validate(qa::ValidateArgs),
    /// Breaking-change report between two specs, classified by who reads each
    /// message. Exit 1 when anything breaks existing clients.
    Diff(qa::DiffArgs),
    /// Contract-test a live server against the spec: every route's request
    /// examples and generated invalid variants; each reply must echo its
    /// requestId and match a declared reply or error. Exit 1 on any failure.
    Conformance(qa::ConformanceArgs),
    /// Check a spec against the AsyncAPI subset specserve supports, examples included.
    Lint(qa::LintArgs),
    /// Write `generated/`: api.rs (a readable copy of the build output), the
    /// docs, one JSON Schema per message and the TypeScript SDK.
    Gen(develop::GenArgs),
    /// Make a Cargo project that serves any AsyncAPI 3.0/3.1 spec: generated
    /// API, server binary, handler stubs answering `not_implemented`, tests.
    New(develop::NewArgs),
}

/// What a command reports when it ran: success, or a verdict of "no" that is
/// not an error (invalid input, breaking changes, failed conformance).
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
        Some(Command::Validate(args)) => qa::validate(&args),
        Some(Command::Lint(args)) => qa::lint(&args),
        Some(Command::Diff(args)) => qa::diff(&args),
        Some(Command::Conformance(args)) => runtime()?.block_on(qa::conformance(&args)),
        Some(Command::Gen(args)) => develop::generate(&args),
        Some(Command::New(args)) => develop::new_project(&args),
    }
}
