//! The user API under a hostile client: privilege escalation through
//! management, revocations racing frames in flight, password-hashing floods,
//! lockouts, and names that attack operators' terminals. Each case runs on
//! SQLite and, when the test server is set, on MySQL/MariaDB.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::app::{self, Running, test_config};
use common::db;
use common::frames::{Conn, code, frame, seeded_user};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use specserve::api::Role;
use specserve::handlers::AppConfig;
use tokio_tungstenite::tungstenite::Message;

/// The token cache on, with a lifetime long enough that only the revocation
/// logic (not expiry) can stop a revoked token.
fn cached() -> AppConfig {
    AppConfig { token_cache_ttl: std::time::Duration::from_secs(300), ..test_config() }
}

async fn a_manager_never_reaches_a_user_promoted_above_it(running: Running) {
    let mut conn = Conn::open(&running).await;
    let (_, admin) = seeded_user(&running, &mut conn, "admin@example.com", Role::Admin, None).await;
    let (alice_id, alice) = seeded_user(&running, &mut conn, "alice@example.com", Role::User, None).await;
    let created = conn
        .call(
            "user/create",
            Some(&alice),
            json!({"name": "Bob", "email": "bob@example.com", "password": "BobPass1234"}),
        )
        .await;
    let bob = created["userId"].as_i64().expect("Alice creates Bob, whom she then manages");
    assert_eq!(code(&conn.call("user/read", Some(&alice), json!({"id": bob})).await), "ok");
    // An admin promotes Bob: from now on he is out of Alice's reach.
    assert_eq!(code(&conn.call("user/update", Some(&admin), json!({"id": bob, "role": "admin"})).await), "ok");
    for (what, route, payload) in [
        ("read him", "user/read", json!({"id": bob})),
        ("rename him", "user/update", json!({"id": bob, "name": "Owned"})),
        ("set his password", "user/update", json!({"id": bob, "password": "AliceKnowsIt1"})),
        ("demote him", "user/update", json!({"id": bob, "role": "user"})),
        ("delete him", "user/delete", json!({"id": bob})),
    ] {
        let reply = Conn::open(&running).await.call(route, Some(&alice), payload).await;
        assert_eq!(code(&reply), "forbidden", "Alice may not {what} once he is an admin: {reply}");
    }
    // Nothing changed: Bob still logs in with his own password and is still an admin.
    let bob_token = conn.login("bob@example.com", "BobPass1234").await;
    let read = conn.call("user/read", Some(&bob_token), json!({"id": bob})).await;
    assert_eq!((read["name"].as_str(), read["role"].as_str()), (Some("Bob"), Some("admin")), "{read}");
    // Alice cannot make herself an admin either, and the denials are audited.
    let climb = conn.call("user/update", Some(&alice), json!({"id": alice_id, "role": "admin"})).await;
    assert_eq!(code(&climb), "forbidden");
    // Once demoted again, he is hers to manage as before.
    assert_eq!(code(&conn.call("user/update", Some(&admin), json!({"id": bob, "role": "user"})).await), "ok");
    assert_eq!(code(&conn.call("user/read", Some(&alice), json!({"id": bob})).await), "ok");
    assert!(running.audit.text().matches("\"event\":\"authorization_denied\"").count() >= 6);
    running.stop().await;
}

async fn logout_takes_effect_for_frames_pipelined_behind_it(running: Running) {
    let mut conn = Conn::open(&running).await;
    let (me, _) = seeded_user(&running, &mut conn, "me@example.com", Role::User, None).await;
    for trial in 0..3 {
        let token = conn.login("me@example.com", "Password123").await;
        let read = frame("user/read", Some(&token), json!({"id": me}));
        let mut burst = vec![read.clone(), read.clone(), frame("auth/logout", Some(&token), json!({}))];
        burst.extend(std::iter::repeat_n(read.clone(), 12));
        let mut socket = Conn::open(&running).await;
        socket.pipeline(&burst).await;
        let mut codes = Vec::new();
        for _ in 0..burst.len() {
            codes.push(code(&socket.reply().await).to_owned());
        }
        let mut expected = vec!["ok"; 3];
        expected.extend(std::iter::repeat_n("unauthorized", 12));
        assert_eq!(codes, expected, "trial {trial}");
        // And on a fresh connection, with the cache on.
        assert_eq!(code(&Conn::open(&running).await.send(read).await), "unauthorized", "trial {trial}");
    }
    running.stop().await;
}

/// What a [`hammer`] saw.
struct Hammered {
    codes: Vec<String>,
    closed_by_server: bool,
}

/// Sends `frame` pipelined, 16 at a time, until `stop` is set or the server
/// closes the connection (then whether it is closing is asked once more).
/// Returns once the first reply is in (the connection has authenticated),
/// with the task to await.
async fn hammer(running: &Running, frame: Value, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Hammered> {
    let (started, first_reply) = tokio::sync::oneshot::channel();
    let mut started = Some(started);
    let server = running.server.local_addr();
    let fingerprint = running.server.fingerprint().expect("TLS");
    let task = tokio::spawn(async move {
        let url = format!("wss://{server}/");
        let connector = tokio_tungstenite::Connector::Rustls(specserve_runtime::client::pinned_config(&fingerprint));
        let (socket, _) =
            tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector)).await.expect("upgrade");
        let mut conn = Conn(socket);
        let burst = vec![frame; 16];
        let mut codes = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            conn.pipeline(&burst).await;
            for _ in 0..burst.len() {
                match conn.0.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let reply: Value = serde_json::from_str(&text).expect("JSON");
                        codes.push(code(&reply).to_owned());
                        if let Some(started) = started.take() {
                            let _ = started.send(());
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    _ => return Hammered { codes, closed_by_server: true },
                }
            }
        }
        // The last burst may have been answered in full by a server that is
        // closing (it answers what it read, then closes): one more frame
        // tells the two apart. An open connection answers it; a closing one
        // sends its close frame instead.
        if conn.0.send(Message::text(burst[0].to_string())).await.is_err() {
            return Hammered { codes, closed_by_server: true };
        }
        loop {
            match conn.0.next().await {
                Some(Ok(Message::Text(text))) => {
                    let reply: Value = serde_json::from_str(&text).expect("JSON");
                    codes.push(code(&reply).to_owned());
                    return Hammered { codes, closed_by_server: false };
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                _ => return Hammered { codes, closed_by_server: true },
            }
        }
    });
    first_reply.await.expect("the hammering connection gets a first reply");
    task
}

async fn a_deleted_users_token_is_refused_everywhere_once_the_delete_is_answered(running: Running) {
    let mut conn = Conn::open(&running).await;
    let (_, root) = seeded_user(&running, &mut conn, "root@example.com", Role::Admin, None).await;
    for trial in 0..5 {
        // A deleted admin is the worst case: its token must not delete anyone afterwards.
        let email = format!("doomed-{trial}@example.com");
        let (doomed, token) = seeded_user(&running, &mut conn, &email, Role::Admin, None).await;
        let victim = format!("victim-{trial}@example.com");
        let (victim, _) = seeded_user(&running, &mut conn, &victim, Role::User, None).await;
        let stop = Arc::new(AtomicBool::new(false));
        let busy = hammer(&running, frame("user/read", Some(&token), json!({"id": doomed})), Arc::clone(&stop)).await;
        let deleted = Conn::open(&running).await.call("user/delete", Some(&root), json!({"id": doomed})).await;
        assert_eq!(code(&deleted), "ok");
        for (route, payload) in [
            ("user/read", json!({"id": doomed})),
            ("user/create", json!({"name": "X", "email": format!("x-{trial}@example.com")})),
            ("user/delete", json!({"id": victim})),
        ] {
            let reply = Conn::open(&running).await.call(route, Some(&token), payload).await;
            assert_eq!(code(&reply), "unauthorized", "trial {trial}: {route} with a deleted user's token: {reply}");
        }
        stop.store(true, Ordering::SeqCst);
        let busy = busy.await.expect("the hammering task ends");
        assert!(busy.closed_by_server, "trial {trial}: the deleted user's connection is closed");
        // Frames authenticated before the delete committed may still finish
        // (reading a user that is gone); nothing authenticated after it succeeds.
        let allowed = ["ok", "not_found", "unauthorized"];
        assert!(busy.codes.iter().all(|c| allowed.contains(&c.as_str())), "trial {trial}: {:?}", busy.codes);
    }
    running.stop().await;
}

async fn a_password_change_revokes_a_stolen_token_everywhere_at_once(running: Running) {
    let mut conn = Conn::open(&running).await;
    let (me, mine) = seeded_user(&running, &mut conn, "me@example.com", Role::User, None).await;
    let mut current = "Password123".to_owned();
    for trial in 0..5 {
        let stolen = conn.login("me@example.com", &current).await;
        let stop = Arc::new(AtomicBool::new(false));
        let thief = hammer(&running, frame("user/read", Some(&stolen), json!({"id": me})), Arc::clone(&stop)).await;
        current = format!("Password123-{trial}");
        let change =
            Conn::open(&running).await.call("user/update", Some(&mine), json!({"id": me, "password": current})).await;
        assert_eq!(code(&change), "ok", "trial {trial}: {change}");
        let reply = Conn::open(&running).await.call("user/read", Some(&stolen), json!({"id": me})).await;
        assert_eq!(code(&reply), "unauthorized", "trial {trial}: the stolen token outlived the password change");
        assert_eq!(code(&Conn::open(&running).await.call("user/read", Some(&mine), json!({"id": me})).await), "ok");
        stop.store(true, Ordering::SeqCst);
        thief.await.expect("the thief's task ends");
    }
    running.stop().await;
}

macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::app::start(super::db::sqlite().await, super::cached()).await).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test]
                async fn $test() {
                    if let Some(db) = super::db::mysql().await {
                        super::$test(super::app::start(db, super::cached()).await).await;
                    }
                }
            )*
        }
    };
}

on_both_stores!(
    a_manager_never_reaches_a_user_promoted_above_it,
    logout_takes_effect_for_frames_pipelined_behind_it,
    a_deleted_users_token_is_refused_everywhere_once_the_delete_is_answered,
    a_password_change_revokes_a_stolen_token_everywhere_at_once,
);

#[tokio::test]
async fn a_password_change_flood_is_limited_and_other_logins_still_succeed() {
    // The default budget: 6 changes a minute, bursts of 2.
    let config =
        AppConfig { password_changes_per_minute: AppConfig::default().password_changes_per_minute, ..cached() };
    let running = app::start(db::sqlite().await, config).await;
    let mut conn = Conn::open(&running).await;
    let (me, mine) = seeded_user(&running, &mut conn, "flooder@example.com", Role::User, None).await;
    seeded_user(&running, &mut conn, "bystander@example.com", Role::User, None).await;
    // 16 connections, 20 password changes each, all at once...
    let mut floods = Vec::new();
    for c in 0..16 {
        let mut socket = Conn::open(&running).await;
        let changes: Vec<Value> = (0..20)
            .map(|i| frame("user/update", Some(&mine), json!({"id": me, "password": format!("Flood-{c}-{i}-pass")})))
            .collect();
        floods.push(tokio::spawn(async move {
            socket.pipeline(&changes).await;
            let mut codes = Vec::new();
            for _ in 0..changes.len() {
                codes.push(code(&socket.reply().await).to_owned());
            }
            codes
        }));
    }
    // ...while someone else logs in.
    let bystander = Conn::open(&running).await.login("bystander@example.com", "Password123").await;
    assert_eq!(bystander.len(), 43, "the bystander got a token during the flood");
    let mut codes = Vec::new();
    for flood in floods {
        codes.extend(flood.await.unwrap());
    }
    let accepted = codes.iter().filter(|c| *c == "ok").count();
    let refused = codes.iter().filter(|c| *c == "rate_limited").count();
    assert_eq!(accepted + refused, 320, "{codes:?}");
    // The burst of 2, plus at most one more refill in the seconds the flood takes.
    assert!((2..=3).contains(&accepted), "{accepted} password changes were hashed");
    assert!(running.audit.text().contains("\"outcome\":\"password_changes\""));
    running.stop().await;
}

#[tokio::test]
async fn failed_logins_cannot_lock_the_owner_out() {
    // 3 failures a minute per account and address (bursts of 1); 6 a minute per
    // account from addresses that never logged into it (bursts of 2).
    let config = AppConfig { login_failures_per_minute: 3.0, login_failures_per_account_per_minute: 6.0, ..cached() };
    let running =
        app::start_with(db::sqlite().await, config, |c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let running = &running;
    let from = |ip: &'static str| async move { Conn::open_with(running, &[("x-forwarded-for", ip)]).await };
    from("203.0.113.1").await.register("Alice", "alice@example.com", "SecretPass123").await;
    from("203.0.113.1").await.login("alice@example.com", "SecretPass123").await;
    let attempt = |ip: &'static str, password: &'static str| async move {
        let reply = from(ip)
            .await
            .call("auth/generateToken", None, json!({"email": "alice@example.com", "password": password}))
            .await;
        code(&reply).to_owned()
    };
    // One address guessing: slowed down, even if it then guesses right...
    assert_eq!(attempt("198.51.100.66", "Guess00001").await, "unauthorized");
    assert_eq!(attempt("198.51.100.66", "Guess00002").await, "rate_limited");
    assert_eq!(attempt("198.51.100.66", "SecretPass123").await, "rate_limited");
    // ...while Alice, anywhere else, is not.
    assert_eq!(attempt("203.0.113.1", "SecretPass123").await, "ok");
    assert_eq!(attempt("192.0.2.7", "SecretPass123").await, "ok", "a first log-in from a new address");
    // Guesses from many addresses use up the account's budget for unknown addresses...
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"] {
        attempt(ip, "Guess00003").await;
    }
    assert_eq!(attempt("192.0.2.99", "SecretPass123").await, "rate_limited", "a new address waits");
    // ...but never for the addresses Alice logged in from.
    assert_eq!(attempt("203.0.113.1", "SecretPass123").await, "ok");
    assert_eq!(attempt("192.0.2.7", "SecretPass123").await, "ok");
}

#[tokio::test]
async fn names_with_control_characters_are_refused() {
    let running = app::start(db::sqlite().await, test_config()).await;
    let mut conn = Conn::open(&running).await;
    for name in ["Eve\n    99  admin   -   ceo@example.com   CEO", "\u{1b}]0;owned\u{7}", "tab\there", "del\u{7f}"] {
        let reply = conn
            .call("auth/register", None, json!({"name": name, "email": "eve@example.com", "password": "SecretPass123"}))
            .await;
        assert_eq!(code(&reply), "validation_failed", "{name:?}");
        assert_eq!(reply["error"]["details"][0]["pointer"], "/payload/name");
    }
    running.stop().await;
}
