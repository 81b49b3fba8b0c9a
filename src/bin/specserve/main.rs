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

/// An AsyncAPI-first WebSocket API server. With no subcommand, `serve`
/// (so `specserve --listen 0.0.0.0:8443` serves); `specserve serve --help`
/// lists the server's flags.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "With no command, or with flags first, it serves: `specserve --listen 0.0.0.0:8443` is `specserve serve --listen 0.0.0.0:8443`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the WSS server (the default: `specserve` alone serves).
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

/// The command line with `serve` made explicit: nothing, or a flag first,
/// means `serve`; `--help` and `--version` stay the program's own, and a
/// word that is no command is left for clap to suggest the command meant.
fn with_serve_explicit(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const PROGRAM_FLAGS: [&str; 4] = ["--help", "-h", "--version", "-V"];
    let serves = match args.get(1).map(|a| a.to_string_lossy()) {
        None => true,
        Some(first) => first.starts_with('-') && !PROGRAM_FLAGS.contains(&first.as_ref()),
    };
    if serves {
        args.insert(1.min(args.len()), "serve".into());
    }
    args
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(with_serve_explicit(std::env::args_os().collect()));
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
    if !matches!(cli.command, Command::Serve(_)) {
        specserve_runtime::cli::end_quietly_on_a_closed_pipe();
    }
    match cli.command {
        Command::Serve(args) => runtime()?.block_on(serve::run(*args)),
        Command::Db(command) => runtime()?.block_on(admin::db(command)),
        Command::User(command) => admin::user(command, &runtime()?),
        Command::Token(command) => runtime()?.block_on(admin::token(command)),
        Command::Cluster(command) => cluster::run(command),
    }
}
