//! `specserve-tools mock` as a client author and QA use it: any document
//! served without compiling, frames checked against its schemas, requests
//! answered with its examples, events pushed on request or on a timer; and
//! the generated TypeScript SDK driven against the mock of the project's spec.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use specserve_codegen::model::Action;
use specserve_tools::qa::mock::Mock;
use specserve_tools::qa::{Checker, Kind, Selector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../asyncapi.yaml");

/// A running mock process, stopped when dropped.
struct Running {
    child: Child,
    address: String,
    /// Its standard output, kept open: the mock's later lines would hit a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `specserve-tools mock SPEC --listen 127.0.0.1:0 extra...`, once it listens.
fn mock(spec: &str, extra: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_specserve-tools"))
        .args(["mock", spec, "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("a first line");
    let address = first
        .strip_prefix("mock: ws://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("the mock says where it listens: {first}"))
        .to_owned();
    Running { child, address, _stdout: stdout }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(20), socket.next()).await.expect("in time");
        match frame {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("JSON"),
            Some(Ok(_)) => continue,
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

async fn ask(socket: &mut Socket, frame: Value) -> Value {
    socket.send(Message::text(frame.to_string())).await.expect("send");
    next(socket).await
}

/// `POST path` with `body` to the mock's control endpoint: (status, answer).
async fn post(address: &str, path: &str, body: &str) -> (u16, Value) {
    request(address, "POST", path, body).await
}

/// `method target` with `body`: the status and the JSON answer.
async fn request(address: &str, method: &str, target: &str, body: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let request = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_mock_answers_as_the_document_says_and_pushes_on_request() {
    let running = mock(SPEC, &[]);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws", running.address)).await.expect("upgrade");
    // A valid request: the reply's example, its runtime-written properties set as the server would.
    let register = json!({"channel": "auth/register", "requestId": "r-1",
        "payload": {"name": "Ada", "email": "ada@example.com", "password": "SecretPass123"}});
    let reply = ask(&mut socket, register).await;
    assert_eq!(
        (&reply["success"], &reply["channel"], &reply["requestId"]),
        (&json!(true), &json!("auth/register"), &json!("r-1"))
    );
    assert!(reply["userId"].is_i64(), "{reply}");
    let checker = Checker::load(Path::new(SPEC), Default::default()).expect("the spec loads");
    let selector = Selector { kind: Kind::Reply, ..Selector::default() };
    assert!(checker.check(1, &reply.to_string(), &selector).valid, "the reply is one the spec declares: {reply}");
    // What the schemas refuse, pointer-precise, in the operation's error message.
    let refused = ask(&mut socket, json!({"channel": "user/read", "requestId": 9, "payload": {"id": "x"}})).await;
    assert_eq!(refused["error"]["code"], "validation_failed", "{refused}");
    let pointers: Vec<&Value> = refused["error"]["details"].as_array().unwrap().iter().map(|d| &d["pointer"]).collect();
    assert!(pointers.contains(&&json!("/payload/id")), "{refused}");
    for (frame, code) in [(json!({"channel": "nope"}), "unknown_channel"), (json!({"payload": {}}), "bad_request")] {
        assert_eq!(ask(&mut socket, frame.clone()).await["error"]["code"], code, "{frame}");
    }
    socket.send(Message::text("not json")).await.unwrap();
    assert_eq!(next(&mut socket).await["error"]["code"], "bad_request");

    // An event on request: its example, or the payload given (checked).
    let (status, answer) = post(&running.address, "/mock/emit/presenceChanged", "").await;
    assert_eq!((status, &answer["delivered"]), (200, &json!(1)), "{answer}");
    let event = next(&mut socket).await;
    assert_eq!(event["channel"], "presence/changed", "{event}");
    let (status, _) = post(&running.address, "/mock/emit/presenceChanged", r#"{"userId": 42, "online": false}"#).await;
    assert_eq!(status, 200);
    assert_eq!(next(&mut socket).await, json!({"channel": "presence/changed", "userId": 42, "online": false}));
    let (status, answer) = post(&running.address, "/mock/emit/presenceChanged", r#"{"userId": "x"}"#).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = post(&running.address, "/mock/emit/userRead", "").await;
    assert_eq!(status, 404, "only events are pushed: {answer}");
    assert!(answer["events"].as_array().unwrap().contains(&json!("messageNew")), "{answer}");
    // A path the document does not serve is refused at the upgrade.
    assert!(tokio_tungstenite::connect_async(format!("ws://{}/elsewhere", running.address)).await.is_err());
}

/// The document's HTTP operations, as the server reads them: the body, the
/// path's parameters and the query checked against the message's schema;
/// the reply's example back, or the operation's error message.
#[tokio::test]
async fn the_http_operations_answer_at_their_method_and_path() {
    let running = mock(SPEC, &[]);
    let address = running.address.as_str();
    let checker = Checker::load(Path::new(SPEC), Default::default()).expect("the spec loads");
    let declared = |reply: &Value| {
        let selector = Selector { kind: Kind::Reply, ..Selector::default() };
        checker.check(1, &reply.to_string(), &selector).valid
    };

    let (status, created) = request(address, "POST", "/api/rooms", r#"{"name": "from the mock"}"#).await;
    assert_eq!(status, 200, "{created}");
    assert!(created["room"]["id"].is_i64() && declared(&created), "a reply the spec declares: {created}");

    let (status, history) = request(address, "GET", "/api/rooms/7/messages?limit=10", "").await;
    assert_eq!(status, 200, "{history}");
    assert!(history["messages"].is_array() && declared(&history), "a reply the spec declares: {history}");

    // The query is typed and checked as the body is.
    let (status, refused) = request(address, "GET", "/api/rooms/7/messages?limit=500", "").await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "validation_failed", "{refused}");
    assert_eq!(refused["error"]["details"][0]["pointer"], "/limit", "{refused}");

    let (status, refused) = request(address, "POST", "/api/rooms/7/messages", "{not json").await;
    assert_eq!((status, &refused["error"]["code"]), (400, &json!("bad_request")), "{refused}");
    let (status, refused) = request(address, "POST", "/api/rooms/7/messages", r#"{"roomId": 8, "text": "x"}"#).await;
    assert_eq!((status, &refused["error"]["code"]), (400, &json!("bad_request")), "a path parameter given twice");

    let (status, unknown) = request(address, "DELETE", "/api/rooms", "").await;
    assert_eq!((status, &unknown["error"]["code"]), (404, &json!("not_found")), "{unknown}");

    // The WebSocket paths still upgrade beside them.
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/ws")).await.expect("the WebSocket path upgrades");
    let ping = ask(&mut socket, json!({"channel": "user/read", "requestId": "1", "payload": {"id": 1}})).await;
    assert_eq!(ping["requestId"], "1", "{ping}");
}

#[tokio::test]
async fn with_an_interval_every_event_comes_by_itself() {
    let running = mock(SPEC, &["--interval", "100ms"]);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws", running.address)).await.expect("upgrade");
    let api = specserve_codegen::Api::load(Path::new(SPEC)).expect("the spec loads");
    let events = api.operations.iter().filter(|op| op.action == Action::Send && op.channel == 0).count();
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < events {
        seen.insert(next(&mut socket).await["channel"].as_str().unwrap_or_default().to_owned());
    }
    assert!(seen.contains("message/new") && seen.contains("announcement/new"), "{seen:?}");
}

/// Every document the loader accepts is mocked: each request's example (or
/// sample) gets JSON back where its operation declares a reply; for the
/// project's own spec, each is a reply the spec accepts.
#[test]
fn every_document_that_loads_is_mocked() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus.join("manifest.json")).unwrap()).unwrap();
    let mut documents: Vec<std::path::PathBuf> =
        manifest["documents"].as_array().unwrap().iter().map(|d| corpus.join(d["path"].as_str().unwrap())).collect();
    documents.push(Path::new(SPEC).to_path_buf());
    let (mut mocked, mut answered, mut requests) = (0, 0, 0);
    for path in &documents {
        let Ok(checker) = Checker::load(path, Default::default()) else { continue };
        let own = path.ends_with("asyncapi.yaml") && path.parent() == Path::new(SPEC).parent();
        let replies = own.then(|| Checker::load(path, Default::default()).unwrap());
        let mock = Mock::new(checker);
        mocked += 1;
        for (e, endpoint) in mock.endpoints().iter().enumerate() {
            for route in &endpoint.routes {
                let op = &mock.api().operations[route.operation];
                // Those that declare a reply get one (or an error); the others nothing, when valid.
                requests += usize::from(op.reply.is_some() && !mock.api().success_replies(op).is_empty());
                let request = mock.request(e, route.message).to_string();
                for answer in mock.answer(e, &request) {
                    let value: Value = serde_json::from_str(&answer).expect("the mock answers JSON");
                    answered += 1;
                    if let Some(replies) = &replies {
                        let selector = Selector { kind: Kind::Reply, ..Selector::default() };
                        let verdict = replies.check(1, &answer, &selector);
                        assert!(verdict.valid, "{}: {request} -> {value}: {:?}", path.display(), verdict.errors);
                    }
                }
            }
        }
    }
    assert!(mocked > 50 && answered >= requests, "{mocked} documents, {requests} requests, {answered} answers");
}

/// The TypeScript SDK, as installed in tests/sdk, against the mock of the
/// project's spec (tests/sdk/sdk_against_mock.mjs): typed calls get the examples,
/// refusals are `ApiError`s, pushed events reach `on()`.
#[test]
fn the_typescript_sdk_runs_against_the_mock() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sdk");
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !node || !sdk.join("node_modules/specserve-user-api").exists() {
        assert!(std::env::var_os("CI").is_none(), "CI needs node and `npm ci --prefix tests/sdk`");
        eprintln!("skipped: needs node and `npm ci --prefix tests/sdk`");
        return;
    }
    let running = mock(SPEC, &[]);
    let output = Command::new("node")
        .args(["--test", "sdk_against_mock.mjs"])
        .current_dir(&sdk)
        .env("SPECSERVE_MOCK", &running.address)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "node --test sdk_against_mock.mjs failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
