//! The production store: MySQL 8 / MariaDB 10.11 through sqlx.

use std::time::Duration;

use std::str::FromStr;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlQueryResult};

use super::StoreResult;
use super::connections::Connections;

/// How long a request waits for a connection before `unavailable`:
/// short, so a database outage fails requests fast instead of hanging them.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Users, tokens and the chat in MySQL/MariaDB (tables: `migrations/mysql`,
/// read together in `schema.sql`).
#[derive(Debug, Clone)]
pub struct MySqlStore {
    connections: Connections<MySqlConnection>,
}

/// The MySQL/MariaDB migrations, in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/mysql");

impl MySqlStore {
    /// Connects lazily: the server starts even while the database is down, and
    /// `/readyz` says so. At most 16 connections, split between the workers
    /// of a per-core server (`--workers`), so each uses sockets of its own runtime.
    ///
    /// No ping before each checkout (sqlx's default) nor after each return
    /// (what `sqlx::Pool` does): each doubled the round trips of every request.
    /// A connection that died fails its query (the request gets `unavailable`),
    /// and every idle one is then verified before reuse (see `connections`).
    pub async fn connect(url: &str) -> StoreResult<MySqlStore> {
        let options = MySqlConnectOptions::from_str(url)?;
        let connections = Connections::per_worker(options, 16, ACQUIRE_TIMEOUT);
        Ok(MySqlStore { connections })
    }

    /// Creates the database `url` names unless it exists (`db init` on a new server).
    pub async fn create_database_if_missing(url: &str) -> StoreResult<bool> {
        use sqlx::migrate::MigrateDatabase;
        if sqlx::MySql::database_exists(url).await? {
            return Ok(false);
        }
        sqlx::MySql::create_database(url).await?;
        Ok(true)
    }
}

sql_store!(MySqlStore, sqlx::MySql, MIGRATOR, |r: &MySqlQueryResult| i64::try_from(r.last_insert_id())
    .unwrap_or(i64::MAX));
