//! The spec's HTTP operations (`bindings.http` on channels of the `https`
//! server), over real TLS on both stores: each runs the WebSocket pipeline
//! (validation, security, rate limits, audit) with its handler, and every
//! bad request gets a clear status and the error body, never a guess.

#[macro_use]
mod common;

use common::app::{self, Running, test_config};
use common::db::TestDb;
use common::device::{Device, user};
use common::rest;
use serde_json::{Value, json};
use specserve::handlers::AppConfig;

on_both_stores!(an_http_operation_is_its_websocket_twin, bad_http_requests_get_a_status_and_the_error_body);
on_both_databases!(http_requests_share_the_auth_budget_and_are_audited);

/// A page of an allowed origin is granted the preflight of an HTTP
/// operation's path, with the bearer header; another origin is refused.
#[tokio::test]
async fn an_allowed_page_may_call_the_http_operations() {
    const SITE: &str = "https://app.example.com";
    let running = app::start_with(common::db::sqlite().await, test_config(), |c| {
        c.allowed_origins = vec![SITE.to_owned()];
    })
    .await;
    fn preflight(origin: &str) -> [(&str, &str); 3] {
        [
            ("Origin", origin),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ]
    }
    let (status, head, _) =
        rest::request(&running, "OPTIONS", "/api/rooms/7/messages", None, None, &preflight(SITE)).await;
    let head = head.to_ascii_lowercase();
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("access-control-allow-origin: https://app.example.com"), "{head}");
    assert!(head.contains("access-control-allow-headers: content-type,authorization"), "{head}");
    let (status, ..) =
        rest::request(&running, "OPTIONS", "/api/rooms/7/messages", None, None, &preflight("https://evil.example"))
            .await;
    assert_eq!(status, 403);
    running.stop().await;
}

/// The answers of `/api/...` are the reply frames `/ws` carries, and what
/// one transport does the other sees.
async fn an_http_operation_is_its_websocket_twin(running: Running) {
    let body = json!({"name": "Alice", "email": "alice@example.com", "password": "SecretPass123"});
    let registered = rest::ok(&running, "POST", "/api/auth/register", None, Some(body)).await;
    assert_eq!(registered["channel"], "auth/register");
    let alice_id = registered["userId"].as_i64().expect("userId");
    let login = json!({"email": "alice@example.com", "password": "SecretPass123"});
    let token = rest::ok(&running, "POST", "/api/auth/token", None, Some(login)).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let (bob_id, bob_token) = user(&running, "bob").await;
    let mut bob = Device::open(&running, &bob_token).await;

    let created = rest::ok(&running, "POST", "/api/rooms", Some(&token), Some(json!({"otherUserId": bob_id}))).await;
    let room = created["room"]["id"].as_i64().expect("room id");
    bob.ok("room/join", json!({"roomId": room})).await;
    let path = format!("/api/rooms/{room}/messages");
    let sent = rest::ok(&running, "POST", &path, Some(&token), Some(json!({"text": "over HTTP"}))).await;
    let heard = bob.next("message/new").await;
    assert_eq!((&heard["message"]["id"], &heard["message"]["authorId"]), (&sent["messageId"], &json!(alice_id)));
    bob.say(room, "over the socket").await;

    let history = rest::ok(&running, "GET", &format!("{path}?limit=1"), Some(&token), None).await;
    let texts: Vec<&Value> = history["messages"].as_array().expect("messages").iter().map(|m| &m["text"]).collect();
    assert_eq!(texts, [&json!("over the socket")], "the newest one, as `limit` asks");
    let before = rest::ok(
        &running,
        "GET",
        &format!("{path}?before={}", heard["message"]["id"].as_i64().unwrap() + 1),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(before["messages"][0]["text"], "over HTTP");
    let listed = rest::ok(&running, "GET", "/api/rooms", Some(&token), None).await;
    assert_eq!(listed["rooms"][0]["room"]["id"], room, "{listed}");
    running.stop().await;
}

async fn bad_http_requests_get_a_status_and_the_error_body(running: Running) {
    let (_, token) = user(&running, "alice").await;
    let (_, stranger) = user(&running, "mallory").await;
    let (bob_id, _) = user(&running, "bob").await;
    let room = rest::ok(&running, "POST", "/api/rooms", Some(&token), Some(json!({"otherUserId": bob_id}))).await["room"]
        ["id"]
        .as_i64()
        .unwrap();
    let messages = format!("/api/rooms/{room}/messages");
    let error = |answer: &Value| answer["error"]["code"].as_str().unwrap_or("?").to_owned();

    // No credential, a wrong one, or one in the query where the spec takes none there.
    for (path, token) in [
        ("/api/rooms".to_owned(), None),
        ("/api/rooms".to_owned(), Some("not-a-token")),
        (format!("/api/rooms?token={token}"), None),
    ] {
        let (status, answer) = rest::call(&running, "GET", &path, token, None).await;
        assert_eq!((status, error(&answer)), (401, "unauthorized".to_owned()), "{path}");
    }
    // Another user's room, a room that does not exist: forbidden alike.
    for path in [messages.clone(), "/api/rooms/999999/messages".to_owned()] {
        let (status, answer) = rest::call(&running, "GET", &path, Some(&stranger), None).await;
        assert_eq!((status, error(&answer)), (403, "forbidden".to_owned()), "{path}");
    }
    // What the schemas refuse, with the pointer to it.
    for (method, path, body, pointer) in [
        ("GET", format!("{messages}?limit=500"), None, "/limit"),
        ("GET", format!("{messages}?limit=abc"), None, "/limit"),
        ("GET", format!("{messages}?spam=1"), None, ""),
        ("GET", "/api/rooms/abc/messages".to_owned(), None, "/roomId"),
        ("POST", messages.clone(), Some(json!({"text": ""})), "/text"),
        ("POST", messages.clone(), Some(json!({"text": "x", "extra": 1})), ""),
        ("POST", "/api/auth/register".to_owned(), Some(json!({})), ""),
        (
            "POST",
            "/api/auth/register".to_owned(),
            Some(json!({"name": "x", "email": "x@example.com", "password": "short"})),
            "/password",
        ),
    ] {
        let (status, answer) = rest::call(&running, method, &path, Some(&token), body.clone()).await;
        assert_eq!(
            (status, error(&answer)),
            (400, "validation_failed".to_owned()),
            "{method} {path} {body:?}: {answer}"
        );
        assert_eq!(answer["error"]["details"][0]["pointer"], pointer, "{answer}");
    }
    // The room named twice (path and body), a body that is no object or no JSON.
    for (body, said) in [
        (json!({"roomId": room, "text": "x"}).to_string(), "given twice"),
        ("[1]".to_owned(), "must be a JSON object"),
        ("{\"text\":".to_owned(), "not valid JSON"),
    ] {
        let (status, _, answer) =
            rest::request(&running, "POST", &messages, Some(&token), Some(body.clone()), &[]).await;
        let answer: Value = serde_json::from_str(&answer).expect("JSON error body");
        assert_eq!((status, error(&answer)), (400, "bad_request".to_owned()), "{body}");
        assert!(answer["error"]["message"].as_str().unwrap().contains(said), "{answer}");
    }
    // Transport refusals: a method the path does not serve, a body that is not
    // JSON by its type, a body over the limit.
    let (status, head, _) = rest::request(&running, "DELETE", "/api/rooms", Some(&token), None, &[]).await;
    assert_eq!(status, 405);
    assert!(head.to_ascii_lowercase().contains("allow: get, post"), "{head}");
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, ..) = rest::request(&running, "POST", &messages, Some(&token), Some("text=hi".into()), &form).await;
    assert_eq!(status, 415);
    let huge = json!({"text": "x".repeat(9000)}).to_string();
    let (status, ..) = rest::request(&running, "POST", &messages, Some(&token), Some(huge), &[]).await;
    assert_eq!(status, 413);
    // None of it stored anything; the WebSocket paths are not HTTP operations.
    let history = rest::ok(&running, "GET", &messages, Some(&token), None).await;
    assert_eq!(history["messages"], json!([]));
    let (status, ..) = rest::request(&running, "POST", "/ws", None, Some("{}".into()), &[]).await;
    assert_eq!(status, 405, "a WebSocket path answers only its upgrade");
    running.stop().await;
}

/// An HTTP log-in spends the client's auth budget as a frame does, and is
/// audited as one; the password and token never reach the audit log.
async fn http_requests_share_the_auth_budget_and_are_audited(db: TestDb) {
    // A burst of three (a third of the minute's budget).
    let config = AppConfig { auth_per_ip_per_minute: 9.0, ..test_config() };
    let running = app::start(db, config).await;
    let body = json!({"name": "Alice", "email": "alice@example.com", "password": "SecretPass123"});
    rest::ok(&running, "POST", "/api/auth/register", None, Some(body)).await;
    let login = json!({"email": "alice@example.com", "password": "SecretPass123"});
    let token = rest::ok(&running, "POST", "/api/auth/token", None, Some(login.clone())).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut socket = common::frames::Conn::open(&running).await;
    let third = socket.send(json!({"channel": "auth/generateToken", "payload": login})).await;
    assert_eq!(common::frames::code(&third), "ok", "{third}");
    let (status, answer) = rest::call(&running, "POST", "/api/auth/token", None, Some(login)).await;
    assert_eq!((status, &answer["error"]["code"]), (429, &json!("rate_limited")), "{answer}");
    let audit = running.audit.text();
    let events: Vec<&str> = audit.lines().filter_map(|l| l.split("\"event\":\"").nth(1)?.split('"').next()).collect();
    assert_eq!(
        events.iter().filter(|e| ["register", "login", "rate_limited"].contains(e)).collect::<Vec<_>>(),
        [&"register", &"login", &"login", &"rate_limited", &"login"],
        "{audit}"
    );
    assert!(audit.lines().last().is_some_and(|l| l.contains("\"outcome\":\"rate_limited\"")), "{audit}");
    assert!(!audit.contains("SecretPass123") && !audit.contains(&token), "{audit}");
    running.stop().await;
}
