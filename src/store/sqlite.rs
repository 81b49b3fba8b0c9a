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
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(SqliteStore { pool, schema: include_str!("../../schema.sqlite.sql") })
    }
}

sql_store!(SqliteStore, sqlx::Sqlite, |r: &SqliteQueryResult| r.last_insert_rowid());
