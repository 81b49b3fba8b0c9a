//! `specserve-tools mock`: any AsyncAPI document served at once, without
//! compiling, so a client author develops and a QA suite runs against the
//! document before its server exists.
//!
//! - Every WebSocket path the document serves accepts upgrades (plain `ws`
//!   on the listen address; security is not checked: a mock has no users).
//! - A received frame is routed as the server routes it (the path's
//!   discriminator, else the one message it validates against) and checked
//!   against its message's schema with the same pointer-precise report
//!   ([`Checker`]); a frame that breaks it gets the operation's error
//!   message, `validation_failed`, with the details.
//! - A valid request is answered with its operation's first reply: the
//!   reply message's first example (else a sample built from its schema),
//!   with what the runtime writes set as the server would (its `const`s, the
//!   request's discriminator value and correlation id).
//! - Events (`send` operations) go to every connection at their channel's
//!   path: every `--interval` seconds, and on request with `POST
//!   /mock/emit/<operation>` (the body, when given, is the payload to send,
//!   checked against the message's schema; else its example).
//! - The document's HTTP operations (their `http` bindings) answer at their
//!   method and path as the server reads them: the JSON body, with the path's
//!   parameters and the query's pairs added as properties, checked against
//!   the message's schema; 200 and the first reply's example, or 400 and the
//!   operation's error message (404 for a method and path no operation has).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use specserve_codegen::Api;
use specserve_codegen::model::binding::{Body, Endpoint, HttpRoute, Lead};
use specserve_codegen::model::{Action, Enforcement, MessageId, OperationId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use super::{Checker, Violation};

/// The largest frame or control body the mock reads.
const MAX_BODY: usize = 64 * 1024;

/// A connection's outbox and the endpoint it is at.
struct Peer {
    endpoint: usize,
    outbox: mpsc::UnboundedSender<String>,
}

/// The mock: the checked document and the connections open now.
pub struct Mock {
    checker: Checker,
    endpoints: Vec<Endpoint>,
    /// The document's HTTP operations, by method and path.
    http_routes: Vec<HttpRoute>,
    peers: Mutex<Vec<Peer>>,
}

impl Mock {
    /// A mock of the document `checker` holds.
    pub fn new(checker: Checker) -> Arc<Mock> {
        let endpoints = checker.api().endpoints();
        let http_routes = checker.api().http_routes();
        Arc::new(Mock { checker, endpoints, http_routes, peers: Mutex::new(Vec::new()) })
    }

    /// The document served.
    pub fn api(&self) -> &Api {
        self.checker.api()
    }

    /// The WebSocket paths served, by index.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The frame a client sends for `message` at `endpoint`: its first
    /// example (else a sample), with its discriminator and `const`s set.
    pub fn request(&self, endpoint: usize, message: MessageId) -> Value {
        let discriminator = self.endpoints[endpoint].discriminator.as_deref();
        let mut frame = self.example(message);
        self.lead(message, discriminator, &mut frame, None, None);
        frame
    }

    /// Serves on `listener` until the process ends; with `interval`, pushes
    /// every event on that period.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, interval: Option<Duration>) {
        if let Some(period) = interval {
            let mock = Arc::clone(&self);
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(period);
                ticks.tick().await;
                loop {
                    ticks.tick().await;
                    for (operation, op) in mock.api().operations.iter().enumerate() {
                        if op.action == Action::Send {
                            mock.emit(operation, None);
                        }
                    }
                }
            });
        }
        while let Ok((stream, _)) = listener.accept().await {
            let mock = Arc::clone(&self);
            tokio::spawn(async move { mock.connection(stream).await });
        }
    }

    /// One TCP connection: a control request, or a WebSocket at a path.
    async fn connection(self: Arc<Self>, mut stream: TcpStream) {
        let Some(head) = read_head(&mut stream).await else { return };
        if head.starts_with(b"POST /mock/") {
            return self.control(stream, head).await;
        }
        let lines = String::from_utf8_lossy(&head).to_ascii_lowercase();
        if !lines.lines().any(|line| line.starts_with("upgrade:") && line.contains("websocket")) {
            return self.http(stream, head).await;
        }
        // tungstenite reads the request from the start: the head read here first.
        let (reader, writer) = stream.into_split();
        let stream = tokio::io::join(std::io::Cursor::new(head).chain(reader), writer);
        let mut endpoint = None;
        let endpoints = &self.endpoints;
        // The refusal's type is tungstenite's callback contract.
        #[allow(clippy::result_large_err)]
        let choose = |request: &Request, response: Response| {
            let path = request.uri().path();
            endpoint =
                endpoints.iter().position(|e| specserve_runtime::path::match_address(&e.address, path).is_some());
            match endpoint {
                Some(_) => Ok(response),
                None => {
                    let mut refusal = tokio_tungstenite::tungstenite::http::Response::new(Some("not found\n".into()));
                    *refusal.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::NOT_FOUND;
                    Err(refusal)
                }
            }
        };
        let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, choose).await else { return };
        let Some(endpoint) = endpoint else { return };
        let (mut sink, mut frames) = socket.split();
        let (outbox, mut pending) = mpsc::unbounded_channel::<String>();
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).push(Peer { endpoint, outbox: outbox.clone() });
        let writer = tokio::spawn(async move {
            while let Some(text) = pending.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        while let Some(Ok(message)) = frames.next().await {
            let answers = match message {
                Message::Text(text) if text.len() <= MAX_BODY => self.answer(endpoint, &text),
                Message::Text(_) => vec![self.error(None, None, &Value::Null, "too_large", "frame too large", &[])],
                Message::Binary(_) => {
                    vec![self.error(None, None, &Value::Null, "bad_request", "binary frames are not served", &[])]
                }
                Message::Close(_) => break,
                _ => continue,
            };
            for answer in answers {
                if outbox.send(answer).is_err() {
                    break;
                }
            }
        }
        drop(outbox);
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).retain(|peer| !peer.outbox.is_closed());
        writer.abort();
    }

    /// The frames answering one text received at `endpoint`: its reply (and
    /// the events it triggers), or its error.
    pub fn answer(&self, endpoint: usize, text: &str) -> Vec<String> {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return vec![self.error(None, None, &Value::Null, "bad_request", "frame is not valid JSON", &[])];
        };
        let endpoint = &self.endpoints[endpoint];
        let discriminator = endpoint.discriminator.as_deref();
        let routes: Vec<(OperationId, MessageId)> = match discriminator {
            Some(property) => {
                let value = frame.get(property).and_then(Value::as_str);
                let Some(value) = value else {
                    let why = format!("frame has no {property}");
                    return vec![self.error(None, discriminator, &frame, "bad_request", &why, &[])];
                };
                let found = endpoint.routes.iter().find(|r| r.value.as_deref() == Some(value));
                match found {
                    Some(route) => vec![(route.operation, route.message)],
                    None => {
                        let why = format!("no route has this {property}");
                        return vec![self.error(None, discriminator, &frame, "unknown_channel", &why, &[])];
                    }
                }
            }
            None => endpoint.routes.iter().map(|r| (r.operation, r.message)).collect(),
        };
        let checked: Vec<(OperationId, MessageId, Vec<Violation>)> =
            routes.into_iter().map(|(op, m)| (op, m, self.checker.payload_errors(m, &frame))).collect();
        let Some((operation, message, errors)) = checked
            .iter()
            .find(|(.., errors)| errors.is_empty())
            .or_else(|| checked.iter().min_by_key(|(.., errors)| errors.len()))
            .cloned()
        else {
            return vec![self.error(None, discriminator, &frame, "bad_request", "this path receives no messages", &[])];
        };
        let correlation = self.correlation(message, &frame);
        if !errors.is_empty() {
            let details = details(&errors);
            let error =
                self.error(Some(operation), discriminator, &frame, "validation_failed", "payload is invalid", &details);
            return vec![error];
        }
        let op = &self.api().operations[operation];
        let replies = self.api().success_replies(op);
        let mut answers = Vec::new();
        if let (Some(_), Some(reply)) = (&op.reply, replies.first()) {
            let mut body = self.example(*reply);
            let echo = discriminator.and_then(|p| frame.get(p)).cloned();
            self.lead(*reply, discriminator, &mut body, echo.as_ref(), correlation.as_ref());
            answers.push(body.to_string());
        }
        // What the document says this request makes the server push.
        for (pushed, event) in self.api().operations.iter().enumerate() {
            if event.trigger == Some(operation) {
                answers.extend(self.event(pushed, None));
            }
        }
        answers
    }

    /// The error frame: the operation's error message (else any the
    /// document declares, else the runtime's own `{"error": ..}`).
    fn error(
        &self,
        operation: Option<OperationId>,
        discriminator: Option<&str>,
        frame: &Value,
        code: &str,
        message: &str,
        details: &[Value],
    ) -> String {
        let api = self.api();
        let declared = operation
            .and_then(|op| api.error_reply(&api.operations[op]))
            .or_else(|| api.messages.iter().position(|m| m.error_body.is_some()));
        let mut error = json!({"code": code, "message": message});
        if !details.is_empty() {
            error["details"] = Value::Array(details.to_vec());
        }
        let Some(reply) = declared else { return json!({"error": error}).to_string() };
        let under = api.messages[reply].error_body.as_deref().unwrap_or("/error").trim_start_matches('/').to_owned();
        let mut body = json!({ under: error });
        let echo = discriminator.and_then(|p| frame.get(p)).cloned();
        let request = operation.and_then(|op| api.operations[op].messages.first().copied());
        let correlation = request.and_then(|m| self.correlation(m, frame));
        self.lead(reply, discriminator, &mut body, echo.as_ref(), correlation.as_ref());
        body.to_string()
    }

    /// Sets what the runtime writes in `message`: its `const`s, the echoed
    /// discriminator value and the correlation id.
    fn lead(
        &self,
        message: MessageId,
        discriminator: Option<&str>,
        body: &mut Value,
        echo: Option<&Value>,
        id: Option<&Value>,
    ) {
        let layout = self.api().layout(message, discriminator, None);
        let Value::Object(fields) = body else { return };
        let mut framed = Map::new();
        for (name, lead) in &layout.leading {
            let value = match lead {
                Lead::Const(text) => serde_json::from_str(text).ok(),
                Lead::Discriminator => echo.cloned(),
                Lead::CorrelationId => id.cloned(),
                Lead::Credential => None,
            };
            fields.remove(name);
            if let Some(value) = value {
                framed.insert(name.clone(), value);
            }
        }
        framed.append(fields);
        *fields = framed;
        if matches!(layout.body, Body::Whole) && fields.is_empty() {
            *body = Value::Null;
        }
    }

    /// A request's correlation id, where its message keeps it.
    fn correlation(&self, message: MessageId, frame: &Value) -> Option<Value> {
        let correlation = self.api().messages[message].correlation.as_ref()?;
        let part = if correlation.in_headers { frame.get("headers")? } else { frame };
        part.pointer(&correlation.pointer).cloned()
    }

    /// The message's first example, else a sample of its schema.
    fn example(&self, message: MessageId) -> Value {
        let api = self.api();
        let declared = &api.messages[message];
        match declared.examples.iter().find_map(|e| e.payload.clone()) {
            Some(payload) => payload,
            None => declared.payload.map_or(Value::Null, |schema| super::conformance::sample(api, schema, 0)),
        }
    }

    /// Event `operation`'s frame (`payload`, else its example), if the
    /// document declares its message.
    fn event(&self, operation: OperationId, payload: Option<Value>) -> Option<String> {
        let message = *self.api().operations[operation].messages.first()?;
        let mut body = payload.unwrap_or_else(|| self.example(message));
        self.lead(message, None, &mut body, None, None);
        Some(body.to_string())
    }

    /// Pushes event `operation` to every connection at its channel's path;
    /// how many got it.
    pub fn emit(&self, operation: OperationId, payload: Option<Value>) -> usize {
        let channel = self.api().operations[operation].channel;
        let Some(text) = self.event(operation, payload) else { return 0 };
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers
            .iter()
            .filter(|peer| self.endpoints[peer.endpoint].channels.contains(&channel))
            .filter(|peer| peer.outbox.send(text.clone()).is_ok())
            .count()
    }

    /// `POST /mock/emit/<operation>`: pushes that event (the body, checked,
    /// or its example) and answers how many connections got it.
    async fn control(&self, mut stream: TcpStream, head: Vec<u8>) {
        let (status, answer) = match read_request(&mut stream, head).await {
            Some(request) => self.emit_request(&request.target, &request.body),
            None => (400, json!({"error": "a malformed request"})),
        };
        respond(&mut stream, status, &answer.to_string()).await;
    }

    /// One of the document's HTTP operations, answered as [`Mock::http_answer`] says.
    async fn http(&self, mut stream: TcpStream, head: Vec<u8>) {
        let (status, answer) = match read_request(&mut stream, head).await {
            Some(request) => self.http_answer(&request.method, &request.target, &request.body),
            None => (400, self.error(None, None, &Value::Null, "bad_request", "a malformed request", &[])),
        };
        respond(&mut stream, status, &answer).await;
    }

    /// The status and body answering `method target` with `body`: the
    /// operation's first reply, or its error message.
    pub fn http_answer(&self, method: &str, target: &str, body: &[u8]) -> (u16, String) {
        let api = self.api();
        let (path, query) = target.split_once('?').map_or((target, None), |(path, query)| (path, Some(query)));
        let found =
            self.http_routes.iter().filter(|route| route.method.eq_ignore_ascii_case(method)).find_map(|route| {
                let params = specserve_runtime::path::match_address(&route.path, path)?;
                Some((route, params.into_iter().map(|(name, value)| (name.to_owned(), value)).collect::<Vec<_>>()))
            });
        let Some((route, params)) = found else {
            return (
                404,
                self.error(None, None, &Value::Null, "not_found", "no operation has this method and path", &[]),
            );
        };
        let refuse = |code: &str, why: &str, details: &[Value]| {
            (400, self.error(Some(route.operation), None, &Value::Null, code, why, details))
        };
        // As the server: the query's credentials are the security's, not the payload's.
        let credential = |key: &str| {
            api.security_schemes.iter().any(|s| matches!(&s.enforcement, Enforcement::Query(name) if name == key))
        };
        let pairs = specserve_runtime::path::query_pairs(query).into_iter().filter(|(key, _)| !credential(key));
        let payload = match specserve_runtime::path::http_message(body, params.into_iter().chain(pairs).collect()) {
            Ok(payload) => payload,
            Err(why) => return refuse("bad_request", &why, &[]),
        };
        let errors = self.checker.payload_errors(route.message, &payload);
        if !errors.is_empty() {
            return refuse("validation_failed", "payload is invalid", &details(&errors));
        }
        let op = &api.operations[route.operation];
        match api.success_replies(op).first() {
            Some(reply) => {
                let mut answer = self.example(*reply);
                self.lead(*reply, None, &mut answer, None, None);
                (200, answer.to_string())
            }
            None => (200, "{}".to_owned()),
        }
    }

    fn emit_request(&self, path: &str, body: &[u8]) -> (u16, Value) {
        let api = self.api();
        let key = path.strip_prefix("/mock/emit/").unwrap_or_default();
        let Some(operation) = api.operations.iter().position(|op| op.key == key && op.action == Action::Send) else {
            let events: Vec<&str> =
                api.operations.iter().filter(|op| op.action == Action::Send).map(|op| op.key.as_str()).collect();
            return (404, json!({"error": format!("no send operation `{key}`"), "events": events}));
        };
        let payload = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            let Ok(payload) = serde_json::from_slice::<Value>(body) else {
                return (400, json!({"error": "the body is not JSON"}));
            };
            let Some(message) = api.operations[operation].messages.first() else { return (404, json!({})) };
            let mut framed = payload.clone();
            self.lead(*message, None, &mut framed, None, None);
            let errors = self.checker.payload_errors(*message, &framed);
            if !errors.is_empty() {
                return (400, json!({"error": "the payload breaks the event's schema", "details": errors}));
            }
            Some(payload)
        };
        (200, json!({"delivered": self.emit(operation, payload)}))
    }
}

/// Schema violations as the runtime's error `details`.
fn details(errors: &[Violation]) -> Vec<Value> {
    errors.iter().map(|e| json!({"pointer": e.pointer, "keyword": e.keyword, "message": e.message})).collect()
}

/// A request's bytes up to the end of its head (and whatever came with
/// it); `None` if the client went away or sent a head over [`MAX_BODY`].
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        if buffer.len() > MAX_BODY {
            return None;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some(buffer)
}

/// A small HTTP request (its body at most [`MAX_BODY`]).
struct HttpRequest {
    method: String,
    /// The path and query.
    target: String,
    body: Vec<u8>,
}

/// The request whose head [`read_head`] read into `buffer`, its body read on.
async fn read_request(stream: &mut TcpStream, mut buffer: Vec<u8>) -> Option<HttpRequest> {
    let head_end = buffer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut request_line = head.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return None;
    }
    let mut chunk = [0u8; 4096];
    while buffer.len() < head_end + length {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some(HttpRequest { method, target, body: buffer[head_end..head_end + length].to_vec() })
}

/// Writes a JSON answer with `status` and closes.
async fn respond(stream: &mut TcpStream, status: u16, json: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Binds `listen` and serves the mock until the process ends.
pub async fn run(checker: Checker, listen: SocketAddr, interval: Option<Duration>) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let mock = Mock::new(checker);
    let address = listener.local_addr()?;
    for endpoint in &mock.endpoints {
        println!("mock: ws://{address}{}", endpoint.address);
    }
    for route in &mock.http_routes {
        println!("mock: {} http://{address}{}", route.method, route.path);
    }
    println!("mock: POST http://{address}/mock/emit/<operation> pushes an event");
    mock.serve(listener, interval).await;
    Ok(())
}
