//! The chat end to end: rooms, messages, history, receipts and presence, with
//! the store-backed app behind the real TLS server and several users, each on
//! one or more devices (raw sockets that read replies and events as a client
//! does). Every case runs on SQLite, and on MySQL/MariaDB when the test server
//! is set.
//!
//! "Did not arrive" is never a wait: a later event is the marker (see
//! [`common::device`]).

#[macro_use]
mod common;

use std::time::Duration;

use common::app::{self, Running, test_config};
use common::db::{self, TestDb};
use common::device::{Device, PATIENCE, accept, direct_room, full_history, group_room, ids, user, users};
use common::frames::{Conn, code, frame, seeded_user};
use common::net;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use specserve::api::{
    AuthBindPayload, Client, Event, MembershipChange, Message as ChatMessage, MessageNew, MessageSendPayload,
    Publisher, Role, RoomCreatePayload, RoomRef,
};
use specserve_runtime::client::ClientOptions;
use specserve_runtime::hub::Audience;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

async fn a_direct_room_is_one_per_pair(running: Running) {
    let mut made = users(&running, &["alice", "bob"]).await;
    let (bob_id, mut bob) = made.pop().unwrap();
    let (alice_id, mut alice) = made.pop().unwrap();
    let room = direct_room(&mut alice, bob_id).await;
    assert_eq!(direct_room(&mut alice, bob_id).await, room, "asking again");
    assert_eq!(direct_room(&mut bob, alice_id).await, room, "the other way round");
    // Bob, invited, opening the room himself accepts it: Alice hears he joined.
    let joined = alice.next("room/memberChanged").await;
    assert_eq!((&joined["userId"], &joined["change"]), (&json!(bob_id), &json!("joined")));
    // Concurrent first requests from both sides of a new pair still make one room.
    let (carol_id, carol_token) = user(&running, "carol").await;
    let mut carols = Vec::new();
    for _ in 0..6 {
        carols.push(Device::open(&running, &carol_token).await);
    }
    let racing = carols.iter_mut().map(|carol| direct_room(carol, bob_id));
    let (rooms, bobs) = tokio::join!(futures_util::future::join_all(racing), direct_room(&mut bob, carol_id));
    assert!(rooms.iter().all(|r| *r == bobs), "{rooms:?} vs {bobs}");
    assert_ne!(bobs, room);

    let cases = [
        (json!({"otherUserId": alice_id}), "validation_failed", "with oneself"),
        (json!({"otherUserId": bob_id, "name": "both"}), "validation_failed", "both kinds at once"),
        (json!({}), "validation_failed", "neither kind"),
        (json!({"name": ""}), "validation_failed", "an empty name"),
    ];
    for (payload, expected, what) in cases {
        let reply = alice.call("room/create", payload).await;
        assert_eq!(code(&reply), expected, "{what}: {reply}");
    }
    running.stop().await;
}

async fn a_message_reaches_every_device_but_the_sending_one(running: Running) {
    let (alice_id, alice_token) = user(&running, "alice").await;
    let (bob_id, bob_token) = user(&running, "bob").await;
    let mut phone = Device::open(&running, &alice_token).await;
    let mut laptop = Device::open(&running, &alice_token).await;
    let mut bob = Device::open(&running, &bob_token).await;
    let room = direct_room(&mut phone, bob_id).await;
    // Bob accepts: Alice's devices may see him now, and hear that he is online.
    accept(&mut bob, room).await;
    for device in [&mut phone, &mut laptop] {
        assert_eq!(device.event().await["channel"], "room/memberChanged");
        let online = json!({"channel": "presence/changed", "userId": bob_id, "online": true});
        assert_eq!(device.event().await, online);
    }

    let sent = phone.ok("message/send", json!({"roomId": room, "text": "hi Bob\nhow are you?"})).await;
    let id = sent["messageId"].as_i64().unwrap();
    let created_at = sent["createdAt"].as_str().unwrap();
    let new = json!({
        "channel": "message/new",
        "message": {"id": id, "roomId": room, "authorId": alice_id, "text": "hi Bob\nhow are you?", "createdAt": created_at}
    });
    assert_eq!(bob.event().await, new);
    assert_eq!(laptop.event().await, new, "the sender's other device");
    // Bob's connection was handed it: the sender hears so, on every device.
    // The sending connection has its reply and no echo: the receipt is its first event.
    let receipt = json!({"channel": "message/delivered", "roomId": room, "messageId": id});
    assert_eq!(phone.event().await, receipt);
    assert_eq!(laptop.event().await, receipt);

    let answer = bob.say(room, "fine").await;
    assert_eq!(phone.event().await["message"]["id"], answer);
    assert_eq!(laptop.event().await["message"]["id"], answer);
    running.stop().await;
}

async fn a_retried_send_is_stored_and_pushed_once(running: Running) {
    let mut made = users(&running, &["alice", "bob"]).await;
    let (bob_id, mut bob) = made.pop().unwrap();
    let (_, mut alice) = made.pop().unwrap();
    let room = direct_room(&mut alice, bob_id).await;
    let send = json!({"roomId": room, "text": "pay the rent", "clientMsgId": "m-1"});
    let first = alice.ok("message/send", send.clone()).await;
    let retry = alice.ok("message/send", send.clone()).await;
    assert_eq!((&retry["messageId"], &retry["createdAt"]), (&first["messageId"], &first["createdAt"]));
    // The same client id with other text is still the original message.
    let mut changed = send.clone();
    changed["text"] = json!("changed my mind");
    assert_eq!(alice.ok("message/send", changed).await["messageId"], first["messageId"]);
    // Another sender may use the same client id: ids are per sender.
    let bobs = bob.ok("message/send", send.clone()).await;
    assert_ne!(bobs["messageId"], first["messageId"]);
    // And per room: the same id in another room is another message, stored
    // and pushed there, never answered with the first room's.
    let group = group_room(&mut alice, "elsewhere", &[bob_id]).await;
    let mut elsewhere = send.clone();
    elsewhere["roomId"] = json!(group);
    elsewhere["text"] = json!("in the other room");
    let other = alice.ok("message/send", elsewhere.clone()).await;
    assert_ne!(other["messageId"], first["messageId"], "{other}");
    assert_eq!(alice.ok("message/send", elsewhere).await["messageId"], other["messageId"], "and idempotent there");
    assert_eq!(bob.next("message/new").await["message"]["id"], first["messageId"], "the original, once");
    assert_eq!(bob.next("message/new").await["message"]["id"], other["messageId"]);
    assert_eq!(full_history(&mut alice, group, 50).await.len(), 1);

    let history = full_history(&mut alice, room, 50).await;
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[1]["clientMsgId"], "m-1");
    assert_eq!(history[1]["text"], "pay the rent");
    let after = alice.say(room, "after").await;
    assert_eq!(bob.next("message/new").await["message"]["id"], after, "the retries were not pushed again");
    running.stop().await;
}

async fn only_members_read_or_write_a_room(running: Running) {
    let mut made = users(&running, &["alice", "bob", "carol"]).await;
    let (carol_id, mut carol) = made.pop().unwrap();
    let (bob_id, mut bob) = made.pop().unwrap();
    let (_, mut alice) = made.pop().unwrap();
    let direct = direct_room(&mut alice, bob_id).await;
    let group = group_room(&mut alice, "plans", &[bob_id]).await;
    let with_carol = direct_room(&mut alice, carol_id).await;
    let first = alice.say(direct, "just us").await;

    for room in [direct, group, 999_999] {
        let attempts = [
            ("message/send", json!({"roomId": room, "text": "let me in"})),
            ("message/history", json!({"roomId": room})),
            ("message/markRead", json!({"roomId": room, "messageId": first})),
            ("room/members", json!({"roomId": room})),
            ("room/addMember", json!({"roomId": room, "userId": carol_id})),
            ("room/leave", json!({"roomId": room})),
            ("room/join", json!({"roomId": room})),
        ];
        for (channel, payload) in attempts {
            let reply = carol.call(channel, payload).await;
            assert_eq!(code(&reply), "forbidden", "carol {channel} in room {room}: {reply}");
        }
    }
    // Only the owner adds members, and nobody joins or leaves a direct room.
    assert_eq!(code(&bob.call("room/addMember", json!({"roomId": group, "userId": carol_id})).await), "forbidden");
    assert_eq!(code(&alice.call("room/addMember", json!({"roomId": direct, "userId": carol_id})).await), "forbidden");
    assert_eq!(code(&alice.call("room/leave", json!({"roomId": direct})).await), "forbidden");
    // A room Carol is not in never reaches her: her next message/new is from hers.
    alice.say(group, "carol must not see this").await;
    let hers = alice.say(with_carol, "hello carol").await;
    assert_eq!(carol.next("message/new").await["message"]["id"], hers);
    let rooms = carol.ok("room/list", json!({})).await;
    let listed: Vec<i64> =
        rooms["rooms"].as_array().unwrap().iter().map(|r| r["room"]["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, vec![with_carol]);
    running.stop().await;
}

async fn ownership_passes_on_when_the_owner_leaves(running: Running) {
    let mut made = users(&running, &["alice", "bob", "carol"]).await;
    let (carol_id, mut carol) = made.pop().unwrap();
    let (bob_id, mut bob) = made.pop().unwrap();
    let (alice_id, mut alice) = made.pop().unwrap();
    let group = group_room(&mut alice, "book club", &[bob_id]).await;
    alice.ok("room/addMember", json!({"roomId": group, "userId": carol_id})).await;
    accept(&mut bob, group).await;
    accept(&mut carol, group).await;
    let members = bob.ok("room/members", json!({"roomId": group})).await;
    let roles: Vec<(i64, String)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["userId"].as_i64().unwrap(), m["role"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        roles,
        vec![(alice_id, "owner".into()), (bob_id, "member".into()), (carol_id, "member".into())],
        "members in joining order"
    );
    alice.ok("room/leave", json!({"roomId": group})).await;
    assert_eq!(code(&alice.call("message/send", json!({"roomId": group, "text": "still here?"})).await), "forbidden");
    let members = carol.ok("room/members", json!({"roomId": group})).await;
    assert_eq!(members["members"][0]["userId"], bob_id, "{members}");
    assert_eq!(members["members"][0]["role"], "owner", "the longest-standing member owns the room now");
    // The new owner adds members; Alice can be brought back.
    bob.ok("room/addMember", json!({"roomId": group, "userId": alice_id})).await;
    assert_eq!(alice.call("room/members", json!({"roomId": group})).await["members"].as_array().unwrap().len(), 3);
    running.stop().await;
}

async fn concurrent_senders_are_seen_in_one_order(running: Running) {
    const SENDERS: usize = 4;
    const EACH: usize = 12;
    let mut made = users(&running, &["watcher", "s0", "s1", "s2", "s3"]).await;
    let senders: Vec<(i64, Device)> = made.split_off(1);
    let (_, mut watcher) = made.pop().unwrap();
    let sender_ids: Vec<i64> = senders.iter().map(|(id, _)| *id).collect();
    let room = group_room(&mut watcher, "busy", &sender_ids).await;
    let sending = senders.into_iter().map(|(_, mut device)| async move {
        for n in 0..EACH {
            device.say(room, &format!("message {n}")).await;
        }
        device
    });
    let mut senders = futures_util::future::join_all(sending).await;
    let mut seen = Vec::new();
    for _ in 0..SENDERS * EACH {
        seen.push(watcher.next("message/new").await["message"]["id"].as_i64().unwrap());
    }
    let stored: Vec<i64> = ids(&full_history(&mut watcher, room, 7).await).into_iter().rev().collect();
    assert_eq!(seen, stored, "pushed in the order stored");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    // Each sender sees the others' messages in that same order (minus its own).
    for device in &mut senders {
        let mut theirs = Vec::new();
        for _ in 0..(SENDERS - 1) * EACH {
            theirs.push(device.next("message/new").await["message"]["id"].as_i64().unwrap());
        }
        let expected: Vec<i64> = seen.iter().copied().filter(|id| theirs.contains(id)).collect();
        assert_eq!(theirs, expected);
    }
    running.stop().await;
}

async fn history_pages_are_exact_while_messages_arrive(running: Running) {
    let mut made = users(&running, &["alice", "bob"]).await;
    let (bob_id, mut bob) = made.pop().unwrap();
    let (_, mut alice) = made.pop().unwrap();
    let room = direct_room(&mut alice, bob_id).await;
    let mut before = Vec::new();
    for n in 0..45 {
        before.push(alice.say(room, &format!("old {n}")).await);
    }
    let default_page = bob.ok("message/history", json!({"roomId": room})).await;
    assert_eq!(default_page["messages"].as_array().unwrap().len(), 45, "limit defaults to 50");
    assert!(default_page.get("nextCursor").is_none(), "no page after the last: {default_page}");

    // Bob pages back, 7 at a time, while Alice keeps writing.
    let writing = async {
        for n in 0..20 {
            alice.say(room, &format!("new {n}")).await;
        }
    };
    let (paged, ()) = tokio::join!(full_history(&mut bob, room, 7), writing);
    let paged = ids(&paged);
    assert!(paged.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats: {paged:?}");
    let everything = ids(&full_history(&mut bob, room, 100).await);
    assert_eq!(everything.len(), 65);
    let top = everything.iter().position(|id| *id == paged[0]).expect("the first page's newest is stored");
    assert_eq!(paged, everything[top..], "no gaps below the first page");
    before.reverse();
    assert_eq!(paged[paged.len() - 45..], before[..], "every older message exactly once");

    for limit in [0, 101, -1] {
        let reply = bob.call("message/history", json!({"roomId": room, "limit": limit})).await;
        assert_eq!(code(&reply), "validation_failed", "limit {limit}: {reply}");
    }
    running.stop().await;
}

async fn unread_counts_and_read_receipts(running: Running) {
    let mut made = users(&running, &["alice", "bob"]).await;
    let (bob_id, mut bob) = made.pop().unwrap();
    let (_, mut alice) = made.pop().unwrap();
    let room = direct_room(&mut alice, bob_id).await;
    let other_room = group_room(&mut alice, "elsewhere", &[bob_id]).await;
    accept(&mut bob, room).await;
    let elsewhere = alice.say(other_room, "not in the direct room").await;
    let sent = [alice.say(room, "one").await, alice.say(room, "two").await, alice.say(room, "three").await];

    let summary = |list: &Value| {
        let rooms = list["rooms"].as_array().unwrap();
        let mine = rooms.iter().find(|r| r["room"]["id"] == room).expect("the direct room is listed").clone();
        (mine["unread"].as_i64().unwrap(), mine["lastMessage"]["text"].clone())
    };
    assert_eq!(summary(&bob.ok("room/list", json!({})).await), (3, json!("three")));
    let listed = bob.ok("room/list", json!({})).await;
    let status = |room: i64| {
        listed["rooms"].as_array().unwrap().iter().find(|r| r["room"]["id"] == room).unwrap()["status"].clone()
    };
    assert_eq!((status(room), status(other_room)), (json!("joined"), json!("invited")), "{listed}");
    assert_eq!(summary(&alice.ok("room/list", json!({})).await).0, 0, "one's own messages are read");

    bob.ok("message/markRead", json!({"roomId": room, "messageId": sent[1]})).await;
    let receipt = json!({"channel": "room/read", "roomId": room, "userId": bob_id, "messageId": sent[1]});
    assert_eq!(alice.next("room/read").await, receipt);
    assert_eq!(summary(&bob.ok("room/list", json!({})).await).0, 1);
    // Backwards, or a message of another room: the pointer stays, nobody is told.
    bob.ok("message/markRead", json!({"roomId": room, "messageId": sent[0]})).await;
    bob.ok("message/markRead", json!({"roomId": room, "messageId": elsewhere})).await;
    assert_eq!(summary(&bob.ok("room/list", json!({})).await).0, 1);
    bob.ok("message/markRead", json!({"roomId": room, "messageId": sent[2]})).await;
    assert_eq!(alice.next("room/read").await["messageId"], sent[2], "the earlier marks sent nothing");
    assert_eq!(summary(&bob.ok("room/list", json!({})).await).0, 0);
    running.stop().await;
}

async fn deleting_a_user_closes_its_sockets_and_keeps_its_messages(running: Running) {
    let (alice_id, alice_token) = user(&running, "alice").await;
    let (bob_id, bob_token) = user(&running, "bob").await;
    let mut admin_conn = Conn::open(&running).await;
    let (_, admin_token) = seeded_user(&running, &mut admin_conn, "admin@example.com", Role::Admin, None).await;
    let mut alice = Device::open(&running, &alice_token).await;
    let room = direct_room(&mut alice, bob_id).await;
    let mut bob = Device::open(&running, &bob_token).await;
    let mut bob_phone = Device::open(&running, &bob_token).await;
    let said = bob.say(room, "goodbye").await;

    let deleted = admin_conn.call("user/delete", Some(&admin_token), json!({"id": bob_id})).await;
    assert_eq!(code(&deleted), "ok", "{deleted}");
    assert_eq!(bob.close_code().await, Some(CloseCode::Policy));
    assert_eq!(bob_phone.close_code().await, Some(CloseCode::Policy));
    let came = alice.next("presence/changed").await;
    assert_eq!(came, json!({"channel": "presence/changed", "userId": bob_id, "online": true}));
    let gone = alice.next("presence/changed").await;
    assert_eq!(gone, json!({"channel": "presence/changed", "userId": bob_id, "online": false}));
    let members = alice.ok("room/members", json!({"roomId": room})).await;
    assert_eq!(members["members"].as_array().unwrap().len(), 1);
    assert_eq!(members["members"][0]["userId"], alice_id);
    let history = full_history(&mut alice, room, 50).await;
    assert_eq!(history[0]["id"], said);
    assert!(history[0].get("authorId").is_none(), "the author is gone: {}", history[0]);
    assert!(!running.app.hub().is_online(&bob_id.to_string()));
    running.stop().await;
}

/// A database made before migrations existed (`db init` applied the schema
/// file of the time: migration 1) with rows in it is migrated when the
/// server opens it: the rows stay, the old token still works, its members
/// count as joined, and what migration 2 added holds (a client id is per room).
async fn a_database_from_before_migrations_keeps_its_rows(mysql: bool) {
    let schema = if mysql {
        include_str!("../migrations/mysql/0001_initial.sql")
    } else {
        include_str!("../migrations/sqlite/0001_initial.sql")
    };
    let token_hash: String =
        specserve::security::tokens::hash("an-old-token").iter().map(|b| format!("{b:02x}")).collect();
    let blob = if mysql { format!("UNHEX('{token_hash}')") } else { format!("X'{token_hash}'") };
    let rows = format!(
        "INSERT INTO users (id, name, email, role, created_at, updated_at) VALUES
           (1, 'Alice', 'alice@example.com', 'user', '2025-01-01 00:00:00', '2025-01-01 00:00:00'),
           (2, 'Bob', 'bob@example.com', 'user', '2025-01-01 00:00:00', '2025-01-01 00:00:00');
         INSERT INTO api_tokens (id, user_id, token_hash, created_at, expires_at)
           VALUES (1, 1, {blob}, '2025-01-01 00:00:00', '2099-01-01 00:00:00');
         INSERT INTO rooms (id, kind, direct_key, created_by, created_at) VALUES (1, 'direct', '1:2', 1, '2025-01-01 00:00:00');
         INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES
           (1, 1, 'member', '2025-01-01 00:00:00'), (1, 2, 'member', '2025-01-01 00:00:00');
         INSERT INTO messages (id, room_id, author_id, client_msg_id, text, created_at)
           VALUES (1, 1, 1, 'm-1', 'from before', '2025-01-01 00:00:01');"
    );
    let Some(old) = db::from_before_migrations(mysql, &[schema, &rows]).await else { return };
    let running = app::start(old, test_config()).await;
    let mut alice = Device::open(&running, "an-old-token").await;
    let rooms = alice.ok("room/list", json!({})).await;
    assert_eq!(rooms["rooms"][0]["room"]["id"], 1, "{rooms}");
    assert_eq!(rooms["rooms"][0]["status"], "joined", "members from before were there by their own act");
    assert_eq!(rooms["rooms"][0]["lastMessage"]["text"], "from before");
    let again = alice.ok("message/send", json!({"roomId": 1, "text": "retry", "clientMsgId": "m-1"})).await;
    assert_eq!(again["messageId"], 1, "a retry of the old message is still the old message");
    let group = group_room(&mut alice, "after the upgrade", &[2]).await;
    let new = alice.ok("message/send", json!({"roomId": group, "text": "new", "clientMsgId": "m-1"})).await;
    assert_ne!(new["messageId"], 1, "the same client id in another room is another message");
    let members = alice.ok("room/members", json!({"roomId": 1})).await;
    assert_eq!(members["members"][1]["name"], "Bob", "{members}");
    running.stop().await;
}

#[tokio::test]
async fn a_database_from_before_migrations_keeps_its_rows_on_sqlite() {
    a_database_from_before_migrations_keeps_its_rows(false).await;
}

#[tokio::test]
async fn a_database_from_before_migrations_keeps_its_rows_on_mysql() {
    a_database_from_before_migrations_keeps_its_rows(true).await;
}

/// One connection's pipelined sends to one room are stored and pushed in
/// the order they were sent (`x-specserve-ordered`): 150 frames written
/// before any reply is read, interleaved with reads that run beside them.
async fn pipelined_sends_are_stored_and_pushed_in_the_order_sent(running: Running) {
    const SENDS: usize = 150;
    let mut made = users(&running, &["alice", "bob"]).await;
    let (bob_id, mut bob) = made.pop().unwrap();
    let (_, mut alice) = made.pop().unwrap();
    let room = direct_room(&mut alice, bob_id).await;
    accept(&mut bob, room).await;
    let mut frames = Vec::new();
    for n in 0..SENDS {
        let mut send = frame("message/send", Some(&alice.token), json!({"roomId": room, "text": format!("n{n}")}));
        send["requestId"] = json!(format!("p{n}"));
        frames.push(Message::text(send.to_string()));
        if n % 10 == 0 {
            let read = frame("message/history", Some(&alice.token), json!({"roomId": room, "limit": 1}));
            frames.push(Message::text(read.to_string()));
        }
    }
    let mut all = futures_util::stream::iter(frames.into_iter().map(Ok));
    alice.sink.send_all(&mut all).await.expect("pipelined");
    let mut replies = 0;
    while replies < SENDS {
        let frame = alice.read().await.expect("a reply");
        if frame["channel"] == "message/send" {
            assert_eq!(code(&frame), "ok", "{frame}");
            replies += 1;
        }
    }
    let texts = |messages: Vec<Value>| -> Vec<String> {
        messages.iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect()
    };
    let sent: Vec<String> = (0..SENDS).map(|n| format!("n{n}")).collect();
    let mut stored = texts(full_history(&mut bob, room, 100).await);
    stored.reverse();
    assert_eq!(stored, sent, "stored in the order sent");
    let mut pushed = Vec::new();
    for _ in 0..SENDS {
        pushed.push(bob.next("message/new").await["message"]["text"].as_str().unwrap().to_owned());
    }
    assert_eq!(pushed, sent, "pushed in the order sent");
    running.stop().await;
}

/// Putting someone in a room (opening a direct room, a group's members,
/// `room/addMember`) invites them: the reply is the same whether the user
/// exists or not; the invitee gets the room's messages, but until they
/// accept nobody sees their name or presence and no receipt comes from
/// them. Accepting (or writing in the room) shows them; declining leaves.
async fn an_invited_user_is_a_number_until_they_accept(running: Running) {
    let mut made = users(&running, &["alice", "bob", "carol"]).await;
    let (carol_id, mut carol) = made.pop().unwrap();
    let (bob_id, mut bob) = made.pop().unwrap();
    let (alice_id, mut alice) = made.pop().unwrap();
    let nobody = carol_id + 1_000;
    let shape = |reply: &Value| {
        let mut reply = reply.clone();
        reply["room"]["id"] = json!(0);
        reply["room"]["createdAt"] = json!("");
        reply["requestId"] = json!("");
        reply
    };
    let real = alice.call("room/create", json!({"otherUserId": bob_id})).await;
    let fake = alice.call("room/create", json!({"otherUserId": nobody})).await;
    assert_eq!(shape(&real), shape(&fake), "the same reply for a user that does not exist");
    let room = real["room"]["id"].as_i64().unwrap();
    let group = alice.call("room/create", json!({"name": "g", "memberIds": [carol_id, nobody]})).await;
    assert_eq!(code(&group), "ok", "{group}");
    let group = group["room"]["id"].as_i64().unwrap();
    assert_eq!(code(&alice.call("room/addMember", json!({"roomId": group, "userId": nobody})).await), "ok");
    assert_eq!(code(&alice.call("room/addMember", json!({"roomId": group, "userId": bob_id})).await), "ok");

    // Bob is online and invited: a number to Alice, with no presence.
    let members = alice.ok("room/members", json!({"roomId": room})).await;
    assert_eq!(
        members["members"],
        json!([
            {"userId": alice_id, "name": "alice@example.com", "role": "member", "status": "joined", "online": true},
            {"userId": bob_id, "role": "member", "status": "invited", "online": false}
        ])
    );
    let listed = alice.ok("presence/list", json!({"userIds": [bob_id]})).await;
    assert_eq!(listed["users"], json!([]), "{listed}");
    // He sees who invited him, and gets the room's messages...
    let his = bob.ok("room/members", json!({"roomId": room})).await;
    assert_eq!(his["members"][0]["name"], "alice@example.com", "{his}");
    let first = alice.say(room, "are you there?").await;
    assert_eq!(bob.next("message/new").await["message"]["id"], first);
    // ...but his connection taking it makes no receipt, nor does his reading.
    bob.ok("message/markRead", json!({"roomId": room, "messageId": first})).await;
    // Bob accepts: Alice hears he joined and is online, then hears receipts and reads.
    accept(&mut bob, room).await;
    let joined = alice.event().await;
    let expected = json!({"channel": "room/memberChanged", "roomId": room, "userId": bob_id, "name": "bob@example.com", "change": "joined"});
    assert_eq!(joined, expected, "nothing came before");
    let online = alice.event().await;
    assert_eq!(online, json!({"channel": "presence/changed", "userId": bob_id, "online": true}));
    let second = alice.say(room, "there you are").await;
    assert_eq!(alice.event().await, json!({"channel": "message/delivered", "roomId": room, "messageId": second}));
    let members = alice.ok("room/members", json!({"roomId": room})).await;
    assert_eq!(
        (&members["members"][1]["name"], &members["members"][1]["online"]),
        (&json!("bob@example.com"), &json!(true))
    );
    // Accepting twice is fine; a room one is not invited to is forbidden, existing or not.
    accept(&mut bob, room).await;
    assert_eq!(code(&carol.call("room/join", json!({"roomId": room})).await), "forbidden");
    assert_eq!(code(&carol.call("room/join", json!({"roomId": 999_999})).await), "forbidden");
    // Carol writes in the group she was invited to: that accepts it.
    carol.say(group, "hello group").await;
    let members = alice.ok("room/members", json!({"roomId": group})).await;
    let statuses: Vec<(i64, &str)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["userId"].as_i64().unwrap(), m["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [(alice_id, "joined"), (carol_id, "joined"), (bob_id, "invited")],
        "nobody for the unknown id"
    );
    // Bob declines the group: he leaves it and hears nothing more from it.
    bob.ok("room/leave", json!({"roomId": group})).await;
    let without = alice.say(group, "without bob").await;
    let marker = alice.say(room, "marker").await;
    let mut heard = Vec::new();
    while heard.last() != Some(&marker) {
        heard.push(bob.next("message/new").await["message"]["id"].as_i64().unwrap());
    }
    assert!(!heard.contains(&without), "the group's message after he left never came: {heard:?}");
    running.stop().await;
}

/// message/edit: the author's new text reaches every member's device but the
/// editing one and replaces the old in history; nobody else may edit it, and
/// a message that is not in the room is not found.
async fn an_author_edits_a_message_and_the_room_hears_it(running: Running) {
    let (alice_id, alice_token) = user(&running, "alice").await;
    let mut made = users(&running, &["bob", "carol"]).await;
    let (_, mut carol) = made.pop().unwrap();
    let (bob_id, mut bob) = made.pop().unwrap();
    let mut phone = Device::open(&running, &alice_token).await;
    let mut laptop = Device::open(&running, &alice_token).await;
    let room = direct_room(&mut phone, bob_id).await;
    accept(&mut bob, room).await;
    let id = phone.say(room, "helo").await;
    assert_eq!(bob.next("message/new").await["message"]["text"], "helo");

    let edit = json!({"roomId": room, "messageId": id, "text": "hello"});
    let reply = phone.ok("message/edit", edit.clone()).await;
    let edited_at = reply["editedAt"].as_str().expect("editedAt").to_owned();
    let edited =
        json!({"channel": "message/edited", "roomId": room, "messageId": id, "text": "hello", "editedAt": edited_at});
    assert_eq!(bob.next("message/edited").await, edited);
    assert_eq!(laptop.next("message/edited").await, edited, "the author's other device");
    let history = full_history(&mut bob, room, 50).await;
    assert_eq!((history.len(), &history[0]["text"], &history[0]["authorId"]), (1, &json!("hello"), &json!(alice_id)));

    // Bob may read it but not rewrite it; Carol is not in the room at all.
    let mut bobs = edit.clone();
    bobs["text"] = json!("rewritten by Bob");
    assert_eq!(code(&bob.call("message/edit", bobs.clone()).await), "forbidden");
    assert_eq!(code(&carol.call("message/edit", bobs).await), "forbidden");
    let elsewhere = group_room(&mut phone, "elsewhere", &[]).await;
    let mut moved = edit.clone();
    moved["roomId"] = json!(elsewhere);
    assert_eq!(code(&phone.call("message/edit", moved).await), "not_found", "another room's message");
    let mut unknown = edit.clone();
    unknown["messageId"] = json!(id + 1000);
    assert_eq!(code(&phone.call("message/edit", unknown).await), "not_found");
    for text in [json!(""), json!("x".repeat(4001)), json!("bell \u{7}")] {
        let mut bad = edit.clone();
        bad["text"] = text;
        assert_eq!(code(&phone.call("message/edit", bad).await), "validation_failed");
    }
    assert_eq!(full_history(&mut bob, room, 50).await[0]["text"], "hello", "refused edits changed nothing");

    // The editing device had the reply and no echo: its next event is Bob's marker.
    let marker = bob.say(room, "marker").await;
    let next = phone.next_of(&["message/edited", "message/new"]).await;
    assert_eq!(next["message"]["id"], marker, "{next}");
    running.stop().await;
}

/// Seed 004's `join`: a public room is found by name and joined by anyone,
/// its members hear who came and went; a private one is never listed and
/// joined by invitation only, with the same answer as a room that does not
/// exist.
async fn a_public_room_is_found_and_joined_by_anyone(running: Running) {
    let mut made = users(&running, &["alice", "bob"]).await;
    let (bob_id, mut bob) = made.pop().unwrap();
    let (alice_id, mut alice) = made.pop().unwrap();
    let created = alice.ok("room/create", json!({"name": "Rust users", "visibility": "public"})).await;
    assert_eq!((&created["room"]["visibility"], &created["room"]["history"]), (&json!("public"), &json!("all")));
    let public = created["room"]["id"].as_i64().unwrap();
    let secret = group_room(&mut alice, "Rust insiders", &[]).await;
    let odd = alice.ok("room/create", json!({"name": "100% Rust_!", "visibility": "public"})).await;
    let odd = odd["room"]["id"].as_i64().unwrap();

    // Found by any part of the name in any case; private rooms never.
    let found = bob.ok("room/discover", json!({"query": "RUST"})).await;
    let listed: Vec<(i64, i64, bool)> = found["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["room"]["id"].as_i64().unwrap(), r["members"].as_i64().unwrap(), r["joined"] == true))
        .collect();
    assert_eq!(listed, [(odd, 1, false), (public, 1, false)], "newest first, without {secret}");
    // Wildcards are plain characters: `%` and `_` match themselves only.
    for (query, expected) in [("%", vec![odd]), ("_", vec![odd]), ("t_!", vec![odd]), ("s%u", vec![])] {
        let found = bob.ok("room/discover", json!({"query": query})).await;
        let ids: Vec<i64> =
            found["rooms"].as_array().unwrap().iter().map(|r| r["room"]["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, expected, "query {query:?}");
    }
    let injection = bob.ok("room/discover", json!({"query": "' OR 1=1 --"})).await;
    assert_eq!(injection["rooms"], json!([]), "SQL in a query is text");
    // Pages: one at a time, the cursor leading to the next.
    let first = bob.ok("room/discover", json!({"query": "rust", "limit": 1})).await;
    assert_eq!((first["rooms"][0]["room"]["id"].as_i64(), first["nextCursor"].as_i64()), (Some(odd), Some(odd)));
    let second = bob.ok("room/discover", json!({"query": "rust", "limit": 1, "before": odd})).await;
    assert_eq!(second["rooms"][0]["room"]["id"].as_i64(), Some(public));
    assert!(second.get("nextCursor").is_none(), "the last page: {second}");

    // Bob joins: Alice hears who; he reads, writes, and is listed as joined.
    alice.say(public, "welcome").await;
    bob.ok("room/join", json!({"roomId": public})).await;
    let joined = alice.next("room/memberChanged").await;
    let expected = json!({"channel": "room/memberChanged", "roomId": public, "userId": bob_id, "name": "bob@example.com", "change": "joined"});
    assert_eq!(joined, expected);
    assert_eq!(ids(&full_history(&mut bob, public, 10).await).len(), 1, "the room's whole history");
    bob.ok("room/join", json!({"roomId": public})).await;
    let found = bob.ok("room/discover", json!({"query": "users"})).await;
    assert_eq!((&found["rooms"][0]["members"], &found["rooms"][0]["joined"]), (&json!(2), &json!(true)));
    let said = bob.say(public, "hello all").await;
    assert_eq!(alice.next("message/new").await["message"]["id"], said);
    // Bob leaves: Alice hears it, and he can no longer read.
    bob.ok("room/leave", json!({"roomId": public})).await;
    let left = alice.next("room/memberChanged").await;
    assert_eq!(left, json!({"channel": "room/memberChanged", "roomId": public, "userId": bob_id, "change": "left"}));
    assert_eq!(code(&bob.call("message/history", json!({"roomId": public})).await), "forbidden");

    // A private room, existing or not: the same refusal, and nothing listed.
    let refused = bob.call("room/join", json!({"roomId": secret})).await;
    let missing = bob.call("room/join", json!({"roomId": 999_999})).await;
    assert_eq!((code(&refused), &refused["error"]["message"]), (code(&missing), &missing["error"]["message"]));
    assert_eq!(code(&refused), "forbidden");
    assert_eq!(code(&bob.call("message/send", json!({"roomId": secret, "text": "let me in"})).await), "forbidden");
    let members = alice.ok("room/members", json!({"roomId": secret})).await;
    assert_eq!(members["members"].as_array().unwrap().len(), 1, "no one came in: {members}");
    assert!(!members.to_string().contains(&format!("\"userId\":{bob_id}")));
    let _ = alice_id;

    let cases = [
        (json!({"query": ""}), "an empty query"),
        (json!({"query": "x".repeat(101)}), "an oversized query"),
        (json!({"limit": 0}), "a zero limit"),
        (json!({"limit": 101}), "too large a limit"),
        (json!({"before": -1}), "a negative cursor"),
        (json!({"name": "x"}), "an unknown field"),
    ];
    for (payload, what) in cases {
        assert_eq!(code(&bob.call("room/discover", payload).await), "validation_failed", "{what}");
    }
    for payload in [
        json!({"otherUserId": alice_id, "visibility": "public"}),
        json!({"otherUserId": alice_id, "history": "sinceJoin"}),
        json!({"name": "x", "visibility": "everyone"}),
    ] {
        assert_eq!(code(&bob.call("room/create", payload.clone()).await), "validation_failed", "{payload}");
    }
    running.stop().await;
}

/// A `sinceJoin` room: a new member reads, counts and sees as last what came
/// after they became one; in an `all` room, everything.
async fn a_since_join_room_shows_a_new_member_what_came_after(running: Running) {
    let mut made = users(&running, &["alice", "bob", "carol"]).await;
    let (carol_id, mut carol) = made.pop().unwrap();
    let (_, mut bob) = made.pop().unwrap();
    let (_, mut alice) = made.pop().unwrap();
    let created =
        alice.ok("room/create", json!({"name": "news", "visibility": "public", "history": "sinceJoin"})).await;
    assert_eq!(created["room"]["history"], "sinceJoin");
    let room = created["room"]["id"].as_i64().unwrap();
    let before = [alice.say(room, "one").await, alice.say(room, "two").await];
    bob.ok("room/join", json!({"roomId": room})).await;
    // Invited after two more: Carol too reads from her invitation on.
    alice.ok("room/addMember", json!({"roomId": room, "userId": carol_id})).await;
    let after = alice.say(room, "three").await;
    assert_eq!(ids(&full_history(&mut bob, room, 1).await), [after]);
    assert_eq!(ids(&full_history(&mut carol, room, 10).await), [after]);
    assert_eq!(ids(&full_history(&mut alice, room, 10).await), [after, before[1], before[0]], "the owner, all");
    let listed = bob.ok("room/list", json!({})).await;
    let summary = &listed["rooms"][0];
    assert_eq!((&summary["unread"], &summary["lastMessage"]["id"]), (&json!(1), &json!(after)));
    // A message before one's joining stays unreadable through a cursor too.
    let page = bob.ok("message/history", json!({"roomId": room, "before": after})).await;
    assert_eq!(page["messages"], json!([]));
    running.stop().await;
}

/// Seeds 002 and 003 confirm a secured connection: a connection bound on its
/// upgrade hears first who the server believes it is and its limits; one
/// bound by a frame's token hears nothing unasked (a seed 000 client reads
/// replies only), and `auth/bind` answers the same facts.
async fn a_connection_bound_on_its_upgrade_is_welcomed(running: Running) {
    let (alice_id, alice_token) = user(&running, "alice").await;
    let bearer = format!("Bearer {alice_token}");
    let socket = net::raw(&running.server, "/ws", &[("Authorization", &bearer)]).await.expect("upgrade");
    let (_sink, mut stream) = socket.split();
    let first = match tokio::time::timeout(PATIENCE, stream.next()).await.expect("a frame in time") {
        Some(Ok(Message::Text(text))) => serde_json::from_str::<Value>(&text).expect("JSON"),
        other => panic!("expected the welcome, got {other:?}"),
    };
    assert_eq!(first["channel"], "session/welcome", "{first}");
    let session = &first["session"];
    assert_eq!((&session["userId"], &session["role"]), (&json!(alice_id), &json!("user")));
    // The limits are the server's own (the tests' generous frame rate included).
    let limits = json!({"maxMessageBytes": 65536, "framesPerSecond": 1e6, "frameBurst": 1e6, "eventQueue": 256});
    assert_eq!(session["limits"], limits);

    let mut device = Device::open(&running, &alice_token).await;
    let bound = device.ok("auth/bind", json!({})).await;
    assert_eq!(bound["session"], *session, "auth/bind answers the same facts");
    let sessions = device.ok("token/list", json!({})).await;
    let current = sessions["sessions"].as_array().unwrap().iter().find(|t| t["current"] == true).unwrap().clone();
    assert_eq!(current["tokenId"], session["tokenId"], "the session is the token it was bound through");
    // Bound by a frame: the next frame after a reply is the next reply.
    let mut conn = Conn::open(&running).await;
    let read = conn.send(frame("user/read", Some(&alice_token), json!({"id": alice_id}))).await;
    assert_eq!(code(&read), "ok", "{read}");
    let again = conn.send(frame("auth/bind", Some(&alice_token), json!({}))).await;
    assert_eq!(again["channel"], "auth/bind", "no welcome came in between: {again}");
    running.stop().await;
}

/// A dropped mobile connection loses nothing: reconnecting with the last
/// message id it saw, the client gets what it missed, oldest first, exactly
/// as `message/new` carried it; too much to catch up is a clear `resync`.
async fn a_reconnecting_client_catches_up_what_it_missed(running: Running) {
    let mut made = users(&running, &["alice", "bob", "carol"]).await;
    let (_, mut carol) = made.pop().unwrap();
    let (bob_id, mut bob) = made.pop().unwrap();
    let (_, mut alice) = made.pop().unwrap();
    let bob_token = bob.token.clone();
    let direct = direct_room(&mut alice, bob_id).await;
    accept(&mut bob, direct).await;
    let seen = alice.say(direct, "seen").await;
    assert_eq!(bob.next("message/new").await["message"]["id"], seen);
    // Bob's phone drops; meanwhile messages arrive in two of his rooms, and
    // in a room of Carol's he is not in.
    drop(bob);
    let hub = running.app.hub().clone();
    net::eventually("Bob goes offline", || !hub.is_online(&bob_id.to_string())).await;
    let group = group_room(&mut alice, "team", &[bob_id]).await;
    let mut missed = Vec::new();
    for (room, text) in [(direct, "one"), (group, "two"), (direct, "three")] {
        missed.push(alice.ok("message/send", json!({"roomId": room, "text": text})).await);
    }
    let elsewhere = group_room(&mut carol, "carol's", &[]).await;
    carol.say(elsewhere, "not for Bob").await;

    let mut phone = Device::open(&running, &bob_token).await;
    let caught = phone.ok("auth/bind", json!({"since": seen})).await;
    let texts: Vec<&str> =
        caught["missed"].as_array().unwrap().iter().map(|m| m["message"]["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["one", "two", "three"], "{caught}");
    assert_eq!(caught["resync"], false);
    let first = &caught["missed"][0]["message"];
    assert_eq!((&first["id"], &first["createdAt"]), (&missed[0]["messageId"], &missed[0]["createdAt"]));
    let newest = caught["missed"][2]["message"]["id"].as_i64().unwrap();
    let nothing = phone.ok("auth/bind", json!({"since": newest})).await;
    assert_eq!(nothing["missed"], json!([]), "up to date");
    assert!(phone.ok("auth/bind", json!({})).await.get("missed").is_none(), "no since, no catch-up");

    // More than 500 behind: no list, but the word to reload history.
    for n in 0..501 {
        alice.say(group, &format!("flood {n}")).await;
    }
    let behind = phone.ok("auth/bind", json!({"since": newest})).await;
    assert_eq!((&behind["resync"], &behind["missed"]), (&json!(true), &json!([])));
    for since in [json!(0), json!(-5), json!("12"), json!(1.5)] {
        let reply = phone.call("auth/bind", json!({"since": since})).await;
        assert_eq!(code(&reply), "validation_failed", "since {since}");
    }
    running.stop().await;
}

/// Seed 001's per-room socket, as its README's client uses it: connect to
/// `/room/<id>?token=...`, send `{"content"}`, read `NEW_MESSAGE`s of that
/// room only, never one's own; and the same messages on `/ws`.
async fn a_room_socket_carries_its_rooms_messages_only(running: Running) {
    let mut made = users(&running, &["alice", "bob", "carol"]).await;
    let (_, carol) = made.pop().unwrap();
    let (bob_id, mut bob) = made.pop().unwrap();
    let (alice_id, mut alice) = made.pop().unwrap();
    let room = direct_room(&mut alice, bob_id).await;
    accept(&mut bob, room).await;
    let other = group_room(&mut alice, "elsewhere", &[bob_id]).await;
    accept(&mut bob, other).await;
    let socket = |token: String, path: String| {
        let running = &running;
        async move {
            let path = format!("{path}?token={token}");
            let (sink, stream) = net::raw(&running.server, &path, &[]).await.expect("upgrade").split();
            (sink, stream)
        }
    };
    let next = async |stream: &mut futures_util::stream::SplitStream<net::Socket>| -> Value {
        loop {
            match tokio::time::timeout(PATIENCE, stream.next()).await.expect("a frame in time") {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("JSON"),
                Some(Ok(_)) => continue,
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    };
    let (mut bob_sink, mut bob_room) = socket(bob.token.clone(), format!("/room/{room}")).await;

    // Alice writes on /ws: Bob's room socket hears it, in the seed's shape.
    let said = alice.ok("message/send", json!({"roomId": room, "text": "hi Bob"})).await;
    let heard = next(&mut bob_room).await;
    let data =
        json!({"id": said["messageId"], "content": "hi Bob", "senderId": alice_id, "createdAt": said["createdAt"]});
    assert_eq!(heard, json!({"type": "NEW_MESSAGE", "data": data}));
    // Bob writes on the room socket: Alice hears it on /ws; Bob's own socket
    // does not (Alice's next message is the first thing it hears).
    bob_sink.send(Message::text(r#"{"content": "Hello!"}"#)).await.unwrap();
    let new = alice.next("message/new").await;
    assert_eq!((&new["message"]["text"], &new["message"]["authorId"]), (&json!("Hello!"), &json!(bob_id)));
    // Another room's message does not reach this room's socket.
    alice.say(other, "not here").await;
    let marker = alice.say(room, "marker").await;
    assert_eq!(
        next(&mut bob_room).await["data"]["id"],
        marker,
        "neither his own message nor another room's came first"
    );
    let history = full_history(&mut bob, room, 10).await;
    assert_eq!(history[1]["text"], "Hello!", "the room socket's messages are the room's");

    // Refusals answer with the error frame and keep the socket open.
    for (frame, expected) in [
        (r#"{"content": ""}"#, "validation_failed"),
        (r#"{"content": "x", "roomId": 1}"#, "validation_failed"),
        ("not json", "bad_request"),
    ] {
        bob_sink.send(Message::text(frame)).await.unwrap();
        assert_eq!(next(&mut bob_room).await["error"]["code"], expected, "{frame}");
    }
    // Not a member, a room that does not exist, a room spelled otherwise: alike.
    drop(carol);
    let (_, carol_token) = user(&running, "carol2").await;
    for (token, path) in [
        (carol_token.clone(), format!("/room/{room}")),
        (bob.token.clone(), "/room/999999".to_owned()),
        (bob.token.clone(), format!("/room/0{room}")),
    ] {
        let (mut sink, mut stream) = socket(token, path.clone()).await;
        sink.send(Message::text(r#"{"content": "let me in"}"#)).await.unwrap();
        assert_eq!(next(&mut stream).await["error"]["code"], "forbidden", "{path}");
    }
    // Without a token, or with a wrong one: unauthorized.
    for path in [format!("/room/{room}"), format!("/room/{room}?token=not-a-token")] {
        let (mut sink, mut stream) = net::raw(&running.server, &path, &[]).await.expect("upgrade").split();
        sink.send(Message::text(r#"{"content": "hi"}"#)).await.unwrap();
        assert_eq!(next(&mut stream).await["error"]["code"], "unauthorized", "{path}");
    }
    let _ = carol_token;
    running.stop().await;
}

/// Seed 002's broadcast: an announcement reaches every signed-in connection
/// but the posting one, never an anonymous socket; it is stored and paged;
/// only the operator's announcers post (admins by default).
async fn an_announcement_reaches_everyone_signed_in(running: Running) {
    let mut conn = Conn::open(&running).await;
    let (admin_id, admin_token) = seeded_user(&running, &mut conn, "root@example.com", Role::Admin, None).await;
    let mut admin = Device::open(&running, &admin_token).await;
    let mut made = users(&running, &["alice", "bob"]).await;
    let (_, mut bob) = made.pop().unwrap();
    let (_, mut alice) = made.pop().unwrap();
    let mut anonymous = Conn::open(&running).await;

    let posted = admin.ok("announcement/post", json!({"text": "restart at noon"})).await;
    let announcement = json!({
        "id": posted["announcementId"], "authorId": admin_id, "text": "restart at noon", "createdAt": posted["createdAt"]
    });
    for device in [&mut alice, &mut bob] {
        let heard = device.next("announcement/new").await;
        assert_eq!(heard, json!({"channel": "announcement/new", "announcement": announcement}));
    }
    // The anonymous socket's next frame is its own reply: no announcement came first.
    let reply = anonymous.send(frame("user/read", None, json!({"id": admin_id}))).await;
    assert_eq!((code(&reply), &reply["channel"]), ("unauthorized", &json!("user/read")), "{reply}");
    // Users other than the announcers are refused, and nothing is stored.
    let refused = alice.call("announcement/post", json!({"text": "me too"})).await;
    assert_eq!(code(&refused), "forbidden", "{refused}");
    for (payload, what) in
        [(json!({"text": ""}), "empty"), (json!({"text": "x".repeat(4001)}), "oversized"), (json!({}), "none")]
    {
        assert_eq!(code(&admin.call("announcement/post", payload).await), "validation_failed", "{what}");
    }
    // History, newest first, a page at a time.
    let second = admin.ok("announcement/post", json!({"text": "done"})).await["announcementId"].clone();
    let page = bob.ok("announcement/history", json!({"limit": 1})).await;
    assert_eq!((&page["announcements"][0]["id"], &page["nextCursor"]), (&second, &second));
    let rest = bob.ok("announcement/history", json!({"before": second})).await;
    assert_eq!(rest["announcements"], json!([announcement]));
    assert!(rest.get("nextCursor").is_none(), "{rest}");
    running.stop().await;
}

on_both_stores!(
    a_direct_room_is_one_per_pair,
    an_author_edits_a_message_and_the_room_hears_it,
    a_message_reaches_every_device_but_the_sending_one,
    a_retried_send_is_stored_and_pushed_once,
    only_members_read_or_write_a_room,
    ownership_passes_on_when_the_owner_leaves,
    concurrent_senders_are_seen_in_one_order,
    history_pages_are_exact_while_messages_arrive,
    unread_counts_and_read_receipts,
    deleting_a_user_closes_its_sockets_and_keeps_its_messages,
    pipelined_sends_are_stored_and_pushed_in_the_order_sent,
    an_invited_user_is_a_number_until_they_accept,
    a_public_room_is_found_and_joined_by_anyone,
    a_since_join_room_shows_a_new_member_what_came_after,
    a_connection_bound_on_its_upgrade_is_welcomed,
    a_reconnecting_client_catches_up_what_it_missed,
    a_room_socket_carries_its_rooms_messages_only,
    an_announcement_reaches_everyone_signed_in,
);

/// On a server of per-core workers, an event reaches every member's
/// connection, whichever worker accepted it. Enough members connect that
/// both workers hold some (the kernel spreads connections; checked on
/// `/metrics`), and each hears the message.
async fn a_message_reaches_members_on_every_worker(running: Running) {
    const MEMBERS: usize = 24;
    let mut made = Vec::new();
    for n in 0..MEMBERS {
        made.push(user(&running, &format!("member{n}")).await);
    }
    let before = net::accepted_per_worker(&running.server).await;
    let mut devices = Vec::new();
    for (id, token) in &made {
        devices.push((*id, Device::open(&running, token).await));
    }
    let after = net::accepted_per_worker(&running.server).await;
    // Besides the devices, only the second `/metrics` request was accepted.
    assert!(
        after.iter().zip(before).all(|(after, before)| after - before >= 2.0),
        "both workers accepted members' connections: {before:?} -> {after:?}"
    );
    let ids: Vec<i64> = made.iter().skip(1).map(|(id, _)| *id).collect();
    let (_, sender) = &mut devices[0];
    let room = group_room(sender, "everyone", &ids).await;
    let sent = sender.say(room, "to every worker").await;
    for (_, device) in devices.iter_mut().skip(1) {
        assert_eq!(device.next("message/new").await["message"]["id"], sent);
    }
    running.stop().await;
}

on_per_core_workers!(
    a_message_reaches_members_on_every_worker,
    a_message_reaches_every_device_but_the_sending_one,
    concurrent_senders_are_seen_in_one_order,
    history_pages_are_exact_while_messages_arrive,
    unread_counts_and_read_receipts,
    deleting_a_user_closes_its_sockets_and_keeps_its_messages,
);

/// Forwards one TCP connection until frozen; then holds both ends open and
/// silent, as a network that dropped the client without a FIN does.
struct Blackhole {
    addr: std::net::SocketAddr,
    freeze: tokio_util::sync::CancellationToken,
}

impl Blackhole {
    async fn to(target: std::net::SocketAddr) -> Blackhole {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let freeze = tokio_util::sync::CancellationToken::new();
        let frozen = freeze.clone();
        tokio::spawn(async move {
            let (mut client, _) = listener.accept().await.unwrap();
            let mut server = tokio::net::TcpStream::connect(target).await.unwrap();
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                () = frozen.cancelled() => {}
            }
            // Neither end hears anything again, nor a close.
            std::future::pending::<()>().await;
            drop((client, server));
        });
        Blackhole { addr, freeze }
    }
}

/// Presence: online with the first device, offline after the last, a killed
/// connection found by the ping timeout; told only to users who share a room.
async fn presence_follows_the_last_device(db: TestDb) {
    let running = app::start_with(db, test_config(), |server| {
        server.limits.ping_interval = Duration::from_millis(100);
        server.limits.pong_timeout = Duration::from_millis(300);
    })
    .await;
    let mut made = users(&running, &["alice", "carol"]).await;
    let (carol_id, mut carol) = made.pop().unwrap();
    let (alice_id, mut alice) = made.pop().unwrap();
    let (bob_id, bob_token) = user(&running, "bob").await;
    let room = direct_room(&mut alice, bob_id).await;
    let online = json!({"channel": "presence/changed", "userId": bob_id, "online": true});
    let offline = json!({"channel": "presence/changed", "userId": bob_id, "online": false});

    let mut desk = Device::open(&running, &bob_token).await;
    let listed = alice.ok("presence/list", json!({"userIds": [bob_id]})).await;
    assert_eq!(listed["users"], json!([]), "invited, Bob is not Alice's to see yet");
    accept(&mut desk, room).await;
    assert_eq!(alice.next("presence/changed").await, online, "told once he accepts, being online");
    let hole = Blackhole::to(running.server.local_addr()).await;
    let socket = net::raw_via(&running.server, hole.addr, "/", &[]).await.expect("upgrade through the proxy");
    let phone = Device::bind(socket, &bob_token).await;
    let listed = alice.ok("presence/list", json!({"userIds": [bob_id, carol_id, alice_id]})).await;
    assert_eq!(
        listed["users"],
        json!([{"userId": bob_id, "online": true}, {"userId": alice_id, "online": true}]),
        "Carol shares no room with Alice, so her status is not Alice's to see"
    );

    // The desk closes cleanly; the phone keeps Bob online.
    desk.close().await;
    let hub = running.app.hub().clone();
    let principal = bob_id.to_string();
    net::eventually("the desk's connection is gone", || hub.connections_of(&principal) == 1).await;
    assert_eq!(alice.ok("presence/list", json!({"userIds": [bob_id]})).await["users"][0]["online"], true);

    // The phone's network dies: no close, no FIN. The ping timeout finds it.
    hole.freeze.cancel();
    assert_eq!(alice.next("presence/changed").await, offline);
    assert_eq!(alice.ok("presence/list", json!({"userIds": [bob_id]})).await["users"][0]["online"], false);
    drop(phone);
    // Back again; had the desk's close said "offline" too, this would be that.
    let _desk = Device::open(&running, &bob_token).await;
    assert_eq!(alice.next("presence/changed").await, online);
    // Carol, who shares no room with Bob, heard none of it: her first
    // presence event is Alice's, once they share a room Alice accepted.
    let with_alice = direct_room(&mut carol, alice_id).await;
    accept(&mut alice, with_alice).await;
    let alice_online = json!({"channel": "presence/changed", "userId": alice_id, "online": true});
    assert_eq!(carol.next("presence/changed").await, alice_online);
    let (_, alice_token) = (alice_id, alice.token.clone());
    drop(alice);
    let alice_offline = json!({"channel": "presence/changed", "userId": alice_id, "online": false});
    assert_eq!(carol.next("presence/changed").await, alice_offline);
    let _alice = Device::open(&running, &alice_token).await;
    assert_eq!(carol.next("presence/changed").await["userId"], alice_id);
    running.stop().await;
}

#[tokio::test]
async fn presence_follows_the_last_device_on_sqlite() {
    presence_follows_the_last_device(db::sqlite().await).await;
}

#[tokio::test]
async fn presence_follows_the_last_device_on_mysql() {
    if let Some(db) = db::mysql().await {
        presence_follows_the_last_device(db).await;
    }
}

/// A member whose client stops reading is closed as a slow consumer (1008,
/// sent once it reads again); the sender and the server are not held up.
#[tokio::test]
async fn a_member_that_stops_reading_is_closed_not_waited_for() {
    let running = app::start_with(db::sqlite().await, test_config(), |server| {
        server.limits.event_queue = 4;
        server.limits.close_timeout = Duration::from_secs(30);
    })
    .await;
    let mut made = users(&running, &["alice"]).await;
    let (alice_id, mut alice) = made.pop().unwrap();
    let (bob_id, bob_token) = user(&running, "bob").await;
    let mut bob = Conn::open(&running).await;
    assert_eq!(code(&bob.call("auth/bind", Some(&bob_token), json!({})).await), "ok");
    let room = direct_room(&mut alice, bob_id).await;
    let big = MessageNew {
        message: ChatMessage {
            id: 1,
            room_id: room,
            author_id: Some(alice_id),
            text: "x".repeat(4000),
            created_at: "2025-05-22T10:00:00.000Z".into(),
            client_msg_id: None,
        },
    };
    // Bob reads nothing while far more is pushed than sockets buffer.
    let publisher = Publisher::new(running.app.hub().clone());
    let principal = bob_id.to_string();
    let metrics = running.server.metrics().clone();
    let closed = || net::metric(&metrics.render(), "specserve_closes_total{by=\"server\",code=\"1008\"}") == 1.0;
    let mut pushed = 0;
    while !closed() {
        publisher.message_new(Audience::principal(&principal), &big).expect("a valid event");
        pushed += 1;
        assert!(pushed < 100_000, "Bob was never closed");
        tokio::task::yield_now().await;
    }
    // Alice, on the same server, carries on meanwhile.
    alice.say(room, "still works").await;
    // Bob reads again: what was on the wire, then the close frame.
    loop {
        match bob.0.next().await {
            Some(Ok(Message::Text(_) | Message::Ping(_))) => continue,
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.map(|f| f.code), Some(CloseCode::Policy), "after {pushed} events");
                break;
            }
            other => panic!("expected the 1008 close frame, got {other:?}"),
        }
    }
    running.stop().await;
}

/// Events that find a connection's reply queue full wait in its lane, and
/// every one of them goes out, in order, once the client reads again: the
/// connection looks at its lane again when the queue has room, not only when
/// the lane wakes it.
#[tokio::test]
async fn events_wait_in_the_lane_while_the_queue_is_full_and_all_arrive_in_order() {
    const TEXT: usize = 4000;
    // More than both sockets' buffers can ever hold (the kernel's maxima),
    // so the server's writes must stop while events are still in the lane.
    let sysctl_max = |name: &str| -> usize {
        let text = std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}")).unwrap_or_default();
        text.split_whitespace().nth(2).and_then(|max| max.parse().ok()).unwrap_or(32 << 20)
    };
    let count = (sysctl_max("tcp_rmem") + sysctl_max("tcp_wmem")) / TEXT + 100;
    let running = app::start_with(db::sqlite().await, test_config(), |server| {
        server.limits.outbound_queue = 2;
        server.limits.event_queue = count;
        server.limits.send_timeout = Duration::from_secs(120);
    })
    .await;
    let (bob_id, bob_token) = user(&running, "bob").await;
    let mut bob = Conn::open(&running).await;
    assert_eq!(code(&bob.call("auth/bind", Some(&bob_token), json!({})).await), "ok");
    let event = |id| MessageNew {
        message: ChatMessage {
            id,
            room_id: 1,
            author_id: Some(bob_id),
            text: "x".repeat(TEXT),
            created_at: "2025-05-22T10:00:00.000Z".into(),
            client_msg_id: None,
        },
    };
    // Bob reads nothing while they are published.
    let publisher = Publisher::new(running.app.hub().clone());
    let principal = bob_id.to_string();
    for id in 1..=count as i64 {
        publisher.message_new(Audience::principal(&principal), &event(id)).expect("room in the lane");
    }
    let mut next = 1;
    while next <= count as i64 {
        match tokio::time::timeout(PATIENCE, bob.0.next()).await.expect("the next event in time") {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["channel"] != "message/new" {
                    continue; // presence of Bob's own binding
                }
                assert_eq!(frame["message"]["id"], next, "events in the order published");
                next += 1;
            }
            Some(Ok(Message::Ping(_))) => continue,
            other => panic!("expected event {next} of {count}, got {other:?}"),
        }
    }
    running.stop().await;
}

/// In debug builds (and so in tests) an event that breaks its schema is
/// refused before it leaves: the publisher cannot send what the spec forbids.
#[tokio::test]
async fn an_event_that_breaks_its_schema_is_not_sent() {
    let running = app::start(db::sqlite().await, test_config()).await;
    let mut made = users(&running, &["alice"]).await;
    let (alice_id, mut alice) = made.pop().unwrap();
    let publisher = Publisher::new(running.app.hub().clone());
    let broken = MessageNew {
        message: ChatMessage {
            id: 1,
            room_id: 1,
            author_id: Some(alice_id),
            text: String::new(),
            created_at: "2025-05-22T10:00:00.000Z".into(),
            client_msg_id: None,
        },
    };
    let refused = publisher.message_new(Audience::everyone(), &broken).expect_err("minLength 1");
    assert_eq!(refused.code().as_str(), "internal", "{refused:?}");
    // What did go out afterwards is the next thing the client reads.
    let valid = MessageNew { message: ChatMessage { text: "ok".into(), ..broken.message } };
    publisher.message_new(Audience::everyone(), &valid).unwrap();
    assert_eq!(alice.next("message/new").await["message"]["text"], "ok");
    running.stop().await;
}

/// The generated Rust client: typed calls, and pushed events as a typed stream.
#[tokio::test]
async fn the_typed_client_receives_typed_events() {
    let running = app::start(db::sqlite().await, test_config()).await;
    let (alice_id, alice_token) = user(&running, "alice").await;
    let (bob_id, bob_token) = user(&running, "bob").await;
    let connect = || async {
        let options = ClientOptions::pinned(&running.server.fingerprint().unwrap());
        Client::connect_with(&running.server.url(), options).await.expect("client connects")
    };
    let (alice, bob) = (connect().await, connect().await);
    alice.set_token(Some(alice_token));
    bob.set_token(Some(bob_token));
    assert_eq!(bob.auth_bind(&AuthBindPayload { since: None }).await.unwrap().user_id, bob_id);
    let room = alice
        .room_create(&RoomCreatePayload {
            other_user_id: Some(bob_id),
            name: None,
            member_ids: None,
            visibility: None,
            history: None,
        })
        .await
        .unwrap()
        .room;
    bob.room_join(&RoomRef { room_id: room.id }).await.unwrap();
    match tokio::time::timeout(PATIENCE, alice.next_event()).await.expect("the join in time") {
        Some(Ok(Event::RoomMemberChanged(joined))) => {
            assert_eq!((joined.room_id, joined.user_id, joined.change), (room.id, bob_id, MembershipChange::Joined));
        }
        other => panic!("expected room/memberChanged, got {other:?}"),
    }
    match tokio::time::timeout(PATIENCE, alice.next_event()).await.expect("presence in time") {
        Some(Ok(Event::PresenceChanged(presence))) => assert_eq!((presence.user_id, presence.online), (bob_id, true)),
        other => panic!("expected presence/changed, got {other:?}"),
    }
    let sent = alice
        .message_send(&MessageSendPayload { room_id: room.id, text: "typed".into(), client_msg_id: None })
        .await
        .unwrap();
    let mut events = std::pin::pin!(bob.events());
    let event = tokio::time::timeout(PATIENCE, events.next()).await.expect("an event in time");
    match event {
        Some(Ok(Event::MessageNew(new))) => {
            assert_eq!(
                (new.message.id, new.message.author_id, new.message.text.as_str()),
                (sent.message_id, Some(alice_id), "typed")
            );
        }
        other => panic!("expected message/new, got {other:?}"),
    }
    match tokio::time::timeout(PATIENCE, alice.next_event()).await.expect("a receipt in time") {
        Some(Ok(Event::MessageDelivered(receipt))) => assert_eq!(receipt.message_id, sent.message_id),
        other => panic!("expected message/delivered, got {other:?}"),
    }
    running.stop().await;
}

/// The hub keeps no entry for a closed connection: members who come and go
/// leave nothing behind (presence and fan-out stay exact over time).
#[tokio::test]
async fn connections_that_close_leave_nothing_in_the_hub() {
    let running = app::start(db::sqlite().await, test_config()).await;
    let (bob_id, bob_token) = user(&running, "bob").await;
    let principal = bob_id.to_string();
    for _ in 0..5 {
        let device = Device::open(&running, &bob_token).await;
        assert_eq!(running.app.hub().connections_of(&principal), 1);
        device.close().await;
        let hub = running.app.hub().clone();
        net::eventually("the connection leaves the hub", || !hub.is_online(&principal)).await;
    }
    assert_eq!(running.app.hub().connections_of(&principal), 0);
    running.stop().await;
}

/// With `--announcers everyone`, any user broadcasts (seed 002's `message`).
#[tokio::test]
async fn with_everyone_as_announcers_any_user_broadcasts() {
    let config =
        specserve::handlers::AppConfig { announcers: specserve::handlers::Announcers::Everyone, ..test_config() };
    let running = app::start(db::sqlite().await, config).await;
    let mut made = users(&running, &["alice", "bob"]).await;
    let (_, mut bob) = made.pop().unwrap();
    let (alice_id, mut alice) = made.pop().unwrap();
    alice.ok("announcement/post", json!({"text": "hello, everyone"})).await;
    let heard = bob.next("announcement/new").await;
    assert_eq!(
        (&heard["announcement"]["authorId"], &heard["announcement"]["text"]),
        (&json!(alice_id), &json!("hello, everyone"))
    );
    running.stop().await;
}
