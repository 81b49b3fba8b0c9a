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
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use specserve_runtime::client::pinned_config;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use common::process::Running;

const PASSWORD: &str = "SecretPass123";

/// A nats-server of this test's own on a fixed port, so it can be restarted there.
struct Nats {
    child: Child,
    port: u16,
}

impl Nats {
    fn start(port: u16) -> Option<Nats> {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // Ready when it accepts connections.
        for _ in 0..500 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Nats { child, port });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("nats-server did not listen on {port}");
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Some(nats) = Nats::start(port) else {
        common::skip_unless_ci("nats-server");
        return;
    };
    let db = common::db::sqlite().await;
    let url = nats.url();
    let flags = ["--cluster-url", url.as_str()];
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
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Some(nats) = Nats::start(port) else {
        common::skip_unless_ci("nats-server");
        return;
    };
    let url = nats.url();
    let flags = ["--cluster-url", url.as_str(), "--token-cache-ttl", "1h"];
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
    let (dave_id, mut dave) = {
        let mut dave = Conn::open(&b).await;
        (dave.user("Dave").await.0, dave)
    };
    let with = |id: i64| json!({"otherUserId": id});
    let carol_room =
        alice.call("room/create", Some(&alice_token), with(carol_id), &mut events).await["room"]["id"].clone();
    let dave_room =
        alice.call("room/create", Some(&alice_token), with(dave_id), &mut events).await["room"]["id"].clone();
    let port = nats.stop();
    eventually("A reports the bus down", SOON, async || readyz(&a).await.contains("degraded")).await;
    send(&mut alice, &alice_token, &carol_room, "local while NATS is down").await;
    assert_eq!(carol.next_message().await, "local while NATS is down");

    // NATS is back on the same address: both nodes reconnect by themselves.
    let _nats = Nats::start(port).expect("nats-server restarts");
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
