//! `specserve serve`: the WSS server over the configured database.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use specserve::api;
use specserve::cluster::ClusterConfig;
use specserve::handlers::App;
use specserve::security::audit::AuditLog;
use specserve::store::DatabaseUrl;
use specserve_runtime::cli::{ServerArgs, init_logging, serve_until_signal};
use specserve_runtime::hub::Hub;
use specserve_runtime::server::Server;

use crate::Outcome;
use crate::admin::DatabaseArgs;
use crate::cluster::ClusterArgs;
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
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Refuses cluster settings that cannot work before anything starts.
fn check_cluster(args: &ServeArgs) -> anyhow::Result<Option<ClusterConfig>> {
    let Some(config) = args.cluster.config()? else { return Ok(None) };
    if matches!(DatabaseUrl::parse(&args.database.url), Ok(DatabaseUrl::SqliteMemory)) {
        bail!("--cluster-url: the nodes of a cluster share one database, and sqlite::memory: is this process's own");
    }
    Ok(Some(config))
}

/// Serves until SIGTERM or ctrl-c.
pub async fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    init_logging(args.server.log_format);
    let cluster = check_cluster(&args)?;
    let store = args.database.connect().await?;
    let audit = AuditLog::open(&args.audit_log).with_context(|| format!("opening {}", args.audit_log.display()))?;
    let hub = Hub::new();
    let app = Arc::new(
        App::new(store, args.account.to_app_config(cluster.is_some())?, audit, hub.clone())
            .map_err(|e| anyhow!("{e}"))?,
    );
    if let Some(cluster) = cluster {
        app.join_cluster(cluster).await?;
    }
    let config = specserve_runtime::server::ServerConfig { assets: api::assets(), hub, ..args.server.to_config() };
    let server = Server::start(config, Arc::new(api::Service::<App>::new(app))).await?;
    serve_until_signal(server).await;
    Ok(Outcome::Passed)
}
