//! What a handler knows about the connection a request came on.

use std::fmt;
use std::net::IpAddr;

use tokio_util::sync::CancellationToken;

/// Per-connection facts handed to every handler call.
#[derive(Clone, Default)]
pub struct RequestContext {
    connection_id: u64,
    client_ip: Option<IpAddr>,
    user_agent: Option<String>,
    bearer_token: Option<String>,
    close_signal: CancellationToken,
}

impl RequestContext {
    /// A context for connection `connection_id`.
    pub fn new(connection_id: u64) -> Self {
        Self { connection_id, ..Self::default() }
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

    /// With the token from the upgrade's `Authorization: Bearer` header, used
    /// by secured frames that carry no `apiToken` of their own.
    #[must_use]
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// The server-assigned connection number.
    pub fn connection_id(&self) -> u64 {
        self.connection_id
    }

    /// The client's address, if known.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// The client's `User-Agent`, if sent.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// Cancelled to close this connection (its user was deleted); the
    /// connection loop watches it.
    pub fn close_signal(&self) -> &CancellationToken {
        &self.close_signal
    }

    /// The connection-wide token, if the upgrade carried one.
    pub fn bearer_token(&self) -> Option<&str> {
        self.bearer_token.as_deref()
    }
}

/// Never prints the token.
impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("connection_id", &self.connection_id)
            .field("client_ip", &self.client_ip)
            .field("user_agent", &self.user_agent)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}
