//! Two `specserve serve` processes sharing MariaDB and a NATS server this test
//! starts on its own port: a message sent on node A reaches a member on node
//! B once and in order, and B's delivery receipt reaches its author on A;
//! members on both nodes writing to one room at once are seen in the room's
//! order on both; a logout, a password change or a deletion on A takes effect
//! on B's connections (B caches tokens for an hour here, so only the cluster
//! notice can do it); presence counts devices on both nodes; with NATS stopped
//! A keeps delivering locally, says it is degraded, and recovers by itself when
//! NATS is back; and a killed node's users go offline for the others' users.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use specserve_runtime::client::pinned_config;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use common::nats::Nats;
use common::process::Running;

const PASSWORD: &str = "SecretPass123";

/// A new cluster key in a file of its own; its path.
fn cluster_key() -> String {
    let path = common::nats::scratch_dir().join(format!("cluster-{}.key", common::process::rand_suffix()));
    specserve::security::secret::Secret::generate().unwrap().write_new(&path).unwrap();
    path.to_string_lossy().into_owned()
}

/// A raw client connection to a node.
struct Conn(WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>);

impl Conn {
    async fn open(node: &Running) -> Conn {
        let request = node.url.as_str().into_client_request().unwrap();
        let connector = Connector::Rustls(pinned_config(&node.fingerprint));
        let (socket, _) =
            tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector)).await.unwrap();
        Conn(socket)
    }

    /// The next text frame; `None` when the server closed the connection.
    /// Panics after [`SOON`] without one, so a lost event fails the test
    /// instead of hanging it.
    async fn next(&mut self) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(SOON, self.0.next()).await.expect("a frame within the time allowed");
            match frame? {
                Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Sends a request and returns its reply, setting aside events that come first.
    async fn call(&mut self, channel: &str, token: Option<&str>, payload: Value, events: &mut Vec<Value>) -> Value {
        let mut frame = json!({"channel": channel, "requestId": "r", "payload": payload});
        if let Some(token) = token {
            frame["apiToken"] = json!(token);
        }
        self.0.send(Message::text(frame.to_string())).await.unwrap();
        loop {
            let reply = self.next().await.expect("a reply");
            if reply["requestId"] == "r" {
                return reply;
            }
            events.push(reply);
        }
    }

    /// Registers and logs in a user; its id and token. The connection is bound to it.
    async fn user(&mut self, name: &str) -> (i64, String) {
        let email = format!("{}@example.com", name.to_lowercase());
        let mut ignored = Vec::new();
        let payload = json!({"name": name, "email": email, "password": PASSWORD});
        let id = self.call("auth/register", None, payload, &mut ignored).await["userId"].as_i64().unwrap();
        let login = json!({"email": email, "password": PASSWORD});
        let token =
            self.call("auth/generateToken", None, login, &mut ignored).await["token"].as_str().unwrap().to_owned();
        let bound = self.call("auth/bind", Some(&token), json!({}), &mut ignored).await;
        assert_eq!(bound["userId"], id, "{bound}");
        (id, token)
    }

    /// Accepts the invitation to `room` (`room/join`).
    async fn accept(&mut self, token: &str, room: &Value) {
        let joined = self.call("room/join", Some(token), json!({"roomId": room}), &mut Vec::new()).await;
        assert_eq!(joined["success"], true, "{joined}");
    }

    /// The next event on `channel`, skipping others.
    async fn next_on(&mut self, channel: &str) -> Value {
        loop {
            let event = self.next().await.expect("an event");
            if event["channel"] == channel {
                return event;
            }
        }
    }

    /// The next `message/new` event's text, skipping other events.
    async fn next_message(&mut self) -> String {
        self.next_on("message/new").await["message"]["text"].as_str().unwrap().to_owned()
    }
}

/// Sends a message; its id.
async fn send(conn: &mut Conn, token: &str, room: &Value, text: &str) -> i64 {
    send_keeping(conn, token, room, text, &mut Vec::new()).await
}

/// Sends a message, setting aside the events that come before the reply; its id.
async fn send_keeping(conn: &mut Conn, token: &str, room: &Value, text: &str, events: &mut Vec<Value>) -> i64 {
    let reply = conn.call("message/send", Some(token), json!({"roomId": room, "text": text}), events).await;
    assert_eq!(reply["success"], true, "{reply}");
    reply["messageId"].as_i64().unwrap()
}

/// The body of a GET of `path` on `node`.
async fn get(node: &Running, path: &str) -> String {
    let addr: SocketAddr = node.url.trim_start_matches("wss://").trim_end_matches("/ws").parse().unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    common::net::http_at(addr, &node.fingerprint, &request).await.2
}

async fn readyz(node: &Running) -> String {
    get(node, "/readyz").await
}

/// Polls `check` every 50 ms for up to `within` (generous: NATS reconnects
/// within about a second, a dead node's presence lasts 15 s).
async fn eventually(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const SOON: Duration = Duration::from_secs(20);

/// Per-room order under concurrent senders on different nodes: Wanda on A
/// and Walt on B write to one group room at once; Olga on A and Oscar on B
/// each see every message in the room's order (its history's).
async fn room_order_holds_with_writers_on_both_nodes(a: &Running, b: &Running) {
    let (mut wanda, mut walt) = (Conn::open(a).await, Conn::open(b).await);
    let (mut olga, mut oscar) = (Conn::open(a).await, Conn::open(b).await);
    let (_, wanda_token) = wanda.user("Wanda").await;
    let (walt_id, walt_token) = walt.user("Walt").await;
    let (olga_id, oscar_id) = (olga.user("Olga").await.0, oscar.user("Oscar").await.0);
    let group = json!({"name": "both nodes", "memberIds": [walt_id, olga_id, oscar_id]});
    let group = wanda.call("room/create", Some(&wanda_token), group, &mut Vec::new()).await["room"]["id"].clone();
    let writes = |writer: &'static str| (0..25).map(move |n| format!("{writer} {n}"));
    let (mut wanda_side, mut walt_side) = (Vec::new(), Vec::new());
    tokio::join!(
        async {
            for text in writes("wanda") {
                send_keeping(&mut wanda, &wanda_token, &group, &text, &mut wanda_side).await;
            }
        },
        async {
            for text in writes("walt") {
                send_keeping(&mut walt, &walt_token, &group, &text, &mut walt_side).await;
            }
        }
    );
    let mut seen = Vec::new();
    for observer in [&mut olga, &mut oscar] {
        let mut ids = Vec::new();
        for _ in 0..50 {
            ids.push(observer.next_on("message/new").await["message"]["id"].as_i64().unwrap());
        }
        seen.push(ids);
    }
    let history = json!({"roomId": group, "limit": 100});
    let history = wanda.call("message/history", Some(&wanda_token), history, &mut wanda_side).await;
    let mut stored: Vec<i64> =
        history["messages"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect();
    stored.reverse();
    assert_eq!(stored.len(), 50, "{history}");
    assert_eq!(seen[0], stored, "Olga on A saw the room out of order");
    assert_eq!(seen[1], stored, "Oscar on B saw the room out of order");
}

/// Nodes on one machine may share one SQLite file (README says so): two
/// processes write one room at once without a busy error, and the order holds.
/// (SQLite's single writer makes the disorder rare here; the MariaDB test above
/// is the one that shows it whenever the hub does not sequence.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_sqlite_file_keep_a_rooms_order() {
    let Some(nats) = Nats::start(Nats::free_port()) else {
        common::skip_unless_ci("nats-server");
        return;
    };
    let db = common::db::sqlite().await;
    let (url, key) = (nats.url(), cluster_key());
    let flags = ["--cluster-url", url.as_str(), "--cluster-key-file", key.as_str()];
    let (a, b) = (Running::start_with(Some(db.url()), &flags), Running::start_with(Some(db.url()), &flags));
    eventually("A reaches NATS", SOON, async || readyz(&a).await == "ready\n").await;
    eventually("B reaches NATS", SOON, async || readyz(&b).await == "ready\n").await;
    room_order_holds_with_writers_on_both_nodes(&a, &b).await;
    drop((a, b));
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_events_presence_and_revocations_and_survive_nats_and_node_failures() {
    let Some(db) = common::db::mysql().await else {
        common::skip_unless_ci("SPECSERVE_TEST_MYSQL_URL (a cluster shares MariaDB)");
        return;
    };
    let Some(nats) = Nats::start(Nats::free_port()) else {
        common::skip_unless_ci("nats-server");
        return;
    };
    let (url, key) = (nats.url(), cluster_key());
    let flags = ["--cluster-url", url.as_str(), "--cluster-key-file", key.as_str(), "--token-cache-ttl", "1h"];
    let (a, b) = (Running::start_with(Some(db.url()), &flags), Running::start_with(Some(db.url()), &flags));
    // A node serves before it reaches NATS (and says so in /readyz): wait for both.
    eventually("A reaches NATS", SOON, async || readyz(&a).await == "ready\n").await;
    eventually("B reaches NATS", SOON, async || readyz(&b).await == "ready\n").await;

    let (mut alice, mut bob) = (Conn::open(&a).await, Conn::open(&b).await);
    let (_, alice_token) = alice.user("Alice").await;
    let (bob_id, bob_token) = bob.user("Bob").await;
    let mut events = Vec::new();
    let room = alice.call("room/create", Some(&alice_token), json!({"otherUserId": bob_id}), &mut events).await;
    let room = room["room"]["id"].clone();
    assert!(room.is_i64(), "{room}");
    bob.accept(&bob_token, &room).await;

    // A to B: every message once, in the order sent.
    let sent: Vec<String> = (0..20).map(|n| format!("hello {n}")).collect();
    let mut alice_events = Vec::new();
    let mut last = 0;
    for text in &sent {
        last = send_keeping(&mut alice, &alice_token, &room, text, &mut alice_events).await;
    }
    let mut received = Vec::new();
    for _ in &sent {
        received.push(bob.next_message().await);
    }
    assert_eq!(received, sent);
    // Nothing more is queued for Bob: the next frame is the reply to his request.
    let read = bob.call("user/read", Some(&bob_token), json!({"id": bob_id}), &mut events).await;
    assert_eq!(read["id"], bob_id);
    assert!(events.iter().all(|e| e["channel"] != "message/new"), "a duplicate arrived: {events:?}");
    // B handed them to Bob, and says so to Alice on A.
    let receipt_for = |event: &Value| event["channel"] == "message/delivered" && event["messageId"] == last;
    if !alice_events.iter().any(receipt_for) {
        while !receipt_for(&alice.next_on("message/delivered").await) {}
    }

    room_order_holds_with_writers_on_both_nodes(&a, &b).await;
    let metrics = get(&a, "/metrics").await;
    assert!(metrics.contains("specserve_cluster_messages_total{outcome=\"late\"}"), "{metrics}");

    // A logout on A ends the token on B, whose cache alone would trust it for an hour.
    let mut bob_on_a = Conn::open(&a).await;
    let mut second = Conn::open(&b).await;
    let login = json!({"email": "bob@example.com", "password": PASSWORD});
    let other = second.call("auth/generateToken", None, login, &mut events).await["token"].as_str().unwrap().to_owned();
    assert_eq!(second.call("user/read", Some(&other), json!({"id": bob_id}), &mut events).await["id"], bob_id);
    let logout = bob_on_a.call("auth/logout", Some(&other), json!({}), &mut events).await;
    assert_eq!(logout["success"], true, "{logout}");
    eventually("B refuses the token A revoked", SOON, async || {
        second.call("user/read", Some(&other), json!({"id": bob_id}), &mut events).await["error"]["code"]
            == "unauthorized"
    })
    .await;

    // Deleting Bob on A closes his socket on B.
    let deleted = bob_on_a.call("user/delete", Some(&bob_token), json!({"id": bob_id}), &mut events).await;
    assert_eq!(deleted["success"], true, "{deleted}");
    while bob.next().await.is_some() {}

    // Presence: Eve online on B only is online for Frank on A.
    let mut frank = Conn::open(&a).await;
    let (frank_id, frank_token) = frank.user("Frank").await;
    let mut eve_b = Conn::open(&b).await;
    let (eve_id, eve_b_token) = eve_b.user("Eve").await;
    let shared = frank.call("room/create", Some(&frank_token), json!({"otherUserId": eve_id}), &mut events).await;
    assert_eq!(shared["success"], true, "{shared}");
    eve_b.accept(&eve_b_token, &shared["room"]["id"]).await;
    let mut frank_events = Vec::new();
    let eve_online = async |frank: &mut Conn, frank_events: &mut Vec<Value>| {
        let list = frank.call("presence/list", Some(&frank_token), json!({"userIds": [eve_id]}), frank_events).await;
        list["users"][0]["online"].as_bool().unwrap_or_else(|| panic!("{list}"))
    };
    eventually("A learns that Eve is online on B", SOON, async || eve_online(&mut frank, &mut frank_events).await)
        .await;
    // A device on A too; logging it out leaves her online (through B), and
    // Frank hears no "offline".
    let mut eve_a = Conn::open(&a).await;
    let login = json!({"email": "eve@example.com", "password": PASSWORD});
    let eve_a_token =
        eve_a.call("auth/generateToken", None, login, &mut events).await["token"].as_str().unwrap().to_owned();
    assert_eq!(eve_a.call("auth/bind", Some(&eve_a_token), json!({}), &mut events).await["userId"], eve_id);
    assert_eq!(eve_a.call("auth/logout", Some(&eve_a_token), json!({}), &mut events).await["success"], true);
    assert!(eve_online(&mut frank, &mut frank_events).await, "still online on B");
    let offline = |events: &[Value]| {
        events.iter().any(|e| e["channel"] == "presence/changed" && e["userId"] == eve_id && e["online"] == false)
    };
    assert!(!offline(&frank_events), "no offline while B has her: {frank_events:?}");
    // Her last device, on B, logs out: offline everywhere, and Frank is told.
    assert_eq!(eve_b.call("auth/logout", Some(&eve_b_token), json!({}), &mut events).await["success"], true);
    eventually("Eve goes offline for Frank, who is told", SOON, async || {
        !eve_online(&mut frank, &mut frank_events).await && offline(&frank_events)
    })
    .await;

    // A password change on A ends Frank's other logins, also the one on B.
    let mut frank_b = Conn::open(&b).await;
    let login = json!({"email": "frank@example.com", "password": PASSWORD});
    let frank_b_token =
        frank_b.call("auth/generateToken", None, login, &mut events).await["token"].as_str().unwrap().to_owned();
    let read_on_b = json!({"id": frank_id});
    assert_eq!(frank_b.call("user/read", Some(&frank_b_token), read_on_b.clone(), &mut events).await["id"], frank_id);
    let change = json!({"id": frank_id, "password": "AnotherPass789"});
    let changed = frank.call("user/update", Some(&frank_token), change, &mut frank_events).await;
    assert_eq!(changed["success"], true, "{changed}");
    eventually("B refuses the login the password change ended", SOON, async || {
        frank_b.call("user/read", Some(&frank_b_token), read_on_b.clone(), &mut events).await["error"]["code"]
            == "unauthorized"
    })
    .await;
    let read = frank.call("user/read", Some(&frank_token), json!({"id": frank_id}), &mut frank_events).await;
    assert_eq!(read["id"], frank_id, "the session that changed it stays");

    // NATS goes away: A serves on, says it is degraded, and delivers locally.
    let (carol_id, mut carol) = {
        let mut carol = Conn::open(&a).await;
        (carol.user("Carol").await.0, carol)
    };
    let (dave_id, dave_token, mut dave) = {
        let mut dave = Conn::open(&b).await;
        let (id, token) = dave.user("Dave").await;
        (id, token, dave)
    };
    let with = |id: i64| json!({"otherUserId": id});
    let carol_room =
        alice.call("room/create", Some(&alice_token), with(carol_id), &mut events).await["room"]["id"].clone();
    let dave_room =
        alice.call("room/create", Some(&alice_token), with(dave_id), &mut events).await["room"]["id"].clone();
    dave.accept(&dave_token, &dave_room).await;
    let stopped = nats.stop();
    eventually("A reports the bus down", SOON, async || readyz(&a).await.contains("degraded")).await;
    send(&mut alice, &alice_token, &carol_room, "local while NATS is down").await;
    assert_eq!(carol.next_message().await, "local while NATS is down");

    // NATS is back on the same address: both nodes reconnect by themselves.
    let _nats = stopped.restart();
    eventually("A reports ready", SOON, async || readyz(&a).await == "ready\n").await;
    eventually("B reports ready", SOON, async || readyz(&b).await == "ready\n").await;
    // Live events are at most once: probe until one crosses, then it is Dave's.
    let mut probe = 0;
    let crossed = loop {
        probe += 1;
        assert!(probe < 100, "no event crossed after NATS came back");
        send(&mut alice, &alice_token, &dave_room, &format!("probe {probe}")).await;
        if let Ok(text) = tokio::time::timeout(Duration::from_millis(500), dave.next_message()).await {
            break text;
        }
    };
    assert!(crossed.starts_with("probe "), "{crossed}");

    // B dies without a goodbye: once its heartbeats stop for the TTL, Dave,
    // online only there, is offline for A's users.
    let mut alice_events = Vec::new();
    let dave_online = async |alice: &mut Conn, alice_events: &mut Vec<Value>| {
        let list = alice.call("presence/list", Some(&alice_token), json!({"userIds": [dave_id]}), alice_events).await;
        list["users"][0]["online"] == true
    };
    assert!(dave_online(&mut alice, &mut alice_events).await, "A knows Dave is online on B");
    let mut b = b;
    b.kill();
    let told = |events: &[Value]| {
        events.iter().any(|e| e["channel"] == "presence/changed" && e["userId"] == dave_id && e["online"] == false)
    };
    eventually("a dead node's users go offline, and their peers are told", Duration::from_secs(30), async || {
        !dave_online(&mut alice, &mut alice_events).await && told(&alice_events)
    })
    .await;
    db.drop().await;
}

/// How `specserve serve` stops when NATS refuses it at start: exit 2 and
/// what it said. Panics if it keeps running.
async fn refused_at_start(db_url: &str, flags: &[&str]) -> String {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_specserve"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", db_url])
        .args(flags)
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let output = tokio::time::timeout(SOON, child.wait_with_output()).await.expect("a refused node stops at start");
    let output = output.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
    stderr
}

/// Starts a node with `flags` and waits until it says it reached NATS.
async fn joins(db_url: &str, flags: &[&str]) -> Running {
    let node = Running::start_with(Some(db_url), flags);
    eventually("the node joins the cluster", SOON, async || readyz(&node).await == "ready\n").await;
    node
}

/// Every credential NATS offers, each from a file (never argv), against
/// the README's server configuration (TLS with client certificates,
/// subject permissions), a token server and an operator-mode (JWT) server;
/// and a node whose credentials or certificates NATS refuses stops at
/// start saying which, rather than looping on "authorization violation".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_secured_nats_with_each_kind_of_credential_and_a_refused_one_stops_at_start() {
    use common::nats::{CLUSTER_CONF, OperatorMode, Pki, secret_file};
    let pki = Pki::new("join");
    let (node_nkey, password) = (nkeys::KeyPair::new_user(), "n0de-pa55word");
    let public_nkey = node_nkey.public_key();
    let env = [
        ("NATS_TLS_CERT", pki.server.0.as_str()),
        ("NATS_TLS_KEY", pki.server.1.as_str()),
        ("NATS_TLS_CA", pki.ca.as_str()),
        ("SPECSERVE_NODE_PASSWORD", password),
        ("SPECSERVE_NODE_NKEY", public_nkey.as_str()),
    ];
    let Some(secured) = Nats::start_with(Nats::free_port(), Some(CLUSTER_CONF), &env) else {
        common::skip_unless_ci("nats-server");
        return;
    };
    let db = common::db::sqlite().await;
    let (key, secured_url) = (cluster_key(), format!("tls://127.0.0.1:{}", secured.port));
    let password_file = secret_file("node-password", password);
    let wrong_password = secret_file("wrong-password", "not-the-password");
    let nkey_file = secret_file("node.nk", &node_nkey.seed().unwrap());
    let base = ["--cluster-url", secured_url.as_str(), "--cluster-key-file", key.as_str()];
    let ca = ["--cluster-tls-ca-file", pki.ca.as_str()];
    let client_cert =
        ["--cluster-tls-cert-file", pki.client.0.as_str(), "--cluster-tls-key-file", pki.client.1.as_str()];
    let user = ["--cluster-user", "specserve-node", "--cluster-password-file", password_file.as_str()];
    let first = joins(db.url(), &[&base[..], &ca, &client_cert, &user].concat()).await;
    joins(db.url(), &[&base[..], &ca, &client_cert, &["--cluster-nkey-file", nkey_file.as_str()]].concat()).await;
    // The URL's own user:password@, which nodes used to drop.
    let in_url = format!("tls://specserve-node:{password}@127.0.0.1:{}", secured.port);
    let node = joins(
        db.url(),
        &[&["--cluster-url", in_url.as_str(), "--cluster-key-file", key.as_str()][..], &ca, &client_cert].concat(),
    )
    .await;
    let (_, logs) = {
        node.sigterm();
        node.wait()
    };
    assert!(logs.contains("carries a password, which every user of this machine can read"), "{logs}");
    assert!(!logs.contains(password), "the password is never logged");

    let wrong = ["--cluster-user", "specserve-node", "--cluster-password-file", wrong_password.as_str()];
    let said = refused_at_start(db.url(), &[&base[..], &ca, &client_cert, &wrong].concat()).await;
    assert!(said.contains("NATS refused this node's credentials (user and password)"), "{said}");
    assert!(!said.contains("not-the-password"), "{said}");
    let said = refused_at_start(db.url(), &[&base[..], &ca, &client_cert].concat()).await;
    assert!(said.contains("NATS refused this node's credentials (none)"), "anonymous: {said}");
    let said = refused_at_start(db.url(), &[&base[..], &client_cert, &user].concat()).await;
    assert!(said.contains("TLS to NATS failed"), "a server certificate no CA given vouches for: {said}");
    // The operator changes the node's password on NATS under a running node:
    // it says so once, and /readyz says so while it lasts.
    let _secured = secured.stop().restart_with(&[("SPECSERVE_NODE_PASSWORD", "changed-under-it")]);
    let refused = "ready, degraded: the cluster bus refuses this node's credentials\n";
    eventually("the running node reports its credentials refused", SOON, async || readyz(&first).await == refused)
        .await;
    first.sigterm();
    let (_, logs) = first.wait();
    assert_eq!(logs.matches("NATS refuses this node's credentials").count(), 1, "once, not a loop: {logs}");

    // A token, from a file.
    let token_conf = "authorization {\n  token: $NATS_TOKEN\n}\n";
    let token =
        Nats::start_with(Nats::free_port(), Some(token_conf), &[("NATS_TOKEN", "t0ken-of-the-cluster")]).unwrap();
    let (token_url, token_file) = (token.url(), secret_file("token", "t0ken-of-the-cluster\n"));
    let token_base = ["--cluster-url", token_url.as_str(), "--cluster-key-file", key.as_str()];
    joins(db.url(), &[&token_base[..], &["--cluster-token-file", token_file.as_str()]].concat()).await;
    let wrong_token = secret_file("wrong-token", "guess");
    let said =
        refused_at_start(db.url(), &[&token_base[..], &["--cluster-token-file", wrong_token.as_str()]].concat()).await;
    assert!(said.contains("NATS refused this node's credentials (token)"), "{said}");

    // A user JWT and its seed (a .creds file), against a server in operator mode.
    let operator = OperatorMode::new();
    let decentralized = Nats::start_with(Nats::free_port(), Some(&operator.config), &[]).unwrap();
    let jwt_url = decentralized.url();
    let jwt = [
        "--cluster-url",
        jwt_url.as_str(),
        "--cluster-key-file",
        key.as_str(),
        "--cluster-creds-file",
        operator.creds_file.as_str(),
    ];
    joins(db.url(), &jwt).await;
    db.drop().await;
}

/// An anonymous client of the cluster's NATS server (here an open one, as
/// every node used to need) that knows the subject prefix: it reads only
/// ciphertext, and nothing it publishes (the old envelope form, a raw frame,
/// a user's deletion, presence for someone offline, a position far ahead,
/// replays and altered copies of what it overheard) changes anything a user
/// sees; each is counted. A node holding the key that names a message the
/// database does not have cannot make the room's real messages late either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_user_without_the_cluster_key_reads_nothing_and_changes_nothing_users_see() {
    use specserve::cluster::envelope::Sealer;
    use specserve::security::secret::Secret;
    use specserve_runtime::hub::{Position, RemoteAudience, RemoteEvent};

    let Some(nats) = Nats::start(Nats::free_port()) else {
        common::skip_unless_ci("nats-server");
        return;
    };
    let db = common::db::sqlite().await;
    let (url, key) = (nats.url(), cluster_key());
    let flags = ["--cluster-url", url.as_str(), "--cluster-key-file", key.as_str()];
    let (a, b) = (Running::start_with(Some(db.url()), &flags), Running::start_with(Some(db.url()), &flags));
    eventually("A reaches NATS", SOON, async || readyz(&a).await == "ready\n").await;
    eventually("B reaches NATS", SOON, async || readyz(&b).await == "ready\n").await;
    let attacker = async_nats::connect(url.as_str()).await.unwrap();
    let mut overheard = attacker.subscribe("specserve.>").await.unwrap();
    attacker.flush().await.unwrap();

    let (mut alice, mut bob) = (Conn::open(&a).await, Conn::open(&b).await);
    let (alice_id, alice_token) = alice.user("Alice").await;
    let (bob_id, bob_token) = bob.user("Bob").await;
    let mut carol = Conn::open(&b).await;
    let (carol_id, carol_token) = carol.user("Carol").await;
    let mut ignored = Vec::new();
    let room = alice.call("room/create", Some(&alice_token), json!({"otherUserId": bob_id}), &mut ignored).await;
    let room = room["room"]["id"].clone();
    let shared = alice.call("room/create", Some(&alice_token), json!({"otherUserId": carol_id}), &mut ignored).await;
    assert_eq!(shared["success"], true, "{shared}");
    carol.accept(&carol_token, &shared["room"]["id"]).await;
    drop(carol);
    let carol_online = async |alice: &mut Conn| {
        let list =
            alice.call("presence/list", Some(&alice_token), json!({"userIds": [carol_id]}), &mut Vec::new()).await;
        list["users"][0]["online"].as_bool().unwrap_or_else(|| panic!("{list}"))
    };
    eventually("Carol's goodbye crossed", SOON, async || !carol_online(&mut alice).await).await;

    // A secret crosses to Bob; on the bus it is ciphertext.
    let last = send(&mut alice, &alice_token, &room, "the launch code is 4711").await;
    assert_eq!(bob.next_message().await, "the launch code is 4711");
    let mut captured = Vec::new();
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(300), overheard.next()).await {
        assert!(!message.payload.windows(11).any(|w| w == b"launch code"), "readable on the bus: {message:?}");
        captured.push(message);
    }
    assert!(captured.iter().any(|m| m.subject.as_str() == "specserve.events"), "the event crossed: {captured:?}");

    // What the attacker publishes.
    let frame = |text: &str| {
        json!({"channel": "message/new", "message": {"id": last + 1, "roomId": room, "authorId": alice_id,
                "text": text, "createdAt": "2030-01-01T00:00:00.000Z"}})
        .to_string()
    };
    let bob_principal = bob_id.to_string();
    let old_form = |body: Value| serde_json::to_vec(&json!({"node": "intruder", "body": body})).unwrap();
    let forgeries: Vec<(&str, Vec<u8>)> = vec![
        (
            "specserve.events",
            old_form(json!({"topic": [0, ""], "audience": {"principal": bob_principal}, "frame": frame("forged")})),
        ),
        (
            "specserve.events",
            old_form(json!({"topic": [0, ""], "audience": {"principal": bob_principal}, "frame": "raw, unvalidated"})),
        ),
        ("specserve.notices", old_form(json!({"kind": "user_deleted", "user": bob_id}))),
        ("specserve.presence", old_form(json!({"kind": "heartbeat", "online": [carol_id.to_string()]}))),
        (
            "specserve.events",
            old_form(
                json!({"topic": [0, ""], "audience": {"principals": [bob_principal]}, "frame": frame("far ahead"),
            "position": {"stream": room, "id": 1_i64 << 62, "after": last, "after_age_ms": 0}}),
            ),
        ),
    ];
    let mut altered = captured[0].payload.to_vec();
    let middle = altered.len() / 2;
    altered[middle] ^= 0x20;
    for (subject, payload) in &forgeries {
        attacker.publish(*subject, payload.clone().into()).await.unwrap();
    }
    attacker.publish(captured[0].subject.clone(), altered.into()).await.unwrap();
    for message in &captured {
        attacker.publish(message.subject.clone(), message.payload.clone()).await.unwrap();
    }
    // B reads the subjects in order: once it refused this last one, it has
    // refused everything before it.
    attacker.publish("specserve.events", b"the end".to_vec().into()).await.unwrap();
    attacker.flush().await.unwrap();
    let forged = forgeries.len() as f64 + 2.0;
    eventually("B refused every forgery and replay", SOON, async || {
        let metrics = get(&b, "/metrics").await;
        common::net::metric(&metrics, "specserve_cluster_messages_total{outcome=\"forged\"}") >= forged
    })
    .await;
    let metrics = get(&b, "/metrics").await;
    assert!(
        common::net::metric(&metrics, "specserve_cluster_messages_total{outcome=\"replayed\"}") >= 1.0,
        "{metrics}"
    );

    // A node with the key (a bug, say) naming a message the database does not have.
    let mut node = Sealer::new(&Secret::read(std::path::Path::new(&key)).unwrap());
    let far_ahead = RemoteEvent {
        topic: (0, String::new()),
        audience: RemoteAudience::Principals(vec![bob_id.to_string()]),
        frame: frame("from a node with the key"),
        position: Some(Position { stream: room.as_i64().unwrap(), id: 1 << 62, after: Some(last), after_age_ms: 0 }),
        receipt: None,
        receipt_from: Vec::new(),
    };
    let sealed = node.seal("specserve.events", &serde_json::to_vec(&far_ahead).unwrap());
    attacker.publish("specserve.events", sealed.into()).await.unwrap();
    attacker.flush().await.unwrap();
    eventually("B dropped the event the database does not confirm", SOON, async || {
        common::net::metric(&get(&b, "/metrics").await, "specserve_cluster_messages_total{outcome=\"unconfirmed\"}")
            >= 1.0
    })
    .await;

    // Nothing changed for anyone: Bob's next frames are the room's next real
    // messages, in order; he is still connected; Carol is still offline.
    send(&mut alice, &alice_token, &room, "after the attack 1").await;
    send(&mut alice, &alice_token, &room, "after the attack 2").await;
    assert_eq!(bob.next().await.expect("Bob is still connected")["message"]["text"], "after the attack 1");
    assert_eq!(bob.next().await.expect("and in order")["message"]["text"], "after the attack 2");
    let read = bob.call("user/read", Some(&bob_token), json!({"id": bob_id}), &mut ignored).await;
    assert_eq!(read["id"], bob_id, "{read}");
    assert!(!carol_online(&mut alice).await, "a forged heartbeat brought nobody online");
    drop((a, b));
    db.drop().await;
}

/// The README's NATS configuration end to end: node A joins with a
/// password, node B with an NKey, both over TLS with client certificates;
/// a message crosses, and a logout on A of a session Eve also uses on B
/// takes her offline for Frank, who hears it (the node that lets go last
/// announces it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_readme_nats_configuration_events_cross_and_a_logout_on_one_node_reaches_peers_on_the_other() {
    use common::nats::{CLUSTER_CONF, Pki, secret_file};
    let pki = Pki::new("readme");
    let (node_nkey, password) = (nkeys::KeyPair::new_user(), "an0ther-pa55word");
    let public_nkey = node_nkey.public_key();
    let env = [
        ("NATS_TLS_CERT", pki.server.0.as_str()),
        ("NATS_TLS_KEY", pki.server.1.as_str()),
        ("NATS_TLS_CA", pki.ca.as_str()),
        ("SPECSERVE_NODE_PASSWORD", password),
        ("SPECSERVE_NODE_NKEY", public_nkey.as_str()),
    ];
    let Some(nats) = Nats::start_with(Nats::free_port(), Some(CLUSTER_CONF), &env) else {
        common::skip_unless_ci("nats-server");
        return;
    };
    let db = common::db::sqlite().await;
    let (key, url) = (cluster_key(), format!("tls://127.0.0.1:{}", nats.port));
    let (password_file, nkey_file) =
        (secret_file("readme-password", password), secret_file("readme.nk", &node_nkey.seed().unwrap()));
    let common_flags = [
        "--cluster-url",
        url.as_str(),
        "--cluster-key-file",
        key.as_str(),
        "--cluster-tls-ca-file",
        pki.ca.as_str(),
        "--cluster-tls-cert-file",
        pki.client.0.as_str(),
        "--cluster-tls-key-file",
        pki.client.1.as_str(),
    ];
    let a_flags =
        [&common_flags[..], &["--cluster-user", "specserve-node", "--cluster-password-file", password_file.as_str()]]
            .concat();
    let b_flags = [&common_flags[..], &["--cluster-nkey-file", nkey_file.as_str()]].concat();
    let (a, b) = (joins(db.url(), &a_flags).await, joins(db.url(), &b_flags).await);

    let (mut frank, mut eve_a, mut eve_b) = (Conn::open(&a).await, Conn::open(&a).await, Conn::open(&b).await);
    let (frank_id, frank_token) = frank.user("Frank").await;
    let (eve_id, eve_token) = eve_a.user("Eve").await;
    let mut events = Vec::new();
    assert_eq!(eve_b.call("auth/bind", Some(&eve_token), json!({}), &mut events).await["userId"], eve_id);
    let room = frank.call("room/create", Some(&frank_token), json!({"otherUserId": eve_id}), &mut events).await;
    let room = room["room"]["id"].clone();
    eve_b.accept(&eve_token, &room).await;
    send(&mut frank, &frank_token, &room, "over TLS, sealed").await;
    assert_eq!(eve_b.next_message().await, "over TLS, sealed");
    let mut frank_events = Vec::new();
    let eve_online = async |frank: &mut Conn, frank_events: &mut Vec<Value>| {
        let list = frank.call("presence/list", Some(&frank_token), json!({"userIds": [eve_id]}), frank_events).await;
        list["users"][0]["online"].as_bool().unwrap_or_else(|| panic!("{list}"))
    };
    assert!(eve_online(&mut frank, &mut frank_events).await);
    // Eve's one session, on both nodes, ends on A: B lets go of her last.
    assert_eq!(eve_a.call("auth/logout", Some(&eve_token), json!({}), &mut events).await["success"], true);
    let told = |events: &[Value]| {
        events.iter().any(|e| e["channel"] == "presence/changed" && e["userId"] == eve_id && e["online"] == false)
    };
    eventually("Frank hears that Eve went offline", SOON, async || {
        !eve_online(&mut frank, &mut frank_events).await && told(&frank_events)
    })
    .await;
    assert_ne!(frank_id, eve_id);
    drop((a, b));
    db.drop().await;
}
