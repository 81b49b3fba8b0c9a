//! The user API end to end: store-backed handlers behind the real TLS server,
//! driven with raw JSON frames the way a seed-000 client sends them. The core
//! cases run on SQLite always and on MySQL/MariaDB when the test server is set.

#[macro_use]
mod common;

use common::app::{self, Running, test_config};
use common::db;
use common::frames::{Conn, code, seeded_user};
use futures_util::StreamExt;
use serde_json::{Value, json};
use specserve::api::Role;
use specserve::store::{NewToken, now_utc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A reply carries exactly the seed README's body plus at most `channel` and `requestId`.
fn assert_seed_body(reply: &Value, seed: Value) {
    let reply = reply.as_object().unwrap();
    for (key, value) in seed.as_object().unwrap() {
        assert_eq!(reply.get(key), Some(value), "{key} in {reply:?}");
    }
    for key in reply.keys() {
        assert!(seed.get(key).is_some() || key == "channel" || key == "requestId", "unexpected {key} in {reply:?}");
    }
}

async fn seed_readme_flow_works_unchanged(running: Running) {
    let mut conn = Conn::open(&running).await;
    let register = r#"{"channel":"auth/register","payload":{"name":"Alice","email":"alice@example.com","password":"SecretPass123"}}"#;
    let reply = conn.send_text(register.into()).await;
    assert_seed_body(&reply, json!({"success": true, "userId": 1}));
    let login =
        r#"{"channel":"auth/generateToken","payload":{"email":"alice@example.com","password":"SecretPass123"}}"#;
    let reply = conn.send_text(login.into()).await;
    let token = reply["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43, "32 random bytes, base64url");
    let expires = reply["expires_at"].as_str().unwrap();
    assert!(expires.ends_with('Z') && expires.len() == "2025-05-22T10:00:00.000Z".len(), "{expires}");
    assert_seed_body(&reply, json!({"success": true, "token": token, "expires_at": expires}));
    let create = format!(
        r#"{{"channel":"user/create","apiToken":"{token}","payload":{{"name":"Bob","email":"bob@example.com"}}}}"#
    );
    assert_seed_body(&conn.send_text(create).await, json!({"success": true, "userId": 2}));
    let read = format!(r#"{{"channel":"user/read","apiToken":"{token}","payload":{{"id":2}}}}"#);
    let reply = conn.send_text(read.clone()).await;
    let created_at = reply["created_at"].clone();
    assert_seed_body(
        &reply,
        json!({"id": 2, "name": "Bob", "email": "bob@example.com", "created_at": created_at, "role": "user"}),
    );
    let update = format!(
        r#"{{"channel":"user/update","apiToken":"{token}","payload":{{"id":2,"name":"Bobby","email":"bobby@example.com"}}}}"#
    );
    assert_seed_body(&conn.send_text(update).await, json!({"success": true}));
    assert_eq!(conn.send_text(read.clone()).await["name"], "Bobby");
    let delete = format!(r#"{{"channel":"user/delete","apiToken":"{token}","payload":{{"id":2}}}}"#);
    assert_seed_body(&conn.send_text(delete).await, json!({"success": true}));
    assert_eq!(code(&conn.send_text(read).await), "forbidden", "Bob is gone and no longer Alice's");
    running.stop().await;
}

async fn authorization_matrix(running: Running) {
    let mut conn = Conn::open(&running).await;
    let (_, admin) = seeded_user(&running, &mut conn, "admin@example.com", Role::Admin, None).await;
    let (manager_id, manager) = seeded_user(&running, &mut conn, "manager@example.com", Role::User, None).await;
    let (_, stranger) = seeded_user(&running, &mut conn, "stranger@example.com", Role::User, None).await;
    // Each route against a fresh target managed by `manager`, as each actor.
    for route in ["user/read", "user/update", "user/delete"] {
        let mut target_n = 0;
        for (actor, expected) in
            [("admin", "ok"), ("self", "ok"), ("manager", "ok"), ("stranger", "forbidden"), ("none", "unauthorized")]
        {
            target_n += 1;
            let email = format!("{}-{target_n}@example.com", route.replace('/', "-"));
            let (target_id, target_token) =
                seeded_user(&running, &mut conn, &email, Role::User, Some(manager_id)).await;
            let token = match actor {
                "admin" => Some(admin.as_str()),
                "self" => Some(target_token.as_str()),
                "manager" => Some(manager.as_str()),
                "stranger" => Some(stranger.as_str()),
                _ => None,
            };
            let payload = match route {
                "user/update" => json!({"id": target_id, "name": "Renamed"}),
                _ => json!({"id": target_id}),
            };
            // A connection per case: deleting a user closes every connection it used.
            let reply = Conn::open(&running).await.call(route, token, payload).await;
            assert_eq!(code(&reply), expected, "{actor} on {route}: {reply}");
        }
    }
    for (actor, token, expected) in
        [("admin", Some(&admin), "ok"), ("user", Some(&stranger), "ok"), ("none", None, "unauthorized")]
    {
        let email = format!("created-by-{actor}@example.com");
        let reply = conn.call("user/create", token.map(String::as_str), json!({"name": "N", "email": email})).await;
        assert_eq!(code(&reply), expected, "{actor} on user/create: {reply}");
    }
    let reply = conn
        .call("user/create", Some(&stranger), json!({"name": "N", "email": "r@example.com", "role": "admin"}))
        .await;
    assert_eq!(code(&reply), "forbidden", "only admins set roles");
    let reply =
        conn.call("user/create", Some(&admin), json!({"name": "N", "email": "r2@example.com", "role": "admin"})).await;
    assert_eq!(code(&reply), "ok");
    let (self_id, self_token) = seeded_user(&running, &mut conn, "climber@example.com", Role::User, None).await;
    let reply = conn.call("user/update", Some(&self_token), json!({"id": self_id, "role": "admin"})).await;
    assert_eq!(code(&reply), "forbidden", "users cannot promote themselves");
    assert_eq!(code(&conn.call("auth/logout", None, json!({})).await), "unauthorized");
    assert_eq!(code(&conn.call("auth/logout", Some(&stranger), json!({})).await), "ok");
    let missing = conn.call("user/read", Some(&admin), json!({"id": 999_999})).await;
    assert_eq!(code(&missing), "not_found", "admins learn that an id does not exist");
    let probe = conn.call("user/read", Some(&manager), json!({"id": 999_999})).await;
    assert_eq!(code(&probe), "forbidden", "others cannot probe ids");
    assert!(running.audit.text().contains("\"event\":\"authorization_denied\""));
    running.stop().await;
}

async fn concurrent_registrations_of_one_email_succeed_once(running: Running) {
    let mut conns = Vec::new();
    for _ in 0..20 {
        conns.push(Conn::open(&running).await);
    }
    let attempts = conns.iter_mut().map(|conn| async move {
        conn.call(
            "auth/register",
            None,
            json!({"name": "Racer", "email": "race@example.com", "password": "SecretPass123"}),
        )
        .await
    });
    let replies = futures_util::future::join_all(attempts).await;
    let codes: Vec<&str> = replies.iter().map(code).collect();
    assert_eq!(codes.iter().filter(|c| **c == "ok").count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "conflict").count(), 19, "{codes:?}");
    running.stop().await;
}

on_both_stores!(
    seed_readme_flow_works_unchanged,
    authorization_matrix,
    concurrent_registrations_of_one_email_succeed_once
);

async fn sqlite_app() -> Running {
    app::start(db::sqlite().await, test_config()).await
}

#[tokio::test]
async fn bad_frames_get_clear_errors_and_lose_nothing() {
    let running = sqlite_app().await;
    let mut conn = Conn::open(&running).await;
    let alice = conn.register("Alice", "alice@example.com", "SecretPass123").await;
    let token = conn.login("alice@example.com", "SecretPass123").await;
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        ("{oops".into(), "bad_request", None),
        (json!({"channel": "user/teleport", "payload": {}}).to_string(), "unknown_channel", None),
        (json!({"channel": "user/read", "payload": {"id": alice}}).to_string(), "unauthorized", None),
        (json!({"channel": "user/read", "apiToken": "garbage", "payload": {"id": alice}}).to_string(), "unauthorized", None),
        (json!({"channel": "user/read", "apiToken": token, "payload": {"id": "1"}}).to_string(), "validation_failed", Some("/payload/id")),
        (json!({"channel": "user/read", "apiToken": token, "payload": {"id": 1, "x": 1}}).to_string(), "validation_failed", Some("/payload")),
        (json!({"channel": "auth/register", "payload": {"name": "E", "email": "nope", "password": "SecretPass123"}}).to_string(), "validation_failed", Some("/payload/email")),
        (json!({"channel": "auth/register", "payload": {"name": "E", "email": "e@example.com", "password": "short"}}).to_string(), "validation_failed", Some("/payload/password")),
        (json!({"channel": "auth/register", "payload": {"name": "", "email": "e@example.com", "password": "SecretPass123"}}).to_string(), "validation_failed", Some("/payload/name")),
        (json!({"channel": "auth/register", "payload": {"name": "Dup", "email": "ALICE@example.com", "password": "SecretPass123"}}).to_string(), "conflict", None),
    ];
    for (frame, expected, pointer) in cases {
        let reply = conn.send_text(frame.clone()).await;
        assert_eq!(code(&reply), expected, "{frame} -> {reply}");
        if let Some(pointer) = pointer {
            assert_eq!(reply["error"]["details"][0]["pointer"], pointer, "{reply}");
        }
    }
    // Nothing was lost: the account still works, and the short password was never echoed.
    assert_eq!(conn.call("user/read", Some(&token), json!({"id": alice})).await["email"], "alice@example.com");
    running.stop().await;
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused() {
    let running = sqlite_app().await;
    let mut conn = Conn::open(&running).await;
    let alice = conn.register("Alice", "alice@example.com", "SecretPass123").await;
    let now = now_utc();
    let expired = NewToken {
        user_id: alice,
        hash: specserve::security::tokens::hash("expired-token"),
        client_ip: None,
        user_agent: None,
        created_at: now - time::Duration::days(8),
        expires_at: now - time::Duration::seconds(1),
    };
    running.db.store().insert_token(expired).await.unwrap();
    assert_eq!(code(&conn.call("user/read", Some("expired-token"), json!({"id": alice})).await), "unauthorized");
    let token = conn.login("alice@example.com", "SecretPass123").await;
    assert_eq!(code(&conn.call("user/read", Some(&token), json!({"id": alice})).await), "ok");
    assert_eq!(code(&conn.call("auth/logout", Some(&token), json!({})).await), "ok");
    assert_eq!(code(&conn.call("user/read", Some(&token), json!({"id": alice})).await), "unauthorized", "logged out");
    running.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let running = sqlite_app().await;
    let mut conn = Conn::open(&running).await;
    conn.register("Alice", "alice@example.com", "SecretPass123").await;
    let wrong =
        conn.call("auth/generateToken", None, json!({"email": "alice@example.com", "password": "WrongPass123"})).await;
    let unknown =
        conn.call("auth/generateToken", None, json!({"email": "nobody@example.com", "password": "WrongPass123"})).await;
    assert_eq!(wrong, unknown);
    assert_eq!(code(&wrong), "unauthorized");
    running.stop().await;
}

#[tokio::test]
async fn deleting_a_user_rejects_its_token_and_closes_its_connections() {
    let running = sqlite_app().await;
    let mut alice_conn = Conn::open(&running).await;
    alice_conn.register("Alice", "alice@example.com", "SecretPass123").await;
    let alice = alice_conn.login("alice@example.com", "SecretPass123").await;
    let bob_id = alice_conn
        .call(
            "user/create",
            Some(&alice),
            json!({"name": "Bob", "email": "bob@example.com", "password": "BobPass1234"}),
        )
        .await["userId"]
        .as_i64()
        .unwrap();
    let mut bob_conn = Conn::open(&running).await;
    let bob = bob_conn.login("bob@example.com", "BobPass1234").await;
    assert_eq!(code(&bob_conn.call("user/read", Some(&bob), json!({"id": bob_id})).await), "ok");
    assert_eq!(code(&alice_conn.call("user/delete", Some(&alice), json!({"id": bob_id})).await), "ok");
    // Bob's open socket is closed by the server...
    let closed = loop {
        match bob_conn.0.next().await {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed, Some(CloseCode::Policy));
    // ...and his token is refused on the very next frame, anywhere.
    let mut again = Conn::open(&running).await;
    assert_eq!(code(&again.call("user/read", Some(&bob), json!({"id": bob_id})).await), "unauthorized");
    running.stop().await;
}

#[tokio::test]
async fn a_password_change_revokes_the_users_other_tokens() {
    let running = sqlite_app().await;
    let mut conn = Conn::open(&running).await;
    let alice = conn.register("Alice", "alice@example.com", "SecretPass123").await;
    let first = conn.login("alice@example.com", "SecretPass123").await;
    let second = conn.login("alice@example.com", "SecretPass123").await;
    assert_ne!(first, second, "a new token per login");
    assert_eq!(code(&conn.call("user/read", Some(&second), json!({"id": alice})).await), "ok", "cached now");
    let change = conn.call("user/update", Some(&first), json!({"id": alice, "password": "NewSecret456"})).await;
    assert_eq!(code(&change), "ok");
    assert_eq!(code(&conn.call("user/read", Some(&second), json!({"id": alice})).await), "unauthorized");
    assert_eq!(
        code(&conn.call("user/read", Some(&first), json!({"id": alice})).await),
        "ok",
        "the caller keeps its own"
    );
    assert_eq!(
        code(
            &conn
                .call("auth/generateToken", None, json!({"email": "alice@example.com", "password": "SecretPass123"}))
                .await
        ),
        "unauthorized"
    );
    conn.login("alice@example.com", "NewSecret456").await;
    running.stop().await;
}

#[tokio::test]
async fn unicode_and_sql_looking_names_round_trip_verbatim() {
    let running = sqlite_app().await;
    let mut conn = Conn::open(&running).await;
    let names = ["Zoë 😀 🚀", "山田 太郎", "Robert'); DROP TABLE users;--"];
    for (i, name) in names.iter().enumerate() {
        let id = conn.register(name, &format!("u{i}@example.com"), "SecretPass123").await;
        let token = conn.login(&format!("u{i}@example.com"), "SecretPass123").await;
        assert_eq!(conn.call("user/read", Some(&token), json!({"id": id})).await["name"], *name);
    }
    running.stop().await;
}

#[tokio::test]
async fn users_created_without_a_password_cannot_log_in() {
    let running = sqlite_app().await;
    let mut conn = Conn::open(&running).await;
    conn.register("Alice", "alice@example.com", "SecretPass123").await;
    let alice = conn.login("alice@example.com", "SecretPass123").await;
    conn.call("user/create", Some(&alice), json!({"name": "Bob", "email": "bob@example.com"})).await;
    let reply =
        conn.call("auth/generateToken", None, json!({"email": "bob@example.com", "password": "anything123"})).await;
    assert_eq!(code(&reply), "unauthorized");
    running.stop().await;
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_account_and_address() {
    let config = specserve::handlers::AppConfig { login_failures_per_minute: 3.0, ..test_config() };
    let running = app::start(db::sqlite().await, config).await;
    let mut conn = Conn::open(&running).await;
    conn.register("Alice", "alice@example.com", "SecretPass123").await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        let reply = conn
            .call("auth/generateToken", None, json!({"email": "alice@example.com", "password": "Wrong12345"}))
            .await;
        codes.push(code(&reply).to_owned());
    }
    assert_eq!(codes, ["unauthorized", "rate_limited", "rate_limited"], "burst of one third of 3/min = 1");
    assert!(running.audit.text().contains("\"event\":\"rate_limited\""));
    running.stop().await;
}

#[tokio::test]
async fn the_audit_log_records_events_without_secrets() {
    let running = sqlite_app().await;
    let mut conn = Conn::open(&running).await;
    let alice = conn.register("Alice", "alice@example.com", "SecretPass123").await;
    let token = conn.login("alice@example.com", "SecretPass123").await;
    conn.call("auth/generateToken", None, json!({"email": "alice@example.com", "password": "WrongPass999"})).await;
    conn.call("user/update", Some(&token), json!({"id": alice, "password": "NewSecret456"})).await;
    let audit = running.audit.text();
    for event in ["register", "login", "token_issued", "user_updated"] {
        assert!(audit.contains(&format!("\"event\":\"{event}\"")), "no {event} in {audit}");
    }
    // The spec's `x-specserve-audit: login` records both outcomes.
    let logins: Vec<Value> =
        audit.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|e| e["event"] == "login").collect();
    let outcomes: Vec<&str> = logins.iter().filter_map(|e| e["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["success", "unauthorized"], "{audit}");
    for line in audit.lines() {
        let entry: Value = serde_json::from_str(line).expect("JSON lines");
        for key in ["time", "event", "actor", "target", "ip", "outcome"] {
            assert!(entry.get(key).is_some(), "{key} missing in {line}");
        }
    }
    for secret in ["SecretPass123", "WrongPass999", "NewSecret456", token.as_str(), "$argon2"] {
        assert!(!audit.contains(secret), "audit log contains a secret");
    }
    running.stop().await;
}

#[tokio::test]
async fn registrations_per_ip_and_creations_per_creator_are_rate_limited() {
    let config =
        specserve::handlers::AppConfig { auth_per_ip_per_minute: 6.0, creates_per_minute: 3.0, ..test_config() };
    let running = app::start(db::sqlite().await, config).await;
    let mut conn = Conn::open(&running).await;
    conn.register("Alice", "alice@example.com", "SecretPass123").await;
    let token = conn.login("alice@example.com", "SecretPass123").await;
    // Burst of one third of 6/min = 2 auth requests from this IP: register + login used them.
    let third = conn
        .call("auth/register", None, json!({"name": "C", "email": "c@example.com", "password": "SecretPass123"}))
        .await;
    assert_eq!(code(&third), "rate_limited");
    // Burst of one third of 3/min = 1 creation.
    let first = conn.call("user/create", Some(&token), json!({"name": "B", "email": "b1@example.com"})).await;
    let second = conn.call("user/create", Some(&token), json!({"name": "B", "email": "b2@example.com"})).await;
    assert_eq!((code(&first), code(&second)), ("ok", "rate_limited"));
    running.stop().await;
}
