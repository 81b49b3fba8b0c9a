//! Sessions end to end, over the real TLS server, on both stores: token/list and
//! token/revoke (a user sees the sessions of its logins and ends one from
//! another), and auth/refresh (rotation, reuse detection, expiry mid-connection).

#[macro_use]
mod common;

use common::app::{self, Running, test_config};
use common::frames::{Conn, code, frame};
use serde_json::{Value, json};

const PASSWORD: &str = "SecretPass123";

/// Sends a request and returns its reply, skipping the events pushed to the
/// connection meanwhile (a bound connection gets the user's presence events).
async fn call(conn: &mut Conn, channel: &str, token: Option<&str>, payload: Value) -> Value {
    let mut request = frame(channel, token, payload);
    request["requestId"] = json!("r");
    let mut reply = conn.send(request).await;
    while reply["requestId"] != "r" {
        reply = conn.reply().await;
    }
    reply
}

/// The caller's sessions, from token/list.
async fn sessions(conn: &mut Conn, token: &str) -> Vec<Value> {
    let reply = call(conn, "token/list", Some(token), json!({})).await;
    assert_eq!(code(&reply), "ok", "{reply}");
    reply["sessions"].as_array().expect("sessions").clone()
}

/// The session whose login sent `agent` as its User-Agent.
fn by_agent<'a>(sessions: &'a [Value], agent: &str) -> &'a Value {
    sessions.iter().find(|s| s["userAgent"] == agent).unwrap_or_else(|| panic!("no {agent} in {sessions:?}"))
}

async fn online(bob: &mut Conn, bob_token: &str, user: i64) -> bool {
    let reply = call(bob, "presence/list", Some(bob_token), json!({"userIds": [user]})).await;
    reply["users"][0]["online"].as_bool().unwrap_or_else(|| panic!("{reply}"))
}

async fn a_user_sees_its_sessions_and_ends_one_from_another(running: Running) {
    let mut laptop = Conn::open_with(&running, &[("user-agent", "laptop/1.0")]).await;
    let alice = laptop.register("Alice", "alice@example.com", PASSWORD).await;
    let laptop_token = laptop.login("alice@example.com", PASSWORD).await;
    let mut phone = Conn::open_with(&running, &[("user-agent", "phone/2.0")]).await;
    let phone_token = phone.login("alice@example.com", PASSWORD).await;
    let mut bob = Conn::open(&running).await;
    let bob_id = bob.register("Bob", "bob@example.com", PASSWORD).await;
    let bob_token = bob.login("bob@example.com", PASSWORD).await;
    // A room both joined, so Bob may see Alice's presence; both devices are bound.
    let room = call(&mut laptop, "room/create", Some(&laptop_token), json!({"otherUserId": bob_id})).await;
    assert_eq!(code(&room), "ok", "{room}");
    let join = call(&mut bob, "room/join", Some(&bob_token), json!({"roomId": room["room"]["id"]})).await;
    assert_eq!(code(&join), "ok", "{join}");
    assert_eq!(code(&call(&mut phone, "user/read", Some(&phone_token), json!({"id": alice})).await), "ok");

    let listed = sessions(&mut laptop, &laptop_token).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let (on_laptop, on_phone) = (by_agent(&listed, "laptop/1.0"), by_agent(&listed, "phone/2.0"));
    assert_eq!((on_laptop["current"].as_bool(), on_phone["current"].as_bool()), (Some(true), Some(false)));
    for session in &listed {
        for field in ["createdAt", "expiresAt"] {
            assert!(session[field].as_str().is_some_and(|t| t.ends_with('Z')), "{field} in {session}");
        }
        assert_eq!(session["clientIp"], "127.0.0.1");
    }
    let text = Value::Array(listed.clone()).to_string();
    assert!(!text.contains(&laptop_token) && !text.contains(&phone_token), "no secret listed: {text}");
    let (laptop_id, phone_id) = (on_laptop["tokenId"].clone(), on_phone["tokenId"].clone());

    // The phone is lost: end its session from the laptop.
    assert_eq!(code(&call(&mut laptop, "token/revoke", Some(&laptop_token), json!({"tokenId": phone_id})).await), "ok");
    assert_eq!(code(&call(&mut phone, "user/read", Some(&phone_token), json!({"id": alice})).await), "unauthorized");
    let listed = sessions(&mut laptop, &laptop_token).await;
    assert_eq!(listed.iter().map(|s| s["tokenId"].clone()).collect::<Vec<_>>(), vec![laptop_id.clone()]);
    assert!(online(&mut bob, &bob_token, alice).await, "still online through the laptop");

    // Ending the session of the request itself is logging out.
    assert_eq!(
        code(&call(&mut laptop, "token/revoke", Some(&laptop_token), json!({"tokenId": laptop_id})).await),
        "ok"
    );
    let after = call(&mut laptop, "token/list", Some(&laptop_token), json!({})).await;
    assert_eq!(code(&after), "unauthorized", "{after} {laptop_id}");
    assert!(!online(&mut bob, &bob_token, alice).await, "no session left, so offline");
}

async fn sessions_of_others_cannot_be_seen_or_ended(running: Running) {
    let mut conn = Conn::open(&running).await;
    let alice = conn.register("Alice", "alice@example.com", PASSWORD).await;
    let alice_token = conn.login("alice@example.com", PASSWORD).await;
    let alice_other = conn.login("alice@example.com", PASSWORD).await;
    let bob = conn.register("Bob", "bob@example.com", PASSWORD).await;
    let bob_token = conn.login("bob@example.com", PASSWORD).await;
    let bob_sessions = sessions(&mut conn, &bob_token).await;
    assert_eq!(bob_sessions.len(), 1, "Alice's sessions are not Bob's: {bob_sessions:?}");
    let bob_session = bob_sessions[0]["tokenId"].clone();

    // Someone else's session, and one that never was: the same answer.
    let foreign = call(&mut conn, "token/revoke", Some(&alice_token), json!({"tokenId": bob_session})).await;
    let unknown = call(&mut conn, "token/revoke", Some(&alice_token), json!({"tokenId": i64::MAX})).await;
    assert_eq!((code(&foreign), code(&unknown)), ("not_found", "not_found"));
    assert_eq!(foreign["error"]["message"], unknown["error"]["message"]);
    assert_eq!(
        code(&call(&mut conn, "user/read", Some(&bob_token), json!({"id": bob})).await),
        "ok",
        "Bob's untouched"
    );

    // A session ends once.
    let other = sessions(&mut conn, &alice_other).await.into_iter().find(|s| s["current"] == true).unwrap();
    let revoke = json!({"tokenId": other["tokenId"]});
    assert_eq!(code(&call(&mut conn, "token/revoke", Some(&alice_token), revoke.clone()).await), "ok");
    assert_eq!(code(&call(&mut conn, "token/revoke", Some(&alice_token), revoke).await), "not_found");
    assert_eq!(code(&call(&mut conn, "user/read", Some(&alice_token), json!({"id": alice})).await), "ok");

    // Without a valid token, and with malformed ids: refused, the connection stays.
    assert_eq!(code(&call(&mut conn, "token/list", None, json!({})).await), "unauthorized");
    assert_eq!(code(&call(&mut conn, "token/list", Some("not-a-token"), json!({})).await), "unauthorized");
    for payload in [json!({}), json!({"tokenId": "7"}), json!({"tokenId": 0}), json!({"tokenId": 1, "extra": true})] {
        let reply = call(&mut conn, "token/revoke", Some(&alice_token), payload.clone()).await;
        assert_eq!(code(&reply), "validation_failed", "{payload}: {reply}");
    }
    assert_eq!(
        code(&call(&mut conn, "token/list", Some(&alice_token), json!({"all": true})).await),
        "validation_failed"
    );
    assert_eq!(sessions(&mut conn, &alice_token).await.len(), 1);
}

/// Logs in asking for a refresh token; returns (access token, refresh token).
async fn login_with_refresh(conn: &mut Conn, email: &str) -> (String, String) {
    let reply =
        call(conn, "auth/generateToken", None, json!({"email": email, "password": PASSWORD, "refresh": true})).await;
    for field in ["expires_at", "refresh_expires_at"] {
        assert!(reply[field].as_str().is_some_and(|t| t.ends_with('Z')), "{field} in {reply}");
    }
    (reply["token"].as_str().unwrap().to_owned(), reply["refresh_token"].as_str().unwrap().to_owned())
}

/// auth/refresh; the reply.
async fn refresh(conn: &mut Conn, refresh_token: &str) -> Value {
    call(conn, "auth/refresh", None, json!({"refreshToken": refresh_token})).await
}

async fn a_refresh_token_rotates_and_its_replay_ends_the_login(running: Running) {
    let mut conn = Conn::open(&running).await;
    let alice = conn.register("Alice", "alice@example.com", PASSWORD).await;
    let (first_access, first_refresh) = login_with_refresh(&mut conn, "alice@example.com").await;
    assert_eq!(code(&call(&mut conn, "user/read", Some(&first_access), json!({"id": alice})).await), "ok");

    let rotated = refresh(&mut conn, &first_refresh).await;
    assert_eq!(code(&rotated), "ok", "{rotated}");
    let (access, next_refresh) = (rotated["token"].as_str().unwrap(), rotated["refresh_token"].as_str().unwrap());
    assert!(access != first_access && next_refresh != first_refresh, "a new pair");
    assert_eq!(code(&call(&mut conn, "user/read", Some(access), json!({"id": alice})).await), "ok");

    // The used refresh token again (a stolen copy): every token of the login dies.
    assert_eq!(code(&refresh(&mut conn, &first_refresh).await), "unauthorized");
    for token in [access, first_access.as_str()] {
        assert_eq!(code(&call(&mut conn, "user/read", Some(token), json!({"id": alice})).await), "unauthorized");
    }
    assert_eq!(code(&refresh(&mut conn, next_refresh).await), "unauthorized", "the rotated one went too");
    assert!(running.audit.text().contains("refresh_token_reused"), "audited");
    assert!(!running.audit.text().contains(&first_refresh), "no secret in the audit log");

    // A log-in without `refresh` is the seed's: one token, no refresh token.
    let plain =
        call(&mut conn, "auth/generateToken", None, json!({"email": "alice@example.com", "password": PASSWORD})).await;
    assert!(plain.get("refresh_token").is_none() && plain["token"].is_string(), "{plain}");
    // Unknown and malformed refresh tokens.
    assert_eq!(code(&refresh(&mut conn, "not-a-refresh-token").await), "unauthorized");
    assert_eq!(code(&refresh(&mut conn, "").await), "validation_failed");
    let missing = call(&mut conn, "auth/refresh", None, json!({})).await;
    assert_eq!(code(&missing), "validation_failed");
}

async fn logging_out_ends_the_refresh_token_of_that_login_only(running: Running) {
    let mut conn = Conn::open(&running).await;
    conn.register("Alice", "alice@example.com", PASSWORD).await;
    let (laptop_access, laptop_refresh) = login_with_refresh(&mut conn, "alice@example.com").await;
    let (_, phone_refresh) = login_with_refresh(&mut conn, "alice@example.com").await;
    assert_eq!(code(&call(&mut conn, "auth/logout", Some(&laptop_access), json!({})).await), "ok");
    assert_eq!(code(&refresh(&mut conn, &laptop_refresh).await), "unauthorized");
    assert_eq!(code(&refresh(&mut conn, &phone_refresh).await), "ok");
}

on_both_stores!(
    a_user_sees_its_sessions_and_ends_one_from_another,
    sessions_of_others_cannot_be_seen_or_ended,
    a_refresh_token_rotates_and_its_replay_ends_the_login,
    logging_out_ends_the_refresh_token_of_that_login_only,
);

#[tokio::test]
async fn an_expired_access_token_is_refused_and_the_same_connection_refreshes() {
    // Access tokens that are expired as soon as they are issued: the next frame
    // after any log-in or refresh finds its token expired.
    let config = specserve::handlers::AppConfig { access_token_ttl: std::time::Duration::ZERO, ..test_config() };
    let running = app::start(common::db::sqlite().await, config).await;
    let mut conn = Conn::open(&running).await;
    let alice = conn.register("Alice", "alice@example.com", PASSWORD).await;
    let (access, refresh_token) = login_with_refresh(&mut conn, "alice@example.com").await;
    assert_eq!(code(&call(&mut conn, "user/read", Some(&access), json!({"id": alice})).await), "unauthorized");
    // The connection is still there, and refreshing on it works.
    let rotated = refresh(&mut conn, &refresh_token).await;
    assert_eq!(code(&rotated), "ok", "{rotated}");
    let again = refresh(&mut conn, rotated["refresh_token"].as_str().unwrap()).await;
    assert_eq!(code(&again), "ok", "a chain of refreshes");
    running.stop().await;
}
