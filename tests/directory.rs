//! Who may see whom, under each `--user-visibility`: the directory
//! (`user/directory`), the online list (`presence/online`), `presence/list`,
//! `room/members`' online flags and who hears `presence/changed` — seed 001's
//! `/users` and seed 002's `user_list`. Each policy runs on SQLite, and on
//! MySQL/MariaDB when the test server is set.
//!
//! The cast: Alice; Bob and Erin, her contacts (they share a room, all
//! joined); Carol, a stranger; and `Pct%_x`, a stranger whose name holds
//! `LIKE`'s wildcards. Every one of them is online.

#[macro_use]
mod common;

use common::app::{self, Running, test_config};
use common::db::{self, TestDb};
use common::device::{Device, accept, group_room, user};
use common::frames::code;
use common::net;
use serde_json::{Value, json};
use specserve::handlers::AppConfig;
use specserve::presence::Visibility;

/// The cast, each with one bound device.
struct Cast {
    alice: (i64, Device),
    bob: (i64, Device),
    erin: (i64, Device),
    carol: (i64, Device),
    odd: (i64, Device),
}

async fn cast(running: &Running) -> Cast {
    let open = async |name: &str| {
        let (id, token) = user(running, name).await;
        (id, Device::open(running, &token).await)
    };
    let mut cast = Cast {
        alice: open("alice").await,
        bob: open("bob").await,
        erin: open("erin").await,
        carol: open("carol").await,
        odd: open("pct%_x").await,
    };
    let room = group_room(&mut cast.alice.1, "friends", &[cast.bob.0, cast.erin.0]).await;
    accept(&mut cast.bob.1, room).await;
    accept(&mut cast.erin.1, room).await;
    cast
}

fn ids(list: &Value, field: &str) -> Vec<i64> {
    list[field].as_array().expect(field).iter().map(|u| u["userId"].as_i64().expect("userId")).collect()
}

async fn under(visibility: Visibility, db: TestDb) {
    let running = app::start(db, AppConfig { visibility, ..test_config() }).await;
    let mut cast = cast(&running).await;
    let (alice, bob, erin, carol, odd) = (cast.alice.0, cast.bob.0, cast.erin.0, cast.carol.0, cast.odd.0);
    let (everyone, contacts, herself) = (vec![alice, bob, erin, carol, odd], vec![alice, bob, erin], vec![alice]);
    let expected = match visibility {
        Visibility::All => &everyone,
        Visibility::Contacts => &contacts,
        Visibility::Nobody => &herself,
    };
    let me = &mut cast.alice.1;

    // The directory and the online list show the same people, by id.
    let directory = me.ok("user/directory", json!({})).await;
    assert_eq!(&ids(&directory, "users"), expected, "{visibility}: {directory}");
    assert!(directory["users"].as_array().unwrap().iter().all(|u| u["online"] == true), "{directory}");
    assert_eq!(directory["users"][0]["name"], "alice@example.com");
    let online = me.ok("presence/online", json!({})).await;
    assert_eq!((&ids(&online, "users"), &online["truncated"]), (expected, &json!(false)), "{online}");
    let asked = me.ok("presence/list", json!({"userIds": [bob, carol, 999_999]})).await;
    let answered: Vec<i64> = expected.iter().copied().filter(|id| [bob, carol].contains(id)).collect();
    assert_eq!(ids(&asked, "users"), answered, "{visibility}: an unknown id is left out like a hidden one");

    // Searching: any part of the name, any case; wildcards are plain characters.
    let found = me.ok("user/directory", json!({"query": "ROL@"})).await;
    let carol_if_seen: Vec<i64> = expected.iter().copied().filter(|id| *id == carol).collect();
    assert_eq!(ids(&found, "users"), carol_if_seen);
    for query in ["%", "_", "%_"] {
        let found = me.ok("user/directory", json!({"query": query})).await;
        let odd_if_seen: Vec<i64> = expected.iter().copied().filter(|id| *id == odd).collect();
        assert_eq!(ids(&found, "users"), odd_if_seen, "query {query:?}");
    }
    let injected = me.ok("user/directory", json!({"query": "' OR '1'='1"})).await;
    assert_eq!(injected["users"], json!([]), "SQL in a query is text");
    // Pages of one, following the cursor, list the same people.
    let (mut paged, mut after) = (Vec::new(), json!(null));
    loop {
        let mut request = json!({"limit": 1});
        if !after.is_null() {
            request["after"] = after.clone();
        }
        let page = me.ok("user/directory", request).await;
        paged.extend(ids(&page, "users"));
        after = page.get("nextCursor").cloned().unwrap_or(Value::Null);
        if after.is_null() {
            break;
        }
    }
    assert_eq!(&paged, expected);

    // room/members: a contact's presence shows unless the policy hides everyone.
    let room = me.ok("room/list", json!({})).await["rooms"][0]["room"]["id"].as_i64().unwrap();
    let members = me.ok("room/members", json!({"roomId": room})).await;
    let bob_online =
        members["members"].as_array().unwrap().iter().find(|m| m["userId"] == bob).unwrap()["online"].clone();
    assert_eq!(bob_online, json!(visibility != Visibility::Nobody), "{members}");

    // Who hears a user go: Carol (a stranger), then Erin (a contact), leave;
    // Bob's message is the marker: what Alice heard before it is all she hears.
    let said = cast.bob.1.say(room, "before").await;
    while me.next("message/new").await["message"]["id"] != said {}
    for (gone, device) in [(carol, cast.carol.1), (erin, cast.erin.1)] {
        drop(device);
        let hub = running.app.hub().clone();
        net::eventually("the user goes offline", || !hub.is_online(&gone.to_string())).await;
    }
    let marker = cast.bob.1.say(room, "after").await;
    let mut heard = Vec::new();
    loop {
        let event = me.next_of(&["presence/changed", "message/new"]).await;
        if event["channel"] == "message/new" {
            assert_eq!(event["message"]["id"], marker);
            break;
        }
        assert_eq!(event["online"], false, "{event}");
        heard.push(event["userId"].as_i64().unwrap());
    }
    let told = match visibility {
        Visibility::All => vec![carol, erin],
        Visibility::Contacts => vec![erin],
        Visibility::Nobody => vec![],
    };
    assert_eq!(heard, told, "{visibility}");

    // Bad queries are refused by the schema, before the store is asked.
    let cases = [
        (json!({"query": ""}), "an empty query"),
        (json!({"query": "x".repeat(101)}), "an oversized query"),
        (json!({"limit": 0}), "a zero limit"),
        (json!({"limit": 101}), "too large a limit"),
        (json!({"after": -1}), "a negative cursor"),
        (json!({"userId": 1}), "an unknown field"),
    ];
    for (payload, what) in cases {
        assert_eq!(code(&me.call("user/directory", payload).await), "validation_failed", "{what}");
    }
    assert_eq!(code(&me.call("presence/online", json!({"all": true})).await), "validation_failed");
    running.stop().await;
}

async fn everyone_sees_everyone_under_all(db: TestDb) {
    under(Visibility::All, db).await;
}

async fn contacts_see_each_other_by_default(db: TestDb) {
    assert_eq!(AppConfig::default().visibility, Visibility::Contacts);
    under(Visibility::Contacts, db).await;
}

async fn nobody_sees_anybody_under_none(db: TestDb) {
    under(Visibility::Nobody, db).await;
}

on_both_databases!(
    everyone_sees_everyone_under_all,
    contacts_see_each_other_by_default,
    nobody_sees_anybody_under_none
);

/// A client token (a program, not a person) has no directory: the operation
/// needs a user's own login.
#[tokio::test]
async fn the_directory_needs_a_login_not_anonymity() {
    let running = app::start(db::sqlite().await, test_config()).await;
    let mut anonymous = common::frames::Conn::open(&running).await;
    let reply = anonymous.send(common::frames::frame("user/directory", None, json!({}))).await;
    assert_eq!(code(&reply), "unauthorized", "{reply}");
    let reply = anonymous.send(common::frames::frame("user/directory", Some("not-a-token"), json!({}))).await;
    assert_eq!(code(&reply), "unauthorized", "{reply}");
    running.stop().await;
}

/// Searching is rate limited per user, the directory and room discovery
/// alike (`--searches-per-minute`): a scraper is slowed down, and another
/// user is not.
#[tokio::test]
async fn searches_are_rate_limited_per_user() {
    let config = AppConfig { searches_per_minute: 3.0, ..test_config() };
    let running = app::start(db::sqlite().await, config).await;
    let (_, alice_token) = user(&running, "alice").await;
    let (_, bob_token) = user(&running, "bob").await;
    let mut alice = Device::open(&running, &alice_token).await;
    let mut bob = Device::open(&running, &bob_token).await;
    // 3 a minute: a burst of 1.
    alice.ok("user/directory", json!({})).await;
    assert_eq!(code(&alice.call("room/discover", json!({})).await), "rate_limited");
    assert_eq!(code(&alice.call("user/directory", json!({"query": "b"})).await), "rate_limited");
    bob.ok("room/discover", json!({})).await;
    assert!(running.audit.text().contains("rate_limited"), "refusals are audited");
    running.stop().await;
}
