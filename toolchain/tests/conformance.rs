//! `specserve-tools conformance` run as QA would: against the product server
//! (it passes), and against a server deliberately broken here (it fails,
//! naming the routes).

use std::process::{Command, Output};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use specserve::api::{self, AuthGenerateTokenPayload, AuthRegisterPayload, Client};
use specserve::handlers::{App, AppConfig};
use specserve::security::audit::AuditLog;
use specserve::store::Database;
use specserve_runtime::client::ClientOptions;
use specserve_runtime::server::{Limits, Server, ServerConfig};
use tokio_tungstenite::tungstenite::Message;

/// The product's spec, which `conformance` checks the product against.
const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../asyncapi.yaml");

/// The product server over an in-memory database with the default frame
/// limits (a burst of 100, which a run exceeds: conformance paces itself), and
/// the account limits opened (per-minute budgets would make it wait minutes).
async fn product_server() -> Server {
    let store = Database::connect("sqlite::memory:").await.expect("an in-memory database");
    let config = AppConfig {
        auth_per_ip_per_minute: 1e6,
        login_failures_per_minute: 1e6,
        login_failures_per_account_per_minute: 1e6,
        creates_per_minute: 1e6,
        password_changes_per_minute: 1e6,
        ..AppConfig::default()
    };
    let hub = specserve_runtime::hub::Hub::new();
    let app = App::new(store, config, AuditLog::to_writer(std::io::sink()), hub.clone()).expect("the app starts");
    let mut server = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    server.hub = hub;
    server.assets = api::assets();
    server.limits = Limits::default();
    Server::start(server, Arc::new(api::Service::<App>::new(Arc::new(app)))).await.expect("it starts")
}

/// Runs `specserve-tools conformance` with `args` on a blocking thread (the
/// servers under test live on this test's runtime).
async fn conformance(args: Vec<String>) -> Output {
    conformance_of(SPEC, args).await
}

/// [`conformance`] against the document at `spec`.
async fn conformance_of(spec: &'static str, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_specserve-tools"))
            .arg("conformance")
            .args(["--spec", spec])
            .args(args)
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON report ({e}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn operation<'a>(report: &'a Value, name: &str) -> &'a Value {
    let operations = report["operations"].as_array().unwrap();
    operations.iter().find(|r| r["operation"] == name).unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_conforms_to_its_spec_with_and_without_a_token() {
    let server = product_server().await;
    let url = server.url();
    let fingerprint = server.fingerprint().unwrap();
    let client = Client::connect_with(&url, ClientOptions::pinned(&fingerprint)).await.unwrap();
    let alice = AuthRegisterPayload {
        name: "Alice".into(),
        email: "alice@example.com".into(),
        password: "SecretPass123".into(),
    };
    client.auth_register(&alice).await.unwrap();
    let login =
        AuthGenerateTokenPayload { email: "alice@example.com".into(), password: "SecretPass123".into(), refresh: None };
    let token = client.auth_generate_token(&login).await.unwrap().token;

    let base = vec!["--url".to_owned(), url.clone(), "--fingerprint".to_owned(), fingerprint.clone()];
    let with_token = [base.clone(), vec!["--token".into(), token, "--format".into(), "json".into()]].concat();
    let output = conformance(with_token).await;
    let json = report(&output);
    assert!(output.status.success(), "{json:#}");
    assert_eq!(json["passed"], true);
    let tested: Vec<&str> =
        json["operations"].as_array().unwrap().iter().map(|r| r["operation"].as_str().unwrap()).collect();
    let api = specserve_codegen::Api::from_yaml(specserve::ASYNCAPI_YAML).unwrap();
    let unchecked = json["unchecked"].to_string();
    let mut requested = 0;
    for declared in &api.operations {
        if declared.action == specserve_codegen::model::Action::Send {
            assert!(unchecked.contains(&format!("{}: the server sends it", declared.key)), "{unchecked}");
        } else if declared.http.is_some() {
            assert!(unchecked.contains(&format!("{}: served over HTTP", declared.key)), "{unchecked}");
        } else {
            assert!(tested.contains(&declared.key.as_str()), "{} was tested", declared.key);
            requested += 1;
        }
    }
    assert!(requested > 7 && requested < api.operations.len(), "the chat's requests and events are both declared");
    let requests: Vec<&&str> = tested.iter().filter(|name| !name.starts_with("(events")).collect();
    assert_eq!(requests.last(), Some(&&"authLogout"), "the operation that revokes the token runs last");
    // With a token the examples really run: Alice's create is answered with the success reply.
    let create = operation(&json, "userCreate");
    assert!(create["cases"].as_array().unwrap().iter().any(|c| c["got"] == "UserCreateReply"), "{create:#}");
    let invalid =
        create["cases"].as_array().unwrap().iter().filter(|c| c["case"].as_str().unwrap().starts_with("invalid"));
    assert!(
        invalid.clone().count() >= 4 && invalid.clone().all(|c| c["got"] == "Error validation_failed"),
        "{create:#}"
    );

    let output = conformance(base).await;
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("secured operations were tested unauthenticated"), "{text}");
    // Every operation a client sends, and the envelope checks of /ws.
    assert!(text.contains(&format!("PASSED: {} operations", requested + 1)), "{text}");
    server.shutdown().await;
}

/// A server that gets two routes wrong: user/read replies with the wrong shape,
/// auth/register's errors lack the requestId; and it pushes an event that
/// breaks its schema. Everything else is refused properly.
async fn broken_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(tcp).await else { return };
                while let Some(Ok(Message::Text(text))) = socket.next().await {
                    let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let event = json!({"channel": "presence/changed", "userId": 3, "online": "yes"});
                    if socket.send(Message::text(event.to_string())).await.is_err() {
                        return;
                    }
                    let (channel, id) = (frame["channel"].clone(), frame["requestId"].clone());
                    let refuse = |code: &str| json!({"success": false, "channel": channel, "requestId": id, "error": {"code": code, "message": "refused"}});
                    let reply = match channel.as_str() {
                        None => json!({"success": false, "error": {"code": "bad_request", "message": "not a frame"}}),
                        Some("user/read") => json!({"channel": "user/read", "requestId": id, "id": "seven"}),
                        Some("auth/register") => {
                            json!({"success": false, "channel": channel, "error": {"code": "validation_failed", "message": "no"}})
                        }
                        Some(c)
                            if ["auth/", "user/", "room/", "message/", "presence/", "token/", "announcement/"]
                                .iter()
                                .any(|p| c.starts_with(p)) =>
                        {
                            refuse("validation_failed")
                        }
                        Some(_) => refuse("unknown_channel"),
                    };
                    if socket.send(Message::text(reply.to_string())).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("ws://{address}/ws")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_server_fails_and_the_report_names_each_broken_route() {
    let url = broken_server().await;
    let output = conformance(vec!["--url".into(), url.clone(), "--format".into(), "json".into()]).await;
    assert_eq!(output.status.code(), Some(1), "exit 1 when anything fails");
    let json = report(&output);
    assert_eq!(json["passed"], false);

    let read = operation(&json, "userRead");
    assert_eq!(read["status"], "failed");
    let problems = read["cases"][0]["problems"].to_string();
    assert!(problems.contains("breaks UserReadReply at `/id` [type]"), "{read:#}");

    let register = operation(&json, "authRegister");
    assert_eq!(register["status"], "failed");
    assert!(register["cases"][0]["problems"].to_string().contains("has no `/requestId`"), "{register:#}");

    let events = operation(&json, "(events at /ws)");
    assert_eq!(events["status"], "failed");
    let problems = events["cases"][0]["problems"].to_string();
    assert!(problems.contains("breaks PresenceChanged at `/online` [type]"), "{events:#}");

    for fine in ["userDelete", "authGenerateToken", "messageSend", "(frames at /ws)"] {
        assert_eq!(operation(&json, fine)["status"], "passed", "{fine} is answered correctly by the broken server");
    }

    // The same run as JUnit XML for CI: a failure per broken case, under its operation.
    let junit = std::env::temp_dir().join(format!("specserve-junit-{}.xml", std::process::id()));
    let args = vec!["--url".into(), url.clone(), "--junit".into(), junit.display().to_string()];
    assert_eq!(conformance(args).await.status.code(), Some(1));
    let xml = std::fs::read_to_string(&junit).unwrap();
    let _ = std::fs::remove_file(&junit);
    assert!(xml.starts_with("<?xml") && xml.trim_end().ends_with("</testsuites>"), "{xml}");
    let read_suite = xml.split("<testsuite ").find(|s| s.starts_with("name=\"userRead\"")).unwrap();
    assert!(
        read_suite.contains("<failure ") && read_suite.contains("breaks UserReadReply at `/id` [type]"),
        "{read_suite}"
    );
    assert_eq!(xml.matches("<testsuite ").count(), json["operations"].as_array().unwrap().len() + 1, "{xml}");

    let output = conformance(vec!["--url".into(), url]).await;
    let text = String::from_utf8_lossy(&output.stdout);
    let api = specserve_codegen::Api::from_yaml(specserve::ASYNCAPI_YAML).unwrap();
    let requested = api
        .operations
        .iter()
        .filter(|o| o.action == specserve_codegen::model::Action::Receive && o.http.is_none())
        .count();
    // The requests, the envelope checks and the pushed events; three broken.
    assert!(text.contains(&format!("FAILED: 3 of {} operations", requested + 2)), "{text}");
    assert!(text.lines().any(|l| l.starts_with("(events at /ws) ") && l.contains(" FAILED ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("userRead ") && l.contains(" FAILED ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("authRegister ") && l.contains(" FAILED ")), "{text}");
}

/// A message the spec says a request makes the server push
/// (`x-specserve-trigger`, fixtures/documents/echo.client.yaml: each echo is
/// followed by a tick) is provoked and checked: pushed, it passes; not
/// pushed, the run fails naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_the_spec_says_a_request_triggers_is_provoked_and_its_absence_fails() {
    use specserve_fixtures::echo::{self as app, api};
    const ECHO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/documents/echo.client.yaml");
    for pushes in [true, false] {
        let hub = specserve_runtime::hub::Hub::new();
        let publisher = pushes.then(|| api::Publisher::new(hub.clone()));
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
        config.hub = hub;
        let service = api::Service::<app::Echo>::new(Arc::new(app::Context::with(publisher)));
        let server = Server::start(config, Arc::new(service)).await.unwrap();
        let (url, fingerprint) = (server.url_at("/echo"), server.fingerprint().unwrap());
        let args = ["--perspective", "client", "--url", &url, "--fingerprint", &fingerprint, "--format", "json"];
        let output = conformance_of(ECHO, args.map(str::to_owned).to_vec()).await;
        let json = report(&output);
        let tick = operation(&json, "receiveTick");
        assert!(!json["unchecked"].to_string().contains("receiveTick"), "{json:#}");
        if pushes {
            assert_eq!(tick["status"], "passed", "{tick:#}");
            assert_eq!(tick["cases"][0]["got"], "Tick", "{tick:#}");
            assert!(output.status.success(), "{json:#}");
        } else {
            assert_eq!(tick["status"], "failed", "{tick:#}");
            assert!(tick["cases"][0]["problems"].to_string().contains("none came"), "{tick:#}");
            assert_eq!(output.status.code(), Some(1));
        }
        server.shutdown().await;
    }
}
