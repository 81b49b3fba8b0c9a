//! Prometheus metrics in plain atomics: the operations and error codes come
//! from the spec (the service's [`ServiceInfo`]), so every series is a slot
//! made at start-up and recording a frame never locks (only a connection's
//! close does). prometheus-client encodes them at each scrape (its
//! `Collector`), in the OpenMetrics text format.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

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

    /// These metrics alone in the OpenMetrics text exposition (what
    /// `/metrics` serves, with the process's and the bus's beside them).
    pub fn render(self: &Arc<Self>) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Arc::clone(self)));
        let mut out = String::with_capacity(8192);
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

/// Encoded at each scrape from the atomics (prometheus-client's own
/// metric types would put a lock and a map lookup by label set on every
/// frame; these are array slots).
impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        gauge(&mut encoder, "specserve_connections_open", "Open WebSocket connections.", &self.connections_open)?;
        total(
            &mut encoder,
            "specserve_connections",
            "WebSocket connections accepted since start.",
            &self.connections_total,
        )?;
        for (name, help, series) in [
            ("specserve_frames_in", "Text frames received, by operation.", &self.frames_in),
            ("specserve_frames_out", "Reply frames sent, by operation.", &self.frames_out),
        ] {
            let by_operation: Vec<_> =
                series.iter().enumerate().map(|(slot, value)| ([("operation", self.label(slot))], value)).collect();
            counter(&mut encoder, name, help, &by_operation)?;
        }
        let by_worker: Vec<_> =
            self.accepted.iter().enumerate().map(|(worker, count)| ([("worker", worker.to_string())], count)).collect();
        counter(
            &mut encoder,
            "specserve_accepted",
            "TCP connections accepted, by worker (0 unless --workers runs several).",
            &by_worker,
        )?;
        total(&mut encoder, "specserve_events_out", "Events (server push) queued for clients.", &self.events_out)?;
        let codes = std::iter::once(("ok", &self.replies_ok))
            .chain(self.info.error_codes.iter().copied().chain(["other"]).zip(&self.replies_error))
            .map(|(code, count)| ([("code", code)], count))
            .collect::<Vec<_>>();
        counter(&mut encoder, "specserve_replies", "Replies by outcome: ok or the error code.", &codes)?;
        total(&mut encoder, "specserve_auth_failures", "Secured frames refused as unauthorized.", &self.auth_failures)?;
        let reasons: Vec<_> =
            Rejection::ALL.iter().map(|why| ([("reason", why.label())], &self.rejected[*why as usize])).collect();
        counter(
            &mut encoder,
            "specserve_rejected",
            "Connections and requests refused before or at upgrade, by reason.",
            &reasons,
        )?;
        {
            let closes = self.closes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut family = encoder.encode_descriptor(
                "specserve_closes",
                "Connections closed, by who closed and the close code on the wire.",
                None,
                MetricType::Counter,
            )?;
            for ((by, code), count) in closes.iter() {
                let labels = [("by", *by), ("code", code.as_str())];
                family.encode_family(&labels)?.encode_counter::<NoLabelSet, _, u64>(count, None)?;
            }
        }
        let mut latency = encoder.encode_descriptor(
            "specserve_dispatch_seconds",
            "Time from frame to reply, by operation.",
            None,
            MetricType::Histogram,
        )?;
        for (slot, histogram) in self.latency.iter().enumerate() {
            // The slots count cumulatively; the encoder wants each bucket's own.
            let mut below = 0;
            let mut buckets: Vec<(f64, u64)> = BUCKETS
                .iter()
                .zip(&histogram.buckets)
                .map(|(bound, bucket)| {
                    let cumulative = bucket.load(Relaxed).max(below);
                    let own = cumulative - below;
                    below = cumulative;
                    (*bound, own)
                })
                .collect();
            let count = histogram.count.load(Relaxed).max(below);
            buckets.push((f64::MAX, count - below));
            let sum = histogram.sum_micros.load(Relaxed) as f64 / 1e6;
            latency
                .encode_family(&[("operation", self.label(slot))])?
                .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        }
        let build =
            [("runtime", env!("CARGO_PKG_VERSION")), ("spec", self.info.title), ("spec_version", self.info.version)];
        encoder
            .encode_descriptor(
                "specserve_build",
                "What is serving: the runtime's version, the spec's title and version.",
                None,
                MetricType::Info,
            )?
            .encode_info(&build)
    }
}

/// A counter family: each series' labels and value.
fn counter<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(L, &AtomicU64)],
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in series {
        family.encode_family(labels)?.encode_counter::<NoLabelSet, _, u64>(&value.load(Relaxed), None)?;
    }
    Ok(())
}

/// A counter without labels.
fn total(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: &AtomicU64) -> std::fmt::Result {
    encoder
        .encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, _, u64>(&value.load(Relaxed), None)
}

/// A gauge without labels.
fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: &AtomicU64) -> std::fmt::Result {
    encoder.encode_descriptor(name, help, None, MetricType::Gauge)?.encode_gauge(&value.load(Relaxed))
}

/// The cluster bus's state and traffic, when the hub has one.
#[derive(Debug)]
pub(super) struct BusMetrics(pub(super) crate::hub::Hub);

impl Collector for BusMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let Some(bus) = self.0.bus_status() else { return Ok(()) };
        encoder
            .encode_descriptor(
                "specserve_cluster_bus_connected",
                "Whether the cluster bus reaches the other nodes.",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&u64::from(bus.connected))?;
        encoder
            .encode_descriptor(
                "specserve_cluster_bus_refused",
                "Whether the cluster bus refuses this node's credentials.",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&u64::from(bus.refused))?;
        let mut family = encoder.encode_descriptor(
            "specserve_cluster_messages",
            "Cluster bus messages: sent, dropped (queue full), received, late (behind their stream, dropped), \
             forged (not sealed with the cluster key), replayed (seen before, or too old), unconfirmed (a stream \
             position the database does not have).",
            None,
            MetricType::Counter,
        )?;
        let outcomes = [
            ("sent", bus.sent),
            ("dropped", bus.dropped),
            ("received", bus.received),
            ("late", bus.late),
            ("forged", bus.forged),
            ("replayed", bus.replayed),
            ("unconfirmed", bus.unconfirmed),
        ];
        for (outcome, count) in outcomes {
            family.encode_family(&[("outcome", outcome)])?.encode_counter::<NoLabelSet, _, u64>(&count, None)?;
        }
        Ok(())
    }
}
