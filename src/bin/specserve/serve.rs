//! `specserve serve`: the WSS server over the configured database.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use specserve::handlers::App;
use specserve::security::audit::AuditLog;
use specserve::server::{Server, ServerConfig, TlsSetup, shutdown};

use crate::Outcome;
use crate::admin::DatabaseArgs;
use crate::limits::{AccountArgs, LimitArgs};

/// Log line format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Where and how to serve.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address and port to listen on (HTTP probes and the WebSocket share it).
    #[arg(long, env = "SPECSERVE_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// TLS certificate chain (PEM). Without --tls-cert/--tls-key a self-signed certificate is made.
    #[arg(long, env = "SPECSERVE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "SPECSERVE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain ws:// (only behind a TLS-terminating proxy).
    #[arg(long, env = "SPECSERVE_INSECURE_PLAINTEXT", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub insecure_plaintext: bool,
    /// Browser Origin allowed to connect (exact; repeat or comma-separate). None given: any.
    #[arg(long = "allowed-origin", env = "SPECSERVE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Proxy address whose X-Forwarded-For is believed (repeat or comma-separate).
    #[arg(long = "trusted-proxy", env = "SPECSERVE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    /// Audit log file (JSON lines), or `-` for stdout.
    #[arg(long, env = "SPECSERVE_AUDIT_LOG", default_value = "specserve-audit.jsonl")]
    pub audit_log: PathBuf,
    /// Log format.
    #[arg(long, env = "SPECSERVE_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub account: AccountArgs,
}

/// Serves until SIGTERM or ctrl-c.
pub async fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    init_logging(args.log_format);
    let store = args.database.connect().await?;
    let audit = AuditLog::open(&args.audit_log).with_context(|| format!("opening {}", args.audit_log.display()))?;
    let app = App::new(store, args.account.to_app_config(), audit).map_err(|e| anyhow!("{e}"))?;
    let tls = match (&args.tls_cert, &args.tls_key, args.insecure_plaintext) {
        (_, _, true) => TlsSetup::Plaintext,
        (Some(cert), Some(key), false) => TlsSetup::Files { cert: cert.clone(), key: key.clone() },
        _ => TlsSetup::SelfSigned,
    };
    let config = ServerConfig {
        listen: args.listen,
        tls,
        limits: args.limits.to_limits(),
        allowed_origins: args.allowed_origins,
        trusted_proxies: args.trusted_proxies,
    };
    let self_signed = config.tls == TlsSetup::SelfSigned;
    let server = Server::start(config, Arc::new(app)).await?;
    if server.certificate().is_none() {
        tracing::warn!("serving plain ws:// (--insecure-plaintext): only behind a TLS-terminating proxy");
    }
    if self_signed && let Some(fingerprint) = server.fingerprint() {
        tracing::info!(%fingerprint, "self-signed TLS certificate (SHA-256); pin it in clients or pass --tls-cert/--tls-key");
    }
    tracing::info!(url = %server.url(), docs = %server.docs_url(), "listening");
    shutdown::on_signal(server.shutdown_token());
    if server.wait().await {
        tracing::info!("shut down cleanly");
    } else {
        tracing::warn!("shutdown deadline passed; remaining connections were dropped");
    }
    Ok(Outcome::Passed)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
