//! QA commands: `validate`, `lint`, `diff`, `conformance`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};

use specserve_tools::Outcome;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable.
    Text,
    /// JSON for CI (validate: one object per input, per line).
    Json,
}

/// How `lint` prints its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// Human-readable, each problem as `file:line:column: ...`.
    Text,
    /// One JSON object (for CI scripts).
    Json,
    /// A SARIF 2.1.0 log (for code-scanning UIs).
    Sarif,
}

/// Whose side a document describes (`--perspective`): a client's document
/// is read inverted, generating the server it talks to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum PerspectiveArg {
    /// The document describes the server (AsyncAPI's reading).
    #[default]
    Application,
    /// The document describes a client of the server.
    Client,
}

impl From<PerspectiveArg> for specserve_codegen::Perspective {
    fn from(arg: PerspectiveArg) -> Self {
        match arg {
            PerspectiveArg::Application => specserve_codegen::Perspective::Application,
            PerspectiveArg::Client => specserve_codegen::Perspective::Client,
        }
    }
}

impl PerspectiveArg {
    /// Loads `spec` as this perspective says.
    pub fn load(self, spec: &Path) -> Result<specserve_codegen::Api, specserve_codegen::Diagnostics> {
        specserve_codegen::load_as(spec, self.into())
    }

    /// Loads `spec` for a command that needs it: `None` (with every reason
    /// printed) when it does not load, which the command answers with exit 1.
    /// A file that cannot be read is an error (exit 2).
    pub fn load_or_report(self, spec: &Path) -> anyhow::Result<Option<specserve_codegen::Api>> {
        std::fs::metadata(spec).with_context(|| format!("reading {}", spec.display()))?;
        match self.load(spec) {
            Ok(api) => Ok(Some(api)),
            Err(problems) => {
                eprintln!("{}: the spec does not load:\n{}", spec.display(), problems.located());
                Ok(None)
            }
        }
    }
}

/// `specserve-tools validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// Input files; none or `-` reads stdin. Files ending in `.jsonl` hold one frame per line.
    files: Vec<PathBuf>,
    /// Only messages whose discriminator (`channel` in specserve's API) has this
    /// value; an input without it is then the part a handler sees (the `payload`).
    #[arg(long)]
    route: Option<String>,
    /// Only messages of this operation (its key under `operations`).
    #[arg(long)]
    operation: Option<String>,
    /// Only this message (its key under `components/messages`).
    #[arg(long)]
    message: Option<String>,
    /// Which way the inputs travel: `request` (client to server), `reply`
    /// (server to client, pushed events included), or `auto`.
    #[arg(long, value_enum, default_value = "auto")]
    kind: specserve_tools::qa::Kind,
    /// Treat every input as JSON lines (one frame per line).
    #[arg(long)]
    jsonl: bool,
    /// The spec to validate against (its referenced files are read too).
    #[arg(long, default_value = "asyncapi.yaml", env = "SPECSERVE_SPEC")]
    spec: PathBuf,
    /// Whose side the document describes (`client`: a client's document, read as the server's).
    #[arg(long, value_enum, default_value_t)]
    perspective: PerspectiveArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
}

/// `specserve-tools lint`.
#[derive(Args)]
pub struct LintArgs {
    /// The spec to check (its referenced files are read too); default asyncapi.yaml.
    #[arg(value_name = "SPEC")]
    spec: Option<PathBuf>,
    /// The spec, named as the other commands name it (`gen --spec`, `validate --spec`).
    #[arg(long = "spec", value_name = "SPEC", conflicts_with = "spec")]
    spec_flag: Option<PathBuf>,
    /// Fail on warnings too (what the build does for the spec it serves).
    #[arg(long)]
    deny_warnings: bool,
    /// Fail when the document says anything specserve does not serve as
    /// written (a non-WebSocket binding, an unenforced security scheme, ...).
    #[arg(long)]
    strict: bool,
    /// Whose side the document describes; `client` checks the server a client's document talks to.
    #[arg(long, value_enum, default_value_t)]
    perspective: PerspectiveArg,
    /// Output format: `json` puts every problem, URL and construct not
    /// served in one object (for CI); `sarif` writes them as a SARIF 2.1.0
    /// log, for code-scanning UIs (GitHub, GitLab, Azure DevOps).
    #[arg(long, value_enum, default_value = "text")]
    format: LintFormat,
}

/// `specserve-tools diff`.
#[derive(Args)]
pub struct DiffArgs {
    /// The released spec.
    old: PathBuf,
    /// The candidate spec.
    new: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
}

/// `specserve-tools conformance`.
#[derive(Args)]
pub struct ConformanceArgs {
    /// The server's WebSocket URL (`wss://host:port/ws`, or `ws://`).
    #[arg(long)]
    url: String,
    /// Trust only the certificate with this SHA-256 fingerprint (what a
    /// specserve server logs for its self-signed certificate). Without it, the public web roots.
    #[arg(long)]
    fingerprint: Option<String>,
    /// A credential for the secured operations; without it they are tested unauthenticated.
    /// (A base64url token may start with `-`: taken as the value, not as a flag.)
    #[arg(long, env = "SPECSERVE_TOKEN", hide_env_values = true, allow_hyphen_values = true)]
    token: Option<String>,
    /// Only this operation (repeat for several); default: every one the server receives.
    #[arg(long = "operation")]
    operations: Vec<String>,
    /// How long to wait for each reply.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// The spec the server serves.
    #[arg(long, default_value = "asyncapi.yaml", env = "SPECSERVE_SPEC")]
    spec: PathBuf,
    /// Whose side the document describes, as the server was built with it.
    #[arg(long, value_enum, default_value_t)]
    perspective: PerspectiveArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
    /// Also write the report as JUnit XML to this file (for CI test reports).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

fn verdict(passed: bool) -> Outcome {
    if passed { Outcome::Passed } else { Outcome::Failed }
}

/// Validators for the spec at `path`, read from `perspective`.
fn checker(path: &Path, perspective: PerspectiveArg) -> anyhow::Result<specserve_tools::qa::Checker> {
    Ok(specserve_tools::qa::Checker::load(path, perspective.into())?)
}

/// Runs `validate`: one verdict per input.
pub fn validate(args: &ValidateArgs) -> anyhow::Result<Outcome> {
    let checker = checker(&args.spec, args.perspective)?;
    let selector = specserve_tools::qa::Selector {
        operation: args.operation.clone(),
        message: args.message.clone(),
        route: args.route.clone(),
        kind: args.kind,
    };
    let stdin = [PathBuf::from("-")];
    let files = if args.files.is_empty() { &stdin[..] } else { &args.files[..] };
    let mut all_valid = true;
    let mut out = std::io::stdout().lock();
    for file in files {
        let text = if file == Path::new("-") {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        } else {
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
        };
        let lines = args.jsonl || file.extension().is_some_and(|e| e == "jsonl");
        let inputs: Vec<(usize, &str)> = if lines {
            text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (i + 1, l)).collect()
        } else {
            vec![(1, text.as_str())]
        };
        for (line, input) in inputs {
            let verdict = checker.check(line, input, &selector);
            all_valid &= verdict.valid;
            let written = match args.format {
                OutputFormat::Text => write!(out, "{}", specserve_tools::qa::render_text(&verdict)),
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&verdict)?),
            };
            if written.is_err() {
                // The reader went away (`| head`): stop quietly.
                return Ok(self::verdict(all_valid));
            }
        }
    }
    Ok(verdict(all_valid))
}

/// Runs `lint`: the spec loads (its warnings listed), or every reason it does not.
pub fn lint(args: &LintArgs) -> anyhow::Result<Outcome> {
    let spec = args.spec.clone().or_else(|| args.spec_flag.clone()).unwrap_or_else(|| "asyncapi.yaml".into());
    if args.format != LintFormat::Text {
        std::fs::metadata(&spec).with_context(|| format!("reading {}", spec.display()))?;
        let loaded = args.perspective.load(&spec);
        let report = match args.format {
            LintFormat::Sarif => specserve_tools::qa::lint_sarif(&spec, &loaded),
            _ => specserve_tools::qa::lint_json(&loaded),
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        let refused = match &loaded {
            Ok(api) => (args.strict && !api.unsupported.is_empty()) || (args.deny_warnings && !api.warnings.is_empty()),
            Err(_) => true,
        };
        return Ok(verdict(!refused));
    }
    match args.perspective.load_or_report(&spec)? {
        Some(api) => {
            if !api.warnings.is_empty() {
                eprintln!("{}", api.warnings.located());
            }
            print!("{}", specserve_tools::qa::lint_summary(&api));
            if args.strict && !api.unsupported.is_empty() {
                eprintln!(
                    "error: --strict: {} construct{} of the document {} not served as written",
                    api.unsupported.len(),
                    if api.unsupported.len() == 1 { "" } else { "s" },
                    if api.unsupported.len() == 1 { "is" } else { "are" }
                );
                return Ok(Outcome::Failed);
            }
            Ok(verdict(!args.deny_warnings || api.warnings.is_empty()))
        }
        None => Ok(Outcome::Failed),
    }
}

/// Runs `diff`: one line per change and the SDK version bump it needs.
pub fn diff(args: &DiffArgs) -> anyhow::Result<Outcome> {
    let load = |path: &Path| specserve_codegen::load(path).map_err(|e| anyhow!("{}: {e}", path.display()));
    let changes = specserve_codegen::diff::diff(&load(&args.old)?, &load(&args.new)?);
    let bump = specserve_codegen::diff::suggested_bump(&changes);
    match args.format {
        OutputFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"suggested_bump": bump, "changes": changes}))?
            )
        }
        OutputFormat::Text => {
            for change in &changes {
                let verdict = if change.breaking { "BREAKING  " } else { "compatible" };
                let message = if change.message.is_empty() { String::new() } else { format!(" {}", change.message) };
                let pointer = if change.pointer.is_empty() { "/" } else { &change.pointer };
                println!(
                    "{verdict}  {} {}{message}  {pointer}  {}",
                    change.operation,
                    change.direction.as_str(),
                    change.what
                );
            }
            let breaking = changes.iter().filter(|c| c.breaking).count();
            println!("{} change(s), {breaking} breaking; suggested SDK version bump: {bump}", changes.len());
        }
    }
    Ok(verdict(!changes.iter().any(|c| c.breaking)))
}

/// Runs `conformance` against a live server.
pub async fn conformance(args: &ConformanceArgs) -> anyhow::Result<Outcome> {
    use specserve_tools::qa::conformance;
    let checker = checker(&args.spec, args.perspective)?;
    let tls = match &args.fingerprint {
        Some(fingerprint) => specserve_runtime::client::pinned_config(fingerprint),
        None => specserve_runtime::client::web_roots_config(),
    };
    let target = conformance::Target {
        url: args.url.clone(),
        tls,
        token: args.token.clone(),
        timeout: args.timeout,
        operations: args.operations.clone(),
    };
    let report = conformance::run(&checker, &target).await?;
    if let Some(file) = &args.junit {
        std::fs::write(file, conformance::render_junit(&report))
            .with_context(|| format!("writing {}", file.display()))?;
    }
    match args.format {
        OutputFormat::Text => print!("{}", conformance::render_text(&report)),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(verdict(report.passed))
}

/// `mock`'s arguments.
#[derive(clap::Args, Debug)]
pub struct MockArgs {
    /// The spec to serve (its referenced files are read too); default asyncapi.yaml.
    #[arg(value_name = "SPEC")]
    spec: Option<PathBuf>,
    /// The spec, named as the other commands name it.
    #[arg(long = "spec", value_name = "SPEC", conflicts_with = "spec", env = "SPECSERVE_SPEC")]
    spec_flag: Option<PathBuf>,
    /// Where to listen (plain `ws://`: a mock for development, on this machine by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Push every event (`send` operation) to its path's connections this often.
    #[arg(long, value_parser = humantime::parse_duration)]
    interval: Option<Duration>,
    /// Whose side the document describes.
    #[arg(long, value_enum, default_value_t)]
    perspective: PerspectiveArg,
}

/// Serves `mock` until the process ends.
pub async fn mock(args: &MockArgs) -> anyhow::Result<Outcome> {
    let spec = args.spec.clone().or_else(|| args.spec_flag.clone()).unwrap_or_else(|| "asyncapi.yaml".into());
    let checker = checker(&spec, args.perspective)?;
    specserve_tools::qa::mock::run(checker, args.listen, args.interval)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    Ok(Outcome::Passed)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::ConformanceArgs;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        conformance: ConformanceArgs,
    }

    #[test]
    fn a_token_that_starts_with_a_dash_is_a_value() {
        let flags = Flags::try_parse_from(["conformance", "--url", "ws://127.0.0.1:1/ws", "--token", "-Jq2-7w"]);
        assert_eq!(flags.expect("parses").conformance.token.as_deref(), Some("-Jq2-7w"));
    }
}
