//! The production store: MySQL 8 / MariaDB 10.11 through sqlx.

use std::time::Duration;

use sqlx::mysql::{MySqlPool, MySqlPoolOptions, MySqlQueryResult};

use super::StoreResult;

/// How long a request waits for a pooled connection before `unavailable`:
/// short, so a database outage fails requests fast instead of hanging them.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Users and tokens in MySQL/MariaDB (schema: `schema.sql`).
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
    schema: &'static str,
}

impl MySqlStore {
    /// Connects lazily: the server starts even while the database is down, and
    /// `/readyz` says so.
    ///
    /// No ping before each checkout (sqlx's default): it doubled the round trips
    /// of every request. A connection that died while idle fails its next query
    /// instead (the request gets `unavailable`) and is dropped from the pool.
    pub async fn connect(url: &str) -> StoreResult<MySqlStore> {
        let pool = MySqlPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect_lazy(url)?;
        Ok(MySqlStore { pool, schema: include_str!("../../schema.sql") })
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

sql_store!(MySqlStore, sqlx::MySql, |r: &MySqlQueryResult| i64::try_from(r.last_insert_id()).unwrap_or(i64::MAX));
