//! Seed 003, "Secured Real-Time Chat Engine", as its README's client uses
//! it, against the real server over TLS, on SQLite and on MariaDB. Its
//! flow, and where specserve's own spec serves each step:
//!
//! 1. The zero-trust handshake: a socket emits `register_user` with a JWT;
//!    the server verifies it and binds the socket to the token's user, never
//!    to an id the client claims. Here: `auth/bind` with the token binds the
//!    connection to the token's user and answers who that is; a payload
//!    naming a user is refused by the schema, a forged token is
//!    `unauthorized`, and an unbound socket gets no one's events.
//! 2. Multi-device: each registered socket counts; a user leaves the online
//!    map only when their last device disconnects. Here: presence is per
//!    user over all their bound connections: `presence/changed` online at
//!    the first, offline after the last, nothing between.
//! 3. A private room cannot be entered by spoofing: `room/join` of a
//!    private room without an invitation, and reading or writing it, are
//!    `forbidden`.
//! 4. Operational errors are clean messages: every refusal is the spec's
//!    error body with a code from its closed set, and the socket stays open.

#[macro_use]
mod common;

use common::app::Running;
use common::device::{Device, direct_room, group_room, user};
use common::frames::{Conn, code};
use serde_json::json;

on_both_stores!(the_seed_003_client_works_unchanged_in_its_flows);

async fn the_seed_003_client_works_unchanged_in_its_flows(running: Running) {
    let (ada, ada_token) = user(&running, "ada").await;
    let (bo, bo_token) = user(&running, "bo").await;
    let (_, eve_token) = user(&running, "eve").await;

    // 1: the handshake binds to the token's user, and only to it.
    let mut watcher = Device::open(&running, &bo_token).await;
    let room = direct_room(&mut watcher, ada).await;
    let mut phone = Device::open(&running, &ada_token).await;
    let bound = phone.ok("auth/bind", json!({})).await;
    assert_eq!(bound["session"]["userId"], ada, "{bound}");
    phone.ok("room/join", json!({"roomId": room})).await;
    let came = watcher.next("presence/changed").await;
    assert_eq!((&came["userId"], &came["online"]), (&json!(ada), &json!(true)), "{came}");
    let mut socket = Conn::open(&running).await;
    let claimed = socket.call("auth/bind", Some(&eve_token), json!({"userId": bo})).await;
    assert_eq!(code(&claimed), "validation_failed", "an id the client claims is refused: {claimed}");
    let forged = socket.call("auth/bind", Some(&format!("{ada_token}x")), json!({})).await;
    assert_eq!(code(&forged), "unauthorized", "{forged}");

    // 2: a second device; closing one leaves her online.
    let laptop = Device::open(&running, &ada_token).await;
    phone.close().await;
    // Her laptop writes: Bo hears the message, no offline before it.
    let mut laptop = laptop;
    let said = laptop.say(room, "still here").await;
    let next = watcher.next_of(&["presence/changed", "message/new"]).await;
    assert_eq!((&next["channel"], &next["message"]["id"]), (&json!("message/new"), &json!(said)), "{next}");
    laptop.close().await;
    let gone = watcher.next("presence/changed").await;
    assert_eq!((&gone["userId"], &gone["online"]), (&json!(ada), &json!(false)), "{gone}");

    // 3: Eve cannot enter Bo's private group by naming it.
    let mut eve = Device::open(&running, &eve_token).await;
    let private = group_room(&mut watcher, "private", &[]).await;
    for (channel, payload) in [
        ("room/join", json!({"roomId": private})),
        ("message/send", json!({"roomId": private, "text": "spoofed"})),
        ("message/history", json!({"roomId": private})),
        ("room/members", json!({"roomId": private})),
    ] {
        let refused = eve.call(channel, payload).await;
        assert_eq!(code(&refused), "forbidden", "{channel}: {refused}");
    }
    watcher.say(private, "marker").await;
    let history = watcher.ok("message/history", json!({"roomId": private})).await;
    assert_eq!(history["messages"].as_array().map(Vec::len), Some(1), "nothing of Eve's got in: {history}");

    // 4: each refusal is the spec's error body; the socket still serves.
    let bad = eve.call("message/send", json!({"roomId": "x", "text": 5})).await;
    assert_eq!(code(&bad), "validation_failed");
    let details = bad["error"]["details"].as_array().expect("details");
    assert!(details.iter().all(|d| d["pointer"].as_str().is_some_and(|p| p.starts_with("/payload/"))), "{bad}");
    assert_eq!(code(&eve.call("room/list", json!({})).await), "ok", "the socket still serves");
    running.stop().await;
}
