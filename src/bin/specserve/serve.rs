//! `specserve serve`: the WSS server over the configured database.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use specserve::api;
use specserve::cluster::ClusterConfig;
use specserve::handlers::App;
use specserve::security::audit::AuditLog;
use specserve::store::{Database, DatabaseUrl, StoreError};
use specserve_runtime::cli::{HumanDuration, ServerArgs, init_logging, serve_until_signal};
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
    /// How long to wait at start for a MySQL server that does not answer yet
    /// (a container starting beside this one); 0 refuses to start at once.
    #[arg(long, env = "SPECSERVE_WAIT_FOR_DB", default_value = "0s")]
    pub wait_for_db: HumanDuration,
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

/// Refuses to start on a database that cannot serve: a server that is down
/// (after waiting up to `wait`), a database that does not exist, one that
/// lacks migrations. Each says what to run; otherwise the server would
/// listen and answer every request `internal`.
async fn ready(store: &Database, url: &str, wait: Duration) -> anyhow::Result<()> {
    let location = DatabaseUrl::parse(url).map(|u| u.location()).unwrap_or_default();
    let deadline = tokio::time::Instant::now() + wait;
    let pending = loop {
        match store.migrations().await {
            Ok(migrations) => {
                break migrations.into_iter().filter(|m| !m.applied).map(|m| m.version).collect::<Vec<_>>();
            }
            Err(StoreError::Unavailable(error)) if tokio::time::Instant::now() < deadline => {
                tracing::info!(database = %location, %error, "waiting for the database (--wait-for-db)");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(StoreError::Unavailable(error)) => bail!(
                "{location} does not answer ({error}): start it, check DATABASE_URL, or give it time with --wait-for-db 30s"
            ),
            Err(error) if error.to_string().contains("Unknown database") => {
                bail!("{location}: the database does not exist; create it with `specserve db init`")
            }
            Err(error) => return Err(error).context(format!("checking {location}")),
        }
    };
    if !pending.is_empty() {
        let versions = pending.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        bail!("{location} lacks migrations {versions}: apply them with `specserve db migrate` (it keeps the data)");
    }
    Ok(())
}

/// Serves until SIGTERM or ctrl-c.
pub async fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    init_logging(args.server.log_format);
    let cluster = check_cluster(&args)?;
    let store = args.database.connect().await?;
    ready(&store, &args.database.url, args.wait_for_db.0).await?;
    let audit = AuditLog::open(&args.audit_log).with_context(|| format!("opening {}", args.audit_log.display()))?;
    if let Ok(url) = DatabaseUrl::parse(&args.database.url) {
        tracing::info!(database = %url.location(), audit_log = %args.audit_log.display(), "storing");
    }
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
