//! The application's side: its [`Context`] (the state every handler gets,
//! and the policy the pipeline applies where the spec asks: authentication,
//! scopes, rate-limit classes, audit), and what a handler knows about the
//! request it answers: the application's context, the connection, the
//! channel's parameters and, on secured operations, who is calling. One
//! parameter carries it all, so a new input does not change every handler's
//! signature.

use std::fmt;
use std::future::Future;
use std::net::IpAddr;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::error::{ApiError, Code};

/// Where a security scheme's credential is presented at the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialSource {
    /// `Authorization: Bearer <token>` (`http` bearer, OAuth 2, OpenID Connect).
    Bearer,
    /// A header (`httpApiKey` with `in: header`).
    Header(&'static str),
    /// A query parameter (`httpApiKey` with `in: query`).
    Query(&'static str),
    /// A cookie (`httpApiKey` with `in: cookie`).
    Cookie(&'static str),
    /// `Authorization: Basic <base64 of user:password>` (`userPassword`,
    /// `http` basic); the credential is the decoded `user:password`.
    Basic,
}

/// A credential presented for a secured operation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Credential<'a> {
    /// The security scheme it was presented for (its key in the spec).
    pub scheme: &'static str,
    /// The credential itself.
    pub value: &'a str,
}

impl<'a> Credential<'a> {
    /// A `userPassword` (HTTP Basic) credential as its user and password,
    /// split at the first `:` (RFC 7617: a user name has none).
    pub fn user_password(&self) -> Option<(&'a str, &'a str)> {
        self.value.split_once(':')
    }
}

/// Never prints the credential.
impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential").field("scheme", &self.scheme).field("value", &"<redacted>").finish()
    }
}

/// Facts about one WebSocket connection.
#[derive(Clone, Default)]
pub struct ConnectionInfo {
    id: u64,
    client_ip: Option<IpAddr>,
    user_agent: Option<String>,
    path: String,
    credentials: Vec<(CredentialSource, String)>,
    close_signal: CancellationToken,
    limits: ConnectionLimits,
}

/// What the server enforces on a connection, for applications that tell
/// their clients (a greeting, say), so they need not guess.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConnectionLimits {
    /// The largest message accepted; larger closes the connection 1009.
    pub max_message_bytes: usize,
    /// Frames per second the client may send, sustained.
    pub frames_per_second: f64,
    /// Frames the client may send in a burst.
    pub frame_burst: f64,
    /// Events that may wait for a client that does not read.
    pub event_queue: usize,
}

impl ConnectionInfo {
    /// A connection numbered `id` at `path`.
    pub fn new(id: u64, path: impl Into<String>) -> Self {
        Self { id, path: path.into(), ..Self::default() }
    }

    /// With the client's address (after trusted-proxy resolution).
    #[must_use]
    pub fn with_client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    /// With the upgrade request's `User-Agent`.
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// With the limits the server enforces on it.
    #[must_use]
    pub fn with_limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// With a credential the upgrade presented.
    #[must_use]
    pub fn with_credential(mut self, source: CredentialSource, value: impl Into<String>) -> Self {
        self.credentials.push((source, value.into()));
        self
    }

    /// The server-assigned connection number.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The client's address, if known.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// The client's `User-Agent`, if sent.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The upgrade path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Every credential the upgrade presented, at the places the spec's
    /// schemes name.
    pub fn credentials(&self) -> impl Iterator<Item = (CredentialSource, &str)> {
        self.credentials.iter().map(|(source, value)| (*source, value.as_str()))
    }

    /// The credential the upgrade presented at `source`, if any.
    pub fn credential(&self, source: CredentialSource) -> Option<&str> {
        self.credentials.iter().find(|(s, _)| *s == source).map(|(_, v)| v.as_str())
    }

    /// The limits the server enforces on this connection.
    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    /// Cancelled to close this connection (its user was deleted, say); the
    /// connection loop watches it.
    pub fn close_signal(&self) -> &CancellationToken {
        &self.close_signal
    }
}

/// Never prints a credential.
impl fmt::Debug for ConnectionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionInfo")
            .field("id", &self.id)
            .field("client_ip", &self.client_ip)
            .field("user_agent", &self.user_agent)
            .field("path", &self.path)
            .field("credentials", &self.credentials.iter().map(|(s, _)| s).collect::<Vec<_>>())
            .finish()
    }
}

/// The request context of an operation without `security`.
pub type Open<'a, C, P = ()> = RequestContext<'a, C, P, Anonymous>;

/// The request context of a secured operation: it holds the principal the
/// application's [`Context::authenticate`] returned for the credential.
pub type Secured<'a, C, P = ()> = RequestContext<'a, C, P, Authenticated<<C as Context>::Principal>>;

/// No one was authenticated for this request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Anonymous;

/// Proof that a credential was checked: only [`crate::service::authenticate`]
/// makes one, so a handler that takes a [`Secured`] context cannot be called
/// without authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated<T> {
    principal: T,
}

impl<T> Authenticated<T> {
    pub(crate) fn new(principal: T) -> Self {
        Self { principal }
    }

    /// Who was authenticated.
    pub fn principal(&self) -> &T {
        &self.principal
    }
}

/// Everything a handler gets besides its message. It only borrows, so it is
/// `Copy`: pass it on to helpers freely.
pub struct RequestContext<'a, C, P = (), A = Anonymous> {
    context: &'a C,
    connection: &'a ConnectionInfo,
    params: &'a P,
    auth: &'a A,
}

impl<C, P, A> Clone for RequestContext<'_, C, P, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C, P, A> Copy for RequestContext<'_, C, P, A> {}

impl<'a, C, P, A> RequestContext<'a, C, P, A> {
    /// For generated dispatchers.
    #[doc(hidden)]
    pub fn __new(context: &'a C, connection: &'a ConnectionInfo, params: &'a P, auth: &'a A) -> Self {
        Self { context, connection, params, auth }
    }

    /// The application's context (dropshot's `rqctx.context()`).
    pub fn context(&self) -> &'a C {
        self.context
    }

    /// The connection the message came on.
    pub fn connection(&self) -> &'a ConnectionInfo {
        self.connection
    }

    /// The channel's parameters, typed (from the upgrade path and query).
    pub fn params(&self) -> &'a P {
        self.params
    }

    /// One part of the application's state ([`Part`]): what a handler group
    /// written over `C: Part<T>` sees of the application.
    pub fn part<T>(&self) -> &'a T
    where
        C: Part<T>,
    {
        self.context.part()
    }
}

/// A part of the application's state, lent by reference (axum's `FromRef`).
/// A handler group written for any context `C: Context + Part<Accounts>`
/// reaches the accounts through `rq.part::<Accounts>()` and nothing else of
/// the application: the group's bounds say what it uses.
pub trait Part<T> {
    /// The part.
    fn part(&self) -> &T;
}

impl<'a, C: Context, P> RequestContext<'a, C, P, Authenticated<C::Principal>> {
    /// Who is calling.
    pub fn principal(&self) -> &'a C::Principal {
        &self.auth.principal
    }
}

impl<C, P, A> fmt::Debug for RequestContext<'_, C, P, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext").field("connection", self.connection).finish_non_exhaustive()
    }
}

/// A spec's policy vocabulary, as its generated API declares it: the
/// rate-limit classes (`x-specserve-rate-limit`) and audit events
/// (`x-specserve-audit`) its operations name, as enums, so an application
/// matches them exhaustively and a class renamed in the spec fails to
/// compile instead of silently going unlimited.
pub trait Policy: Send + Sync + 'static {
    /// The rate-limit classes.
    type RateClass: Copy + std::fmt::Debug + PartialEq + Send + Sync + 'static;
    /// The audit events.
    type AuditEvent: Copy + std::fmt::Debug + PartialEq + Send + Sync + 'static;
}

/// A context's rate-limit class type.
pub type RateClassOf<C> = <<C as Context>::Policy as Policy>::RateClass;
/// A context's audit event type.
pub type AuditEventOf<C> = <<C as Context>::Policy as Policy>::AuditEvent;

/// The application's side of a generated API: its state, handed to every
/// handler as `rq.context()` (dropshot's `type Context`), and the policy the
/// dispatcher applies where the spec asks for it.
pub trait Context: Send + Sync + 'static {
    /// Who a valid credential belongs to; secured handlers get it as `rq.principal()`.
    type Principal: Send + Sync + 'static;

    /// The spec's rate-limit classes and audit events: the generated API's `Policy`.
    type Policy: Policy;

    /// Checks a credential presented for a secured operation: `Ok` with its
    /// principal, or `unauthorized` (`unavailable` when a dependency is down).
    fn authenticate(
        &self,
        credential: Credential<'_>,
        connection: &ConnectionInfo,
    ) -> impl Future<Output = Result<Self::Principal, ApiError>> + Send;

    /// Applies an operation's `x-specserve-rate-limit` class, before its
    /// handler runs (and after authentication, so `principal` is set on
    /// secured operations). The default allows everything.
    fn rate_limit(
        &self,
        class: RateClassOf<Self>,
        connection: &ConnectionInfo,
        principal: Option<&Self::Principal>,
    ) -> Result<(), ApiError> {
        let _ = (class, connection, principal);
        Ok(())
    }

    /// Records an operation that carries `x-specserve-audit`, after its
    /// handler ran (or was refused). The default records nothing.
    fn audit(&self, record: &AuditRecord<'_, Self::Principal, AuditEventOf<Self>>) {
        let _ = record;
    }

    /// Whether `principal` satisfies `scheme`, one of the schemes of the
    /// operation it authenticated for: the spec's scopes (`scopes`, or
    /// `x-specserve-scopes`) are checked here. The default satisfies only
    /// schemes that need no scope, so a spec's scopes are never ignored by an
    /// application that does not know about them.
    fn grants(&self, principal: &Self::Principal, scheme: &Scheme) -> bool {
        let _ = principal;
        scheme.scopes.is_empty()
    }

    /// Whether requests can be served now (`/readyz`).
    fn ready(&self) -> impl Future<Output = bool> + Send {
        std::future::ready(true)
    }

    /// A connection was upgraded, before its first frame is read: the place
    /// to authenticate the credentials its upgrade presented and bind it in
    /// the hub. The default does nothing.
    fn connected(&self, connection: &ConnectionInfo) -> impl Future<Output = ()> + Send {
        let _ = connection;
        std::future::ready(())
    }

    /// A connection ended (closed by either side, or its pongs stopped);
    /// `offline` holds the principals it was the last bound connection of.
    /// The default does nothing.
    fn disconnected(&self, connection: &ConnectionInfo, offline: &[Box<str>]) -> impl Future<Output = ()> + Send {
        let _ = (connection, offline);
        std::future::ready(())
    }

    /// An HTTP `POST` with a JSON body at a path the server does not answer
    /// itself: the application's own small HTTP endpoints (a cookie log-in
    /// for browsers, say). `None` answers 404. The server has already refused
    /// foreign origins, other content types and oversized bodies. The default
    /// serves none.
    fn http_post(&self, request: HttpPost<'_>) -> impl Future<Output = Option<HttpReply>> + Send {
        let _ = request;
        std::future::ready(None)
    }
}

/// An HTTP `POST` for [`Context::http_post`].
#[derive(Debug, Clone, Copy)]
pub struct HttpPost<'a> {
    /// The request path.
    pub path: &'a str,
    /// The body: JSON, at most [`HttpPost::MAX_BODY_BYTES`].
    pub body: &'a [u8],
    /// The client: address, user agent, and the credentials of the spec's
    /// schemes it presented (cookies only from an allowed `Origin`).
    pub connection: &'a ConnectionInfo,
}

impl HttpPost<'_> {
    /// The largest body the server reads (413 beyond it).
    pub const MAX_BODY_BYTES: usize = 8 * 1024;
}

/// The answer to an [`HttpPost`]: a status, a JSON body and cookies to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
    /// `Set-Cookie` values.
    pub set_cookies: Vec<String>,
}

/// One audited operation, as the dispatcher saw it.
#[derive(Debug)]
pub struct AuditRecord<'a, P, E> {
    /// The operation's `x-specserve-audit` event.
    pub event: E,
    /// The operation's key in the spec.
    pub operation: &'static str,
    /// Who called, on secured operations that authenticated.
    pub principal: Option<&'a P>,
    /// The value at the spec's `target` expression, when it has one and it was found.
    pub target: Option<Value>,
    /// `Ok`, or the code of the error the client got.
    pub outcome: Result<(), Code>,
    /// The connection.
    pub connection: &'a ConnectionInfo,
}

/// One security scheme an operation accepts, as the dispatcher applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    /// Its key under `components.securitySchemes`.
    pub name: &'static str,
    /// Where the upgrade presents it, when a WebSocket client can.
    pub source: Option<CredentialSource>,
    /// A message property that may carry it instead (`x-specserve-message-property`);
    /// a frame's own credential wins over the connection's.
    pub message_property: Option<&'static str>,
    /// The scopes a credential needs to satisfy this scheme (all of them).
    pub scopes: &'static [&'static str],
}
