//! The embedded default store: one SQLite file, no server to run.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteQueryResult};

use super::StoreResult;
use super::connections::Connections;

/// How long a request waits for a connection before the store reports `unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Users, tokens and the chat in SQLite (tables: `migrations/sqlite`).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    connections: Connections<SqliteConnection>,
}

/// The SQLite migrations, in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

impl SqliteStore {
    /// Opens (creating if needed) the database at `url`, e.g. `sqlite://specserve.db`.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        // Per worker: a SQLite connection is a thread sqlx starts, and one
        // opened by a per-core worker stays beside it (on its core, if pinned).
        SqliteStore::open(Connections::per_worker(options.foreign_keys(true), 8, ACQUIRE_TIMEOUT)).await
    }

    /// A database in this process's memory, gone at exit. Every SQLite
    /// connection to `:memory:` is a database of its own, so the store holds
    /// exactly one connection and never closes it.
    pub async fn in_memory() -> StoreResult<SqliteStore> {
        tracing::warn!("in-memory SQLite database: nothing survives a restart");
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        SqliteStore::open(Connections::new(options, 1, ACQUIRE_TIMEOUT)).await
    }

    /// Opens one connection now, so a database that cannot be opened is
    /// refused at start.
    async fn open(connections: Connections<SqliteConnection>) -> StoreResult<SqliteStore> {
        drop(connections.acquire().await?);
        Ok(SqliteStore { connections })
    }
}

sql_store!(SqliteStore, sqlx::Sqlite, MIGRATOR, |r: &SqliteQueryResult| r.last_insert_rowid());
