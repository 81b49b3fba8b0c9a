//! The embedded default database: one SQLite file, no server to run (tables:
//! `migrations/sqlite`).

use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteQueryResult};

use super::connections::Connections;
use super::sql::{Dialect, SqlStore};
use super::{StoreError, StoreResult};

/// How long a request waits for a connection before the store reports `unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Rows a query's SQLite thread may hand over before it waits for the task
/// to take them. sqlx's 50 made the worker thread block and be woken again
/// every 50 rows: a message to a room of 1,000 members (whose list it
/// reads) cost 20 thread switches there (#33 item 2, `specserve-bench
/// broadcast`). Rows here are small; the largest result is a room's members.
const ROW_BUFFER: usize = 1024;

/// The SQLite migrations, in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

impl Dialect for Sqlite {
    fn migrate(connection: &mut SqliteConnection) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move { MIGRATOR.run_direct(None, connection, false).await.map_err(StoreError::Migrate) })
    }

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    fn inserted_id(result: &SqliteQueryResult) -> i64 {
        result.last_insert_rowid()
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    const LINKED_INSERT: Option<&'static str> = None;
}

/// Opens (creating if needed) the database at `url`, e.g. `sqlite://specserve.db`.
pub async fn connect(url: &str) -> StoreResult<SqlStore<Sqlite>> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5))
        .row_buffer_size(ROW_BUFFER);
    // Per worker: a SQLite connection is a thread sqlx starts, and one
    // opened by a per-core worker stays beside it (on its core, if pinned).
    open(Connections::per_worker(options.foreign_keys(true), 8, ACQUIRE_TIMEOUT)).await
}

/// A database in this process's memory, gone at exit. Every SQLite
/// connection to `:memory:` is a database of its own, so the store holds
/// exactly one connection and never closes it.
pub async fn in_memory() -> StoreResult<SqlStore<Sqlite>> {
    tracing::warn!("in-memory SQLite database: nothing survives a restart");
    let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true).row_buffer_size(ROW_BUFFER);
    open(Connections::new(options, 1, ACQUIRE_TIMEOUT)).await
}

/// Opens one connection now, so a database that cannot be opened is refused at start.
async fn open(connections: Connections<SqliteConnection>) -> StoreResult<SqlStore<Sqlite>> {
    drop(connections.acquire().await?);
    Ok(SqlStore::new(connections))
}
