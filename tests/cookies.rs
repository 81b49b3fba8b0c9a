//! Cookie auth for browsers, over the real TLS server, on both stores:
//! `POST /auth/login` sets an httpOnly, Secure, SameSite=Strict cookie; the
//! WebSocket accepts it only from an allowed `Origin` (cross-site WebSocket
//! hijacking); `POST /auth/logout` revokes and clears it. Every hostile
//! request (foreign origin, wrong content type, oversized or malformed body)
//! is refused with a clear status.

#[macro_use]
mod common;

use common::app::{self, Running, test_config};
use common::db::TestDb;
use common::frames::{Conn, code};
use common::net;
use serde_json::{Value, json};
use specserve::handlers::AppConfig;
use specserve::handlers::cookies::SESSION_COOKIE;

const PASSWORD: &str = "SecretPass123";
const SITE: &str = "https://chat.example.com";
const FOREIGN: &str = "https://evil.example.net";

/// The app with `SITE` as its one allowed origin.
async fn with_site(db: TestDb) -> Running {
    app::start_with(db, test_config(), |c| c.allowed_origins = vec![SITE.to_owned()]).await
}

/// A JSON `POST` with extra header lines: (status, head, body).
async fn post(running: &Running, path: &str, headers: &[&str], body: &str) -> (u16, String, String) {
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    net::http(&running.server, &request).await
}

/// The `Set-Cookie` value for the session cookie in a response head.
fn set_cookie(head: &str) -> String {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, value)| name.eq_ignore_ascii_case("set-cookie") && value.trim().starts_with(SESSION_COOKIE))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_else(|| panic!("no session cookie set in {head}"))
}

/// Logs Alice in through the HTTP endpoint from `SITE`; the cookie pair `name=value`.
async fn cookie_log_in(running: &Running) -> String {
    let body = json!({"email": "alice@example.com", "password": PASSWORD}).to_string();
    let origin = format!("Origin: {SITE}");
    let (status, head, reply) = post(running, "/auth/login", &["Content-Type: application/json", &origin], &body).await;
    assert_eq!(status, 200, "{head}\n{reply}");
    set_cookie(&head).split(';').next().unwrap().to_owned()
}

async fn frame_with_cookie(running: &Running, origin: Option<&str>, cookie: &str, user: i64) -> Value {
    let mut headers = vec![("cookie", cookie)];
    if let Some(origin) = origin {
        headers.push(("origin", origin));
    }
    let mut conn = Conn::open_with(running, &headers).await;
    conn.send(json!({"channel": "user/read", "payload": {"id": user}})).await
}

async fn the_login_endpoint_sets_a_cookie_scripts_cannot_read(db: TestDb) {
    let running = with_site(db).await;
    let alice = Conn::open(&running).await.register("Alice", "alice@example.com", PASSWORD).await;
    let body = json!({"email": "alice@example.com", "password": PASSWORD}).to_string();
    let origin = format!("Origin: {SITE}");
    let (status, head, reply) =
        post(&running, "/auth/login", &["Content-Type: application/json; charset=utf-8", &origin], &body).await;
    assert_eq!(status, 200, "{head}");
    let cookie = set_cookie(&head);
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} in {cookie}");
    }
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    assert_eq!(token.len(), 43, "a real token: {cookie}");
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["userId"], alice);
    assert!(!reply.to_string().contains(token), "the token is only in the cookie");
    assert!(head.to_ascii_lowercase().contains("cache-control: no-store"), "{head}");

    // The same refusals as auth/generateToken, as HTTP statuses.
    let wrong = json!({"email": "alice@example.com", "password": "WrongPass123"}).to_string();
    let (status, head, reply) = post(&running, "/auth/login", &["Content-Type: application/json"], &wrong).await;
    assert_eq!(status, 401, "{reply}");
    assert!(!head.to_ascii_lowercase().contains("set-cookie"), "{head}");
    assert_eq!(serde_json::from_str::<Value>(&reply).unwrap()["error"]["code"], "unauthorized");
    let invalid = json!({"email": "not-an-email", "password": PASSWORD}).to_string();
    let (status, _, reply) = post(&running, "/auth/login", &["Content-Type: application/json"], &invalid).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&reply).unwrap()["error"]["code"].clone()),
        (400, json!("validation_failed"))
    );
    assert!(running.audit.text().contains(r#""event":"login""#));
    assert!(!running.audit.text().contains(token), "no token in the audit log");
    running.stop().await;
}

async fn a_cookie_authenticates_only_from_an_allowed_origin(db: TestDb) {
    let running = with_site(db).await;
    let alice = Conn::open(&running).await.register("Alice", "alice@example.com", PASSWORD).await;
    let cookie = cookie_log_in(&running).await;
    // The matrix: the page's own origin works; a foreign origin is refused at
    // the upgrade; no origin (not a browser) gets no cookie auth.
    assert_eq!(code(&frame_with_cookie(&running, Some(SITE), &cookie, alice).await), "ok");
    let foreign = net::raw(&running.server, "/", &[("cookie", &cookie), ("origin", FOREIGN)]).await;
    match foreign {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("a foreign origin must be refused: {other:?}"),
    }
    assert_eq!(code(&frame_with_cookie(&running, None, &cookie, alice).await), "unauthorized");
    // Other cookies beside it, and a frame's own token, work as before.
    let jar = format!("theme=dark; {cookie}; lang=en");
    assert_eq!(code(&frame_with_cookie(&running, Some(SITE), &jar, alice).await), "ok");
    assert_eq!(
        code(&frame_with_cookie(&running, Some(SITE), "__Host-specserve-token=forged", alice).await),
        "unauthorized"
    );

    // A foreign site cannot log in or out on the user's behalf either.
    let body = json!({"email": "alice@example.com", "password": PASSWORD}).to_string();
    let origin = format!("Origin: {FOREIGN}");
    let (status, _, _) = post(&running, "/auth/login", &["Content-Type: application/json", &origin], &body).await;
    assert_eq!(status, 403);
    let (status, _, _) = post(
        &running,
        "/auth/logout",
        &[&origin, &format!("Cookie: {cookie}"), "Content-Type: application/json"],
        "{}",
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(code(&frame_with_cookie(&running, Some(SITE), &cookie, alice).await), "ok", "still logged in");

    // Logging out revokes the token and clears the cookie.
    let site = format!("Origin: {SITE}");
    let (status, head, _) =
        post(&running, "/auth/logout", &[&site, &format!("Cookie: {cookie}"), "Content-Type: application/json"], "{}")
            .await;
    assert_eq!(status, 200);
    assert!(set_cookie(&head).contains("Max-Age=0"), "{head}");
    assert_eq!(code(&frame_with_cookie(&running, Some(SITE), &cookie, alice).await), "unauthorized");
    running.stop().await;
}

async fn hostile_posts_are_refused_and_the_server_stays(db: TestDb) {
    let running = with_site(db).await;
    let json_type = "Content-Type: application/json";
    let cases: [(&str, Vec<&str>, String, u16); 6] = [
        ("/auth/login", vec!["Content-Type: application/x-www-form-urlencoded"], "email=a&password=b".into(), 415),
        ("/auth/login", vec![], "{}".into(), 415),
        ("/auth/login", vec![json_type], "x".repeat(9000), 413),
        ("/auth/login", vec![json_type], "{not json".into(), 400),
        (
            "/auth/login",
            vec![json_type],
            json!({"email": "a@example.com", "password": PASSWORD, "refresh": true}).to_string(),
            400,
        ),
        ("/nowhere", vec![json_type], "{}".into(), 404),
    ];
    for (path, headers, body, want) in cases {
        let (status, head, _) = post(&running, path, &headers, &body).await;
        assert_eq!(status, want, "{path} {headers:?}: {head}");
    }
    let (status, _) = net::get(&running.server, "/auth/login").await;
    assert_eq!(status, 404, "GET is not a log-in");
    // Logging out without a cookie: unauthorized, and the cookie is cleared anyway.
    let (status, head, _) = post(&running, "/auth/logout", &[json_type], "{}").await;
    assert_eq!(status, 401);
    assert!(set_cookie(&head).contains("Max-Age=0"));
    let (status, _) = net::get(&running.server, "/healthz").await;
    assert_eq!(status, 200);
    running.stop().await;
}

/// Without an allowlist a server cannot tell its own pages from others, so it
/// ignores cookies entirely; tokens in frames work as before.
async fn without_an_origin_allowlist_cookies_are_ignored(db: TestDb) {
    let running = app::start(db, test_config()).await;
    let mut conn = Conn::open(&running).await;
    let alice = conn.register("Alice", "alice@example.com", PASSWORD).await;
    let token = conn.login("alice@example.com", PASSWORD).await;
    let cookie = format!("{SESSION_COOKIE}={token}");
    assert_eq!(code(&frame_with_cookie(&running, Some(SITE), &cookie, alice).await), "unauthorized");
    assert_eq!(code(&conn.call("user/read", Some(&token), json!({"id": alice})).await), "ok");
    running.stop().await;
}

on_both_databases!(
    the_login_endpoint_sets_a_cookie_scripts_cannot_read,
    a_cookie_authenticates_only_from_an_allowed_origin,
    hostile_posts_are_refused_and_the_server_stays,
    without_an_origin_allowlist_cookies_are_ignored,
);

/// A page of the allowed origin on another host of the site (`app.` calling
/// `api.`) is granted the CORS preflight (POST, and the HTTP operations'
/// methods) and may read the
/// login's answer; any other origin, or a server without an allowlist, is refused.
#[tokio::test]
async fn an_allowed_origin_gets_a_cors_preflight_and_others_do_not() {
    let preflight = |origin: &str, method: &str| {
        format!(
            "OPTIONS /auth/login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nOrigin: {origin}\r\n\
             Access-Control-Request-Method: {method}\r\nAccess-Control-Request-Headers: content-type\r\n\r\n"
        )
    };
    let header = |head: &str, name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let running = with_site(common::db::sqlite().await).await;
    let (status, head, _) = net::http(&running.server, &preflight(SITE, "POST")).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "access-control-allow-origin").as_deref(), Some(SITE));
    assert_eq!(header(&head, "access-control-allow-credentials").as_deref(), Some("true"));
    // POST, and the methods of the spec's HTTP operations.
    assert_eq!(header(&head, "access-control-allow-methods").as_deref(), Some("POST,GET"));
    let headers = header(&head, "access-control-allow-headers").unwrap_or_default();
    assert!(headers.contains("content-type") && headers.contains("authorization"), "{head}");
    // Another site's page is refused outright.
    let (status, head, _) = net::http(&running.server, &preflight(FOREIGN, "POST")).await;
    assert_eq!((status, header(&head, "access-control-allow-origin")), (403, None), "{head}");
    // The site's page asking for another method hears what is offered,
    // which its browser then refuses to send.
    let (_, head, _) = net::http(&running.server, &preflight(SITE, "DELETE")).await;
    assert_eq!(header(&head, "access-control-allow-methods").as_deref(), Some("POST,GET"), "{head}");
    // The login itself, from that page: its answer is readable there.
    let mut conn = Conn::open(&running).await;
    conn.register("Alice", "alice@example.com", PASSWORD).await;
    let body = json!({"email": "alice@example.com", "password": PASSWORD}).to_string();
    let origin = format!("Origin: {SITE}");
    let (status, head, _) = post(&running, "/auth/login", &["Content-Type: application/json", &origin], &body).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "access-control-allow-origin").as_deref(), Some(SITE));
    running.stop().await;
    let open = app::start(common::db::sqlite().await, test_config()).await;
    let (status, head, _) = net::http(&open.server, &preflight(SITE, "POST")).await;
    assert_eq!((status, header(&head, "access-control-allow-origin")), (403, None), "{head}");
    open.stop().await;
}

/// One per-address budget for every way to log in: `POST /auth/login`
/// spends the one `auth/generateToken` frames spend (`--auth-per-ip-per-minute`).
#[tokio::test]
async fn the_login_endpoint_and_the_login_frame_share_one_budget_per_address() {
    // 9 a minute: a burst of 3.
    let config = AppConfig { auth_per_ip_per_minute: 9.0, ..test_config() };
    let running =
        app::start_with(common::db::sqlite().await, config, |c| c.allowed_origins = vec![SITE.to_owned()]).await;
    let guess = json!({"email": "alice@example.com", "password": "Guess12345"}).to_string();
    for n in 0..3 {
        let (status, _, reply) = post(&running, "/auth/login", &["Content-Type: application/json"], &guess).await;
        assert_eq!(status, 401, "guess {n}: {reply}");
    }
    let (status, _, reply) = post(&running, "/auth/login", &["Content-Type: application/json"], &guess).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&reply).unwrap()["error"]["code"].clone()),
        (429, json!("rate_limited"))
    );
    let frame =
        json!({"channel": "auth/generateToken", "payload": {"email": "alice@example.com", "password": "Guess12345"}});
    assert_eq!(code(&Conn::open(&running).await.send(frame).await), "rate_limited", "the frames' budget is spent too");
    assert!(running.audit.text().contains(r#""event":"rate_limited""#));
    running.stop().await;
}

/// A body over the limit is refused (413) as soon as its announced length
/// says so, before any of it is sent, and also when it streams in chunks
/// without announcing a length; the connection's server stays up.
#[tokio::test]
async fn an_oversized_body_is_refused_whether_announced_or_streamed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let running = with_site(common::db::sqlite().await).await;
    let fingerprint = running.server.fingerprint().unwrap();
    let exchange = |request: Vec<u8>| {
        let fingerprint = fingerprint.clone();
        let addr = running.server.local_addr();
        async move {
            let mut stream = net::tls_at(addr, &fingerprint).await;
            stream.write_all(&request).await.unwrap();
            let mut response = vec![0; 4096];
            let read = stream.read(&mut response).await.unwrap_or(0);
            String::from_utf8_lossy(&response[..read]).into_owned()
        }
    };
    // Announced: only the head is sent, and the answer comes without the body.
    let announced = "POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                     Content-Length: 100000\r\n\r\n";
    let response = exchange(announced.as_bytes().to_vec()).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    // Streamed: 9,000 bytes in chunks of 1,000, no length announced.
    let mut streamed = b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    for _ in 0..9 {
        streamed.extend_from_slice(b"3e8\r\n");
        streamed.extend_from_slice(&[b' '; 1000]);
        streamed.extend_from_slice(b"\r\n");
    }
    streamed.extend_from_slice(b"0\r\n\r\n");
    let response = exchange(streamed).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    let (status, _) = net::get(&running.server, "/healthz").await;
    assert_eq!(status, 200);
    running.stop().await;
}

/// A POST whose body trickles in (a byte every 100 ms, here against a
/// one-second body deadline) is answered 408 and its connection closed, so
/// a slow body holds no connection past the deadline.
#[tokio::test]
async fn a_post_body_that_trickles_in_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let running = app::start_with(common::db::sqlite().await, test_config(), |c| {
        c.limits.http_body_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let fingerprint = running.server.fingerprint().unwrap();
    let stream = net::tls_at(running.server.local_addr(), &fingerprint).await;
    let (mut reading, mut writing) = tokio::io::split(stream);
    let head =
        "POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 600\r\n\r\n";
    writing.write_all(head.as_bytes()).await.unwrap();
    let trickle = async move {
        // 600 bytes at 10 a second: a minute, were it not cut off.
        for _ in 0..600 {
            if writing.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    let answer = async move {
        let mut response = Vec::new();
        let _ = reading.read_to_end(&mut response).await;
        String::from_utf8_lossy(&response).into_owned()
    };
    let response = tokio::select! {
        response = answer => response,
        () = trickle => panic!("the whole slow body was taken"),
    };
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    let (status, metrics) = net::get(&running.server, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(net::metric(&metrics, "specserve_rejected_total{reason=\"slow_body\"}"), 1.0, "{metrics}");
    running.stop().await;
}
