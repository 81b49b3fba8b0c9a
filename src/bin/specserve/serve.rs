//! `specserve serve`: the WSS server over the configured database.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use specserve::api;
use specserve::handlers::App;
use specserve::security::audit::AuditLog;
use specserve::store::DatabaseUrl;
use specserve_runtime::cli::{ServerArgs, init_logging, serve_until_signal};
use specserve_runtime::hub::Hub;
use specserve_runtime::server::Server;

use crate::Outcome;
use crate::admin::DatabaseArgs;
use crate::limits::AccountArgs;

/// Where and how to serve.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Audit log file (JSON lines), or `-` for stdout.
    #[arg(long, env = "SPECSERVE_AUDIT_LOG", default_value = "specserve-audit.jsonl")]
    pub audit_log: PathBuf,
    #[command(flatten)]
    pub account: AccountArgs,
    /// NATS server the nodes of a cluster share (nats://host:4222): events and
    /// revocations cross nodes. Without it this process is the whole cluster.
    #[arg(long, env = "SPECSERVE_CLUSTER_URL", hide_env_values = true)]
    pub cluster_url: Option<String>,
    /// Subject prefix on NATS: nodes with the same prefix are one cluster.
    #[arg(long, env = "SPECSERVE_CLUSTER_SUBJECT", default_value = "specserve")]
    pub cluster_subject: String,
}

/// Refuses cluster settings that cannot work before anything starts.
fn check_cluster(url: &str, args: &ServeArgs) -> anyhow::Result<()> {
    let host = url.split_once("://").map_or(url, |(_, rest)| rest);
    if host.trim_matches('/').trim().is_empty() || args.cluster_subject.trim().is_empty() {
        bail!("--cluster-url needs a NATS server (nats://host:4222) and --cluster-subject a name");
    }
    url.parse::<async_nats::ServerAddr>().map_err(|e| anyhow!("--cluster-url: {e}"))?;
    if matches!(DatabaseUrl::parse(&args.database.url), Ok(DatabaseUrl::SqliteMemory)) {
        bail!("--cluster-url: the nodes of a cluster share one database, and sqlite::memory: is this process's own");
    }
    Ok(())
}

/// Serves until SIGTERM or ctrl-c.
pub async fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    init_logging(args.server.log_format);
    if let Some(url) = &args.cluster_url {
        check_cluster(url, &args)?;
    }
    let store = args.database.connect().await?;
    let audit = AuditLog::open(&args.audit_log).with_context(|| format!("opening {}", args.audit_log.display()))?;
    let hub = Hub::new();
    let app = Arc::new(App::new(store, args.account.to_app_config()?, audit, hub.clone()).map_err(|e| anyhow!("{e}"))?);
    if let Some(url) = &args.cluster_url {
        app.join_cluster(url, &args.cluster_subject).await?;
    }
    let config = specserve_runtime::server::ServerConfig { assets: api::assets(), hub, ..args.server.to_config() };
    let server = Server::start(config, Arc::new(api::Service::<App<_>>::new(app))).await?;
    serve_until_signal(server).await;
    Ok(Outcome::Passed)
}
