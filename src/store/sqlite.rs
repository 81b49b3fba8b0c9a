//! The embedded default store: one SQLite file, no server to run.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult};

use super::StoreResult;

/// Users and tokens in SQLite (schema: `schema.sqlite.sql`).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    schema: &'static str,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url`, e.g. `sqlite://specserve.db`.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        SqliteStore::open(SqlitePoolOptions::new().max_connections(8), options).await
    }

    /// A database in this process's memory, gone at exit. Every SQLite
    /// connection to `:memory:` is a database of its own, so the pool holds
    /// exactly one connection and never closes it.
    pub async fn in_memory() -> StoreResult<SqliteStore> {
        tracing::warn!("in-memory SQLite database: nothing survives a restart");
        let pool = SqlitePoolOptions::new().min_connections(1).max_connections(1).idle_timeout(None).max_lifetime(None);
        SqliteStore::open(pool, SqliteConnectOptions::from_str("sqlite::memory:")?).await
    }

    async fn open(pool: SqlitePoolOptions, options: SqliteConnectOptions) -> StoreResult<SqliteStore> {
        let pool = pool.acquire_timeout(Duration::from_secs(5)).connect_with(options.foreign_keys(true)).await?;
        Ok(SqliteStore { pool, schema: include_str!("../../schema.sqlite.sql") })
    }
}

sql_store!(SqliteStore, sqlx::Sqlite, |r: &SqliteQueryResult| r.last_insert_rowid());
