//! Client (service) tokens end to end, over the real TLS server, on both
//! stores: an admin makes them with token/createClient, the spec's scopes
//! decide which operations accept them (the generated check, not the
//! handlers), and they are listed and revoked like the admin's logins.

#[macro_use]
mod common;

use common::app::Running;
use common::frames::{Conn, code, seeded_user};
use serde_json::{Value, json};
use specserve::api::Role;

const PASSWORD: &str = "SecretPass123";

/// token/createClient as `admin`; the reply.
async fn create_client(conn: &mut Conn, admin: &str, name: &str, scopes: &[&str]) -> Value {
    conn.call("token/createClient", Some(admin), json!({"name": name, "scopes": scopes})).await
}

/// A client token's secret, made by `admin` with `scopes`.
async fn client_token(conn: &mut Conn, admin: &str, scopes: &[&str]) -> String {
    let reply = create_client(conn, admin, "service", scopes).await;
    assert_eq!(code(&reply), "ok", "{reply}");
    reply["token"].as_str().expect("token").to_owned()
}

async fn scopes_decide_what_a_client_token_may_call(running: Running) {
    let mut conn = Conn::open(&running).await;
    let (admin_id, admin) = seeded_user(&running, &mut conn, "root@example.com", Role::Admin, None).await;
    let alice = conn.register("Alice", "alice@example.com", PASSWORD).await;
    let creator = client_token(&mut conn, &admin, &["users:create"]).await;
    let reader = client_token(&mut conn, &admin, &["users:read"]).await;
    let deleter = client_token(&mut conn, &admin, &["users:delete"]).await;

    // Each scope opens its own operation and no other.
    let create = |n: u32| json!({"name": format!("Made {n}"), "email": format!("made{n}@example.com")});
    let read = json!({"id": alice});
    let cases: [(&str, &str, Value, [&str; 3]); 6] = [
        ("user/create", "create", create(1), ["ok", "forbidden", "forbidden"]),
        ("user/read", "read", read.clone(), ["forbidden", "ok", "forbidden"]),
        ("user/update", "update", json!({"id": alice, "name": "A"}), ["forbidden"; 3]),
        ("token/list", "list", json!({}), ["forbidden"; 3]),
        ("token/createClient", "createClient", json!({"name": "x", "scopes": ["users:read"]}), ["forbidden"; 3]),
        ("room/list", "list rooms", json!({}), ["forbidden"; 3]),
    ];
    for (channel, what, payload, expected) in cases {
        for (token, want) in [&creator, &reader, &deleter].into_iter().zip(expected) {
            let reply = conn.call(channel, Some(token), payload.clone()).await;
            assert_eq!(code(&reply), want, "{what} with a client token: {reply}");
            if want == "forbidden" {
                assert_eq!(reply["error"]["message"], "this credential lacks the scope this operation needs");
            }
        }
    }
    // The admin's own login is unaffected by scopes; a user's token is no client token.
    assert_eq!(code(&conn.call("user/read", Some(&admin), read.clone()).await), "ok");
    let alice_token = conn.login("alice@example.com", PASSWORD).await;
    assert_eq!(code(&conn.call("user/create", Some(&alice_token), create(2)).await), "ok");
    assert_eq!(code(&create_client(&mut conn, &alice_token, "mine", &["users:read"]).await), "forbidden");

    // What a client token creates is managed by its admin; it never makes admins.
    let made = conn.call("user/create", Some(&creator), create(3)).await;
    let made_id = made["userId"].as_i64().unwrap_or_else(|| panic!("{made}"));
    let stored = running.db.store().user_by_id(made_id).await.unwrap().unwrap();
    assert_eq!(stored.created_by, Some(admin_id));
    let escalate = json!({"name": "Boss", "email": "boss@example.com", "role": "admin"});
    assert_eq!(code(&conn.call("user/create", Some(&creator), escalate).await), "forbidden");
    assert_eq!(code(&conn.call("user/delete", Some(&deleter), json!({"id": admin_id})).await), "forbidden");
    assert_eq!(code(&conn.call("user/delete", Some(&deleter), json!({"id": made_id})).await), "ok");
    assert!(running.db.store().user_by_id(made_id).await.unwrap().is_none());

    // A client token holding several scopes satisfies each of their schemes.
    let both = client_token(&mut conn, &admin, &["users:read", "users:create"]).await;
    assert_eq!(code(&conn.call("user/read", Some(&both), read.clone()).await), "ok");
    assert_eq!(code(&conn.call("user/create", Some(&both), create(4)).await), "ok");

    // A client token never exceeds its admin: demoted, the admin's tokens
    // read no more than the user could.
    let (_, other_admin) = seeded_user(&running, &mut conn, "second@example.com", Role::Admin, None).await;
    assert_eq!(
        code(&conn.call("user/update", Some(&other_admin), json!({"id": admin_id, "role": "user"})).await),
        "ok"
    );
    assert_eq!(code(&conn.call("user/read", Some(&reader), read).await), "forbidden");
    assert_eq!(code(&conn.call("user/read", Some(&reader), json!({"id": admin_id})).await), "ok", "itself");
    assert!(running.audit.text().contains(r#""event":"client_token_created""#));
}

async fn client_tokens_are_listed_without_secrets_and_revoked_by_id(running: Running) {
    let mut conn = Conn::open(&running).await;
    let (_, admin) = seeded_user(&running, &mut conn, "root@example.com", Role::Admin, None).await;
    let reply = create_client(&mut conn, &admin, "signup service", &["users:create", "users:read"]).await;
    assert_eq!(code(&reply), "ok", "{reply}");
    let (token, token_id) = (reply["token"].as_str().unwrap().to_owned(), reply["tokenId"].clone());
    assert_eq!(reply["scopes"], json!(["users:create", "users:read"]));
    let days = |at: &str| {
        let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap();
        (at - time::OffsetDateTime::now_utc()).whole_days()
    };
    assert!((89..=90).contains(&days(reply["expiresAt"].as_str().unwrap())), "90 days by default: {reply}");
    let short = conn
        .call("token/createClient", Some(&admin), json!({"name": "x", "scopes": ["users:read"], "expiresInDays": 2}))
        .await;
    assert!((1..=2).contains(&days(short["expiresAt"].as_str().unwrap())), "{short}");

    let listed = conn.call("token/list", Some(&admin), json!({})).await;
    let sessions = listed["sessions"].as_array().unwrap_or_else(|| panic!("{listed}"));
    let client = sessions.iter().find(|s| s["tokenId"] == token_id).expect("listed");
    assert_eq!((client["kind"].as_str(), client["name"].as_str()), (Some("client"), Some("signup service")));
    assert_eq!(client["scopes"], json!(["users:create", "users:read"]));
    let login = sessions.iter().find(|s| s["current"] == true).expect("the admin's login");
    assert_eq!(login["kind"], "user");
    assert!(login.get("scopes").is_none() && login.get("name").is_none(), "{login}");
    assert!(!listed.to_string().contains(&token), "no secret in token/list");
    assert!(!running.audit.text().contains(&token), "no secret in the audit log");

    // Revoked by id, it stops at once.
    assert_eq!(code(&conn.call("user/read", Some(&token), json!({"id": 1})).await), "ok");
    assert_eq!(code(&conn.call("token/revoke", Some(&admin), json!({"tokenId": token_id})).await), "ok");
    assert_eq!(code(&conn.call("user/read", Some(&token), json!({"id": 1})).await), "unauthorized");
}

async fn bad_client_token_requests_are_refused_and_the_connection_stays(running: Running) {
    let mut conn = Conn::open(&running).await;
    let (_, admin) = seeded_user(&running, &mut conn, "root@example.com", Role::Admin, None).await;
    for payload in [
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["users:fly"]}),
        json!({"name": "x", "scopes": ["users:read", "users:read"]}),
        json!({"name": "", "scopes": ["users:read"]}),
        json!({"name": "x", "scopes": ["users:read"], "expiresInDays": 0}),
        json!({"name": "x", "scopes": ["users:read"], "expiresInDays": 366}),
        json!({"name": "x", "scopes": "users:read"}),
    ] {
        let reply = conn.call("token/createClient", Some(&admin), payload.clone()).await;
        assert_eq!(code(&reply), "validation_failed", "{payload}: {reply}");
    }
    assert_eq!(
        code(&conn.call("token/createClient", None, json!({"name": "x", "scopes": ["users:read"]})).await),
        "unauthorized"
    );
    assert_eq!(code(&create_client(&mut conn, &admin, "fine", &["users:read"]).await), "ok");
}

on_both_stores!(
    scopes_decide_what_a_client_token_may_call,
    client_tokens_are_listed_without_secrets_and_revoked_by_id,
    bad_client_token_requests_are_refused_and_the_connection_stays,
);

/// A client token on the upgrade authenticates frames but binds nothing: its
/// admin does not come online and it gets none of the admin's events.
#[tokio::test]
async fn a_client_token_connection_puts_no_one_online() {
    let running = common::app::start(common::db::sqlite().await, common::app::test_config()).await;
    let mut conn = Conn::open(&running).await;
    let (admin_id, admin) = seeded_user(&running, &mut conn, "root@example.com", Role::Admin, None).await;
    let bob = conn.register("Bob", "bob@example.com", PASSWORD).await;
    let bob_token = conn.login("bob@example.com", PASSWORD).await;
    let reader = client_token(&mut conn, &admin, &["users:read"]).await;
    let room = conn.call("room/create", Some(&admin), json!({"otherUserId": bob})).await;
    assert_eq!(code(&room), "ok", "{room}");
    let join =
        Conn::open(&running).await.call("room/join", Some(&bob_token), json!({"roomId": room["room"]["id"]})).await;
    assert_eq!(code(&join), "ok", "{join}");
    drop(conn);

    let bearer = format!("Bearer {reader}");
    let mut service = Conn::open_with(&running, &[("authorization", &bearer)]).await;
    assert_eq!(code(&service.send(json!({"channel": "user/read", "payload": {"id": bob}})).await), "ok");
    let mut watcher = Conn::open(&running).await;
    let presence = watcher.call("presence/list", Some(&bob_token), json!({"userIds": [admin_id]})).await;
    assert_eq!(presence["users"][0]["online"], false, "{presence}");
    running.stop().await;
}

/// The typed Rust client, as a service author would use it.
#[tokio::test]
async fn the_typed_client_creates_and_uses_a_client_token() {
    use specserve::api::{
        AuthGenerateTokenPayload, Client, ErrorCode, Scope, TokenCreateClientPayload, UserCreatePayload, UserRef,
    };
    use specserve_runtime::client::ClientError;

    let running = common::app::start(common::db::sqlite().await, common::app::test_config()).await;
    let mut conn = Conn::open(&running).await;
    seeded_user(&running, &mut conn, "root@example.com", Role::Admin, None).await;
    let admin = common::net::client(&running.server).await;
    let login =
        AuthGenerateTokenPayload { email: "root@example.com".into(), password: "Password123".into(), refresh: None };
    admin.set_token(Some(admin.auth_generate_token(&login).await.unwrap().token));
    let request =
        TokenCreateClientPayload { name: "signup".into(), scopes: vec![Scope::UsersCreate], expires_in_days: 7 };
    let made = admin.token_create_client(&request).await.unwrap();
    assert_eq!(made.scopes, vec![Scope::UsersCreate]);

    let service: Client = common::net::client(&running.server).await;
    service.set_token(Some(made.token));
    let new_user = UserCreatePayload {
        name: "Made".into(),
        email: "made@example.com".into(),
        password: None,
        role: None,
        email_verified: None,
    };
    let created = service.user_create(&new_user).await.unwrap();
    match service.user_read(&UserRef { id: created.user_id }).await {
        Err(ClientError::Api(body)) => assert_eq!(body.code, ErrorCode::Forbidden),
        other => panic!("expected forbidden, got {other:?}"),
    }
    running.stop().await;
}
