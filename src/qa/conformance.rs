//! `specserve conformance`: contract-tests a live server against the spec.
//!
//! For every route it sends the spec's request examples and invalid variants
//! generated from the request schema, one frame at a time, and checks each
//! answer: it arrives, it echoes the `requestId`, it matches the route's reply
//! or the shared error message, and an invalid request gets the error code the
//! spec declares for it. The server may be anyone's; only the spec is trusted.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use specserve_codegen::Api;
use specserve_codegen::model::{API_TOKEN, CHANNEL, ERROR, PAYLOAD, REQUEST_ID, Route, SUCCESS};
use specserve_codegen::schema::{Kind, resolve};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::Checker;

/// The error code a spec built for specserve declares for a frame that breaks its schema.
const VALIDATION_FAILED: &str = "validation_failed";
/// ... for a frame naming no route.
const UNKNOWN_CHANNEL: &str = "unknown_channel";
/// ... for a frame that is not a JSON object.
const BAD_REQUEST: &str = "bad_request";
/// ... for a secured route called without a token.
const UNAUTHORIZED: &str = "unauthorized";
/// The report's name for the cases that test the envelope rather than a route.
pub const ENVELOPE_ROUTE: &str = "(envelope)";

/// Where and how to connect.
#[derive(Clone)]
pub struct Target {
    /// `ws://` or `wss://` URL of the WebSocket endpoint.
    pub url: String,
    /// TLS settings for `wss://` (`client::pinned_config` or `client::web_roots_config`).
    pub tls: Arc<rustls::ClientConfig>,
    /// Sent as `apiToken` on secured routes; without it they are tested unauthenticated.
    pub token: Option<String>,
    /// How long to wait for each reply.
    pub timeout: Duration,
}

/// Why the run could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// The first connection failed.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The target.
        url: String,
        /// What the WebSocket client said.
        reason: String,
    },
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The server tested.
    pub url: String,
    /// Spec title and version.
    pub spec: String,
    /// Whether secured routes were called with a token.
    pub authenticated: bool,
    /// Per route, in the order run.
    pub routes: Vec<RouteReport>,
    /// Every case passed.
    pub passed: bool,
}

/// One route's cases.
#[derive(Debug, Serialize)]
pub struct RouteReport {
    /// The route's channel (or [`ENVELOPE_ROUTE`]).
    pub route: String,
    /// Its cases.
    pub cases: Vec<CaseReport>,
    /// Every case passed.
    pub passed: bool,
}

/// One frame sent and what came back.
#[derive(Debug, Serialize)]
pub struct CaseReport {
    /// `example alice`, `missing required email`, ...
    pub case: String,
    /// What the spec allows as the answer.
    pub expected: String,
    /// What came back, in one line.
    pub got: String,
    /// Why it does not conform (empty when it passed).
    pub problems: Vec<String>,
}

/// What a case accepts as the answer.
enum Expect {
    /// The route's reply, or the error message with any declared code.
    Declared,
    /// The error message with one of these codes.
    Error(Vec<&'static str>),
}

impl Expect {
    fn describe(&self) -> String {
        match self {
            Expect::Declared => "the route's reply or a declared error".into(),
            Expect::Error(codes) => format!("error {}", codes.join(" or ")),
        }
    }
}

/// A frame to send: JSON text, and the requestId it carries (if any).
struct Case {
    name: String,
    text: String,
    request_id: Option<String>,
    expect: Expect,
}

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Runs every case against `target`.
pub async fn run(checker: &Checker, target: &Target) -> Result<Report, ConformanceError> {
    let api = checker.api();
    let mut socket = Some(connect(target).await?);
    let mut ids = 0u64;
    let mut next_id = move || {
        ids += 1;
        format!("conformance-{ids}")
    };
    let mut plan: Vec<(String, Option<usize>, Vec<Case>)> = Vec::new();
    for (index, route) in run_order(api) {
        let cases = route_cases(checker, route, target.token.as_deref(), &mut next_id);
        plan.push((route.channel.clone(), Some(index), cases));
    }
    plan.insert(0, (ENVELOPE_ROUTE.to_owned(), None, envelope_cases(&mut next_id)));

    let mut routes = Vec::new();
    for (name, index, cases) in plan {
        let mut reports = Vec::new();
        for case in cases {
            if socket.is_none() {
                socket = connect(target).await.ok();
            }
            let answer = match socket.as_mut() {
                Some(open) => exchange(open, &case.text, target.timeout).await,
                None => Err("cannot reconnect after the server closed the connection".to_owned()),
            };
            if answer.is_err() {
                socket = None;
            }
            reports.push(judge(checker, index, &case, answer));
        }
        let passed = reports.iter().all(|c| c.problems.is_empty());
        routes.push(RouteReport { route: name, cases: reports, passed });
    }
    if let Some(mut open) = socket {
        let _ = open.close(None).await;
    }
    let passed = routes.iter().all(|r| r.passed);
    Ok(Report {
        url: target.url.clone(),
        spec: format!("{} {}", api.info.title, api.info.version),
        authenticated: target.token.is_some(),
        routes,
        passed,
    })
}

/// Spec order, except that a secured route whose payload has no fields runs last:
/// it can only act on the token itself (logging out), which the others need.
fn run_order(api: &Api) -> Vec<(usize, &Route)> {
    let acts_on_token = |route: &Route| {
        route.security.is_some()
            && matches!(&resolve(&route.payload, &api.schemas).kind, Kind::Object(rules) if rules.properties.is_empty())
    };
    let mut ordered: Vec<(usize, &Route)> = api.routes.iter().enumerate().collect();
    ordered.sort_by_key(|(_, route)| acts_on_token(route));
    ordered
}

async fn connect(target: &Target) -> Result<Socket, ConformanceError> {
    let connector = Connector::Rustls(Arc::clone(&target.tls));
    let connecting = tokio_tungstenite::connect_async_tls_with_config(&target.url, None, false, Some(connector));
    match tokio::time::timeout(target.timeout, connecting).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(e)) => Err(ConformanceError::Connect { url: target.url.clone(), reason: e.to_string() }),
        Err(_) => Err(ConformanceError::Connect { url: target.url.clone(), reason: "timed out".into() }),
    }
}

/// Sends one text frame and returns the next text frame, or why there is none.
async fn exchange(socket: &mut Socket, text: &str, timeout: Duration) -> Result<String, String> {
    socket.send(Message::text(text)).await.map_err(|e| format!("send failed: {e}"))?;
    let next = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(reply))) => return Ok(reply.as_str().to_owned()),
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

/// Checks one answer against the case's expectation and the spec.
fn judge(checker: &Checker, route: Option<usize>, case: &Case, answer: Result<String, String>) -> CaseReport {
    let report = |got: String, problems: Vec<String>| CaseReport {
        case: case.name.clone(),
        expected: case.expect.describe(),
        got,
        problems,
    };
    let text = match answer {
        Ok(text) => text,
        Err(reason) => return report("nothing".into(), vec![reason]),
    };
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let Some(frame) = value.as_object() else {
        return report("a frame that is not a JSON object".into(), vec!["the reply is not a JSON object".into()]);
    };
    let mut problems = Vec::new();
    if let Some(sent) = &case.request_id {
        match frame.get(REQUEST_ID) {
            Some(Value::String(echoed)) if echoed == sent => {}
            Some(other) => problems.push(format!("`{REQUEST_ID}` is {other}, not the {sent:?} sent")),
            None => problems.push(format!("the reply has no `{REQUEST_ID}` (sent {sent:?})")),
        }
    }
    let is_error = frame.get(SUCCESS) == Some(&Value::Bool(false));
    let code = frame.get(ERROR).and_then(|e| e.get("code")).and_then(Value::as_str);
    let got = if is_error { format!("error {}", code.unwrap_or("?")) } else { "a success reply".to_owned() };
    let schema_errors = match (is_error, route) {
        (true, _) => checker.violations(&checker.error, &value, ""),
        (false, Some(index)) => checker.violations(&checker.replies[index], &value, ""),
        (false, None) => vec![super::violation("", "success", "a success reply to a frame no route accepts".into())],
    };
    let message = if is_error { "error message" } else { "reply message" };
    problems.extend(
        schema_errors.iter().map(|v| format!("breaks the {message} at `{}` [{}]: {}", v.pointer, v.keyword, v.message)),
    );
    if let Expect::Error(codes) = &case.expect {
        match code {
            _ if !is_error => problems.push("an invalid request was accepted".into()),
            Some(code) if codes.contains(&code) => {}
            code => problems.push(format!(
                "error code {} where the spec says {}",
                code.unwrap_or("(none)"),
                codes.join(" or ")
            )),
        }
    }
    report(got, problems)
}

/// Frames no route accepts: not JSON, and an unknown channel.
fn envelope_cases(next_id: &mut impl FnMut() -> String) -> Vec<Case> {
    let id = next_id();
    vec![
        Case {
            name: "not JSON".into(),
            text: "{not json".into(),
            request_id: None,
            expect: Expect::Error(vec![BAD_REQUEST]),
        },
        Case {
            name: "unknown channel".into(),
            text: json!({ CHANNEL: "conformance/none", REQUEST_ID: id, PAYLOAD: {} }).to_string(),
            request_id: Some(id),
            expect: Expect::Error(vec![UNKNOWN_CHANNEL]),
        },
    ]
}

/// The spec's examples for `route`, then invalid variants of the first one.
fn route_cases(
    checker: &Checker,
    route: &Route,
    token: Option<&str>,
    next_id: &mut impl FnMut() -> String,
) -> Vec<Case> {
    let secured = route.security.is_some();
    let frame_for = |example: &Value, id: &str| -> Value {
        let mut frame = example.as_object().cloned().unwrap_or_default();
        frame.insert(CHANNEL.into(), route.channel.clone().into());
        frame.insert(REQUEST_ID.into(), id.into());
        match token {
            Some(token) if secured => {
                frame.insert(API_TOKEN.into(), token.into());
            }
            _ => {}
        }
        Value::Object(frame)
    };
    let mut cases = Vec::new();
    for (n, example) in route.request.examples.iter().enumerate() {
        let id = next_id();
        let name = example.name.clone().unwrap_or_else(|| format!("#{}", n + 1));
        let frame = frame_for(&example.payload, &id);
        cases.push(Case {
            name: format!("example {name}"),
            text: frame.to_string(),
            request_id: Some(id),
            expect: Expect::Declared,
        });
    }
    // Invalid variants: a server may check the token first when there is none.
    let invalid =
        || if secured && token.is_none() { vec![VALIDATION_FAILED, UNAUTHORIZED] } else { vec![VALIDATION_FAILED] };
    let base = route.request.examples.first().map(|e| e.payload.clone()).unwrap_or_else(|| json!({ PAYLOAD: {} }));
    let payload = base.get(PAYLOAD).and_then(Value::as_object).cloned().unwrap_or_default();
    let mut variants: Vec<(String, Value)> = vec![("payload is not an object".into(), json!([]))];
    if let Kind::Object(rules) = &resolve(&route.payload, &checker.api().schemas).kind {
        for property in &rules.properties {
            if property.required {
                let mut without = payload.clone();
                without.remove(&property.name);
                variants.push((format!("missing required `{}`", property.name), Value::Object(without)));
            }
        }
        if let Some((name, wrong)) = rules.properties.iter().find_map(|p| {
            wrong_type(&resolve(&p.schema, &checker.api().schemas).kind).map(|wrong| (p.name.clone(), wrong))
        }) {
            let mut changed = payload.clone();
            changed.insert(name.clone(), wrong);
            variants.push((format!("wrong type for `{name}`"), Value::Object(changed)));
        }
        for property in &rules.properties {
            if let Kind::String(rules) = &resolve(&property.schema, &checker.api().schemas).kind
                && let Some(max) = rules.max_length
            {
                let mut long = payload.clone();
                long.insert(property.name.clone(), "x".repeat(max as usize + 1).into());
                variants.push((format!("`{}` over its maxLength {max}", property.name), Value::Object(long)));
            }
        }
        if rules.closed {
            let mut extra = payload.clone();
            extra.insert("conformanceUnknownField".into(), true.into());
            variants.push(("an undeclared field".into(), Value::Object(extra)));
        }
    }
    for (name, payload) in variants {
        let id = next_id();
        let mut frame = frame_for(&base, &id);
        if let Value::Object(map) = &mut frame {
            map.insert(PAYLOAD.into(), payload);
        }
        cases.push(Case {
            name: format!("invalid: {name}"),
            text: frame.to_string(),
            request_id: Some(id),
            expect: Expect::Error(invalid()),
        });
    }
    cases
}

/// A value of the wrong JSON type for a schema kind, if the kind has one type.
fn wrong_type(kind: &Kind) -> Option<Value> {
    match kind {
        Kind::String(_) | Kind::Enum(_) => Some(json!(12345)),
        Kind::Integer(_) | Kind::Number(_) => Some(json!("not a number")),
        Kind::Boolean => Some(json!("not a boolean")),
        Kind::Array(_) => Some(json!({})),
        Kind::Object(_) => Some(json!("not an object")),
        _ => None,
    }
}

/// The report for people: one line per route, the failures underneath.
pub fn render_text(report: &Report) -> String {
    let mut out = format!("conformance of {} against {}\n", report.url, report.spec);
    if !report.authenticated {
        out.push_str("(no --token: secured routes were tested unauthenticated)\n");
    }
    let width = report.routes.iter().map(|r| r.route.len()).max().unwrap_or(0);
    for route in &report.routes {
        let passed = route.cases.iter().filter(|c| c.problems.is_empty()).count();
        let verdict = if route.passed { "ok" } else { "FAILED" };
        out.push_str(&format!("{:width$}  {passed}/{} {verdict}\n", route.route, route.cases.len()));
        for case in route.cases.iter().filter(|c| !c.problems.is_empty()) {
            out.push_str(&format!("  {}: expected {}, got {}\n", case.case, case.expected, case.got));
            for problem in &case.problems {
                out.push_str(&format!("    - {problem}\n"));
            }
        }
    }
    let failed = report.routes.iter().filter(|r| !r.passed).count();
    let cases: usize = report.routes.iter().map(|r| r.cases.len()).sum();
    let failed_cases: usize = report.routes.iter().flat_map(|r| &r.cases).filter(|c| !c.problems.is_empty()).count();
    if report.passed {
        out.push_str(&format!("PASSED: {} routes, {cases} cases\n", report.routes.len()));
    } else {
        out.push_str(&format!(
            "FAILED: {failed} of {} routes ({failed_cases} of {cases} cases)\n",
            report.routes.len()
        ));
    }
    out
}
