//! Seed 002, "WebSocket Server with JWT Authentication", as its README's
//! client uses it, against the real server over TLS, on SQLite and on
//! MariaDB, with broadcasts open to every user (`--announcers everyone`)
//! and every connected user visible (`--user-visibility all`), as in the
//! seed. Its flow, and where specserve's own spec serves each step:
//!
//! 1. `POST /auth/register {username, password}` and `POST /auth/login`:
//!    `POST /api/auth/register` (`name`, `email`, `password`) and `POST
//!    /api/auth/token`, which answers the token.
//! 2. Connect to `ws://host`, then `{"type": "authenticate", "token"}`; the
//!    server answers `authentication` (and greets with `connection`): the
//!    frame `auth/bind` with the token answers `session` (who the server
//!    believes the socket is and its limits); a socket that presents the
//!    token on its upgrade hears `session/welcome` first.
//! 3. `{"type": "message", "content"}` to everyone connected:
//!    `announcement/post`; every other signed-in connection hears
//!    `announcement/new`, the sender does not.
//! 4. `{"type": "direct", "to", "content", "messageId"}` and its
//!    `message_delivered`: `message/send` in the direct room with that user
//!    (made by `room/create {otherUserId}`), with `clientMsgId`; the
//!    recipient hears `message/new`, the sender `message/delivered`.
//! 5. `user_list`, who is connected, on every change: `presence/online`,
//!    then `presence/changed` as users come and go.
//! 6. `error`: a frame the server cannot serve gets the error reply, and the
//!    socket stays open.

#[macro_use]
mod common;

use common::app::{self, Running, test_config};
use common::db::TestDb;
use common::device::{Device, PATIENCE};
use common::frames::{Conn, code};
use common::{net, rest};
use futures_util::StreamExt;
use serde_json::{Value, json};
use specserve::handlers::{Announcers, AppConfig};
use specserve::presence::Visibility;
use tokio_tungstenite::tungstenite::Message;

on_both_databases!(the_seed_002_client_works_unchanged_in_its_flows);

/// Registers and logs in over HTTP, as the seed's client does; (id, token).
async fn account(running: &Running, name: &str) -> (i64, String) {
    let email = format!("{}@example.com", name.to_lowercase());
    let body = json!({"name": name, "email": email, "password": "securepassword123"});
    let id =
        rest::ok(running, "POST", "/api/auth/register", None, Some(body)).await["userId"].as_i64().expect("userId");
    let login = json!({"email": email, "password": "securepassword123"});
    let token = rest::ok(running, "POST", "/api/auth/token", None, Some(login)).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    (id, token)
}

async fn the_seed_002_client_works_unchanged_in_its_flows(db: TestDb) {
    let config = AppConfig { announcers: Announcers::Everyone, visibility: Visibility::All, ..test_config() };
    let running = app::start(db, config).await;
    let (tess, tess_token) = account(&running, "Tess").await;
    let (uma, uma_token) = account(&running, "Uma").await;

    // 2: authenticate on a connected socket; a wrong token is an error and
    // the socket stays usable.
    let mut tess_socket = Device::open(&running, &tess_token).await;
    let session = tess_socket.ok("auth/bind", json!({})).await;
    assert_eq!((&session["session"]["userId"], &session["session"]["role"]), (&json!(tess), &json!("user")));
    assert!(session["session"]["limits"]["maxMessageBytes"].is_u64(), "{session}");
    let mut anonymous = Conn::open(&running).await;
    let refused = anonymous.call("auth/bind", Some("your.jwt.token.here"), json!({})).await;
    assert_eq!(code(&refused), "unauthorized", "{refused}");
    // The token on the upgrade: the greeting comes first.
    let bearer = format!("Bearer {uma_token}");
    let (_upgrade_sink, mut greeted) =
        net::raw(&running.server, "/ws", &[("Authorization", &bearer)]).await.expect("upgrade").split();
    let first = match tokio::time::timeout(PATIENCE, greeted.next()).await.expect("a frame in time") {
        Some(Ok(Message::Text(text))) => serde_json::from_str::<Value>(&text).expect("JSON"),
        other => panic!("expected the greeting, got {other:?}"),
    };
    assert_eq!((&first["channel"], &first["session"]["userId"]), (&json!("session/welcome"), &json!(uma)));
    let came = tess_socket.next("presence/changed").await;
    assert_eq!((&came["userId"], &came["online"]), (&json!(uma), &json!(true)), "{came}");

    // 5: who is connected, and the change when someone connects.
    let online = tess_socket.ok("presence/online", json!({})).await;
    let ids: Vec<&Value> = online["users"].as_array().unwrap().iter().map(|u| &u["userId"]).collect();
    assert_eq!(ids, [&json!(tess), &json!(uma)], "{online}");
    let (vic, vic_token) = account(&running, "Vic").await;
    let mut vic_socket = Device::open(&running, &vic_token).await;
    let came = tess_socket.next("presence/changed").await;
    assert_eq!((&came["userId"], &came["online"]), (&json!(vic), &json!(true)), "{came}");

    // 3: a broadcast reaches the others, never its sender.
    let mut uma_socket = Device::open(&running, &uma_token).await;
    let posted = tess_socket.ok("announcement/post", json!({"text": "Hello, everyone!"})).await;
    for socket in [&mut uma_socket, &mut vic_socket] {
        let heard = socket.next("announcement/new").await;
        assert_eq!(
            (&heard["announcement"]["text"], &heard["announcement"]["authorId"]),
            (&json!("Hello, everyone!"), &json!(tess))
        );
        assert_eq!(heard["announcement"]["id"], posted["announcementId"]);
    }

    // 4: a direct message with its id, and its delivery receipt.
    let room = tess_socket.ok("room/create", json!({"otherUserId": uma})).await["room"]["id"].as_i64().unwrap();
    uma_socket.ok("room/join", json!({"roomId": room})).await;
    let sent = tess_socket
        .ok("message/send", json!({"roomId": room, "text": "Private message", "clientMsgId": "1733500000000"}))
        .await;
    let direct = uma_socket.next("message/new").await;
    assert_eq!(
        (&direct["message"]["text"], &direct["message"]["authorId"], &direct["message"]["clientMsgId"]),
        (&json!("Private message"), &json!(tess), &json!("1733500000000"))
    );
    let delivered = tess_socket.next("message/delivered").await;
    assert_eq!((&delivered["roomId"], &delivered["messageId"]), (&json!(room), &sent["messageId"]));
    // Vic is not in that room: the next thing he hears is Uma's broadcast.
    uma_socket.ok("announcement/post", json!({"text": "marker"})).await;
    assert_eq!(vic_socket.next_of(&["announcement/new", "message/new"]).await["announcement"]["text"], "marker");

    // 6: frames it cannot serve are answered, and the socket stays open.
    for (frame, expected) in [
        (r#"{"type": "message", "content": "Hello"}"#, "bad_request"),
        (r#"{"channel": "direct", "payload": {}}"#, "unknown_channel"),
        ("not json", "bad_request"),
    ] {
        let reply = anonymous.send_text(frame.to_owned()).await;
        assert_eq!(code(&reply), expected, "{frame}: {reply}");
    }
    let gone = tess_socket.call("announcement/post", json!({"text": ""})).await;
    assert_eq!(code(&gone), "validation_failed", "{gone}");

    // 5, again: a user who leaves is announced to those still there.
    vic_socket.close().await;
    let left = tess_socket.next("presence/changed").await;
    assert_eq!((&left["userId"], &left["online"]), (&json!(vic), &json!(false)), "{left}");
    running.stop().await;
}
