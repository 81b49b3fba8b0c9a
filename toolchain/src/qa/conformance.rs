//! `specserve-tools conformance`: contract-tests a live server against any spec.
//!
//! For every operation the server receives, at the first WebSocket path that
//! routes it, it sends the message's examples (or a sample built from its
//! schema when there are none) and invalid variants of the first, one frame at
//! a time, and checks each answer: it arrives, it carries the correlation id
//! sent, it is one of the operation's reply messages, and an invalid request
//! gets the `validation_failed` error. Only the spec is trusted; the server
//! may be anyone's. A handler answering `not_implemented` (what a scaffold
//! starts with) is reported as not implemented rather than as failing.
//!
//! Frames the server pushes meanwhile (events, without the correlation id)
//! are checked against the messages of the spec's `send` operations at that
//! path, and a `send` operation whose `x-specserve-trigger` names a request
//! must arrive after that request's cases. What it cannot see is said in the
//! report, not passed silently: `send` operations without a trigger and
//! fire-and-forget operations without a reply are listed as unchecked.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Map, Value, json};
use specserve_codegen::Api;
use specserve_codegen::model::binding::{Body, Endpoint, Layout, Route};
use specserve_codegen::model::{Action, Enforcement, MessageId, OperationId};
use specserve_codegen::schema::{Additional, Property, SchemaId, Shape};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::Checker;

/// The runtime's error code for a frame that breaks its schema.
const VALIDATION_FAILED: &str = "validation_failed";
/// ... for a discriminator value no message has.
const UNKNOWN_CHANNEL: &str = "unknown_channel";
/// ... for a frame that is not a JSON object.
const BAD_REQUEST: &str = "bad_request";
/// ... for a secured operation called without a credential.
const UNAUTHORIZED: &str = "unauthorized";
/// ... for a handler a scaffold left to be written.
const NOT_IMPLEMENTED: &str = "not_implemented";

/// Where and how to connect.
#[derive(Clone)]
pub struct Target {
    /// `ws://` or `wss://` URL of the server; its path is replaced by each
    /// WebSocket path of the spec.
    pub url: String,
    /// TLS settings for `wss://` (`client::pinned_config` or `client::web_roots_config`).
    pub tls: Arc<rustls::ClientConfig>,
    /// The credential for secured operations; without it they are tested unauthenticated.
    pub token: Option<String>,
    /// How long to wait for each reply.
    pub timeout: Duration,
    /// Only these operations (keys); empty means all.
    pub operations: Vec<String>,
}

/// Why the run could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// The URL is not `ws://` or `wss://`.
    #[error("`{0}` is not a ws:// or wss:// URL")]
    Url(String),
    /// `--operation` names no operation the server receives.
    #[error("no operation `{key}` the server receives (operations: {known})")]
    UnknownOperation {
        /// The key given.
        key: String,
        /// The keys there are.
        known: String,
    },
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The server tested.
    pub url: String,
    /// Spec title and version.
    pub spec: String,
    /// Whether secured operations were called with a credential.
    pub authenticated: bool,
    /// Per operation (and one per path for the frames no operation accepts), in the order run.
    pub operations: Vec<OperationReport>,
    /// Operations the run cannot exercise, and why.
    pub unchecked: Vec<String>,
    /// No case failed.
    pub passed: bool,
}

/// One operation's cases.
#[derive(Debug, Serialize)]
pub struct OperationReport {
    /// The operation key, or `(frames at <path>)`.
    pub operation: String,
    /// The WebSocket path it was tested at.
    pub path: String,
    /// Its cases.
    pub cases: Vec<CaseReport>,
    /// `passed`, `failed` or `not implemented`.
    pub status: Status,
}

/// An operation's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every case passed.
    Passed,
    /// A case failed.
    Failed,
    /// Every valid request was answered `not_implemented`.
    NotImplemented,
}

/// One frame sent and what came back.
#[derive(Debug, Serialize)]
pub struct CaseReport {
    /// `example alice`, `invalid: missing required email`, ...
    pub case: String,
    /// What the spec allows as the answer.
    pub expected: String,
    /// What came back, in one line.
    pub got: String,
    /// Why it does not conform (empty when it passed).
    pub problems: Vec<String>,
    /// The server answered `not_implemented`.
    pub not_implemented: bool,
}

/// What a case accepts as the answer.
enum Expect {
    /// One of the operation's reply messages.
    Reply,
    /// The error message with one of these codes.
    Error(Vec<&'static str>),
}

impl Expect {
    fn describe(&self) -> String {
        match self {
            Expect::Reply => "a reply the spec declares".into(),
            Expect::Error(codes) => format!("error {}", codes.join(" or ")),
        }
    }
}

/// A frame to send and how to recognise and judge its answer.
struct Case {
    name: String,
    text: String,
    correlation: Option<(String, Value)>,
    expect: Expect,
}

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// One path's plan: where to connect and what to send.
struct Plan {
    path: String,
    groups: Vec<(String, Option<OperationId>, Vec<Case>)>,
    /// The messages the server may push at this path (its `send` operations').
    pushed: Vec<MessageId>,
    /// The operations planned here, whose requests may trigger pushes.
    triggers: Vec<OperationId>,
    /// One of them revokes the credential ([`run_order`]): the other paths'
    /// cases still need it, so this path runs after theirs.
    revokes: bool,
}

/// Runs every case against `target`.
pub async fn run(checker: &Checker, target: &Target) -> Result<Report, ConformanceError> {
    let api = checker.api();
    let (scheme_and_host, _) = split_url(&target.url)?;
    let receivers: Vec<&str> =
        api.operations.iter().filter(|op| op.action == Action::Receive).map(|op| op.key.as_str()).collect();
    if let Some(key) = target.operations.iter().find(|k| !receivers.contains(&k.as_str())) {
        return Err(ConformanceError::UnknownOperation { key: key.clone(), known: receivers.join(", ") });
    }
    let selected =
        |op: OperationId| target.operations.is_empty() || target.operations.contains(&api.operations[op].key);
    let mut ids = 0u64;
    let mut plans: Vec<Plan> = Vec::new();
    let mut planned: Vec<OperationId> = Vec::new();
    for endpoint in api.endpoints() {
        let mut groups = Vec::new();
        let mut routes: Vec<&Route> =
            endpoint.routes.iter().filter(|r| selected(r.operation) && !planned.contains(&r.operation)).collect();
        if routes.is_empty() {
            continue;
        }
        routes.sort_by_key(|r| run_order(api, r));
        let revokes = routes.iter().any(|r| run_order(api, r).0);
        let envelope = envelope_cases(api, &endpoint, &mut ids);
        if target.operations.is_empty() && !envelope.is_empty() {
            groups.push((format!("(frames at {})", endpoint.address), None, envelope));
        }
        for route in routes {
            if planned.contains(&route.operation) {
                continue;
            }
            planned.push(route.operation);
            let cases = operation_cases(api, &endpoint, route, target.token.as_deref(), &mut ids);
            groups.push((api.operations[route.operation].key.clone(), Some(route.operation), cases));
        }
        let pushed = api
            .operations
            .iter()
            .filter(|op| op.action == Action::Send && endpoint.channels.contains(&op.channel))
            .flat_map(|op| op.messages.iter().copied())
            .collect();
        let triggers = groups.iter().filter_map(|(_, op, _)| *op).collect();
        plans.push(Plan { path: fill_path(api, &endpoint), groups, pushed, triggers, revokes });
    }
    plans.sort_by_key(|plan| plan.revokes);
    let mut unchecked = Vec::new();
    for (id, op) in api.operations.iter().enumerate() {
        let triggered = op.trigger.is_some_and(|by| planned.contains(&by));
        if op.action == Action::Send && !triggered && target.operations.is_empty() {
            unchecked.push(format!(
                "{}: the server sends it (push) and the spec does not say what makes it (`x-specserve-trigger`)",
                op.key
            ));
        } else if op.action == Action::Send || !selected(id) {
            continue;
        } else if let Some(http) = op.http.as_ref().filter(|_| !planned.contains(&id)) {
            unchecked
                .push(format!("{}: served over HTTP ({}); conformance checks WebSocket paths", op.key, http.method));
        } else if !planned.contains(&id) {
            unchecked.push(format!("{}: its channel has no WebSocket path", op.key));
        } else if op.reply.is_none() {
            unchecked
                .push(format!("{}: no reply declared; its frames are sent, their effect is not observable", op.key));
        }
    }

    let mut operations = Vec::new();
    for plan in plans {
        let url = format!("{scheme_and_host}{}", plan.path);
        let mut socket: Option<Socket> = None;
        let mut events = Vec::new();
        for (name, operation, cases) in plan.groups {
            let mut reports = Vec::new();
            for case in cases {
                if socket.is_none() {
                    socket = connect(api, target, &url).await.ok();
                }
                let answer = match socket.as_mut() {
                    Some(open) => {
                        let replies = operation.is_none_or(|op| api.operations[op].reply.is_some());
                        paced(open, &case, replies, target.timeout, &mut events).await
                    }
                    None => Err(format!("cannot connect to {url}")),
                };
                if answer.is_err() {
                    socket = None;
                }
                reports.push(judge(checker, operation, &case, answer));
            }
            let status = if reports.iter().any(|c| !c.problems.is_empty()) {
                Status::Failed
            } else if reports.iter().any(|c| c.not_implemented) {
                Status::NotImplemented
            } else {
                Status::Passed
            };
            operations.push(OperationReport { operation: name, path: plan.path.clone(), cases: reports, status });
        }
        // A push the spec says a request triggers may come after its reply:
        // wait for it, up to the timeout a reply gets.
        let promised: Vec<OperationId> = (0..api.operations.len())
            .filter(|id| api.operations[*id].trigger.is_some_and(|by| plan.triggers.contains(&by)))
            .collect();
        let seen =
            |events: &[Value]| promised.iter().all(|op| events.iter().any(|e| message_of(checker, *op, e).is_some()));
        if let Some(open) = socket.as_mut()
            && !seen(&events)
        {
            await_pushes(open, target.timeout, &mut events, seen).await;
        }
        if let Some(mut open) = socket {
            let _ = open.close(None).await;
        }
        for (id, op) in api.operations.iter().enumerate() {
            let Some(by) = op.trigger.filter(|by| plan.triggers.contains(by)) else { continue };
            operations.push(judge_triggered(checker, id, by, &plan.path, &events, &operations));
        }
        if !events.is_empty() {
            operations.push(judge_events(checker, &plan.path, &plan.pushed, &events));
        }
    }
    let passed = operations.iter().all(|o| o.status != Status::Failed);
    Ok(Report {
        url: target.url.clone(),
        spec: format!("{} {}", api.info.title, api.info.version),
        authenticated: target.token.is_some(),
        operations,
        unchecked,
        passed,
    })
}

/// `(scheme://host[:port], path)` of a WebSocket URL.
fn split_url(url: &str) -> Result<(&str, &str), ConformanceError> {
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"))
        .ok_or_else(|| ConformanceError::Url(url.to_owned()))?;
    let host_end = rest.find('/').unwrap_or(rest.len());
    let split = url.len() - rest.len() + host_end;
    Ok((&url[..split], &url[split..]))
}

/// A path of the spec with every parameter set to its first example, default
/// or allowed value (or `conformance`), and the channel's required query.
fn fill_path(api: &Api, endpoint: &Endpoint) -> String {
    let mut path = endpoint.address.clone();
    let mut query: Vec<String> = Vec::new();
    for &channel in &endpoint.channels {
        let channel = &api.channels[channel];
        for parameter in &channel.parameters {
            let value = parameter
                .examples
                .first()
                .or(parameter.default.as_ref())
                .or(parameter.allowed.first())
                .map_or("conformance", String::as_str);
            path = path.replace(&format!("{{{}}}", parameter.name), &percent_encode(value));
        }
        if let Some(schema) = channel.query.filter(|_| query.is_empty())
            && let Shape::Object(rules) = &api.schemas.get(schema).shape
        {
            for property in rules.properties.iter().filter(|p| p.required) {
                let value = sample(api, property.schema, 0);
                let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                query.push(format!("{}={}", percent_encode(&property.name), percent_encode(&text)));
            }
        }
    }
    if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// When a route runs: a secured operation whose message carries nothing of
/// the application's may act on the credential itself (logging out), which
/// the others need, so those run last; last of all the ones marked
/// `x-specserve-exclusive`, the mark of operations that revoke credentials.
fn run_order(api: &Api, route: &Route) -> (bool, bool) {
    let operation = &api.operations[route.operation];
    let layout = api.layout(route.message, None, api.credential_property(route.operation));
    let credential_only =
        !operation.security.is_empty() && application_fields(api, &layout).is_none_or(|(fields, _)| fields.is_empty());
    (credential_only && operation.scheduling == specserve_codegen::model::Scheduling::Exclusive, credential_only)
}

/// The application's fields of a message and, when they sit under one
/// wrapping object field (`payload`), that field's name.
fn application_fields(api: &Api, layout: &Layout) -> Option<(Vec<Property>, Option<String>)> {
    if let Some(field) = layout.wrapper(api) {
        let Shape::Object(rules) = &api.schemas.get(field.schema).shape else { return None };
        return Some((rules.properties.clone(), Some(field.name.clone())));
    }
    let Body::Flat(fields) = &layout.body else { return None };
    Some((fields.clone(), None))
}

async fn connect(api: &Api, target: &Target, url: &str) -> Result<Socket, String> {
    let mut url = url.to_owned();
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(token) = &target.token {
        // The first connection-level scheme the spec declares carries it.
        let enforcement = api.security_schemes.iter().map(|s| &s.enforcement).find(|e| {
            matches!(e, Enforcement::Bearer | Enforcement::Header(_) | Enforcement::Query(_) | Enforcement::Cookie(_))
        });
        match enforcement {
            Some(Enforcement::Bearer) => headers.push(("authorization".into(), format!("Bearer {token}"))),
            Some(Enforcement::Header(name)) => headers.push((name.clone(), token.clone())),
            Some(Enforcement::Cookie(name)) => headers.push(("cookie".into(), format!("{name}={token}"))),
            Some(Enforcement::Query(name)) => {
                let join = if url.contains('?') { '&' } else { '?' };
                url = format!("{url}{join}{}={}", percent_encode(name), percent_encode(token));
            }
            _ => {}
        }
    }
    let mut request = url.as_str().into_client_request().map_err(|e| e.to_string())?;
    for (name, value) in headers {
        let name =
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(&value).map_err(|e| e.to_string())?;
        request.headers_mut().insert(name, value);
    }
    let connector = Connector::Rustls(Arc::clone(&target.tls));
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(specserve_runtime::websocket::config()),
        false,
        Some(connector),
    );
    match tokio::time::timeout(target.timeout, connecting).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

/// How long conformance waits in all, per case, for a server's rate limits.
const RATE_LIMIT_PATIENCE: Duration = Duration::from_secs(60);

/// [`exchange`], paced under the server's limits: a `rate_limited` answer
/// is not the case's verdict but a request to slow down, so the case is sent
/// again after a wait that doubles from 250 ms (at most
/// [`RATE_LIMIT_PATIENCE`] in all, then the refusal is the answer). A run
/// against a server with its default limits then passes as it would
/// against one with none, only slower.
async fn paced(
    socket: &mut Socket,
    case: &Case,
    replies: bool,
    timeout: Duration,
    events: &mut Vec<Value>,
) -> Result<Option<Value>, String> {
    let (mut wait, mut waited) = (Duration::from_millis(250), Duration::ZERO);
    loop {
        let answer = exchange(socket, case, replies, timeout, events).await;
        let limited =
            matches!(&answer, Ok(Some(value)) if value.pointer("/error/code") == Some(&Value::from("rate_limited")));
        if !limited || waited >= RATE_LIMIT_PATIENCE {
            return answer;
        }
        tokio::time::sleep(wait).await;
        waited += wait;
        wait = (wait * 2).min(Duration::from_secs(8));
    }
}

/// A text frame as JSON, or as a JSON string when it is not JSON.
fn frame_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Reads pushed frames into `events` until `enough` says so, the socket
/// ends, or `timeout` passes.
async fn await_pushes(
    socket: &mut Socket,
    timeout: Duration,
    events: &mut Vec<Value>,
    enough: impl Fn(&[Value]) -> bool,
) {
    let read = async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                events.push(frame_value(text.as_str()));
                if enough(events) {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(timeout, read).await;
}

/// Sends a case's frame and returns its answer: the next frame carrying the
/// case's correlation id (frames that do not, such as pushed events, are
/// set aside in `events`), or the next frame at all when there is no
/// correlation. `Ok(None)` when no reply is declared and none is awaited.
async fn exchange(
    socket: &mut Socket,
    case: &Case,
    replies: bool,
    timeout: Duration,
    events: &mut Vec<Value>,
) -> Result<Option<Value>, String> {
    socket.send(Message::text(case.text.clone())).await.map_err(|e| format!("send failed: {e}"))?;
    if !replies && matches!(case.expect, Expect::Reply) {
        return Ok(None);
    }
    let next = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value = frame_value(text.as_str());
                    let Some((pointer, sent)) = &case.correlation else {
                        // Uncorrelated: an error is awaited and anything else is pushed.
                        if matches!(case.expect, Expect::Error(_)) && !is_error(&value) {
                            events.push(value);
                            continue;
                        }
                        return Ok(Some(value));
                    };
                    if value.pointer(pointer) == Some(sent) || value.pointer(pointer).is_none() && is_error(&value) {
                        return Ok(Some(value));
                    }
                    if value.pointer(pointer).is_none() {
                        events.push(value);
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(format!(
                        "the server closed the connection ({})",
                        frame.map_or(1005, |f| u16::from(f.code))
                    ));
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("connection failed: {e}")),
                None => return Err("the server closed the connection".into()),
            }
        }
    };
    tokio::time::timeout(timeout, next).await.unwrap_or_else(|_| Err(format!("no reply within {timeout:?}")))
}

/// Judges the frames pushed while the cases ran: each must be one of the
/// messages the spec's `send` operations declare at this path.
fn judge_events(checker: &Checker, path: &str, pushed: &[MessageId], events: &[Value]) -> OperationReport {
    let api = checker.api();
    let cases: Vec<CaseReport> = events
        .iter()
        .enumerate()
        .map(|(n, event)| {
            let verdicts: Vec<(MessageId, Vec<super::Violation>)> =
                pushed.iter().map(|m| (*m, checker.violations(*m, event, ""))).collect();
            let (got, problems) = match verdicts.iter().find(|(_, v)| v.is_empty()) {
                Some((m, _)) => (api.messages[*m].key.clone(), Vec::new()),
                None => {
                    let problems = match verdicts.iter().min_by_key(|(_, v)| v.len()) {
                        Some((m, violations)) => violations
                            .iter()
                            .map(|v| {
                                format!(
                                    "breaks {} at `{}` [{}]: {}",
                                    api.messages[*m].key, v.pointer, v.keyword, v.message
                                )
                            })
                            .collect(),
                        None => vec!["the spec declares no message the server sends here".into()],
                    };
                    ("a frame no sent message matches".into(), problems)
                }
            };
            CaseReport {
                case: format!("event {}", n + 1),
                expected: "a message of a send operation".into(),
                got,
                problems,
                not_implemented: false,
            }
        })
        .collect();
    let status = if cases.iter().any(|c| !c.problems.is_empty()) { Status::Failed } else { Status::Passed };
    OperationReport { operation: format!("(events at {path})"), path: path.to_owned(), cases, status }
}

/// Which of `op`'s messages `event` is, if it is one of them.
fn message_of(checker: &Checker, op: OperationId, event: &Value) -> Option<MessageId> {
    checker.api().operations[op].messages.iter().copied().find(|m| checker.violations(*m, event, "").is_empty())
}

/// A `send` operation its spec says `by`'s requests trigger: passed when a
/// frame pushed on that connection is one of its messages, not implemented
/// when `by` is, failed when none came.
fn judge_triggered(
    checker: &Checker,
    op: OperationId,
    by: OperationId,
    path: &str,
    events: &[Value],
    reports: &[OperationReport],
) -> OperationReport {
    let api = checker.api();
    let (operation, trigger) = (&api.operations[op], &api.operations[by]);
    let found = events.iter().find_map(|event| message_of(checker, op, event));
    let trigger_pending = reports.iter().any(|r| r.operation == trigger.key && r.status == Status::NotImplemented);
    let names: Vec<&str> = operation.messages.iter().map(|m| api.messages[*m].key.as_str()).collect();
    let (got, problems, status) = match found {
        Some(message) => (api.messages[message].key.clone(), Vec::new(), Status::Passed),
        None if trigger_pending => ("nothing".to_owned(), Vec::new(), Status::NotImplemented),
        None => (
            "nothing".to_owned(),
            vec![format!("`x-specserve-trigger` says `{}`'s requests make the server push it; none came", trigger.key)],
            Status::Failed,
        ),
    };
    let case = CaseReport {
        case: format!("pushed after `{}`'s requests", trigger.key),
        expected: format!("{} on the same connection", names.join(" or ")),
        got,
        problems,
        not_implemented: status == Status::NotImplemented,
    };
    OperationReport { operation: operation.key.clone(), path: path.to_owned(), cases: vec![case], status }
}

/// Whether a frame looks like an error (an `error` object), whatever its message.
fn is_error(value: &Value) -> bool {
    value.get("error").is_some_and(Value::is_object)
}

/// Checks one answer against the case's expectation and the spec.
fn judge(
    checker: &Checker,
    operation: Option<OperationId>,
    case: &Case,
    answer: Result<Option<Value>, String>,
) -> CaseReport {
    let report = |got: String, problems: Vec<String>, not_implemented: bool| CaseReport {
        case: case.name.clone(),
        expected: case.expect.describe(),
        got,
        problems,
        not_implemented,
    };
    let value = match answer {
        Ok(Some(value)) => value,
        Ok(None) => return report("sent (no reply declared)".into(), Vec::new(), false),
        Err(reason) => return report("nothing".into(), vec![reason], false),
    };
    let api = checker.api();
    let mut problems = Vec::new();
    if let Some((pointer, sent)) = &case.correlation {
        match value.pointer(pointer) {
            Some(echoed) if echoed == sent => {}
            Some(other) => problems.push(format!("`{pointer}` is {other}, not the {sent} sent")),
            None => problems.push(format!("the reply has no `{pointer}` (sent {sent})")),
        }
    }
    // The reply messages this answer may be: the operation's, or (for frames
    // no operation accepts) any error message of the spec.
    let mut candidates: Vec<MessageId> = match operation {
        Some(op) => api.operations[op].reply.iter().flat_map(|r| r.messages.clone()).collect(),
        None => (0..api.messages.len()).filter(|m| api.messages[*m].error_body.is_some()).collect(),
    };
    // An answer carrying an error body is judged as an error, any other as a success reply.
    let carries_error =
        |m: &MessageId| api.messages[*m].error_body.as_deref().is_some_and(|p| value.pointer(p).is_some());
    let erroneous = candidates.iter().any(carries_error);
    let side: Vec<MessageId> =
        candidates.iter().copied().filter(|m| api.messages[*m].error_body.is_some() == erroneous).collect();
    if !side.is_empty() {
        candidates = side;
    }
    let verdicts: Vec<(MessageId, Vec<super::Violation>)> =
        candidates.iter().map(|m| (*m, checker.violations(*m, &value, ""))).collect();
    let matched = verdicts.iter().find(|(_, v)| v.is_empty()).map(|(m, _)| *m);
    let code = error_code(api, matched, &value);
    // Where the spec declares no error message, specserve's binding answers
    // failures with its own `{"error": {"code", "message"}}` frame.
    let declares_errors = operation.is_none_or(|op| api.error_reply(&api.operations[op]).is_some());
    let runtime_error = matched.is_none() && !declares_errors && code.is_some();
    let got = match (matched, &code) {
        (Some(m), Some(code)) => format!("{} {code}", api.messages[m].key),
        (Some(m), None) => api.messages[m].key.clone(),
        (None, Some(code)) if runtime_error => format!("the runtime's error {code}"),
        (None, Some(code)) => format!("an undeclared frame with error {code}"),
        (None, None) => "a frame no reply message matches".into(),
    };
    if matched.is_none() && !runtime_error {
        match verdicts.iter().min_by_key(|(_, v)| v.len()) {
            Some((m, violations)) => {
                problems.extend(violations.iter().map(|v| {
                    format!("breaks {} at `{}` [{}]: {}", api.messages[*m].key, v.pointer, v.keyword, v.message)
                }))
            }
            None => problems.push("the spec declares no reply here".into()),
        }
    }
    let not_implemented = code.as_deref() == Some(NOT_IMPLEMENTED) && matches!(case.expect, Expect::Reply);
    if let Expect::Error(codes) = &case.expect {
        match code.as_deref() {
            None => problems.push("an invalid request was accepted".into()),
            Some(code) if codes.contains(&code) => {}
            Some(code) => problems.push(format!("error code {code} where the spec says {}", codes.join(" or "))),
        }
    }
    report(got, problems, not_implemented)
}

/// The error code of an answer: under the matched error message's body, else
/// under `error` (the runtime's own error frame).
fn error_code(api: &Api, matched: Option<MessageId>, value: &Value) -> Option<String> {
    let under = matched.and_then(|m| api.messages[m].error_body.clone());
    if matched.is_some() && under.is_none() {
        return None;
    }
    let body = value.pointer(under.as_deref().unwrap_or("/error"))?;
    body.get("code").and_then(Value::as_str).map(str::to_owned)
}

/// Frames no operation accepts, where the path declares an error reply: not
/// JSON, and (with a discriminator) a value no message has.
fn envelope_cases(api: &Api, endpoint: &Endpoint, ids: &mut u64) -> Vec<Case> {
    let declares_errors = endpoint.routes.iter().any(|r| api.error_reply(&api.operations[r.operation]).is_some());
    if !declares_errors {
        return Vec::new();
    }
    let mut cases = vec![Case {
        name: "not JSON".into(),
        text: "{not json".into(),
        correlation: None,
        expect: Expect::Error(vec![BAD_REQUEST]),
    }];
    if let Some(property) = &endpoint.discriminator {
        let mut frame = Map::new();
        frame.insert(property.clone(), json!("conformance/none"));
        let correlation = endpoint.correlation.as_ref().filter(|c| !c.in_headers).map(|c| {
            let id = next_id(api, endpoint.routes[0].message, ids);
            if let Some(name) = c.pointer.strip_prefix('/') {
                frame.insert(name.to_owned(), id.clone());
            }
            (c.pointer.clone(), id)
        });
        cases.push(Case {
            name: format!("unknown {property}"),
            text: Value::Object(frame).to_string(),
            correlation,
            expect: Expect::Error(vec![UNKNOWN_CHANNEL]),
        });
    }
    cases
}

/// A fresh correlation id of the type `message` declares for it.
fn next_id(api: &Api, message: MessageId, ids: &mut u64) -> Value {
    *ids += 1;
    let numeric = api.messages[message]
        .correlation
        .as_ref()
        .and_then(|c| c.pointer.strip_prefix('/'))
        .and_then(|name| api.payload_property(message, name))
        .is_some_and(|p| matches!(api.schemas.get(p.schema).shape, Shape::Integer(_) | Shape::Number(_)));
    if numeric { json!(*ids) } else { json!(format!("conformance-{ids}")) }
}

/// The message's examples (or a sample), then invalid variants of the first.
fn operation_cases(api: &Api, endpoint: &Endpoint, route: &Route, token: Option<&str>, ids: &mut u64) -> Vec<Case> {
    let op = &api.operations[route.operation];
    let message = &api.messages[route.message];
    let credential = api.credential_property(route.operation);
    let secured = !op.security.is_empty();
    let enveloped = endpoint.enveloped;
    let mut cases = Vec::new();
    let build = |payload: &Value, headers: Option<&Value>, ids: &mut u64| -> (String, Option<(String, Value)>) {
        let mut payload = payload.clone();
        let mut headers = headers.cloned().unwrap_or_else(|| json!({}));
        if let (Some(property), Some(value), Value::Object(map)) = (&endpoint.discriminator, &route.value, &mut payload)
        {
            map.insert(property.clone(), json!(value));
        }
        if let (Some(token), Some(property), Value::Object(map)) = (token, credential, &mut payload)
            && secured
        {
            map.insert(property.to_owned(), json!(token));
        }
        let correlation = message.correlation.as_ref().map(|c| {
            let id = next_id(api, route.message, ids);
            let target = if c.in_headers { &mut headers } else { &mut payload };
            if let (Some(name), Value::Object(map)) = (c.pointer.strip_prefix('/'), target) {
                map.insert(name.to_owned(), id.clone());
            }
            let pointer = if c.in_headers && enveloped { format!("/headers{}", c.pointer) } else { c.pointer.clone() };
            (pointer, id)
        });
        let text = if enveloped { json!({"headers": headers, "payload": payload}) } else { payload };
        (text.to_string(), correlation)
    };
    let examples: Vec<(String, Value, Option<Value>)> = message
        .examples
        .iter()
        .enumerate()
        .filter_map(|(n, e)| {
            let name = e.name.clone().unwrap_or_else(|| format!("#{}", n + 1));
            e.payload.clone().map(|p| (format!("example {name}"), p, e.headers.clone()))
        })
        .collect();
    let examples = if examples.is_empty() {
        let payload = message.payload.map_or(Value::Null, |p| sample(api, p, 0));
        let headers = message.headers.map(|h| sample(api, h, 0));
        vec![("a sample built from the schema".to_owned(), payload, headers)]
    } else {
        examples
    };
    for (name, payload, headers) in &examples {
        let (text, correlation) = build(payload, headers.as_ref(), ids);
        cases.push(Case { name: name.clone(), text, correlation, expect: Expect::Reply });
    }
    // Invalid variants are answered only where an error reply is declared.
    if api.error_reply(op).is_none() {
        return cases;
    }
    let invalid =
        || if secured && token.is_none() { vec![VALIDATION_FAILED, UNAUTHORIZED] } else { vec![VALIDATION_FAILED] };
    let (base, headers) = (&examples[0].1, examples[0].2.as_ref());
    let layout = api.layout(route.message, endpoint.discriminator.as_deref(), credential);
    let Some((fields, wrapper)) = application_fields(api, &layout) else { return cases };
    let part = match &wrapper {
        Some(name) => base.get(name).cloned().unwrap_or_else(|| json!({})),
        None => base.clone(),
    };
    let Some(part) = part.as_object().cloned() else { return cases };
    let mut variants: Vec<(String, Value)> = Vec::new();
    if let Some(name) = &wrapper {
        variants.push((format!("`{name}` is not an object"), json!([])));
    }
    for field in fields.iter().filter(|f| f.required) {
        let mut without = part.clone();
        without.remove(&field.name);
        variants.push((format!("missing required `{}`", field.name), Value::Object(without)));
    }
    if let Some((name, wrong)) =
        fields.iter().find_map(|f| wrong_type(&api.schemas.get(f.schema).shape).map(|w| (&f.name, w)))
    {
        let mut changed = part.clone();
        changed.insert(name.clone(), wrong);
        variants.push((format!("wrong type for `{name}`"), Value::Object(changed)));
    }
    for field in &fields {
        if let Shape::String(rules) = &api.schemas.get(field.schema).shape
            && let Some(max) = rules.max_length
        {
            let mut long = part.clone();
            long.insert(field.name.clone(), "x".repeat(max as usize + 1).into());
            variants.push((format!("`{}` over its maxLength {max}", field.name), Value::Object(long)));
        }
    }
    let closed = match &wrapper {
        Some(name) => layout_object_closed(api, route.message, name),
        None => message.payload.is_some_and(
            |p| matches!(&api.schemas.get(p).shape, Shape::Object(r) if r.additional == Additional::Closed),
        ),
    };
    if closed {
        let mut extra = part.clone();
        extra.insert("conformanceUnknownField".into(), true.into());
        variants.push(("an undeclared field".into(), Value::Object(extra)));
    }
    for (name, variant) in variants {
        let payload = match (&wrapper, base) {
            (Some(field), Value::Object(map)) => {
                let mut map = map.clone();
                map.insert(field.clone(), variant);
                Value::Object(map)
            }
            (Some(field), _) => json!({ field.as_str(): variant }),
            (None, _) => variant,
        };
        let (text, correlation) = build(&payload, headers, ids);
        cases.push(Case { name: format!("invalid: {name}"), text, correlation, expect: Expect::Error(invalid()) });
    }
    cases
}

/// Whether the object under a message's wrapping field allows no other keys.
fn layout_object_closed(api: &Api, message: MessageId, field: &str) -> bool {
    api.payload_property(message, field).is_some_and(
        |p| matches!(&api.schemas.get(p.schema).shape, Shape::Object(r) if r.additional == Additional::Closed),
    )
}

/// A value of the wrong JSON type for a schema, if the schema has one type.
fn wrong_type(shape: &Shape) -> Option<Value> {
    match shape {
        Shape::String(_) | Shape::Enum(_) => Some(json!(12345)),
        Shape::Integer(_) | Shape::Number(_) => Some(json!("not a number")),
        Shape::Boolean => Some(json!("not a boolean")),
        Shape::Array(_) => Some(json!({})),
        Shape::Object(_) => Some(json!("not an object")),
        _ => None,
    }
}

/// A value that satisfies the common constraints of a schema: its default or
/// first enum value, required properties filled in, lengths and bounds met.
/// Formats and patterns beyond a few usual ones are not attempted; the
/// server's answer then shows the sample was not valid.
pub(crate) fn sample(api: &Api, id: SchemaId, depth: usize) -> Value {
    let def = api.schemas.get(id);
    if let Some(default) = &def.default {
        return default.clone();
    }
    if depth > 8 {
        return Value::Null;
    }
    match &def.shape {
        Shape::Null | Shape::Any | Shape::Never => Value::Null,
        Shape::Boolean => json!(true),
        Shape::Integer(rules) | Shape::Number(rules) => {
            let low = rules.minimum.or(rules.exclusive_minimum.map(|m| m + 1.0)).unwrap_or(1.0);
            let value = match rules.maximum {
                Some(max) if low > max => max,
                _ => low,
            };
            json!(value.ceil() as i64)
        }
        Shape::String(rules) => {
            let text = match rules.format.as_deref() {
                Some("email") => "conformance@example.com".to_owned(),
                Some("date-time") => "2025-01-01T00:00:00Z".to_owned(),
                Some("date") => "2025-01-01".to_owned(),
                Some("uuid") => "00000000-0000-4000-8000-000000000000".to_owned(),
                Some("uri") => "https://example.com/".to_owned(),
                _ => "x".repeat(rules.min_length.unwrap_or(1).max(1) as usize),
            };
            json!(text)
        }
        Shape::Const(value) => value.clone(),
        Shape::Enum(values) => values.first().cloned().unwrap_or(Value::Null),
        Shape::Array(rules) => {
            let n = rules.min_items.unwrap_or(0) as usize;
            Value::Array((0..n).map(|_| rules.items.map_or(Value::Null, |i| sample(api, i, depth + 1))).collect())
        }
        Shape::Object(rules) => Value::Object(
            rules
                .properties
                .iter()
                .filter(|p| p.required)
                .map(|p| (p.name.clone(), sample(api, p.schema, depth + 1)))
                .collect(),
        ),
        Shape::OneOf(alternatives) | Shape::AnyOf(alternatives) => {
            alternatives.variants.first().map_or(Value::Null, |v| sample(api, *v, depth + 1))
        }
        Shape::Union(parts) => parts.first().map_or(Value::Null, |p| sample(api, *p, depth + 1)),
    }
}

/// The report for people: one line per operation, the failures underneath.
pub fn render_text(report: &Report) -> String {
    let mut out = format!("conformance of {} against {}\n", report.url, report.spec);
    if !report.authenticated {
        out.push_str("(no --token: secured operations were tested unauthenticated)\n");
    }
    let width = report.operations.iter().map(|r| r.operation.len()).max().unwrap_or(0);
    for operation in &report.operations {
        let passed = operation.cases.iter().filter(|c| c.problems.is_empty()).count();
        let verdict = match operation.status {
            Status::Passed => "ok",
            Status::Failed => "FAILED",
            Status::NotImplemented => "not implemented",
        };
        out.push_str(&format!(
            "{:width$}  {passed}/{} {verdict}  ({})\n",
            operation.operation,
            operation.cases.len(),
            operation.path
        ));
        for case in operation.cases.iter().filter(|c| !c.problems.is_empty()) {
            out.push_str(&format!("  {}: expected {}, got {}\n", case.case, case.expected, case.got));
            for problem in &case.problems {
                out.push_str(&format!("    - {problem}\n"));
            }
        }
    }
    for note in &report.unchecked {
        out.push_str(&format!("unchecked: {note}\n"));
    }
    let count = |status: Status| report.operations.iter().filter(|o| o.status == status).count();
    let cases: usize = report.operations.iter().map(|r| r.cases.len()).sum();
    let failed_cases: usize =
        report.operations.iter().flat_map(|r| &r.cases).filter(|c| !c.problems.is_empty()).count();
    let pending = match count(Status::NotImplemented) {
        0 => String::new(),
        n => format!(", {n} not implemented"),
    };
    if report.passed {
        out.push_str(&format!("PASSED: {} operations, {cases} cases{pending}\n", report.operations.len()));
    } else {
        out.push_str(&format!(
            "FAILED: {} of {} operations ({failed_cases} of {cases} cases){pending}\n",
            count(Status::Failed),
            report.operations.len()
        ));
    }
    out
}

/// The report as JUnit XML, which CI systems show as test results: one
/// `testsuite` per operation, one `testcase` per case, its problems as the
/// failure; not implemented cases are `skipped`; unchecked operations are
/// listed in the suite's `system-out`.
pub fn render_junit(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let cases: usize = report.operations.iter().map(|o| o.cases.len()).sum();
    let failures = report.operations.iter().flat_map(|o| &o.cases).filter(|c| !c.problems.is_empty()).count();
    out += &format!(
        "<testsuites name=\"conformance of {}\" tests=\"{cases}\" failures=\"{failures}\">\n",
        xml(&report.spec)
    );
    for operation in &report.operations {
        let failed = operation.cases.iter().filter(|c| !c.problems.is_empty()).count();
        out += &format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">\n",
            xml(&operation.operation),
            operation.cases.len()
        );
        for case in &operation.cases {
            out += &format!("    <testcase classname=\"{}\" name=\"{}\">", xml(&operation.operation), xml(&case.case));
            if !case.problems.is_empty() {
                let detail = format!("expected {}, got {}\n{}", case.expected, case.got, case.problems.join("\n"));
                out += &format!("<failure message=\"{}\">{}</failure>", xml(&case.problems[0]), xml(&detail));
            } else if case.not_implemented {
                out += "<skipped message=\"not implemented\"/>";
            }
            out += "</testcase>\n";
        }
        out += "  </testsuite>\n";
    }
    if !report.unchecked.is_empty() {
        out += &format!(
            "  <testsuite name=\"unchecked\" tests=\"0\"><system-out>{}</system-out></testsuite>\n",
            xml(&report.unchecked.join("\n"))
        );
    }
    out + "</testsuites>\n"
}

/// `text` escaped for XML attributes and text.
fn xml(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => escaped.push_str(&format!("&#{};", c as u32)),
            c => escaped.push(c),
        }
    }
    escaped
}
