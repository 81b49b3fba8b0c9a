//! specserve-bench: throughput, latency, CPU and memory of specserve's hot
//! paths, each reported as a ratio against a baseline measured in the same run
//! on the same machine (it has 2 shared cores: absolute numbers mean little).
//!
//! `cargo run --release -p specserve-bench -- all` prints the table and writes
//! `bench/results/latest.{json,md}`; `--quick` only proves the harness works.

mod broadcast;
mod child;
mod fanout;
mod load;
mod pin;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::json;
use sqlx::Connection;
use tokio_tungstenite::tungstenite::Message;

use child::{Cpu, CpuPerOp, PartiesCpu, PartiesPerMessage, Process, Usage};
use load::{Stats, Target, Timing};

#[derive(Parser)]
#[command(about = "Load harness for specserve, with same-run baselines")]
struct Cli {
    /// Which scenario to run.
    #[arg(value_enum, default_value = "all")]
    scenario: Scenario,
    /// A few seconds in all: proves the harness works, measures nothing worth reading.
    #[arg(long)]
    quick: bool,
    /// MySQL/MariaDB server for the `read` scenario (a user that may create databases).
    #[arg(long, env = "SPECSERVE_TEST_MYSQL_URL", default_value = "mysql://root@127.0.0.1:3306/test")]
    mysql_url: String,
    /// Measured seconds per run.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured seconds before each run.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Idle connections for the `idle` scenario.
    #[arg(long, default_value_t = 5000)]
    idle_connections: usize,
    /// Members of the `broadcast` scenario's room (the publisher among them).
    #[arg(long, default_value_t = 1000)]
    broadcast_members: usize,
    /// Where to write results (JSON and Markdown).
    #[arg(long, default_value = "bench/results")]
    out: std::path::PathBuf,
    /// (child processes) the database URL of `__serve`.
    #[arg(hide = true)]
    child_database: Option<String>,
    /// (child processes) speak TLS.
    #[arg(long, hide = true)]
    tls: bool,
    /// (child processes) join the cluster on this NATS server.
    #[arg(long, hide = true, requires = "child_cluster_key_file")]
    child_cluster_url: Option<String>,
    /// (child processes) the cluster's key.
    #[arg(long, hide = true)]
    child_cluster_key_file: Option<std::path::PathBuf>,
    /// (child processes) one of several processes sharing this port
    /// (`SO_REUSEPORT`; 0: pick one), each on a single-threaded runtime.
    #[arg(long, hide = true)]
    child_shard_port: Option<u16>,
    /// (child processes) serve on this many per-core workers (`--workers`).
    #[arg(long, hide = true)]
    child_workers: Option<std::num::NonZeroUsize>,
    /// (child processes) pin the per-core workers (`--pin-workers`).
    #[arg(long, hide = true)]
    child_pin_workers: bool,
    /// (child processes) the user `__select` reads.
    #[arg(long, hide = true)]
    child_user_id: Option<i64>,
    /// (child processes) the token `__floor` knows (as `--child-user-id`'s).
    #[arg(long, hide = true)]
    child_token: Option<String>,
    /// (child processes) the concurrency of `__select`.
    #[arg(long, hide = true)]
    child_connections: Option<usize>,
    /// Put the server child on this many cores and the load generator and the
    /// local MariaDB on the others (when the machine has others); `scaling`
    /// tries 1, 2 (and 4) by itself.
    #[arg(long)]
    server_cores: Option<usize>,
    /// (child processes) the cores to run on.
    #[arg(long, hide = true)]
    pin: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    All,
    Read,
    Reject,
    Login,
    Mixed,
    Idle,
    Fanout,
    Scaling,
    /// Fan-out with the room's members on two nodes joined by NATS.
    Cluster,
    /// `read` on two single-threaded processes sharing one port against one
    /// process with two worker threads (the thread-per-core question of #14).
    Sharded,
    #[value(name = "__serve", hide = true)]
    ServeChild,
    #[value(name = "__echo", hide = true)]
    EchoChild,
    #[value(name = "__select", hide = true)]
    SelectChild,
    /// `read` and `reject` against the hand-written floor server (#33 item 1).
    Floor,
    #[value(name = "__floor", hide = true)]
    FloorChild,
    /// One publisher into a room of `--broadcast-members` over TLS on the
    /// default per-core workers: deliveries per server CPU-second, p99 at
    /// half the highest rate, write calls per delivery (#33 item 2).
    Broadcast,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.trim_end_matches('s').parse().map_err(|e| format!("{e}"))?;
    Ok(Duration::from_secs_f64(seconds))
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
struct Row {
    scenario: String,
    store: String,
    connections: usize,
    throughput: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    baseline: String,
    baseline_throughput: f64,
    ratio: f64,
    target: String,
    server_cpu_percent: f64,
    server_rss_mib: f64,
    /// Where the server and the load ran, when placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    cores: Option<String>,
    /// Server CPU µs per operation (read, reject).
    #[serde(skip_serializing_if = "Option::is_none")]
    server_us_per_op: Option<f64>,
    /// The baseline server's CPU µs per operation (reject: the echo server).
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_server_us_per_op: Option<f64>,
    /// Pushed events received per second (fanout only).
    #[serde(skip_serializing_if = "Option::is_none")]
    deliveries_per_second: Option<f64>,
    /// Where the CPU went, per operation (read only): this run, then its baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_per_op: Option<(CpuPerOp, CpuPerOp)>,
    /// The baseline again, run where the server runs (read with the server
    /// on cores of its own; see [`child::sqlx_point_select_placed`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    placed_baseline: Option<PlacedBaseline>,
    /// Messages stored per second and where the CPU went per message, by
    /// party (cluster only): on two nodes, then on one.
    #[serde(skip_serializing_if = "Option::is_none")]
    parties: Option<((f64, PartiesPerMessage), (f64, PartiesPerMessage))>,
}

/// The raw sqlx baseline from a child on the server's cores.
#[derive(Debug, Clone, Serialize)]
struct PlacedBaseline {
    throughput: f64,
    /// `server_us` is the sqlx client's.
    cpu_per_op: CpuPerOp,
}

impl Row {
    fn new(scenario: &str, store: &str, connections: usize, stats: &Stats, usage: (Usage, Usage), seconds: f64) -> Row {
        let (before, after) = usage;
        Row {
            scenario: scenario.into(),
            store: store.into(),
            connections,
            throughput: stats.rate(),
            p50_ms: stats.ms(0.5),
            p90_ms: stats.ms(0.9),
            p99_ms: stats.ms(0.99),
            max_ms: stats.ms(1.0),
            baseline: String::new(),
            baseline_throughput: 0.0,
            ratio: 0.0,
            target: String::new(),
            server_cpu_percent: 100.0 * (after.cpu_seconds - before.cpu_seconds) / seconds.max(1e-9),
            server_rss_mib: after.rss_kib as f64 / 1024.0,
            cores: None,
            server_us_per_op: None,
            baseline_server_us_per_op: None,
            deliveries_per_second: None,
            cpu_per_op: None,
            placed_baseline: None,
            parties: None,
        }
    }

    fn against(mut self, baseline: &str, throughput: f64, target: &str) -> Row {
        self.baseline = baseline.into();
        self.baseline_throughput = throughput;
        self.ratio = if throughput > 0.0 { self.throughput / throughput } else { 0.0 };
        self.target = target.into();
        self
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Before the runtime exists: its threads inherit the affinity and it
    // sizes its worker pool by it.
    if let Some(cores) = &cli.pin {
        pin::set(0, &pin::parse(cores).map_err(anyhow::Error::msg)?)?;
    }
    let runtime = match cli.child_shard_port {
        Some(_) => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        None => tokio::runtime::Builder::new_multi_thread().enable_all().build()?,
    };
    match cli.scenario {
        Scenario::ServeChild => {
            let url = cli.child_database.context("__serve needs a database URL")?;
            let shape = child::Shape {
                shard_port: cli.child_shard_port,
                workers: cli.child_workers,
                pinned: cli.child_pin_workers,
            };
            let cluster = cli.child_cluster_url.as_deref().zip(cli.child_cluster_key_file.as_deref());
            runtime.block_on(child::serve(&url, cli.tls, cluster, shape))
        }
        Scenario::EchoChild => runtime.block_on(child::echo(cli.tls)),
        Scenario::SelectChild => {
            let url = cli.child_database.context("__select needs a database URL")?;
            let user = cli.child_user_id.context("__select needs --child-user-id")?;
            let connections = cli.child_connections.context("__select needs --child-connections")?;
            let timing = Timing { warmup: cli.warmup, duration: cli.duration };
            runtime.block_on(child::select(&url, user, connections, timing))
        }
        Scenario::FloorChild => {
            let url = cli.child_database.context("__floor needs a database URL")?;
            let user = cli.child_user_id.context("__floor needs --child-user-id")?;
            let token = cli.child_token.context("__floor needs --child-token")?;
            runtime.block_on(child::floor(&url, cli.tls, token, user))
        }
        _ => runtime.block_on(run(cli)),
    }
}

struct Setup {
    /// Where the server runs apart from the load, when `--server-cores` says.
    layout: Option<pin::Layout>,
    timing: Timing,
    counts: Vec<usize>,
    room_sizes: Vec<usize>,
    idle: usize,
    broadcast: usize,
    mysql: Option<String>,
    sqlite: String,
}

async fn run(cli: Cli) -> Result<()> {
    sqlx::any::install_default_drivers();
    let _ = rlimit::increase_nofile_limit(1 << 20);
    let timing = if cli.quick {
        Timing { warmup: Duration::from_millis(200), duration: Duration::from_millis(800) }
    } else {
        Timing { warmup: cli.warmup, duration: cli.duration }
    };
    // Read before anything is placed: the layouts divide these.
    let all_cores = pin::allowed();
    let layout = cli.server_cores.map(pin::Layout::server_on);
    let setup = Setup {
        layout,
        timing,
        counts: if cli.quick { vec![8] } else { vec![32, 256] },
        room_sizes: if cli.quick { vec![2, 10] } else { vec![2, 10, 100] },
        idle: if cli.quick { 100 } else { cli.idle_connections },
        broadcast: if cli.quick { 20 } else { cli.broadcast_members.max(2) },
        mysql: bench_database(&cli.mysql_url).await,
        sqlite: format!(
            "sqlite://{}",
            std::env::temp_dir().join(format!("specserve-bench-{}.db", std::process::id())).display()
        ),
    };
    if setup.mysql.is_none() {
        eprintln!("note: no MySQL/MariaDB at {}; the read scenario runs on SQLite only", cli.mysql_url);
    }
    if let Some(layout) = &setup.layout {
        place_load(layout);
        eprintln!("cores: {}", layout.describe());
    }
    let mut rows = Vec::new();
    let all = cli.scenario == Scenario::All;
    if all || cli.scenario == Scenario::Read {
        rows.extend(read(&setup).await?);
    }
    if all || cli.scenario == Scenario::Reject {
        rows.extend(reject(&setup).await?);
    }
    if all || cli.scenario == Scenario::Login || cli.scenario == Scenario::Mixed {
        rows.extend(login_and_mixed(&setup).await?);
    }
    if all || cli.scenario == Scenario::Idle {
        rows.extend(idle(&setup).await?);
    }
    if all || cli.scenario == Scenario::Fanout {
        rows.extend(fanout(&setup).await?);
    }
    if all || cli.scenario == Scenario::Cluster {
        rows.extend(cluster(&setup).await?);
    }
    if all || cli.scenario == Scenario::Scaling {
        rows.extend(scaling(&setup).await?);
    }
    if all || cli.scenario == Scenario::Sharded {
        rows.extend(sharded(&setup).await?);
    }
    if all || cli.scenario == Scenario::Floor {
        rows.extend(floor(&setup).await?);
    }
    if all || cli.scenario == Scenario::Broadcast {
        rows.extend(broadcast(&setup).await?);
    }
    // Everything back where it was (the database server outlives us).
    place_load(&pin::Layout { server: Vec::new(), others: all_cores, separated: false });
    let _ = std::fs::remove_file(setup.sqlite.trim_start_matches("sqlite://"));
    print_table(&rows);
    let out = if cli.quick { std::env::temp_dir().join("specserve-bench-quick") } else { cli.out };
    write_results(&out, &rows, cli.quick)?;
    Ok(())
}

/// A fresh `specserve_bench` database with the schema, or `None` without a server.
async fn bench_database(admin_url: &str) -> Option<String> {
    let mut conn = sqlx::MySqlConnection::connect(admin_url).await.ok()?;
    sqlx::raw_sql("DROP DATABASE IF EXISTS specserve_bench; CREATE DATABASE specserve_bench")
        .execute(&mut conn)
        .await
        .ok()?;
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
    let url = format!("{base}/specserve_bench");
    let store = specserve::store::Database::connect(&url).await.ok()?;
    store.migrate().await.ok()?;
    Some(url)
}

/// Registers a user through the server and returns (id, token).
async fn user(target: &Target, email: &str) -> Result<(i64, String)> {
    let mut socket = target.connect(None).await?;
    let password = "bench-password-123";
    let register =
        json!({"channel": "auth/register", "payload": {"name": "Bench", "email": email, "password": password}});
    let registered = load::ask(&mut socket, register).await?;
    let id = registered["userId"].as_i64().with_context(|| format!("register failed: {registered}"))?;
    let login = json!({"channel": "auth/generateToken", "payload": {"email": email, "password": password}});
    let login = load::ask(&mut socket, login).await?;
    Ok((id, login["token"].as_str().context("login failed")?.to_owned()))
}

/// The stores a database scenario runs on: MariaDB when there is one, and SQLite.
fn stores(setup: &Setup) -> Vec<(&'static str, String)> {
    let mut stores = vec![("sqlite", setup.sqlite.clone())];
    if let Some(mysql) = &setup.mysql {
        stores.insert(0, ("mariadb", mysql.clone()));
    }
    stores
}

fn target_of(process: &Process) -> Target {
    let scheme = if process.fingerprint.is_some() { "wss" } else { "ws" };
    Target { url: format!("{scheme}://127.0.0.1:{}/ws", process.port), fingerprint: process.fingerprint.clone() }
}

async fn read(setup: &Setup) -> Result<Vec<Row>> {
    read_on(setup, setup.layout.as_ref(), None, &setup.counts, "read").await
}

/// One measured run of the `floor` scenario: its load, the server's usage
/// around it, and the server's CPU µs per operation.
struct FloorRun {
    stats: Stats,
    usage: (Usage, Usage),
    cpu_us: f64,
}

/// `read` and `reject` against the server a Rust engineer would write by
/// hand on the same crates (`__floor`, #33 item 1): the same load generator,
/// TLS and database, C = 32, each measured twice, interleaved (specserve,
/// floor, specserve, floor) so a drift of the shared machine falls on both;
/// the ratio is of the means. Rows also carry both servers' CPU per operation.
async fn floor(setup: &Setup) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let connections = setup.counts[0];
    let seconds = (setup.timing.warmup + setup.timing.duration).as_secs_f64();
    let layout = setup.layout.as_ref();
    for (store, url) in stores(setup) {
        let server = Process::specserve(&url, true, layout).await?;
        let ours = target_of(&server);
        let (id, token) = user(&ours, &format!("floor-{}-{store}@example.com", std::process::id())).await?;
        let floor = Process::floor(&url, &token, id, true, layout).await?;
        let theirs = target_of(&floor);
        let read = format!(r#"{{"channel":"user/read","apiToken":"{token}","payload":{{"id":{id}}}}}"#);
        // Fails validation (the id is a string); the token is good, so the floor gets as far as its check.
        let reject = format!(r#"{{"channel":"user/read","apiToken":"{token}","payload":{{"id":"seven"}}}}"#);
        // Both answer alike before anything is measured: the user, then the refusal.
        for target in [&ours, &theirs] {
            let mut socket = target.connect(None).await?;
            let answer = load::ask(&mut socket, serde_json::from_str(&read)?).await?;
            anyhow::ensure!(answer["id"] == json!(id), "{} read: {answer}", target.url);
            let answer = load::ask(&mut socket, serde_json::from_str(&reject)?).await?;
            anyhow::ensure!(answer["error"]["code"] == "validation_failed", "{} reject: {answer}", target.url);
        }
        for (what, frame) in [("read", read), ("reject", reject)] {
            let mut runs: [Vec<FloorRun>; 2] = [Vec::new(), Vec::new()];
            for _ in 0..2 {
                for (side, (process, target)) in [(&server, &ours), (&floor, &theirs)].into_iter().enumerate() {
                    eprintln!(
                        "measuring: floor {what} {store} C={connections}: {}",
                        ["specserve", "hand-written"][side]
                    );
                    let (before, cpu_before) = (process.usage(), Cpu::now(process, None));
                    let frame = frame.clone();
                    let stats =
                        load::websocket(target, connections, setup.timing, Arc::new(move |_| frame.clone())).await?;
                    let cpu_us = Cpu::now(process, None).per_op_since(&cpu_before, stats.rate() * seconds).server_us;
                    runs[side].push(FloorRun { stats, usage: (before, process.usage()), cpu_us });
                }
            }
            let mean = |side: &[FloorRun], f: fn(&FloorRun) -> f64| side.iter().map(f).sum::<f64>() / side.len() as f64;
            let first = &runs[0][0];
            let mut row = Row::new(&format!("floor: {what}"), store, connections, &first.stats, first.usage, seconds);
            row.throughput = mean(&runs[0], |run| run.stats.rate());
            let baseline = mean(&runs[1], |run| run.stats.rate());
            let mut row = row.against("hand-written floor (same crates, TLS, database)", baseline, ">= 1.0");
            row.server_us_per_op = Some(mean(&runs[0], |run| run.cpu_us));
            row.baseline_server_us_per_op = Some(mean(&runs[1], |run| run.cpu_us));
            rows.push(row);
        }
        floor.stop().await;
        server.stop().await;
    }
    Ok(rows)
}

/// `read` with the server placed by `layout` (on that many pinned per-core
/// workers if `workers` says so), at each of `counts`; rows are named `scenario`.
async fn read_on(
    setup: &Setup,
    layout: Option<&pin::Layout>,
    workers: Option<usize>,
    counts: &[usize],
    scenario: &str,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (store, url) in stores(setup) {
        let server = match workers {
            Some(workers) => Process::specserve_workers(&url, false, workers, true, layout).await?,
            None => Process::specserve(&url, false, layout).await?,
        };
        let target = target_of(&server);
        // One user per server: the scenario names are too long for an email's local part.
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let email = format!("read-{}-{store}@example.com", SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let (id, token) = user(&target, &email).await?;
        let frame = format!(r#"{{"channel":"user/read","apiToken":"{token}","payload":{{"id":{id}}}}}"#);
        let database = if store == "mariadb" { child::database_pid() } else { None };
        let seconds = (setup.timing.warmup + setup.timing.duration).as_secs_f64();
        for &connections in counts {
            // Progress, and what `bench/profile.sh` waits for before recording.
            let phase = |what: &str| eprintln!("measuring: {scenario} {store} C={connections}: {what}");
            phase("raw sqlx");
            let cpu_before = Cpu::now(&server, database);
            let baseline = load::sqlx_point_select(&url, id, connections, setup.timing).await?;
            // Operations during the warm-up are not counted; assume the same rate.
            let baseline_cpu = Cpu::now(&server, database).per_op_since(&cpu_before, baseline.rate() * seconds);
            let placed = match layout.filter(|layout| layout.separated) {
                Some(layout) => {
                    phase(PLACED_BASELINE);
                    let (throughput, cpu_per_op) =
                        child::sqlx_point_select_placed(&url, id, connections, setup.timing, layout, database).await?;
                    Some(PlacedBaseline { throughput, cpu_per_op })
                }
                None => None,
            };
            let before = server.usage();
            let cpu_before = Cpu::now(&server, database);
            let frame = frame.clone();
            phase("specserve");
            let stats = load::websocket(&target, connections, setup.timing, Arc::new(move |_| frame.clone())).await?;
            let cpu = Cpu::now(&server, database).per_op_since(&cpu_before, stats.rate() * seconds);
            let mut row = Row::new(scenario, store, connections, &stats, (before, server.usage()), seconds).against(
                "raw sqlx point-select",
                baseline.rate(),
                ">= 0.8",
            );
            row.server_us_per_op = Some(cpu.server_us);
            row.cpu_per_op = Some((cpu, baseline_cpu));
            row.placed_baseline = placed;
            row.cores = layout.map(pin::Layout::describe);
            rows.push(row);
        }
        server.stop().await;
    }
    Ok(rows)
}

/// `read` at C = 32 served four ways on the same cores: by one process with
/// a work-stealing runtime of two worker threads (the default shape), by one
/// process with two per-core workers (`--workers 2`: a single-threaded
/// runtime per thread, each with its listener and its database connections),
/// the same with each worker pinned to a core (`--pin-workers`), and by two
/// processes with one single-threaded runtime each, sharing the port through
/// `SO_REUSEPORT` (nothing at all shared). Reported: throughput and the
/// servers' CPU per read, each against the first.
async fn sharded(setup: &Setup) -> Result<Vec<Row>> {
    let connections = setup.counts[0];
    let seconds = (setup.timing.warmup + setup.timing.duration).as_secs_f64();
    let mut rows = Vec::new();
    for (store, url) in stores(setup) {
        let one = Process::specserve(&url, false, None).await?;
        let workers = Process::specserve_workers(&url, false, 2, false, None).await?;
        let pinned = Process::specserve_workers(&url, false, 2, true, None).await?;
        let first = Process::specserve_shard(&url, 0).await?;
        let second = Process::specserve_shard(&url, first.port).await?;
        let mut measured: Vec<Row> = Vec::new();
        for (name, servers) in [
            (WORK_STEALING, vec![&one]),
            ("one process, 2 per-core workers", vec![&workers]),
            ("one process, 2 pinned per-core workers", vec![&pinned]),
            ("2 single-threaded processes, one port", vec![&first, &second]),
        ] {
            let target = target_of(servers[0]);
            let email = format!("sharded-{store}-{}@example.com", measured.len());
            let (id, token) = user(&target, &email).await?;
            let frame = format!(r#"{{"channel":"user/read","apiToken":"{token}","payload":{{"id":{id}}}}}"#);
            let each = |servers: &[&Process]| servers.iter().map(|s| s.usage().cpu_seconds).collect::<Vec<f64>>();
            let before = each(&servers);
            let stats = load::websocket(&target, connections, setup.timing, Arc::new(move |_| frame.clone())).await?;
            let spent: Vec<f64> = each(&servers).iter().zip(&before).map(|(after, before)| after - before).collect();
            let total: f64 = spent.iter().sum();
            let server_us = 1e6 * total / (stats.rate() * seconds).max(1.0);
            // How evenly the kernel spread the connections, as each process's share of the CPU.
            let split: Vec<String> = spent.iter().map(|s| format!("{:.0}%", 100.0 * s / total.max(1e-9))).collect();
            let name =
                if split.len() > 1 { format!("{name} (CPU split {})", split.join("/")) } else { name.to_owned() };
            let before: f64 = before.iter().sum();
            let usage = (
                Usage { cpu_seconds: before, rss_kib: 0, write_syscalls: 0 },
                Usage { cpu_seconds: before + total, rss_kib: 0, write_syscalls: 0 },
            );
            let mut row = Row::new(&format!("sharded: read, {name}"), store, connections, &stats, usage, seconds);
            row.server_us_per_op = Some(server_us);
            if let Some(baseline) = measured.first() {
                let (rate, us) = (baseline.throughput, baseline.server_us_per_op);
                row = row.against(&format!("{WORK_STEALING} (ops/s)"), rate, "report");
                row.baseline_server_us_per_op = us;
            }
            measured.push(row);
        }
        rows.extend(measured);
        for server in [one, workers, pinned, first, second] {
            server.stop().await;
        }
    }
    Ok(rows)
}

/// The shape the other rows of `sharded` are compared with.
const WORK_STEALING: &str = "one process, 2 work-stealing threads";

async fn reject(setup: &Setup) -> Result<Vec<Row>> {
    reject_on(setup, setup.layout.as_ref(), &setup.counts, "reject").await
}

/// `reject` with the server and the echo baseline placed by `layout`.
async fn reject_on(setup: &Setup, layout: Option<&pin::Layout>, counts: &[usize], scenario: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let server = Process::specserve(&setup.sqlite, false, layout).await?;
    let target = target_of(&server);
    // Fails validation (the id is a string): parse, route, validate, error reply, no database.
    let frame = r#"{"channel":"user/read","apiToken":"not-checked-before-validation","payload":{"id":"seven"}}"#;
    let echo = Process::echo(false, layout).await?;
    let seconds = (setup.timing.warmup + setup.timing.duration).as_secs_f64();
    for &connections in counts {
        let echo_before = Cpu::now(&echo, None);
        let baseline =
            load::websocket(&target_of(&echo), connections, setup.timing, Arc::new(move |_| frame.to_owned())).await?;
        let echo_us = Cpu::now(&echo, None).per_op_since(&echo_before, baseline.rate() * seconds).server_us;
        let (before, cpu_before) = (server.usage(), Cpu::now(&server, None));
        let stats = load::websocket(&target, connections, setup.timing, Arc::new(move |_| frame.to_owned())).await?;
        let (after, cpu_after) = (server.usage(), Cpu::now(&server, None));
        let mut row = Row::new(scenario, "-", connections, &stats, (before, after), seconds).against(
            "raw tokio-tungstenite echo",
            baseline.rate(),
            ">= 0.85",
        );
        row.server_us_per_op = Some(cpu_after.per_op_since(&cpu_before, stats.rate() * seconds).server_us);
        row.baseline_server_us_per_op = Some(echo_us);
        row.cores = layout.map(pin::Layout::describe);
        rows.push(row);
    }
    echo.stop().await;
    server.stop().await;
    Ok(rows)
}

/// Read and reject at C = 32 with the server on 1, 2 (and 4) cores, and read
/// again on as many per-core workers as cores: CPU per operation should not
/// grow with the cores the server has.
async fn scaling(setup: &Setup) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let available = pin::allowed().len();
    for cores in [1, 2, 4].into_iter().filter(|n| *n <= available) {
        let layout = pin::Layout::server_on(cores);
        place_load(&layout);
        let name = |what: &str| format!("scaling: {what}, server on {cores} core{}", if cores == 1 { "" } else { "s" });
        rows.extend(read_on(setup, Some(&layout), None, &setup.counts[..1], &name("read")).await?);
        let per_core = name(PER_CORE_READ);
        rows.extend(read_on(setup, Some(&layout), Some(cores), &setup.counts[..1], &per_core).await?);
        rows.extend(reject_on(setup, Some(&layout), &setup.counts[..1], &name("reject")).await?);
    }
    if let Some(layout) = &setup.layout {
        place_load(layout);
    }
    Ok(rows)
}

/// `scaling`'s `read` on as many pinned per-core workers (`--workers N
/// --pin-workers`) as the server has cores.
const PER_CORE_READ: &str = "read on pinned per-core workers";

/// Puts this process (the load generator and the sqlx baselines) and the
/// local MariaDB on the layout's other cores.
fn place_load(layout: &pin::Layout) {
    if let Err(error) = pin::set_process(std::process::id(), &layout.others) {
        eprintln!("note: the load generator stays where it was: {error}");
    }
    if let Some(pid) = child::database_pid()
        && let Err(error) = pin::set_process(pid, &layout.others)
    {
        eprintln!("note: MariaDB stays where it was: {error}");
    }
}

async fn login_and_mixed(setup: &Setup) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let server = Process::specserve(&setup.sqlite, false, setup.layout.as_ref()).await?;
    let target = target_of(&server);
    let (id, token) = user(&target, "login@example.com").await?;
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let hash = load::argon2_hash_seconds(5);
    let limit = cores as f64 / hash;
    let login =
        r#"{"channel":"auth/generateToken","payload":{"email":"login@example.com","password":"bench-password-123"}}"#;
    let storm = cores * 2;
    let before = server.usage();
    let stats = load::websocket(&target, storm, setup.timing, Arc::new(move |_| login.to_owned())).await?;
    let seconds = (setup.timing.warmup + setup.timing.duration).as_secs_f64();
    rows.push(Row::new("login", "sqlite", storm, &stats, (before, server.usage()), seconds).against(
        &format!("{cores} cores / argon2 hash ({:.1} ms)", hash * 1000.0),
        limit,
        ">= 0.85",
    ));

    let read = format!(r#"{{"channel":"user/read","apiToken":"{token}","payload":{{"id":{id}}}}}"#);
    let connections = setup.counts[0];
    let quiet = {
        let read = read.clone();
        load::websocket(&target, connections, setup.timing, Arc::new(move |_| read.clone())).await?
    };
    let before = server.usage();
    let (during, _) = tokio::try_join!(
        load::websocket(&target, connections, setup.timing, Arc::new(move |_| read.clone())),
        load::websocket(&target, storm, setup.timing, Arc::new(move |_| login.to_owned())),
    )?;
    let mut row = Row::new(
        "mixed: read p99 during login storm",
        "sqlite",
        connections,
        &during,
        (before, server.usage()),
        seconds,
    );
    // Here the baseline is latency, not throughput: p99 without the storm.
    row.baseline = format!("read p99 without storm ({:.2} ms)", quiet.ms(0.99));
    row.baseline_throughput = quiet.rate();
    row.ratio = if quiet.ms(0.99) > 0.0 { during.ms(0.99) / quiet.ms(0.99) } else { 0.0 };
    row.target = "p99 ratio <= 3".into();
    rows.push(row);
    server.stop().await;
    Ok(rows)
}

async fn idle(setup: &Setup) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for tls in [false, true] {
        let server = Process::specserve(&setup.sqlite, tls, setup.layout.as_ref()).await?;
        let target = target_of(&server);
        let (id, token) = user(&target, &format!("idle-{tls}@example.com")).await?;
        let frame = format!(r#"{{"channel":"user/read","payload":{{"id":{id}}}}}"#);
        let before = server.usage();
        let kernel_before = kernel_socket_bytes();
        let mut sockets = Vec::with_capacity(setup.idle);
        for _ in 0..setup.idle {
            let mut socket = target.connect(Some(&token)).await?;
            // One authenticated request each, then silence.
            socket.send(Message::text(frame.clone())).await?;
            while !matches!(socket.next().await.transpose()?, Some(Message::Text(_))) {}
            sockets.push(socket);
        }
        let after = server.usage();
        let per_connection_kib = after.rss_kib.saturating_sub(before.rss_kib) as f64 / setup.idle as f64;
        let kernel_kib = kernel_socket_bytes().saturating_sub(kernel_before) as f64 / 1024.0 / setup.idle as f64;
        rows.push(Row {
            scenario: format!("idle ({})", if tls { "TLS" } else { "plaintext" }),
            store: "sqlite".into(),
            connections: setup.idle,
            throughput: 0.0,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            baseline: format!(
                "{per_connection_kib:.1} KiB RSS per connection (kernel, both ends of loopback: {kernel_kib:.1} KiB)"
            ),
            baseline_throughput: 0.0,
            ratio: per_connection_kib,
            target: if tls { "<= 8 KiB".into() } else { "<= 10 KiB".into() },
            server_cpu_percent: 0.0,
            server_rss_mib: after.rss_kib as f64 / 1024.0,
            cores: None,
            server_us_per_op: None,
            baseline_server_us_per_op: None,
            deliveries_per_second: None,
            cpu_per_op: None,
            placed_baseline: None,
            parties: None,
        });
        drop(sockets);
        server.stop().await;
    }
    Ok(rows)
}

/// Kernel memory of this machine's TCP sockets, bytes: the buffers' pages
/// (`/proc/net/sockstat`, TCP `mem`) and the socket objects (the `TCP` and
/// `sock_inode_cache` slabs of `/proc/slabinfo`, readable by root; 0
/// otherwise). On loopback both ends of each connection are counted.
fn kernel_socket_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/net/sockstat").ok().and_then(|text| {
        let tcp = text.lines().find(|l| l.starts_with("TCP:"))?;
        let mut words = tcp.split_whitespace();
        words.find(|w| *w == "mem")?;
        words.next()?.parse::<u64>().ok()
    });
    let slabs = std::fs::read_to_string("/proc/slabinfo").ok().map_or(0, |text| {
        text.lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // name active_objs num_objs objsize ...
                matches!(fields.first(), Some(&"TCP") | Some(&"sock_inode_cache"))
                    .then(|| Some(fields.get(1)?.parse::<u64>().ok()? * fields.get(3)?.parse::<u64>().ok()?))
                    .flatten()
            })
            .sum()
    });
    pages.unwrap_or(0) * 4096 + slabs
}

/// Chat fan-out: rooms of each size, all members connected, up to 8 senders.
async fn fanout(setup: &Setup) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let largest = setup.room_sizes.iter().copied().max().unwrap_or(2);
    for (store, url) in stores(setup) {
        let server = Process::specserve(&url, false, setup.layout.as_ref()).await?;
        let target = target_of(&server);
        let mut users = Vec::with_capacity(largest);
        for n in 0..largest {
            users.push(user(&target, &format!("fanout-{n}-{store}@example.com")).await?);
        }
        let seconds = (setup.timing.warmup + setup.timing.duration).as_secs_f64();
        for &size in &setup.room_sizes {
            let (ids, tokens): (Vec<i64>, Vec<String>) = users[..size].iter().cloned().unzip();
            let room = fanout::room(&target, &tokens[0], &ids[1..], &format!("bench {size}")).await?;
            let senders = size.min(8);
            let baseline = fanout::sqlx_insert(&url, room, ids[0], senders, setup.timing).await?;
            let members = fanout::connect(std::slice::from_ref(&target), &tokens, senders).await?;
            let before = server.usage();
            let run = fanout::run(members, room, setup.timing).await?;
            let mut row = Row::new(
                &format!("fanout: room of {size}, {senders} senders (latency: send -> receive)"),
                store,
                size,
                &run.deliveries,
                (before, server.usage()),
                seconds,
            );
            row.throughput = run.persisted.rate();
            row.deliveries_per_second = Some(run.deliveries.rate());
            rows.push(row.against(&format!("raw sqlx INSERT, {senders} writers"), baseline.rate(), "report"));
        }
        server.stop().await;
    }
    Ok(rows)
}

/// Fan-out per core (#33 item 2), see [`broadcast`]: a room of
/// `setup.broadcast` members on SQLite, the server on its default layout
/// (a pinned per-core worker per core) over TLS. Rows: `max` (deliveries per
/// server CPU-second against the target), `half` (its p99), `10/s` (write
/// calls per delivery).
async fn broadcast(setup: &Setup) -> Result<Vec<Row>> {
    use futures_util::TryStreamExt;
    let size = setup.broadcast;
    let cores = pin::allowed().len().max(1);
    // TLS, a pinned worker per core: the product's default layout.
    let server = Process::specserve_workers(&setup.sqlite, true, cores, true, setup.layout.as_ref()).await?;
    let target = target_of(&server);
    eprintln!("broadcast: registering {size} users");
    let users: Vec<(i64, String)> = futures_util::stream::iter(0..size)
        .map(|n| {
            let target = target.clone();
            async move { user(&target, &format!("broadcast-{n}@example.com")).await }
        })
        .buffered(4)
        .try_collect()
        .await?;
    let (ids, tokens): (Vec<i64>, Vec<String>) = users.into_iter().unzip();
    // room/create takes up to 100 members; room/addMember the rest.
    let first = (size - 1).min(100);
    let room = fanout::room(&target, &tokens[0], &ids[1..=first], "broadcast").await?;
    broadcast::add_members(&target, &tokens[0], room, &ids[first + 1..]).await?;
    eprintln!("broadcast: connecting {size} members over TLS");
    let publisher = target.connect(Some(&tokens[0])).await?;
    let mut members = Vec::with_capacity(size - 1);
    for token in &tokens[1..] {
        members.push(target.connect(Some(token)).await?);
    }
    eprintln!("measuring: broadcast, room of {size}: {}", broadcast::PHASES.join(", then "));
    let phases = broadcast::run(&server, publisher, members, room, setup.timing.duration).await?;
    server.stop().await;
    let mut rows = Vec::new();
    for (name, phase) in broadcast::PHASES.iter().zip(&phases) {
        let mut row = Row::new(
            &format!("broadcast: room of {size}, 1 publisher, {name} (latency: scheduled send -> receive)"),
            "sqlite",
            size,
            &phase.deliveries,
            phase.usage,
            phase.seconds,
        );
        row.throughput = phase.messages_per_second;
        row.deliveries_per_second = Some(phase.deliveries.rate());
        row.server_us_per_op = Some(1e6 / phase.deliveries_per_cpu_second().max(1e-9));
        let (baseline, value, target) = match *name {
            "max" => ("deliveries per server CPU-second", phase.deliveries_per_cpu_second(), ">= 250000"),
            "half" => ("p99 ms at half the highest rate", phase.deliveries.ms(0.99), "<= 5 ms"),
            _ => ("write calls per delivery", phase.writes_per_delivery(), "<= 0.3"),
        };
        let mut row = row.against(baseline, 0.0, target);
        row.ratio = value;
        rows.push(row);
    }
    Ok(rows)
}

/// Fan-out across two nodes: the same rooms as `fanout` on MariaDB, their
/// members alternating between two servers joined by a NATS server this run
/// starts, against the same room on one server without a bus (the
/// single-node `fanout` figure), in this run; where each run's CPU goes per
/// message stored, by party; and the added latency of the hop between nodes.
async fn cluster(setup: &Setup) -> Result<Vec<Row>> {
    let Some(url) = setup.mysql.clone() else {
        eprintln!("note: the cluster scenario needs MariaDB (nodes share a database); skipped");
        return Ok(Vec::new());
    };
    let Some(nats) = child::Nats::start().await? else {
        eprintln!("note: nats-server is not installed; the cluster scenario is skipped");
        return Ok(Vec::new());
    };
    let a = Process::specserve_in_cluster(&url, &nats, setup.layout.as_ref()).await?;
    let b = Process::specserve_in_cluster(&url, &nats, setup.layout.as_ref()).await?;
    let single_node = Process::specserve(&url, false, setup.layout.as_ref()).await?;
    let (target_a, target_b, target_single) = (target_of(&a), target_of(&b), target_of(&single_node));
    let (both, one) = ([target_a.clone(), target_b.clone()], std::slice::from_ref(&target_single));
    let database = child::database_pid();
    let seconds = (setup.timing.warmup + setup.timing.duration).as_secs_f64();
    // Runs `rooms` (each a room and its members' tokens) at once on
    // `targets`, one sender per room or up to 8 when there is one room; what
    // they did, and the CPU per message stored of `nodes`, the bus and the
    // database meanwhile. Connecting is not measured.
    let measured = async |targets: &[Target], nodes: &[&Process], rooms: &[(i64, Vec<String>)]| {
        let senders = if rooms.len() == 1 { rooms[0].1.len().min(8) } else { 1 };
        let mut connected = Vec::with_capacity(rooms.len());
        for (room, tokens) in rooms {
            connected.push((*room, fanout::connect(targets, tokens, senders).await?));
        }
        let before = (PartiesCpu::now(nodes, &nats, database), nodes_usage(nodes));
        let runs = connected.into_iter().map(|(room, members)| fanout::run(members, room, setup.timing));
        let mut total = fanout::Fanout { persisted: Stats::empty(), deliveries: Stats::empty() };
        for run in futures_util::future::join_all(runs).await {
            let run = run?;
            total.persisted.add(&run.persisted);
            total.deliveries.add(&run.deliveries);
        }
        total.persisted.seconds = setup.timing.duration.as_secs_f64();
        total.deliveries.seconds = setup.timing.duration.as_secs_f64();
        // Messages during the warm-up are not counted; assume the same rate.
        let cpu =
            PartiesCpu::now(nodes, &nats, database).per_message_since(&before.0, total.persisted.rate() * seconds);
        Ok::<_, anyhow::Error>((total, cpu, (before.1, nodes_usage(nodes))))
    };
    let largest = setup.room_sizes.iter().copied().max().unwrap_or(2);
    let mut users = Vec::with_capacity(largest);
    for n in 0..largest {
        users.push(user(&target_a, &format!("cluster-{n}@example.com")).await?);
    }
    let mut rows = Vec::new();
    for &size in &setup.room_sizes {
        let (ids, tokens): (Vec<i64>, Vec<String>) = users[..size].iter().cloned().unzip();
        let room = fanout::room(&target_a, &tokens[0], &ids[1..], &format!("cluster {size}")).await?;
        let rooms = [(room, tokens)];
        let (single, single_cpu, _) = measured(one, &[&single_node], &rooms).await?;
        let (run, cpu, usage) = measured(&both, &[&a, &b], &rooms).await?;
        let senders = size.min(8);
        let mut row = Row::new(
            &format!("cluster: room of {size} on 2 nodes, {senders} senders (latency: send -> receive)"),
            "mariadb",
            size,
            &run.deliveries,
            usage,
            seconds,
        );
        row.throughput = run.deliveries.rate();
        row.deliveries_per_second = Some(run.deliveries.rate());
        row.parties = Some(((run.persisted.rate(), cpu), (single.persisted.rate(), single_cpu)));
        rows.push(row.against(
            "fanout: the same room on one node, no bus (deliveries/s)",
            single.deliveries.rate(),
            "report",
        ));
    }
    // Many rooms at once (#33 item 3: two nodes against one on many rooms):
    // rooms of 4, one sender each, members alternating between the nodes.
    const MEMBERS: usize = 4;
    let count = (users.len() / MEMBERS).min(8);
    if count >= 2 {
        let mut rooms = Vec::with_capacity(count);
        for (n, group) in users.chunks(MEMBERS).take(count).enumerate() {
            let (ids, tokens): (Vec<i64>, Vec<String>) = group.iter().cloned().unzip();
            let room = fanout::room(&target_a, &tokens[0], &ids[1..], &format!("cluster many {n}")).await?;
            rooms.push((room, tokens));
        }
        let (single, single_cpu, _) = measured(one, &[&single_node], &rooms).await?;
        let (two, cpu, usage) = measured(&both, &[&a, &b], &rooms).await?;
        let mut row = Row::new(
            &format!("cluster: {count} rooms of {MEMBERS} on 2 nodes, 1 sender each (latency: send -> receive)"),
            "mariadb",
            count * MEMBERS,
            &two.deliveries,
            usage,
            seconds,
        );
        row.throughput = two.deliveries.rate();
        row.deliveries_per_second = Some(two.deliveries.rate());
        row.parties = Some(((two.persisted.rate(), cpu), (single.persisted.rate(), single_cpu)));
        rows.push(row.against("the same rooms on one node, no bus (deliveries/s)", single.deliveries.rate(), ">= 1.7"));
    }
    // The hop (#33 item 3: <= 1 ms added p99): one sender on node A at a
    // fixed rate far below saturation; the p99 of the members on node B
    // against that of the members on A, in the same run.
    const HOP_RATE: f64 = 200.0;
    let size = setup.room_sizes.iter().copied().filter(|&s| s >= 3).min().unwrap_or(3).min(users.len());
    if size >= 3 {
        let (ids, tokens): (Vec<i64>, Vec<String>) = users[..size].iter().cloned().unzip();
        let room = fanout::room(&target_a, &tokens[0], &ids[1..], &format!("cluster hop {size}")).await?;
        let before = nodes_usage(&[&a, &b]);
        let by_node = fanout::fixed_rate(&both, &tokens, room, HOP_RATE, setup.timing).await?;
        let (same, other) = (&by_node[0], &by_node[1]);
        let mut row = Row::new(
            &format!(
                "cluster: the hop, room of {size}, 1 sender at {HOP_RATE:.0} msg/s (latency: scheduled send -> receive on the other node)"
            ),
            "mariadb",
            size,
            other,
            (before, nodes_usage(&[&a, &b])),
            seconds,
        );
        row.deliveries_per_second = Some(other.rate());
        let mut row = row.against("added p99 ms: the sender's node's members, same run", same.rate(), "<= 1 ms");
        row.ratio = other.ms(0.99) - same.ms(0.99);
        rows.push(row);
    }
    a.stop().await;
    b.stop().await;
    single_node.stop().await;
    Ok(rows)
}

/// Nodes' usage as one: their CPU and write calls added, the largest RSS.
fn nodes_usage(nodes: &[&Process]) -> Usage {
    nodes.iter().map(|node| node.usage()).fold(Usage::default(), |total, node| Usage {
        cpu_seconds: total.cpu_seconds + node.cpu_seconds,
        rss_kib: total.rss_kib.max(node.rss_kib),
        write_syscalls: total.write_syscalls + node.write_syscalls,
    })
}

fn print_table(rows: &[Row]) {
    println!("{}", markdown(rows));
    if let Some(table) = cpu_table(rows) {
        println!("{table}");
    }
    if let Some(table) = targets(rows) {
        println!("{table}");
    }
    if let Some(table) = cluster_table(rows) {
        println!("{table}");
    }
}

/// The CPU table's name for [`PlacedBaseline`].
const PLACED_BASELINE: &str = "raw sqlx on the server's cores";

/// #14's CPU targets from the rows of this run: server CPU per read against
/// 1.2 x (the raw sqlx client's CPU per select + the echo server's CPU per
/// message, same C), and CPU per read and per reject on 2 cores against 1.
fn targets(rows: &[Row]) -> Option<String> {
    let mut lines = String::new();
    let verdict = |met: bool| if met { "met" } else { "not met" };
    for read in rows.iter().filter(|r| r.scenario == "read" || r.scenario.starts_with("scaling: read")) {
        let Some((run, baseline)) = &read.cpu_per_op else { continue };
        let Some(echo) = rows
            .iter()
            .filter(|r| r.connections == read.connections && r.cores == read.cores)
            .find_map(|r| r.baseline_server_us_per_op)
        else {
            continue;
        };
        let clients = [
            Some(("sqlx client", baseline.load_us)),
            read.placed_baseline.as_ref().map(|placed| (PLACED_BASELINE, placed.cpu_per_op.server_us)),
        ];
        for (client, client_us) in clients.into_iter().flatten() {
            let bound = 1.2 * (client_us + echo);
            lines.push_str(&format!(
                "| server CPU per read <= 1.2 x ({client} {client_us:.1} + echo server {echo:.1}) | {} {} C={} {} | {:.1} µs | {bound:.1} µs | {} |\n",
                read.scenario,
                read.store,
                read.connections,
                read.cores.as_deref().unwrap_or("unpinned"),
                run.server_us,
                verdict(run.server_us <= bound),
            ));
        }
    }
    for what in ["read", PER_CORE_READ, "reject"] {
        let on = |cores: &str| {
            rows.iter()
                .filter(|r| r.scenario == format!("scaling: {what}, server on {cores}"))
                .map(|r| (r.store.clone(), r.server_us_per_op.unwrap_or(0.0)))
                .collect::<Vec<_>>()
        };
        for ((store, one), (_, two)) in on("1 core").into_iter().zip(on("2 cores")) {
            let ratio = if one > 0.0 { two / one } else { 0.0 };
            lines.push_str(&format!(
                "| server CPU per {what} on 2 cores <= 1.1 x on 1 core | {store} | {two:.1} µs (1 core: {one:.1}) | {:.1} µs | {} (x{ratio:.2}) |\n",
                1.1 * one,
                verdict(ratio <= 1.1),
            ));
        }
    }
    (!lines.is_empty())
        .then(|| "| target | run | measured | bound | verdict |\n|---|---|---|---|---|\n".to_owned() + &lines)
}

fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | store | C | ops/s | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | baseline | baseline ops/s | ratio | target | server CPU % | server RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.0} | {:.2} | {} | {:.0} | {:.1} |\n",
            r.scenario,
            r.store,
            r.connections,
            r.throughput,
            r.deliveries_per_second.map_or("-".to_owned(), |d| format!("{d:.0}")),
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms,
            r.baseline,
            r.baseline_throughput,
            r.ratio,
            r.target,
            r.server_cpu_percent,
            r.server_rss_mib
        ));
    }
    out
}

/// Where the CPU goes in `read`, per operation: with a saturated machine the
/// throughput ratio is roughly the inverse ratio of the totals. `None` when no
/// row measured it (no `read` in this run).
fn cpu_table(rows: &[Row]) -> Option<String> {
    let line = |run: &str, r: &Row, rate: f64, cpu: &CpuPerOp| {
        let database = cpu.database_us.map_or("in-process".to_owned(), |d| format!("{d:.1}"));
        let total = cpu.load_us + cpu.server_us + cpu.database_us.unwrap_or(0.0);
        let database_sleeps = cpu.database_sleeps.map_or("-".to_owned(), |d| format!("{d:.2}"));
        format!(
            "| {run} ({}) | {} | {} | {rate:.0} | {:.1} | {:.1} | {database} | {total:.1} | {:.2} | {:.2} | {database_sleeps} |\n",
            r.scenario, r.store, r.connections, cpu.load_us, cpu.server_us, cpu.load_sleeps, cpu.server_sleeps
        )
    };
    let lines: String = rows
        .iter()
        .filter_map(|r| {
            let (run, baseline) = r.cpu_per_op.as_ref()?;
            let placed = r
                .placed_baseline
                .as_ref()
                .map_or(String::new(), |placed| line(PLACED_BASELINE, r, placed.throughput, &placed.cpu_per_op));
            Some(
                line("specserve", r, r.throughput, run)
                    + &line("raw sqlx", r, r.baseline_throughput, baseline)
                    + &placed,
            )
        })
        .collect();
    (!lines.is_empty()).then(|| {
        "| read | store | C | ops/s | load generator µs/op | server (or sqlx client) µs/op | database µs/op | total µs/op | load sleeps/op | server sleeps/op | database sleeps/op |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
            .to_owned()
            + &lines
    })
}

/// Where the CPU goes in `cluster`, per message stored: each room on two
/// nodes and on one. The machine is saturated, so what the second node, the
/// bus and the extra database work add per message is what the throughput
/// ratio loses.
fn cluster_table(rows: &[Row]) -> Option<String> {
    let lines: String = rows
        .iter()
        .filter_map(|r| {
            let ((rate, two), (single_rate, one)) = r.parties.as_ref()?;
            let room = r.scenario.trim_start_matches("cluster: ").split(" (").next().unwrap_or(&r.scenario);
            let line = |run: &str, rate: f64, cpu: &PartiesPerMessage| {
                format!(
                    "| {room} | {run} | {rate:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
                    cpu.load_us,
                    cpu.nodes_us,
                    cpu.bus_us,
                    cpu.database_us,
                    cpu.total_us()
                )
            };
            Some(line("one node", *single_rate, one) + &line("two nodes", *rate, two))
        })
        .collect();
    (!lines.is_empty()).then(|| {
        "| cluster | run | messages stored/s | load generator µs/msg | specserve node(s) µs/msg | NATS µs/msg | MariaDB µs/msg | total µs/msg |\n|---|---|---|---|---|---|---|---|\n"
            .to_owned()
            + &lines
    })
}

/// Server CPU per read in `sharded`: each shape against one process with
/// a work-stealing runtime.
fn sharded_table(rows: &[Row]) -> Option<String> {
    let lines: String = rows
        .iter()
        .filter(|r| r.scenario.starts_with("sharded: ") && !r.scenario.contains(WORK_STEALING))
        .filter_map(|r| {
            let (shape, stealing) = (r.server_us_per_op?, r.baseline_server_us_per_op?);
            let name = r.scenario.trim_start_matches("sharded: read, ");
            Some(format!(
                "| {} | {} | {name} | {stealing:.1} µs | {shape:.1} µs | x{:.2} | x{:.2} |\n",
                r.store,
                r.connections,
                shape / stealing,
                r.ratio
            ))
        })
        .collect();
    (!lines.is_empty()).then(|| {
        "| store | C | shape | server CPU per read: work-stealing | this shape | CPU ratio | ops/s ratio |\n|---|---|---|---|---|---|---|\n"
            .to_owned()
            + &lines
    })
}

fn write_results(dir: &std::path::Path, rows: &[Row], quick: bool) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let machine = json!({
        "cores": std::thread::available_parallelism().map_or(0, usize::from),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "quick": quick,
    });
    let json = serde_json::to_string_pretty(&json!({"machine": machine, "rows": rows}))?;
    std::fs::write(dir.join("latest.json"), json + "\n")?;
    let mut md = format!(
        "# specserve benchmark\n\nMachine: {} cores, {} {}. Ratios compare against baselines run in the same process and run.\n\n{}",
        machine["cores"],
        machine["os"],
        machine["arch"],
        markdown(rows)
    );
    if let Some(table) = cpu_table(rows) {
        md.push_str(&format!(
            "\nCPU and sleeps (voluntary context switches: a thread blocked to wait, later woken) per operation in `read` (the machine is saturated, so throughput follows the CPU totals):\n\n{table}"
        ));
    }
    if let Some(table) = targets(rows) {
        md.push_str(&format!("\nCPU targets (#14), from the rows above:\n\n{table}"));
    }
    if let Some(table) = cluster_table(rows) {
        md.push_str(&format!("\nCPU per message stored in `cluster`, by party (the machine is saturated: the totals set the throughput):\n\n{table}"));
    }
    if let Some(table) = sharded_table(rows) {
        md.push_str(&format!("\nShare-nothing against work-stealing on the same cores (`sharded`):\n\n{table}"));
    }
    let layouts: Vec<&str> = rows.iter().filter_map(|r| r.cores.as_deref()).collect();
    if !layouts.is_empty() {
        let mut layouts = layouts;
        layouts.dedup();
        md.push_str(&format!("\nCore layouts used: {}.\n", layouts.join("; ")));
    }
    std::fs::write(dir.join("latest.md"), md)?;
    eprintln!("results written to {}", dir.display());
    Ok(())
}
