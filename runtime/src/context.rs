//! What a handler knows about the request it answers: the application's context,
//! the connection, the channel's parameters and, on secured operations, who is
//! calling. One parameter carries it all, so a new input does not change every
//! handler's signature.

use std::fmt;
use std::net::IpAddr;

use tokio_util::sync::CancellationToken;

use crate::service::Context;

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
}

/// A credential presented for a secured operation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Credential<'a> {
    /// The security scheme it was presented for (its key in the spec).
    pub scheme: &'static str,
    /// The credential itself.
    pub value: &'a str,
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

    /// The credential the upgrade presented at `source`, if any.
    pub fn credential(&self, source: CredentialSource) -> Option<&str> {
        self.credentials.iter().find(|(s, _)| *s == source).map(|(_, v)| v.as_str())
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
