//! Accounts: who they are, how they log in, who manages whom.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use time::PrimitiveDateTime;

use super::StoreResult;
use super::sql::{Dialect, SqlStore, decode_error, like_escaped};
use crate::api::Role;

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Email, unique regardless of case.
    pub email: String,
    /// argon2id PHC string; `None` means the account cannot log in.
    pub password_hash: Option<String>,
    /// What the user may do.
    pub role: Role,
    /// The manager: the user who created this one.
    pub created_by: Option<i64>,
    /// When created (UTC).
    pub created_at: PrimitiveDateTime,
    /// When last changed (UTC).
    pub updated_at: PrimitiveDateTime,
}

/// A user to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// argon2id PHC string, if the account may log in.
    pub password_hash: Option<String>,
    /// Role.
    pub role: Role,
    /// The creating user.
    pub created_by: Option<i64>,
    /// Creation time (UTC).
    pub now: PrimitiveDateTime,
}

/// With a user update: revoke the user's live tokens in the same transaction,
/// except `keep` (the caller's own token when it changed its own password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokeTokens {
    /// The token that survives, if any.
    pub keep: Option<i64>,
}

/// A partial update: `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// New name.
    pub name: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// New role.
    pub role: Option<Role>,
}

/// Whom a directory search may list besides the one searching (see
/// `crate::presence::Visibility`, which decides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visible {
    /// Every user.
    Everyone,
    /// The users who share a room with the searcher where both joined.
    Contacts,
    /// Nobody else.
    Myself,
}

/// Users. Every query is parameterized.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user; `Conflict` if the email is taken.
    async fn create_user(&self, user: NewUser) -> StoreResult<i64>;
    /// A user by id.
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>>;
    /// A user by email, regardless of case.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    /// All users, by id.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Applies `changes` and, with `revoke`, revokes the user's tokens, in one
    /// transaction: either both happen or neither. `None` if there is no such
    /// user, else how many tokens were revoked; `Conflict` on a taken email.
    async fn update_user(
        &self,
        id: i64,
        changes: UserChanges,
        revoke: Option<RevokeTokens>,
        now: PrimitiveDateTime,
    ) -> StoreResult<Option<u64>>;
    /// Deletes a user (its tokens go with it; users it managed become unmanaged).
    async fn delete_user(&self, id: i64) -> StoreResult<bool>;
    /// `(id, name)` of the users `viewer` may see (`visible`, and `viewer`)
    /// whose name contains `query` (any case; `%`, `_` and `!` are plain
    /// characters), with ids above `after`, by id, at most `limit`.
    async fn directory(
        &self,
        viewer: i64,
        visible: Visible,
        query: Option<&str>,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, String)>>;
    /// `(id, name)` of those of `ids` that are users, by id.
    async fn names_of(&self, ids: &[i64]) -> StoreResult<Vec<(i64, String)>>;
}

#[async_trait]
impl<DB> UserStore for SqlStore<DB>
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
    async fn create_user(&self, user: NewUser) -> StoreResult<i64> {
        Self::insert_user_row(&mut *self.connections.acquire().await?, &user).await
    }

    async fn directory(
        &self,
        viewer: i64,
        visible: Visible,
        query: Option<&str>,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, String)>> {
        use sqlx::Row;
        macro_rules! search {
            ($who:literal) => {
                concat!(
                    "SELECT u.id, u.name FROM users u
                     WHERE u.id > ? AND LOWER(u.name) LIKE ? ESCAPE '!' AND ",
                    $who,
                    " ORDER BY u.id LIMIT ?"
                )
            };
        }
        let pattern = format!("%{}%", like_escaped(&query.unwrap_or_default().to_lowercase()));
        // Bound in the order of the `?`s: after, pattern, the clause's, limit.
        let rows = match visible {
            Visible::Everyone => sqlx::query(search!("u.id <> ?")).bind(after).bind(&pattern).bind(0_i64),
            Visible::Contacts => sqlx::query(search!(
                "(u.id = ? OR EXISTS (SELECT 1 FROM room_members a JOIN room_members b ON b.room_id = a.room_id
                  WHERE a.user_id = ? AND b.user_id = u.id AND a.status = 'joined' AND b.status = 'joined'))"
            ))
            .bind(after)
            .bind(&pattern)
            .bind(viewer)
            .bind(viewer),
            Visible::Myself => sqlx::query(search!("u.id = ?")).bind(after).bind(&pattern).bind(viewer),
        };
        let rows = rows.bind(i64::from(limit)).fetch_all(&mut *self.connections.acquire().await?).await?;
        rows.iter().map(|row| Ok((row.try_get("id")?, row.try_get("name")?))).collect()
    }

    async fn names_of(&self, ids: &[i64]) -> StoreResult<Vec<(i64, String)>> {
        use sqlx::Row;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<DB>::new("SELECT id, name FROM users WHERE id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        query.push(") ORDER BY id");
        let rows = query.build().fetch_all(&mut *self.connections.acquire().await?).await?;
        rows.iter().map(|row| Ok((row.try_get("id")?, row.try_get("name")?))).collect()
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at
             FROM users WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *self.connections.acquire().await?)
        .await?;
        row.map(|row| Self::user_from_row(&row)).transpose()
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at
             FROM users WHERE email = ?",
        )
        .bind(email)
        .fetch_optional(&mut *self.connections.acquire().await?)
        .await?;
        row.map(|row| Self::user_from_row(&row)).transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at
             FROM users ORDER BY id",
        )
        .fetch_all(&mut *self.connections.acquire().await?)
        .await?;
        rows.iter().map(|row| Self::user_from_row(row)).collect()
    }

    async fn update_user(
        &self,
        id: i64,
        changes: UserChanges,
        revoke: Option<RevokeTokens>,
        now: PrimitiveDateTime,
    ) -> StoreResult<Option<u64>> {
        // Dropping `tx` without commit rolls back: an error in either
        // statement leaves the password and the tokens as they were.
        let mut connection = self.connections.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        let result = sqlx::query(
            "UPDATE users SET name = COALESCE(?, name), email = COALESCE(?, email),
             password_hash = COALESCE(?, password_hash), role = COALESCE(?, role), updated_at = ?
             WHERE id = ?",
        )
        .bind(&changes.name)
        .bind(&changes.email)
        .bind(&changes.password_hash)
        .bind(changes.role.map(|r| r.as_str()))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&result) == 0 {
            return Ok(None);
        }
        let revoked = match revoke {
            Some(revoke) => Self::revoke_tokens_except(&mut *tx, id, revoke.keep, now).await?,
            None => 0,
        };
        tx.commit().await?;
        Ok(Some(revoked))
    }

    async fn delete_user(&self, id: i64) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&mut *self.connections.acquire().await?)
            .await?;
        Ok(DB::rows_affected(&result) > 0)
    }
}

impl<DB> SqlStore<DB>
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
    /// Inserts a user; its id.
    pub(super) async fn insert_user_row(connection: &mut DB::Connection, user: &NewUser) -> StoreResult<i64> {
        let result = sqlx::query(
            "INSERT INTO users (name, email, password_hash, role, created_by, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&user.name)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(user.created_by)
        .bind(user.now)
        .bind(user.now)
        .execute(&mut *connection)
        .await?;
        Ok(DB::inserted_id(&result))
    }

    fn user_from_row(row: &DB::Row) -> StoreResult<User> {
        use sqlx::Row;
        Ok(User {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            password_hash: row.try_get("password_hash")?,
            role: role(&row.try_get::<String, _>("role")?)?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// A stored role; anything else means the table was edited by hand.
pub(super) fn role(value: &str) -> StoreResult<Role> {
    Role::from_wire(value).ok_or_else(|| decode_error(format!("unknown role `{value}`")))
}
