//! What the server sees of an API:
//! - [`Service`]: what a generated API is to the server (binding a path,
//!   routing a frame, running it; every [`crate::route::Api`] is one);
//! - [`authenticate`]: the only way to a [`Secured`](crate::Secured) request
//!   context, through the application's [`Context`].

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use crate::context::{
    Authenticated, ConnectionInfo, Context, Credential, CredentialSource, HttpPost, HttpReply, Scheme,
};
use crate::encode::{self, Echo, Shape};
use crate::error::{ApiError, Code};
use crate::frame::Frame;
use crate::hub::Topic;

/// Authenticates for something secured by any of `schemes` (an operation's
/// frame, or a connection at its upgrade when `frame` is `None`): the first
/// credential found (the frame's own, else the connection's) decides who
/// calls, and that principal must satisfy one of the schemes
/// ([`Context::grants`]), else `forbidden`.
pub async fn authenticate<C: Context>(
    context: &C,
    schemes: &[Scheme],
    frame: Option<&Frame>,
    connection: &ConnectionInfo,
) -> Result<Authenticated<C::Principal>, ApiError> {
    for scheme in schemes {
        let from_frame =
            scheme.message_property.zip(frame).and_then(|(name, f)| f.property(name)).and_then(Value::as_str);
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
    let text = encode::encode_error(shape, echo, &error)
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
    /// The spec's `info.version`: `/metrics` reports it in `specserve_build_info`.
    pub version: &'static str,
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

/// What an HTTP request's method and path name ([`Service::http_route`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpMatch {
    /// No HTTP operation is at this path.
    NotFound,
    /// Operations are at this path, with these methods only (405).
    MethodNotAllowed(Vec<&'static str>),
    /// This operation, with the path's parameters.
    Found(HttpTarget),
}

/// An HTTP operation found for a request: which, and the path's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// Its index in the generated HTTP route table.
    pub index: usize,
    /// The path's parameters, decoded.
    pub params: Vec<(&'static str, String)>,
}

/// An HTTP operation's request, read ([`Service::serve_http`]).
#[derive(Debug)]
pub struct HttpRequest {
    /// The operation and the path's parameters.
    pub target: HttpTarget,
    /// The query string.
    pub query: Option<String>,
    /// The body: JSON, or empty.
    pub body: Vec<u8>,
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

/// Why an upgrade the path accepts is refused ([`Service::admit`]).
#[derive(Debug)]
pub enum UpgradeRefused {
    /// The headers break the channel's `ws` binding `headers` schema (400).
    Headers(String),
    /// The servers' `security` is not satisfied: `unauthorized` (401),
    /// `forbidden` (403), or the check itself failed (503).
    Security(ApiError),
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

    /// Whether a connection at `binding` may be upgraded: its channels' `ws`
    /// binding `headers` against the upgrade's `headers`, then the servers'
    /// `security` for its path with the credentials the upgrade presents.
    fn admit(
        &self,
        binding: &Self::Binding,
        connection: &ConnectionInfo,
        headers: &[(&str, &str)],
    ) -> impl Future<Output = Result<(), UpgradeRefused>> + Send;

    /// A connection was upgraded (the application's [`Context::connected`]).
    fn connected(&self, connection: &ConnectionInfo) -> impl Future<Output = ()> + Send;

    /// A connection ended (the application's [`Context::disconnected`]).
    fn disconnected(&self, connection: &ConnectionInfo, offline: &[Box<str>]) -> impl Future<Output = ()> + Send;

    /// The methods of the HTTP operations, each once (CORS offers them).
    fn http_methods(&self) -> Vec<&'static str>;

    /// Which HTTP operation (the spec's `http` bindings) a request is.
    fn http_route(&self, method: &str, path: &str) -> HttpMatch;

    /// Serves an HTTP operation through the pipeline of [`Service::run`]:
    /// the message is the body, with the path's parameters and the query
    /// added; the outcome's text is the reply the WebSocket would carry.
    fn serve_http(
        self: &Arc<Self>,
        connection: &Arc<ConnectionInfo>,
        request: HttpRequest,
    ) -> impl Future<Output = Outcome> + Send + 'static;

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
