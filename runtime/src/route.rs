//! The one pipeline every received frame runs, whatever its operation: the
//! generated API describes each received message as a [`Route`] (a value in
//! a table, like dropshot's `ApiEndpoint`) and each path as an [`Endpoint`],
//! and gives one small typed shim per route ([`Api::invoke`]: take the typed
//! message, call the handler, encode its reply). Everything else is here,
//! written once:
//!
//! 1. find the route (the discriminator's value, or the one message the
//!    payload validates against);
//! 2. note the correlation id, to echo;
//! 3. validate payload and headers against the message's schemas;
//! 4. authenticate, when the operation has `security` ([`authenticate`]);
//! 5. apply the operation's rate-limit class ([`Context::rate_limit`]);
//! 6. run the shim;
//! 7. audit ([`Context::audit`]) when the operation says so;
//! 8. encode the reply, or the error in the operation's error message.
//!
//! [`Api`] is what generated code implements; every [`Api`] is a [`Service`],
//! what the server drives.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::context::Scheme;
use crate::context::{
    Anonymous, AuditRecord, Authenticated, ConnectionInfo, Context, HttpPost, HttpReply, Open, Policy, RequestContext,
    Secured,
};
use crate::encode::{self, Echo, Shape};
use crate::error::ApiError;
use crate::frame::{self, Correlation, Frame};
use crate::service::{
    self, BindError, Binding, HttpMatch, HttpRequest, HttpTarget, Outcome, Scheduling, Service, ServiceInfo,
    UpgradeRefused, authenticate,
};

/// One received message of one operation: what the pipeline needs to serve
/// it, read from the spec. `P` is the spec's policy vocabulary.
#[derive(Debug)]
pub struct Route<P: Policy> {
    /// The operation's index in [`ServiceInfo::operations`] (metrics).
    pub operation: usize,
    /// The operation's key (audit records).
    pub key: &'static str,
    /// The discriminator value that names the message, as JSON text
    /// (`"\"user/read\""`): echoed in replies and errors as written, so a
    /// reply layout shared by an endpoint's routes costs no escaping.
    pub discriminator: Option<&'static str>,
    /// Where the message keeps its correlation id.
    pub correlation: Option<Correlation>,
    /// The payload's validator ([`Api::validator`]), and the headers'.
    pub validators: (Option<usize>, Option<usize>),
    /// The schemes any of which admits a caller; empty: open to anyone.
    pub security: &'static [Scheme],
    /// The operation's `x-specserve-rate-limit` class.
    pub rate_limit: Option<P::RateClass>,
    /// The operation's `x-specserve-audit`.
    pub audit: Option<Audit<P::AuditEvent>>,
    /// The error message that carries failures; `None`: the runtime's own frame.
    pub error: Option<&'static Shape>,
    /// How its frames run beside the connection's others.
    pub scheduling: Scheduling,
    /// Where in the frame the handler's message is ([`Call::run`]): a JSON
    /// pointer (`/payload`, `""` for the whole frame); `None`: the handler
    /// takes no message.
    pub message: Option<&'static str>,
    /// The reply's layout ([`Call::run`]); `None`: no reply.
    pub reply: Option<&'static Shape>,
}

impl<P: Policy> Route<P> {
    /// A route of operation `operation` with nothing else declared: no
    /// discriminator, correlation, validator or security, the runtime's own
    /// error frame, concurrent, its message at `/payload`, no reply. The
    /// generated table overrides what the spec says.
    pub const fn new(operation: usize, key: &'static str) -> Self {
        Route {
            operation,
            key,
            discriminator: None,
            correlation: None,
            validators: (None, None),
            security: &[],
            rate_limit: None,
            audit: None,
            error: None,
            scheduling: Scheduling::Concurrent,
            message: Some("/payload"),
            reply: None,
        }
    }

    /// This row as operation `operation`'s (`key`): what lets a generated
    /// table write what its routes share once (`..SHARED.named(3, "userRead")`).
    pub const fn named(self, operation: usize, key: &'static str) -> Self {
        Route { operation, key, ..self }
    }
}

/// What an audited operation records ([`AuditRecord`]).
#[derive(Debug, Clone, Copy)]
pub struct Audit<E> {
    /// The event.
    pub event: E,
    /// Where the record's target comes from, if anywhere.
    pub target: Option<AuditTarget>,
}

impl<E: Copy> Audit<E> {
    /// `event`, with no target.
    pub const fn of(event: E) -> Self {
        Audit { event, target: None }
    }

    /// This audit with its target at `pointer` in the request's payload.
    pub const fn request(self, pointer: &'static str) -> Self {
        Audit { target: Some(AuditTarget::Request(pointer)), ..self }
    }

    /// This audit with its target at `pointer` in the reply's payload.
    pub const fn reply(self, pointer: &'static str) -> Self {
        Audit { target: Some(AuditTarget::Reply(pointer)), ..self }
    }
}

/// A runtime expression naming an audit record's target.
#[derive(Debug, Clone, Copy)]
pub enum AuditTarget {
    /// `$request.payload#<pointer>`.
    Request(&'static str),
    /// `$reply.payload#<pointer>`.
    Reply(&'static str),
}

/// One WebSocket path's frames: how they find their route.
#[derive(Debug)]
pub struct Endpoint {
    /// Frames are `{"headers": .., "payload": ..}`.
    pub enveloped: bool,
    /// The payload property whose value names the message, if the path has one.
    pub discriminator: Option<&'static str>,
    /// Its received messages: (discriminator value, route in [`Api::ROUTES`]).
    pub routes: &'static [(Option<&'static str>, usize)],
    /// The error message for frames no route takes; `None`: the runtime's own.
    pub error: Option<&'static Shape>,
    /// Where frames here keep their correlation id, echoed in such errors.
    pub correlation: Option<Correlation>,
    /// The `ws` bindings' `headers` of its channels: the upgrade's headers
    /// must match each (400 otherwise).
    pub headers: &'static [UpgradeHeaders],
    /// The servers' `security`: a connection is admitted at the upgrade only
    /// with a credential one of these schemes accepts. Empty: open.
    pub security: &'static [Scheme],
}

/// A channel's `ws` binding `headers`: the schema the upgrade's headers
/// (those it names, as a JSON object) must match.
#[derive(Debug)]
pub struct UpgradeHeaders {
    /// The schema's validator, by index.
    pub validator: usize,
    /// The header names the schema declares, as written in it.
    pub names: &'static [&'static str],
}

/// An operation served over HTTP (its `http` binding) at one path.
#[derive(Debug)]
pub struct HttpRoute {
    /// The method, upper case.
    pub method: &'static str,
    /// The path template (`/api/rooms/{roomId}/messages`).
    pub path: &'static str,
    /// Its route in [`Api::ROUTES`].
    pub route: usize,
    /// The validator of `bindings.http.query`, if the binding has one.
    pub query: Option<usize>,
}

/// A frame routed, not yet run.
#[derive(Debug)]
pub struct Prepared {
    route: usize,
    frame: Frame,
}

/// The request a shim serves: the parts of the frame's context it needs.
pub struct Call<'a, A: Api> {
    /// The connection's binding (its channel parameters).
    pub binding: &'a A::Binding,
    context: &'a A::Context,
    connection: &'a ConnectionInfo,
    frame: &'a mut Frame,
    echo: Echo<'a>,
    auth: Option<&'a Authenticated<Principal<A>>>,
    route: &'a Route<PolicyOf<A>>,
}

/// The principal of an API's context.
pub type Principal<A> = <<A as Api>::Context as Context>::Principal;
/// The policy vocabulary of an API's context.
pub type PolicyOf<A> = <<A as Api>::Context as Context>::Policy;

impl<'a, A: Api> Call<'a, A> {
    /// Moves the value at `pointer` in the payload (`""` for all of it) into
    /// the operation's input type.
    pub fn take<M: serde::de::DeserializeOwned>(&mut self, pointer: &str) -> Result<M, ApiError> {
        self.frame.take(pointer)
    }

    /// The request context of an open operation's handler.
    pub fn open<P>(&self, params: &'a P) -> Open<'a, A::Context, P> {
        RequestContext::__new(self.context, self.connection, params, &Anonymous)
    }

    /// The request context of a secured operation's handler; an internal
    /// error if the route was not authenticated (a codegen bug).
    pub fn secured<P>(&self, params: &'a P) -> Result<Secured<'a, A::Context, P>, ApiError> {
        let auth = self.auth.ok_or_else(|| ApiError::internal("a secured route was not authenticated"))?;
        Ok(RequestContext::__new(self.context, self.connection, params, auth))
    }

    /// `reply` encoded in its message's layout, echoing what the request asks.
    pub fn reply<R: serde::Serialize + ?Sized>(&self, shape: &Shape, reply: &R) -> Result<String, ApiError> {
        encode::encode(shape, self.echo, reply)
    }

    /// A channel's typed parameters from the binding; an internal error if
    /// the connection is not bound to that channel (a codegen bug).
    pub fn params<P>(&self, params: Option<&'a P>) -> Result<&'a P, ApiError> {
        params.ok_or_else(|| ApiError::internal("the connection is not bound to this channel"))
    }

    /// Serves the route with `handler`, the whole of a usual route's shim:
    /// the message taken from where the route says, the request context the
    /// handler's signature asks for (open or secured), the reply encoded in
    /// the route's layout.
    pub fn run<Z, M, R, F, Fut>(self, handler: F) -> Reply<'a>
    where
        Z: Caller<'a, A>,
        M: serde::de::DeserializeOwned + Send + 'a,
        R: serde::Serialize,
        F: FnOnce(RequestContext<'a, A::Context, (), Z>, M) -> Fut + Send + 'a,
        Fut: Future<Output = Result<R, ApiError>> + Send + 'a,
    {
        self.run_with(|_| Some(&()), handler)
    }

    /// [`Call::run`] for a handler that takes its channel's typed
    /// parameters, which `params` picks from the connection's binding.
    pub fn run_with<P, Z, M, R, F, Fut>(
        mut self,
        params: impl FnOnce(&'a A::Binding) -> Option<&'a P>,
        handler: F,
    ) -> Reply<'a>
    where
        P: Sync + 'a,
        Z: Caller<'a, A>,
        M: serde::de::DeserializeOwned + Send + 'a,
        R: serde::Serialize,
        F: FnOnce(RequestContext<'a, A::Context, P, Z>, M) -> Fut + Send + 'a,
        Fut: Future<Output = Result<R, ApiError>> + Send + 'a,
    {
        let request = self.request(params);
        Box::pin(async move {
            let (rq, message) = request?;
            let reply = handler(rq, message).await?;
            match self.route.reply {
                Some(shape) => self.reply(shape, &reply),
                None => Ok(String::new()),
            }
        })
    }

    /// The handler's request context and message.
    #[allow(clippy::type_complexity)]
    fn request<P: 'a, Z: Caller<'a, A>, M: serde::de::DeserializeOwned>(
        &mut self,
        params: impl FnOnce(&'a A::Binding) -> Option<&'a P>,
    ) -> Result<(RequestContext<'a, A::Context, P, Z>, M), ApiError> {
        let params = self.params(params(self.binding))?;
        let caller = Z::of(self)?;
        let message = match self.route.message {
            Some(pointer) => self.take(pointer)?,
            None => M::deserialize(Value::Null).map_err(ApiError::internal)?,
        };
        Ok((RequestContext::__new(self.context, self.connection, params, caller), message))
    }
}

/// Who a handler's request context says is calling: [`Anonymous`] for an
/// open operation, [`Authenticated`] for a secured one. [`Call::run`] infers
/// it from the handler's signature, so a secured handler cannot be run
/// without the pipeline's authentication.
pub trait Caller<'a, A: Api>: Sync + 'a {
    /// The caller of `call`; an internal error for a secured handler on a
    /// route the pipeline did not authenticate (a codegen bug).
    fn of(call: &Call<'a, A>) -> Result<&'a Self, ApiError>;
}

impl<'a, A: Api> Caller<'a, A> for Anonymous {
    fn of(_: &Call<'a, A>) -> Result<&'a Self, ApiError> {
        Ok(&Anonymous)
    }
}

impl<'a, A: Api> Caller<'a, A> for Authenticated<Principal<A>> {
    fn of(call: &Call<'a, A>) -> Result<&'a Self, ApiError> {
        call.auth.ok_or_else(|| ApiError::internal("a secured route was not authenticated"))
    }
}

/// A shim's future: the encoded reply (empty for an operation without one).
pub type Reply<'a> = Pin<Box<dyn Future<Output = Result<String, ApiError>> + Send + 'a>>;

/// A generated API: its tables, its validators, and a typed shim per route.
pub trait Api: Send + Sync + Sized + 'static {
    /// The application's context every handler gets.
    type Context: Context;
    /// A connection's channels and typed parameters; the default is bound
    /// to none (an HTTP request's).
    type Binding: Binding + Default;
    /// Facts for metrics, logs and the upgrade.
    const INFO: &'static ServiceInfo;
    /// Every received message's route.
    const ROUTES: &'static [Route<PolicyOf<Self>>];
    /// Every path's frames, indexed by [`Api::endpoint`].
    const ENDPOINTS: &'static [Endpoint];
    /// The operations served over HTTP.
    const HTTP_ROUTES: &'static [HttpRoute] = &[];

    /// The application's context.
    fn context(&self) -> &Self::Context;
    /// A compiled validator by index.
    fn validator(index: usize) -> &'static jsonschema::Validator;
    /// The channels at `path` (with the upgrade's `query`), or why not.
    fn bind(path: &str, query: Option<&str>) -> Result<Self::Binding, BindError>;
    /// Which of [`Api::ENDPOINTS`] a binding's frames arrive at.
    fn endpoint(binding: &Self::Binding) -> usize;
    /// Route `route`'s shim: the typed message from the frame, the handler,
    /// its reply encoded.
    fn invoke<'a>(&'a self, route: usize, call: Call<'a, Self>) -> Reply<'a>;
}

/// Finds a frame's route on `endpoint`.
fn prepare<A: Api>(endpoint: &Endpoint, text: &str) -> Result<Prepared, Outcome> {
    let fail = |frame: Option<&Frame>, error: ApiError| {
        let id = endpoint.correlation.as_ref().and_then(|c| frame.and_then(|f| f.correlation(c)));
        let echo = Echo { discriminator: None, correlation: id.as_ref(), credential: None };
        service::failure(None, endpoint.error, echo, error)
    };
    let frame = Frame::parse(text, endpoint.enveloped).map_err(|error| fail(None, error))?;
    let route = match (endpoint.discriminator, endpoint.routes) {
        (Some(property), routes) => {
            let Some(Value::String(value)) = frame.property(property) else {
                return Err(fail(Some(&frame), ApiError::bad_request(format!("frame has no {property}"))));
            };
            match routes.iter().find(|(named, _)| *named == Some(value.as_str())) {
                Some((_, route)) => *route,
                None => {
                    let error = ApiError::unknown_channel(format!("no route has this {property}"));
                    return Err(fail(Some(&frame), error));
                }
            }
        }
        (None, []) => return Err(fail(Some(&frame), ApiError::bad_request("this path receives no messages"))),
        (None, [(_, route)]) => *route,
        (None, routes) => {
            let validates =
                |route: usize| A::ROUTES[route].validators.0.is_none_or(|v| A::validator(v).is_valid(frame.payload()));
            let mut matching = routes.iter().map(|(_, route)| *route).filter(|route| validates(*route));
            match (matching.next(), matching.next()) {
                (Some(route), None) => route,
                (Some(one), Some(other)) => {
                    let why = match (A::ROUTES[one].key, A::ROUTES[other].key) {
                        (one, other) if one == other => format!("frame matches two messages of `{one}`"),
                        (one, other) => format!("frame matches the messages of both `{one}` and `{other}`"),
                    };
                    return Err(fail(Some(&frame), ApiError::bad_request(why)));
                }
                (None, _) => {
                    let first = A::ROUTES[routes[0].1].validators.0.map(A::validator);
                    let error = first
                        .and_then(|v| frame.validate(v, None).err())
                        .unwrap_or_else(|| ApiError::bad_request("frame matches no message"));
                    return Err(fail(Some(&frame), error));
                }
            }
        }
    };
    Ok(Prepared { route, frame })
}

/// The error reply to a routed frame that will not run.
fn refuse_route<P: Policy>(route: &Route<P>, frame: &Frame, error: ApiError) -> Outcome {
    let id = route.correlation.as_ref().and_then(|c| frame.correlation(c));
    let echo = Echo { discriminator: route.discriminator, correlation: id.as_ref(), credential: None };
    service::failure(Some(route.operation), route.error, echo, error)
}

/// Runs a routed frame through the pipeline (see the module's steps).
async fn answer<A: Api>(api: &A, binding: &A::Binding, connection: &ConnectionInfo, prepared: Prepared) -> Outcome {
    let Prepared { route: index, mut frame } = prepared;
    let route = &A::ROUTES[index];
    let id = route.correlation.as_ref().and_then(|c| frame.correlation(c));
    let echo = Echo { discriminator: route.discriminator, correlation: id.as_ref(), credential: None };
    let context = api.context();
    let mut auth = None;
    let mut request_target = None;
    let result = async {
        if let (Some(payload), headers) = route.validators {
            frame.validate(A::validator(payload), headers.map(A::validator))?;
        }
        if !route.security.is_empty() {
            // Boxed: the application's check (a store read, say) is a large
            // future, and inline it would make every frame's future that large.
            auth = Some(Box::pin(authenticate(context, route.security, Some(&frame), connection)).await?);
        }
        if let Some(class) = route.rate_limit {
            context.rate_limit(class, connection, auth.as_ref().map(Authenticated::principal))?;
        }
        if let Some(Audit { target: Some(AuditTarget::Request(pointer)), .. }) = route.audit {
            request_target = frame::at_pointer(frame.payload(), pointer).cloned();
        }
        let call = Call { binding, context, connection, frame: &mut frame, echo, auth: auth.as_ref(), route };
        api.invoke(index, call).await
    }
    .await;
    if let Some(audit) = route.audit {
        let target = match audit.target {
            Some(AuditTarget::Reply(pointer)) => result.as_ref().ok().and_then(|text| reply_target(text, pointer)),
            _ => request_target,
        };
        let outcome = result.as_ref().map(|_| ()).map_err(ApiError::code);
        let principal = auth.as_ref().map(Authenticated::principal);
        let record = AuditRecord { event: audit.event, operation: route.key, principal, target, outcome, connection };
        context.audit(&record);
    }
    match result {
        Ok(text) => Outcome { operation: Some(route.operation), error: None, text },
        Err(error) => service::failure(Some(route.operation), route.error, echo, error),
    }
}

/// An HTTP operation's message: the body (`{}` when empty), with the path's
/// parameters and the query's pairs (typed as [`crate::path::typed_pairs`]
/// types them; credentials the spec reads from the query left out) added as
/// properties. The query must first match the binding's `query` schema.
fn http_payload<A: Api>(http: &HttpRoute, request: HttpRequest) -> Result<Value, ApiError> {
    let HttpRequest { target, query, body } = request;
    let credential = |key: &str| {
        A::INFO.credentials.iter().any(|c| matches!(c, crate::context::CredentialSource::Query(name) if *name == key))
    };
    let pairs: Vec<(String, String)> =
        crate::path::query_pairs(query.as_deref()).into_iter().filter(|(key, _)| !credential(key)).collect();
    if let Some(validator) = http.query {
        Frame::from_value(crate::path::typed_pairs(pairs.clone()), false)?.validate(A::validator(validator), None)?;
    }
    let added: Vec<(String, String)> =
        target.params.into_iter().map(|(name, value)| (name.to_owned(), value)).chain(pairs).collect();
    crate::path::http_message(&body, added).map_err(ApiError::bad_request)
}

/// The upgrade's headers that `rule` names, against its schema.
fn check_headers<A: Api>(rule: &UpgradeHeaders, headers: &[(&str, &str)]) -> Result<(), UpgradeRefused> {
    let named = rule.names.iter().filter_map(|name| {
        let (_, value) = headers.iter().find(|(header, _)| header.eq_ignore_ascii_case(name))?;
        Some(((*name).to_owned(), (*value).to_owned()))
    });
    let value = crate::path::typed_pairs(named);
    match A::validator(rule.validator).iter_errors(&value).next() {
        None => Ok(()),
        Some(error) => {
            Err(UpgradeRefused::Headers(format!("invalid headers at `{}`: {}", error.instance_path(), error.masked())))
        }
    }
}

/// The value at `pointer` in an encoded reply's payload.
fn reply_target(text: &str, pointer: &str) -> Option<Value> {
    let reply: Value = serde_json::from_str(text).ok()?;
    let payload = reply.get("payload").filter(|_| reply.get("headers").is_some()).unwrap_or(&reply);
    frame::at_pointer(payload, pointer).cloned()
}

/// Every generated API is what the server drives.
impl<A: Api> Service for A {
    type Binding = A::Binding;
    type Prepared = Prepared;

    fn info(&self) -> &'static ServiceInfo {
        A::INFO
    }

    fn bind(&self, path: &str, query: Option<&str>) -> Result<A::Binding, BindError> {
        A::bind(path, query)
    }

    fn prepare(&self, binding: &A::Binding, text: &str) -> Result<Prepared, Outcome> {
        prepare::<A>(&A::ENDPOINTS[A::endpoint(binding)], text)
    }

    fn scheduling(&self, prepared: &Prepared) -> Scheduling {
        A::ROUTES[prepared.route].scheduling
    }

    fn refuse(&self, binding: &A::Binding, prepared: Option<Prepared>, error: ApiError) -> Outcome {
        match prepared {
            Some(Prepared { route, frame }) => refuse_route(&A::ROUTES[route], &frame, error),
            None => {
                let endpoint = &A::ENDPOINTS[A::endpoint(binding)];
                service::failure(None, endpoint.error, Echo::default(), error)
            }
        }
    }

    fn run(
        self: &Arc<Self>,
        binding: &Arc<A::Binding>,
        connection: &Arc<ConnectionInfo>,
        prepared: Prepared,
    ) -> impl Future<Output = Outcome> + Send + 'static {
        let (api, binding, connection) = (Arc::clone(self), Arc::clone(binding), Arc::clone(connection));
        async move { answer(&*api, &binding, &connection, prepared).await }
    }

    fn ready(&self) -> impl Future<Output = bool> + Send {
        self.context().ready()
    }

    fn http_methods(&self) -> Vec<&'static str> {
        let mut methods: Vec<&'static str> = A::HTTP_ROUTES.iter().map(|r| r.method).collect();
        methods.sort_unstable();
        methods.dedup();
        methods
    }

    fn http_route(&self, method: &str, path: &str) -> HttpMatch {
        let mut allowed = Vec::new();
        for (index, http) in A::HTTP_ROUTES.iter().enumerate() {
            let Some(params) = crate::path::match_address(http.path, path) else { continue };
            if http.method == method {
                return HttpMatch::Found(HttpTarget { index, params });
            }
            allowed.push(http.method);
        }
        if allowed.is_empty() { HttpMatch::NotFound } else { HttpMatch::MethodNotAllowed(allowed) }
    }

    fn serve_http(
        self: &Arc<Self>,
        connection: &Arc<ConnectionInfo>,
        request: HttpRequest,
    ) -> impl Future<Output = Outcome> + Send + 'static {
        let (api, connection) = (Arc::clone(self), Arc::clone(connection));
        async move {
            let http = &A::HTTP_ROUTES[request.target.index];
            let route = &A::ROUTES[http.route];
            let frame = match http_payload::<A>(http, request).and_then(|payload| Frame::from_value(payload, false)) {
                Ok(frame) => frame,
                Err(error) => return service::failure(Some(route.operation), route.error, Echo::default(), error),
            };
            answer(&*api, &A::Binding::default(), &connection, Prepared { route: http.route, frame }).await
        }
    }

    fn admit(
        &self,
        binding: &A::Binding,
        connection: &ConnectionInfo,
        headers: &[(&str, &str)],
    ) -> impl Future<Output = Result<(), UpgradeRefused>> + Send {
        let endpoint = &A::ENDPOINTS[A::endpoint(binding)];
        let checked = endpoint.headers.iter().try_for_each(|rule| check_headers::<A>(rule, headers));
        let context = self.context();
        async move {
            checked?;
            if endpoint.security.is_empty() {
                return Ok(());
            }
            let authenticated = Box::pin(authenticate(context, endpoint.security, None, connection)).await;
            authenticated.map(drop).map_err(UpgradeRefused::Security)
        }
    }

    fn connected(&self, connection: &ConnectionInfo) -> impl Future<Output = ()> + Send {
        self.context().connected(connection)
    }

    fn disconnected(&self, connection: &ConnectionInfo, offline: &[Box<str>]) -> impl Future<Output = ()> + Send {
        self.context().disconnected(connection, offline)
    }

    fn http_post(&self, request: HttpPost<'_>) -> impl Future<Output = Option<HttpReply>> + Send {
        self.context().http_post(request)
    }
}
