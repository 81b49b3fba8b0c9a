//! The production database: MySQL 8 / MariaDB 10.11 through sqlx (tables:
//! `migrations/mysql`, read together in `schema.sql`).

use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::MySql;
use sqlx::migrate::MigrateDatabase;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlQueryResult};

use super::connections::Connections;
use super::sql::{Dialect, SqlStore};
use super::{StoreError, StoreResult};

/// How long a request waits for a connection before `unavailable`:
/// short, so a database outage fails requests fast instead of hanging them.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// The MySQL/MariaDB migrations, in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/mysql");

impl Dialect for MySql {
    fn migrate(connection: &mut MySqlConnection) -> BoxFuture<'_, StoreResult<()>> {
        // `run_direct`: `run` over a connection is "not general enough" for a Send future.
        Box::pin(async move { MIGRATOR.run_direct(None, connection, false).await.map_err(StoreError::Migrate) })
    }

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    fn inserted_id(result: &MySqlQueryResult) -> i64 {
        i64::try_from(result.last_insert_id()).unwrap_or(i64::MAX)
    }

    fn rows_affected(result: &MySqlQueryResult) -> u64 {
        result.rows_affected()
    }

    const LINKED_INSERT: Option<&'static str> = Some("CALL specserve_insert_linked_message(?, ?, ?, ?, ?)");
}

/// Connects lazily: the server starts even while the database is down, and
/// `/readyz` says so. At most 16 connections, split between the workers
/// of a per-core server (`--workers`), so each uses sockets of its own runtime.
///
/// No ping before each checkout (sqlx's default) nor after each return
/// (what `sqlx::Pool` does): each doubled the round trips of every request.
/// A connection that died fails its query (the request gets `unavailable`),
/// and every idle one is then verified before reuse (see `connections`).
pub async fn connect(url: &str) -> StoreResult<SqlStore<MySql>> {
    let options = MySqlConnectOptions::from_str(url)?;
    Ok(SqlStore::new(Connections::per_worker(options, 16, ACQUIRE_TIMEOUT)))
}

/// Creates the database `url` names unless it exists (`db init` on a new server).
pub async fn create_database_if_missing(url: &str) -> StoreResult<bool> {
    if MySql::database_exists(url).await? {
        return Ok(false);
    }
    MySql::create_database(url).await?;
    Ok(true)
}
