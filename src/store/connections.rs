//! The database connections a store hands to its requests, one request at a
//! time each, and takes back without a round trip.
//!
//! Why not `sqlx::Pool`: it pings every connection it takes back (sqlx 0.9,
//! `Floating::return_to_pool`), a second round trip to the database for every
//! query, run from a task it spawns. Measured on the read path (MariaDB, 32
//! workers, 16 connections, same select): 34.9k selects/s at 24 µs of client
//! CPU each through the pool, 47.8k/s at 17 µs with connections held and
//! handed back directly. What the ping was for is kept another way:
//!
//! - a statement is not abandoned mid-way: the server runs every request to
//!   its end, also when its client went away (the runtime's
//!   `connection::run`). That matters: sqlx reads a reply's header and
//!   body in two steps, and a connection dropped between them would read the
//!   rest of an old reply as the next one (seen as a panic and as another
//!   statement's rows in the cluster bench before they were).
//!   What the driver does track (unread replies, unsent bytes) is still
//!   drained or flushed before reuse ([`sqlx::Connection::should_flush`]);
//! - a connection that may have died is verified (pinged) before reuse: one
//!   idle longer than [`VERIFY_IDLE_AFTER`] (the database may have timed it
//!   out), or any connection after some request met a connection-level error
//!   ([`connection_failed`]: a restarted database breaks them all at once).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use specserve_runtime::server::Worker;
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Idle longer than this, a connection is pinged before it is handed out.
pub const VERIFY_IDLE_AFTER: Duration = Duration::from_secs(30);

/// Bumped by every connection-level error: connections idle since before the
/// latest one are verified before reuse. One counter for the process: an
/// error says "a connection broke", not which database's; a needless ping
/// after an unrelated failure is the whole cost of sharing it.
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// Records that a connection failed (an I/O, TLS or protocol error, or a
/// crashed SQLite worker), so every idle connection is verified before reuse.
pub fn connection_failed() {
    FAILURES.fetch_add(1, Ordering::Relaxed);
}

fn failures() -> u64 {
    FAILURES.load(Ordering::Relaxed)
}

/// Up to `max` connections to one database, opened on demand.
#[derive(Debug)]
pub struct Connections<C: Connection + 'static> {
    shared: Arc<Shared<C>>,
}

impl<C: Connection + 'static> Clone for Connections<C> {
    fn clone(&self) -> Self {
        Connections { shared: self.shared.clone() }
    }
}

#[derive(Debug)]
struct Shared<C: Connection + 'static> {
    options: C::Options,
    acquire_timeout: Duration,
    max: usize,
    /// Whether each per-core worker keeps connections of its own ([`Connections::per_worker`]).
    per_worker: bool,
    /// Every connection when there are no per-core workers; otherwise those
    /// used outside them (start-up, cluster events).
    outside: Pool<C>,
    /// One per worker of a per-core server, made at the first request on one.
    workers: OnceLock<Box<[Pool<C>]>>,
}

/// Connections that may be handed to the same requests.
#[derive(Debug)]
struct Pool<C> {
    /// Connections nobody holds, the most recently returned last.
    idle: Mutex<Vec<Idle<C>>>,
    /// One per connection that may exist: holding one entitles a request to a
    /// connection, idle or new.
    permits: Arc<Semaphore>,
}

impl<C> Pool<C> {
    fn new(max: usize) -> Self {
        Pool { idle: Mutex::new(Vec::with_capacity(max)), permits: Arc::new(Semaphore::new(max)) }
    }

    fn put_back(&self, connection: C, failures: u64) {
        let idle = Idle { connection, since: Instant::now(), failures };
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(idle);
    }
}

#[derive(Debug)]
struct Idle<C> {
    connection: C,
    since: Instant,
    /// [`FAILURES`] when it was taken out: a later failure may concern it.
    failures: u64,
}

impl<C: Connection + 'static> Connections<C> {
    /// At most `max` connections opened with `options`; a request waits at
    /// most `acquire_timeout` for one (then `PoolTimedOut`, which the store
    /// reports as `unavailable`). Nothing is opened before the first request.
    pub fn new(options: C::Options, max: usize, acquire_timeout: Duration) -> Self {
        Self::with(options, max, acquire_timeout, false)
    }

    /// As [`new`](Self::new), but each worker of a per-core server
    /// ([`Worker`]) keeps connections of its own, `max` split between them
    /// (at least one each), and the threads outside them up to `max` more,
    /// opened only as they are needed. For MySQL, whose connections are
    /// sockets of the runtime that opened them: a connection used on another
    /// worker would wake that worker's thread for every reply, and stop
    /// working when that worker stops. For SQLite, whose connections are
    /// threads sqlx starts from the opening thread: they then stay beside
    /// their worker (on its core, if pinned), and a statement's hand-over to
    /// one and back does not cross cores.
    pub fn per_worker(options: C::Options, max: usize, acquire_timeout: Duration) -> Self {
        Self::with(options, max, acquire_timeout, true)
    }

    fn with(options: C::Options, max: usize, acquire_timeout: Duration, per_worker: bool) -> Self {
        let outside = Pool::new(max);
        let shared = Shared { options, acquire_timeout, max, per_worker, outside, workers: OnceLock::new() };
        Connections { shared: Arc::new(shared) }
    }

    /// A connection for one request; it goes back when the [`Lease`] is dropped.
    pub async fn acquire(&self) -> Result<Lease<C>, sqlx::Error> {
        tokio::time::timeout(self.shared.acquire_timeout, self.checkout())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
    }

    async fn checkout(&self) -> Result<Lease<C>, sqlx::Error> {
        let home = self.shared.home();
        let pool = self.shared.pool(home);
        let permit = pool.permits.clone().acquire_owned().await.map_err(|_| sqlx::Error::PoolClosed)?;
        let failures = failures();
        loop {
            let idle = pool.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let connection = match idle {
                Some(idle) if idle.failures == failures && idle.since.elapsed() < VERIFY_IDLE_AFTER => idle.connection,
                Some(mut idle) => match idle.connection.ping().await {
                    Ok(()) => idle.connection,
                    // Gone: forget it (nothing to close politely) and try the next.
                    Err(_) => continue,
                },
                None => self.shared.options.connect().await?,
            };
            return Ok(Lease {
                connection: Some(connection),
                failures,
                shared: self.shared.clone(),
                home,
                permit: Some(permit),
            });
        }
    }
}

impl<C: Connection + 'static> Shared<C> {
    /// The worker whose connections this thread uses (`None`: the outside pool).
    fn home(&self) -> Option<usize> {
        let worker = Worker::current().filter(|_| self.per_worker)?;
        let each = (self.max / worker.count).max(1);
        let workers = self.workers.get_or_init(|| (0..worker.count).map(|_| Pool::new(each)).collect());
        (worker.index < workers.len()).then_some(worker.index)
    }

    fn pool(&self, home: Option<usize>) -> &Pool<C> {
        home.and_then(|index| self.workers.get()?.get(index)).unwrap_or(&self.outside)
    }
}

/// One connection, held by one request; dereferences to the driver's
/// connection (an executor as `&mut *lease`).
#[derive(Debug)]
pub struct Lease<C: Connection + 'static> {
    /// `None` only while being dropped.
    connection: Option<C>,
    failures: u64,
    shared: Arc<Shared<C>>,
    /// The pool it goes back to (see [`Shared::home`]).
    home: Option<usize>,
    permit: Option<OwnedSemaphorePermit>,
}

impl<C: Connection + 'static> std::ops::Deref for Lease<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.connection.as_ref().expect("a lease holds its connection until dropped")
    }
}

impl<C: Connection + 'static> std::ops::DerefMut for Lease<C> {
    fn deref_mut(&mut self) -> &mut C {
        self.connection.as_mut().expect("a lease holds its connection until dropped")
    }
}

impl<C: Connection + 'static> Drop for Lease<C> {
    fn drop(&mut self) {
        let (Some(mut connection), Some(permit)) = (self.connection.take(), self.permit.take()) else { return };
        let (shared, failures, home) = (self.shared.clone(), self.failures, self.home);
        if !connection.should_flush() {
            // Back before the permit, so whoever gets the permit finds it.
            shared.pool(home).put_back(connection, failures);
            drop(permit);
            return;
        }
        // A cancelled statement (or a dropped transaction's rollback) has bytes
        // still to send: send them before anyone else uses the connection.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if connection.flush().await.is_ok() {
                    shared.pool(home).put_back(connection, failures);
                }
                drop(permit);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::Row;
    use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

    use super::*;

    fn in_memory() -> Connections<SqliteConnection> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").expect("a valid url");
        Connections::new(options, 1, Duration::from_millis(200))
    }

    /// The CI's MariaDB (`SPECSERVE_TEST_MYSQL_URL`), or `None` off CI without one.
    fn mariadb_options() -> Option<MySqlConnectOptions> {
        let Ok(url) = std::env::var("SPECSERVE_TEST_MYSQL_URL") else {
            assert!(std::env::var_os("CI").is_none(), "CI needs SPECSERVE_TEST_MYSQL_URL");
            return None;
        };
        Some(MySqlConnectOptions::from_str(&url).expect("a valid url"))
    }

    fn mariadb(max: usize) -> Option<Connections<MySqlConnection>> {
        Some(Connections::new(mariadb_options()?, max, Duration::from_secs(5)))
    }

    /// Runs `work` as worker `index` of two would: on a thread of its own
    /// with a single-threaded runtime.
    fn on_worker<T: Send>(index: usize, work: impl Future<Output = T> + Send) -> T {
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    Worker::set_current(Some(Worker { index, count: 2 }));
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    runtime.block_on(work)
                })
                .join()
                .unwrap()
        })
    }

    #[test]
    fn each_worker_of_a_per_core_server_keeps_connections_of_its_own() {
        let Some(options) = mariadb_options() else { return };
        // Two in all: one for each of the two workers.
        let connections = Connections::per_worker(options, 2, Duration::from_millis(300));
        let first = on_worker(0, async {
            let held = connections.acquire().await.expect("worker 0's connection");
            assert!(
                matches!(connections.acquire().await, Err(sqlx::Error::PoolTimedOut)),
                "worker 0 has one connection, and does not take worker 1's"
            );
            drop(held);
            let first = connection_id(&connections).await.unwrap();
            assert_eq!(connection_id(&connections).await.unwrap(), first, "worker 0 reuses its own");
            first
        });
        let second = on_worker(1, async { connection_id(&connections).await.unwrap() });
        assert_ne!(first, second, "worker 1 opened its own");
        let outside = tokio::runtime::Runtime::new().unwrap().block_on(connection_id(&connections)).unwrap();
        assert!(![first, second].contains(&outside), "threads outside the workers use connections of their own");
    }

    async fn connection_id(connections: &Connections<MySqlConnection>) -> Result<u64, sqlx::Error> {
        let row = sqlx::query("SELECT CONNECTION_ID()").fetch_one(&mut *connections.acquire().await?).await?;
        row.try_get(0)
    }

    #[tokio::test]
    async fn a_returned_connection_is_reused_as_it_is() {
        let Some(connections) = mariadb(4) else { return };
        let first = connection_id(&connections).await.expect("a connection");
        assert_eq!(connection_id(&connections).await.expect("a connection"), first, "the same session again");
    }

    #[tokio::test]
    async fn with_every_connection_held_a_request_times_out() {
        let connections = in_memory();
        let held = connections.acquire().await.expect("the one connection");
        assert!(matches!(connections.acquire().await, Err(sqlx::Error::PoolTimedOut)));
        drop(held);
        connections.acquire().await.expect("free again");
    }

    #[tokio::test]
    async fn a_dropped_transaction_is_rolled_back_before_the_connection_is_reused() {
        let connections = in_memory();
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut *connections.acquire().await.unwrap()).await.unwrap();
        {
            let mut lease = connections.acquire().await.unwrap();
            let mut tx = Connection::begin(&mut *lease).await.unwrap();
            sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await.unwrap();
        }
        let row = sqlx::query("SELECT COUNT(*) FROM t").fetch_one(&mut *connections.acquire().await.unwrap()).await;
        assert_eq!(row.unwrap().get::<i64, _>(0), 0);
    }

    #[tokio::test]
    async fn a_statement_cancelled_mid_way_leaves_its_connection_answering_the_next_one() {
        let Some(connections) = mariadb(1) else { return };
        let mut lease = connections.acquire().await.unwrap();
        let sleeping = sqlx::query("SELECT SLEEP(0.3)").fetch_one(&mut *lease);
        // The client gives up on the statement while the database still runs it.
        assert!(tokio::time::timeout(Duration::from_millis(20), sleeping).await.is_err());
        drop(lease);
        let row = sqlx::query("SELECT 42").fetch_one(&mut *connections.acquire().await.unwrap()).await.unwrap();
        assert_eq!(row.get::<i64, _>(0), 42, "the answer to this statement, not to the cancelled one");
    }

    #[tokio::test]
    async fn after_a_connection_fails_the_dead_idle_ones_are_replaced_before_use() {
        let Some(connections) = mariadb(3) else { return };
        let leases = [
            connections.acquire().await.unwrap(),
            connections.acquire().await.unwrap(),
            connections.acquire().await.unwrap(),
        ];
        let mut ids = Vec::new();
        for mut lease in leases {
            ids.push(sqlx::query("SELECT CONNECTION_ID()").fetch_one(&mut *lease).await.unwrap().get::<u64, _>(0));
        }
        // As a database restart would: every idle connection dies at once.
        let admin = mariadb(1).unwrap();
        for id in &ids {
            // `id` is a number the database gave us.
            sqlx::query(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}")))
                .execute(&mut *admin.acquire().await.unwrap())
                .await
                .unwrap();
        }
        // The first request meets a dead connection; through the store's
        // error funnel that marks every idle connection for verification.
        let failed = connection_id(&connections).await.expect_err("a killed connection");
        let failed = crate::store::StoreError::from(failed);
        assert!(matches!(failed, crate::store::StoreError::Unavailable(_)), "{failed:?}");
        for _ in 0..3 {
            let id = connection_id(&connections).await.expect("a live connection");
            assert!(!ids.contains(&id), "a fresh session, not a killed one");
        }
    }
}
