//! The `specserve-tools` command line: for API designers (`lint`, `gen`,
//! `new`, `diff`) and QA (`validate`, `conformance`), over any AsyncAPI
//! document. Errors stop here as `anyhow` reports and exit 2.

mod develop;
mod qa_commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use specserve_tools::Outcome;

/// specserve's toolchain: check, generate, scaffold, compare and test
/// AsyncAPI documents and the servers that serve them.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a spec against the AsyncAPI subset specserve supports, examples included.
    Lint(qa_commands::LintArgs),
    /// Write `generated/`: api.rs (a readable copy of the build output), the
    /// docs, one JSON Schema per message and the TypeScript SDK.
    Gen(develop::GenArgs),
    /// Make a Cargo project that serves any AsyncAPI 3.0/3.1 spec: generated
    /// API, server binary, handler stubs answering `not_implemented`, tests.
    New(develop::NewArgs),
    /// Breaking-change report between two specs, classified by who reads each
    /// message. Exit 1 when anything breaks existing clients.
    Diff(qa_commands::DiffArgs),
    /// Validate payloads, frames or a JSON-lines capture against a spec.
    /// Exit 0 when every input is valid, 1 otherwise.
    Validate(qa_commands::ValidateArgs),
    /// Contract-test a live server against its spec: every route's request
    /// examples and generated invalid variants; each reply must echo its
    /// requestId and match a declared reply or error. Exit 1 on any failure.
    Conformance(qa_commands::ConformanceArgs),
    /// Serve any spec at once, without compiling: frames validated against
    /// its schemas, requests answered with its examples (or samples of its
    /// schemas), events pushed on a timer or on `POST /mock/emit/<operation>`.
    Mock(qa_commands::MockArgs),
}

fn main() -> ExitCode {
    specserve_runtime::cli::end_quietly_on_a_closed_pipe();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Lint(args) => qa_commands::lint(&args),
        Command::Gen(args) => develop::generate(&args),
        Command::New(args) => develop::new_project(&args),
        Command::Diff(args) => qa_commands::diff(&args),
        Command::Validate(args) => qa_commands::validate(&args),
        Command::Conformance(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|runtime| runtime.block_on(qa_commands::conformance(&args))),
        Command::Mock(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|runtime| runtime.block_on(qa_commands::mock(&args))),
    };
    match outcome {
        Ok(Outcome::Passed) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
