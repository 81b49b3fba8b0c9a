//! Closed-loop load: C connections each send a frame, wait for its reply, and
//! repeat until the deadline; latencies after the warm-up go into an HDR
//! histogram. The same driver loads specserve and the echo baseline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// One client socket.
pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Where and how to connect.
#[derive(Clone)]
pub struct Target {
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// Pinned certificate fingerprint for `wss://`.
    pub fingerprint: Option<String>,
}

impl Target {
    /// Opens one WebSocket, optionally with a bearer token.
    pub async fn connect(&self, bearer: Option<&str>) -> Result<Socket> {
        let mut request = self.url.as_str().into_client_request()?;
        if let Some(token) = bearer {
            request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
        }
        let connector =
            self.fingerprint.as_deref().map(|f| Connector::Rustls(specserve_runtime::client::pinned_config(f)));
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(specserve_runtime::websocket::config()),
            false,
            connector,
        )
        .await
        .with_context(|| format!("connecting to {}", self.url))?;
        Ok(socket)
    }
}

/// Latency (µs) and throughput of one run.
pub struct Stats {
    /// Operations completed after the warm-up.
    pub ops: u64,
    /// Seconds measured.
    pub seconds: f64,
    /// Latencies in microseconds.
    pub latency: Histogram<u64>,
}

impl Stats {
    pub fn empty() -> Stats {
        Stats {
            ops: 0,
            seconds: 0.0,
            latency: Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is valid")),
        }
    }

    /// Operations per second.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 { self.ops as f64 / self.seconds } else { 0.0 }
    }

    /// A latency percentile in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// Counts one operation started at `sent`, if it started after the warm-up.
    pub fn record(&mut self, sent: Instant, measure_from: Instant) {
        if sent >= measure_from {
            self.ops += 1;
            let _ = self.latency.record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
    }

    /// Adds `other`'s operations and latencies to these.
    pub fn add(&mut self, other: &Stats) {
        self.ops += other.ops;
        let _ = self.latency.add(&other.latency);
    }

    /// Adds up the workers' stats over the measured window.
    pub async fn collect(workers: Vec<tokio::task::JoinHandle<Result<Stats>>>, timing: Timing) -> Result<Stats> {
        let mut total = Stats::empty();
        for worker in workers {
            total.add(&worker.await??);
        }
        total.seconds = timing.duration.as_secs_f64();
        Ok(total)
    }
}

/// Sends one request and returns its reply (pushed events before it are skipped).
pub async fn ask(socket: &mut Socket, frame: Value) -> Result<Value> {
    socket.send(Message::text(frame.to_string())).await?;
    loop {
        if let Some(Message::Text(text)) = socket.next().await.transpose()? {
            let value: Value = serde_json::from_str(&text)?;
            if value.get("requestId") == frame.get("requestId") {
                return Ok(value);
            }
        }
    }
}

/// Warm-up and measured durations.
#[derive(Clone, Copy)]
pub struct Timing {
    /// Not measured.
    pub warmup: Duration,
    /// Measured.
    pub duration: Duration,
}

/// Drives `connections` sockets in a closed loop; `frame(i)` is the i-th frame
/// a connection sends. Every reply must be text.
pub async fn websocket(
    target: &Target,
    connections: usize,
    timing: Timing,
    frame: Arc<dyn Fn(u64) -> String + Send + Sync>,
) -> Result<Stats> {
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        sockets.push(target.connect(None).await?);
    }
    let start = Instant::now();
    let measure_from = start + timing.warmup;
    let end = measure_from + timing.duration;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let frame = Arc::clone(&frame);
            tokio::spawn(async move {
                let mut stats = Stats::empty();
                let mut i = 0u64;
                while Instant::now() < end {
                    let sent = Instant::now();
                    socket.send(Message::text(frame(i))).await?;
                    loop {
                        match socket.next().await {
                            Some(Ok(Message::Text(_))) => break,
                            Some(Ok(_)) => continue,
                            Some(Err(error)) => return Err(error.into()),
                            None => anyhow::bail!("server closed the connection"),
                        }
                    }
                    stats.record(sent, measure_from);
                    i += 1;
                }
                let _ = socket.close(None).await;
                Ok::<_, anyhow::Error>(stats)
            })
        })
        .collect();
    Stats::collect(tasks, timing).await
}

/// Runs [`sqlx_closed_loop`] on the driver `$url` names (MySQL or SQLite),
/// each operation `$body` with `$connection` a `&mut`-able native connection
/// (not sqlx's `Any` driver, whose row conversion the server does not pay).
macro_rules! on_native_connection {
    ($url:expr, $workers:expr, $timing:expr, |$connection:ident| $body:block) => {
        if $url.starts_with("mysql:") {
            $crate::load::sqlx_closed_loop(
                $url,
                $workers,
                $timing,
                move |mut $connection: sqlx::MySqlConnection| async move {
                    let result = $body;
                    ($connection, result)
                },
            )
            .await
        } else {
            $crate::load::sqlx_closed_loop(
                $url,
                $workers,
                $timing,
                move |mut $connection: sqlx::SqliteConnection| async move {
                    let result = $body;
                    ($connection, result)
                },
            )
            .await
        }
    };
}
pub(crate) use on_native_connection;

/// The `read` baseline: the server's own point-select by primary key, on
/// raw sqlx connections of the server's number, at the same concurrency.
pub async fn sqlx_point_select(database_url: &str, user_id: i64, connections: usize, timing: Timing) -> Result<Stats> {
    on_native_connection!(database_url, connections, timing, |connection| {
        sqlx::query(
            "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at FROM users WHERE id = ?",
        )
        .bind(user_id)
        .fetch_one(&mut connection)
        .await
        .map(drop)
    })
}

/// `workers` closed loops of `operation` on at most 16 raw sqlx connections
/// (the server's number), each held by one operation at a time and handed
/// back directly: the database call with nothing around it. (`sqlx::Pool`
/// would add a ping per operation on return: a second round trip.)
pub async fn sqlx_closed_loop<C, F, Fut>(
    database_url: &str,
    workers: usize,
    timing: Timing,
    operation: F,
) -> Result<Stats>
where
    C: sqlx::Connection + 'static,
    F: Fn(C) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = (C, Result<(), sqlx::Error>)> + Send,
{
    let options: C::Options = database_url.parse()?;
    let mut idle = Vec::new();
    for _ in 0..workers.clamp(1, 16) {
        idle.push(sqlx::ConnectOptions::connect(&options).await?);
    }
    let held = Arc::new(tokio::sync::Semaphore::new(idle.len()));
    let idle = Arc::new(std::sync::Mutex::new(idle));
    let start = Instant::now();
    let measure_from = start + timing.warmup;
    let end = measure_from + timing.duration;
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (held, idle, operation) = (held.clone(), idle.clone(), operation.clone());
            tokio::spawn(async move {
                let mut stats = Stats::empty();
                while Instant::now() < end {
                    let sent = Instant::now();
                    let _permit = held.acquire().await?;
                    let connection = idle
                        .lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?
                        .pop()
                        .context("a connection per permit")?;
                    let (connection, result) = operation(connection).await;
                    idle.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(connection);
                    match result {
                        // SQLite's "database is locked" (a write that waited out its
                        // busy timeout, or a WAL read that may not wait): tried
                        // again, as a client would; not an operation.
                        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("5") => continue,
                        result => result?,
                    }
                    stats.record(sent, measure_from);
                }
                Ok::<_, anyhow::Error>(stats)
            })
        })
        .collect();
    Stats::collect(tasks, timing).await
}

/// The `login` baseline's unit: the median time of one argon2id hash (the
/// server's parameters) on this machine, at its fastest: into a working area
/// allocated once, as the server does.
pub fn argon2_hash_seconds(samples: usize) -> f64 {
    let argon2 = argon2::Argon2::default();
    let mut area = vec![argon2::Block::default(); argon2.params().block_count()];
    let mut output = [0u8; 32];
    let mut times: Vec<f64> = (0..samples.max(1))
        .map(|_| {
            let started = Instant::now();
            let _ = argon2.hash_password_into_with_memory(b"benchmark password", b"bench salt", &mut output, &mut area);
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
