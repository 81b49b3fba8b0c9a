//! The hand-written side of the contract. [`App`] is the context of the
//! generated API (`specserve_runtime::Context`: the token check, the spec's
//! rate-limit classes and audit lines) and is made of parts: [`Accounts`]
//! (users, passwords, log-ins, verification, throttles), [`Sessions`] (the
//! token cache, bound connections, ending sessions on every node), [`Chat`]
//! (rooms and messages) and [`Presence`](crate::presence::Presence). Each
//! handler group is written over the parts it uses (`Part`, axum's
//! `FromRef`): [`AccountHandlers`] implements `AuthApi`, `UserApi` and
//! `TokenApi` over the accounts and sessions, [`ChatHandlers`] `RoomApi`,
//! `MessageApi` and `PresenceApi` over the chat.
//!
//! Who may touch whom: any authenticated user may create users, who are then
//! managed by their creator; read, update and delete are allowed on yourself, on
//! users you manage whose role is not above yours, and on anyone for an admin;
//! everything else is `forbidden`.

mod accounts;
mod auth;
mod chat;
pub mod cookies;
mod sessions;
mod tokens;
mod users;

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use specserve_runtime::hub::{Hub, Position};
use specserve_runtime::{ApiError, AuditRecord, ConnectionInfo, Context, Credential, Part};

pub use self::accounts::Accounts;
use self::chat::message_view;
pub use self::chat::{Announcers, Chat};
pub use self::sessions::Sessions;
use crate::api::{AuditEvent, ErrorCode, Handlers, Policy, Publisher, RateClass};
use crate::cluster::{Cluster, ClusterConfig, ClusterError, ClusterEvent, Nodes, PositionCheck};
use crate::mail::Mailer;
use crate::presence::{Presence, Visibility};
use crate::security::Identity;
use crate::security::audit::AuditLog;
use crate::security::secret::Secret;
use crate::security::tokens::TokenCache;
use crate::store::{AttemptBudget, Database, StoreError, to_stored};

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
    /// Searches (user/directory, room/discover) per minute per caller.
    pub searches_per_minute: f64,
    /// When set, no account logs in before its email is verified with a
    /// code mailed to it (`--require-email-verification`).
    pub email_verification: Option<EmailVerification>,
    /// How long a verification code is accepted.
    pub verification_code_ttl: Duration,
    /// The least time between two verification mails to one account.
    pub verification_resend_interval: Duration,
    /// Whom users may see: in the directory, the online list and presence
    /// (`--user-visibility`).
    pub visibility: Visibility,
    /// Who may post announcements (`--announcers`).
    pub announcers: Announcers,
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
            searches_per_minute: 60.0,
            email_verification: None,
            verification_code_ttl: Duration::from_secs(10 * 60),
            verification_resend_interval: Duration::from_secs(60),
            visibility: Visibility::default(),
            announcers: Announcers::default(),
        }
    }
}

/// The application: its parts, each lent to the handler groups that use it
/// ([`Part`]), and the policy the generated API asks of its context.
#[derive(Debug)]
pub struct App {
    store: Database,
    accounts: Accounts,
    sessions: Sessions,
    chat: Chat,
    presence: Presence,
    audit: Arc<AuditLog>,
    /// The other nodes, when clustered (`--cluster-url`).
    nodes: Nodes,
}

impl App {
    /// An app over `store`, auditing to `audit`, pushing events through `hub`
    /// (give the server the same hub).
    pub fn new(store: Database, config: AppConfig, audit: AuditLog, hub: Hub) -> Result<Self, ApiError> {
        // Another app on the same hub set the same hook already.
        let _ = hub.on_receipt(Arc::new(chat::deliver_receipt));
        let audit = Arc::new(audit);
        let nodes = Nodes::default();
        let publisher = Publisher::new(hub.clone());
        let presence = Presence::new(store.clone(), publisher.clone(), nodes.clone(), config.visibility);
        let tokens = TokenCache::new(config.token_cache_ttl);
        Ok(App {
            sessions: Sessions::new(store.clone(), tokens, hub, presence.clone(), nodes.clone()),
            chat: Chat::new(store.clone(), publisher, presence.clone(), nodes.clone(), config.announcers),
            accounts: Accounts::new(store.clone(), config, Arc::clone(&audit))?,
            presence,
            store,
            audit,
            nodes,
        })
    }

    /// Joins the nodes `config` names: events published through this app's
    /// hub reach their connections and theirs reach this node's (once the
    /// store confirms their place in their room); revocations are announced
    /// to them and theirs are applied here, for as long as the app lives.
    pub async fn join_cluster(self: &Arc<Self>, config: ClusterConfig) -> Result<Arc<Cluster>, ClusterError> {
        let store = self.store.clone();
        let positions: PositionCheck = Arc::new(move |positions: Vec<Position>| {
            let store = store.clone();
            Box::pin(async move {
                let messages: Vec<(i64, i64)> = positions.iter().map(|p| (p.stream, p.id)).collect();
                match store.messages_in_rooms(&messages).await {
                    Ok(stored) => stored,
                    Err(error) => {
                        tracing::warn!(%error, events = messages.len(), "cluster events' positions could not be checked: dropped");
                        vec![false; messages.len()]
                    }
                }
            })
        });
        let (cluster, mut events) = Cluster::join(config, self.hub().clone(), positions).await?;
        self.nodes.set(Arc::clone(&cluster))?;
        if self.hub().attach_bus(Arc::clone(&cluster) as Arc<dyn specserve_runtime::hub::Bus>).is_err() {
            return Err(ClusterError::AlreadyJoined);
        }
        let app = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let Some(app) = app.upgrade() else { return };
                match event {
                    ClusterEvent::Notice(notice) => app.sessions.apply(notice).await,
                    ClusterEvent::NodeLost { online } => app.presence.lost_elsewhere(online).await,
                    ClusterEvent::PresenceElsewhere { principal, online } => {
                        app.presence.changed_elsewhere(&principal, online).await;
                    }
                }
            }
        });
        Ok(cluster)
    }

    /// The store (for the CLI and tests).
    pub fn store(&self) -> &Database {
        &self.store
    }

    /// The hub the app binds connections in and pushes events through.
    pub fn hub(&self) -> &Hub {
        self.chat.hub()
    }

    /// Creates a user on the operator's behalf (`specserve user create`):
    /// see [`Accounts::create_user_as_operator`].
    pub async fn create_user_as_operator(&self, request: crate::api::UserCreatePayload) -> Result<i64, ApiError> {
        self.accounts.create_user_as_operator(request).await
    }
}

impl Part<Accounts> for App {
    fn part(&self) -> &Accounts {
        &self.accounts
    }
}

impl Part<Sessions> for App {
    fn part(&self) -> &Sessions {
        &self.sessions
    }
}

impl Part<Presence> for App {
    fn part(&self) -> &Presence {
        &self.presence
    }
}

impl Part<Chat> for App {
    fn part(&self) -> &Chat {
        &self.chat
    }
}

/// The account operations (`auth/*`, `user/*`, `token/*`), for any context
/// that lends them the accounts and the sessions: all they see of the app.
pub struct AccountHandlers<C>(PhantomData<fn() -> C>);

/// What the account operations need of their context (presence: whom the
/// directory shows, and who of them is online).
pub trait AccountContext:
    Context<Principal = Identity, Policy = Policy> + Part<Accounts> + Part<Sessions> + Part<Presence>
{
}

impl<C> AccountContext for C where
    C: Context<Principal = Identity, Policy = Policy> + Part<Accounts> + Part<Sessions> + Part<Presence>
{
}

/// The chat operations (`room/*`, `message/*`, `presence/*`), for any context
/// that lends them the chat: all they see of the app.
pub struct ChatHandlers<C>(PhantomData<fn() -> C>);

/// What the chat operations need of their context.
pub trait ChatContext: Context<Principal = Identity, Policy = Policy> + Part<Chat> {}

impl<C> ChatContext for C where C: Context<Principal = Identity, Policy = Policy> + Part<Chat> {}

/// The generated API's context: the token check and the policy the spec asks for.
impl Context for App {
    type Principal = Identity;
    type Policy = Policy;

    async fn authenticate(
        &self,
        credential: Credential<'_>,
        connection: &ConnectionInfo,
    ) -> Result<Identity, ApiError> {
        self.sessions.authenticate(credential, connection).await
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
        self.accounts.rate_limit(class, connection, principal)
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

    async fn connected(&self, connection: &ConnectionInfo) {
        self.sessions.connected(connection).await;
    }

    /// The cookie log-in and log-out (see [`cookies`]).
    async fn http_post(&self, request: specserve_runtime::HttpPost<'_>) -> Option<specserve_runtime::HttpReply> {
        cookies::http_post(&self.accounts, &self.sessions, request).await
    }

    /// Users whose last connection this was went offline.
    async fn disconnected(&self, _connection: &ConnectionInfo, offline: &[Box<str>]) {
        for user in offline.iter().filter_map(|p| p.parse::<i64>().ok()) {
            self.presence.changed_here(user, false).await;
        }
    }
}

/// Each group over the parts it uses.
impl Handlers for App {
    type Context = Self;
    type Auth = AccountHandlers<Self>;
    type User = AccountHandlers<Self>;
    type Token = AccountHandlers<Self>;
    type Room = ChatHandlers<Self>;
    type Message = ChatHandlers<Self>;
    type Presence = ChatHandlers<Self>;
    type Announcement = ChatHandlers<Self>;
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
