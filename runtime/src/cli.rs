//! The server's flags as clap argument groups, for binaries built on the
//! runtime (specserve's own and every scaffold): where to listen, TLS, and
//! every limit as a flag and an environment variable. The defaults live in
//! [`Limits::default`] only; the flags show them and convert once.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::server::{Assets, Limits, Server, ServerConfig, TlsSetup, Workers, shutdown};

/// For a command that prints (not `serve`): output piped into `head`,
/// `grep -q` and the like ends the process quietly once the reader is gone,
/// as other command-line tools do, instead of panicking at the next
/// `println!` (Rust starts programs with SIGPIPE ignored). Sockets are
/// unaffected: on Linux they are written with `MSG_NOSIGNAL` and report a
/// closed peer as an error.
pub fn end_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition before the command's
    // work starts has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A duration written the way operators do (`10s`, `500ms`, `7days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl FromStr for HumanDuration {
    type Err = humantime::DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s).map(HumanDuration)
    }
}

/// A count that must be at least 1 (a queue of 0 would never let a reply out).
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(error) => Err(error.to_string()),
    }
}

fn server() -> Limits {
    Limits::default()
}

/// Log line format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Where and how to serve (`serve --help`).
#[derive(Args, Clone, Debug)]
pub struct ServerArgs {
    /// Address and port to listen on (HTTP probes and the WebSocket share it).
    #[arg(long, env = "SPECSERVE_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// TLS certificate chain (PEM). Without --tls-cert/--tls-key a self-signed certificate is made.
    #[arg(long, env = "SPECSERVE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "SPECSERVE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Where the self-signed certificate is kept (cert.pem, key.pem) when no
    /// --tls-cert is given: made on the first start, reused after.
    #[arg(long, env = "SPECSERVE_SELF_SIGNED_DIR", default_value = "specserve-tls")]
    pub self_signed_dir: PathBuf,
    /// Serve plain ws:// (only behind a TLS-terminating proxy).
    #[arg(long, env = "SPECSERVE_INSECURE_PLAINTEXT", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub insecure_plaintext: bool,
    /// Browser Origin allowed to connect (exact; repeat or comma-separate). None given: any.
    #[arg(long = "allowed-origin", env = "SPECSERVE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Proxy address whose X-Forwarded-For is believed (repeat or comma-separate).
    #[arg(long = "trusted-proxy", env = "SPECSERVE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    /// Log format.
    #[arg(long, env = "SPECSERVE_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,
    /// `N`: serve on N worker threads, each with a single-threaded runtime,
    /// its own listener on the shared port (SO_REUSEPORT) and its own database
    /// connections, so a connection stays on one thread (thread-per-core;
    /// Unix). `auto` (the default): one pinned worker per core the process
    /// may use, on Linux with two or more, else as `work-stealing`: one
    /// work-stealing runtime on every core.
    #[arg(long, env = "SPECSERVE_WORKERS", default_value = "auto")]
    pub workers: WorkerCount,
    /// Keep each of `--workers N`'s threads (and the threads it starts, such
    /// as SQLite's connection threads) on a core of its own, the first cores
    /// of those the process may use: give two pinned servers on one machine
    /// different cores with `taskset`. Linux only; at most one per core.
    /// (`auto` pins always.)
    #[arg(long, env = "SPECSERVE_PIN_WORKERS")]
    pub pin_workers: bool,
    /// Every connection limit.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `--workers`: how the server's threads are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerCount {
    /// Pinned per-core workers where there are cores to pin to, else work-stealing.
    Auto,
    /// One work-stealing runtime on every core.
    WorkStealing,
    /// This many per-core workers.
    Count(NonZeroUsize),
}

impl FromStr for WorkerCount {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(WorkerCount::Auto),
            "work-stealing" => Ok(WorkerCount::WorkStealing),
            count => count
                .parse::<NonZeroUsize>()
                .map(WorkerCount::Count)
                .map_err(|_| format!("`{count}` is not `auto`, `work-stealing` or a number of workers (1 or more)")),
        }
    }
}

/// `--workers auto`: a pinned worker per core the process may use, where
/// that is measured to be better (bench/README: 1.23x reads/s on MariaDB,
/// 1.57x on SQLite against work-stealing on 2 cores); on one core, or where
/// threads cannot be pinned, one work-stealing runtime.
fn auto_workers() -> Workers {
    let cores = crate::server::affinity::allowed().map_or(0, |cores| cores.len());
    match NonZeroUsize::new(cores).filter(|count| count.get() >= 2 && cfg!(unix)) {
        Some(count) => Workers::PerCore { count, pinned: true },
        None => Workers::Caller,
    }
}

impl ServerArgs {
    /// The server's configuration (no assets; the hub is new).
    pub fn to_config(&self) -> ServerConfig {
        let tls = match (&self.tls_cert, &self.tls_key, self.insecure_plaintext) {
            (_, _, true) => TlsSetup::Plaintext,
            (Some(cert), Some(key), false) => TlsSetup::Files { cert: cert.clone(), key: key.clone() },
            _ => TlsSetup::SelfSignedIn(self.self_signed_dir.clone()),
        };
        ServerConfig {
            limits: self.limits.to_limits(),
            tls,
            allowed_origins: self.allowed_origins.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            assets: Assets::default(),
            workers: match self.workers {
                WorkerCount::Auto => auto_workers(),
                WorkerCount::WorkStealing => Workers::Caller,
                WorkerCount::Count(count) => Workers::PerCore { count, pinned: self.pin_workers },
            },
            ..ServerConfig::new(self.listen)
        }
    }
}

/// Logs to stderr in `format`, at the level `RUST_LOG` says (default `info`).
pub fn init_logging(format: LogFormat) {
    // The NATS client logs every failed reconnect attempt itself; the
    // cluster logs each change of the link once instead.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,async_nats=off".into());
    // Colours only for a person at a terminal, never into files or pipes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A log reader that went away must not take the server with it: by
    // default a failed write is reported with `eprintln!`, which panics on a
    // closed stderr, inside whichever connection was logging.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .log_internal_errors(false);
    // A second call (tests starting several servers) keeps the first subscriber.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Logs where `server` listens (and the self-signed certificate's fingerprint),
/// then serves until SIGTERM or ctrl-c. Returns whether it drained in time.
pub async fn serve_until_signal(server: Server) -> bool {
    if server.certificate().is_none() {
        tracing::warn!("serving plain ws:// (--insecure-plaintext): only behind a TLS-terminating proxy");
    } else if let (Some(fingerprint), Some(file)) = (server.fingerprint(), server.certificate_file()) {
        tracing::info!(
            certificate = %file.display(),
            %fingerprint,
            "self-signed TLS certificate: clients trust that file (NODE_EXTRA_CA_CERTS={}) or pin its SHA-256; pass --tls-cert/--tls-key for a real one",
            file.display()
        );
    } else if let Some(fingerprint) = server.fingerprint() {
        tracing::info!(%fingerprint, "TLS certificate (SHA-256)");
    }
    // The handlers first: a signal sent once "listening" is read must find them.
    shutdown::on_signal(server.shutdown_token());
    if let Some(tls) = server.tls() {
        reload_on_hangup(tls.clone(), server.shutdown_token());
    }
    tracing::info!(url = %server.url(), docs = %server.docs_url(), workers = server.workers(), "listening");
    let drained = server.wait().await;
    if drained {
        tracing::info!("shut down cleanly");
    } else {
        tracing::warn!("shutdown deadline passed; remaining connections were dropped");
    }
    drained
}

/// Reads the TLS certificate and key again on every SIGHUP (a renewed
/// certificate, without dropping a connection), until shutdown. A pair that
/// does not load is logged and the current one kept.
fn reload_on_hangup(tls: crate::server::tls::ServerTls, shutdown: tokio_util::sync::CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // Registered before "listening" is logged: SIGHUP's default would end the process.
        let Ok(mut hangups) = signal(SignalKind::hangup()) else { return };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                _ = shutdown.cancelled() => return,
                    Some(()) = hangups.recv() => match tls.reload() {
                        Ok(fingerprint) => tracing::info!(%fingerprint, "TLS certificate reloaded (SIGHUP)"),
                        Err(error) => tracing::warn!(%error, "TLS certificate not reloaded (SIGHUP): the current one stays"),
                    },
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (tls, shutdown);
}

/// Connection and transport limits (`specserve serve --help`, "Limits").
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Connection limits")]
pub struct LimitArgs {
    /// Largest WebSocket message or frame in bytes; larger closes with 1009.
    #[arg(long, env = "SPECSERVE_MAX_MESSAGE_BYTES", default_value_t = server().max_message_bytes)]
    pub max_message_bytes: usize,
    /// Deadline for the TLS handshake.
    #[arg(long, env = "SPECSERVE_TLS_HANDSHAKE_TIMEOUT", default_value_t = HumanDuration(server().tls_handshake_timeout))]
    pub tls_handshake_timeout: HumanDuration,
    /// Deadline for an HTTP request's headers (the upgrade, a POST) after TLS.
    #[arg(long, env = "SPECSERVE_UPGRADE_TIMEOUT", default_value_t = HumanDuration(server().upgrade_timeout))]
    pub upgrade_timeout: HumanDuration,
    /// Deadline for an HTTP request's body after its headers (408, then the connection closes).
    #[arg(long, env = "SPECSERVE_HTTP_BODY_TIMEOUT", default_value_t = HumanDuration(server().http_body_timeout))]
    pub http_body_timeout: HumanDuration,
    /// How often to ping each socket.
    #[arg(long, env = "SPECSERVE_PING_INTERVAL", default_value_t = HumanDuration(server().ping_interval))]
    pub ping_interval: HumanDuration,
    /// Close a socket that has not answered a ping within this (1001).
    #[arg(long, env = "SPECSERVE_PONG_TIMEOUT", default_value_t = HumanDuration(server().pong_timeout))]
    pub pong_timeout: HumanDuration,
    /// Replies queued per connection; while full, the connection stops reading.
    #[arg(long, env = "SPECSERVE_OUTBOUND_QUEUE", default_value_t = server().outbound_queue, value_parser = at_least_one)]
    pub outbound_queue: usize,
    /// Events queued per connection; a connection whose queue is full when an event comes is closed (1008).
    #[arg(long, env = "SPECSERVE_EVENT_QUEUE", default_value_t = server().event_queue, value_parser = at_least_one)]
    pub event_queue: usize,
    /// Close a client (1008) whose socket accepts nothing for this long while replies wait.
    #[arg(long, env = "SPECSERVE_SEND_TIMEOUT", default_value_t = HumanDuration(server().send_timeout))]
    pub send_timeout: HumanDuration,
    /// Frames dispatched concurrently per connection (replies stay in order).
    #[arg(long, env = "SPECSERVE_MAX_IN_FLIGHT", default_value_t = server().max_in_flight, value_parser = at_least_one)]
    pub max_in_flight: usize,
    /// Open WebSocket connections in all; more get 503.
    #[arg(long, env = "SPECSERVE_MAX_CONNECTIONS", default_value_t = server().max_connections)]
    pub max_connections: usize,
    /// Open WebSocket connections per client IP; more get 503.
    #[arg(long, env = "SPECSERVE_MAX_CONNECTIONS_PER_IP", default_value_t = server().max_connections_per_ip)]
    pub max_connections_per_ip: usize,
    /// Sustained frames (text, binary or ping) per second per connection.
    #[arg(long, env = "SPECSERVE_FRAMES_PER_SECOND", default_value_t = server().frames_per_second)]
    pub frames_per_second: f64,
    /// Frames per connection allowed in a burst.
    #[arg(long, env = "SPECSERVE_FRAME_BURST", default_value_t = server().frame_burst)]
    pub frame_burst: f64,
    /// Refused frames within --rate-limit-window before the connection is closed (1008).
    #[arg(long, env = "SPECSERVE_RATE_LIMIT_STRIKES", default_value_t = server().rate_limit_strikes)]
    pub rate_limit_strikes: u32,
    /// The window of --rate-limit-strikes.
    #[arg(long, env = "SPECSERVE_RATE_LIMIT_WINDOW", default_value_t = HumanDuration(server().rate_limit_window))]
    pub rate_limit_window: HumanDuration,
    /// How long graceful shutdown may take.
    #[arg(long, env = "SPECSERVE_SHUTDOWN_TIMEOUT", default_value_t = HumanDuration(server().shutdown_timeout))]
    pub shutdown_timeout: HumanDuration,
    /// After sending a close frame, how long to wait for the client's close reply.
    #[arg(long, env = "SPECSERVE_CLOSE_TIMEOUT", default_value_t = HumanDuration(server().close_timeout))]
    pub close_timeout: HumanDuration,
}

impl LimitArgs {
    /// The server's limits.
    pub fn to_limits(&self) -> Limits {
        Limits {
            max_message_bytes: self.max_message_bytes,
            tls_handshake_timeout: self.tls_handshake_timeout.0,
            upgrade_timeout: self.upgrade_timeout.0,
            http_body_timeout: self.http_body_timeout.0,
            ping_interval: self.ping_interval.0,
            pong_timeout: self.pong_timeout.0,
            outbound_queue: self.outbound_queue,
            event_queue: self.event_queue,
            send_timeout: self.send_timeout.0,
            max_in_flight: self.max_in_flight,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            frames_per_second: self.frames_per_second,
            frame_burst: self.frame_burst,
            rate_limit_strikes: self.rate_limit_strikes,
            rate_limit_window: self.rate_limit_window.0,
            shutdown_timeout: self.shutdown_timeout.0,
            close_timeout: self.close_timeout.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Both {
        #[command(flatten)]
        limits: LimitArgs,
    }

    fn parse(args: &[&str]) -> Both {
        Both::try_parse_from(std::iter::once("specserve").chain(args.iter().copied())).expect("flags parse")
    }

    #[test]
    fn without_flags_every_limit_is_the_documented_default() {
        assert_eq!(parse(&[]).limits.to_limits(), Limits::default());
    }

    #[test]
    fn every_limit_flag_reaches_the_configuration() {
        let both = parse(&[
            "--max-message-bytes=1000",
            "--tls-handshake-timeout=1s",
            "--upgrade-timeout=2s",
            "--ping-interval=3s",
            "--pong-timeout=4s",
            "--outbound-queue=5",
            "--event-queue=55",
            "--send-timeout=6s",
            "--max-in-flight=7",
            "--max-connections=8",
            "--max-connections-per-ip=9",
            "--frames-per-second=10",
            "--frame-burst=11",
            "--rate-limit-strikes=12",
            "--rate-limit-window=13s",
            "--shutdown-timeout=14s",
            "--close-timeout=1500ms",
            "--http-body-timeout=16s",
        ]);
        let secs = Duration::from_secs;
        // Struct literals: a limit added without a flag fails to compile here.
        assert_eq!(
            both.limits.to_limits(),
            Limits {
                max_message_bytes: 1000,
                tls_handshake_timeout: secs(1),
                upgrade_timeout: secs(2),
                http_body_timeout: secs(16),
                ping_interval: secs(3),
                pong_timeout: secs(4),
                outbound_queue: 5,
                event_queue: 55,
                send_timeout: secs(6),
                max_in_flight: 7,
                max_connections: 8,
                max_connections_per_ip: 9,
                frames_per_second: 10.0,
                frame_burst: 11.0,
                rate_limit_strikes: 12,
                rate_limit_window: secs(13),
                shutdown_timeout: secs(14),
                close_timeout: Duration::from_millis(1500),
            }
        );
    }

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        server: ServerArgs,
    }

    #[test]
    fn workers_choose_per_core_runtimes_and_zero_is_refused() {
        let serve = |args: &[&str]| Serve::try_parse_from(std::iter::once("specserve").chain(args.iter().copied()));
        let cores = crate::server::affinity::allowed().map_or(0, |cores| cores.len());
        let auto = serve(&[]).expect("no flags").server.to_config().workers;
        match NonZeroUsize::new(cores).filter(|n| n.get() >= 2) {
            Some(count) => assert_eq!(auto, Workers::PerCore { count, pinned: true }, "a pinned worker per core"),
            None => assert_eq!(auto, Workers::Caller, "one core: nothing to spread"),
        }
        let stealing = serve(&["--workers=work-stealing"]).expect("work-stealing").server.to_config().workers;
        assert_eq!(stealing, Workers::Caller);
        let count = NonZeroUsize::new(2).expect("2 is not zero");
        let two = serve(&["--workers=2"]).expect("--workers=2").server.to_config().workers;
        assert_eq!(two, Workers::PerCore { count, pinned: false });
        let pinned = serve(&["--workers=2", "--pin-workers"]).expect("--pin-workers").server.to_config().workers;
        assert_eq!(pinned, Workers::PerCore { count, pinned: true });
        assert!(serve(&["--workers=0"]).is_err(), "zero workers would serve nothing");
        assert!(serve(&["--workers=many"]).is_err());
        assert!(serve(&["--workers=auto"]).is_ok());
    }

    #[test]
    fn a_queue_or_in_flight_limit_of_zero_is_refused() {
        for flag in ["--outbound-queue=0", "--max-in-flight=0", "--event-queue=0"] {
            assert!(Both::try_parse_from(["specserve", flag]).is_err(), "{flag}");
        }
    }
}
