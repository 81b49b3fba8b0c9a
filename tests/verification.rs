//! Email verification end to end, on both stores: the server mails a 6-digit
//! code through a real SMTP conversation (a listener this test starts), the
//! code is read from the received mail, and log-in waits for auth/verifyEmail.
//! Attempts, expiry and the resend throttle are checked the same way.

#[macro_use]
mod common;

use std::time::Duration;

use common::app::{self, Running, test_config};
use common::db::TestDb;
use common::frames::{Conn, code};
use common::smtp::Sink;
use serde_json::{Value, json};
use specserve::handlers::AppConfig;
use specserve::mail::Mailer;

const PASSWORD: &str = "SecretPass123";

/// The app with verification on, mailing through `sink`.
fn verifying(sink: &Sink, adjust: impl FnOnce(&mut AppConfig)) -> AppConfig {
    let mailer = Mailer::new(&sink.url, "specserve <no-reply@example.com>").expect("mailer");
    let mut config = AppConfig { email_verification: Some(mailer), ..test_config() };
    adjust(&mut config);
    config
}

async fn register(conn: &mut Conn, email: &str) -> Value {
    conn.send(json!({"channel": "auth/register", "payload": {"name": "Alice", "email": email, "password": PASSWORD}}))
        .await
}

async fn login(conn: &mut Conn, email: &str, password: &str) -> Value {
    conn.send(json!({"channel": "auth/generateToken", "payload": {"email": email, "password": password}})).await
}

async fn verify(conn: &mut Conn, email: &str, code: &str) -> Value {
    conn.send(json!({"channel": "auth/verifyEmail", "payload": {"email": email, "code": code}})).await
}

async fn resend(conn: &mut Conn, email: &str) -> Value {
    conn.send(json!({"channel": "auth/resendVerification", "payload": {"email": email}})).await
}

/// A code that is not `code`.
fn other_than(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

async fn a_new_account_logs_in_after_verifying_the_mailed_code(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |_| {})).await;
    let mut conn = Conn::open(&running).await;
    let registered = register(&mut conn, "alice@example.com").await;
    assert_eq!((code(&registered), &registered["emailVerificationRequired"]), ("ok", &json!(true)), "{registered}");
    let user_id = registered["userId"].clone();
    let mail = sink.next().await;
    assert_eq!(mail.to, ["alice@example.com"]);
    assert!(mail.data.contains("From: specserve <no-reply@example.com>"), "{}", mail.data);
    let otp = mail.code();
    assert!(otp.len() == 6 && otp.bytes().all(|b| b.is_ascii_digit()), "{otp}");

    // Not before verifying, and only the right password learns that.
    let early = login(&mut conn, "alice@example.com", PASSWORD).await;
    assert_eq!(code(&early), "email_not_verified", "{early}");
    assert_eq!(code(&login(&mut conn, "alice@example.com", "WrongPass123").await), "unauthorized");

    // A wrong code, an unknown email: the same refusal.
    let wrong = verify(&mut conn, "alice@example.com", &other_than(&otp)).await;
    let unknown = verify(&mut conn, "nobody@example.com", &otp).await;
    assert_eq!((code(&wrong), code(&unknown)), ("unauthorized", "unauthorized"));
    assert_eq!(wrong["error"]["message"], unknown["error"]["message"]);

    let verified = verify(&mut conn, "Alice@Example.com", &otp).await;
    assert_eq!((code(&verified), &verified["userId"]), ("ok", &user_id), "{verified}");
    assert_eq!(code(&login(&mut conn, "alice@example.com", PASSWORD).await), "ok");
    assert_eq!(code(&verify(&mut conn, "alice@example.com", &otp).await), "unauthorized", "a code works once");

    let audit = running.audit.text();
    assert!(audit.contains(r#""event":"email_verified""#), "{audit}");
    assert!(!audit.contains(&otp), "no code in the audit log");
    running.stop().await;
}

async fn five_wrong_codes_kill_the_code_and_a_resend_brings_a_new_one(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |c| c.verification_resend_interval = Duration::ZERO)).await;
    let mut conn = Conn::open(&running).await;
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok");
    let first = sink.next().await.code();
    for _ in 0..5 {
        let reply = verify(&mut conn, "alice@example.com", &other_than(&first)).await;
        assert_eq!(reply["error"]["message"], "invalid verification code", "{reply}");
    }
    let dead = verify(&mut conn, "alice@example.com", &first).await;
    assert_eq!(code(&dead), "unauthorized");
    assert!(dead["error"]["message"].as_str().unwrap().contains("auth/resendVerification"), "{dead}");

    assert_eq!(code(&resend(&mut conn, "alice@example.com").await), "ok");
    let mail = sink.next().await;
    assert_eq!(mail.to, ["alice@example.com"]);
    let second = mail.code();
    if second != first {
        assert_eq!(code(&verify(&mut conn, "alice@example.com", &first).await), "unauthorized", "the old code is gone");
    }
    assert_eq!(code(&verify(&mut conn, "alice@example.com", &second).await), "ok", "fresh attempts");
    // Verified accounts get no more codes.
    assert_eq!(code(&resend(&mut conn, "alice@example.com").await), "ok");
    assert!(sink.try_next().is_none(), "no mail to a verified account");
    running.stop().await;
}

async fn parallel_guesses_cannot_exceed_the_attempts(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |_| {})).await;
    let mut conn = Conn::open(&running).await;
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok");
    let otp = sink.next().await.code();
    // Twelve wrong guesses at once, each on its own connection.
    let mut guessers = Vec::new();
    for n in 0..12u32 {
        let mut guesser = Conn::open(&running).await;
        let wrong = format!("{:06}", (otp.parse::<u32>().unwrap() + 1 + n) % 1_000_000);
        guessers.push(tokio::spawn(async move {
            code(&verify(&mut guesser, "alice@example.com", &wrong).await).to_owned()
        }));
    }
    for guesser in guessers {
        assert_eq!(guesser.await.unwrap(), "unauthorized");
    }
    // However they interleaved, the code died after five: the right one is refused.
    let late = verify(&mut conn, "alice@example.com", &otp).await;
    assert!(late["error"]["message"].as_str().unwrap_or_default().contains("no longer valid"), "{late}");
    running.stop().await;
}

async fn resends_are_throttled_and_reveal_nothing(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |_| {})).await;
    let mut conn = Conn::open(&running).await;
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok");
    let first = sink.next().await.code();
    // Within the minute: the same success, no mail, and the code still works.
    let throttled = resend(&mut conn, "alice@example.com").await;
    let unknown = resend(&mut conn, "nobody@example.com").await;
    assert_eq!((code(&throttled), code(&unknown)), ("ok", "ok"));
    assert_eq!(throttled.as_object().map(|o| o.len()), unknown.as_object().map(|o| o.len()));
    assert!(sink.try_next().is_none(), "mail is sent before the reply, so none was sent");
    assert_eq!(code(&verify(&mut conn, "alice@example.com", &first).await), "ok");
    running.stop().await;
}

async fn an_expired_code_is_refused(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |c| c.verification_code_ttl = Duration::ZERO)).await;
    let mut conn = Conn::open(&running).await;
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok");
    let otp = sink.next().await.code();
    let reply = verify(&mut conn, "alice@example.com", &otp).await;
    assert_eq!(code(&reply), "unauthorized");
    assert!(reply["error"]["message"].as_str().unwrap().contains("no longer valid"), "{reply}");
    assert_eq!(code(&login(&mut conn, "alice@example.com", PASSWORD).await), "email_not_verified");
    running.stop().await;
}

async fn without_the_flag_registration_is_seed_000s(running: Running) {
    let mut conn = Conn::open(&running).await;
    let registered = register(&mut conn, "alice@example.com").await;
    assert_eq!(registered.as_object().unwrap().keys().collect::<Vec<_>>(), ["success", "channel", "userId"]);
    assert_eq!(code(&login(&mut conn, "alice@example.com", PASSWORD).await), "ok");
    assert_eq!(code(&verify(&mut conn, "alice@example.com", "123456").await), "unauthorized");
    assert_eq!(code(&resend(&mut conn, "alice@example.com").await), "ok");
}

async fn malformed_verification_requests_are_refused(running: Running) {
    let mut conn = Conn::open(&running).await;
    for code_value in [json!("12345"), json!("1234567"), json!("12a456"), json!(123456), json!(" 123456")] {
        let reply = conn
            .send(json!({"channel": "auth/verifyEmail", "payload": {"email": "a@example.com", "code": code_value}}))
            .await;
        assert_eq!(code(&reply), "validation_failed", "{code_value}: {reply}");
    }
    let reply = conn.send(json!({"channel": "auth/resendVerification", "payload": {"email": "not-an-email"}})).await;
    assert_eq!(code(&reply), "validation_failed");
    assert_eq!(code(&resend(&mut conn, "a@example.com").await), "ok", "the connection stays");
}

on_both_stores!(without_the_flag_registration_is_seed_000s, malformed_verification_requests_are_refused);

on_both_databases!(
    a_new_account_logs_in_after_verifying_the_mailed_code,
    five_wrong_codes_kill_the_code_and_a_resend_brings_a_new_one,
    resends_are_throttled_and_reveal_nothing,
    parallel_guesses_cannot_exceed_the_attempts,
    an_expired_code_is_refused,
);

/// When the SMTP server is down the account is still made (unverified); the
/// user asks for a resend later.
#[tokio::test]
async fn registration_survives_a_mail_server_that_is_down() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mailer = Mailer::new(&format!("smtp://{closed}"), "specserve <no-reply@example.com>").unwrap();
    let config = AppConfig { email_verification: Some(mailer), ..test_config() };
    let running = app::start(common::db::sqlite().await, config).await;
    let mut conn = Conn::open(&running).await;
    let registered = register(&mut conn, "alice@example.com").await;
    assert_eq!(code(&registered), "ok", "{registered}");
    assert_eq!(code(&login(&mut conn, "alice@example.com", PASSWORD).await), "email_not_verified");
    running.stop().await;
}

/// The typed Rust client, as an app author would use it.
#[tokio::test]
async fn the_typed_client_verifies_an_email() {
    use specserve::api::{AuthGenerateTokenPayload, AuthRegisterPayload, AuthVerifyEmailPayload, ErrorCode};
    use specserve_runtime::client::ClientError;

    let mut sink = Sink::start().await;
    let running = app::start(common::db::sqlite().await, verifying(&sink, |_| {})).await;
    let client = common::net::client(&running.server).await;
    let register =
        AuthRegisterPayload { name: "Alice".into(), email: "alice@example.com".into(), password: PASSWORD.into() };
    let registered = client.auth_register(&register).await.unwrap();
    assert_eq!(registered.email_verification_required, Some(true));
    let login =
        AuthGenerateTokenPayload { email: "alice@example.com".into(), password: PASSWORD.into(), refresh: None };
    match client.auth_generate_token(&login).await {
        Err(ClientError::Api(body)) => assert_eq!(body.code, ErrorCode::EmailNotVerified),
        other => panic!("expected email_not_verified, got {other:?}"),
    }
    let code = sink.next().await.code();
    let verify = AuthVerifyEmailPayload { email: "alice@example.com".into(), code };
    assert_eq!(client.auth_verify_email(&verify).await.unwrap().user_id, registered.user_id);
    assert!(client.auth_generate_token(&login).await.is_ok());
    running.stop().await;
}
