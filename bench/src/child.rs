//! The processes under test: specserve itself, the raw tokio-tungstenite echo
//! baseline, or the raw sqlx point-select baseline, each in a child process
//! (this binary re-executed with a hidden subcommand) so their CPU time and
//! memory are read apart from the load generator's, from /proc, and so they
//! can be placed on the server's cores.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use specserve::cluster::nats::{NatsConfig, NatsTls};
use specserve::cluster::{ClusterConfig, REPLAY_WINDOW};
use specserve::handlers::{App, AppConfig};
use specserve::security::audit::AuditLog;
use specserve::security::secret::Secret;
use specserve::store::Database;
use specserve_runtime::server::{Limits, Server, ServerConfig, TlsSetup, Workers};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::load::{self, Timing};
use crate::pin::Layout;

/// A running child process and where it listens.
pub struct Process {
    child: Child,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// TLS certificate fingerprint, when it speaks TLS.
    pub fingerprint: Option<String>,
}

/// CPU seconds (user + system) and resident memory of a process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// CPU seconds used so far.
    pub cpu_seconds: f64,
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// Write-family system calls so far (`syscw` of `/proc/<pid>/io`: write,
    /// writev, ...; not send(2), which the server's sockets do not use for
    /// TLS), what the socket writes of a fan-out cost in calls.
    pub write_syscalls: u64,
}

impl Process {
    /// Starts specserve over `database_url`, TLS or plaintext, on the
    /// layout's server cores if there is a layout.
    pub async fn specserve(database_url: &str, tls: bool, layout: Option<&Layout>) -> Result<Process> {
        Process::spawn(vec!["__serve".to_owned(), database_url.to_owned()], tls, layout).await
    }

    /// Starts specserve over `database_url` as a node of the cluster on `nats`.
    pub async fn specserve_in_cluster(database_url: &str, nats: &Nats, layout: Option<&Layout>) -> Result<Process> {
        let key_file = nats.key_file.to_string_lossy();
        let flags = ["--child-cluster-url", &nats.url, "--child-cluster-key-file", &key_file];
        Process::serve_child(database_url, &flags, false, layout).await
    }

    /// Starts specserve over `database_url`, TLS or plaintext, on `workers`
    /// per-core workers (`--workers`, pinned with `--pin-workers` if
    /// `pinned`: the product's default, `--workers auto`, with a worker per
    /// core), placed as [`Process::specserve`] places the server.
    pub async fn specserve_workers(
        database_url: &str,
        tls: bool,
        workers: usize,
        pinned: bool,
        layout: Option<&Layout>,
    ) -> Result<Process> {
        let workers = workers.to_string();
        let mut flags = vec!["--child-workers", &workers];
        if pinned {
            flags.push("--child-pin-workers");
        }
        Process::serve_child(database_url, &flags, tls, layout).await
    }

    /// Starts specserve over `database_url` on a single-threaded runtime,
    /// sharing `port` (0: a new one) with the other shards.
    pub async fn specserve_shard(database_url: &str, port: u16) -> Result<Process> {
        Process::serve_child(database_url, &["--child-shard-port", &port.to_string()], false, None).await
    }

    /// A `__serve` child over `database_url` with more flags.
    async fn serve_child(database_url: &str, flags: &[&str], tls: bool, layout: Option<&Layout>) -> Result<Process> {
        let args = ["__serve", database_url].iter().chain(flags).map(|arg| (*arg).to_owned()).collect();
        Process::spawn(args, tls, layout).await
    }

    /// Starts the hand-written `user/read` server over `database_url`, which
    /// knows `token` as user `user`'s, placed as [`Process::specserve`] places the server.
    pub async fn floor(
        database_url: &str,
        token: &str,
        user: i64,
        tls: bool,
        layout: Option<&Layout>,
    ) -> Result<Process> {
        let args = ["__floor", database_url, "--child-token", token, "--child-user-id", &user.to_string()];
        Process::spawn(args.iter().map(|arg| (*arg).to_owned()).collect(), tls, layout).await
    }

    /// Starts the raw echo baseline, placed as [`Process::specserve`] places the server.
    pub async fn echo(tls: bool, layout: Option<&Layout>) -> Result<Process> {
        Process::spawn(vec!["__echo".to_owned()], tls, layout).await
    }

    async fn spawn(mut args: Vec<String>, tls: bool, layout: Option<&Layout>) -> Result<Process> {
        if tls {
            args.push("--tls".into());
        }
        let (child, line) = launch(args, layout).await?;
        // "port <n> [fingerprint <f>]"
        let parts: Vec<&str> = line.split_whitespace().collect();
        let port = match parts.as_slice() {
            ["port", port, ..] => port.parse()?,
            _ => bail!("child did not report its port: {line:?}"),
        };
        let fingerprint =
            parts.iter().position(|p| *p == "fingerprint").and_then(|i| parts.get(i + 1)).map(|f| (*f).to_owned());
        Ok(Process { child, port, fingerprint })
    }

    /// CPU and memory now.
    pub fn usage(&self) -> Usage {
        let Some(pid) = self.child.id() else { return Usage::default() };
        usage_of(pid)
    }

    /// Stops the child (closing its stdin asks it to shut down).
    pub async fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

/// Starts this binary with `args` (on the layout's server cores if there is
/// a layout) and returns it with the first line it prints.
async fn launch(mut args: Vec<String>, layout: Option<&Layout>) -> Result<(Child, String)> {
    if let Some(layout) = layout {
        args.extend(["--pin".to_owned(), layout.server_arg()]);
    }
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().context("child stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).await?;
    Ok((child, line))
}

/// The `read` baseline run where the server runs: raw sqlx point-selects from
/// a child on the layout's server cores, the database (and this idle process)
/// on the others, so the baseline's statements cross cores as the server's
/// do. Run beside the database instead, the client and mariadbd take turns
/// on one core and mariadbd's threads almost never sleep (0.01 sleeps per
/// query against 1.0 across cores, measured with `mysqlslap`), an advantage
/// no server placed apart from its database has. Returns the selects per
/// second and the CPU per select, the child's as the server's.
pub async fn sqlx_point_select_placed(
    database_url: &str,
    user_id: i64,
    connections: usize,
    timing: Timing,
    layout: &Layout,
    database: Option<u32>,
) -> Result<(f64, CpuPerOp)> {
    let seconds = |d: std::time::Duration| format!("{}s", d.as_secs_f64());
    let args = vec![
        "__select".to_owned(),
        database_url.to_owned(),
        "--child-user-id".to_owned(),
        user_id.to_string(),
        "--child-connections".to_owned(),
        connections.to_string(),
        "--warmup".to_owned(),
        seconds(timing.warmup),
        "--duration".to_owned(),
        seconds(timing.duration),
    ];
    let (load, database_before) = (Spent::of(std::process::id()), database.map(Spent::of));
    let (mut child, line) = launch(args, Some(layout)).await?;
    let (load_after, database_after) = (Spent::of(std::process::id()), database.map(Spent::of));
    drop(child.stdin.take());
    let _ = child.wait().await;
    // "rate <r> before <cpu> <sleeps> after <cpu> <sleeps>"
    let parts: Vec<&str> = line.split_whitespace().collect();
    let (rate, before, after) = match parts.as_slice() {
        ["rate", rate, "before", cpu, sleeps, "after", cpu_after, sleeps_after] => (
            rate.parse::<f64>()?,
            Spent { cpu_seconds: cpu.parse()?, sleeps: sleeps.parse()? },
            Spent { cpu_seconds: cpu_after.parse()?, sleeps: sleeps_after.parse()? },
        ),
        _ => bail!("__select did not report: {line:?}"),
    };
    let before = Cpu { load, server: before, database: database_before };
    let after = Cpu { load: load_after, server: after, database: database_after };
    let ops = rate * (timing.warmup + timing.duration).as_secs_f64();
    Ok((rate, after.per_op_since(&before, ops)))
}

/// CPU seconds used so far by the three parties of a run: this process (the
/// load generator, and the sqlx baseline), the server child, and the database
/// server when it is a separate local process; and how often their threads
/// went to sleep to wait.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    load: Spent,
    server: Spent,
    database: Option<Spent>,
}

/// One party's CPU seconds and voluntary context switches so far.
#[derive(Debug, Clone, Copy, Default)]
struct Spent {
    cpu_seconds: f64,
    sleeps: f64,
}

impl Spent {
    fn of(pid: u32) -> Spent {
        let sleeps = if pid == std::process::id() { own_sleeps() } else { sleeps_of(pid) };
        Spent { cpu_seconds: usage_of(pid).cpu_seconds, sleeps }
    }
}

/// CPU microseconds and sleeps per operation between two [`Cpu`] snapshots.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CpuPerOp {
    /// The load generator (this process).
    pub load_us: f64,
    /// The server under test.
    pub server_us: f64,
    /// The database server; `None` for SQLite (inside whichever process queries it).
    pub database_us: Option<f64>,
    /// Voluntary context switches of the load generator's threads: each is a
    /// thread that ran out of work and blocked, to be woken (a futex or an
    /// `epoll_wait` that slept), the cost that batching avoids.
    pub load_sleeps: f64,
    /// The same for the server's threads.
    pub server_sleeps: f64,
    /// The same for the database server's threads.
    pub database_sleeps: Option<f64>,
}

impl Cpu {
    /// Now, for `server` and the database process `database` (if any).
    pub fn now(server: &Process, database: Option<u32>) -> Cpu {
        Cpu {
            load: Spent::of(std::process::id()),
            server: server.child.id().map(Spent::of).unwrap_or_default(),
            database: database.map(Spent::of),
        }
    }

    /// Per operation since `before`, over `ops` operations.
    pub fn per_op_since(&self, before: &Cpu, ops: f64) -> CpuPerOp {
        let per_op = |after: f64, before: f64| (after - before) / ops.max(1.0);
        let us = |after: Spent, before: Spent| 1e6 * per_op(after.cpu_seconds, before.cpu_seconds);
        let sleeps = |after: Spent, before: Spent| per_op(after.sleeps, before.sleeps);
        let database = self.database.zip(before.database);
        CpuPerOp {
            load_us: us(self.load, before.load),
            server_us: us(self.server, before.server),
            database_us: database.map(|(a, b)| us(a, b)),
            load_sleeps: sleeps(self.load, before.load),
            server_sleeps: sleeps(self.server, before.server),
            database_sleeps: database.map(|(a, b)| sleeps(a, b)),
        }
    }
}

/// CPU seconds used so far by each party of a `cluster` run: this process
/// (the load generator), the specserve nodes, the NATS server and MariaDB.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartiesCpu {
    load: f64,
    nodes: f64,
    bus: f64,
    database: f64,
}

/// CPU microseconds per message stored, by party, between two [`PartiesCpu`].
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PartiesPerMessage {
    pub load_us: f64,
    /// The nodes serving the run, added up.
    pub nodes_us: f64,
    pub bus_us: f64,
    pub database_us: f64,
}

impl PartiesPerMessage {
    /// All parties together.
    pub fn total_us(&self) -> f64 {
        self.load_us + self.nodes_us + self.bus_us + self.database_us
    }
}

impl PartiesCpu {
    /// Now, for the `nodes` serving the run, the bus and the database process.
    pub fn now(nodes: &[&Process], bus: &Nats, database: Option<u32>) -> PartiesCpu {
        let seconds = |pid: Option<u32>| pid.map_or(0.0, |pid| usage_of(pid).cpu_seconds);
        PartiesCpu {
            load: seconds(Some(std::process::id())),
            nodes: nodes.iter().map(|node| seconds(node.child.id())).sum(),
            bus: seconds(bus.child.id()),
            database: seconds(database),
        }
    }

    /// Per message since `before`, over `messages` messages.
    pub fn per_message_since(&self, before: &PartiesCpu, messages: f64) -> PartiesPerMessage {
        let us = |after: f64, before: f64| 1e6 * (after - before) / messages.max(1.0);
        PartiesPerMessage {
            load_us: us(self.load, before.load),
            nodes_us: us(self.nodes, before.nodes),
            bus_us: us(self.bus, before.bus),
            database_us: us(self.database, before.database),
        }
    }
}

/// This process's voluntary context switches, its ended threads' included
/// (`getrusage`). `/proc` lists live threads only, and the raw SQLite
/// baseline's connection threads (sqlx runs one per connection) end with its
/// loop, before the count is read: summed from `/proc` they looked as if they
/// never slept (0.04-0.18 per select against 1.3 counted during the loop).
fn own_sleeps() -> f64 {
    // SAFETY: getrusage writes one `rusage` through a pointer to a valid,
    // writable one; an all-zero `rusage` is a valid value of it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    usage.ru_nvcsw as f64
}

/// Voluntary context switches of `pid`'s live threads, summed (another
/// process's ended threads are not counted; the server's and mariadbd's
/// live as long as their connections).
fn sleeps_of(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0.0 };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .sum::<f64>()
}

/// The pid of a local MariaDB/MySQL server, to account its CPU.
pub fn database_pid() -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
        matches!(comm.trim(), "mariadbd" | "mysqld").then_some(pid)
    })
}

fn usage_of(pid: u32) -> Usage {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|stat| {
        // Fields after the parenthesised command name; utime and stime are 14th and 15th overall.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?)
    });
    let rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    let write_syscalls = std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|io| io.lines().find_map(|l| l.strip_prefix("syscw:")).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0);
    Usage { cpu_seconds: ticks.unwrap_or(0.0) / clock_ticks(), rss_kib, write_syscalls }
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn raise_fd_limit() {
    let _ = rlimit::increase_nofile_limit(1 << 20);
}

/// Waits until the parent closes our stdin.
async fn until_parent_goes() {
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}

/// How a `__serve` child runs besides the default (one work-stealing runtime).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    /// One of several processes sharing this port (0: pick one).
    pub shard_port: Option<u16>,
    /// Per-core workers (`--workers`).
    pub workers: Option<std::num::NonZeroUsize>,
    /// Each worker on a core of its own (`--pin-workers`).
    pub pinned: bool,
}

/// The `__serve` child: specserve with limits opened up for load (the per-socket
/// frame rate limit and the auth rate limits would otherwise be what is measured).
pub async fn serve(database_url: &str, tls: bool, cluster: Option<(&str, &Path)>, shape: Shape) -> Result<()> {
    raise_fd_limit();
    // Run by hand (bench/instructions.sh) the MariaDB database may be new; the
    // harness's own was made with its schema, and SQLite's connect applies it.
    let created = Database::create_if_missing(database_url).await?;
    let store = Database::connect(database_url).await?;
    if created {
        store.migrate().await?;
    }
    let config = AppConfig {
        auth_per_ip_per_minute: 1e12,
        login_failures_per_minute: 1e12,
        login_failures_per_account_per_minute: 1e12,
        creates_per_minute: 1e12,
        password_changes_per_minute: 1e12,
        ..AppConfig::default()
    };
    let hub = specserve_runtime::hub::Hub::new();
    let app = Arc::new(
        App::new(store, config, AuditLog::to_writer(std::io::sink()), hub.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    if let Some((url, key_file)) = cluster {
        let (servers, auth) = NatsConfig::parse_servers(url)?;
        let nats = NatsConfig { servers, auth, tls: NatsTls::default() };
        let key = Secret::read(key_file)?;
        let config = ClusterConfig { nats, subject: "specserve-bench".into(), key, replay_window: REPLAY_WINDOW };
        app.join_cluster(config).await?;
    }
    let port = shape.shard_port.unwrap_or(0);
    let mut server_config = ServerConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    server_config.hub = hub;
    server_config.reuse_port = shape.shard_port.is_some();
    server_config.workers =
        shape.workers.map_or(Workers::Caller, |count| Workers::PerCore { count, pinned: shape.pinned });
    server_config.tls = if tls { TlsSetup::SelfSigned } else { TlsSetup::Plaintext };
    server_config.limits = Limits {
        frames_per_second: 1e12,
        frame_burst: 1e12,
        max_connections: 1_000_000,
        max_connections_per_ip: 1_000_000,
        ..Limits::default()
    };
    let server = Server::start(server_config, Arc::new(specserve::api::Service::<App>::new(app))).await?;
    match server.fingerprint() {
        Some(fingerprint) => println!("port {} fingerprint {fingerprint}", server.local_addr().port()),
        None => println!("port {}", server.local_addr().port()),
    }
    until_parent_goes().await;
    server.shutdown().await;
    Ok(())
}

/// Binds a new port on 127.0.0.1 (TLS with a self-signed certificate if
/// `$tls`), prints the port line the parent reads, then serves each
/// connection's stream, TLS or plain, with `|$stream, $state| $serve` (the
/// state a clone of `$shared`) until the parent goes. A macro, so each
/// child's per-socket code stays monomorphic.
macro_rules! serve_connections {
    ($tls:expr, $shared:expr, |$stream:ident, $state:ident| $serve:expr) => {{
        let shared = $shared;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let tls =
            if $tls { specserve_runtime::server::tls::ServerTls::from_setup(&TlsSetup::SelfSigned)? } else { None };
        match &tls {
            Some(tls) => println!("port {} fingerprint {}", listener.local_addr()?.port(), tls.fingerprint()),
            None => println!("port {}", listener.local_addr()?.port()),
        }
        let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
        let accept = async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, $state) = (acceptor.clone(), shared.clone());
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok($stream) = acceptor.accept(tcp).await {
                                $serve.await;
                            }
                        }
                        None => {
                            let $stream = tcp;
                            $serve.await;
                        }
                    }
                });
            }
        };
        tokio::select! {
            () = accept => {}
            () = until_parent_goes() => {}
        }
    }};
}

/// The `__echo` child: the least a tokio-tungstenite server can do per frame.
pub async fn echo(tls: bool) -> Result<()> {
    raise_fd_limit();
    serve_connections!(tls, (), |stream, _nothing| echo_socket(stream));
    Ok(())
}

async fn echo_socket<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: S) {
    let Ok(socket) =
        tokio_tungstenite::accept_async_with_config(stream, Some(specserve_runtime::websocket::config())).await
    else {
        return;
    };
    let (mut sink, mut stream) = socket.split();
    while let Some(Ok(message)) = stream.next().await {
        if message.is_text() && sink.send(message).await.is_err() {
            break;
        }
    }
}

/// The `__floor` child: the `user/read` server a Rust engineer would write by
/// hand on the same crates, the floor specserve is held to (#33): tokio-
/// tungstenite over rustls, serde_json, an in-memory token map, one sqlx
/// point-select (the store's own statement, on the native driver's pool of
/// the server's size), a JSON reply. No spec, no schema validation, no audit,
/// no limits; a frame it cannot serve gets an error reply, as any server must.
pub async fn floor(database_url: &str, tls: bool, token: String, user: i64) -> Result<()> {
    raise_fd_limit();
    let pool = if database_url.starts_with("mysql:") {
        FloorPool::MySql(sqlx::mysql::MySqlPoolOptions::new().max_connections(16).connect(database_url).await?)
    } else {
        FloorPool::Sqlite(sqlx::sqlite::SqlitePoolOptions::new().max_connections(8).connect(database_url).await?)
    };
    let state = Arc::new(Floor { pool, tokens: std::collections::HashMap::from([(token, user)]) });
    serve_connections!(tls, state, |stream, state| floor_socket(stream, &state));
    Ok(())
}

enum FloorPool {
    MySql(sqlx::MySqlPool),
    Sqlite(sqlx::SqlitePool),
}

struct Floor {
    pool: FloorPool,
    tokens: std::collections::HashMap<String, i64>,
}

/// The store's statement for `user/read`.
const USER_BY_ID: &str =
    "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at FROM users WHERE id = ?";

async fn floor_socket<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: S, floor: &Floor) {
    let Ok(socket) =
        tokio_tungstenite::accept_async_with_config(stream, Some(specserve_runtime::websocket::config())).await
    else {
        return;
    };
    let (mut sink, mut stream) = socket.split();
    while let Some(Ok(message)) = stream.next().await {
        let tokio_tungstenite::tungstenite::Message::Text(text) = message else { continue };
        let reply = floor_read(floor, &text).await;
        if sink.send(tokio_tungstenite::tungstenite::Message::text(reply.to_string())).await.is_err() {
            break;
        }
    }
}

/// One `user/read` frame's reply, by hand.
async fn floor_read(floor: &Floor, text: &str) -> serde_json::Value {
    use serde_json::json;
    let refuse = |code: &str, message: &str| json!({"success": false, "channel": "user/read", "error": {"code": code, "message": message}});
    let Ok(frame) = serde_json::from_str::<serde_json::Value>(text) else { return refuse("bad_request", "not JSON") };
    let Some(caller) = frame.get("apiToken").and_then(|t| t.as_str()).and_then(|t| floor.tokens.get(t)) else {
        return refuse("unauthorized", "missing or unknown token");
    };
    let Some(id) = frame.pointer("/payload/id").and_then(serde_json::Value::as_i64) else {
        return refuse("validation_failed", "payload.id must be an integer");
    };
    if id != *caller {
        return refuse("forbidden", "not yours");
    }
    let user = match &floor.pool {
        FloorPool::MySql(pool) => {
            sqlx::query(USER_BY_ID).bind(id).fetch_optional(pool).await.map(|row| row.map(floor_user))
        }
        FloorPool::Sqlite(pool) => {
            sqlx::query(USER_BY_ID).bind(id).fetch_optional(pool).await.map(|row| row.map(floor_user))
        }
    };
    match user {
        Ok(Some(Ok(mut user))) => {
            user["channel"] = json!("user/read");
            if let Some(request) = frame.get("requestId") {
                user["requestId"] = request.clone();
            }
            user
        }
        Ok(None) => refuse("not_found", "no such user"),
        Ok(Some(Err(_))) | Err(_) => refuse("internal", "internal error"),
    }
}

/// A users row as the reply's JSON.
fn floor_user<R: sqlx::Row>(row: R) -> Result<serde_json::Value, sqlx::Error>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> time::PrimitiveDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let created: time::PrimitiveDateTime = row.try_get("created_at")?;
    let created = created.assume_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    Ok(serde_json::json!({
        "id": row.try_get::<i64, _>("id")?,
        "name": row.try_get::<String, _>("name")?,
        "email": row.try_get::<String, _>("email")?,
        "role": row.try_get::<String, _>("role")?,
        "created_at": created,
    }))
}

/// The `__select` child: the `read` baseline's point-selects
/// ([`load::sqlx_point_select`]) in a process of its own; prints the selects
/// per second and its own CPU seconds and sleeps before and after them, then
/// waits for the parent, which reads the database's around it.
pub async fn select(database_url: &str, user_id: i64, connections: usize, timing: Timing) -> Result<()> {
    let me = std::process::id();
    let before = Spent::of(me);
    let stats = load::sqlx_point_select(database_url, user_id, connections, timing).await?;
    let after = Spent::of(me);
    println!(
        "rate {} before {} {} after {} {}",
        stats.rate(),
        before.cpu_seconds,
        before.sleeps,
        after.cpu_seconds,
        after.sleeps
    );
    until_parent_goes().await;
    Ok(())
}

/// A nats-server child on a free port, for the cluster scenario.
pub struct Nats {
    child: Child,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    /// The cluster key its nodes share (a file of this run's own).
    pub key_file: std::path::PathBuf,
}

impl Nats {
    /// Starts one; `None` when `nats-server` is not installed.
    pub async fn start() -> Result<Option<Nats>> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let Ok(child) = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
        else {
            return Ok(None);
        };
        for _ in 0..500 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                let key_file = std::env::temp_dir().join(format!("specserve-bench-cluster-{port}.key"));
                let _ = std::fs::remove_file(&key_file);
                specserve::security::secret::Secret::generate()?.write_new(&key_file)?;
                return Ok(Some(Nats { child, url: format!("nats://127.0.0.1:{port}"), key_file }));
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        bail!("nats-server did not listen on {port}")
    }
}
