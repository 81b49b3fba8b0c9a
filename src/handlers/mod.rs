//! The hand-written side of the contract: [`App`] is the context of the
//! generated API (`specserve_runtime::Context`: the token check, binding
//! connections in the hub, presence, the spec's rate-limit classes and audit
//! lines) and implements its groups (`AuthApi`, `UserApi`, `TokenApi`, and the
//! chat's `RoomApi`, `MessageApi`, `PresenceApi`) over a [`Store`].
//!
//! Who may touch whom: any authenticated user may create users, who are then
//! managed by their creator; read, update and delete are allowed on yourself, on
//! users you manage whose role is not above yours, and on anyone for an admin;
//! everything else is `forbidden`.

mod auth;
mod chat;
pub mod cookies;
mod sessions;
mod users;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use specserve_runtime::context::CredentialSource;
use specserve_runtime::hub::{Audience, Hub, Position};
use specserve_runtime::rate_limit::KeyedLimiter;
use specserve_runtime::{ApiError, AuditRecord, ConnectionInfo, Credential};

use crate::api::{AuditEvent, ErrorCode, Handlers, Policy, PresenceChanged, Publisher, RateClass, Role, Scope};
use crate::cluster::{Cluster, ClusterConfig, ClusterError, ClusterEvent, Notice, PositionCheck};
use crate::mail::{Mailer, Outbox};
use crate::security::Identity;
use crate::security::audit::AuditLog;
use crate::security::login_throttle::LoginThrottle;
use crate::security::passwords::Passwords;
use crate::security::secret::Secret;
use crate::security::tokens::{self, TokenCache};
use crate::store::{AttemptBudget, Database, StoreError, TokenRecord, User, now_utc, to_stored};

/// Tunables of the auth and user routes. Every per-key limit is sustained per
/// minute, with bursts of a third of it (at least one).
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// How long a new token lives.
    pub token_ttl: Duration,
    /// How long an access token lives when the login asked for a refresh token.
    pub access_token_ttl: Duration,
    /// How long a refresh token lives (each auth/refresh issues a new one).
    pub refresh_token_ttl: Duration,
    /// How long a checked token is trusted before the store is asked again
    /// (what revocations from another process, such as the CLI, may take).
    pub token_cache_ttl: Duration,
    /// Password hashing threads (the cores): concurrent hashes at most.
    pub hash_threads: usize,
    /// auth/* requests per minute per client IP.
    pub auth_per_ip_per_minute: f64,
    /// Failed log-ins per minute per account and client IP.
    pub login_failures_per_minute: f64,
    /// Failed log-ins per minute per account from addresses that never logged into it.
    pub login_failures_per_account_per_minute: f64,
    /// user/create per minute per creator.
    pub creates_per_minute: f64,
    /// Password changes (user/update with `password`) per minute per caller.
    pub password_changes_per_minute: f64,
    /// When set, no account logs in before its email is verified with a
    /// code mailed to it (`--require-email-verification`).
    pub email_verification: Option<EmailVerification>,
    /// How long a verification code is accepted.
    pub verification_code_ttl: Duration,
    /// The least time between two verification mails to one account.
    pub verification_resend_interval: Duration,
}

/// Email verification's settings.
#[derive(Debug, Clone)]
pub struct EmailVerification {
    /// Sends the codes.
    pub mailer: Mailer,
    /// Keys the stored codes (`--secret-file`): outside the database, so a
    /// copy of it cannot be searched for them.
    pub secret: Secret,
}

/// Wrong codes an account may enter: 5 against one code (then a new one must
/// be asked for), 20 a day across resends, so a day's guessing has 20 chances
/// in a million whatever the resend interval.
pub const VERIFICATION_ATTEMPTS: AttemptBudget = AttemptBudget { per_code: 5, per_day: 20 };

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            token_cache_ttl: Duration::from_secs(5),
            hash_threads: std::thread::available_parallelism().map_or(2, usize::from),
            auth_per_ip_per_minute: 60.0,
            login_failures_per_minute: 10.0,
            login_failures_per_account_per_minute: 60.0,
            creates_per_minute: 60.0,
            password_changes_per_minute: 6.0,
            email_verification: None,
            verification_code_ttl: Duration::from_secs(10 * 60),
            verification_resend_interval: Duration::from_secs(60),
        }
    }
}

/// The application: store, security services and policy.
#[derive(Debug)]
pub struct App {
    store: Database,
    config: AppConfig,
    passwords: Passwords,
    tokens: TokenCache,
    /// Pushes events through the hub the server was started with.
    publisher: Publisher,
    /// Per-room order: a message is stored and pushed under its room's lock.
    room_locks: chat::RoomLocks,
    audit: AuditLog,
    per_ip: KeyedLimiter<IpAddr>,
    logins: LoginThrottle,
    per_creator: KeyedLimiter<i64>,
    password_changes: KeyedLimiter<i64>,
    /// Mail sent after the reply, with email verification.
    outbox: Option<Outbox>,
    /// "Registered already" mails per address: one a minute at most, however
    /// often someone tries to register it.
    owner_notices: KeyedLimiter<String>,
    /// The other nodes, when clustered (`--cluster-url`).
    cluster: std::sync::OnceLock<Arc<Cluster>>,
}

impl App {
    /// An app over `store`, auditing to `audit`, pushing events through `hub`
    /// (give the server the same hub).
    pub fn new(store: Database, config: AppConfig, audit: AuditLog, hub: Hub) -> Result<Self, ApiError> {
        // Another app on the same hub set the same hook already.
        let _ = hub.on_receipt(Arc::new(chat::deliver_receipt));
        Ok(App {
            passwords: Passwords::new(config.hash_threads)?,
            tokens: TokenCache::new(config.token_cache_ttl),
            publisher: Publisher::new(hub),
            room_locks: chat::RoomLocks::default(),
            per_ip: KeyedLimiter::per_minute_with_third_burst(config.auth_per_ip_per_minute),
            logins: LoginThrottle::new(config.login_failures_per_minute, config.login_failures_per_account_per_minute),
            per_creator: KeyedLimiter::per_minute_with_third_burst(config.creates_per_minute),
            password_changes: KeyedLimiter::per_minute_with_third_burst(config.password_changes_per_minute),
            outbox: config.email_verification.as_ref().map(|v| Outbox::new(v.mailer.clone())),
            owner_notices: KeyedLimiter::per_minute(1.0, 1.0),
            store,
            config,
            audit,
            cluster: std::sync::OnceLock::new(),
        })
    }

    /// Joins the nodes `config` names: events published through this app's
    /// hub reach their connections and theirs reach this node's (once the
    /// store confirms their place in their room); revocations are announced
    /// to them and theirs are applied here, for as long as the app lives.
    pub async fn join_cluster(self: &Arc<Self>, config: ClusterConfig) -> Result<Arc<Cluster>, ClusterError> {
        let app = Arc::downgrade(self);
        let positions: PositionCheck = Arc::new(move |position: Position| {
            let app = app.clone();
            Box::pin(async move {
                let Some(app) = app.upgrade() else { return false };
                match app.store.message_in_room(position.stream, position.id).await {
                    Ok(stored) => stored,
                    Err(error) => {
                        tracing::warn!(%error, "a cluster event's position could not be checked: dropped");
                        false
                    }
                }
            })
        });
        let (cluster, mut events) = Cluster::join(config, self.hub().clone(), positions).await?;
        if self.cluster.set(Arc::clone(&cluster)).is_err()
            || self.hub().attach_bus(Arc::clone(&cluster) as Arc<dyn specserve_runtime::hub::Bus>).is_err()
        {
            return Err(ClusterError::AlreadyJoined);
        }
        let app = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let Some(app) = app.upgrade() else { return };
                match event {
                    ClusterEvent::Notice(notice) => app.apply(notice).await,
                    ClusterEvent::NodeLost { online } => app.lost_elsewhere(online).await,
                    ClusterEvent::PresenceElsewhere { principal, online } => {
                        app.changed_elsewhere(&principal, online).await;
                    }
                }
            }
        });
        Ok(cluster)
    }

    /// Another node was lost with `online` on it: those no longer online
    /// anywhere go offline for this node's users (every node tells its own).
    async fn lost_elsewhere(&self, online: Vec<String>) {
        for user in online.iter().filter_map(|principal| principal.parse::<i64>().ok()) {
            if !self.is_online(user) {
                self.push_presence(user, false, true).await;
            }
        }
    }

    /// `principal` came online or went offline on the other nodes: this
    /// node's users hear it unless the user is online here (then nothing
    /// changed for them).
    async fn changed_elsewhere(&self, principal: &str, online: bool) {
        if let Ok(user) = principal.parse::<i64>()
            && !self.hub().is_online(principal)
        {
            self.push_presence(user, online, true).await;
        }
    }

    /// Repeats another node's revocation for this node's cache and
    /// connections; a user it takes offline here is announced as any
    /// offline is, so their peers hear it once the last node lets go.
    async fn apply(&self, notice: Notice) {
        let offline = match notice {
            Notice::SessionEnded { user, token } => {
                self.tokens.revoke_token(token);
                self.hub().unbind_session(&user.to_string(), token.unsigned_abs()).then_some(user)
            }
            Notice::SessionsEnded { user, keep } => {
                self.tokens.revoke_user(user, keep);
                self.hub().unbind_principal(&user.to_string(), keep.map(i64::unsigned_abs)).then_some(user)
            }
            Notice::UserChanged { user } => {
                self.tokens.revoke_user(user, None);
                None
            }
            Notice::UserDeleted { user } => {
                // Its connections close, and it is offline here from now on.
                self.tokens.revoke_user(user, None);
                (self.hub().close_principal(&user.to_string(), None) > 0).then_some(user)
            }
        };
        if let Some(user) = offline {
            self.announce_presence(user, false).await;
        }
    }

    /// The stored token with this hash if it is neither revoked nor expired at `now`.
    async fn live_token(&self, hash: [u8; 32], now: PrimitiveDateTime) -> Result<Option<TokenRecord>, ApiError> {
        let record = self.store.token_by_hash(hash).await.map_err(store_error)?;
        Ok(record.filter(|r| r.revoked_at.is_none() && r.expires_at > now))
    }

    /// Tells the other nodes, if any.
    fn announce(&self, notice: Notice) {
        if let Some(cluster) = self.cluster.get() {
            cluster.announce(notice);
        }
    }

    /// The store (for the CLI and tests).
    pub fn store(&self) -> &Database {
        &self.store
    }

    /// The hub the app binds connections in and pushes events through.
    pub fn hub(&self) -> &Hub {
        self.publisher.hub()
    }

    /// Binds `connection` to the user `identity` authenticated (once per
    /// token per connection); returns whether the user came online with it.
    /// Client tokens are programs acting for their admin: they bind nothing.
    /// Called under the token cache's lock (`TokenCache::get`), so a
    /// revocation (which unbinds or closes the user's connections) is either
    /// before it and refused it, or after it and undoes it.
    fn bind(&self, connection: &ConnectionInfo, identity: &Identity) -> bool {
        if identity.is_client() {
            return false;
        }
        let principal = identity.user_id.to_string();
        let session = identity.token_id.unsigned_abs();
        !self.hub().is_bound(connection.id(), &principal, session)
            && self.hub().bind(connection.id(), &principal, session)
    }

    /// Whether this node is in a cluster.
    fn is_clustered(&self) -> bool {
        self.cluster.get().is_some()
    }

    /// Whether `user` is online on this node or, in a cluster, on another.
    fn is_online(&self, user: i64) -> bool {
        let principal = user.to_string();
        self.hub().is_online(&principal) || self.cluster.get().is_some_and(|c| c.online_elsewhere(&principal))
    }

    /// Tells the users who share a room with `user` that it came online or
    /// went offline here. In a cluster every node tells its own users: this
    /// one when no other node has the user online (else nothing changed for
    /// them), the others when they hear it ([`Self::changed_elsewhere`]), so
    /// two nodes letting go at once still leave the user offline everywhere.
    async fn announce_presence(&self, user: i64, online: bool) {
        if let Some(cluster) = self.cluster.get() {
            let principal = user.to_string();
            cluster.presence_changed(&principal, online);
            if !cluster.online_elsewhere(&principal) {
                self.push_presence(user, online, true).await;
            }
            return;
        }
        self.push_presence(user, online, false).await;
    }

    /// Pushes `presence/changed` to the users who share a room with `user`:
    /// on every node, or on this one only (`here_only`).
    async fn push_presence(&self, user: i64, online: bool, here_only: bool) {
        match self.store.peers_of(user).await {
            Ok(peers) => {
                let peers: Vec<String> = peers.iter().map(i64::to_string).collect();
                let event = PresenceChanged { user_id: user, online };
                let audience = Audience::principals(&peers);
                let audience = if here_only { audience.here_only() } else { audience };
                if let Err(error) = self.publisher.presence_changed(audience, &event) {
                    tracing::error!(%error, "presence event not sent");
                }
            }
            Err(error) => tracing::warn!(%error, user, "presence not announced"),
        }
    }

    /// Records an event a handler knows of (beyond its operation's outcome,
    /// which the dispatcher records from the spec's `x-specserve-audit`).
    /// After token `token_id` of `user_id` was revoked in the store: the cache
    /// forgets it (after the write committed, so no concurrent load can cache it
    /// again), and connections bound through it get no more of the user's events.
    async fn end_session(&self, user_id: i64, token_id: i64) {
        self.tokens.revoke_token(token_id);
        self.announce(Notice::SessionEnded { user: user_id, token: token_id });
        if self.hub().unbind_session(&user_id.to_string(), token_id.unsigned_abs()) {
            self.announce_presence(user_id, false).await;
        }
    }

    /// After every token of `user_id` but `keep` was revoked in the store (a
    /// password change): as [`App::end_session`] for each, on every node.
    async fn end_user_sessions(&self, user_id: i64, keep: Option<i64>) {
        self.tokens.revoke_user(user_id, keep);
        self.announce(Notice::SessionsEnded { user: user_id, keep });
        if self.hub().unbind_principal(&user_id.to_string(), keep.map(i64::unsigned_abs)) {
            self.announce_presence(user_id, false).await;
        }
    }

    /// After a user's role changed: cached identities are stale on every node.
    fn forget_user(&self, user_id: i64) {
        self.tokens.revoke_user(user_id, None);
        self.announce(Notice::UserChanged { user: user_id });
    }

    /// After a user was deleted: its tokens are forgotten and its connections
    /// close, on every node; how many closed here.
    fn remove_user(&self, user_id: i64) -> usize {
        self.tokens.revoke_user(user_id, None);
        self.announce(Notice::UserDeleted { user: user_id });
        self.hub().close_principal(&user_id.to_string(), None)
    }

    /// Takes one of the client address's auth requests (`--auth-per-ip-per-minute`):
    /// every way to register or log in, frames and `POST /auth/login` alike.
    fn auth_budget(&self, connection: &ConnectionInfo) -> Result<(), ApiError> {
        if connection.client_ip().is_none_or(|ip| self.per_ip.try_take(&ip)) {
            return Ok(());
        }
        self.audit("rate_limited", None, None, connection, "auth");
        Err(ApiError::rate_limited())
    }

    fn audit(&self, event: &str, actor: Option<i64>, target: Option<i64>, connection: &ConnectionInfo, outcome: &str) {
        self.audit.record(event, actor, target, connection.client_ip(), outcome);
    }

    /// Loads `target` if `caller` may act on it (see [`may_act_on`]). Non-admins
    /// get `forbidden` for ids that do not exist too, so ids cannot be probed.
    async fn authorized_target(
        &self,
        caller: &Identity,
        target: i64,
        connection: &ConnectionInfo,
    ) -> Result<User, ApiError> {
        let user = self.store.user_by_id(target).await.map_err(store_error)?;
        match user {
            Some(user) if may_act_on(caller, &user) => Ok(user),
            None if caller.role == Role::Admin => Err(not_found("no such user")),
            _ => {
                self.audit("authorization_denied", Some(caller.user_id), Some(target), connection, "forbidden");
                Err(forbidden("not allowed on this user"))
            }
        }
    }
}

/// Whether `caller` may read, update or delete `target`: itself, anyone for an
/// admin, and the users it manages (created) unless their role is above its own:
/// a manager never reaches an account promoted past it.
fn may_act_on(caller: &Identity, target: &User) -> bool {
    caller.user_id == target.id
        || caller.role == Role::Admin
        || (target.created_by == Some(caller.user_id) && rank(target.role) <= rank(caller.role))
}

/// How far a role reaches; a role added to the spec must be ranked here.
fn rank(role: Role) -> u8 {
    match role {
        Role::User => 0,
        Role::Admin => 1,
    }
}

/// The generated API's context: the token check and the policy the spec asks for.
impl specserve_runtime::Context for App {
    type Principal = Identity;
    type Policy = Policy;

    async fn authenticate(
        &self,
        credential: Credential<'_>,
        connection: &ConnectionInfo,
    ) -> Result<Identity, ApiError> {
        let hash = tokens::hash(credential.value);
        let now = now_utc();
        let bind = |identity: &Identity| self.bind(connection, identity);
        if let Some((identity, came_online)) = self.tokens.get(&hash, now, bind) {
            if came_online {
                self.announce_presence(identity.user_id, true).await;
            }
            return Ok(identity);
        }
        // A revocation committing during the read makes it stale: read again.
        for _ in 0..STALE_READS {
            let ticket = self.tokens.begin_load();
            let Some(record) = self.live_token(hash, now).await? else {
                return Err(ApiError::unauthorized());
            };
            // Scopes the spec no longer has grant nothing.
            let scopes = record.scopes.map(|names| names.iter().filter_map(|n| Scope::from_wire(n)).collect());
            let identity = Identity { user_id: record.user_id, role: record.role, token_id: record.id, scopes };
            let Some(came_online) = self.tokens.insert(ticket, hash, identity.clone(), record.expires_at, bind) else {
                continue;
            };
            if came_online {
                self.announce_presence(identity.user_id, true).await;
            }
            // Best effort: a failed bookkeeping write must not fail the request.
            if let Err(error) = self.store.touch_token(record.id, now).await {
                tracing::debug!(%error, "could not record token use");
            }
            return Ok(identity);
        }
        Err(ApiError::unavailable("token reads kept racing revocations"))
    }

    /// The spec's scopes: see [`Identity::satisfies`].
    fn grants(&self, principal: &Identity, scheme: &specserve_runtime::context::Scheme) -> bool {
        principal.satisfies(scheme.scopes)
    }

    /// The spec's classes: `auth` per client IP, `create` per creator.
    fn rate_limit(
        &self,
        class: RateClass,
        connection: &ConnectionInfo,
        principal: Option<&Identity>,
    ) -> Result<(), ApiError> {
        let allowed = match (class, principal) {
            (RateClass::Auth, _) => return self.auth_budget(connection),
            (RateClass::Create, Some(caller)) => self.per_creator.try_take(&caller.user_id),
            // Secured: the dispatcher authenticated first, so a caller is there.
            (RateClass::Create, None) => true,
        };
        if allowed {
            return Ok(());
        }
        self.audit("rate_limited", principal.map(|p| p.user_id), None, connection, class.as_str());
        Err(ApiError::rate_limited())
    }

    fn audit(&self, record: &AuditRecord<'_, Identity, AuditEvent>) {
        let outcome = match record.outcome {
            Ok(()) => "success",
            Err(code) => code.as_str(),
        };
        let target = record.target.as_ref().and_then(serde_json::Value::as_i64);
        let actor = record.principal.map(|p| p.user_id);
        self.audit.record(record.event.as_str(), actor, target, record.connection.client_ip(), outcome);
    }

    async fn ready(&self) -> bool {
        self.store.ping().await
    }

    /// A bearer token (or the session cookie) on the upgrade binds the
    /// connection at once, so it gets the user's events before it sends anything.
    async fn connected(&self, connection: &ConnectionInfo) {
        let upgrade_token = connection
            .credential(CredentialSource::Bearer)
            .or_else(|| connection.credential(CredentialSource::Cookie(cookies::SESSION_COOKIE)));
        if let Some(token) = upgrade_token {
            let credential = Credential { scheme: "apiToken", value: token };
            if let Err(error) = specserve_runtime::Context::authenticate(self, credential, connection).await {
                tracing::debug!(code = %error.code(), "upgrade token not accepted; frames will say why");
            }
        }
    }

    /// The cookie log-in and log-out (see [`cookies`]).
    async fn http_post(&self, request: specserve_runtime::HttpPost<'_>) -> Option<specserve_runtime::HttpReply> {
        App::http_post(self, request).await
    }

    /// Users whose last connection this was went offline.
    async fn disconnected(&self, _connection: &ConnectionInfo, offline: &[Box<str>]) {
        for user in offline.iter().filter_map(|p| p.parse::<i64>().ok()) {
            self.announce_presence(user, false).await;
        }
    }
}

/// One type implements every group, over itself as the context.
impl Handlers for App {
    type Context = Self;
    type Auth = Self;
    type User = Self;
    type Room = Self;
    type Message = Self;
    type Presence = Self;
    type Token = Self;
}

/// `payload` checked against the spec's schema for message `message` (a frame
/// naming `channel`), then typed: how requests that do not arrive as frames
/// (the CLI, the cookie log-in) get exactly the frames' validation.
fn validated<T: serde::de::DeserializeOwned>(
    message: &str,
    channel: &str,
    payload: serde_json::Value,
) -> Result<T, ApiError> {
    let frame = serde_json::json!({ "channel": channel, "payload": payload });
    let mut frame = specserve_runtime::frame::Frame::from_value(frame, false)?;
    let validator = crate::api::message_validator(message).ok_or_else(|| ApiError::internal("no validator"))?;
    frame.validate(validator, None)?;
    frame.take("/payload")
}

/// `forbidden`, with a fixed message.
fn forbidden(message: &'static str) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, message)
}

/// `not_found`, with a fixed message.
fn not_found(message: &'static str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, message)
}

/// A store failure as the client sees it: `conflict`, `unavailable` or `internal`.
fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict => ApiError::new(ErrorCode::Conflict, "email is already registered"),
        StoreError::Unavailable(source) => {
            tracing::warn!(error = %source, "database unavailable");
            ApiError::unavailable(source)
        }
        StoreError::Other(source) => {
            tracing::error!(error = %source, "database error");
            ApiError::internal(source)
        }
        StoreError::InvalidUrl(message) => ApiError::internal(message),
        StoreError::Migrate(source) => ApiError::internal(source),
    }
}

/// Reads of one token that a revocation may make stale before a frame gives
/// up (`unavailable`): each is a revocation committing during a round trip.
const STALE_READS: usize = 3;

const WIRE_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// A stored UTC time as the wire shows it: `2025-05-22T10:00:00.000Z`.
///
/// Written digit by digit: most replies carry one, and the `time` crate's
/// general formatter cost about 1,900 instructions per call (2% of a
/// `user/read`'s, `bench/instructions.sh`). Years outside 0..=9999, which
/// no stored time has, go through it.
fn wire_time(at: PrimitiveDateTime) -> String {
    let (date, time) = (at.date(), at.time());
    // Years outside 0..=9999 (signed, or more digits) take the general formatter.
    let Some(year) = u16::try_from(date.year()).ok().filter(|year| *year <= 9999) else {
        return at.assume_utc().format(WIRE_TIME).unwrap_or_default();
    };
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, digits: usize, mut value: u16| {
        for place in text[at..at + digits].iter_mut().rev() {
            *place = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, u8::from(date.month()).into());
    put(8, 2, date.day().into());
    put(11, 2, time.hour().into());
    put(14, 2, time.minute().into());
    put(17, 2, time.second().into());
    put(20, 3, time.millisecond());
    text.iter().map(|&byte| char::from(byte)).collect()
}

/// `now + ttl`, in the stores' UTC representation.
fn expiry(ttl: Duration) -> PrimitiveDateTime {
    to_stored(OffsetDateTime::now_utc() + ttl)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

    use super::{WIRE_TIME, wire_time};

    fn general(at: PrimitiveDateTime) -> String {
        at.assume_utc().format(WIRE_TIME).expect("formats")
    }

    #[test]
    fn wire_time_writes_the_documented_form() {
        let at = PrimitiveDateTime::new(
            Date::from_calendar_date(2025, Month::May, 22).expect("a date"),
            Time::from_hms_milli(10, 0, 7, 45).expect("a time"),
        );
        assert_eq!(wire_time(at), "2025-05-22T10:00:07.045Z");
    }

    proptest! {
        /// Any time of years -9999..=9999, to the nanosecond, reads as the
        /// `time` crate's general formatter writes it.
        #[test]
        fn wire_time_agrees_with_the_general_formatter(
            seconds in -377_705_116_800i64..253_402_300_800,
            nanos in 0u32..1_000_000_000,
        ) {
            let at = OffsetDateTime::from_unix_timestamp(seconds).expect("in range")
                .replace_nanosecond(nanos).expect("a nanosecond");
            let at = PrimitiveDateTime::new(at.date(), at.time());
            prop_assert_eq!(wire_time(at), general(at));
        }
    }
}
