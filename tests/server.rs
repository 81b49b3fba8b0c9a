//! The server end to end: a real listener over real TLS (self-signed, trusted by
//! fingerprint), real clients, every limit and timeout, probes, metrics and
//! graceful shutdown.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::net::{self, eventually, metric};
use common::{ADMIN_TOKEN, SLOW_USER};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use specserve::api::ClientError;
use specserve::api::*;
use specserve_runtime::server::Limits;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

/// Reads until a text reply or a close frame; pings and pongs are skipped.
async fn next_reply(socket: &mut net::Socket) -> Message {
    loop {
        match socket.next().await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return message,
            other => panic!("socket ended without a close frame: {other:?}"),
        }
    }
}

async fn text_reply(socket: &mut net::Socket) -> Value {
    match next_reply(socket).await {
        Message::Text(text) => serde_json::from_str(&text).expect("reply is JSON"),
        other => panic!("expected a text reply, got {other:?}"),
    }
}

async fn close_code(socket: &mut net::Socket) -> CloseCode {
    match next_reply(socket).await {
        Message::Close(Some(frame)) => frame.code,
        other => panic!("expected a close frame, got {other:?}"),
    }
}

const READ_ADMIN: &str = r#"{"channel":"user/read","apiToken":"admin-token","payload":{"id":1}}"#;

#[tokio::test]
async fn seed_flow_over_wss_with_the_typed_client() {
    let (server, _) = net::start(Limits::default()).await;
    let client = net::client(&server).await;
    let alice = common::register_alice(&client).await;
    let bob = client
        .user_create(&UserCreatePayload {
            name: "Bob".into(),
            email: "bob@example.com".into(),
            password: None,
            role: None,
            email_verified: None,
        })
        .await
        .unwrap();
    assert!(bob.user_id > alice);
    assert_eq!(client.user_read(&UserRef { id: bob.user_id }).await.unwrap().name, "Bob");
    assert!(server.shutdown().await);
}

/// A group served by the generated `Unimplemented` (the test app's chat)
/// answers every operation `not_implemented`, and the connection goes on.
#[tokio::test]
async fn an_unimplemented_group_answers_not_implemented() {
    let (server, _) = net::start(Limits::default()).await;
    let mut socket = net::raw(&server, "/", &[]).await.unwrap();
    for (channel, payload) in [("room/create", json!({"name": "later"})), ("presence/list", json!({"userIds": [1]}))] {
        let request = json!({"channel": channel, "requestId": "r", "apiToken": ADMIN_TOKEN, "payload": payload});
        socket.send(Message::text(request.to_string())).await.unwrap();
        let reply = text_reply(&mut socket).await;
        assert_eq!(reply["error"]["code"], "not_implemented", "{channel}: {reply}");
    }
    let read = json!({"channel": "user/read", "requestId": "r", "apiToken": ADMIN_TOKEN, "payload": {"id": 1}});
    socket.send(Message::text(read.to_string())).await.unwrap();
    let reply = text_reply(&mut socket).await;
    assert_eq!(reply["name"], "Root", "the implemented groups still serve: {reply}");
    assert!(server.shutdown().await);
}

#[tokio::test]
async fn seed_clients_connect_at_the_root_path_and_get_seed_bodies() {
    let (server, _) = net::start(Limits::default()).await;
    let mut socket = net::raw(&server, "/", &[]).await.unwrap();
    let register = r#"{"channel":"auth/register","payload":{"name":"Alice","email":"alice@example.com","password":"SecretPass123"}}"#;
    socket.send(Message::text(register)).await.unwrap();
    assert_eq!(text_reply(&mut socket).await, json!({"success": true, "channel": "auth/register", "userId": 2}));
}

#[tokio::test]
async fn bearer_token_at_upgrade_authenticates_every_frame() {
    let (server, _) = net::start(Limits::default()).await;
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let mut socket = net::raw(&server, "/ws", &[("authorization", &bearer)]).await.unwrap();
    socket.send(Message::text(r#"{"channel":"user/read","payload":{"id":1}}"#)).await.unwrap();
    assert_eq!(text_reply(&mut socket).await["email"], "root@example.com");
}

#[tokio::test]
async fn oversize_message_closes_1009_and_the_server_keeps_serving() {
    let (server, _) = net::start(Limits::default()).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    let huge = format!(r#"{{"channel":"user/read","payload":{{"pad":"{}"}}}}"#, "x".repeat(100 * 1024));
    socket.send(Message::text(huge)).await.unwrap();
    assert_eq!(close_code(&mut socket).await, CloseCode::Size);
    let mut other = net::raw(&server, "/ws", &[]).await.unwrap();
    other.send(Message::text(READ_ADMIN)).await.unwrap();
    assert_eq!(text_reply(&mut other).await["id"], 1);
}

/// Over TLS the server reads 256 bytes at a time (`websocket::TLS_READ_BUFFER`):
/// frames many times that long, several in one burst, still arrive whole.
#[tokio::test]
async fn frames_longer_than_the_tls_read_buffer_are_read_whole() {
    let (server, _) = net::start(Limits::default()).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    let padding = " ".repeat(20 * specserve_runtime::websocket::TLS_READ_BUFFER);
    let long_read = READ_ADMIN.replacen(',', &format!(",{padding}"), 1);
    assert!(long_read.len() > 5000);
    for _ in 0..3 {
        socket.feed(Message::text(long_read.clone())).await.unwrap();
    }
    socket.flush().await.unwrap();
    for _ in 0..3 {
        assert_eq!(text_reply(&mut socket).await["email"], "root@example.com");
    }
}

#[tokio::test]
async fn two_mebibyte_frame_is_refused_without_harm() {
    let (server, _) = net::start(Limits::default()).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    let huge = "y".repeat(2 * 1024 * 1024);
    // The server may close before the client finishes writing: either way, no reply.
    let _ = socket.send(Message::text(huge)).await;
    match socket.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Size),
        Some(Ok(other)) => panic!("unexpected {other:?}"),
        _ => {} // connection reset while we were still sending
    }
    let client = net::client(&server).await;
    client.set_token(Some(ADMIN_TOKEN.into()));
    assert_eq!(client.user_read(&UserRef { id: 1 }).await.unwrap().id, 1);
}

#[tokio::test]
async fn invalid_utf8_text_closes_1007() {
    let (server, _) = net::start(Limits::default()).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    let header = FrameHeader { is_final: true, opcode: OpCode::Data(Data::Text), ..FrameHeader::default() };
    let frame = Frame::from_payload(header, vec![b'{', 0xff, 0xfe, b'}'].into());
    socket.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(close_code(&mut socket).await, CloseCode::Invalid);
}

#[tokio::test]
async fn binary_frame_gets_an_error_reply_and_the_connection_stays() {
    let (server, _) = net::start(Limits::default()).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    socket.send(Message::binary(READ_ADMIN.as_bytes().to_vec())).await.unwrap();
    let reply = text_reply(&mut socket).await;
    assert_eq!(reply["error"]["code"], "bad_request");
    assert_eq!(reply["error"]["message"], "binary frames are not supported; send JSON text");
    socket.send(Message::text(READ_ADMIN)).await.unwrap();
    assert_eq!(text_reply(&mut socket).await["id"], 1);
}

#[tokio::test]
async fn silent_client_is_closed_after_ping_and_pong_timeout() {
    let limits = Limits {
        ping_interval: Duration::from_millis(100),
        pong_timeout: Duration::from_millis(100),
        ..Limits::default()
    };
    let (server, _) = net::start(limits).await;
    // Never read: the client library only answers pings while it reads.
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    let metrics = server.metrics().clone();
    eventually("the server closes the silent connection", || metrics.open_connections() == 0).await;
    assert_eq!(close_code(&mut socket).await, CloseCode::Away);
    assert!(metrics.render().contains("specserve_closes_total{by=\"server\",code=\"1001\"} 1"));
}

#[tokio::test]
async fn a_client_that_answers_pings_stays_connected() {
    let limits = Limits {
        ping_interval: Duration::from_millis(50),
        pong_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let (server, _) = net::start(limits).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    // Reading answers pings; after several ping rounds the socket still works.
    let mut pings = 0;
    while pings < 5 {
        if let Some(Ok(Message::Ping(_))) = socket.next().await {
            pings += 1;
        }
    }
    socket.send(Message::text(READ_ADMIN)).await.unwrap();
    assert_eq!(text_reply(&mut socket).await["id"], 1);
}

#[tokio::test]
async fn tcp_client_that_never_sends_a_client_hello_is_cut_at_the_deadline() {
    let limits = Limits { tls_handshake_timeout: Duration::from_millis(200), ..Limits::default() };
    let (server, _) = net::start(limits).await;
    let mut tcp = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buffer)).await.expect("server cuts it");
    assert!(matches!(read, Ok(0) | Err(_)), "expected EOF, got {read:?}");
    assert_eq!(metric(&server.metrics().render(), "specserve_rejected_total{reason=\"tls\"}"), 1.0);
}

#[tokio::test]
async fn slowloris_sockets_do_not_stop_a_new_client() {
    let (server, _) = net::start(Limits::default()).await;
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(tokio::net::TcpStream::connect(server.local_addr()).await.unwrap());
    }
    let client = net::client(&server).await;
    client.set_token(Some(ADMIN_TOKEN.into()));
    assert_eq!(client.user_read(&UserRef { id: 1 }).await.unwrap().id, 1);
    drop(idle);
}

/// `n` frames written back to back without reading, each with requestId `r{i}`.
async fn pipeline(socket: &mut net::Socket, frames: impl Iterator<Item = String>) {
    for frame in frames {
        socket.feed(Message::text(frame)).await.unwrap();
    }
    socket.flush().await.unwrap();
}

#[tokio::test]
async fn a_pipelined_burst_within_the_limits_is_answered_completely_and_in_order() {
    // The README invites pipelining; 100 frames is the default burst. A queue of
    // 4 replies makes the server push back long before the burst is read. The
    // bucket refills too slowly to matter however long the test takes.
    let limits = Limits { outbound_queue: 4, max_in_flight: 2, frames_per_second: 0.001, ..Limits::default() };
    let (server, _) = net::start(limits).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    let frames = (0..100).map(|i| match i % 3 {
        0 => format!(r#"{{"channel":"nope/{i}","requestId":"r{i}"}}"#),
        1 => format!(r#"{{"channel":"user/read","requestId":"r{i}","payload":{{"id":1}}}}"#),
        _ => format!(r#"{{"channel":"user/read","requestId":"r{i}","apiToken":"admin-token","payload":{{"id":1}}}}"#),
    });
    // Everything is written before a single reply is read.
    pipeline(&mut socket, frames).await;
    for i in 0..100 {
        let reply = text_reply(&mut socket).await;
        assert_eq!(reply["requestId"], format!("r{i}"), "in order: {reply}");
        let expected = ["unknown_channel", "unauthorized", "ok"][i % 3];
        let got = reply["error"]["code"].as_str().unwrap_or("ok");
        assert_eq!(got, expected, "frame {i}: {reply}");
    }
    // One frame past the burst is refused, and the connection stays.
    socket.send(Message::text(READ_ADMIN)).await.unwrap();
    assert_eq!(text_reply(&mut socket).await["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn a_client_that_stops_reading_gets_a_1008_close_frame_once_it_reads_again() {
    let limits = Limits {
        outbound_queue: 4,
        send_timeout: Duration::from_millis(300),
        close_timeout: Duration::from_secs(30),
        frames_per_second: 1e9,
        frame_burst: 1e9,
        ..Limits::default()
    };
    let (server, _) = net::start(limits).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    let metrics = server.metrics().clone();
    let frame = format!(
        r#"{{"channel":"user/read","requestId":"{}","apiToken":"admin-token","payload":{{"id":1}}}}"#,
        "r".repeat(64)
    );
    // Write without reading until the server gives up on us: its queue fills,
    // the kernel buffers fill, it stops reading (so our writes stall too), and
    // after send_timeout without progress it decides to close.
    let decided = || metric(&metrics.render(), "specserve_closes_total{by=\"server\",code=\"1008\"}") == 1.0;
    let flood = async {
        loop {
            if socket.send(Message::text(frame.clone())).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        () = flood => panic!("the server dropped the socket without waiting for the close frame to go out"),
        () = eventually("the server decides the client is a slow consumer", decided) => {}
    }
    // Reading again drains the replies that were already on the wire, then the close frame.
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(_) | Message::Ping(_))) => continue,
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Policy);
                break;
            }
            other => panic!("expected the 1008 close frame, got {other:?}"),
        }
    }
    // Reading on sends our close reply; then the server lets the socket go.
    while socket.next().await.is_some() {}
    eventually("the connection is gone", || metrics.open_connections() == 0).await;
}

#[tokio::test]
async fn a_flood_of_binary_frames_is_rate_limited_then_closed_1008() {
    let limits = Limits { frames_per_second: 0.0, frame_burst: 3.0, rate_limit_strikes: 4, ..Limits::default() };
    let (server, _) = net::start(limits).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    for _ in 0..10 {
        if socket.send(Message::binary(READ_ADMIN.as_bytes().to_vec())).await.is_err() {
            break;
        }
    }
    let mut codes = Vec::new();
    for _ in 0..7 {
        codes.push(text_reply(&mut socket).await["error"]["code"].as_str().unwrap_or("?").to_owned());
    }
    assert_eq!(
        codes,
        ["bad_request", "bad_request", "bad_request", "rate_limited", "rate_limited", "rate_limited", "rate_limited"]
    );
    assert_eq!(close_code(&mut socket).await, CloseCode::Policy);
}

#[tokio::test]
async fn sustained_over_rate_traffic_is_closed_1008_even_with_tokens_trickling_in() {
    // 50 frames/s sustained: a client sending as fast as it can gets some
    // frames through every second, which must not reset its strikes.
    let limits = Limits { frames_per_second: 50.0, frame_burst: 10.0, rate_limit_strikes: 100, ..Limits::default() };
    let (server, _) = net::start(limits).await;
    let socket = net::raw(&server, "/ws", &[]).await.unwrap();
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        let mut sent = 0u64;
        while sink.send(Message::text(READ_ADMIN)).await.is_ok() {
            sent += 1;
        }
        sent
    });
    let (mut answered, mut refused) = (0u64, 0u64);
    let close = loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => {
                let reply: Value = serde_json::from_str(&text).unwrap();
                if reply["error"]["code"] == "rate_limited" {
                    refused += 1;
                } else {
                    answered += 1;
                }
            }
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Policy));
    assert!(refused >= 100 && answered >= 10, "answered {answered}, refused {refused}");
    writer.abort();
}

#[tokio::test]
async fn a_ping_flood_is_rate_limited_like_any_frame_and_closed_1008() {
    let (server, _) = net::start(Limits::default()).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    let metrics = server.metrics().clone();
    let flood = async {
        for _ in 0..5000 {
            if socket.send(Message::Ping(b"are you there".to_vec().into())).await.is_err() {
                break;
            }
        }
    };
    flood.await;
    eventually("the flood is closed as rate-limit abuse", || {
        metric(&metrics.render(), "specserve_closes_total{by=\"server\",code=\"1008\"}") == 1.0
    })
    .await;
}

#[tokio::test]
async fn the_rate_limit_close_frame_is_not_lost_behind_a_full_reply_queue() {
    let limits = Limits {
        outbound_queue: 1,
        frames_per_second: 0.0,
        frame_burst: 2.0,
        rate_limit_strikes: 3,
        ..Limits::default()
    };
    let (server, _) = net::start(limits).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    pipeline(&mut socket, (0..6).map(|i| format!(r#"{{"channel":"nope","requestId":"q{i}"}}"#))).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(text_reply(&mut socket).await["error"]["code"].as_str().unwrap_or("?").to_owned());
    }
    assert_eq!(codes, ["unknown_channel", "unknown_channel", "rate_limited", "rate_limited", "rate_limited"]);
    assert_eq!(close_code(&mut socket).await, CloseCode::Policy);
}

#[tokio::test]
async fn a_clients_close_code_is_echoed_and_counted_without_growing_the_series() {
    let (server, _) = net::start(Limits::default()).await;
    let metrics = server.metrics().clone();
    for code in [CloseCode::Normal, CloseCode::Library(4321)] {
        let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame { code, reason: "bye".into() };
        socket.send(Message::Close(Some(frame))).await.unwrap();
        assert_eq!(close_code(&mut socket).await, code, "RFC 6455 5.5.1: the code is echoed");
    }
    eventually("both connections are gone", || metrics.open_connections() == 0).await;
    let text = metrics.render();
    assert_eq!(metric(&text, "specserve_closes_total{by=\"client\",code=\"1000\"}"), 1.0, "{text}");
    assert_eq!(metric(&text, "specserve_closes_total{by=\"client\",code=\"other\"}"), 1.0, "{text}");
    assert!(!text.contains("4321"), "a client's own code is not a series: {text}");
}

#[tokio::test]
async fn upgrades_that_break_rfc_6455_are_refused() {
    let (server, _) = net::start(Limits::default()).await;
    let upgrade = |version: &str, key: &str, ws_version: &str| {
        format!(
            "GET /ws {version}\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {ws_version}\r\n\r\n"
        )
    };
    let good_key = "dGhlIHNhbXBsZSBub25jZQ==";
    let (status, _, _) = net::http(&server, &upgrade("HTTP/1.1", good_key, "13")).await;
    assert_eq!(status, 101, "the RFC's own example key upgrades");
    for (why, request) in [
        ("HTTP/1.0", upgrade("HTTP/1.0", good_key, "13")),
        ("an empty key", upgrade("HTTP/1.1", "", "13")),
        ("a key that is not base64", upgrade("HTTP/1.1", "not base64 at all!", "13")),
        ("a key of 15 bytes", upgrade("HTTP/1.1", "AAAAAAAAAAAAAAAAAAAA", "13")),
    ] {
        let (status, _, _) = net::http(&server, &request).await;
        assert_eq!(status, 400, "{why}");
    }
    let (status, head, _) = net::http(&server, &upgrade("HTTP/1.1", good_key, "8")).await;
    assert_eq!(status, 426);
    assert!(head.to_ascii_lowercase().contains("sec-websocket-version: 13"), "{head}");
    assert_eq!(metric(&server.metrics().render(), "specserve_rejected_total{reason=\"bad_upgrade\"}"), 5.0);
}

#[tokio::test]
async fn connections_per_ip_are_capped_at_upgrade_with_503() {
    let limits = Limits { max_connections_per_ip: 2, ..Limits::default() };
    let (server, _) = net::start(limits).await;
    let first = net::raw(&server, "/ws", &[]).await.unwrap();
    let _second = net::raw(&server, "/ws", &[]).await.unwrap();
    match net::raw(&server, "/ws", &[]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    assert_eq!(metric(&server.metrics().render(), "specserve_rejected_total{reason=\"ip_full\"}"), 1.0);
    drop(first);
    let metrics = server.metrics().clone();
    eventually("the first connection is released", || metrics.open_connections() == 1).await;
    assert!(net::raw(&server, "/ws", &[]).await.is_ok());
}

#[tokio::test]
async fn total_connections_are_capped_at_upgrade_with_503() {
    let limits = Limits { max_connections: 1, ..Limits::default() };
    let (server, _) = net::start(limits).await;
    let _only = net::raw(&server, "/ws", &[]).await.unwrap();
    match net::raw(&server, "/ws", &[]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    assert_eq!(metric(&server.metrics().render(), "specserve_rejected_total{reason=\"server_full\"}"), 1.0);
}

#[tokio::test]
async fn browser_origin_not_on_the_allowlist_gets_403() {
    let (server, _) =
        net::start_with(Limits::default(), |c| c.allowed_origins = vec!["https://app.example".into()]).await;
    match net::raw(&server, "/ws", &[("origin", "https://evil.example")]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    assert!(net::raw(&server, "/ws", &[("origin", "https://app.example")]).await.is_ok());
    assert!(net::raw(&server, "/ws", &[]).await.is_ok(), "non-browser clients send no Origin");
    assert_eq!(metric(&server.metrics().render(), "specserve_rejected_total{reason=\"origin\"}"), 1.0);
}

#[tokio::test]
async fn rate_limit_replies_then_closes_1008() {
    let limits = Limits { frames_per_second: 0.0, frame_burst: 3.0, rate_limit_strikes: 4, ..Limits::default() };
    let (server, _) = net::start(limits).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    for i in 0..10 {
        let frame =
            format!(r#"{{"channel":"user/read","requestId":"q{i}","apiToken":"admin-token","payload":{{"id":1}}}}"#);
        if socket.send(Message::text(frame)).await.is_err() {
            break;
        }
    }
    for i in 0..3 {
        let reply = text_reply(&mut socket).await;
        assert_eq!((reply["requestId"].as_str(), reply["id"].as_i64()), (Some(format!("q{i}").as_str()), Some(1)));
    }
    for i in 3..7 {
        let reply = text_reply(&mut socket).await;
        assert_eq!(reply["error"]["code"], "rate_limited");
        assert_eq!(reply["requestId"], format!("q{i}"));
    }
    assert_eq!(close_code(&mut socket).await, CloseCode::Policy);
}

#[tokio::test]
async fn another_method_than_get_at_a_websocket_path_is_405() {
    let (server, _) = net::start(Limits::default()).await;
    for (method, path) in [("POST", "/ws"), ("PUT", "/"), ("DELETE", "/ws")] {
        let request =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        let (status, head, _) = net::http(&server, &request).await;
        assert_eq!(status, 405, "{method} {path}: {head}");
        assert!(head.to_ascii_lowercase().contains("allow: get"), "{head}");
    }
    let json = "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    let request = format!("POST /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{json}");
    let (status, ..) = net::http(&server, &request).await;
    assert_eq!(status, 404, "not a WebSocket path: the application's POSTs, none here");
}

#[tokio::test]
async fn probes_spec_and_docs_are_served_on_the_same_port() {
    let (server, handlers) = net::start(Limits::default()).await;
    assert_eq!(net::get(&server, "/healthz").await, (200, "ok\n".into()));
    assert_eq!(net::get(&server, "/readyz").await.0, 200);
    handlers.ready.store(false, Ordering::SeqCst);
    assert_eq!(net::get(&server, "/readyz").await, (503, "not ready: a dependency is unreachable\n".into()));
    handlers.ready.store(true, Ordering::SeqCst);
    assert_eq!(net::get(&server, "/readyz").await.0, 200);
    assert_eq!(net::get(&server, "/asyncapi.yaml").await, (200, specserve::ASYNCAPI_YAML.into()));
    let (status, docs) = net::get(&server, "/docs").await;
    assert_eq!(status, 200);
    for operation in specserve::api::OPERATIONS {
        assert!(docs.contains(&format!("id=\"{operation}\"")), "no anchor for {operation}");
    }
    assert_eq!(net::get(&server, "/nope").await.0, 404);
    // A browser opening the WebSocket URL is told where the API is described.
    for path in ["/ws", "/"] {
        let (status, body) = net::get(&server, path).await;
        assert_eq!(status, 426, "{path}");
        assert!(body.contains("WebSocket endpoint") && body.contains("/docs"), "{path}: {body}");
    }
}

#[tokio::test]
async fn metrics_reflect_the_traffic_just_sent() {
    let (server, _) = net::start(Limits::default()).await;
    let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
    for frame in [READ_ADMIN, READ_ADMIN, r#"{"channel":"user/read","payload":{"id":1}}"#, r#"{"channel":"nope"}"#] {
        socket.send(Message::text(frame)).await.unwrap();
        text_reply(&mut socket).await;
    }
    let (status, text) = net::get(&server, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(metric(&text, "specserve_connections_open"), 1.0);
    assert_eq!(metric(&text, "specserve_frames_in_total{operation=\"userRead\"}"), 3.0);
    assert_eq!(metric(&text, "specserve_frames_in_total{operation=\"unknown\"}"), 1.0);
    assert_eq!(metric(&text, "specserve_frames_out_total{operation=\"userRead\"}"), 3.0);
    assert_eq!(metric(&text, "specserve_replies_total{code=\"ok\"}"), 2.0);
    assert_eq!(metric(&text, "specserve_replies_total{code=\"unauthorized\"}"), 1.0);
    assert_eq!(metric(&text, "specserve_replies_total{code=\"unknown_channel\"}"), 1.0);
    assert_eq!(metric(&text, "specserve_auth_failures_total"), 1.0);
    assert_eq!(metric(&text, "specserve_dispatch_seconds_count{operation=\"userRead\"}"), 3.0);
    // What is serving, and the process as every exporter names it.
    let info_version = specserve::ASYNCAPI_YAML
        .lines()
        .skip_while(|line| *line != "info:")
        .find_map(|line| line.trim().strip_prefix("version: "))
        .unwrap();
    let served = format!("spec=\"specserve user API\",spec_version=\"{info_version}\"}} 1");
    let build = text.lines().find(|line| line.starts_with("specserve_build_info{runtime=\""));
    assert!(build.is_some_and(|line| line.ends_with(&served)), "{build:?} should end with {served}");
    assert!(metric(&text, "process_resident_memory_bytes") > 0.0);
    assert!(metric(&text, "process_open_fds") >= 1.0);
    // OpenMetrics: a counter family is named without `_total`, its sample with it.
    assert!(text.contains("# TYPE process_cpu_seconds counter"), "{text}");
    assert!(text.lines().any(|line| line.starts_with("process_cpu_seconds_total ")), "{text}");
    assert!(text.ends_with("# EOF\n"), "an OpenMetrics exposition ends so");
}

/// A socket whose `user/read` of [`SLOW_USER`] (request id `slow`) has reached
/// its handler, which waits for `handlers.release()`.
async fn slow_request_in_flight(server: &specserve_runtime::server::Server, handlers: &common::Memory) -> net::Socket {
    let mut socket = net::raw(server, "/ws", &[]).await.unwrap();
    let slow = format!(
        r#"{{"channel":"user/read","requestId":"slow","apiToken":"admin-token","payload":{{"id":{SLOW_USER}}}}}"#
    );
    socket.send(Message::text(slow)).await.unwrap();
    handlers.slow_started.notified().await;
    socket
}

#[tokio::test]
async fn graceful_shutdown_answers_the_request_in_flight_then_closes_1001() {
    let (server, handlers) = net::start(Limits::default()).await;
    let mut socket = slow_request_in_flight(&server, &handlers).await;
    let token = server.shutdown_token();
    token.cancel();
    // New connections are refused once shutdown starts.
    let addr = server.local_addr();
    let stopped = tokio::spawn(server.wait());
    eventually("the listener is closed", || std::net::TcpStream::connect(addr).is_err()).await;
    handlers.release();
    let reply = text_reply(&mut socket).await;
    assert_eq!((reply["requestId"].as_str(), reply["error"]["code"].as_str()), (Some("slow"), Some("not_found")));
    assert_eq!(close_code(&mut socket).await, CloseCode::Away);
    assert!(stopped.await.unwrap(), "the server drained before its deadline");
}

/// A handler dropped mid-way would abandon its database statement
/// mid-protocol (see the runtime's `connection::run`): requests run to
/// their end even when their client vanished.
#[tokio::test]
async fn a_request_runs_to_its_end_when_its_client_vanishes() {
    let (server, handlers) = net::start(Limits::default()).await;
    let socket = slow_request_in_flight(&server, &handlers).await;
    drop(socket);
    let metrics = || async { net::get(&server, "/metrics").await.1 };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while metric(&metrics().await, "specserve_connections_open") != 0.0 {
        assert!(tokio::time::Instant::now() < deadline, "the server never saw the client go");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handlers.release();
    tokio::time::timeout(Duration::from_secs(10), handlers.slow_finished.notified())
        .await
        .expect("the handler finished after its connection closed");
}

#[tokio::test]
async fn typed_client_sees_typed_errors_over_wss() {
    let (server, _) = net::start(Limits::default()).await;
    let client = net::client(&server).await;
    match client.user_read(&UserRef { id: 1 }).await {
        Err(ClientError::Api(body)) => assert_eq!(body.code, ErrorCode::Unauthorized),
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_certificate_fingerprint_is_refused_by_the_client() {
    let (server, _) = net::start(Limits::default()).await;
    let options = specserve_runtime::client::ClientOptions::pinned(&"00:".repeat(32));
    assert!(specserve::api::Client::connect_with(&server.url(), options).await.is_err());
}

#[tokio::test]
async fn tls_client_that_never_sends_its_http_request_is_cut_at_the_upgrade_deadline() {
    use tokio::io::AsyncReadExt as _;
    let limits = Limits { upgrade_timeout: Duration::from_millis(200), ..Limits::default() };
    let (server, _) = net::start(limits).await;
    let tcp = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
    let connector =
        tokio_rustls::TlsConnector::from(specserve_runtime::client::pinned_config(&server.fingerprint().unwrap()));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("the TLS handshake itself succeeds");
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the server closed the idle TLS connection");
    assert!(!String::from_utf8_lossy(&buffer).contains("101"), "no upgrade happened");
}

/// `reuse_port` lets a second server bind the first one's port (share-nothing
/// processes behind one port); without it the port is refused as taken.
#[tokio::test]
async fn a_port_is_shared_only_when_both_servers_ask() {
    let (first, _) = net::start_with(Limits::default(), |c| c.reuse_port = true).await;
    let addr = first.local_addr();
    let (second, _) = net::start_with(Limits::default(), |c| {
        c.reuse_port = true;
        c.listen = addr;
    })
    .await;
    assert_eq!(second.local_addr(), addr);
    let mut config = specserve_runtime::server::ServerConfig::new(addr);
    config.assets = specserve::api::assets();
    let service = std::sync::Arc::new(Service::<common::Memory>::new(std::sync::Arc::default()));
    let refused = specserve_runtime::server::Server::start(config, service).await.err();
    assert!(matches!(refused, Some(specserve_runtime::server::StartError::Bind { .. })), "{refused:?}");
}

/// `--workers 2`: two threads accept on one port; shutdown closes every
/// connection with 1001 on both, and the port closes.
#[tokio::test]
async fn per_core_workers_serve_one_port_and_shut_down_together() {
    let (server, _) = net::start_with(Limits::default(), net::two_workers).await;
    let mut sockets = Vec::new();
    for _ in 0..24 {
        let mut socket = net::raw(&server, "/ws", &[]).await.unwrap();
        socket.send(Message::text(READ_ADMIN)).await.unwrap();
        assert_eq!(text_reply(&mut socket).await["id"], 1);
        sockets.push(socket);
    }
    let accepted = net::accepted_per_worker(&server).await;
    assert!(accepted.iter().all(|n| *n > 0.0), "the kernel gave both workers connections: {accepted:?}");
    let addr = server.local_addr();
    assert!(server.shutdown().await, "both workers drained before the deadline");
    for socket in &mut sockets {
        assert_eq!(close_code(socket).await, CloseCode::Away);
    }
    assert!(std::net::TcpStream::connect(addr).is_err(), "no worker listens any more");
}

/// Worker threads are not tied to the caller's runtime: dropping the server
/// stops them, as the end of that runtime stops a server on it.
#[tokio::test]
async fn a_dropped_per_core_server_stops_listening() {
    let (server, _) = net::start_with(Limits::default(), net::two_workers).await;
    let addr = server.local_addr();
    drop(server);
    eventually("the workers stopped", || std::net::TcpStream::connect(addr).is_err()).await;
}

/// Workers bind with `SO_REUSEPORT`, but a port another server holds without
/// it is still refused at start.
#[tokio::test]
async fn per_core_workers_refuse_a_taken_port() {
    let (taken, _) = net::start(Limits::default()).await;
    let mut config = specserve_runtime::server::ServerConfig::new(taken.local_addr());
    net::two_workers(&mut config);
    let service = std::sync::Arc::new(Service::<common::Memory>::new(std::sync::Arc::default()));
    let refused = specserve_runtime::server::Server::start(config, service).await.err();
    assert!(matches!(refused, Some(specserve_runtime::server::StartError::Bind { .. })), "{refused:?}");
}

/// Every response says `nosniff` and sends no referrer; the docs page may
/// load and run nothing but its own inline style and script, allowed by their hashes.
#[tokio::test]
async fn responses_carry_security_headers_and_the_docs_a_strict_policy() {
    let (server, _) = net::start(Limits::default()).await;
    let header = |head: &str, name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_owned())
    };
    for path in ["/healthz", "/docs", "/asyncapi.yaml", "/nope", "/ws"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let (_, head, _) = net::http(&server, &request).await;
        assert_eq!(header(&head, "x-content-type-options").as_deref(), Some("nosniff"), "{path}: {head}");
        assert_eq!(header(&head, "referrer-policy").as_deref(), Some("no-referrer"), "{path}: {head}");
    }
    let (_, head, page) =
        net::http(&server, "GET /docs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
    let policy = header(&head, "content-security-policy").expect("the docs have a policy");
    assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"), "{policy}");
    // The hash is the page's own style's.
    let style = page.split("<style>").nth(1).and_then(|s| s.split("</style>").next()).expect("an inline style");
    use base64::Engine;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(style.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest);
    assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
    // Its one script (search, the served URLs) runs by its hash too, and no other.
    let script = page.split("<script>").nth(1).and_then(|s| s.split("</script>").next()).expect("an inline script");
    let digest = <sha2::Sha256 as sha2::Digest>::digest(script.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest);
    assert!(policy.contains(&format!("script-src 'sha256-{hash}';")), "{policy}");
}

/// Headers that trickle in (a byte every 100 ms, against a 500 ms header
/// deadline) lose the connection: the deadline covers the whole head, not
/// each read.
#[tokio::test]
async fn headers_that_trickle_in_are_cut_at_the_header_deadline() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let limits = Limits { upgrade_timeout: Duration::from_millis(500), ..Limits::default() };
    let (server, _) = net::start(limits).await;
    let stream = net::tls_at(server.local_addr(), &server.fingerprint().unwrap()).await;
    let (mut reading, mut writing) = tokio::io::split(stream);
    let trickle = async move {
        for byte in b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nX-Padding: ".iter().chain([b'x'; 600].iter()) {
            if writing.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let closed = async move {
        let mut answer = Vec::new();
        let _ = reading.read_to_end(&mut answer).await;
        answer
    };
    tokio::select! {
        answer = closed => assert!(!String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 2"), "no request was served"),
        () = trickle => panic!("a minute of trickled headers was taken"),
    }
}
