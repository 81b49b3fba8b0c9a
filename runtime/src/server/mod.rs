//! The WSS server: one port for HTTP probes and the WebSocket upgrade, TLS by
//! default, every limit enforced, graceful shutdown. It drives any generated
//! [`Service`]; it has no handler or database code of its own.
//!
//! - [`config`]  settings and limits
//! - [`tls`]  certificates (PEM or self-signed) and the TLS stream
//! - `listener`  accept, TLS handshake deadline, HTTP/1.1 with upgrades
//! - [`http`]  probes, metrics, spec, docs, upgrade admission
//! - [`connection`]  the per-socket loop
//! - [`workers`]  which threads serve: the caller's runtime, or one per core
//!   (pinned with [`affinity`])
//! - [`limits`], [`metrics`] (with the `process_*` gauges), [`shutdown`]

pub mod affinity;
pub mod close;
pub mod config;
pub mod connection;
pub mod http;
mod in_flight;
pub mod limits;
mod listener;
pub mod metrics;
mod process;
pub mod shutdown;
mod signals;
pub mod tls;
mod wake_flag;
pub mod workers;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{Assets, Limits, ServerConfig, TlsSetup};
use limits::ConnectionLimiter;
pub use metrics::Metrics;
use tls::ServerTls;
pub use workers::{Worker, Workers};

use crate::hub::Hub;
use crate::service::Service;

/// State every connection shares.
pub struct Shared<S> {
    /// The generated API over the application's handlers.
    pub service: Arc<S>,
    /// Limits and timeouts.
    pub limits: Limits,
    /// tungstenite's settings for every connection, for the limits and the transport.
    websocket: tokio_tungstenite::tungstenite::protocol::WebSocketConfig,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// What `/metrics` encodes: the counters, the process, the cluster bus.
    registry: prometheus_client::registry::Registry,
    /// Connections by channel, for server push.
    pub hub: Hub,
    assets: config::Assets,
    /// `/docs`'s Content-Security-Policy, made once from the page.
    docs_policy: String,
    limiter: Arc<ConnectionLimiter>,
    /// `--allowed-origin`: the only pages whose requests (and cookies) count.
    allowed_origins: Arc<[String]>,
    /// CORS for the application's `POST` endpoints, for those pages.
    cors: Option<tower_http::cors::CorsLayer>,
    trusted_proxies: Arc<[IpAddr]>,
    next_connection_id: AtomicU64,
    tracker: TaskTracker,
}

/// A running server.
pub struct Server {
    local_addr: SocketAddr,
    tls: Option<ServerTls>,
    paths: &'static [&'static str],
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    /// One per accept loop: whether its connections drained in time.
    stopped: Vec<oneshot::Receiver<bool>>,
    /// Per-core worker threads would outlive this value: dropping it stops
    /// them (an accept loop on the caller's runtime ends with that runtime).
    worker_threads: bool,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// Binding the port failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// Per-core workers could not be pinned to cores.
    #[error(transparent)]
    Pin(#[from] workers::PinError),
}

impl Server {
    /// Binds, sets up TLS and starts accepting. Returns once the port is open.
    pub async fn start<S: Service>(config: ServerConfig, service: Arc<S>) -> Result<Server, StartError> {
        let info = service.info();
        let tls = ServerTls::from_setup(&config.tls)?;
        let metrics = Arc::new(Metrics::new(info, config.workers.accept_loops()));
        let cookies = info.credentials.iter().any(|c| matches!(c, crate::context::CredentialSource::Cookie(_)));
        if cookies && config.allowed_origins.is_empty() {
            tracing::info!(
                "cookie sessions are off: the spec accepts them, but only from origins given with --allowed-origin"
            );
        }
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(Arc::clone(&metrics)));
        registry.register_collector(Box::new(process::Process));
        registry.register_collector(Box::new(metrics::BusMetrics(config.hub.clone())));
        let cors = http::cors(&config.allowed_origins, &service.http_methods());
        let shared = Arc::new(Shared {
            service,
            registry,
            hub: config.hub,
            docs_policy: http::docs_policy(config.assets.docs_html.unwrap_or_default()),
            assets: config.assets,
            limiter: ConnectionLimiter::new(config.limits.max_connections, config.limits.max_connections_per_ip),
            websocket: crate::websocket::server_config(config.limits.max_message_bytes, tls.is_some()),
            limits: config.limits,
            metrics: Arc::clone(&metrics),
            cors,
            allowed_origins: config.allowed_origins.into(),
            trusted_proxies: config.trusted_proxies.into(),
            next_connection_id: AtomicU64::new(1),
            tracker: TaskTracker::new(),
        });
        let shutdown = CancellationToken::new();
        let tls_config = tls.as_ref().map(|t| Arc::clone(&t.config));
        let bind_error = |source| StartError::Bind { addr: config.listen, source };
        let (local_addr, stopped) = match config.workers {
            Workers::Caller => {
                let listener = listener::bind(config.listen, config.reuse_port).map_err(bind_error)?;
                let local_addr = listener.local_addr().map_err(bind_error)?;
                let (stopped_tx, stopped) = oneshot::channel();
                let accept_loop = listener::accept_loop(listener, tls_config, shared, shutdown.clone(), 0);
                tokio::spawn(async move {
                    let _ = stopped_tx.send(accept_loop.await);
                });
                (local_addr, vec![stopped])
            }
            Workers::PerCore { count, pinned } => {
                let running = workers::start(count, pinned, config.listen, tls_config, &shared, &shutdown)
                    .await
                    .map_err(|error| match error {
                        workers::WorkerError::Io(source) => bind_error(source),
                        workers::WorkerError::Pin(error) => StartError::Pin(error),
                    })?;
                let local_addr = running.first().map_or(config.listen, |worker| worker.local_addr);
                (local_addr, running.into_iter().map(|worker| worker.stopped).collect())
            }
        };
        let worker_threads = matches!(config.workers, Workers::PerCore { .. });
        Ok(Server { local_addr, tls, paths: info.paths, metrics, shutdown, stopped, worker_threads })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL of the spec's first WebSocket path: `wss://127.0.0.1:PORT/ws`
    /// (or `ws://` in plaintext mode).
    pub fn url(&self) -> String {
        self.url_at(self.paths.first().copied().unwrap_or("/"))
    }

    /// The WebSocket URL of `path` on this server.
    pub fn url_at(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}{path}", self.local_addr)
    }

    /// `https://127.0.0.1:PORT/docs` (or `http://` in plaintext mode).
    pub fn docs_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}/docs", self.local_addr)
    }

    /// The TLS leaf certificate presented now, DER (None in plaintext mode).
    pub fn certificate(&self) -> Option<Vec<u8>> {
        self.tls.as_ref().map(|t| t.certificate().to_vec())
    }

    /// The TLS configuration, to [reload](ServerTls::reload) its certificate
    /// (None in plaintext mode).
    pub fn tls(&self) -> Option<&ServerTls> {
        self.tls.as_ref()
    }

    /// Where a kept self-signed certificate is (PEM), for clients to trust.
    pub fn certificate_file(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().and_then(|t| t.file.as_deref())
    }

    /// The TLS certificate's SHA-256 fingerprint.
    pub fn fingerprint(&self) -> Option<String> {
        self.tls.as_ref().map(ServerTls::fingerprint)
    }

    /// How many accept loops serve: the per-core workers, or 1 on the caller's runtime.
    pub fn workers(&self) -> usize {
        self.stopped.len()
    }

    /// The live counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// A token that starts graceful shutdown when cancelled (signals use it).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting, lets in-flight frames finish and closes sockets with 1001.
    /// Returns `true` if everything finished within `shutdown_timeout`.
    pub async fn shutdown(self) -> bool {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the server has stopped (after the shutdown token fires).
    pub async fn wait(mut self) -> bool {
        let mut drained = true;
        for stopped in std::mem::take(&mut self.stopped) {
            drained &= stopped.await.unwrap_or(false);
        }
        drained
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.worker_threads {
            self.shutdown.cancel();
        }
    }
}
