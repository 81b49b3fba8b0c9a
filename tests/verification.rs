//! Email verification end to end, on both stores: the server mails a 6-digit
//! code through a real SMTP conversation (a listener this test starts), the
//! code is read from the received mail, and log-in waits for auth/verifyEmail.
//! Attempts, expiry, the daily budget and the resend throttle are checked the
//! same way, and so is what a prober learns: nothing. Every reply is the same
//! for an account that exists and one that does not, and none waits for SMTP.
//!
//! Mail leaves after the reply, one at a time in the order queued: "no mail
//! was sent" is shown by a marker mail queued later arriving first.

#[macro_use]
mod common;

use std::time::Duration;

use common::app::{self, Running, test_config};
use common::db::TestDb;
use common::frames::{Conn, code, seeded_user};
use common::smtp::{Sink, Tarpit};
use serde_json::{Value, json};
use specserve::api::Role;
use specserve::handlers::{AppConfig, EmailVerification};
use specserve::mail::Mailer;
use specserve::security::secret::Secret;

const PASSWORD: &str = "SecretPass123";

/// The app with verification on, mailing through the SMTP server at `url`.
fn verifying_through(url: &str, adjust: impl FnOnce(&mut AppConfig)) -> AppConfig {
    let mailer = Mailer::new(url, "specserve <no-reply@example.com>").expect("mailer");
    let secret = Secret::generate().expect("randomness");
    let mut config = AppConfig { email_verification: Some(EmailVerification { mailer, secret }), ..test_config() };
    adjust(&mut config);
    config
}

fn verifying(sink: &Sink, adjust: impl FnOnce(&mut AppConfig)) -> AppConfig {
    verifying_through(&sink.url, adjust)
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

/// Registers `marker@example.com` and takes the next mail, which must be its
/// code: whatever was asked before it sent no mail.
async fn no_mail_before_the_marker(conn: &mut Conn, sink: &mut Sink) {
    assert_eq!(code(&register(conn, "marker@example.com").await), "ok");
    let next = sink.next().await;
    assert_eq!(next.to, ["marker@example.com"], "a mail came before the marker: {}", next.data);
}

/// The one refusal of auth/verifyEmail, whatever went wrong.
const REFUSED: &str =
    "invalid or expired verification code: check it, or ask for a new one with auth/resendVerification";

fn refusal(reply: &Value) -> (String, Value) {
    (code(reply).to_owned(), reply["error"].clone())
}

async fn a_new_account_logs_in_after_verifying_the_mailed_code(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |_| {})).await;
    let mut conn = Conn::open(&running).await;
    let registered = register(&mut conn, "alice@example.com").await;
    assert_eq!((code(&registered), &registered["emailVerificationRequired"]), ("ok", &json!(true)), "{registered}");
    assert!(registered.get("userId").is_none(), "the id comes with verification: {registered}");
    let mail = sink.next().await;
    assert_eq!(mail.to, ["alice@example.com"]);
    assert!(mail.data.contains("From: specserve <no-reply@example.com>"), "{}", mail.data);
    let otp = mail.code();
    assert!(otp.len() == 6 && otp.bytes().all(|b| b.is_ascii_digit()), "{otp}");

    // Not before verifying, and only the right password learns that.
    let early = login(&mut conn, "alice@example.com", PASSWORD).await;
    assert_eq!(code(&early), "email_not_verified", "{early}");
    assert_eq!(code(&login(&mut conn, "alice@example.com", "WrongPass123").await), "unauthorized");

    let verified = verify(&mut conn, "Alice@Example.com", &otp).await;
    assert_eq!(code(&verified), "ok", "{verified}");
    let user_id = verified["userId"].as_i64().expect("the account's id");
    assert_eq!(code(&login(&mut conn, "alice@example.com", PASSWORD).await), "ok");
    assert_eq!(refusal(&verify(&mut conn, "alice@example.com", &otp).await).0, "unauthorized", "a code works once");

    // The database keeps neither the code nor its plain hash: an HMAC under
    // the server secret, which is not in the database.
    let store = running.db.store();
    assert!(!store.is_unverified(user_id).await.unwrap());
    let audit = running.audit.text();
    assert!(audit.contains(r#""event":"email_verified""#), "{audit}");
    assert!(!audit.contains(&otp), "no code in the audit log");
    running.stop().await;
}

/// Every way a code can fail answers the same, word for word: a wrong code,
/// an unknown email, a verified account, a spent code, an expired one.
async fn verify_email_answers_alike_whatever_the_account(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |c| c.verification_resend_interval = Duration::ZERO)).await;
    let mut conn = Conn::open(&running).await;
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok");
    let otp = sink.next().await.code();
    let mut seen = Vec::new();
    seen.push(refusal(&verify(&mut conn, "alice@example.com", &other_than(&otp)).await));
    seen.push(refusal(&verify(&mut conn, "nobody@example.com", &otp).await));
    for _ in 0..5 {
        seen.push(refusal(&verify(&mut conn, "alice@example.com", &other_than(&otp)).await));
    }
    seen.push(refusal(&verify(&mut conn, "alice@example.com", &otp).await)); // spent by 5 wrong ones
    assert_eq!(code(&resend(&mut conn, "alice@example.com").await), "ok");
    let fresh = sink.next().await.code();
    assert_eq!(code(&verify(&mut conn, "alice@example.com", &fresh).await), "ok");
    seen.push(refusal(&verify(&mut conn, "alice@example.com", &fresh).await)); // verified already
    let expected = ("unauthorized".to_owned(), json!({"code": "unauthorized", "message": REFUSED}));
    for (n, reply) in seen.iter().enumerate() {
        assert_eq!(reply, &expected, "case {n}");
    }
    running.stop().await;
}

/// A resend starts a code's own five tries over, but not the day's twenty:
/// after four codes' worth of wrong guesses, even the right code of a fifth
/// is refused until the day is over.
async fn the_day_caps_guesses_across_resends(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |c| c.verification_resend_interval = Duration::ZERO)).await;
    let mut conn = Conn::open(&running).await;
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok");
    let mut otp = sink.next().await.code();
    for _ in 0..4 {
        for _ in 0..5 {
            assert_eq!(code(&verify(&mut conn, "alice@example.com", &other_than(&otp)).await), "unauthorized");
        }
        assert_eq!(code(&resend(&mut conn, "alice@example.com").await), "ok");
        otp = sink.next().await.code();
    }
    let refused = verify(&mut conn, "alice@example.com", &otp).await;
    assert_eq!(refusal(&refused).0, "unauthorized", "twenty wrong codes a day, then none: {refused}");
    assert_eq!(code(&login(&mut conn, "alice@example.com", PASSWORD).await), "email_not_verified");
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
    assert_eq!(code(&verify(&mut conn, "alice@example.com", &otp).await), "unauthorized");
    assert_eq!(code(&login(&mut conn, "alice@example.com", PASSWORD).await), "email_not_verified");
    running.stop().await;
}

/// Within the resend interval nothing is mailed, and an unknown email gets
/// the same success; the code mailed first still works.
async fn resends_are_throttled_and_reveal_nothing(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |_| {})).await;
    let mut conn = Conn::open(&running).await;
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok");
    let first = sink.next().await.code();
    let throttled = resend(&mut conn, "alice@example.com").await;
    let unknown = resend(&mut conn, "nobody@example.com").await;
    assert_eq!((code(&throttled), code(&unknown)), ("ok", "ok"));
    assert_eq!(throttled, unknown, "word for word");
    no_mail_before_the_marker(&mut conn, &mut sink).await;
    assert_eq!(code(&verify(&mut conn, "alice@example.com", &first).await), "ok");
    // Verified accounts get no more codes.
    assert_eq!(code(&resend(&mut conn, "alice@example.com").await), "ok");
    running.stop().await;
}

/// Registering an email that has an account answers exactly as registering
/// a new one (OWASP): the caller learns nothing, the owner gets a mail
/// saying someone tried (once a minute at most), and no code.
async fn registering_a_taken_email_answers_alike_and_mails_its_owner(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |_| {})).await;
    let mut conn = Conn::open(&running).await;
    let new = register(&mut conn, "alice@example.com").await;
    assert_eq!(sink.next().await.to, ["alice@example.com"]);
    let taken = register(&mut conn, "Alice@example.com").await;
    assert_eq!(new, taken, "word for word");
    let notice = sink.next().await;
    assert_eq!(notice.to, ["alice@example.com"]);
    assert!(notice.data.contains("registered already"), "{}", notice.data);
    assert!(!notice.data.contains("code is"), "no code for the one who tried: {}", notice.data);
    // Trying again within the minute mails nothing more.
    assert_eq!(register(&mut conn, "alice@example.com").await, new);
    no_mail_before_the_marker(&mut conn, &mut sink).await;
    assert!(running.audit.text().contains(r#""event":"register_taken_email""#));
    running.stop().await;
}

/// No account logs in before its email is verified, whoever created it: a
/// user's user/create makes an unverified account (a code is mailed); only
/// an admin may mark an email verified, on create or update, audited.
async fn accounts_others_create_are_verified_too(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |_| {})).await;
    let mut conn = Conn::open(&running).await;
    let (_, user_token) = seeded_user(&running, &mut conn, "creator@example.com", Role::User, None).await;
    let (_, admin_token) = seeded_user(&running, &mut conn, "root@example.com", Role::Admin, None).await;
    let create = |email: &str, verified: bool| {
        let mut payload = json!({"name": "Made", "email": email, "password": PASSWORD});
        if verified {
            payload["emailVerified"] = json!(true);
        }
        payload
    };
    let made = conn.call("user/create", Some(&user_token), create("made@example.com", false)).await;
    assert_eq!(code(&made), "ok", "{made}");
    assert_eq!(code(&login(&mut conn, "made@example.com", PASSWORD).await), "email_not_verified");
    let mail = sink.next().await;
    assert_eq!(mail.to, ["made@example.com"]);
    assert_eq!(code(&verify(&mut conn, "made@example.com", &mail.code()).await), "ok");
    assert_eq!(code(&login(&mut conn, "made@example.com", PASSWORD).await), "ok");

    let refused = conn.call("user/create", Some(&user_token), create("sneaky@example.com", true)).await;
    assert_eq!(code(&refused), "forbidden", "{refused}");
    let vouched = conn.call("user/create", Some(&admin_token), create("vouched@example.com", true)).await;
    assert_eq!(code(&vouched), "ok", "{vouched}");
    assert_eq!(code(&login(&mut conn, "vouched@example.com", PASSWORD).await), "ok", "an admin's word for it");

    let later = conn.call("user/create", Some(&admin_token), create("later@example.com", false)).await;
    let later_id = later["userId"].clone();
    assert_eq!(sink.next().await.to, ["later@example.com"]);
    let mark = json!({"id": later_id, "emailVerified": true});
    assert_eq!(code(&conn.call("user/update", Some(&user_token), mark.clone()).await), "forbidden");
    assert_eq!(code(&conn.call("user/update", Some(&admin_token), mark).await), "ok");
    assert_eq!(code(&login(&mut conn, "later@example.com", PASSWORD).await), "ok");
    let marked = running.audit.text().matches(r#""event":"email_marked_verified""#).count();
    assert_eq!(marked, 2, "{}", running.audit.text());
    running.stop().await;
}

async fn an_expired_code_is_refused(db: TestDb) {
    let mut sink = Sink::start().await;
    let running = app::start(db, verifying(&sink, |c| c.verification_code_ttl = Duration::ZERO)).await;
    let mut conn = Conn::open(&running).await;
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok");
    let otp = sink.next().await.code();
    assert_eq!(refusal(&verify(&mut conn, "alice@example.com", &otp).await).1["message"], REFUSED);
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
    // The account is usable at once, so a taken email is said: seed 000's `conflict`.
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "conflict");
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
    verify_email_answers_alike_whatever_the_account,
    the_day_caps_guesses_across_resends,
    resends_are_throttled_and_reveal_nothing,
    parallel_guesses_cannot_exceed_the_attempts,
    registering_a_taken_email_answers_alike_and_mails_its_owner,
    accounts_others_create_are_verified_too,
    an_expired_code_is_refused,
);

/// Replies never wait for the mail server: with one that accepts and then
/// never answers, register and resend answer while the mail is still stuck
/// (had they waited for it, they could not answer before the test lets the
/// mail server go, and the test would hang).
#[tokio::test]
async fn replies_do_not_wait_for_the_mail_server() {
    let mut tarpit = Tarpit::start().await;
    let config = verifying_through(&tarpit.url, |c| c.verification_resend_interval = Duration::ZERO);
    let running = app::start(common::db::sqlite().await, config).await;
    let mut conn = Conn::open(&running).await;
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok");
    tarpit.connected().await;
    assert_eq!(code(&resend(&mut conn, "alice@example.com").await), "ok");
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok", "a taken email, its notice queued");
    assert_eq!(code(&login(&mut conn, "alice@example.com", PASSWORD).await), "email_not_verified");
    drop(tarpit);
    running.stop().await;
}

/// When the SMTP server is down the account is still made (unverified); the
/// user asks for a resend later.
#[tokio::test]
async fn registration_survives_a_mail_server_that_is_down() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config = verifying_through(&format!("smtp://{closed}"), |_| {});
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
    assert_eq!((registered.email_verification_required, registered.user_id), (Some(true), None));
    let login =
        AuthGenerateTokenPayload { email: "alice@example.com".into(), password: PASSWORD.into(), refresh: None };
    match client.auth_generate_token(&login).await {
        Err(ClientError::Api(body)) => assert_eq!(body.code, ErrorCode::EmailNotVerified),
        other => panic!("expected email_not_verified, got {other:?}"),
    }
    let code = sink.next().await.code();
    let verify = AuthVerifyEmailPayload { email: "alice@example.com".into(), code };
    assert!(client.auth_verify_email(&verify).await.unwrap().user_id > 0);
    assert!(client.auth_generate_token(&login).await.is_ok());
    running.stop().await;
}

/// The database keeps an HMAC of each code under the server secret, which
/// is not in the database: a copy of it cannot be searched for the code (a
/// plain SHA-256 of the million candidates falls in a second).
#[tokio::test]
async fn a_stored_code_is_keyed_by_the_server_secret() {
    use sqlx::Connection;
    let mut sink = Sink::start().await;
    let secret = Secret::generate().unwrap();
    let mailer = Mailer::new(&sink.url, "specserve <no-reply@example.com>").unwrap();
    let verification = EmailVerification { mailer, secret: secret.clone() };
    let config = AppConfig { email_verification: Some(verification), ..test_config() };
    let running = app::start(common::db::sqlite().await, config).await;
    let mut conn = Conn::open(&running).await;
    assert_eq!(code(&register(&mut conn, "alice@example.com").await), "ok");
    let otp = sink.next().await.code();
    let mut db = sqlx::SqliteConnection::connect(running.db.url()).await.unwrap();
    let (stored,): (Vec<u8>,) =
        sqlx::query_as("SELECT code_hash FROM email_verifications").fetch_one(&mut db).await.unwrap();
    assert_eq!(stored, specserve::security::codes::hash(&secret, "alice@example.com", &otp));
    let plain = <sha2::Sha256 as sha2::Digest>::digest(format!("alice@example.com\0{otp}").as_bytes());
    assert_ne!(stored, plain.to_vec());
    running.stop().await;
}
