//! The `specserve` binary as an operator runs it: zero-configuration TLS on
//! SQLite, MariaDB via DATABASE_URL, an independent Python client written to the
//! seed README, SIGTERM shutdown, and logs that never contain a secret.

mod common;

use std::process::{Command, Stdio};

use common::db;
use common::process::{Running, rand_suffix};
use futures_util::{SinkExt, StreamExt};
use specserve::api::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Runs tests/python/seed_client.py (Python `websockets`) against `url`.
fn python_seed_client(url: &str) {
    let available = Command::new("python3").args(["-c", "import websockets"]).status().is_ok_and(|s| s.success());
    if !available {
        common::skip_unless_ci("python3 with websockets (pip install websockets)");
        return;
    }
    let root_url = url.trim_end_matches("/ws").to_owned() + "/";
    let output = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/seed_client.py"))
        .arg(&root_url)
        .output()
        .expect("python3 runs (pip install websockets; .ci/run does)");
    assert!(
        output.status.success(),
        "python seed client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn zero_config_server_on_sqlite_passes_the_python_seed_client() {
    let running = Running::start(None);
    python_seed_client(&running.url);
    assert!(
        running.dir.join("specserve.db").exists(),
        "the embedded default is an SQLite file in the working directory"
    );
    running.sigterm();
    let (status, _) = running.wait();
    assert!(status.success(), "{status}");
}

/// Whether Node (which the SDK tests use too) trusts the server at `url`
/// when told `NODE_EXTRA_CA_CERTS=cert`, as README says to.
fn node_trusts(url: &str, cert: &std::path::Path) -> Option<bool> {
    let port = url.split(':').nth(2)?.split('/').next()?.to_owned();
    let script = "const s = require('tls').connect({host: '127.0.0.1', port: +process.argv[1], servername: 'localhost'}, \
                  () => { console.log(s.authorized); s.end(); }); s.on('error', e => { console.log(e.code); });";
    let output = Command::new("node").args(["-e", script, &port]).env("NODE_EXTRA_CA_CERTS", cert).output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim() == "true")
}

/// The zero-configuration certificate is a file clients can trust, and a
/// restart keeps it (README's `NODE_EXTRA_CA_CERTS` advice depends on both).
#[tokio::test]
async fn the_self_signed_certificate_is_kept_for_clients_and_restarts() {
    let running = Running::start(None);
    let cert = running.dir.join("specserve-tls/cert.pem");
    assert!(cert.exists(), "by default in the working directory, where README says");
    running.sigterm();
    let (status, logs) = running.wait();
    assert!(status.success(), "{status}");
    assert!(logs.contains("specserve-tls/cert.pem"), "the start log says where the certificate is: {logs}");

    let kept = std::env::temp_dir().join(format!("specserve-tls-kept-{}", rand_suffix()));
    let flags = ["--self-signed-dir", kept.to_str().unwrap()];
    let running = Running::start_with(None, &flags);
    let (cert, first) = (kept.join("cert.pem"), running.fingerprint.clone());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(kept.join("key.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is its owner's only: {mode:o}");
    }
    match node_trusts(&running.url, &cert) {
        Some(trusted) => assert!(trusted, "Node trusts the server with NODE_EXTRA_CA_CERTS={}", cert.display()),
        None => common::skip_unless_ci("node"),
    }
    assert!(node_trusts(&running.url, std::path::Path::new("/dev/null")) != Some(true), "and not without it");
    running.sigterm();
    let (status, logs) = running.wait();
    assert!(status.success(), "{status}: {logs}");
    let again = Running::start_with(None, &flags);
    assert_eq!(again.fingerprint, first, "a restart presents the same certificate");
    again.sigterm();
    let (status, logs) = again.wait();
    assert!(status.success(), "{status}: {logs}");
    let _ = std::fs::remove_dir_all(&kept);
}

/// A renewed certificate is taken on SIGHUP, without a restart: new
/// handshakes present it, open connections carry on, and a pair whose key is
/// not the certificate's is refused with the current one kept.
#[tokio::test]
async fn sighup_reloads_the_tls_certificate_and_open_connections_carry_on() {
    use specserve_runtime::server::tls::ServerTls;
    let (served, renewed) = (common::certs::TestCert::new(), common::certs::TestCert::new());
    let fingerprint_of =
        |cert: &common::certs::TestCert| ServerTls::from_setup(&cert.tls()).unwrap().unwrap().fingerprint();
    let (before, after) = (fingerprint_of(&served), fingerprint_of(&renewed));
    let flags = ["--tls-cert", served.cert.to_str().unwrap(), "--tls-key", served.key.to_str().unwrap()];
    let running = Running::start_with(None, &flags);
    assert_eq!(running.fingerprint, before);
    let open = running.client().await;
    let alice = common::register_alice(&open).await;

    // A certificate and someone else's key: refused, the current pair stays.
    std::fs::copy(&renewed.cert, &served.cert).unwrap();
    running.signal("HUP");
    running.wait_for_log("TLS certificate not reloaded");
    let pinned = specserve_runtime::client::ClientOptions::pinned;
    assert!(Client::connect_with(&running.url, pinned(&before)).await.is_ok(), "still the old certificate");

    std::fs::copy(&renewed.key, &served.key).unwrap();
    running.signal("HUP");
    let reloaded = running.wait_for_log("TLS certificate reloaded");
    assert!(reloaded.contains(&after), "{reloaded}");
    assert!(Client::connect_with(&running.url, pinned(&after)).await.is_ok(), "new handshakes present the renewed one");
    assert!(Client::connect_with(&running.url, pinned(&before)).await.is_err(), "and no longer the old one");
    assert!(open.user_read(&UserRef { id: alice }).await.is_ok(), "a connection made before carries on");
    running.sigterm();
    assert!(running.wait().0.success());
}

#[tokio::test]
async fn server_on_mariadb_passes_the_python_seed_client() {
    let Some(db) = db::mysql().await else { return };
    let running = Running::start(Some(db.url()));
    python_seed_client(&running.url);
    running.sigterm();
    assert!(running.wait().0.success());
    db.drop().await;
}

/// `--workers 2`: two per-core workers, each with its own MariaDB connections.
#[tokio::test]
async fn per_core_workers_on_mariadb_pass_the_python_seed_client() {
    let Some(db) = db::mysql().await else { return };
    let running = Running::start_with(Some(db.url()), &["--workers", "2"]);
    python_seed_client(&running.url);
    running.sigterm();
    let (status, logs) = running.wait();
    assert!(status.success(), "{status}");
    assert!(logs.contains(r#""workers":2"#), "the listening line says how many workers: {logs}");
    db.drop().await;
}

/// The cores a thread or process may run on, from `/proc/.../status`
/// (`Cpus_allowed_list: 0-1,4`).
fn allowed_cores(status: &str) -> Vec<usize> {
    let list = status.lines().find_map(|line| line.strip_prefix("Cpus_allowed_list:")).unwrap_or_default();
    let mut cores = Vec::new();
    for part in list.trim().split(',').filter(|part| !part.is_empty()) {
        match part.split_once('-') {
            Some((from, to)) => cores.extend(from.parse::<usize>().unwrap()..=to.parse().unwrap()),
            None => cores.push(part.parse().unwrap()),
        }
    }
    cores
}

/// Every thread of process `pid`: its name (cut to 15 bytes by Linux) and cores.
fn threads(pid: u32) -> Vec<(String, Vec<usize>)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .flatten()
        .filter_map(|task| {
            let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let status = std::fs::read_to_string(task.path().join("status")).ok()?;
            Some((name.trim().to_owned(), allowed_cores(&status)))
        })
        .collect()
}

/// `--workers 2 --pin-workers` on the SQLite default: each worker thread runs
/// on a core of its own, and the SQLite connection threads it opened stay on
/// its core, so a statement's hand-over to one never crosses cores.
#[tokio::test]
async fn pinned_workers_keep_their_sqlite_connections_on_their_cores() {
    let cores = allowed_cores(&std::fs::read_to_string("/proc/self/status").unwrap());
    if cores.len() < 2 {
        common::skip_unless_ci("two cores to pin two workers to");
        return;
    }
    let running = Running::start_with(None, &["--workers", "2", "--pin-workers"]);
    let alice = running.client().await;
    let id = common::register_alice(&alice).await;
    let login =
        AuthGenerateTokenPayload { email: "alice@example.com".into(), password: "SecretPass123".into(), refresh: None };
    let token = alice.auth_generate_token(&login).await.unwrap().token;
    // Enough connections that the kernel gives both workers some; each reads
    // from the database once on the worker that accepted it.
    for _ in 0..24 {
        let client = running.client().await;
        client.set_token(Some(token.clone()));
        assert_eq!(client.user_read(&UserRef { id }).await.unwrap().id, id);
    }
    let threads = threads(running.pid());
    let pinned = |name: &str| {
        let mut on: Vec<usize> = threads.iter().filter(|(n, c)| n == name && c.len() == 1).map(|(_, c)| c[0]).collect();
        on.sort_unstable();
        on.dedup();
        on
    };
    assert_eq!(pinned("specserve-worke"), cores[..2], "worker i runs on the i-th core: {threads:?}");
    assert_eq!(pinned("sqlx-sqlite-wor"), cores[..2], "each worker's SQLite threads share its core: {threads:?}");
    let free = threads.iter().filter(|(name, c)| name.starts_with("argon2") && *c == cores).count();
    assert!(free > 0, "the password hashing threads are not pinned: {threads:?}");
    running.sigterm();
    assert!(running.wait().0.success());
}

/// Pinning asks for a core per worker; more workers than the process's cores
/// is refused at start with a message, not served on stacked threads.
#[test]
fn more_pinned_workers_than_cores_are_refused_at_start() {
    let cores = allowed_cores(&std::fs::read_to_string("/proc/self/status").unwrap());
    let too_many = (cores.len() + 1).to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_specserve"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", "sqlite::memory:"])
        .args(["--workers", &too_many, "--pin-workers"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{too_many} pinned workers must stop the server: {stderr}");
    let says = format!("{too_many} pinned workers need a core each, but this process may run on {}", cores.len());
    assert!(stderr.contains(&says), "{stderr}");
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1001_exits_0_and_logs_no_secrets() {
    let running = Running::start(None);
    let client = running.client().await;
    let password = "Unguessable-Passw0rd";
    client
        .auth_register(&AuthRegisterPayload {
            name: "Ops".into(),
            email: "ops@example.com".into(),
            password: password.into(),
        })
        .await
        .unwrap();
    let token = client
        .auth_generate_token(&AuthGenerateTokenPayload {
            email: "ops@example.com".into(),
            password: password.into(),
            refresh: None,
        })
        .await
        .unwrap()
        .token;
    // A raw socket to watch the close frame, authenticated with the bearer header.
    let request = {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = running.url.as_str().into_client_request().unwrap();
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        request
    };
    let connector =
        tokio_tungstenite::Connector::Rustls(specserve_runtime::client::pinned_config(&running.fingerprint));
    let (mut socket, _) =
        tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector)).await.unwrap();
    running.sigterm();
    let close = loop {
        match socket.next().await {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close, Some(CloseCode::Away));
    let (status, logs) = running.wait();
    assert!(status.success(), "{status}");
    assert!(logs.contains("connection opened") && logs.contains("connection closed"), "{logs}");
    assert!(logs.contains("server shutting down"), "close reason logged");
    assert!(!logs.contains(password), "the password is in the logs");
    assert!(!logs.contains(&token), "the token is in the logs");
}

/// Seed 001's `?token=` on the upgrade URL authenticates the per-room
/// socket, and the token appears in no log line, even at debug level.
#[tokio::test]
async fn a_query_token_authenticates_a_room_socket_and_is_never_logged() {
    let running = Running::start(None);
    let client = running.client().await;
    let password = "Unguessable-Passw0rd";
    let register =
        AuthRegisterPayload { name: "Ana".into(), email: "ana@example.com".into(), password: password.into() };
    client.auth_register(&register).await.unwrap();
    let login = AuthGenerateTokenPayload { email: "ana@example.com".into(), password: password.into(), refresh: None };
    let token = client.auth_generate_token(&login).await.unwrap().token;
    let connector =
        tokio_tungstenite::Connector::Rustls(specserve_runtime::client::pinned_config(&running.fingerprint));
    let url = format!("{}room/424242?token={token}", running.url.trim_end_matches("ws"));
    let (mut socket, _) = tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector))
        .await
        .expect("the room socket opens");
    socket.send(Message::text(r#"{"content": "hello"}"#)).await.unwrap();
    // Authenticated (not `unauthorized`), then refused: no such room, or not a member, alike.
    let answer = match socket.next().await {
        Some(Ok(Message::Text(text))) => serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        other => panic!("expected the error frame, got {other:?}"),
    };
    assert_eq!(answer["error"]["code"], "forbidden", "{answer}");
    running.sigterm();
    let (status, logs) = running.wait();
    assert!(status.success(), "{status}");
    assert!(logs.contains("connection opened"), "{logs}");
    assert!(!logs.contains(&token), "the token is in the logs");
    let upgrade = access_lines(&logs).into_iter().find(|line| line["fields"]["path"] == "/room/424242");
    let upgrade = upgrade.unwrap_or_else(|| panic!("the upgrade is in the access log: {logs}"));
    assert_eq!((&upgrade["fields"]["method"], &upgrade["fields"]["status"]), (&"GET".into(), &101.into()));
}

/// The access log lines (`specserve::access`) of a JSON log.
fn access_lines(logs: &str) -> Vec<serde_json::Value> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "specserve::access")
        .collect()
}

/// Every HTTP request gets one access log line once answered, refusals
/// included: the client's address, method, path, status and time, never
/// the query string (a token may be there), and a hostile path cut short.
#[tokio::test]
async fn every_http_request_is_logged_once_without_its_query() {
    let running = Running::start(None);
    let addr: std::net::SocketAddr =
        running.url.trim_start_matches("wss://").trim_end_matches("/ws").parse().expect("the URL names an address");
    let fingerprint = running.fingerprint.clone();
    // One request (its request line, headers and body), on a connection of its own: the status.
    let ask = async |lines: &str, body: &str| {
        let request = format!("{lines}\r\nHost: localhost\r\nConnection: close\r\n\r\n{body}");
        common::net::http_at(addr, &fingerprint, &request).await.0
    };
    assert_eq!(ask("GET /healthz?secret=query-secret-1 HTTP/1.1", "").await, 200);
    assert_eq!(ask("GET /no/such/page HTTP/1.1", "").await, 404);
    let empty_login = "POST /api/auth/token HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2";
    assert_eq!(ask(empty_login, "{}").await, 400, "an empty log-in is a validation failure");
    let long = format!("/{}", "a".repeat(4000));
    assert_eq!(ask(&format!("GET {long} HTTP/1.1"), "").await, 404);
    running.sigterm();
    let (status, logs) = running.wait();
    assert!(status.success(), "{status}");
    let seen: Vec<(String, String, u64)> = access_lines(&logs)
        .iter()
        .map(|line| {
            let fields = &line["fields"];
            assert_eq!(fields["ip"], "127.0.0.1", "{line}");
            assert!(fields["ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
            let text = |name: &str| fields[name].as_str().unwrap_or_default().to_owned();
            (text("method"), text("path"), fields["status"].as_u64().unwrap_or(0))
        })
        .collect();
    let cut = format!("/{}", "a".repeat(255));
    assert_eq!(
        seen,
        [
            ("GET".into(), "/healthz".into(), 200),
            ("GET".into(), "/no/such/page".into(), 404),
            ("POST".into(), "/api/auth/token".into(), 400),
            ("GET".into(), cut, 404),
        ],
        "{logs}"
    );
    assert!(!logs.contains("query-secret-1"), "the query is in the logs: {logs}");
}

#[tokio::test]
async fn admin_bootstrap_and_token_revocation_from_the_cli() {
    let dir = std::env::temp_dir().join(format!("specserve-cli-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("cli.db").display());
    let audit_log = dir.join("audit.jsonl");
    let cli = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_specserve"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("SPECSERVE_AUDIT_LOG", &audit_log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (ok, out) = cli(&["db", "init"], "");
    assert!(ok, "{out}");
    let (ok, out) =
        cli(&["user", "create", "--admin", "--email", "root@example.com", "--name", "Root"], "Adm1nPassword\n");
    assert!(ok && out.contains("created user 1 (admin)"), "{out}");
    // The CLI goes through the API's checks, and is audited like it.
    let audit = std::fs::read_to_string(&audit_log).unwrap();
    assert!(audit.contains(r#""event":"user_created","actor":null,"target":1"#), "{audit}");
    assert!(!audit.contains("Adm1nPassword"), "no secret in the audit log");
    let (ok, out) = cli(&["user", "create", "--email", "weak@example.com", "--name", "W"], "short\n");
    assert!(!ok && out.contains("/payload/password [minLength]"), "{out}");
    let (ok, out) = cli(&["user", "create", "--email", "not-an-email", "--name", "W"], "LongEnough123\n");
    assert!(!ok && out.contains("/payload/email [format]"), "{out}");
    let (ok, out) =
        cli(&["user", "create", "--email", "eve@example.com", "--name", "Eve\n 99 admin"], "LongEnough123\n");
    assert!(!ok && out.contains("/payload/name [pattern]"), "control characters are refused: {out}");
    let (ok, out) = cli(&["user", "list"], "");
    assert!(ok && out.contains("root@example.com") && out.contains("admin"), "{out}");
    assert!(!out.contains("Adm1nPassword") && !out.contains("argon2"), "user list shows no secrets");

    // The admin logs in through the server and may read anyone...
    let store = specserve::store::Database::connect(&url).await.unwrap();
    // No token cache, so a revocation made by another process shows on the next frame.
    let config =
        specserve::handlers::AppConfig { token_cache_ttl: std::time::Duration::ZERO, ..common::app::test_config() };
    let running = common::app::start(db::TestDb::external(store, url.clone()), config).await;
    let client = common::net::client(&running.server).await;
    let login =
        AuthGenerateTokenPayload { email: "root@example.com".into(), password: "Adm1nPassword".into(), refresh: None };
    client.set_token(Some(client.auth_generate_token(&login).await.unwrap().token));
    assert_eq!(client.user_read(&UserRef { id: 1 }).await.unwrap().role, Role::Admin);
    // ...until the CLI revokes the token.
    let (ok, out) = cli(&["token", "revoke", "--user", "1"], "");
    assert!(ok && out.contains("revoked 1 token(s) of user 1"), "{out}");
    match client.user_read(&UserRef { id: 1 }).await {
        Err(specserve::api::ClientError::Api(body)) => assert_eq!(body.code, ErrorCode::Unauthorized),
        other => panic!("expected unauthorized after revocation, got {other:?}"),
    }
    running.server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_forged_row_cannot_appear_in_user_list() {
    let dir = std::env::temp_dir().join(format!("specserve-forge-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("forge.db").display());
    // A name stored before names were checked (or written by hand into the table).
    let store = specserve::store::Database::connect(&url).await.unwrap();
    let forged = "Eve\n    99  admin   -        ceo@example.com                 CEO\u{1b}[2J";
    let user = specserve::store::NewUser {
        name: forged.into(),
        email: "eve@example.com".into(),
        password_hash: None,
        role: Role::User,
        created_by: None,
        now: specserve::store::now_utc(),
    };
    store.create_user(user).await.unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_specserve"))
        .args(["user", "list"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert_eq!(out.lines().count(), 2, "a header and one row: {out}");
    assert!(out.contains("Eve\\u{a}") && out.contains("\\u{1b}[2J") && !out.contains('\u{1b}'), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn database_urls_that_would_lose_data_are_refused_at_start() {
    for (url, says) in [
        ("", "DATABASE_URL is empty"),
        ("postgres://user@localhost/app", "PostgreSQL is not supported"),
        ("specserve.db", "a file is sqlite://specserve.db"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_specserve"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", url)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{url:?} must stop the server: {stderr}");
        assert!(stderr.contains(says), "{url:?}: {stderr}");
    }
}

#[test]
fn cluster_and_mail_flags_that_cannot_work_are_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("specserve-flags-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("cluster.key");
    let keygen =
        Command::new(env!("CARGO_BIN_EXE_specserve")).args(["cluster", "keygen", "--out"]).arg(&key).output().unwrap();
    assert!(keygen.status.success(), "{}", String::from_utf8_lossy(&keygen.stderr));
    let again =
        Command::new(env!("CARGO_BIN_EXE_specserve")).args(["cluster", "keygen", "--out"]).arg(&key).output().unwrap();
    assert_eq!(again.status.code(), Some(2), "keygen never overwrites a key");
    let bad_key = dir.join("bad.key");
    std::fs::write(&bad_key, "not a key\n").unwrap();
    let password = dir.join("password");
    std::fs::write(&password, "s3cret\n").unwrap();
    let (key, bad_key, password) = (key.to_str().unwrap(), bad_key.to_str().unwrap(), password.to_str().unwrap());
    let nats = "nats://127.0.0.1:4222";
    for (flags, says) in [
        (&["--cluster-url", "", "--cluster-key-file", key][..], "--cluster-url: needs a NATS server"),
        (&["--cluster-url", "nats://", "--cluster-key-file", key][..], "--cluster-url: needs a NATS server"),
        (
            &["--cluster-url", "http://127.0.0.1:4222", "--cluster-key-file", key][..],
            "invalid scheme for NATS server URL",
        ),
        (&["--cluster-url", nats][..], "--cluster-url needs a cluster key: --cluster-key-file FILE"),
        (&["--cluster-url", nats, "--cluster-key-file", bad_key][..], "is not a specserve secret"),
        (
            &["--cluster-url", nats, "--cluster-key-file", key, "--cluster-user", "node"][..],
            "--cluster-user needs --cluster-password-file",
        ),
        (
            &["--cluster-url", nats, "--cluster-key-file", key, "--cluster-password-file", password][..],
            "needs --cluster-user",
        ),
        (
            &[
                "--cluster-url",
                "nats://node:pw@127.0.0.1:4222",
                "--cluster-key-file",
                key,
                "--cluster-token-file",
                password,
            ][..],
            "give NATS one credential, not 2: token, user and password",
        ),
        (
            &["--cluster-url", nats, "--cluster-key-file", key, "--cluster-nkey-file", password][..],
            "not a user NKey seed",
        ),
        (
            &["--cluster-url", nats, "--cluster-key-file", key, "--cluster-creds-file", password][..],
            "--cluster-creds-file",
        ),
        (
            &["--cluster-url", nats, "--cluster-key-file", key, "--cluster-tls-ca-file", "/nonexistent/ca.pem"][..],
            "/nonexistent/ca.pem: no such file",
        ),
        (&["--cluster-url", nats, "--cluster-key-file", key][..], "sqlite::memory: is this process's own"),
        (&["--require-email-verification"][..], "needs --smtp-url"),
        (&["--smtp-url", "smtp://127.0.0.1:25"][..], "only used with --require-email-verification"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_specserve"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", "sqlite::memory:"])
            .args(flags)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?} must stop the server: {stderr}");
        assert!(stderr.contains(says), "{flags:?}: {stderr}");
        assert!(!stderr.contains("s3cret") && !stderr.contains(":pw@"), "no secret in the message: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn db_init_creates_a_missing_mysql_database() {
    let Some(admin_url) = std::env::var(db::MYSQL_URL_VAR).ok() else { return };
    let name = format!("specserve_init_{}_{}", std::process::id(), rand_suffix());
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
    let url = format!("{base}/{name}");
    let output =
        Command::new(env!("CARGO_BIN_EXE_specserve")).args(["db", "init"]).env("DATABASE_URL", &url).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("database created") && stdout.contains("migrations applied"), "{stdout}");
    // The server can use it at once, and a second init changes nothing.
    let store = specserve::store::Database::connect(&url).await.unwrap();
    assert!(store.list_users().await.unwrap().is_empty());
    let again =
        Command::new(env!("CARGO_BIN_EXE_specserve")).args(["db", "init"]).env("DATABASE_URL", &url).output().unwrap();
    assert!(again.status.success() && !String::from_utf8_lossy(&again.stdout).contains("database created"));
    db::TestDb::external(store, url).drop_database(&admin_url, &name).await;
}

/// `specserve serve` on `url` in a scratch directory, expected to stop at
/// start: its exit code and what it said.
fn serve_refused(url: &str) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("specserve-refused-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_specserve"))
        .current_dir(&dir)
        .args(["--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A MySQL database the server cannot use stops it at start with what to
/// run, rather than a server that listens and answers every request
/// `internal`; `--wait-for-db` waits for one that comes up.
#[tokio::test]
async fn serve_refuses_a_mysql_database_it_cannot_use_and_waits_for_one_that_comes_up() {
    use sqlx::Connection as _;
    let Some(admin_url) = std::env::var(db::MYSQL_URL_VAR).ok() else { return };
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let name = format!("specserve_ready_{}_{}", std::process::id(), rand_suffix());
    let url = format!("{base}/{name}");

    let (code, said) = serve_refused(&url);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("does not exist") && said.contains("specserve db init"), "{said}");

    let mut admin = sqlx::MySqlConnection::connect(&admin_url).await.unwrap();
    // `name` is made here of letters, digits and underscores.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{name}`"))).execute(&mut admin).await.unwrap();
    let (code, said) = serve_refused(&url);
    assert_eq!(code, Some(2), "{said}");
    // Every migration the binary carries, one file each.
    let count = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/mysql")).unwrap().count();
    let all: Vec<String> = (1..=count).map(|n| n.to_string()).collect();
    let lacks = format!("lacks migrations {}", all.join(", "));
    assert!(said.contains(&lacks) && said.contains("specserve db migrate"), "{said}");

    let free_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, said) = serve_refused(&format!("mysql://root@127.0.0.1:{free_port}/{name}"));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("does not answer") && said.contains("--wait-for-db"), "{said}");
    assert!(!said.contains("listening"), "{said}");

    // `db status` says what `db migrate` then applies, keeping the database.
    let db = |command: &str| {
        let output =
            Command::new(env!("CARGO_BIN_EXE_specserve")).args(["db", command]).env("DATABASE_URL", &url).output();
        let output = output.unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (code, status) = db("status");
    assert_eq!(code, Some(1), "pending migrations are a \"no\": {status}");
    assert!(status.contains("   1  PENDING  initial") && status.contains(&format!("{count} pending")), "{status}");
    let (code, applied) = db("migrate");
    assert_eq!(code, Some(0), "{applied}");
    assert!(applied.contains("applied    1 initial") && applied.contains(&format!("({count} new)")), "{applied}");
    let (code, status) = db("status");
    assert_eq!((code, status.contains("up to date")), (Some(0), true), "{status}");

    // Migrated, behind a port nothing answers on yet: the server waits, and
    // serves once a forwarder to MariaDB comes up there.
    let mariadb = admin_url.split('@').nth(1).and_then(|rest| rest.split('/').next()).unwrap().to_owned();
    let later = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = later.local_addr().unwrap().port();
    drop(later);
    let waiting = Running::start_waiting(&format!("mysql://root@127.0.0.1:{port}/{name}"), "waiting for the database");
    let forwarder = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = forwarder.accept().await {
            let mariadb = mariadb.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(mariadb).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    // Read its log off this (single-threaded) runtime, which runs the forwarder.
    let running = tokio::task::spawn_blocking(move || waiting.listening()).await.unwrap();
    running.sigterm();
    assert!(running.wait().0.success());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE `{name}`"))).execute(&mut admin).await.unwrap();
}

/// The command line as an operator first meets it: `--help` lists the
/// commands (the server's flags are under `serve --help`), a mistyped command
/// is named, and input the operator got wrong is a "no" (exit 1), not an error.
#[test]
fn the_command_line_lists_its_commands_and_tells_a_refusal_from_an_error() {
    let run = |args: &[&str], stdin: &str| {
        let dir = std::env::temp_dir().join(format!("specserve-cli-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_specserve"))
            .current_dir(&dir)
            .args(args)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let said = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        (output.status.code(), said)
    };
    let (code, help) = run(&["--help"], "");
    assert_eq!(code, Some(0));
    assert!(help.contains("serve") && help.contains("user") && !help.contains("--tls-cert"), "{help}");
    let (_, serve_help) = run(&["serve", "--help"], "");
    assert!(serve_help.contains("--listen") && serve_help.contains("--wait-for-db"), "{serve_help}");
    let (code, said) = run(&["usr", "list"], "");
    assert_eq!(code, Some(2));
    assert!(said.contains("similar subcommand exists: 'user'"), "{said}");
    let create = ["user", "create", "--email", "a@example.com", "--name", "A"];
    let (code, said) = run(&create, "short");
    assert_eq!(code, Some(1), "a password the rules refuse is a verdict: {said}");
    assert!(said.contains("user not created") && said.contains("/payload/password [minLength]"), "{said}");
}

#[tokio::test]
async fn a_limit_flag_changes_what_the_running_server_does() {
    let running = Running::start_with(None, &["--auth-per-ip-per-minute", "3"]);
    let client = running.client().await;
    let register = |n: u32| AuthRegisterPayload {
        name: format!("U{n}"),
        email: format!("u{n}@example.com"),
        password: "SecretPass123".into(),
    };
    client.auth_register(&register(1)).await.expect("the burst of 3/min is one request");
    match client.auth_register(&register(2)).await {
        Err(specserve::api::ClientError::Api(body)) => assert_eq!(body.code, ErrorCode::RateLimited),
        other => panic!("expected rate_limited, got {other:?}"),
    }
    running.sigterm();
    assert!(running.wait().0.success());
}

#[tokio::test]
async fn a_log_reader_that_goes_away_does_not_take_connections_down() {
    // The log collector dies: every later log line fails to write.
    let running = Running::start_reading_logs(None, &[], false);
    for _ in 0..3 {
        let client = running.client().await;
        let registered = client
            .auth_register(&specserve::api::AuthRegisterPayload {
                name: "Lena".into(),
                email: format!("lena-{}@example.com", rand_suffix()),
                password: "SecretPass123".into(),
            })
            .await;
        assert!(registered.is_ok(), "the request is still answered: {registered:?}");
    }
}

/// A command's output whose reader is gone (`| head`) ends it quietly, by
/// SIGPIPE as other command-line tools end, not with a panic about a broken
/// pipe; `serve` keeps SIGPIPE ignored (its sockets report a closed peer).
#[test]
fn a_command_whose_reader_is_gone_ends_without_a_panic() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_specserve"))
        .args(["db", "status"])
        .env("DATABASE_URL", "sqlite::memory:")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes before the first line is written (opening the database comes first).
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(output.status.signal(), Some(libc::SIGPIPE), "{:?}: {stderr}", output.status);
    }
}
