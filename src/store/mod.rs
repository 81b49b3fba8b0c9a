//! Persistence of users, API tokens and the chat behind one [`Store`] trait, with a
//! MySQL/MariaDB implementation (production) and an SQLite one (the embedded,
//! zero-setup default). Handlers see only the trait; the store never sees frames.

#[macro_use]
mod sql;
mod chat;
mod connections;
mod mysql;
mod sqlite;

use std::future::Future;

use time::PrimitiveDateTime;

pub use chat::{
    ChatStore, InsertedMessage, MemberRecord, MemberRole, MemberStatus, Membership, MessageRecord, NewMessage,
    RoomKind, RoomRecord, RoomSummaryRecord,
};
pub use mysql::MySqlStore;
pub use sqlite::SqliteStore;

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

/// An email verification code to store (its SHA-256 only).
#[derive(Debug, Clone)]
pub struct VerificationCode {
    /// SHA-256 of the code.
    pub hash: [u8; 32],
    /// When it stops being accepted (UTC).
    pub expires_at: PrimitiveDateTime,
    /// When it is mailed (UTC): resends are throttled from it.
    pub sent_at: PrimitiveDateTime,
}

/// What presenting an email verification code did ([`Store::verify_email`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The code was right: the account is verified now.
    Verified,
    /// A wrong code; counted against the attempts.
    Wrong,
    /// The code expired: ask for a new one.
    Expired,
    /// Too many wrong codes: ask for a new one.
    Exhausted,
    /// Nothing to verify: no such user, or already verified.
    NotPending,
}

/// How many wrong codes an account may enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptBudget {
    /// Against one code (a resend brings a new code and starts this over).
    pub per_code: u32,
    /// In a day, across resends (what bounds guessing in the end).
    pub per_day: u32,
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

/// Users and tokens, and (through [`ChatStore`]) rooms and messages. Every
/// query is parameterized; implementations differ only in their driver.
pub trait Store: ChatStore + Send + Sync + 'static {
    /// Applies the migrations the database has not had yet (all of them to a
    /// new one). A database made before migrations existed takes the first as
    /// a no-op (it only creates what is missing).
    fn migrate(&self) -> impl Future<Output = StoreResult<()>> + Send;
    /// Whether the database answers.
    fn ping(&self) -> impl Future<Output = bool> + Send;
    /// Inserts a user; `Conflict` if the email is taken.
    fn create_user(&self, user: NewUser) -> impl Future<Output = StoreResult<i64>> + Send;
    /// A user by id.
    fn user_by_id(&self, id: i64) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// A user by email, regardless of case.
    fn user_by_email(&self, email: &str) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// All users, by id.
    fn list_users(&self) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// Applies `changes` and, with `revoke`, revokes the user's tokens, in one
    /// transaction: either both happen or neither. `None` if there is no such
    /// user, else how many tokens were revoked; `Conflict` on a taken email.
    fn update_user(
        &self,
        id: i64,
        changes: UserChanges,
        revoke: Option<RevokeTokens>,
        now: PrimitiveDateTime,
    ) -> impl Future<Output = StoreResult<Option<u64>>> + Send;
    /// Deletes a user (its tokens go with it; users it managed become unmanaged).
    fn delete_user(&self, id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Stores a token's hash.
    fn insert_token(&self, token: NewToken) -> impl Future<Output = StoreResult<i64>> + Send;
    /// A token by hash, with its owner's current role.
    fn token_by_hash(&self, hash: [u8; 32]) -> impl Future<Output = StoreResult<Option<TokenRecord>>> + Send;
    /// Records that a token was just used.
    fn touch_token(&self, id: i64, now: PrimitiveDateTime) -> impl Future<Output = StoreResult<()>> + Send;
    /// Revokes one token; `false` if it was already revoked or does not exist.
    fn revoke_token(&self, id: i64, now: PrimitiveDateTime) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The user's live (unrevoked, unexpired) tokens, the newest
    /// [`LIVE_TOKENS_LISTED`] first.
    fn live_tokens(
        &self,
        user_id: i64,
        now: PrimitiveDateTime,
    ) -> impl Future<Output = StoreResult<Vec<LiveToken>>> + Send;
    /// Revokes token `id` if it is a live token of `user_id`; `false` otherwise
    /// (someone else's, revoked, expired or unknown: the caller cannot tell which).
    fn revoke_user_token(
        &self,
        user_id: i64,
        id: i64,
        now: PrimitiveDateTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Stores a refresh token's hash.
    fn insert_refresh_token(&self, token: NewRefreshToken) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Uses up the refresh token with this hash and stores `next` in its place,
    /// in one transaction; if it was used before, revokes its whole login
    /// instead (reuse detection). Two presenters of one token: one claims it,
    /// the other's reuse then revokes the login, the claimer's new tokens included.
    fn claim_refresh_token(
        &self,
        hash: [u8; 32],
        next: NextTokens,
        now: PrimitiveDateTime,
    ) -> impl Future<Output = StoreResult<RefreshClaim>> + Send;
    /// Revokes every live token of a user except `keep`; returns how many.
    fn revoke_user_tokens(
        &self,
        user_id: i64,
        keep: Option<i64>,
        now: PrimitiveDateTime,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Stores a client token: an access token of its admin (`token.user_id`)
    /// limited to `client.scopes`, in one transaction.
    fn insert_client_token(
        &self,
        token: NewToken,
        client: ClientToken,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Inserts a user who must verify their email before logging in, with the
    /// first code, in one transaction; `Conflict` if the email is taken.
    fn create_unverified_user(
        &self,
        user: NewUser,
        code: VerificationCode,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Whether the user has yet to verify their email.
    fn is_unverified(&self, user_id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Checks a verification code: a right one verifies the account (once); a
    /// wrong one is counted, and none is accepted once `budget` is spent.
    fn verify_email(
        &self,
        user_id: i64,
        hash: [u8; 32],
        now: PrimitiveDateTime,
        budget: AttemptBudget,
    ) -> impl Future<Output = StoreResult<Verification>> + Send;
    /// Replaces the pending verification code of the account with this email
    /// (its own attempts start over, the day's do not) unless the current one
    /// was sent after `sent_before`; whether it did, so the caller mails the
    /// new code only then. An unknown or verified email changes nothing.
    fn renew_verification_code(
        &self,
        email: &str,
        code: VerificationCode,
        sent_before: PrimitiveDateTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Marks the user's email verified (an admin's word for it); whether it was pending.
    fn mark_email_verified(&self, user_id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// The store chosen at start-up from `DATABASE_URL`.
#[derive(Debug, Clone)]
pub enum Database {
    /// `mysql://...` or `mariadb://...`.
    MySql(MySqlStore),
    /// `sqlite:...` (the default when no URL is given).
    Sqlite(SqliteStore),
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
        match DatabaseUrl::parse(url)? {
            DatabaseUrl::MySql(url) => Ok(Database::MySql(MySqlStore::connect(&url).await?)),
            DatabaseUrl::SqliteFile(url) => Database::sqlite(SqliteStore::connect(&url).await?).await,
            DatabaseUrl::SqliteMemory => Database::sqlite(SqliteStore::in_memory().await?).await,
        }
    }

    async fn sqlite(store: SqliteStore) -> StoreResult<Database> {
        store.migrate().await?;
        Ok(Database::Sqlite(store))
    }

    /// Creates the database `url` names if it does not exist yet (MySQL/MariaDB;
    /// SQLite creates its file by itself). Returns whether it was created.
    pub async fn create_if_missing(url: &str) -> StoreResult<bool> {
        match DatabaseUrl::parse(url)? {
            DatabaseUrl::MySql(url) => MySqlStore::create_database_if_missing(&url).await,
            DatabaseUrl::SqliteFile(_) | DatabaseUrl::SqliteMemory => Ok(false),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Database::MySql($store) => $call.await,
            Database::Sqlite($store) => $call.await,
        }
    };
}

impl Store for Database {
    async fn migrate(&self) -> StoreResult<()> {
        delegate!(self, s => s.migrate())
    }
    async fn ping(&self) -> bool {
        delegate!(self, s => s.ping())
    }
    async fn create_user(&self, user: NewUser) -> StoreResult<i64> {
        delegate!(self, s => s.create_user(user))
    }
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        delegate!(self, s => s.user_by_id(id))
    }
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        delegate!(self, s => s.user_by_email(email))
    }
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        delegate!(self, s => s.list_users())
    }
    async fn update_user(
        &self,
        id: i64,
        changes: UserChanges,
        revoke: Option<RevokeTokens>,
        now: PrimitiveDateTime,
    ) -> StoreResult<Option<u64>> {
        delegate!(self, s => s.update_user(id, changes, revoke, now))
    }
    async fn delete_user(&self, id: i64) -> StoreResult<bool> {
        delegate!(self, s => s.delete_user(id))
    }
    async fn insert_token(&self, token: NewToken) -> StoreResult<i64> {
        delegate!(self, s => s.insert_token(token))
    }
    async fn token_by_hash(&self, hash: [u8; 32]) -> StoreResult<Option<TokenRecord>> {
        delegate!(self, s => s.token_by_hash(hash))
    }
    async fn touch_token(&self, id: i64, now: PrimitiveDateTime) -> StoreResult<()> {
        delegate!(self, s => s.touch_token(id, now))
    }
    async fn revoke_token(&self, id: i64, now: PrimitiveDateTime) -> StoreResult<bool> {
        delegate!(self, s => s.revoke_token(id, now))
    }
    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<i64> {
        delegate!(self, s => s.insert_refresh_token(token))
    }
    async fn claim_refresh_token(
        &self,
        hash: [u8; 32],
        next: NextTokens,
        now: PrimitiveDateTime,
    ) -> StoreResult<RefreshClaim> {
        delegate!(self, s => s.claim_refresh_token(hash, next, now))
    }
    async fn live_tokens(&self, user_id: i64, now: PrimitiveDateTime) -> StoreResult<Vec<LiveToken>> {
        delegate!(self, s => s.live_tokens(user_id, now))
    }
    async fn revoke_user_token(&self, user_id: i64, id: i64, now: PrimitiveDateTime) -> StoreResult<bool> {
        delegate!(self, s => s.revoke_user_token(user_id, id, now))
    }
    async fn revoke_user_tokens(&self, user_id: i64, keep: Option<i64>, now: PrimitiveDateTime) -> StoreResult<u64> {
        delegate!(self, s => s.revoke_user_tokens(user_id, keep, now))
    }
    async fn insert_client_token(&self, token: NewToken, client: ClientToken) -> StoreResult<i64> {
        delegate!(self, s => s.insert_client_token(token, client))
    }
    async fn create_unverified_user(&self, user: NewUser, code: VerificationCode) -> StoreResult<i64> {
        delegate!(self, s => s.create_unverified_user(user, code))
    }
    async fn is_unverified(&self, user_id: i64) -> StoreResult<bool> {
        delegate!(self, s => s.is_unverified(user_id))
    }
    async fn verify_email(
        &self,
        user_id: i64,
        hash: [u8; 32],
        now: PrimitiveDateTime,
        budget: AttemptBudget,
    ) -> StoreResult<Verification> {
        delegate!(self, s => s.verify_email(user_id, hash, now, budget))
    }
    async fn renew_verification_code(
        &self,
        email: &str,
        code: VerificationCode,
        sent_before: PrimitiveDateTime,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.renew_verification_code(email, code, sent_before))
    }
    async fn mark_email_verified(&self, user_id: i64) -> StoreResult<bool> {
        delegate!(self, s => s.mark_email_verified(user_id))
    }
}

impl ChatStore for Database {
    async fn direct_room(&self, caller: i64, other: i64, now: PrimitiveDateTime) -> StoreResult<(RoomRecord, bool)> {
        delegate!(self, s => s.direct_room(caller, other, now))
    }
    async fn create_group_room(
        &self,
        owner: i64,
        name: &str,
        members: &[i64],
        now: PrimitiveDateTime,
    ) -> StoreResult<RoomRecord> {
        delegate!(self, s => s.create_group_room(owner, name, members, now))
    }
    async fn room(&self, id: i64) -> StoreResult<Option<RoomRecord>> {
        delegate!(self, s => s.room(id))
    }
    async fn membership(&self, room: i64, user: i64) -> StoreResult<Option<Membership>> {
        delegate!(self, s => s.membership(room, user))
    }
    async fn join_room(&self, room: i64, user: i64) -> StoreResult<bool> {
        delegate!(self, s => s.join_room(room, user))
    }
    async fn add_member(&self, room: i64, user: i64, now: PrimitiveDateTime) -> StoreResult<bool> {
        delegate!(self, s => s.add_member(room, user, now))
    }
    async fn leave_room(&self, room: i64, user: i64) -> StoreResult<bool> {
        delegate!(self, s => s.leave_room(room, user))
    }
    async fn members(&self, room: i64) -> StoreResult<Vec<MemberRecord>> {
        delegate!(self, s => s.members(room))
    }
    async fn member_ids(&self, room: i64) -> StoreResult<Vec<(i64, MemberStatus)>> {
        delegate!(self, s => s.member_ids(room))
    }
    async fn rooms_of(&self, user: i64) -> StoreResult<Vec<RoomSummaryRecord>> {
        delegate!(self, s => s.rooms_of(user))
    }
    async fn insert_message(&self, message: NewMessage) -> StoreResult<InsertedMessage> {
        delegate!(self, s => s.insert_message(message))
    }
    async fn history(&self, room: i64, before: Option<i64>, limit: u32) -> StoreResult<Vec<MessageRecord>> {
        delegate!(self, s => s.history(room, before, limit))
    }
    async fn message_in_room(&self, room: i64, message: i64) -> StoreResult<bool> {
        delegate!(self, s => s.message_in_room(room, message))
    }
    async fn mark_read(&self, room: i64, user: i64, message: i64) -> StoreResult<bool> {
        delegate!(self, s => s.mark_read(room, user, message))
    }
    async fn peers_of(&self, user: i64) -> StoreResult<Vec<i64>> {
        delegate!(self, s => s.peers_of(user))
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
