//! The hand-written side of the contract: [`App`] implements the generated
//! `AuthApi` and `UserApi` traits (and the token check) over a [`Store`].
//!
//! Who may touch whom: any authenticated user may create users, who are then
//! managed by their creator; read, update and delete are allowed on yourself, on
//! users you manage, and on anyone for an admin; everything else is `forbidden`.

mod auth;
mod users;

use std::net::IpAddr;
use std::time::Duration;

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::api::Role;
use crate::security::audit::{AuditEvent, AuditLog};
use crate::security::passwords::Passwords;
use crate::security::rate_limit::KeyedLimiter;
use crate::security::sessions::Sessions;
use crate::security::tokens::{self, TokenCache};
use crate::security::{Authenticate, Identity};
use crate::server::Readiness;
use crate::store::{Store, StoreError, User, now_utc, to_stored};
use crate::wire::{ApiError, RequestContext};

/// Tunables of the auth and user routes.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// How long a new token lives.
    pub token_ttl: Duration,
    /// How long a checked token is trusted before the store is asked again.
    pub token_cache_ttl: Duration,
    /// Password hashing threads (the cores): concurrent hashes at most.
    pub hash_threads: usize,
    /// auth/* requests per minute per client IP (sustained; burst is a third of it).
    pub auth_per_ip_per_minute: f64,
    /// auth/generateToken attempts per minute per account.
    pub login_per_account_per_minute: f64,
    /// user/create per minute per creator.
    pub create_per_minute: f64,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            token_cache_ttl: Duration::from_secs(5),
            hash_threads: std::thread::available_parallelism().map_or(2, usize::from),
            auth_per_ip_per_minute: 60.0,
            login_per_account_per_minute: 10.0,
            create_per_minute: 60.0,
        }
    }
}

/// The application: store, security services and policy.
#[derive(Debug)]
pub struct App<S> {
    store: S,
    config: AppConfig,
    passwords: Passwords,
    tokens: TokenCache,
    sessions: Sessions,
    audit: AuditLog,
    per_ip: KeyedLimiter<IpAddr>,
    per_account: KeyedLimiter<String>,
    per_creator: KeyedLimiter<i64>,
}

impl<S: Store> App<S> {
    /// An app over `store`, auditing to `audit`.
    pub fn new(store: S, config: AppConfig, audit: AuditLog) -> Result<Self, ApiError> {
        let burst = |per_minute: f64| (per_minute / 3.0).max(1.0);
        Ok(App {
            passwords: Passwords::new(config.hash_threads)?,
            tokens: TokenCache::new(config.token_cache_ttl),
            sessions: Sessions::default(),
            per_ip: KeyedLimiter::per_minute(config.auth_per_ip_per_minute, burst(config.auth_per_ip_per_minute)),
            per_account: KeyedLimiter::per_minute(
                config.login_per_account_per_minute,
                burst(config.login_per_account_per_minute),
            ),
            per_creator: KeyedLimiter::per_minute(config.create_per_minute, burst(config.create_per_minute)),
            store,
            config,
            audit,
        })
    }

    /// The store (for the CLI and tests).
    pub fn store(&self) -> &S {
        &self.store
    }

    fn audit(&self, event: AuditEvent, actor: Option<i64>, target: Option<i64>, ctx: &RequestContext, outcome: &str) {
        self.audit.record(event, actor, target, ctx.client_ip(), outcome);
    }

    /// Per-IP limit of the `auth` rate-limit class.
    fn limit_ip(&self, ctx: &RequestContext) -> Result<(), ApiError> {
        match ctx.client_ip() {
            Some(ip) if !self.per_ip.try_take(&ip) => {
                self.audit(AuditEvent::RateLimited, None, None, ctx, "per_ip");
                Err(ApiError::rate_limited())
            }
            _ => Ok(()),
        }
    }

    /// Loads `target` if `caller` may act on it: itself, a user it manages, or
    /// anyone for an admin. Non-admins get `forbidden` for ids that do not exist
    /// too, so ids cannot be probed.
    async fn authorized_target(&self, caller: &Identity, target: i64, ctx: &RequestContext) -> Result<User, ApiError> {
        let user = self.store.user_by_id(target).await.map_err(store_error)?;
        let allowed = |user: &User| {
            caller.role == Role::Admin || caller.user_id == user.id || user.created_by == Some(caller.user_id)
        };
        match user {
            Some(user) if allowed(&user) => Ok(user),
            None if caller.role == Role::Admin => Err(ApiError::not_found("no such user")),
            _ => {
                self.audit(AuditEvent::AuthorizationDenied, Some(caller.user_id), Some(target), ctx, "forbidden");
                Err(ApiError::forbidden("not allowed on this user"))
            }
        }
    }
}

impl<S: Store> Authenticate for App<S> {
    async fn authenticate(&self, token: &str, ctx: &RequestContext) -> Result<Identity, ApiError> {
        let hash = tokens::hash(token);
        let now = now_utc();
        if let Some(identity) = self.tokens.get(&hash, now) {
            self.sessions.register(identity.user_id, ctx);
            return Ok(identity);
        }
        let record = self.store.token_by_hash(hash).await.map_err(store_error)?;
        let Some(record) = record.filter(|r| r.revoked_at.is_none() && r.expires_at > now) else {
            return Err(ApiError::unauthorized());
        };
        let identity = Identity { user_id: record.user_id, role: record.role, token_id: record.id };
        self.tokens.insert(hash, identity.clone(), record.expires_at);
        self.sessions.register(identity.user_id, ctx);
        // Best effort: a failed bookkeeping write must not fail the request.
        if let Err(error) = self.store.touch_token(record.id, now).await {
            tracing::debug!(%error, "could not record token use");
        }
        Ok(identity)
    }
}

impl<S: Store> Readiness for App<S> {
    async fn ready(&self) -> bool {
        self.store.ping().await
    }
}

/// A store failure as the client sees it: `conflict`, `unavailable` or `internal`.
fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict => ApiError::conflict("email is already registered"),
        StoreError::Unavailable(source) => {
            tracing::warn!(error = %source, "database unavailable");
            ApiError::unavailable(source)
        }
        StoreError::Other(source) => {
            tracing::error!(error = %source, "database error");
            ApiError::internal(source)
        }
    }
}

const WIRE_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// A stored UTC time as the wire shows it: `2025-05-22T10:00:00.000Z`.
fn wire_time(at: PrimitiveDateTime) -> String {
    at.assume_utc().format(WIRE_TIME).unwrap_or_default()
}

/// `now + ttl`, in the stores' UTC representation.
fn expiry(ttl: Duration) -> PrimitiveDateTime {
    to_stored(OffsetDateTime::now_utc() + ttl)
}
