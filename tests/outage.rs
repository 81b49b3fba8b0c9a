//! A MariaDB outage in the middle of traffic, on a private MariaDB instance (its
//! own port and data directory, so the shared service is untouched): requests
//! fail fast with `unavailable`, `/readyz` says 503, nothing hangs, and after the
//! database returns the server recovers by itself with no acknowledged write lost.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::app::{self, test_config};
use common::db::TestDb;
use common::net;
use specserve::api::ClientError;
use specserve::api::*;

const MARIADBD: &str = "/usr/sbin/mariadbd";

/// A throwaway MariaDB server.
struct PrivateMariaDb {
    dir: PathBuf,
    port: u16,
    process: Option<Child>,
}

impl PrivateMariaDb {
    fn create() -> Option<PrivateMariaDb> {
        if !Path::new(MARIADBD).exists() {
            common::skip_unless_ci(MARIADBD);
            return None;
        }
        let dir = std::env::temp_dir().join(format!("specserve-outage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--datadir={}", dir.join("data").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mariadb-install-db runs");
        assert!(status.success(), "mariadb-install-db failed");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut db = PrivateMariaDb { dir, port, process: None };
        db.start();
        Some(db)
    }

    fn start(&mut self) {
        let child = Command::new(MARIADBD)
            .args(["--no-defaults", "--user=root", "--skip-grant-tables", "--bind-address=127.0.0.1"])
            .arg(format!("--port={}", self.port))
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .arg(format!("--pid-file={}", self.dir.join("pid").display()))
            .arg(format!("--log-error={}", self.dir.join("error.log").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        self.process = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "mariadbd did not open its port");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/specserve", self.port)
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn database_outage_fails_fast_and_recovers_without_losing_writes() {
    let Some(mut mariadb) = PrivateMariaDb::create() else { return };
    let admin = format!("mysql://root@127.0.0.1:{}/mysql", mariadb.port);
    {
        use sqlx::Connection;
        let mut conn = sqlx::MySqlConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql("CREATE DATABASE specserve").execute(&mut conn).await.unwrap();
    }
    let store = specserve::store::Database::connect(&mariadb.url()).await.unwrap();
    store.migrate().await.unwrap();
    let running = app::start(TestDb::external(store, mariadb.url()), test_config()).await;
    let client = net::client(&running.server).await;
    let alice = common::register_alice(&client).await;

    mariadb.stop();
    let failed = tokio::time::timeout(Duration::from_secs(10), client.user_read(&UserRef { id: alice }))
        .await
        .expect("a request during the outage must not hang");
    match failed {
        Err(ClientError::Api(body)) => assert_eq!(body.code, ErrorCode::Unavailable),
        other => panic!("expected unavailable, got {other:?}"),
    }
    let bob =
        AuthRegisterPayload { name: "Bob".into(), email: "bob@example.com".into(), password: "SecretPass123".into() };
    let register = client.auth_register(&bob);
    match tokio::time::timeout(Duration::from_secs(10), register).await.expect("no hang") {
        Err(ClientError::Api(body)) => assert_eq!(body.code, ErrorCode::Unavailable),
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert_eq!(net::get(&running.server, "/readyz").await.0, 503);
    assert_eq!(net::get(&running.server, "/healthz").await.0, 200, "the process itself is fine");

    mariadb.start();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while net::get(&running.server, "/readyz").await.0 != 200 {
        assert!(tokio::time::Instant::now() < deadline, "readyz never turned 200 after the database returned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let read = client.user_read(&UserRef { id: alice }).await.expect("recovered without a restart");
    assert_eq!(read.email, "alice@example.com", "the write acknowledged before the outage survived");
    running.server.shutdown().await;
}
