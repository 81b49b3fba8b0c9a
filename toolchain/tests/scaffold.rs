//! `specserve-tools new` as a newcomer uses it: a project made from someone else's
//! spec (the AsyncAPI example of Kraken's WebSocket API) builds and passes its
//! own tests; once its ping handler is written it answers a native
//! `{"event":"ping","reqid":42}` with the spec's pong over WSS, and
//! `specserve-tools conformance` reports ping as passing and the operations still to
//! write as not implemented (not failed). Our own spec scaffolds into a project
//! that compiles too. Projects build in target/scaffold, shared between runs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The workspace root: the specserve checkout the projects depend on.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn specserve(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_specserve-tools")).args(args).output().expect("the binary runs")
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("specserve-new-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// One `cargo` at a time in the shared scaffold target dir: two at once
/// could rebuild a dependency between one's build and its doc-tests, which
/// then named an rlib that was no longer there (seen once under load).
static SCAFFOLD_TARGET: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `cargo <args>` in `project`, building into the shared scaffold target dir.
fn cargo(project: &Path, args: &[&str]) {
    let _one_at_a_time = SCAFFOLD_TARGET.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", Path::new(ROOT).join("target/scaffold"))
        // As the workspace builds (its [profile.dev]): a quarter faster.
        .env("CARGO_PROFILE_DEV_DEBUG", "line-tables-only")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo {args:?} failed in {}:\n{stderr}", project.display());
    // A new project's code builds clean: no deprecation, nothing unused,
    // nothing a newcomer would take for a problem of theirs (here, or in
    // specserve's crates). What its build script says of the document
    // (`warning: <package>@<version>: ...`, the spec's own warnings) is the
    // designer's to read, and stays.
    let from_build_script = |line: &str| {
        line.strip_prefix("warning: ")
            .and_then(|rest| rest.split_once(": "))
            .is_some_and(|(who, _)| who.contains('@') && !who.contains(' '))
    };
    let warnings: Vec<&str> =
        stderr.lines().filter(|line| line.starts_with("warning") && !from_build_script(line)).collect();
    assert!(warnings.is_empty(), "cargo {args:?} warned in {}:\n{stderr}", project.display());
}

/// Makes a project from `spec`, as a newcomer gets it: pinned by `new` to
/// the versions specserve is tested with (the checkout's `Cargo.lock`).
fn new_project(spec: &str, name: &str) -> PathBuf {
    let dir = fresh_dir(name);
    let output = specserve(&["new", "--spec", &format!("{ROOT}/{spec}"), dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("cargo run"), "it says what to do next");
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap_or_default();
    let tested = std::fs::read_to_string(Path::new(ROOT).join("Cargo.lock")).unwrap();
    assert_eq!(lock, tested, "the project starts from the versions specserve is tested with");
    dir
}

/// The scaffolded server, stopped on drop.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary` on a free port; returns it with its port and certificate fingerprint.
fn serve(binary: &Path) -> (Serving, u16, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(binary)
        // Its self-signed certificate is kept beside the binary, not in the checkout.
        .current_dir(binary.parent().unwrap())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .expect("the scaffolded server starts");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let serving = Serving(child);
    let mut fingerprint = None;
    for line in stderr.lines().map_while(Result::ok) {
        if let Some(at) = line.find("fingerprint=") {
            fingerprint = line[at + "fingerprint=".len()..].split_whitespace().next().map(str::to_owned);
        }
        if line.contains("listening") {
            break;
        }
    }
    (serving, port, fingerprint.expect("the log names the certificate's fingerprint"))
}

/// What the newcomer writes in src/handlers/ping.rs.
const PING_HANDLER: &str = r#"//! The `ping` operations.

use specserve_runtime::{ApiError, Open};

use crate::api::*;
use crate::app::App;

impl PingApi for App {
    type Context = App;

    async fn receive_ping(_rq: Open<'_, App>, _ping: Ping) -> Result<Pong, ApiError> {
        Ok(Pong {})
    }
}
"#;

/// Sends `frame` over WSS (trusting the certificate `fingerprint`) and returns the reply.
fn exchange(url: &str, fingerprint: &str, frame: &str) -> serde_json::Value {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let connector = tokio_tungstenite::Connector::Rustls(specserve_runtime::client::pinned_config(fingerprint));
        let (mut socket, _) =
            tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector)).await.expect("upgrade");
        socket.send(Message::text(frame)).await.unwrap();
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                Some(Ok(_)) => continue,
                other => panic!("expected a reply, got {other:?}"),
            }
        }
    })
}

#[test]
fn a_project_for_someone_elses_spec_builds_serves_and_reports_what_is_left() {
    let project = new_project(
        "tests/corpus/asyncapi-spec/kraken-websocket-request-reply-multiple-channels-asyncapi.yml",
        "kraken",
    );
    for file in ["asyncapi.yaml", "build.rs", "src/app.rs", "src/handlers/ping.rs", "tests/service.rs", "README.md"] {
        assert!(project.join(file).exists(), "{file}");
    }
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    assert!(readme.contains("cargo run") && readme.contains("cargo test"), "two commands: {readme}");
    // It shows how a handler pushes the spec's first `send` operation (its publisher method).
    assert!(readme.contains("rq.context().publisher.heartbeat(Audience::everyone(), &event)?;"), "{readme}");
    let stub = std::fs::read_to_string(project.join("src/handlers/ping.rs")).unwrap();
    assert!(stub.contains("Err(ApiError::not_implemented(\"receivePing\"))"), "{stub}");
    std::fs::write(project.join("src/handlers/ping.rs"), PING_HANDLER).unwrap();
    cargo(&project, &["test"]);

    let binary = Path::new(ROOT).join("target/scaffold/debug/kraken-websockets-api");
    let (_server, port, fingerprint) = serve(&binary);
    let url = format!("wss://127.0.0.1:{port}/");
    let pong = exchange(&url, &fingerprint, r#"{"event":"ping","reqid":42}"#);
    assert_eq!(pong, serde_json::json!({"event": "pong", "reqid": 42}));

    let spec = project.join("asyncapi.yaml");
    let output = specserve(&[
        "conformance",
        "--spec",
        spec.to_str().unwrap(),
        "--url",
        &url,
        "--fingerprint",
        &fingerprint,
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    assert!(output.status.success(), "not implemented is not a failure: {report:#}");
    let statuses: Vec<(&str, &str)> = report["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["operation"].as_str().unwrap(), o["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [("receivePing", "passed"), ("subscribe", "not_implemented"), ("unsubscribe", "not_implemented")],
        "{report:#}"
    );
    let unchecked = report["unchecked"].to_string();
    assert!(
        unchecked.contains("heartbeat") && unchecked.contains("systemStatus"),
        "pushed operations are listed: {unchecked}"
    );
    let _ = std::fs::remove_dir_all(&project);
}

#[test]
fn our_own_spec_scaffolds_into_a_project_that_compiles() {
    let project = new_project("asyncapi.yaml", "user-api");
    for group in ["auth", "user"] {
        let stubs = std::fs::read_to_string(project.join(format!("src/handlers/{group}.rs"))).unwrap();
        assert!(stubs.contains("Err(ApiError::not_implemented("), "{stubs}");
    }
    let stubs = std::fs::read_to_string(project.join("src/handlers/user.rs")).unwrap();
    assert!(stubs.contains("rq: Secured<'_, App>"), "secured operations take the authenticated context: {stubs}");
    // Built as the Kraken project is (`cargo test`), so the two share every
    // dependency in target/scaffold instead of compiling them twice.
    cargo(&project, &["test", "--no-run"]);
    let _ = std::fs::remove_dir_all(&project);
}

#[test]
fn a_project_is_never_made_over_existing_files_or_from_a_broken_spec() {
    let occupied = fresh_dir("occupied");
    std::fs::create_dir_all(&occupied).unwrap();
    std::fs::write(occupied.join("keep.txt"), "mine").unwrap();
    let spec = format!("{ROOT}/asyncapi.yaml");
    let output = specserve(&["new", "--spec", &spec, occupied.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not empty"));
    assert_eq!(std::fs::read_dir(&occupied).unwrap().count(), 1, "nothing was written");
    assert_eq!(std::fs::read_to_string(occupied.join("keep.txt")).unwrap(), "mine");

    let broken = fresh_dir("broken-spec");
    std::fs::create_dir_all(&broken).unwrap();
    let spec = broken.join("asyncapi.yaml");
    let document =
        "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\nchannels: {a: {address: '/{x}', parameters: {}}}\n";
    std::fs::write(&spec, document).unwrap();
    let target = broken.join("project");
    let output = specserve(&["new", "--spec", spec.to_str().unwrap(), target.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "a spec that does not load is a verdict, as in lint");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("[asyncapi3-channel-parameters]") && said.contains("`{x}` is not among"), "{said}");
    assert!(!target.exists(), "nothing was made");
    let _ = std::fs::remove_dir_all(&occupied);
    let _ = std::fs::remove_dir_all(&broken);
}

#[test]
fn a_project_for_a_clients_document_builds_the_server_it_talks_to() {
    let dir = fresh_dir("client-perspective");
    let spec = format!("{ROOT}/fixtures/documents/echo.client.yaml");
    let output = specserve(&["new", "--perspective", "client", "--spec", &spec, dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let build = std::fs::read_to_string(dir.join("build.rs")).unwrap();
    assert!(build.contains("load_as(spec, specserve_codegen::Perspective::Client)"), "{build}");
    // Its one handler is the client's request, which this server receives.
    let handlers = std::fs::read_to_string(dir.join("src/handlers/echo.rs")).unwrap();
    assert!(handlers.contains("async fn send_echo"), "{handlers}");
    let _ = std::fs::remove_dir_all(&dir);
}
