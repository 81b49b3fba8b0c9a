//! Seed 004, "ChatSphere API Server", as its README's client uses it,
//! against the real server over TLS, on SQLite and on MariaDB. Its flow,
//! and where specserve's own spec serves each step:
//!
//! 1. Client tokens: an application obtains a CLIENT token, and only with it
//!    creates users (`POST /api/users`); a USER token is what users call
//!    with. Here: an admin makes a client token with the scope
//!    `users:create` (`token/createClient`), which `user/create` accepts and
//!    nothing else; the user logs in with `POST /api/auth/token`.
//! 2. Rooms: `GET /api/rooms`, `POST /api/rooms`, `POST
//!    /api/rooms/:roomId/users`. Here: `POST /api/rooms` (a public group
//!    room), `GET /api/rooms`, `POST /api/rooms/{roomId}/members {userId}`
//!    (`room/addMember`); the added user accepts with `POST
//!    /api/rooms/{roomId}/join`.
//! 3. The socket's `join` a room, `message`, and the broadcast
//!    `new_message`: `room/join` (a public room is open to anyone),
//!    `message/send`, and `message/new` to every member's connections.
//! 4. Messages: `GET` and `POST /api/rooms/:roomId/messages`: the same paths
//!    under `/api/rooms/{roomId}/messages`.
//! 5. `DELETE /api/tokens/:tokenId` revokes a token: `token/revoke`; the
//!    revoked token is refused everywhere after.

#[macro_use]
mod common;

use common::app::Running;
use common::device::Device;
use common::frames::{Conn, code, seeded_user};
use common::rest;
use serde_json::{Value, json};
use specserve::api::Role;

on_both_stores!(the_seed_004_client_works_unchanged_in_its_flows);

async fn log_in(running: &Running, email: &str) -> String {
    let login = json!({"email": email, "password": "Password123"});
    rest::ok(running, "POST", "/api/auth/token", None, Some(login)).await["token"].as_str().expect("token").to_owned()
}

async fn the_seed_004_client_works_unchanged_in_its_flows(running: Running) {
    let mut conn = Conn::open(&running).await;
    let (_, admin) = seeded_user(&running, &mut conn, "admin@example.com", Role::Admin, None).await;

    // 1: the client token creates users, and only users.
    let made =
        conn.call("token/createClient", Some(&admin), json!({"name": "chatsphere", "scopes": ["users:create"]})).await;
    let client = made["token"].as_str().unwrap_or_else(|| panic!("client token: {made}")).to_owned();
    let mut users = Vec::new();
    for name in ["Kai", "Lin", "Mo"] {
        let email = format!("{}@example.com", name.to_lowercase());
        let payload = json!({"name": name, "email": email, "password": "Password123"});
        let created = conn.call("user/create", Some(&client), payload).await;
        let id = created["userId"].as_i64().unwrap_or_else(|| panic!("user/create: {created}"));
        users.push((id, log_in(&running, &email).await));
    }
    let [(kai, kai_token), (lin, lin_token), (mo, mo_token)] = <[_; 3]>::try_from(users).unwrap();
    let read = conn.call("user/read", Some(&client), json!({"id": kai})).await;
    assert_eq!(code(&read), "forbidden", "the client token holds users:create only: {read}");
    let minted =
        conn.call("token/createClient", Some(&kai_token), json!({"name": "x", "scopes": ["users:create"]})).await;
    assert_eq!(code(&minted), "forbidden", "a user token makes no client tokens: {minted}");

    // 2: a public room, its list, a member added who accepts.
    let body = json!({"name": "general", "visibility": "public"});
    let room = rest::ok(&running, "POST", "/api/rooms", Some(&kai_token), Some(body)).await["room"]["id"]
        .as_i64()
        .expect("room id");
    let listed = rest::ok(&running, "GET", "/api/rooms", Some(&kai_token), None).await;
    assert_eq!(listed["rooms"][0]["room"]["id"], room, "{listed}");
    rest::ok(&running, "POST", &format!("/api/rooms/{room}/members"), Some(&kai_token), Some(json!({"userId": lin})))
        .await;
    rest::ok(&running, "POST", &format!("/api/rooms/{room}/join"), Some(&lin_token), None).await;

    // 3: Mo joins over the socket, as the seed's `join`; a message reaches all members.
    let mut mo_socket = Device::open(&running, &mo_token).await;
    let mut lin_socket = Device::open(&running, &lin_token).await;
    mo_socket.ok("room/join", json!({"roomId": room})).await;
    let said = mo_socket.say(room, "hi all").await;
    let heard = lin_socket.next("message/new").await;
    assert_eq!((&heard["message"]["id"], &heard["message"]["authorId"]), (&json!(said), &json!(mo)));

    // 4: messages over HTTP, and the socket hears them too.
    let path = format!("/api/rooms/{room}/messages");
    let posted = rest::ok(&running, "POST", &path, Some(&kai_token), Some(json!({"text": "welcome"}))).await;
    let heard = mo_socket.next("message/new").await;
    assert_eq!((&heard["message"]["id"], &heard["message"]["authorId"]), (&posted["messageId"], &json!(kai)));
    let history = rest::ok(&running, "GET", &path, Some(&lin_token), None).await;
    let texts: Vec<&Value> = history["messages"].as_array().unwrap().iter().map(|m| &m["text"]).collect();
    assert_eq!(texts, [&json!("welcome"), &json!("hi all")], "{history}");

    // 5: Lin revokes her token; it is refused over HTTP and on the socket after.
    let sessions = lin_socket.ok("token/list", json!({})).await;
    let current = sessions["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).cloned().unwrap();
    lin_socket.ok("token/revoke", json!({"tokenId": current["tokenId"]})).await;
    let (status, answer) = rest::call(&running, "GET", &path, Some(&lin_token), None).await;
    assert_eq!((status, &answer["error"]["code"]), (401, &json!("unauthorized")), "{answer}");
    let refused = Conn::open(&running).await.call("room/list", Some(&lin_token), json!({})).await;
    assert_eq!(code(&refused), "unauthorized", "{refused}");
    running.stop().await;
}
