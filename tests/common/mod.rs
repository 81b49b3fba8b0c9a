//! An in-memory implementation of the generated handler traits, so the
//! generated dispatcher and client can be tested without a database.
#![allow(dead_code, unused_macros)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use specserve::api::*;
use specserve::security::Identity;
use specserve_runtime::{ApiError, ConnectionInfo, Credential, Open, Secured};

/// The token of the admin every [`Memory`] starts with (user 1).
pub const ADMIN_TOKEN: &str = "admin-token";

/// `user/read` of this id waits until [`Memory::release`] is called: a request
/// that is still in flight when a test wants it to be.
pub const SLOW_USER: i64 = 777;

/// One test module per store: `sqlite::name` always, `mysql::name` when
/// `SPECSERVE_TEST_MYSQL_URL` names a server. Each test is an
/// `async fn(Running)` in the including file, started with `test_config()`.
macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        on_both_stores!(@adjusted |_| {}, sqlite, mysql; $($test),*);
    };
    (@adjusted $adjust:expr, $sqlite:ident, $mysql:ident; $($test:ident),*) => {
        mod $sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let db = crate::common::db::sqlite().await;
                    let config = crate::common::app::test_config();
                    super::$test(crate::common::app::start_with(db, config, $adjust).await).await;
                }
            )*
        }
        mod $mysql {
            $(
                #[tokio::test]
                async fn $test() {
                    if let Some(db) = crate::common::db::mysql().await {
                        let config = crate::common::app::test_config();
                        super::$test(crate::common::app::start_with(db, config, $adjust).await).await;
                    }
                }
            )*
        }
    };
}

/// Like `on_both_stores!`, on a server of two per-core workers (`--workers 2`)
/// instead of the test's own runtime.
#[allow(unused_macros)]
macro_rules! on_per_core_workers {
    ($($test:ident),* $(,)?) => {
        on_both_stores!(@adjusted crate::common::net::two_workers, per_core_sqlite, per_core_mysql; $($test),*);
    };
}

/// Like `on_both_stores!`, for tests that start their own server: each gets
/// the test database only (SQLite, and MySQL when configured).
#[allow(unused_macros)]
macro_rules! on_both_databases {
    ($($test:ident),* $(,)?) => {
        mod sqlite_db {
            $(#[tokio::test] async fn $test() { super::$test(crate::common::db::sqlite().await).await; })*
        }
        mod mysql_db {
            $(#[tokio::test] async fn $test() {
                let Some(db) = crate::common::db::mysql().await else { return };
                super::$test(db).await;
            })*
        }
    };
}

/// Users and tokens in a mutex: just enough behaviour to exercise every path.
pub struct Memory {
    state: Mutex<State>,
    /// What `/readyz` reports.
    pub ready: AtomicBool,
    /// Signalled when a slow read has started.
    pub slow_started: Notify,
    slow_release: Notify,
    /// Notified when a slow `user/read` was released and returned.
    pub slow_finished: Notify,
}

struct State {
    users: HashMap<i64, (String, String, Role)>,
    tokens: HashMap<String, i64>,
    next_id: i64,
}

impl Default for Memory {
    fn default() -> Self {
        let mut users = HashMap::new();
        users.insert(1, ("Root".to_owned(), "root@example.com".to_owned(), Role::Admin));
        let tokens = HashMap::from([(ADMIN_TOKEN.to_owned(), 1)]);
        Memory {
            state: Mutex::new(State { users, tokens, next_id: 2 }),
            ready: AtomicBool::new(true),
            slow_started: Notify::new(),
            slow_release: Notify::new(),
            slow_finished: Notify::new(),
        }
    }
}

impl Memory {
    /// Lets the pending slow read finish.
    pub fn release(&self) {
        self.slow_release.notify_one();
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("test state lock")
    }
}

/// The generated API's context: tokens from the map, readiness from the flag.
impl specserve_runtime::Context for Memory {
    type Principal = Identity;
    type Policy = Policy;

    async fn authenticate(
        &self,
        credential: Credential<'_>,
        _connection: &ConnectionInfo,
    ) -> Result<Identity, ApiError> {
        let state = self.state();
        let user_id = *state.tokens.get(credential.value).ok_or_else(ApiError::unauthorized)?;
        let role = state.users.get(&user_id).map(|u| u.2).ok_or_else(ApiError::unauthorized)?;
        Ok(Identity { user_id, role, token_id: 0, scopes: None })
    }

    async fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

impl Handlers for Memory {
    type Context = Self;
    type Auth = Self;
    type User = Self;
    // The chat groups, which these tests do not exercise, answer `not_implemented`.
    type Room = Unimplemented<Memory>;
    type Message = Unimplemented<Memory>;
    type Presence = Unimplemented<Memory>;
    type Token = Unimplemented<Memory>;
    type Announcement = Unimplemented<Memory>;
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such user")
}

impl AuthApi for Memory {
    type Context = Self;

    async fn register(rq: Open<'_, Self>, request: AuthRegisterPayload) -> Result<AuthRegisterReply, ApiError> {
        let mut state = rq.context().state();
        if state.users.values().any(|u| u.1.eq_ignore_ascii_case(&request.email)) {
            return Err(ApiError::new(ErrorCode::Conflict, "email is already registered"));
        }
        let id = state.next_id;
        state.next_id += 1;
        state.users.insert(id, (request.name, request.email, Role::User));
        Ok(AuthRegisterReply { user_id: Some(id), email_verification_required: None })
    }

    async fn verify_email(_: Open<'_, Self>, _: AuthVerifyEmailPayload) -> Result<AuthVerifyEmailReply, ApiError> {
        Err(ApiError::not_implemented("authVerifyEmail"))
    }

    async fn resend_verification(_: Open<'_, Self>, _: AuthResendVerificationPayload) -> Result<(), ApiError> {
        Err(ApiError::not_implemented("authResendVerification"))
    }

    async fn generate_token(
        rq: Open<'_, Self>,
        request: AuthGenerateTokenPayload,
    ) -> Result<AuthGenerateTokenReply, ApiError> {
        let mut state = rq.context().state();
        let id = state.users.iter().find(|(_, u)| u.1 == request.email).map(|(id, _)| *id);
        let id = id.ok_or_else(ApiError::unauthorized)?;
        let token = format!("token-{id}");
        state.tokens.insert(token.clone(), id);
        Ok(AuthGenerateTokenReply {
            token,
            expires_at: "2030-01-01T00:00:00Z".into(),
            refresh_token: None,
            refresh_expires_at: None,
        })
    }

    /// Says who; no chat here, so nothing to catch up.
    async fn bind(rq: Secured<'_, Self>, _request: AuthBindPayload) -> Result<AuthBindReply, ApiError> {
        let (principal, limits) = (rq.principal(), rq.connection().limits());
        let session = BoundSession {
            user_id: principal.user_id,
            role: principal.role,
            token_id: principal.token_id,
            limits: ConnectionLimits {
                max_message_bytes: limits.max_message_bytes.try_into().unwrap_or(i64::MAX),
                frames_per_second: limits.frames_per_second,
                frame_burst: limits.frame_burst,
                event_queue: limits.event_queue.try_into().unwrap_or(i64::MAX),
            },
        };
        Ok(AuthBindReply { user_id: principal.user_id, session, missed: None, resync: None })
    }

    async fn refresh(_: Open<'_, Self>, _: AuthRefreshPayload) -> Result<AuthRefreshReply, ApiError> {
        Err(ApiError::not_implemented("authRefresh"))
    }

    async fn logout(rq: Secured<'_, Self>, _request: AuthLogoutPayload) -> Result<(), ApiError> {
        let user_id = rq.principal().user_id;
        rq.context().state().tokens.retain(|_, user| *user != user_id);
        Ok(())
    }
}

impl UserApi for Memory {
    type Context = Self;

    async fn create(rq: Secured<'_, Self>, request: UserCreatePayload) -> Result<UserCreateReply, ApiError> {
        let mut state = rq.context().state();
        let id = state.next_id;
        state.next_id += 1;
        state.users.insert(id, (request.name, request.email, request.role.unwrap_or(Role::User)));
        Ok(UserCreateReply { user_id: id })
    }

    async fn read(rq: Secured<'_, Self>, request: UserRef) -> Result<UserReadReply, ApiError> {
        let memory = rq.context();
        if request.id == SLOW_USER {
            memory.slow_started.notify_one();
            memory.slow_release.notified().await;
            memory.slow_finished.notify_one();
            return Err(not_found());
        }
        let state = memory.state();
        let (name, email, role) = state.users.get(&request.id).cloned().ok_or_else(not_found)?;
        Ok(UserReadReply { id: request.id, name, email, role, created_at: "2025-05-15T12:30:00Z".into() })
    }

    async fn update(rq: Secured<'_, Self>, request: UserUpdatePayload) -> Result<(), ApiError> {
        let principal = rq.principal();
        if principal.role != Role::Admin && principal.user_id != request.id {
            return Err(ApiError::new(ErrorCode::Forbidden, "not allowed on this user"));
        }
        let mut state = rq.context().state();
        let user = state.users.get_mut(&request.id).ok_or_else(not_found)?;
        if let Some(name) = request.name {
            user.0 = name;
        }
        if let Some(email) = request.email {
            user.1 = email;
        }
        Ok(())
    }

    async fn delete(rq: Secured<'_, Self>, request: UserRef) -> Result<(), ApiError> {
        if request.id == 999 {
            return Err(ApiError::internal(std::io::Error::other("disk on fire at /var/lib/secret")));
        }
        rq.context().state().users.remove(&request.id).ok_or_else(not_found)?;
        Ok(())
    }

    /// Everyone, by id, whose name contains the query (no policy here: these
    /// tests exercise the generated side, `tests/directory.rs` the app's).
    async fn directory(rq: Secured<'_, Self>, request: DirectoryPayload) -> Result<UserDirectoryReply, ApiError> {
        let state = rq.context().state();
        let mut users: Vec<DirectoryEntry> = state
            .users
            .iter()
            .filter(|(id, (name, _, _))| {
                **id > request.after.unwrap_or(0) && request.query.as_ref().is_none_or(|q| name.contains(q.as_str()))
            })
            .map(|(id, (name, _, _))| DirectoryEntry { user_id: *id, name: name.clone(), online: false })
            .collect();
        users.sort_by_key(|user| user.user_id);
        users.truncate(usize::try_from(request.limit).unwrap_or(0));
        Ok(UserDirectoryReply { users, next_cursor: None })
    }
}

pub mod device;
pub mod nats;

/// Starting a real server over real TLS, and talking to it.
pub mod net {
    use std::sync::Arc;
    use std::time::Duration;

    use specserve::api::{Client, Service};
    use specserve_runtime::client::{ClientOptions, pinned_config};
    use specserve_runtime::server::{Limits, Server, ServerConfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

    use super::Memory;

    /// A raw WebSocket client connection.
    pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

    /// A TLS server on an ephemeral port with `limits`, and its handlers.
    pub async fn start(limits: Limits) -> (Server, Arc<Memory>) {
        start_with(limits, |_| {}).await
    }

    /// Like [`start`], with a chance to adjust the configuration.
    pub async fn start_with(limits: Limits, adjust: impl FnOnce(&mut ServerConfig)) -> (Server, Arc<Memory>) {
        let handlers = Arc::new(Memory::default());
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
        config.limits = limits;
        config.assets = specserve::api::assets();
        adjust(&mut config);
        let service = Arc::new(Service::<Memory>::new(Arc::clone(&handlers)));
        let server = Server::start(config, service).await.expect("server starts");
        (server, handlers)
    }

    /// The generated client, trusting the server's self-signed certificate by fingerprint.
    pub async fn client(server: &Server) -> Client {
        let options = ClientOptions::pinned(&server.fingerprint().expect("TLS server"));
        Client::connect_with(&server.url(), options).await.expect("client connects")
    }

    /// A raw WebSocket over TLS to `path`, with extra headers.
    pub async fn raw(
        server: &Server,
        path: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        raw_via(server, server.local_addr(), path, headers).await
    }

    /// Like [`raw`], through `addr` (a proxy in front of `server`).
    pub async fn raw_via(
        server: &Server,
        addr: std::net::SocketAddr,
        path: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let url = format!("wss://{addr}{path}");
        let mut request = url.into_client_request()?;
        for (name, value) in headers {
            request.headers_mut().insert(*name, HeaderValue::from_str(value).unwrap());
        }
        let connector = Connector::Rustls(pinned_config(&server.fingerprint().unwrap()));
        let config = Some(specserve_runtime::websocket::config());
        tokio_tungstenite::connect_async_tls_with_config(request, config, false, Some(connector)).await.map(|(s, _)| s)
    }

    /// `GET path` over TLS: (status, body).
    pub async fn get(server: &Server, path: &str) -> (u16, String) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let (status, _, body) = http(server, &request).await;
        (status, body)
    }

    /// A TLS connection to the server at `addr`, pinned to its certificate.
    pub async fn tls_at(addr: std::net::SocketAddr, fingerprint: &str) -> tokio_rustls::client::TlsStream<TcpStream> {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(pinned_config(fingerprint));
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        connector.connect(name, tcp).await.unwrap()
    }

    /// Sends `request` (a whole HTTP request head) over TLS and reads until the
    /// server closes or answers: (status, head, body).
    pub async fn http(server: &Server, request: &str) -> (u16, String, String) {
        http_at(server.local_addr(), &server.fingerprint().unwrap(), request).await
    }

    /// Like [`http`], to the server at `addr` whose certificate has `fingerprint`.
    pub async fn http_at(addr: std::net::SocketAddr, fingerprint: &str, request: &str) -> (u16, String, String) {
        let mut tls = tls_at(addr, fingerprint).await;
        tls.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        let mut buffer = [0u8; 4096];
        // Up to the end of the head and the body its Content-Length announces.
        loop {
            let text = String::from_utf8_lossy(&response).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
            match tls.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buffer[..n]),
            }
        }
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        (status, head.to_owned(), body.to_owned())
    }

    /// Waits (up to 10 s, checking every 10 ms) until `condition` holds.
    pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !condition() {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Serves on two per-core workers (`--workers 2`): two threads of their
    /// own, each with its listener and its database connections.
    #[allow(dead_code)]
    pub fn two_workers(config: &mut ServerConfig) {
        let count = std::num::NonZeroUsize::MIN.saturating_add(1);
        config.workers = specserve_runtime::server::Workers::PerCore { count, pinned: false };
    }

    /// TCP connections each of a [`two_workers`] server's workers has accepted, from `/metrics`.
    #[allow(dead_code)]
    pub async fn accepted_per_worker(server: &Server) -> [f64; 2] {
        let (_, text) = get(server, "/metrics").await;
        [0, 1].map(|worker| metric(&text, &format!("specserve_accepted_total{{worker=\"{worker}\"}}")))
    }

    /// The value of one series in `/metrics` text, or 0.
    pub fn metric(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

/// Fresh databases for tests: an SQLite file each, or a MySQL schema each.
pub mod db {
    use std::sync::atomic::{AtomicU32, Ordering};

    use specserve::store::{Database, DatabaseKind};
    use sqlx::Connection;

    /// The variable naming the MySQL/MariaDB server for tests (a URL whose user
    /// may create databases), e.g. `mysql://root@127.0.0.1:3306/test`.
    pub const MYSQL_URL_VAR: &str = "SPECSERVE_TEST_MYSQL_URL";

    static NEXT: AtomicU32 = AtomicU32::new(0);

    fn unique_name() -> String {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        format!("specserve_t_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// A database that exists for one test.
    pub struct TestDb {
        store: Database,
        url: String,
        cleanup: Cleanup,
    }

    enum Cleanup {
        Nothing,
        File(std::path::PathBuf),
        Schema { admin_url: String, name: String },
    }

    impl TestDb {
        /// The store.
        pub fn store(&self) -> &Database {
            &self.store
        }

        /// The URL a separate process (the binary) can open.
        pub fn url(&self) -> &str {
            &self.url
        }

        /// Runs raw SQL on a connection of its own (to set up a failure, say).
        pub async fn execute(&self, sql: &str) {
            let statement = sqlx::AssertSqlSafe(sql.to_owned());
            match self.store.kind() {
                DatabaseKind::MySql => {
                    let mut conn = sqlx::MySqlConnection::connect(&self.url).await.expect("mysql connects");
                    sqlx::raw_sql(statement).execute(&mut conn).await.expect("SQL runs");
                }
                DatabaseKind::Sqlite => {
                    let mut conn = sqlx::SqliteConnection::connect(&self.url).await.expect("sqlite opens");
                    sqlx::raw_sql(statement).execute(&mut conn).await.expect("SQL runs");
                }
            }
        }

        /// A trigger that makes every update of `api_tokens` fail.
        pub fn fail_token_updates(&self) -> &'static str {
            match self.store.kind() {
                DatabaseKind::MySql => {
                    "CREATE TRIGGER fail_token_updates BEFORE UPDATE ON api_tokens FOR EACH ROW
                     SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'"
                }
                DatabaseKind::Sqlite => {
                    "CREATE TRIGGER fail_token_updates BEFORE UPDATE ON api_tokens
                     BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                }
            }
        }

        /// A database someone else owns and cleans up.
        pub fn external(store: Database, url: String) -> TestDb {
            TestDb { store, url, cleanup: Cleanup::Nothing }
        }

        /// Drops the MySQL database `name` made outside this helper.
        pub async fn drop_database(self, admin_url: &str, name: &str) {
            let cleanup = Cleanup::Schema { admin_url: admin_url.to_owned(), name: name.to_owned() };
            TestDb { cleanup, ..self }.drop().await;
        }

        /// Removes the database.
        pub async fn drop(self) {
            match self.cleanup {
                Cleanup::Nothing => {}
                Cleanup::File(path) => {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                    }
                }
                Cleanup::Schema { admin_url, name } => {
                    if let Ok(mut conn) = sqlx::MySqlConnection::connect(&admin_url).await {
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`")))
                            .execute(&mut conn)
                            .await;
                    }
                }
            }
        }
    }

    /// A fresh SQLite file with the migrations applied.
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let url = format!("sqlite://{}", path.display());
        let store = Database::connect(&url).await.expect("sqlite opens");
        TestDb { store, url, cleanup: Cleanup::File(path) }
    }

    /// A fresh MySQL/MariaDB database with the migrations applied, when the
    /// environment names a server; `None` (the test is skipped) otherwise.
    pub async fn mysql() -> Option<TestDb> {
        let (admin_url, name, url) = new_mysql_database().await?;
        let store = Database::connect(&url).await.expect("mysql pool");
        store.migrate().await.expect("the migrations apply");
        Some(TestDb { store, url, cleanup: Cleanup::Schema { admin_url, name } })
    }

    /// An empty MySQL/MariaDB database: (admin URL, its name, its URL).
    async fn new_mysql_database() -> Option<(String, String, String)> {
        let admin_url = std::env::var(MYSQL_URL_VAR).ok()?;
        let name = unique_name();
        let mut conn = sqlx::MySqlConnection::connect(&admin_url).await.expect("the test MySQL server answers");
        // The name is ours (digits and underscores), never input.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )))
        .execute(&mut conn)
        .await
        .expect("create test database");
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Some((admin_url, name, url))
    }

    /// A MySQL/MariaDB database made by running `setup` only, not migrated.
    pub async fn mysql_unmigrated(setup: &str) -> Option<TestDb> {
        let (admin_url, name, url) = new_mysql_database().await?;
        let mut conn = sqlx::MySqlConnection::connect(&url).await.expect("mysql connects");
        sqlx::raw_sql(sqlx::AssertSqlSafe(setup.to_owned())).execute(&mut conn).await.expect("the setup runs");
        let store = Database::connect(&url).await.expect("mysql pool");
        Some(TestDb { store, url, cleanup: Cleanup::Schema { admin_url, name } })
    }

    /// A database as specserve made it before migrations existed: `setup`
    /// (the old schema and some rows) run on a raw connection, then opened
    /// as the server opens it (which migrates it). SQLite, or MySQL when
    /// `mysql` and the environment names a server.
    pub async fn from_before_migrations(mysql: bool, setup: &[&str]) -> Option<TestDb> {
        let statements = setup.iter().map(|s| sqlx::AssertSqlSafe((*s).to_owned()));
        if mysql {
            let (admin_url, name, url) = new_mysql_database().await?;
            let mut conn = sqlx::MySqlConnection::connect(&url).await.expect("mysql connects");
            for statement in statements {
                sqlx::raw_sql(statement).execute(&mut conn).await.expect("the old setup runs");
            }
            let store = Database::connect(&url).await.expect("mysql pool");
            store.migrate().await.expect("the migrations apply over the old schema");
            return Some(TestDb { store, url, cleanup: Cleanup::Schema { admin_url, name } });
        }
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let url = format!("sqlite://{}", path.display());
        let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url)
            .expect("a SQLite URL")
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await.expect("sqlite opens");
        for statement in statements {
            sqlx::raw_sql(statement).execute(&mut conn).await.expect("the old setup runs");
        }
        drop(conn);
        let store = Database::connect(&url).await.expect("sqlite opens and migrates");
        Some(TestDb { store, url, cleanup: Cleanup::File(path) })
    }
}

/// The real application (store-backed handlers) behind a real TLS server.
pub mod app {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use specserve::api::Service;
    use specserve::handlers::{App, AppConfig};
    use specserve::security::audit::AuditLog;
    use specserve_runtime::server::{Limits, Server, ServerConfig};

    use super::db::TestDb;

    /// Everything written to the audit log, for inspection.
    #[derive(Clone, Default)]
    pub struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        /// The text so far.
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A running server over `db`, its app and its audit log.
    pub struct Running {
        /// The server.
        pub server: Server,
        /// The app behind it.
        pub app: Arc<App>,
        /// The audit log.
        pub audit: Captured,
        /// The database (dropped by [`Running::stop`]).
        pub db: TestDb,
    }

    impl Running {
        /// Shuts down and removes the database.
        pub async fn stop(self) {
            self.server.shutdown().await;
            self.db.drop().await;
        }
    }

    /// Config for tests: generous rate limits unless a test tightens them.
    pub fn test_config() -> AppConfig {
        AppConfig {
            hash_threads: 2,
            auth_per_ip_per_minute: 100_000.0,
            login_failures_per_minute: 100_000.0,
            login_failures_per_account_per_minute: 100_000.0,
            creates_per_minute: 100_000.0,
            password_changes_per_minute: 100_000.0,
            searches_per_minute: 100_000.0,
            ..AppConfig::default()
        }
    }

    /// Starts the app over `db`.
    pub async fn start(db: TestDb, config: AppConfig) -> Running {
        start_with(db, config, |_| {}).await
    }

    /// Starts the app over `db`, with `adjust` applied to the server's config.
    pub async fn start_with(db: TestDb, config: AppConfig, adjust: impl FnOnce(&mut ServerConfig)) -> Running {
        let audit = Captured::default();
        let hub = specserve_runtime::hub::Hub::new();
        let app =
            Arc::new(App::new(db.store().clone(), config, AuditLog::to_writer(audit.clone()), hub.clone()).unwrap());
        let mut server_config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
        server_config.hub = hub;
        server_config.assets = specserve::api::assets();
        // Test clients rarely answer the server's close frame; waiting for them is
        // not what these tests check.
        server_config.limits = Limits {
            frames_per_second: 1e6,
            frame_burst: 1e6,
            close_timeout: std::time::Duration::from_millis(200),
            ..Limits::default()
        };
        adjust(&mut server_config);
        let server = Server::start(server_config, Arc::new(Service::<App>::new(Arc::clone(&app)))).await.unwrap();
        Running { server, app, audit, db }
    }
}

/// Called when a test's outside tool is missing: the test is skipped, except
/// under CI (`CI` set), where .ci/run installs `missing` and its absence fails.
pub fn skip_unless_ci(missing: &str) {
    assert!(std::env::var_os("CI").is_none(), "CI needs {missing} (.ci/run provides it)");
    eprintln!("skipped: needs {missing}");
}

/// Registers Alice (the seed README's user) through the typed client, logs her
/// in and keeps her token on the client. Returns her id.
pub async fn register_alice(client: &specserve::api::Client) -> i64 {
    use specserve::api::{AuthGenerateTokenPayload, AuthRegisterPayload};
    let registered = client
        .auth_register(&AuthRegisterPayload {
            name: "Alice".into(),
            email: "alice@example.com".into(),
            password: "SecretPass123".into(),
        })
        .await
        .expect("register Alice");
    let login =
        AuthGenerateTokenPayload { email: "alice@example.com".into(), password: "SecretPass123".into(), refresh: None };
    let token = client.auth_generate_token(&login).await.expect("log Alice in").token;
    client.set_token(Some(token));
    registered.user_id.expect("without email verification the reply has the id")
}

/// A self-signed certificate written as PEM files, for clients that take a CA
/// file or an SPKI pin (node, Chromium) rather than our fingerprint pinning.
pub mod certs {
    use std::path::PathBuf;

    use base64::Engine;
    use rcgen::PublicKeyData;
    use sha2::{Digest, Sha256};
    use specserve_runtime::server::TlsSetup;

    /// PEM files in a temporary directory (removed on drop).
    pub struct TestCert {
        dir: PathBuf,
        /// The certificate (also its own CA).
        pub cert: PathBuf,
        /// The private key.
        pub key: PathBuf,
        /// base64 SHA-256 of the SubjectPublicKeyInfo (Chromium's `--ignore-certificate-errors-spki-list`).
        pub spki_sha256: String,
    }

    impl TestCert {
        /// A certificate for 127.0.0.1 and localhost.
        pub fn new() -> TestCert {
            static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("specserve-cert-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            std::fs::write(&cert, certified.cert.pem()).unwrap();
            std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
            let spki = Sha256::digest(certified.signing_key.subject_public_key_info());
            let spki_sha256 = base64::engine::general_purpose::STANDARD.encode(spki);
            TestCert { dir, cert, key, spki_sha256 }
        }

        /// The server setting that serves it.
        pub fn tls(&self) -> TlsSetup {
            TlsSetup::Files { cert: self.cert.clone(), key: self.key.clone() }
        }
    }

    impl Drop for TestCert {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Raw JSON frames the way a seed-000 client sends them, one at a time.
pub mod frames {
    use futures_util::{SinkExt, StreamExt};
    use serde_json::{Value, json};
    use specserve::api::Role;
    use specserve::store::{NewUser, now_utc};
    use tokio_tungstenite::tungstenite::Message;

    use super::app::Running;
    use super::net;

    /// A raw connection that sends one frame and reads its reply.
    pub struct Conn(pub net::Socket);

    impl Conn {
        /// A connection at `/`, the seed clients' path.
        pub async fn open(running: &Running) -> Conn {
            Conn::open_with(running, &[]).await
        }

        /// A connection with extra upgrade headers (`x-forwarded-for`, say).
        pub async fn open_with(running: &Running, headers: &[(&'static str, &str)]) -> Conn {
            Conn(net::raw(&running.server, "/", headers).await.expect("upgrade"))
        }

        /// Sends `frame` and returns its reply.
        pub async fn send(&mut self, frame: Value) -> Value {
            self.send_text(frame.to_string()).await
        }

        /// Sends text and returns the reply.
        pub async fn send_text(&mut self, text: String) -> Value {
            self.0.send(Message::text(text)).await.unwrap();
            self.reply().await
        }

        /// Reads the next reply (pings and pongs skipped).
        pub async fn reply(&mut self) -> Value {
            loop {
                match self.0.next().await {
                    Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => panic!("expected a reply, got {other:?}"),
                }
            }
        }

        /// Writes every frame before reading anything (pipelining).
        pub async fn pipeline(&mut self, frames: &[Value]) {
            for frame in frames {
                self.0.feed(Message::text(frame.to_string())).await.unwrap();
            }
            self.0.flush().await.unwrap();
        }

        /// auth/register; returns the new id.
        pub async fn register(&mut self, name: &str, email: &str, password: &str) -> i64 {
            let reply = self
                .send(json!({"channel": "auth/register", "payload": {"name": name, "email": email, "password": password}}))
                .await;
            reply["userId"].as_i64().unwrap_or_else(|| panic!("register failed: {reply}"))
        }

        /// auth/generateToken; returns the token.
        pub async fn login(&mut self, email: &str, password: &str) -> String {
            let reply = self
                .send(json!({"channel": "auth/generateToken", "payload": {"email": email, "password": password}}))
                .await;
            reply["token"].as_str().unwrap_or_else(|| panic!("login failed: {reply}")).to_owned()
        }

        /// A route with an optional token.
        pub async fn call(&mut self, channel: &str, token: Option<&str>, payload: Value) -> Value {
            self.send(frame(channel, token, payload)).await
        }
    }

    /// A request frame.
    pub fn frame(channel: &str, token: Option<&str>, payload: Value) -> Value {
        let mut frame = json!({"channel": channel, "payload": payload});
        if let Some(token) = token {
            frame["apiToken"] = json!(token);
        }
        frame
    }

    /// `ok`, or the error code of a reply.
    pub fn code(reply: &Value) -> &str {
        if reply["success"] == json!(false) { reply["error"]["code"].as_str().unwrap_or("?") } else { "ok" }
    }

    /// Makes a user with the password `Password123` directly in the store, and logs it in.
    pub async fn seeded_user(
        running: &Running,
        conn: &mut Conn,
        email: &str,
        role: Role,
        manager: Option<i64>,
    ) -> (i64, String) {
        let id = seeded_row(running, email, role, manager).await;
        (id, conn.login(email, "Password123").await)
    }

    /// Makes a user with the password `Password123` directly in the store;
    /// its id. (Hashing takes a while under load: a socket opened before
    /// it would sit unread through the server's pings.)
    pub async fn seeded_row(running: &Running, email: &str, role: Role, manager: Option<i64>) -> i64 {
        let hash = specserve::security::passwords::Passwords::new(1).unwrap().hash("Password123".into()).await.unwrap();
        let user = NewUser {
            name: email.into(),
            email: email.into(),
            password_hash: Some(hash),
            role,
            created_by: manager,
            now: now_utc(),
        };
        running.db.store().create_user(user).await.unwrap()
    }
}

/// The spec's HTTP operations as a seed's REST client calls them: JSON over
/// TLS, the token as `Authorization: Bearer`.
pub mod rest {
    use serde_json::Value;

    use super::app::Running;
    use super::net;

    /// `method path` with `body` as JSON: (status, the answer as JSON, or
    /// `Null` when it is not JSON).
    pub async fn call(
        running: &Running,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, answer) = request(running, method, path, token, body.map(|b| b.to_string()), &[]).await;
        (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
    }

    /// A request with a raw body and extra headers: (status, head, body).
    pub async fn request(
        running: &Running,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (u16, String, String) {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if let Some(token) = token {
            head += &format!("Authorization: Bearer {token}\r\n");
        }
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() {
            if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
                head += "Content-Type: application/json\r\n";
            }
            head += &format!("Content-Length: {}\r\n", body.len());
        }
        net::http(&running.server, &format!("{head}\r\n{body}")).await
    }

    /// A call that must answer 200; its answer.
    pub async fn ok(running: &Running, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let (status, answer) = call(running, method, path, token, body).await;
        assert_eq!(status, 200, "{method} {path}: {answer}");
        answer
    }
}

/// A real SMTP listener for tests: it speaks enough of RFC 5321 for a client
/// to deliver, and hands every delivered mail to the test.
#[allow(dead_code)]
pub mod smtp {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    /// One delivered mail.
    #[derive(Debug, Clone)]
    pub struct Mail {
        /// The `RCPT TO` addresses.
        pub to: Vec<String>,
        /// The message as sent after `DATA` (headers and body).
        pub data: String,
    }

    impl Mail {
        /// The first run of six digits after "code is " in the body.
        pub fn code(&self) -> String {
            let at = self.data.find("code is ").unwrap_or_else(|| panic!("no code in {}", self.data)) + 8;
            self.data[at..at + 6].to_owned()
        }
    }

    /// A listening SMTP server on a free port.
    pub struct Sink {
        /// `smtp://127.0.0.1:<port>`.
        pub url: String,
        mails: mpsc::UnboundedReceiver<Mail>,
    }

    impl Sink {
        /// Starts listening.
        pub async fn start() -> Sink {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("smtp://{}", listener.local_addr().unwrap());
            let (sender, mails) = mpsc::unbounded_channel();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(session(stream, sender.clone()));
                }
            });
            Sink { url, mails }
        }

        /// The next delivered mail.
        pub async fn next(&mut self) -> Mail {
            self.mails.recv().await.expect("the sink is running")
        }
    }

    /// An SMTP server that accepts connections and never answers: a mail
    /// server that hangs. Each connection is reported, and held until the
    /// tarpit is dropped.
    pub struct Tarpit {
        /// `smtp://127.0.0.1:<port>`.
        pub url: String,
        connected: mpsc::UnboundedReceiver<()>,
    }

    impl Tarpit {
        /// Starts listening.
        pub async fn start() -> Tarpit {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("smtp://{}", listener.local_addr().unwrap());
            let (sender, connected) = mpsc::unbounded_channel();
            tokio::spawn(async move {
                let mut held = Vec::new();
                while let Ok((stream, _)) = listener.accept().await {
                    held.push(stream);
                    let _ = sender.send(());
                }
            });
            Tarpit { url, connected }
        }

        /// Waits until a client connected (and now waits for a greeting that never comes).
        pub async fn connected(&mut self) {
            self.connected.recv().await.expect("the tarpit is running");
        }
    }

    async fn session(stream: tokio::net::TcpStream, mails: mpsc::UnboundedSender<Mail>) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink ESMTP\r\n").await?;
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_ascii_uppercase();
            let reply: &[u8] = if command.starts_with("EHLO") {
                b"250-sink\r\n250 8BITMIME\r\n"
            } else if command.starts_with("RCPT TO:") {
                to.push(line.trim_end()[8..].trim_matches(['<', '>', ' ']).to_owned());
                b"250 OK\r\n"
            } else if command == "DATA" {
                write.write_all(b"354 end with .\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(&line);
                }
                let _ = mails.send(Mail { to: std::mem::take(&mut to), data });
                b"250 queued\r\n"
            } else if command == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else if command.starts_with("HELO")
                || command.starts_with("MAIL FROM:")
                || command == "RSET"
                || command == "NOOP"
            {
                b"250 OK\r\n"
            } else {
                b"502 not implemented\r\n"
            };
            write.write_all(reply).await?;
        }
    }
}

/// The `specserve` binary as a child process, as operators run it.
#[allow(dead_code)]
pub mod process {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use specserve::api::Client;
    use specserve_runtime::client::ClientOptions;

    /// A running `specserve serve` and everything it logged.
    pub struct Running {
        child: Child,
        /// The `wss://` URL it listens at.
        pub url: String,
        /// Its self-signed certificate's fingerprint.
        pub fingerprint: String,
        logs: Arc<Mutex<Vec<String>>>,
        /// Its working directory (where the default SQLite file goes).
        pub dir: std::path::PathBuf,
    }

    /// A `specserve serve` that has not said where it listens yet.
    pub struct Starting {
        child: Child,
        said: std::sync::mpsc::Receiver<(&'static str, String)>,
        logs: Arc<Mutex<Vec<String>>>,
        dir: std::path::PathBuf,
        fingerprint: String,
    }

    impl Starting {
        fn spawn(database_url: Option<&str>, flags: &[&str], keep_reading: bool) -> Starting {
            let dir = std::env::temp_dir().join(format!("specserve-bin-{}-{}", std::process::id(), rand_suffix()));
            std::fs::create_dir_all(&dir).unwrap();
            let mut command = Command::new(env!("CARGO_BIN_EXE_specserve"));
            command
                .current_dir(&dir)
                .args(["--listen", "127.0.0.1:0", "--log-format", "json", "--shutdown-timeout", "5s"])
                .args(flags)
                .env("RUST_LOG", "debug")
                .env_remove("DATABASE_URL")
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            if let Some(url) = database_url {
                command.env("DATABASE_URL", url);
            }
            let mut child = command.spawn().expect("the binary starts");
            let stderr = child.stderr.take().unwrap();
            let logs = Arc::new(Mutex::new(Vec::new()));
            let (tx, said) = std::sync::mpsc::channel();
            let sink = Arc::clone(&logs);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(entry) = serde_json::from_str::<Value>(&line) {
                        let fields = &entry["fields"];
                        if let Some(fingerprint) = fields["fingerprint"].as_str() {
                            let _ = tx.send(("fingerprint", fingerprint.to_owned()));
                        }
                        let _ = tx.send(("message", fields["message"].as_str().unwrap_or_default().to_owned()));
                        if fields["message"] == "listening" {
                            let _ = tx.send(("url", fields["url"].as_str().unwrap_or_default().to_owned()));
                            if !keep_reading {
                                return;
                            }
                        }
                    }
                    sink.lock().unwrap().push(line);
                }
            });
            Starting { child, said, logs, dir, fingerprint: String::new() }
        }

        /// Reads what it says until `done` holds for a (what, value) pair; returns the value.
        fn until(&mut self, mut done: impl FnMut(&str, &str) -> bool) -> String {
            loop {
                let (key, value) = self
                    .said
                    .recv_timeout(std::time::Duration::from_secs(90))
                    .expect("the server says it, within 90 s");
                if key == "fingerprint" {
                    self.fingerprint = value.clone();
                }
                if done(key, &value) {
                    return value;
                }
            }
        }

        /// Waits until it listens.
        pub fn listening(mut self) -> Running {
            let url = self.until(|key, _| key == "url");
            assert!(!self.fingerprint.is_empty(), "the self-signed certificate's fingerprint is logged");
            let Starting { child, logs, dir, fingerprint, .. } = self;
            Running { child, url, fingerprint, logs, dir }
        }
    }

    impl Running {
        pub fn start(database_url: Option<&str>) -> Running {
            Running::start_with(database_url, &[])
        }

        /// The binary with extra flags.
        pub fn start_with(database_url: Option<&str>, flags: &[&str]) -> Running {
            Running::start_reading_logs(database_url, flags, true)
        }

        /// The binary; with `keep_reading` false its log pipe is closed once it listens.
        pub fn start_reading_logs(database_url: Option<&str>, flags: &[&str], keep_reading: bool) -> Running {
            Starting::spawn(database_url, flags, keep_reading).listening()
        }

        /// The binary on `database_url` (waiting up to a minute for it), once
        /// it has logged a message containing `said`.
        pub fn start_waiting(database_url: &str, said: &str) -> Starting {
            let mut starting = Starting::spawn(Some(database_url), &["--wait-for-db", "60s"], true);
            starting.until(|key, value| key == "message" && value.contains(said));
            starting
        }

        /// The typed client, pinned to its certificate.
        pub async fn client(&self) -> Client {
            Client::connect_with(&self.url, ClientOptions::pinned(&self.fingerprint)).await.expect("client connects")
        }

        /// Its process id.
        pub fn pid(&self) -> u32 {
            self.child.id()
        }

        /// Kills it without a chance to say goodbye (a crashed node).
        pub fn kill(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }

        /// Asks it to shut down.
        pub fn sigterm(&self) {
            let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
            assert!(status.success());
        }

        /// Waits (up to 30 s) until a log line contains `text`.
        pub fn wait_for_log(&self, text: &str) -> String {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                if let Some(line) = self.logs.lock().unwrap().iter().find(|line| line.contains(text)) {
                    return line.clone();
                }
                assert!(std::time::Instant::now() < deadline, "no log line says {text:?}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }

        /// Sends it a signal (`HUP`, `TERM`, ...).
        pub fn signal(&self, name: &str) {
            let status = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status();
            assert!(status.unwrap().success());
        }

        /// Waits for it to exit: its status and everything it logged.
        pub fn wait(mut self) -> (std::process::ExitStatus, String) {
            let status = self.child.wait().unwrap();
            let _ = std::fs::remove_dir_all(&self.dir);
            (status, self.logs.lock().unwrap().join("\n"))
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.child.kill();
        }
    }

    /// A number that differs between calls, for unique names.
    pub fn rand_suffix() -> u32 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos()
    }
}
