//! Prometheus metrics in plain atomics: the operations and error codes come
//! from the spec (the service's [`ServiceInfo`]), so every series is a slot
//! made at start-up and recording a frame never locks (only a connection's
//! close does).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::close::CloseReason;
use crate::service::{Outcome, ServiceInfo};

/// Handler latency bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Why an upgrade (or the connection before it) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `max_connections` reached.
    ServerFull,
    /// `max_connections_per_ip` reached.
    IpFull,
    /// Browser `Origin` not on the allowlist.
    Origin,
    /// Not a valid WebSocket upgrade request.
    BadUpgrade,
    /// TLS handshake failed or timed out.
    Tls,
    /// A request body that did not arrive within `http_body_timeout`.
    SlowBody,
    /// An upgrade without a credential the server's `security` accepts.
    Unauthorized,
}

impl Rejection {
    const ALL: [Rejection; 7] = [
        Rejection::ServerFull,
        Rejection::IpFull,
        Rejection::Origin,
        Rejection::BadUpgrade,
        Rejection::Tls,
        Rejection::SlowBody,
        Rejection::Unauthorized,
    ];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Rejection::ServerFull => "server_full",
            Rejection::IpFull => "ip_full",
            Rejection::Origin => "origin",
            Rejection::BadUpgrade => "bad_upgrade",
            Rejection::Tls => "tls",
            Rejection::SlowBody => "slow_body",
            Rejection::Unauthorized => "unauthorized",
        }
    }
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// Every counter the server exports at `/metrics`.
#[derive(Debug)]
pub struct Metrics {
    info: &'static ServiceInfo,
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    /// Per operation, then one slot for frames that named none.
    frames_in: Vec<AtomicU64>,
    frames_out: Vec<AtomicU64>,
    replies_ok: AtomicU64,
    /// Per error code of the spec, then one slot for any other.
    replies_error: Vec<AtomicU64>,
    auth_failures: AtomicU64,
    rejected: [AtomicU64; Rejection::ALL.len()],
    events_out: AtomicU64,
    /// TCP connections accepted, per worker (one slot without per-core workers).
    accepted: Vec<AtomicU64>,
    /// By who started the close and the code on the wire.
    closes: std::sync::Mutex<std::collections::BTreeMap<(&'static str, String), u64>>,
    latency: Vec<Histogram>,
}

fn slots<T: Default>(n: usize) -> Vec<T> {
    (0..n).map(|_| T::default()).collect()
}

impl Metrics {
    /// Zeroed counters for the operations and codes of `info`, served by
    /// `workers` accept loops.
    pub fn new(info: &'static ServiceInfo, workers: usize) -> Metrics {
        let operations = info.operations.len() + 1;
        Metrics {
            info,
            connections_open: AtomicU64::default(),
            connections_total: AtomicU64::default(),
            frames_in: slots(operations),
            frames_out: slots(operations),
            replies_ok: AtomicU64::default(),
            replies_error: slots(info.error_codes.len() + 1),
            auth_failures: AtomicU64::default(),
            rejected: Default::default(),
            events_out: AtomicU64::default(),
            accepted: slots(workers.max(1)),
            closes: std::sync::Mutex::default(),
            latency: slots(operations),
        }
    }

    fn slot(&self, operation: Option<usize>) -> usize {
        operation.filter(|op| *op < self.info.operations.len()).unwrap_or(self.info.operations.len())
    }

    fn label(&self, slot: usize) -> &'static str {
        self.info.operations.get(slot).copied().unwrap_or("unknown")
    }

    /// A connection was upgraded.
    pub fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Relaxed);
        self.connections_total.fetch_add(1, Relaxed);
    }

    /// A connection is closing (counted when the close is decided, before the
    /// close handshake). Counted by who started it and the code on the wire; a
    /// client's own code (which the server echoes) counts as `other` unless the
    /// spec publishes it, so clients cannot grow the series set.
    pub fn connection_closing(&self, reason: CloseReason) {
        let by = if matches!(reason, CloseReason::ClientClosed(_)) { "client" } else { "server" };
        let code = match reason.code_on_the_wire() {
            None => "none".to_owned(),
            Some(code) if by == "server" || self.info.close_codes.iter().any(|(c, _)| *c == code) => code.to_string(),
            Some(_) => "other".to_owned(),
        };
        let mut closes = self.closes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *closes.entry((by, code)).or_default() += 1;
    }

    /// Worker `worker` accepted a TCP connection.
    pub fn accepted(&self, worker: usize) {
        if let Some(count) = self.accepted.get(worker) {
            count.fetch_add(1, Relaxed);
        }
    }

    /// A connection's socket is gone.
    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Relaxed);
    }

    /// An upgrade or TLS handshake was refused.
    pub fn rejected(&self, why: Rejection) {
        self.rejected[why as usize].fetch_add(1, Relaxed);
    }

    /// One frame was answered (or, for a message without reply, handled).
    pub fn dispatched(&self, outcome: &Outcome, elapsed: Duration) {
        let slot = self.slot(outcome.operation);
        self.frames_in[slot].fetch_add(1, Relaxed);
        match outcome.error {
            None => self.replies_ok.fetch_add(1, Relaxed),
            Some(code) => {
                let index = self.info.error_codes.iter().position(|c| *c == code.as_str());
                self.replies_error[index.unwrap_or(self.info.error_codes.len())].fetch_add(1, Relaxed)
            }
        };
        if outcome.error == Some(crate::Code::UNAUTHORIZED) {
            self.auth_failures.fetch_add(1, Relaxed);
        }
        let histogram = &self.latency[slot];
        let seconds = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&histogram.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        histogram.count.fetch_add(1, Relaxed);
        histogram.sum_micros.fetch_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// One reply was queued for the client.
    pub fn frame_out(&self, operation: Option<usize>) {
        self.frames_out[self.slot(operation)].fetch_add(1, Relaxed);
    }

    /// One event was queued for the client.
    pub fn event_out(&self) {
        self.events_out.fetch_add(1, Relaxed);
    }

    /// Open connections now.
    pub fn open_connections(&self) -> u64 {
        self.connections_open.load(Relaxed)
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(out, "# HELP specserve_connections_open Open WebSocket connections.");
        let _ = writeln!(out, "# TYPE specserve_connections_open gauge");
        let _ = writeln!(out, "specserve_connections_open {}", self.connections_open.load(Relaxed));
        let _ = writeln!(out, "# HELP specserve_connections_total WebSocket connections accepted since start.");
        let _ = writeln!(out, "# TYPE specserve_connections_total counter");
        let _ = writeln!(out, "specserve_connections_total {}", self.connections_total.load(Relaxed));
        for (name, help, series) in [
            ("specserve_frames_in_total", "Text frames received, by operation.", &self.frames_in),
            ("specserve_frames_out_total", "Reply frames sent, by operation.", &self.frames_out),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            for (slot, value) in series.iter().enumerate() {
                let _ = writeln!(out, "{name}{{operation=\"{}\"}} {}", self.label(slot), value.load(Relaxed));
            }
        }
        let _ = writeln!(
            out,
            "# HELP specserve_accepted_total TCP connections accepted, by worker (0 unless --workers runs several)."
        );
        let _ = writeln!(out, "# TYPE specserve_accepted_total counter");
        for (worker, count) in self.accepted.iter().enumerate() {
            let _ = writeln!(out, "specserve_accepted_total{{worker=\"{worker}\"}} {}", count.load(Relaxed));
        }
        let _ = writeln!(out, "# HELP specserve_events_out_total Events (server push) queued for clients.");
        let _ = writeln!(out, "# TYPE specserve_events_out_total counter");
        let _ = writeln!(out, "specserve_events_out_total {}", self.events_out.load(Relaxed));
        let _ = writeln!(out, "# HELP specserve_replies_total Replies by outcome: ok or the error code.");
        let _ = writeln!(out, "# TYPE specserve_replies_total counter");
        let _ = writeln!(out, "specserve_replies_total{{code=\"ok\"}} {}", self.replies_ok.load(Relaxed));
        let codes = self.info.error_codes.iter().copied().chain(["other"]);
        for (code, count) in codes.zip(&self.replies_error) {
            let _ = writeln!(out, "specserve_replies_total{{code=\"{code}\"}} {}", count.load(Relaxed));
        }
        let _ = writeln!(out, "# HELP specserve_auth_failures_total Secured frames refused as unauthorized.");
        let _ = writeln!(out, "# TYPE specserve_auth_failures_total counter");
        let _ = writeln!(out, "specserve_auth_failures_total {}", self.auth_failures.load(Relaxed));
        let _ = writeln!(
            out,
            "# HELP specserve_rejected_total Connections and requests refused before or at upgrade, by reason."
        );
        let _ = writeln!(out, "# TYPE specserve_rejected_total counter");
        for why in Rejection::ALL {
            let _ = writeln!(
                out,
                "specserve_rejected_total{{reason=\"{}\"}} {}",
                why.label(),
                self.rejected[why as usize].load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP specserve_closes_total Connections closed, by who closed and the close code on the wire."
        );
        let _ = writeln!(out, "# TYPE specserve_closes_total counter");
        for ((by, code), count) in self.closes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let _ = writeln!(out, "specserve_closes_total{{by=\"{by}\",code=\"{code}\"}} {count}");
        }
        let _ = writeln!(out, "# HELP specserve_dispatch_seconds Time from frame to reply, by operation.");
        let _ = writeln!(out, "# TYPE specserve_dispatch_seconds histogram");
        for (slot, histogram) in self.latency.iter().enumerate() {
            let operation = self.label(slot);
            for (bound, bucket) in BUCKETS.iter().zip(&histogram.buckets) {
                let _ = writeln!(
                    out,
                    "specserve_dispatch_seconds_bucket{{operation=\"{operation}\",le=\"{bound}\"}} {}",
                    bucket.load(Relaxed)
                );
            }
            let count = histogram.count.load(Relaxed);
            let _ = writeln!(out, "specserve_dispatch_seconds_bucket{{operation=\"{operation}\",le=\"+Inf\"}} {count}");
            let sum = histogram.sum_micros.load(Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "specserve_dispatch_seconds_sum{{operation=\"{operation}\"}} {sum}");
            let _ = writeln!(out, "specserve_dispatch_seconds_count{{operation=\"{operation}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP specserve_build_info What is serving: the runtime's version, the spec's title and version."
        );
        let _ = writeln!(out, "# TYPE specserve_build_info gauge");
        let _ = writeln!(
            out,
            "specserve_build_info{{runtime=\"{}\",spec=\"{}\",spec_version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            label_value(self.info.title),
            label_value(self.info.version)
        );
        super::process::render(&mut out);
        out
    }
}

/// `text` as a Prometheus label value: backslash, quote and newline escaped.
fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
