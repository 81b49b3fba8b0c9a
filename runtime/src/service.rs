//! The seams between the three parties:
//! - [`Context`]: what the application gives every handler, and the policy the
//!   generated dispatcher applies from the spec (authentication, rate-limit
//!   classes, audit, readiness);
//! - [`Service`]: what the generated API is to the server (binding a path,
//!   routing a frame, running it);
//! - [`authenticate`]: the only way to a [`Secured`](crate::Secured) request context.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use crate::context::{Authenticated, ConnectionInfo, Credential, CredentialSource};
use crate::encode::{self, Echo, Shape};
use crate::error::{ApiError, Code};
use crate::frame::Frame;
use crate::hub::Topic;

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

/// Authenticates a frame for an operation secured by any of `schemes`: the
/// first credential found (the frame's own, else the connection's) decides who
/// calls, and that principal must satisfy one of the schemes
/// ([`Context::grants`]), else the frame is `forbidden`.
pub async fn authenticate<C: Context>(
    context: &C,
    schemes: &[Scheme],
    frame: &Frame,
    connection: &ConnectionInfo,
) -> Result<Authenticated<C::Principal>, ApiError> {
    for scheme in schemes {
        let from_frame = scheme.message_property.and_then(|name| frame.property(name)).and_then(Value::as_str);
        let value = from_frame.or_else(|| scheme.source.and_then(|source| connection.credential(source)));
        if let Some(value) = value {
            let credential = Credential { scheme: scheme.name, value };
            let principal = context.authenticate(credential, connection).await?;
            if !schemes.iter().any(|scheme| context.grants(&principal, scheme)) {
                return Err(ApiError::new(Code::FORBIDDEN, "this credential lacks the scope this operation needs"));
            }
            return Ok(Authenticated::new(principal));
        }
    }
    Err(ApiError::unauthorized())
}

/// The outcome of a failed frame: `error` rendered as the operation's error
/// message (`shape`), or as the runtime's own error frame when the spec
/// declares none. Internal errors are logged with their source here; the
/// client sees only the fixed message.
pub fn failure(operation: Option<usize>, shape: Option<&Shape>, echo: Echo<'_>, error: ApiError) -> Outcome {
    if error.code() == Code::INTERNAL || error.code() == Code::UNAVAILABLE {
        tracing::warn!(error = %error, "request failed");
    }
    let shape = shape.unwrap_or(&encode::RUNTIME_ERROR);
    let text = encode::encode(shape, echo, &error)
        .unwrap_or_else(|_| r#"{"error":{"code":"internal","message":"internal error"}}"#.to_owned());
    Outcome { operation, error: Some(error.code()), text }
}

/// A default taken from the spec, for a generated `#[serde(default = ..)]`.
///
/// # Panics
/// If the default does not fit its type: specserve-codegen checked it against
/// the schema, so this is a codegen bug.
pub fn spec_default<T: serde::de::DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json).expect("a default from the spec fits its type")
}

/// What the generated API tells the server about itself.
#[derive(Debug)]
pub struct ServiceInfo {
    /// The spec's title.
    pub title: &'static str,
    /// Every operation key, in spec order: the metrics' `operation` label.
    pub operations: &'static [&'static str],
    /// Every error code that may be sent: the metrics' `code` label.
    pub error_codes: &'static [&'static str],
    /// Every close code the server sends, and when (`x-specserve-close-codes`).
    pub close_codes: &'static [(u16, &'static str)],
    /// What the upgrade must capture for the security schemes.
    pub credentials: &'static [CredentialSource],
    /// The WebSocket paths (channel address templates), for logs.
    pub paths: &'static [&'static str],
}

/// The outcome of one frame: the reply text and what metrics need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The operation, when the frame named a known message.
    pub operation: Option<usize>,
    /// The error code, when the reply is an error.
    pub error: Option<Code>,
    /// The reply frame; empty for a message that gets no reply.
    pub text: String,
}

/// Why an upgrade path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    /// No channel has this address: 404.
    #[error("no channel at this path")]
    NotFound,
    /// A channel matched, but its parameters or query do not validate: 400.
    #[error("{0}")]
    Invalid(String),
}

/// A connection's channels and their typed parameters, made at upgrade.
pub trait Binding: Send + Sync + 'static {
    /// The hub topics (channel and parameters) the connection receives events of.
    fn topics(&self) -> Vec<Topic>;
}

/// How a frame runs beside the other frames of its connection, as its
/// operation says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduling {
    /// As soon as it is read, beside the others in flight (their replies
    /// still go out in the order the frames came).
    Concurrent,
    /// After the previous frame of an ordered operation on the connection
    /// has finished, so its effects happen in the order the frames were sent
    /// (`x-specserve-ordered`: chat messages stored in the order sent); the
    /// connection keeps reading meanwhile.
    Ordered,
    /// Alone: after every frame before it, and nothing is read until it is
    /// answered (`x-specserve-exclusive`: a logout takes effect for
    /// everything pipelined behind it).
    Exclusive,
}

/// The generated API as the server drives it.
pub trait Service: Send + Sync + 'static {
    /// A connection's channels and parameters.
    type Binding: Binding;
    /// A frame routed to its operation, not yet run.
    type Prepared: Send + 'static;

    /// Facts for metrics, logs and the upgrade.
    fn info(&self) -> &'static ServiceInfo;

    /// The channels at `path` (with the upgrade's `query`), or why not.
    fn bind(&self, path: &str, query: Option<&str>) -> Result<Self::Binding, BindError>;

    /// Parses a text frame and finds its operation; a frame that names none is
    /// answered at once.
    fn prepare(&self, binding: &Self::Binding, text: &str) -> Result<Self::Prepared, Outcome>;

    /// How the prepared frame runs beside the connection's others
    /// (`x-specserve-exclusive`, `x-specserve-ordered`).
    fn scheduling(&self, prepared: &Self::Prepared) -> Scheduling;

    /// Answers with `error` without running (a frame over the rate limit, a
    /// binary frame): in the operation's error message when known.
    fn refuse(&self, binding: &Self::Binding, prepared: Option<Self::Prepared>, error: ApiError) -> Outcome;

    /// Validates, authenticates, applies the spec's policy, runs the handler and
    /// encodes its reply.
    fn run(
        self: &Arc<Self>,
        binding: &Arc<Self::Binding>,
        connection: &Arc<ConnectionInfo>,
        prepared: Self::Prepared,
    ) -> impl Future<Output = Outcome> + Send + 'static;

    /// Whether requests can be served (`/readyz`).
    fn ready(&self) -> impl Future<Output = bool> + Send;

    /// A connection was upgraded (the application's [`Context::connected`]).
    fn connected(&self, connection: &ConnectionInfo) -> impl Future<Output = ()> + Send;

    /// A connection ended (the application's [`Context::disconnected`]).
    fn disconnected(&self, connection: &ConnectionInfo, offline: &[Box<str>]) -> impl Future<Output = ()> + Send;

    /// An HTTP `POST` for the application ([`Context::http_post`]).
    fn http_post(&self, request: HttpPost<'_>) -> impl Future<Output = Option<HttpReply>> + Send;
}

/// One frame from text to reply, without a connection's scheduling (no
/// pipelining, no exclusivity): what tests, benches and fuzzers drive.
pub async fn handle<S: Service>(
    service: &Arc<S>,
    binding: &Arc<S::Binding>,
    connection: &Arc<ConnectionInfo>,
    text: &str,
) -> Outcome {
    match service.prepare(binding, text) {
        Ok(prepared) => service.run(binding, connection, prepared).await,
        Err(outcome) => outcome,
    }
}
