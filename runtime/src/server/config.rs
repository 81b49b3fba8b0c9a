//! Server settings: where to listen, how to do TLS, and every limit, with the
//! defaults an internet-facing deployment should start from.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::Workers;

/// How the listener speaks TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSetup {
    /// A self-signed certificate made at start-up and kept in memory; its
    /// SHA-256 fingerprint is logged. For tests and benchmarks.
    SelfSigned,
    /// A self-signed certificate kept in a folder (`cert.pem`, `key.pem`):
    /// made on the first start, reused after, so clients can trust the file
    /// (`NODE_EXTRA_CA_CERTS`) and a restart does not change it.
    SelfSignedIn(PathBuf),
    /// PEM certificate chain and private key files.
    Files {
        /// Certificate chain (PEM).
        cert: PathBuf,
        /// Private key (PEM).
        key: PathBuf,
    },
    /// Plain `ws://`, for use behind a TLS-terminating proxy only.
    Plaintext,
}

/// Per-connection and global limits. Every one is enforced and tested.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest WebSocket message or frame; larger closes with 1009.
    pub max_message_bytes: usize,
    /// Deadline for the TLS handshake after TCP accept.
    pub tls_handshake_timeout: Duration,
    /// Deadline for an HTTP request's headers (an upgrade, a probe, a POST),
    /// after the TLS handshake or the previous request.
    pub upgrade_timeout: Duration,
    /// Deadline for a request's body, once its headers came: a client that
    /// trickles a POST body gets 408 and loses the connection, rather than
    /// holding it past every cap.
    pub http_body_timeout: Duration,
    /// How often the server pings an open socket.
    pub ping_interval: Duration,
    /// How long after a ping a silent client is closed (1001).
    pub pong_timeout: Duration,
    /// Replies waiting to be written per connection; while it is full the
    /// connection stops reading (back-pressure).
    pub outbound_queue: usize,
    /// Events (server push) waiting for a connection; a connection whose queue
    /// is full when an event comes is closed as a slow consumer (1008).
    pub event_queue: usize,
    /// How long a socket may accept nothing while replies wait before the
    /// client is closed as a slow consumer (1008).
    pub send_timeout: Duration,
    /// Frames dispatched concurrently per connection (replies still go out in order).
    pub max_in_flight: usize,
    /// Open WebSocket connections in all; more get 503 at upgrade.
    pub max_connections: usize,
    /// Open WebSocket connections per client IP; more get 503 at upgrade.
    pub max_connections_per_ip: usize,
    /// Sustained frames per second per connection (token bucket refill rate).
    pub frames_per_second: f64,
    /// Frames a connection may send in a burst.
    pub frame_burst: f64,
    /// Refused (rate-limited) frames within `rate_limit_window` after which the
    /// connection is closed (1008).
    pub rate_limit_strikes: u32,
    /// The window of `rate_limit_strikes`.
    pub rate_limit_window: Duration,
    /// How long graceful shutdown may take before connections are dropped.
    pub shutdown_timeout: Duration,
    /// After the server sends a close frame, how long it waits for the client's
    /// close reply before dropping the socket (waiting lets the client read the
    /// close frame before the TCP connection goes).
    pub close_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 * 1024,
            tls_handshake_timeout: Duration::from_secs(10),
            upgrade_timeout: Duration::from_secs(10),
            http_body_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(25),
            pong_timeout: Duration::from_secs(10),
            outbound_queue: 64,
            event_queue: 256,
            send_timeout: Duration::from_secs(10),
            max_in_flight: 16,
            max_connections: 10_000,
            max_connections_per_ip: 100,
            frames_per_second: 50.0,
            frame_burst: 100.0,
            rate_limit_strikes: 50,
            rate_limit_window: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(2),
        }
    }
}

/// Documents the server serves beside the API: the spec at `/asyncapi.yaml`
/// and its HTML docs at `/docs` (404 when absent).
#[derive(Debug, Clone, Default)]
pub struct Assets {
    /// The AsyncAPI document.
    pub spec_yaml: Option<&'static str>,
    /// The HTML documentation page.
    pub docs_html: Option<&'static str>,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind.
    pub listen: SocketAddr,
    /// TLS mode.
    pub tls: TlsSetup,
    /// Limits and timeouts.
    pub limits: Limits,
    /// Browser origins allowed to upgrade (exact match); empty allows any.
    pub allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// The spec and docs to serve.
    pub assets: Assets,
    /// Where connections register for server push; share it with the
    /// application's publisher.
    pub hub: crate::hub::Hub,
    /// Bind with `SO_REUSEPORT`, so several processes (or runtimes) share
    /// the port and the kernel spreads connections over them: share-nothing
    /// serving, measured by the bench's `sharded` scenario. Events reach
    /// another process's connections only through a cluster bus.
    pub reuse_port: bool,
    /// Which threads serve connections: the caller's runtime, or a
    /// single-threaded runtime per worker thread ([`Workers`]).
    pub workers: Workers,
}

impl ServerConfig {
    /// Defaults for `listen`: self-signed TLS, default limits, any origin, no assets.
    pub fn new(listen: SocketAddr) -> Self {
        ServerConfig {
            listen,
            tls: TlsSetup::SelfSigned,
            limits: Limits::default(),
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            assets: Assets::default(),
            hub: crate::hub::Hub::new(),
            reuse_port: false,
            workers: Workers::Caller,
        }
    }
}
