//! The `specserve` command line: `serve` (the default), `db init`, `user`,
//! `token`, `gen`. Errors stop here as `anyhow` reports.

use std::io::{IsTerminal, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use specserve::api::Role;
use specserve::handlers::{App, AppConfig};
use specserve::security::audit::AuditLog;
use specserve::server::{Limits, Server, ServerConfig, TlsSetup, shutdown};
use specserve::store::{DEFAULT_DATABASE_URL, Database, NewUser, Store, now_utc};

/// An AsyncAPI-first WebSocket API server. With no subcommand, `serve`.
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the WSS server.
    Serve(Box<ServeArgs>),
    /// Database administration.
    #[command(subcommand)]
    Db(DbCommand),
    /// User administration.
    #[command(subcommand)]
    User(UserCommand),
    /// Token administration.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Validate payloads, frames or a JSON-lines capture against the spec (for QA).
    /// Exit 0 when every input is valid, 1 otherwise.
    Validate(ValidateArgs),
    /// Breaking-change report between two specs, classified by who reads each
    /// message. Exit 1 when anything breaks existing clients.
    Diff {
        /// The released spec.
        old: PathBuf,
        /// The candidate spec.
        new: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Contract-test a live server against the spec: every route's request
    /// examples and generated invalid variants; each reply must echo its
    /// requestId and match a declared reply or error. Exit 1 on any failure.
    Conformance(ConformanceArgs),
    /// Check a spec against the AsyncAPI subset specserve supports, examples included.
    Lint {
        /// The spec to check.
        #[arg(default_value = "asyncapi.yaml")]
        spec: PathBuf,
    },
    /// Write `generated/`: api.rs (a readable copy of the build output) and one
    /// JSON Schema per message.
    Gen {
        /// The spec to generate from.
        #[arg(long, default_value = "asyncapi.yaml", env = "SPECSERVE_SPEC")]
        spec: PathBuf,
        /// Where to write.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
    },
}

#[derive(Args)]
struct ConformanceArgs {
    /// The server's WebSocket URL (`wss://host:port/ws`, or `ws://`).
    #[arg(long)]
    url: String,
    /// Trust only the certificate with this SHA-256 fingerprint (what `specserve serve`
    /// logs for its self-signed certificate). Without it, the public web roots.
    #[arg(long)]
    fingerprint: Option<String>,
    /// A token for the secured routes; without it they are tested unauthenticated.
    #[arg(long, env = "SPECSERVE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// How long to wait for each reply.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Test against this spec instead of the one the binary was built from.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
}

#[derive(Args)]
struct ValidateArgs {
    /// Input files; none or `-` reads stdin. Files ending in `.jsonl` hold one frame per line.
    files: Vec<PathBuf>,
    /// The route of the input; an input without `channel` is then its payload.
    #[arg(long)]
    route: Option<String>,
    /// Which message the inputs are.
    #[arg(long, value_enum, default_value = "auto")]
    kind: specserve::qa::Kind,
    /// Treat every input as JSON lines (one frame per line).
    #[arg(long)]
    jsonl: bool,
    /// Validate against this spec instead of the one the binary was built from.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// Human-readable.
    Text,
    /// JSON for CI (validate: one object per input, per line).
    Json,
}

#[derive(Args, Clone)]
struct DatabaseArgs {
    /// mysql://user:pass@host/db (MySQL 8, MariaDB 10.11) or sqlite://file.db.
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    url: String,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Create the tables (schema.sql for MySQL/MariaDB, schema.sqlite.sql for SQLite) if missing.
    Init(DatabaseArgs),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is read from stdin, or prompted for on a terminal; never a flag.
    Create {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Make the user an admin (how the first admin is made).
        #[arg(long)]
        admin: bool,
    },
    /// List users.
    List(DatabaseArgs),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Revoke every live token of a user.
    Revoke {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The user's id.
        #[arg(long = "user")]
        user_id: i64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

#[derive(Args, Clone)]
struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Address and port to listen on (HTTP probes and the WebSocket share it).
    #[arg(long, env = "SPECSERVE_LISTEN", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM). Without --tls-cert/--tls-key a self-signed certificate is made.
    #[arg(long, env = "SPECSERVE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "SPECSERVE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain ws:// (only behind a TLS-terminating proxy).
    #[arg(long, env = "SPECSERVE_INSECURE_PLAINTEXT", conflicts_with_all = ["tls_cert", "tls_key"])]
    insecure_plaintext: bool,
    /// Largest WebSocket message or frame in bytes; larger closes with 1009.
    #[arg(long, env = "SPECSERVE_MAX_MESSAGE_BYTES", default_value_t = 65_536)]
    max_message_bytes: usize,
    /// Deadline for the TLS handshake.
    #[arg(long, env = "SPECSERVE_TLS_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    tls_handshake_timeout: Duration,
    /// Deadline for the HTTP request (upgrade) after TLS.
    #[arg(long, env = "SPECSERVE_UPGRADE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    upgrade_timeout: Duration,
    /// How often to ping each socket.
    #[arg(long, env = "SPECSERVE_PING_INTERVAL", default_value = "25s", value_parser = humantime::parse_duration)]
    ping_interval: Duration,
    /// Close a socket that has not answered a ping within this (1001).
    #[arg(long, env = "SPECSERVE_PONG_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pong_timeout: Duration,
    /// Replies queued per connection before a client that does not read is closed.
    #[arg(long, env = "SPECSERVE_OUTBOUND_QUEUE", default_value_t = 64)]
    outbound_queue: usize,
    /// Frames dispatched concurrently per connection (replies stay in order).
    #[arg(long, env = "SPECSERVE_MAX_IN_FLIGHT", default_value_t = 16)]
    max_in_flight: usize,
    /// Open WebSocket connections in all; more get 503.
    #[arg(long, env = "SPECSERVE_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,
    /// Open WebSocket connections per client IP; more get 503.
    #[arg(long, env = "SPECSERVE_MAX_CONNECTIONS_PER_IP", default_value_t = 100)]
    max_connections_per_ip: usize,
    /// Sustained frames per second per connection.
    #[arg(long, env = "SPECSERVE_FRAMES_PER_SECOND", default_value_t = 50.0)]
    frames_per_second: f64,
    /// Frames per connection allowed in a burst.
    #[arg(long, env = "SPECSERVE_FRAME_BURST", default_value_t = 100.0)]
    frame_burst: f64,
    /// Consecutive rate-limited frames before the connection is closed (1008).
    #[arg(long, env = "SPECSERVE_RATE_LIMIT_STRIKES", default_value_t = 50)]
    rate_limit_strikes: u32,
    /// How long graceful shutdown may take.
    #[arg(long, env = "SPECSERVE_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    shutdown_timeout: Duration,
    /// Browser Origin allowed to connect (exact; repeat or comma-separate). None given: any.
    #[arg(long = "allowed-origin", env = "SPECSERVE_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Proxy address whose X-Forwarded-For is believed (repeat or comma-separate).
    #[arg(long = "trusted-proxy", env = "SPECSERVE_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<IpAddr>,
    /// Lifetime of a new API token.
    #[arg(long, env = "SPECSERVE_TOKEN_TTL", default_value = "7days", value_parser = humantime::parse_duration)]
    token_ttl: Duration,
    /// Audit log file (JSON lines), or `-` for stdout.
    #[arg(long, env = "SPECSERVE_AUDIT_LOG", default_value = "specserve-audit.jsonl")]
    audit_log: PathBuf,
    /// Log format.
    #[arg(long, env = "SPECSERVE_LOG_FORMAT", value_enum, default_value = "human")]
    log_format: LogFormat,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        None => runtime.block_on(serve(cli.serve)),
        Some(Command::Serve(args)) => runtime.block_on(serve(*args)),
        Some(Command::Db(DbCommand::Init(database))) => runtime.block_on(db_init(&database)),
        Some(Command::User(UserCommand::Create { database, email, name, admin })) => {
            let password = read_password()?;
            runtime.block_on(user_create(&database, email, name, admin, password))
        }
        Some(Command::User(UserCommand::List(database))) => runtime.block_on(user_list(&database)),
        Some(Command::Token(TokenCommand::Revoke { database, user_id })) => {
            runtime.block_on(token_revoke(&database, user_id))
        }
        Some(Command::Gen { spec, out }) => generate(&spec, &out),
        Some(Command::Validate(args)) => validate(&args),
        Some(Command::Lint { spec }) => lint(&spec),
        Some(Command::Conformance(args)) => runtime.block_on(conformance(&args)),
        Some(Command::Diff { old, new, format }) => diff(&old, &new, format),
    }
}

async fn conformance(args: &ConformanceArgs) -> Result<()> {
    use specserve::qa::conformance;
    let checker = checker(args.spec.as_deref())?;
    let tls = match &args.fingerprint {
        Some(fingerprint) => specserve::client::pinned_config(fingerprint),
        None => specserve::client::web_roots_config(),
    };
    let target = conformance::Target { url: args.url.clone(), tls, token: args.token.clone(), timeout: args.timeout };
    let report = conformance::run(&checker, &target).await?;
    match args.format {
        OutputFormat::Text => print!("{}", conformance::render_text(&report)),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    if !report.passed {
        std::process::exit(1);
    }
    Ok(())
}

/// Validators for the spec at `path`, or for the one the binary was built from.
fn checker(path: Option<&Path>) -> Result<specserve::qa::Checker> {
    let yaml = match path {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        None => specserve::ASYNCAPI_YAML.to_owned(),
    };
    specserve::qa::Checker::new(&yaml).map_err(|e| anyhow!("the spec does not load:\n  {e}"))
}

fn diff(old: &Path, new: &Path, format: OutputFormat) -> Result<()> {
    let load = |path: &Path| specserve_codegen::load(path).map_err(|e| anyhow!("{}: {e}", path.display()));
    let changes = specserve_codegen::diff::diff(&load(old)?, &load(new)?);
    let bump = specserve_codegen::diff::suggested_bump(&changes);
    match format {
        OutputFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"suggested_bump": bump, "changes": changes}))?
            )
        }
        OutputFormat::Text => {
            for change in &changes {
                let verdict = if change.breaking { "BREAKING  " } else { "compatible" };
                let message = serde_json::to_value(change.message)?;
                let pointer = if change.pointer.is_empty() { "/" } else { &change.pointer };
                println!("{verdict}  {} {}  {pointer}  {}", change.route, message.as_str().unwrap_or("?"), change.what);
            }
            let breaking = changes.iter().filter(|c| c.breaking).count();
            println!("{} change(s), {breaking} breaking; suggested SDK version bump: {bump}", changes.len());
        }
    }
    if changes.iter().any(|c| c.breaking) {
        std::process::exit(1);
    }
    Ok(())
}

fn validate(args: &ValidateArgs) -> Result<()> {
    let checker = checker(args.spec.as_deref())?;
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
            let verdict = checker.check(line, input, args.route.as_deref(), args.kind);
            all_valid &= verdict.valid;
            let written = match args.format {
                OutputFormat::Text => write!(out, "{}", specserve::qa::render_text(&verdict)),
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&verdict)?),
            };
            if written.is_err() {
                // The reader went away (`| head`): stop quietly.
                std::process::exit(if all_valid { 0 } else { 1 });
            }
        }
    }
    if !all_valid {
        std::process::exit(1);
    }
    Ok(())
}

fn lint(spec: &Path) -> Result<()> {
    let yaml = std::fs::read_to_string(spec).with_context(|| format!("reading {}", spec.display()))?;
    match specserve_codegen::Api::from_yaml(&yaml) {
        Ok(api) => {
            print!("{}", specserve::qa::lint_summary(&api));
            Ok(())
        }
        Err(error) => {
            eprintln!("{}: {error}", spec.display());
            std::process::exit(1);
        }
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    init_logging(args.log_format);
    let store = connect(&args.database).await?;
    let app_config = AppConfig { token_ttl: args.token_ttl, ..AppConfig::default() };
    let audit = AuditLog::open(&args.audit_log).with_context(|| format!("opening {}", args.audit_log.display()))?;
    let app = App::new(store, app_config, audit).map_err(|e| anyhow!("{e}"))?;
    let tls = match (&args.tls_cert, &args.tls_key, args.insecure_plaintext) {
        (_, _, true) => TlsSetup::Plaintext,
        (Some(cert), Some(key), false) => TlsSetup::Files { cert: cert.clone(), key: key.clone() },
        _ => TlsSetup::SelfSigned,
    };
    let config = ServerConfig {
        listen: args.listen,
        tls,
        limits: Limits {
            max_message_bytes: args.max_message_bytes,
            tls_handshake_timeout: args.tls_handshake_timeout,
            upgrade_timeout: args.upgrade_timeout,
            ping_interval: args.ping_interval,
            pong_timeout: args.pong_timeout,
            outbound_queue: args.outbound_queue,
            max_in_flight: args.max_in_flight,
            max_connections: args.max_connections,
            max_connections_per_ip: args.max_connections_per_ip,
            frames_per_second: args.frames_per_second,
            frame_burst: args.frame_burst,
            rate_limit_strikes: args.rate_limit_strikes,
            shutdown_timeout: args.shutdown_timeout,
        },
        allowed_origins: args.allowed_origins,
        trusted_proxies: args.trusted_proxies,
    };
    let plaintext = config.tls == TlsSetup::Plaintext;
    let self_signed = config.tls == TlsSetup::SelfSigned;
    let server = Server::start(config, Arc::new(app)).await?;
    if plaintext {
        tracing::warn!("serving plain ws:// (--insecure-plaintext): only behind a TLS-terminating proxy");
    }
    if self_signed && let Some(fingerprint) = server.fingerprint() {
        tracing::info!(%fingerprint, "self-signed TLS certificate (SHA-256); pin it in clients or pass --tls-cert/--tls-key");
    }
    tracing::info!(url = %server.url(), docs = %format!("https://{}/docs", server.local_addr()), "listening");
    shutdown::on_signal(server.shutdown_token());
    if server.wait().await {
        tracing::info!("shut down cleanly");
    } else {
        tracing::warn!("shutdown deadline passed; remaining connections were dropped");
    }
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn connect(database: &DatabaseArgs) -> Result<Database> {
    Database::connect(&database.url).await.context("opening the database")
}

async fn db_init(database: &DatabaseArgs) -> Result<()> {
    connect(database).await?.init_schema().await.context("applying the schema")?;
    println!("schema applied");
    Ok(())
}

/// The password from stdin (piped) or a no-echo prompt (terminal).
fn read_password() -> Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("password: ")?
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text.trim_end_matches(['\n', '\r']).to_owned()
    };
    let length = password.chars().count();
    if !(8..=128).contains(&length) {
        bail!("the password must be 8 to 128 characters");
    }
    Ok(password)
}

async fn user_create(
    database: &DatabaseArgs,
    email: String,
    name: String,
    admin: bool,
    password: String,
) -> Result<()> {
    let store = connect(database).await?;
    let hasher = specserve::security::passwords::Passwords::new(1).map_err(|e| anyhow!("{e}"))?;
    let password_hash = hasher.hash(password).await.map_err(|e| anyhow!("{e}"))?;
    let role = if admin { Role::Admin } else { Role::User };
    let user = NewUser { name, email, password_hash: Some(password_hash), role, created_by: None, now: now_utc() };
    let id = store.create_user(user).await.context("creating the user")?;
    println!("created user {id} ({role})");
    Ok(())
}

async fn user_list(database: &DatabaseArgs) -> Result<()> {
    let users = connect(database).await?.list_users().await.context("listing users")?;
    println!("{:>6}  {:<6}  {:<8}  {:<30}  name", "id", "role", "manager", "email");
    for user in users {
        let manager = user.created_by.map_or_else(|| "-".to_owned(), |id| id.to_string());
        println!("{:>6}  {:<6}  {:<8}  {:<30}  {}", user.id, user.role, manager, user.email, user.name);
    }
    Ok(())
}

async fn token_revoke(database: &DatabaseArgs, user_id: i64) -> Result<()> {
    let revoked = connect(database).await?.revoke_user_tokens(user_id, None, now_utc()).await?;
    println!("revoked {revoked} token(s) of user {user_id}");
    Ok(())
}

fn generate(spec: &Path, out: &Path) -> Result<()> {
    let api = specserve_codegen::load(spec).map_err(|e| anyhow!("{e}"))?;
    let files = specserve_codegen::generated_files(&api).map_err(|e| anyhow!("{e}"))?;
    let schemas = out.join("schemas");
    if schemas.exists() {
        // Routes may have been removed from the spec: start the schema folder afresh.
        std::fs::remove_dir_all(&schemas).with_context(|| format!("clearing {}", schemas.display()))?;
    }
    for (relative, contents) in &files {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} files under {}", files.len(), out.display());
    Ok(())
}
