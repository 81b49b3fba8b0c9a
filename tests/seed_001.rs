//! Seed 001, "Backend API & WebSocket Server", as its README's client uses
//! it, against the real server over TLS, on SQLite and on MariaDB. The
//! seed's flow, and where specserve's own spec serves each step:
//!
//! 1. `POST /auth/register {email, password}` mails a 6-digit OTP;
//!    `POST /auth/verify-otp {email, otp}` verifies the address. Here:
//!    `POST /api/auth/register` (accounts also have a display name) mails
//!    the code through a real SMTP conversation, `POST /api/auth/verify
//!    {email, code}` checks it (`auth/verifyEmail` over HTTP); log-in waits
//!    for it.
//! 2. `POST /auth/login {email, password}`: `POST /api/auth/token` answers
//!    the token in the body (`POST /auth/login` sets it as a cookie for pages).
//! 3. `POST /msg/room {otherUserId}` creates the room with another user:
//!    `POST /api/rooms`; the other user accepts with `POST
//!    /api/rooms/{roomId}/join` (specserve's direct rooms are invitations).
//! 4. `GET /msg/room`, the user's rooms with their latest message: `GET /api/rooms`.
//! 5. `ws://host/room/<roomId>?token=<token>`: send `{"content"}`, the others
//!    receive `{"type": "NEW_MESSAGE", "data": {id, content, senderId,
//!    createdAt}}`, the sender does not. The same path on `wss://`.
//! 6. `GET /msg/room/:roomId/messages`: `GET /api/rooms/{roomId}/messages`.
//! 7. `/users`, the list of users: `GET /api/users` (`user/directory`, under
//!    the operator's visibility policy: by default the people one shares a room with).
//!
//! What differs: the seed's room list also returns the token (a token is
//! the log-in's answer here), and its access/refresh cookie pair is one
//! session cookie plus the `refresh` log-in over the socket.

#[macro_use]
mod common;

use common::app::{self, Running, test_config};
use common::db::TestDb;
use common::device::PATIENCE;
use common::net;
use common::rest;
use common::smtp::Sink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use specserve::handlers::{AppConfig, EmailVerification};
use specserve::mail::Mailer;
use specserve::security::secret::Secret;
use tokio_tungstenite::tungstenite::Message;

on_both_databases!(the_seed_001_client_works_unchanged_in_its_flows);

const PASSWORD: &str = "SecretPass123";

/// A room socket as the seed's client opens it.
struct RoomSocket {
    sink: futures_util::stream::SplitSink<net::Socket, Message>,
    stream: futures_util::stream::SplitStream<net::Socket>,
}

impl RoomSocket {
    async fn open(running: &Running, room: i64, token: &str) -> RoomSocket {
        let path = format!("/room/{room}?token={token}");
        let (sink, stream) = net::raw(&running.server, &path, &[]).await.expect("upgrade").split();
        RoomSocket { sink, stream }
    }

    async fn send(&mut self, content: &str) {
        self.sink.send(Message::text(json!({"content": content}).to_string())).await.expect("send");
    }

    async fn next(&mut self) -> Value {
        loop {
            match tokio::time::timeout(PATIENCE, self.stream.next()).await.expect("a frame in time") {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("JSON"),
                Some(Ok(_)) => continue,
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    }
}

/// Registers through the seed's OTP flow; (user id, token).
async fn sign_up(running: &Running, sink: &mut Sink, name: &str) -> (i64, String) {
    let email = format!("{}@example.com", name.to_lowercase());
    let account = json!({"name": name, "email": email, "password": PASSWORD});
    let registered = rest::ok(running, "POST", "/api/auth/register", None, Some(account)).await;
    assert_eq!(registered["emailVerificationRequired"], true, "{registered}");
    let login = json!({"email": email, "password": PASSWORD});
    let (status, early) = rest::call(running, "POST", "/api/auth/token", None, Some(login.clone())).await;
    assert_eq!((status, &early["error"]["code"]), (403, &json!("email_not_verified")), "{early}");
    let mail = sink.next().await;
    assert_eq!(mail.to, std::slice::from_ref(&email));
    let code = mail.code();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, refused) =
        rest::call(running, "POST", "/api/auth/verify", None, Some(json!({"email": email, "code": wrong}))).await;
    assert_eq!((status, &refused["error"]["code"]), (401, &json!("unauthorized")), "{refused}");
    let verified =
        rest::ok(running, "POST", "/api/auth/verify", None, Some(json!({"email": email, "code": code}))).await;
    let id = verified["userId"].as_i64().expect("userId");
    let token = rest::ok(running, "POST", "/api/auth/token", None, Some(login)).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    (id, token)
}

async fn the_seed_001_client_works_unchanged_in_its_flows(db: TestDb) {
    let mut sink = Sink::start().await;
    let mailer = Mailer::new(&sink.url, "specserve <no-reply@example.com>").expect("mailer");
    let verification = EmailVerification { mailer, secret: Secret::generate().expect("randomness") };
    let running = app::start(db, AppConfig { email_verification: Some(verification), ..test_config() }).await;

    // 1, 2: sign-up with the mailed code, then log in.
    let (ana, ana_token) = sign_up(&running, &mut sink, "Ana").await;
    let (ben, ben_token) = sign_up(&running, &mut sink, "Ben").await;
    let (_, carol_token) = sign_up(&running, &mut sink, "Carol").await;

    // 3: the room with another user, accepted by them.
    let created = rest::ok(&running, "POST", "/api/rooms", Some(&ana_token), Some(json!({"otherUserId": ben}))).await;
    let room = created["room"]["id"].as_i64().expect("room id");
    rest::ok(&running, "POST", &format!("/api/rooms/{room}/join"), Some(&ben_token), None).await;

    // 5: both connect to the room's socket with `?token=`; Ana writes.
    let mut ana_socket = RoomSocket::open(&running, room, &ana_token).await;
    let mut ben_socket = RoomSocket::open(&running, room, &ben_token).await;
    ana_socket.send("Hello!").await;
    let heard = ben_socket.next().await;
    assert_eq!(heard["type"], "NEW_MESSAGE", "{heard}");
    let data = &heard["data"];
    assert_eq!((&data["content"], &data["senderId"]), (&json!("Hello!"), &json!(ana)), "{heard}");
    assert!(data["id"].is_i64() && data["createdAt"].is_string(), "{heard}");
    // Ben answers: that is the first thing Ana's socket hears, so her own
    // message never came back to her.
    ben_socket.send("Hi Ana").await;
    let answer = ana_socket.next().await;
    assert_eq!((&answer["data"]["content"], &answer["data"]["senderId"]), (&json!("Hi Ana"), &json!(ben)));
    ana_socket.send("marker").await;
    assert_eq!(ben_socket.next().await["data"]["content"], "marker", "Ben's own message did not come back to him");

    // 4: the rooms, with the latest message.
    let rooms = rest::ok(&running, "GET", "/api/rooms", Some(&ben_token), None).await;
    let listed = &rooms["rooms"][0];
    assert_eq!((&listed["room"]["id"], &listed["lastMessage"]["text"]), (&json!(room), &json!("marker")), "{rooms}");

    // 6: the history, oldest last, as the seed's client pages it.
    let history = rest::ok(&running, "GET", &format!("/api/rooms/{room}/messages"), Some(&ana_token), None).await;
    let texts: Vec<&str> = history["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, ["marker", "Hi Ana", "Hello!"], "{history}");

    // 7: the users Ana may see: herself and Ben, with whom she shares a room; not Carol.
    let users = rest::ok(&running, "GET", "/api/users", Some(&ana_token), None).await;
    let names: Vec<&str> = users["users"].as_array().unwrap().iter().filter_map(|u| u["name"].as_str()).collect();
    assert_eq!(names, ["Ana", "Ben"], "{users}");
    let searched = rest::ok(&running, "GET", "/api/users?query=Be", Some(&ana_token), None).await;
    let found: Vec<&Value> = searched["users"].as_array().unwrap().iter().map(|u| &u["userId"]).collect();
    assert_eq!(found, [&json!(ben)], "{searched}");

    // Refusals: a stranger's socket and reads, a bad token, no token.
    let mut stranger = RoomSocket::open(&running, room, &carol_token).await;
    stranger.send("let me in").await;
    assert_eq!(stranger.next().await["error"]["code"], "forbidden");
    let (status, _) =
        rest::call(&running, "GET", &format!("/api/rooms/{room}/messages"), Some(&carol_token), None).await;
    assert_eq!(status, 403);
    let mut forged = RoomSocket::open(&running, room, "not-a-token").await;
    forged.send("hi").await;
    assert_eq!(forged.next().await["error"]["code"], "unauthorized");
    let (status, _) = rest::call(&running, "GET", "/api/rooms", None, None).await;
    assert_eq!(status, 401);
    // None of the refused messages reached the room.
    let after = rest::ok(&running, "GET", &format!("/api/rooms/{room}/messages"), Some(&ben_token), None).await;
    assert_eq!(after["messages"].as_array().map(Vec::len), Some(3), "{after}");
    running.stop().await;
}
