//! Persistence of users, API tokens, verification codes and the chat: a
//! trait per concern, implemented once over sqlx by [`SqlStore`] for
//! MySQL/MariaDB (production) and SQLite (the embedded, zero-setup default).
//! Handlers see only the traits, through [`Database`]; the store never sees frames.

mod chat;
mod connections;
mod mysql;
mod sql;
mod sqlite;
mod tokens;
mod users;
mod verification;

use std::sync::Arc;

use async_trait::async_trait;
use time::PrimitiveDateTime;

// Each concern's module is its public surface: records, trait, errors.
pub use chat::*;
pub use sql::{Dialect, SqlStore};
pub use tokens::*;
pub use users::*;
pub use verification::*;

/// What can go wrong in the store, as handlers need to tell it apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key (the email) is taken: the driver's unique-violation code.
    #[error("unique constraint violated")]
    Conflict,
    /// The database cannot be reached (or the pool timed out waiting for it).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else.
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
    /// `DATABASE_URL` names nothing specserve can store to.
    #[error("{0}")]
    InvalidUrl(String),
    /// A migration failed, or the database has one this binary does not know
    /// (it was migrated by a newer specserve).
    #[error("migrating the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if matches!(
            error,
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed
        ) {
            connections::connection_failed();
        }
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
                StoreError::Unavailable(error)
            }
            _ => StoreError::Other(error),
        }
    }
}

/// Store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// One of the binary's migrations, as `db status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its number (the file's prefix).
    pub version: i64,
    /// What it does (the rest of the file name).
    pub description: String,
    /// Whether the database has had it.
    pub applied: bool,
}

/// Users, tokens, verification codes and the chat: every concern's store in
/// one, and the database's upkeep.
#[async_trait]
pub trait Store: UserStore + TokenStore + VerificationStore + ChatStore + Send + Sync + 'static {
    /// Applies the migrations the database has not had yet (all of them to a
    /// new one). A database made before migrations existed takes the first as
    /// a no-op (it only creates what is missing).
    async fn migrate(&self) -> StoreResult<()>;
    /// Every migration this binary has, and whether the database has had it
    /// (none has, for a database without specserve's tables).
    async fn migrations(&self) -> StoreResult<Vec<Migration>>;
    /// Whether the database answers.
    async fn ping(&self) -> bool;
}

/// The store chosen at start-up from `DATABASE_URL`: [`SqlStore`] over
/// MySQL/MariaDB or SQLite, behind one type so the app is compiled once.
#[derive(Clone)]
pub struct Database {
    store: Arc<dyn Store>,
    kind: DatabaseKind,
}

/// Which database a [`Database`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// MySQL 8 or MariaDB 10.11.
    MySql,
    /// SQLite, a file or in memory.
    Sqlite,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl std::ops::Deref for Database {
    type Target = dyn Store;

    fn deref(&self) -> &dyn Store {
        &*self.store
    }
}

/// The embedded default: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://specserve.db";

/// What a database URL names, checked before anything is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `mysql://...` or `mariadb://...` (as `mysql://`).
    MySql(String),
    /// `sqlite://file.db` or `sqlite:file.db`.
    SqliteFile(String),
    /// `sqlite::memory:`: one database in this process, gone at exit.
    SqliteMemory,
}

impl DatabaseUrl {
    /// Where the data is, for a log line: the server and database, or the
    /// file; never the credentials a URL carries.
    pub fn location(&self) -> String {
        match self {
            DatabaseUrl::MySql(url) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
                let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                format!("MySQL at {}", rest.split('?').next().unwrap_or(rest))
            }
            DatabaseUrl::SqliteFile(url) => {
                let path = url.split_once(':').map_or(url.as_str(), |(_, path)| path).trim_start_matches("//");
                format!("SQLite file {}", path.split('?').next().unwrap_or(path))
            }
            DatabaseUrl::SqliteMemory => "SQLite in memory (gone when the process exits)".to_owned(),
        }
    }

    /// Parses `url`, refusing what would silently lose data: an empty URL (as
    /// env files leave it) is not the in-memory database, and a scheme we do not
    /// support is not SQLite.
    pub fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
        let url = url.trim();
        let supported =
            "use mysql://user:pass@host:3306/db (MySQL 8, MariaDB 10.11), sqlite://file.db, or sqlite::memory:";
        if url.is_empty() {
            return Err(StoreError::InvalidUrl(format!(
                "DATABASE_URL is empty: {supported}; unset it for the embedded default {DEFAULT_DATABASE_URL}"
            )));
        }
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(StoreError::InvalidUrl(format!(
                "`{url}` is not a database URL: {supported} (a file is sqlite://{url})"
            )));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "mysql" | "mariadb" => Ok(DatabaseUrl::MySql(format!("mysql:{rest}"))),
            "sqlite" => {
                let path = rest.trim_start_matches("//");
                let memory = path == ":memory:" || rest.contains("mode=memory");
                if path.is_empty() {
                    return Err(StoreError::InvalidUrl(format!("`{url}` names no SQLite file: {supported}")));
                }
                Ok(if memory { DatabaseUrl::SqliteMemory } else { DatabaseUrl::SqliteFile(url.to_owned()) })
            }
            "postgres" | "postgresql" => {
                Err(StoreError::InvalidUrl(format!("PostgreSQL is not supported: {supported}")))
            }
            other => Err(StoreError::InvalidUrl(format!("`{other}:` is not a supported database: {supported}"))),
        }
    }
}

impl Database {
    /// Connects to `url` (MySQL/MariaDB or SQLite). SQLite gets its migrations applied.
    pub async fn connect(url: &str) -> StoreResult<Database> {
        let (store, kind): (Arc<dyn Store>, _) = match DatabaseUrl::parse(url)? {
            DatabaseUrl::MySql(url) => (Arc::new(mysql::connect(&url).await?), DatabaseKind::MySql),
            DatabaseUrl::SqliteFile(url) => (Arc::new(sqlite::connect(&url).await?), DatabaseKind::Sqlite),
            DatabaseUrl::SqliteMemory => (Arc::new(sqlite::in_memory().await?), DatabaseKind::Sqlite),
        };
        if kind == DatabaseKind::Sqlite {
            store.migrate().await?;
        }
        Ok(Database { store, kind })
    }

    /// Which database this is.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// Creates the database `url` names if it does not exist yet (MySQL/MariaDB;
    /// SQLite creates its file by itself). Returns whether it was created.
    pub async fn create_if_missing(url: &str) -> StoreResult<bool> {
        match DatabaseUrl::parse(url)? {
            DatabaseUrl::MySql(url) => mysql::create_database_if_missing(&url).await,
            DatabaseUrl::SqliteFile(_) | DatabaseUrl::SqliteMemory => Ok(false),
        }
    }
}

/// Now, in UTC, to the microsecond: what both stores keep (DATETIME(6)).
pub fn now_utc() -> PrimitiveDateTime {
    to_stored(time::OffsetDateTime::now_utc())
}

/// An instant as the stores keep it: UTC, microsecond precision.
pub fn to_stored(at: time::OffsetDateTime) -> PrimitiveDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    let micros = at.microsecond();
    PrimitiveDateTime::new(at.date(), at.time())
        .replace_microsecond(micros)
        .unwrap_or(PrimitiveDateTime::new(at.date(), at.time()))
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn a_location_names_the_data_and_never_the_password() {
        let located = |url: &str| DatabaseUrl::parse(url).unwrap().location();
        let mysql = located("mysql://app:s3cret@db.internal:3306/specserve?ssl-mode=required");
        assert_eq!(mysql, "MySQL at db.internal:3306/specserve");
        assert_eq!(located("sqlite://specserve.db"), "SQLite file specserve.db");
        assert_eq!(located("sqlite:/var/lib/specserve/data.db?mode=rwc"), "SQLite file /var/lib/specserve/data.db");
        assert!(located("sqlite::memory:").contains("in memory"));
    }
}
