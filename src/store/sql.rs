//! [`SqlStore`]: the store over sqlx, written once for every database whose
//! SQL it speaks. MySQL/MariaDB and SQLite accept the same parameterized
//! statements (`?` placeholders, `COALESCE`, derived tables), so each
//! concern's SQL (`users`, `tokens`, `verification`, `chat`) is one generic
//! implementation; a [`Dialect`] says only what the drivers do differently.
//!
//! Each implementation repeats one `where` clause (`&mut DB::Connection` is
//! an executor): Rust does not carry such bounds from a trait to its users.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use time::PrimitiveDateTime;

use super::connections::Connections;
use super::{Store, StoreError, StoreResult};

/// What a database's driver does its own way.
pub trait Dialect: sqlx::Database {
    /// Applies this database's migrations (`migrations/<database>`) on `connection`.
    fn migrate(connection: &mut Self::Connection) -> futures_util::future::BoxFuture<'_, StoreResult<()>>;
    /// Those migrations, as `migrate` applies them.
    fn migrator() -> &'static sqlx::migrate::Migrator;
    /// The id an `INSERT` made.
    fn inserted_id(result: &Self::QueryResult) -> i64;
    /// How many rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;
    /// One statement that stores a message (room, author, client id, text,
    /// time) and reads the room's message before it under the room's lock,
    /// answering `id`, `previous_id` and `previous_at`: for a database across
    /// a network, where the transaction of separate statements would hold
    /// the lock across their round trips. `None`: that transaction (SQLite,
    /// whose statements are calls in this process).
    const LINKED_INSERT: Option<&'static str>;
}

/// Users, tokens, verification codes and the chat in one SQL database.
pub struct SqlStore<DB: Dialect> {
    pub(super) connections: Connections<DB::Connection>,
}

impl<DB: Dialect> SqlStore<DB> {
    /// A store over `connections`.
    pub(super) fn new(connections: Connections<DB::Connection>) -> Self {
        SqlStore { connections }
    }
}

impl<DB: Dialect> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        SqlStore { connections: self.connections.clone() }
    }
}

impl<DB: Dialect> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("database", &DB::NAME).finish_non_exhaustive()
    }
}

#[async_trait]
impl<DB> Store for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> i64: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> String: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> PrimitiveDateTime: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: Encode<'r, DB> + Type<DB>,
    for<'r> &'r [u8]: Encode<'r, DB> + Type<DB>,
    for<'r> u32: Encode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Encode<'r, DB>,
    for<'r> Option<String>: Encode<'r, DB>,
    for<'r> Option<&'r str>: Encode<'r, DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    async fn migrate(&self) -> StoreResult<()> {
        DB::migrate(&mut *self.connections.acquire().await?).await
    }

    async fn migrations(&self) -> StoreResult<Vec<super::Migration>> {
        let mut connection = self.connections.acquire().await?;
        let applied =
            sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE").fetch_all(&mut *connection).await;
        let applied: Vec<i64> = match applied {
            Ok(rows) => rows.iter().filter_map(|row| sqlx::Row::try_get(row, "version").ok()).collect(),
            // A database no migration ever ran on has no bookkeeping table.
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some("42S02") || error.message().contains("no such table") =>
            {
                Vec::new()
            }
            Err(error) => return Err(error.into()),
        };
        let migration = |m: &sqlx::migrate::Migration| super::Migration {
            version: m.version,
            description: m.description.to_string(),
            applied: applied.contains(&m.version),
        };
        Ok(DB::migrator().iter().map(migration).collect())
    }

    async fn ping(&self) -> bool {
        let ping = async {
            sqlx::query("SELECT 1").execute(&mut *self.connections.acquire().await?).await?;
            Ok::<_, StoreError>(())
        };
        // Through `StoreError`, which records a broken connection as one.
        ping.await.is_ok()
    }
}

/// A stored value this binary cannot read (the table was edited by hand).
pub(super) fn decode_error(message: String) -> StoreError {
    StoreError::Other(sqlx::Error::Decode(message.into()))
}

/// `text` with the `LIKE` wildcards made plain, for `ESCAPE '!'` (a
/// character both MySQL and SQLite take as written, unlike `\`).
pub(super) fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            escaped.push('!');
        }
        escaped.push(c);
    }
    escaped
}
