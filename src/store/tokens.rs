//! API tokens: access tokens (a user's logins and an admin's client
//! tokens) and refresh tokens, stored as SHA-256 hashes only.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use time::PrimitiveDateTime;

use super::StoreResult;
use super::sql::{Dialect, SqlStore};
use crate::api::Role;

/// A token to insert (its SHA-256 only).
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Owner.
    pub user_id: i64,
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// Client address at login.
    pub client_ip: Option<String>,
    /// Client `User-Agent` at login.
    pub user_agent: Option<String>,
    /// Issue time (UTC).
    pub created_at: PrimitiveDateTime,
    /// Expiry (UTC).
    pub expires_at: PrimitiveDateTime,
}

/// A token found by its hash, with what the token check needs about its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Token id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Owner's role now.
    pub role: Role,
    /// Expiry (UTC).
    pub expires_at: PrimitiveDateTime,
    /// Revocation time, if revoked.
    pub revoked_at: Option<PrimitiveDateTime>,
    /// A client token's scopes; `None` for a user's own (login) token.
    pub scopes: Option<Vec<String>>,
}

/// What makes an access token a client token ([`Store::insert_client_token`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    /// What it is for, as its admin named it.
    pub name: String,
    /// The scopes it holds, as the spec spells them.
    pub scopes: Vec<String>,
}

/// A refresh token to insert (its SHA-256 only).
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// Owner.
    pub user_id: i64,
    /// The login it belongs to: the id of the login's first access token.
    pub family_id: i64,
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// The access token issued with it.
    pub access_token_id: i64,
    /// Issue time (UTC).
    pub created_at: PrimitiveDateTime,
    /// Expiry (UTC).
    pub expires_at: PrimitiveDateTime,
}

/// The next access and refresh token of a login, issued by
/// [`Store::claim_refresh_token`] in the transaction that uses up the old one.
#[derive(Debug, Clone)]
pub struct NextTokens {
    /// SHA-256 of the new access token.
    pub access_hash: [u8; 32],
    /// SHA-256 of the new refresh token.
    pub refresh_hash: [u8; 32],
    /// Client address of the refresh.
    pub client_ip: Option<String>,
    /// Client `User-Agent` of the refresh.
    pub user_agent: Option<String>,
    /// Issue time (UTC).
    pub created_at: PrimitiveDateTime,
    /// The access token's expiry (UTC).
    pub access_expires_at: PrimitiveDateTime,
    /// The refresh token's expiry (UTC).
    pub refresh_expires_at: PrimitiveDateTime,
}

/// What presenting a refresh token did ([`Store::claim_refresh_token`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshClaim {
    /// Used up just now, and the [`NextTokens`] stored in the same transaction.
    Claimed {
        /// Owner.
        user_id: i64,
        /// The new access token's id.
        access_token_id: i64,
    },
    /// It had been used already (a stolen copy, or the thief's): the whole
    /// login was revoked, refresh and access tokens alike.
    Reused {
        /// Owner.
        user_id: i64,
        /// The access tokens revoked with it, for the caches to forget.
        revoked_access_tokens: Vec<i64>,
    },
    /// Unknown, revoked or expired.
    Invalid,
}

/// A user's live token as its owner may see it: where and when it was
/// issued and last looked up, never its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveToken {
    /// Token id.
    pub id: i64,
    /// Client address at login.
    pub client_ip: Option<String>,
    /// Client `User-Agent` at login.
    pub user_agent: Option<String>,
    /// Issue time (UTC).
    pub created_at: PrimitiveDateTime,
    /// Expiry (UTC).
    pub expires_at: PrimitiveDateTime,
    /// When the server last read it from the store (UTC), if ever.
    pub last_used_at: Option<PrimitiveDateTime>,
    /// Set for a client token.
    pub client: Option<ClientToken>,
}

/// How many of a user's live tokens [`Store::live_tokens`] returns, newest first.
pub const LIVE_TOKENS_LISTED: u32 = 100;

/// Tokens. Every query is parameterized.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a token's hash.
    async fn insert_token(&self, token: NewToken) -> StoreResult<i64>;
    /// A token by hash, with its owner's current role.
    async fn token_by_hash(&self, hash: [u8; 32]) -> StoreResult<Option<TokenRecord>>;
    /// Records that a token was just used.
    async fn touch_token(&self, id: i64, now: PrimitiveDateTime) -> StoreResult<()>;
    /// Revokes one token; `false` if it was already revoked or does not exist.
    async fn revoke_token(&self, id: i64, now: PrimitiveDateTime) -> StoreResult<bool>;
    /// The user's live (unrevoked, unexpired) tokens, the newest
    /// [`LIVE_TOKENS_LISTED`] first.
    async fn live_tokens(&self, user_id: i64, now: PrimitiveDateTime) -> StoreResult<Vec<LiveToken>>;
    /// Revokes token `id` if it is a live token of `user_id`; `false` otherwise
    /// (someone else's, revoked, expired or unknown: the caller cannot tell which).
    async fn revoke_user_token(&self, user_id: i64, id: i64, now: PrimitiveDateTime) -> StoreResult<bool>;
    /// Stores a refresh token's hash.
    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<i64>;
    /// Uses up the refresh token with this hash and stores `next` in its place,
    /// in one transaction; if it was used before, revokes its whole login
    /// instead (reuse detection). Two presenters of one token: one claims it,
    /// the other's reuse then revokes the login, the claimer's new tokens included.
    async fn claim_refresh_token(
        &self,
        hash: [u8; 32],
        next: NextTokens,
        now: PrimitiveDateTime,
    ) -> StoreResult<RefreshClaim>;
    /// Revokes every live token of a user except `keep`; returns how many.
    async fn revoke_user_tokens(&self, user_id: i64, keep: Option<i64>, now: PrimitiveDateTime) -> StoreResult<u64>;
    /// Stores a client token: an access token of its admin (`token.user_id`)
    /// limited to `client.scopes`, in one transaction.
    async fn insert_client_token(&self, token: NewToken, client: ClientToken) -> StoreResult<i64>;
}

#[async_trait]
impl<DB> TokenStore for SqlStore<DB>
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
    async fn insert_token(&self, token: NewToken) -> StoreResult<i64> {
        Self::insert_token_row(&mut *self.connections.acquire().await?, &token).await
    }

    async fn token_by_hash(&self, hash: [u8; 32]) -> StoreResult<Option<TokenRecord>> {
        use sqlx::Row;
        let row = sqlx::query(
            "SELECT t.id, t.user_id, u.role, t.expires_at, t.revoked_at, c.scopes
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             LEFT JOIN client_tokens c ON c.token_id = t.id WHERE t.token_hash = ?",
        )
        .bind(&hash[..])
        .fetch_optional(&mut *self.connections.acquire().await?)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TokenRecord {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            role: super::users::role(&row.try_get::<String, _>("role")?)?,
            expires_at: row.try_get("expires_at")?,
            revoked_at: row.try_get("revoked_at")?,
            scopes: row.try_get::<Option<String>, _>("scopes")?.map(|s| scope_list(&s)),
        }))
    }

    async fn touch_token(&self, id: i64, now: PrimitiveDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&mut *self.connections.acquire().await?)
            .await?;
        Ok(())
    }

    async fn revoke_token(&self, id: i64, now: PrimitiveDateTime) -> StoreResult<bool> {
        let mut connection = self.connections.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        let result = sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Self::revoke_login_refresh_tokens(&mut *tx, id, now).await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&result) > 0)
    }

    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<i64> {
        Self::insert_refresh_token_row(&mut *self.connections.acquire().await?, &token).await
    }

    async fn claim_refresh_token(
        &self,
        hash: [u8; 32],
        next: NextTokens,
        now: PrimitiveDateTime,
    ) -> StoreResult<RefreshClaim> {
        use sqlx::Row;
        let mut connection = self.connections.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        // The write first: two presenters of one token are serialized on
        // it (InnoDB row lock; SQLite's write lock), so only one claims it.
        let claimed = DB::rows_affected(
            &sqlx::query(
                "UPDATE refresh_tokens SET used_at = ?
             WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
            )
            .bind(now)
            .bind(&hash[..])
            .bind(now)
            .execute(&mut *tx)
            .await?,
        ) == 1;
        let row =
            sqlx::query("SELECT user_id, family_id, used_at, revoked_at FROM refresh_tokens WHERE token_hash = ?")
                .bind(&hash[..])
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else { return Ok(RefreshClaim::Invalid) };
        let (user_id, family_id): (i64, i64) = (row.try_get("user_id")?, row.try_get("family_id")?);
        if claimed {
            let access = NewToken {
                user_id,
                hash: next.access_hash,
                client_ip: next.client_ip,
                user_agent: next.user_agent,
                created_at: next.created_at,
                expires_at: next.access_expires_at,
            };
            let access_token_id = Self::insert_token_row(&mut *tx, &access).await?;
            let refresh = NewRefreshToken {
                user_id,
                family_id,
                hash: next.refresh_hash,
                access_token_id,
                created_at: next.created_at,
                expires_at: next.refresh_expires_at,
            };
            Self::insert_refresh_token_row(&mut *tx, &refresh).await?;
            tx.commit().await?;
            return Ok(RefreshClaim::Claimed { user_id, access_token_id });
        }
        let used: Option<PrimitiveDateTime> = row.try_get("used_at")?;
        let revoked: Option<PrimitiveDateTime> = row.try_get("revoked_at")?;
        if used.is_none() || revoked.is_some() {
            return Ok(RefreshClaim::Invalid);
        }
        // Used before: someone holds a copy. End the whole login.
        let revoked_access_tokens = sqlx::query(
            "SELECT t.id FROM api_tokens t JOIN refresh_tokens r ON r.access_token_id = t.id
             WHERE r.family_id = ? AND t.revoked_at IS NULL",
        )
        .bind(family_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<Vec<i64>, _>>()?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = ? WHERE revoked_at IS NULL
             AND id IN (SELECT access_token_id FROM refresh_tokens WHERE family_id = ?)",
        )
        .bind(now)
        .bind(family_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(family_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RefreshClaim::Reused { user_id, revoked_access_tokens })
    }

    async fn live_tokens(&self, user_id: i64, now: PrimitiveDateTime) -> StoreResult<Vec<LiveToken>> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT t.id, t.client_ip, t.user_agent, t.created_at, t.expires_at, t.last_used_at,
                    c.name, c.scopes
             FROM api_tokens t LEFT JOIN client_tokens c ON c.token_id = t.id
             WHERE t.user_id = ? AND t.revoked_at IS NULL AND t.expires_at > ?
             ORDER BY t.id DESC LIMIT ?",
        )
        .bind(user_id)
        .bind(now)
        .bind(LIVE_TOKENS_LISTED)
        .fetch_all(&mut *self.connections.acquire().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LiveToken {
                    id: row.try_get("id")?,
                    client_ip: row.try_get("client_ip")?,
                    user_agent: row.try_get("user_agent")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                    client: match (row.try_get("name")?, row.try_get::<Option<String>, _>("scopes")?) {
                        (Some(name), Some(scopes)) => Some(ClientToken { name, scopes: scope_list(&scopes) }),
                        _ => None,
                    },
                })
            })
            .collect()
    }

    async fn revoke_user_token(&self, user_id: i64, id: i64, now: PrimitiveDateTime) -> StoreResult<bool> {
        let mut connection = self.connections.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        let result = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ?
             WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(now)
        .bind(id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&result) == 0 {
            return Ok(false);
        }
        Self::revoke_login_refresh_tokens(&mut *tx, id, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_user_tokens(&self, user_id: i64, keep: Option<i64>, now: PrimitiveDateTime) -> StoreResult<u64> {
        Self::revoke_tokens_except(&mut *self.connections.acquire().await?, user_id, keep, now).await
    }

    async fn insert_client_token(&self, token: NewToken, client: ClientToken) -> StoreResult<i64> {
        let mut connection = self.connections.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        let id = Self::insert_token_row(&mut *tx, &token).await?;
        sqlx::query("INSERT INTO client_tokens (token_id, name, scopes) VALUES (?, ?, ?)")
            .bind(id)
            .bind(&client.name)
            .bind(client.scopes.join(" "))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
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
    /// Revokes a user's live tokens except `keep`, and the refresh tokens of
    /// every login but `keep`'s, on a connection or inside a transaction.
    pub(super) async fn revoke_tokens_except(
        connection: &mut DB::Connection,
        user_id: i64,
        keep: Option<i64>,
        now: PrimitiveDateTime,
    ) -> StoreResult<u64> {
        let result = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ?
             WHERE user_id = ? AND revoked_at IS NULL AND id <> COALESCE(?, -1)",
        )
        .bind(now)
        .bind(user_id)
        .bind(keep)
        .execute(&mut *connection)
        .await?;
        // The derived table lets MySQL read the table it updates.
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ?
             WHERE user_id = ? AND revoked_at IS NULL AND family_id NOT IN
               (SELECT family_id FROM (SELECT family_id FROM refresh_tokens WHERE access_token_id = ?) AS kept)",
        )
        .bind(now)
        .bind(user_id)
        .bind(keep)
        .execute(&mut *connection)
        .await?;
        Ok(DB::rows_affected(&result))
    }

    /// Inserts an access token; its id.
    async fn insert_token_row(connection: &mut DB::Connection, token: &NewToken) -> StoreResult<i64> {
        let result = sqlx::query(
            "INSERT INTO api_tokens (user_id, token_hash, client_ip, user_agent, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(token.user_id)
        .bind(&token.hash[..])
        .bind(&token.client_ip)
        .bind(&token.user_agent)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&mut *connection)
        .await?;
        Ok(DB::inserted_id(&result))
    }

    /// Inserts a refresh token; its id.
    async fn insert_refresh_token_row(connection: &mut DB::Connection, token: &NewRefreshToken) -> StoreResult<i64> {
        let result = sqlx::query(
            "INSERT INTO refresh_tokens (user_id, family_id, token_hash, access_token_id, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(token.user_id)
        .bind(token.family_id)
        .bind(&token.hash[..])
        .bind(token.access_token_id)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&mut *connection)
        .await?;
        Ok(DB::inserted_id(&result))
    }

    /// Revokes the refresh tokens of the login access token `access_token_id` belongs to.
    async fn revoke_login_refresh_tokens(
        connection: &mut DB::Connection,
        access_token_id: i64,
        now: PrimitiveDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ?
             WHERE revoked_at IS NULL AND family_id IN
               (SELECT family_id FROM (SELECT family_id FROM refresh_tokens WHERE access_token_id = ?) AS login)",
        )
        .bind(now)
        .bind(access_token_id)
        .execute(&mut *connection)
        .await?;
        Ok(())
    }
}

/// Stored scopes (space-separated) as a list.
fn scope_list(stored: &str) -> Vec<String> {
    stored.split_whitespace().map(str::to_owned).collect()
}
