//! Prometheus metrics in plain atomics: the operations and error codes come
//! from the spec (the service's [`ServiceInfo`]), so every series is a slot
//! made at start-up and recording a frame never locks (only a connection's
//! close does). The counters every frame touches are striped per thread
//! ([`Striped`]) so cores do not trade their cache lines. prometheus-client
//! encodes them at each scrape (its `Collector`), in the OpenMetrics text
//! format.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
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

/// Counters that threads add to, each thread on cache lines of its own
/// stripe, summed when read: one shared atomic per series had every core
/// that recorded a frame pull its line from the others (the histogram alone
/// was 12 of them per frame, ~1.2% of a refused frame's CPU, #33).
#[derive(Debug)]
struct Striped {
    /// Lines per stripe.
    lines: usize,
    stripes: usize,
    cells: Box<[Line]>,
}

/// One cache line (two on CPUs that fetch lines in pairs) of counters.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Line([AtomicU64; 16]);

impl Striped {
    fn new(counters: usize) -> Striped {
        let lines = counters.div_ceil(16).max(1);
        let stripes = std::thread::available_parallelism().map_or(4, usize::from).next_power_of_two().min(64);
        Striped { lines, stripes, cells: slots(lines * stripes).into_boxed_slice() }
    }

    fn add(&self, counter: usize, n: u64) {
        /// This thread's stripe, handed out round robin at its first count.
        fn stripe() -> usize {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            thread_local!(static STRIPE: usize = NEXT.fetch_add(1, Relaxed));
            STRIPE.with(|stripe| *stripe)
        }
        let line = (stripe() % self.stripes) * self.lines + counter / 16;
        self.cells[line].0[counter % 16].fetch_add(n, Relaxed);
    }

    fn get(&self, counter: usize) -> u64 {
        (0..self.stripes)
            .map(|stripe| self.cells[stripe * self.lines + counter / 16].0[counter % 16].load(Relaxed))
            .sum()
    }
}

/// Where each per-frame series lives among the [`Striped`] counters.
#[derive(Debug)]
struct Layout {
    /// Operation slots (the spec's operations, then one for frames that named none).
    operations: usize,
    /// Error code slots (the spec's codes, then `other`).
    codes: usize,
}

impl Layout {
    /// Counters per operation's latency histogram: each bucket's own count
    /// (then `+Inf`), then the sum in microseconds.
    const HISTOGRAM: usize = BUCKETS.len() + 2;

    fn frames_in(&self, slot: usize) -> usize {
        slot
    }
    fn frames_out(&self, slot: usize) -> usize {
        self.operations + slot
    }
    fn replies_ok(&self) -> usize {
        2 * self.operations
    }
    fn replies_error(&self, code: usize) -> usize {
        self.replies_ok() + 1 + code
    }
    fn auth_failures(&self) -> usize {
        self.replies_error(self.codes)
    }
    fn events_out(&self) -> usize {
        self.auth_failures() + 1
    }
    /// Bucket `bucket` of operation slot `slot` (`BUCKETS.len()`: `+Inf`).
    fn bucket(&self, slot: usize, bucket: usize) -> usize {
        self.events_out() + 1 + slot * Self::HISTOGRAM + bucket
    }
    fn sum_micros(&self, slot: usize) -> usize {
        self.bucket(slot, BUCKETS.len() + 1)
    }
    fn len(&self) -> usize {
        self.bucket(self.operations, 0)
    }
}

/// Every counter the server exports at `/metrics`.
#[derive(Debug)]
pub struct Metrics {
    info: &'static ServiceInfo,
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    /// What every frame counts: frames in and out, replies by outcome, auth
    /// failures, events, latency; placed by `layout`.
    per_frame: Striped,
    layout: Layout,
    rejected: [AtomicU64; Rejection::ALL.len()],
    /// TCP connections accepted, per worker (one slot without per-core workers).
    accepted: Vec<AtomicU64>,
    /// By who started the close and the code on the wire.
    closes: std::sync::Mutex<std::collections::BTreeMap<(&'static str, String), u64>>,
}

fn slots<T: Default>(n: usize) -> Vec<T> {
    (0..n).map(|_| T::default()).collect()
}

impl Metrics {
    /// Zeroed counters for the operations and codes of `info`, served by
    /// `workers` accept loops.
    pub fn new(info: &'static ServiceInfo, workers: usize) -> Metrics {
        let layout = Layout { operations: info.operations.len() + 1, codes: info.error_codes.len() + 1 };
        Metrics {
            info,
            connections_open: AtomicU64::default(),
            connections_total: AtomicU64::default(),
            per_frame: Striped::new(layout.len()),
            layout,
            rejected: Default::default(),
            accepted: slots(workers.max(1)),
            closes: std::sync::Mutex::default(),
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
        let (slot, layout) = (self.slot(outcome.operation), &self.layout);
        self.per_frame.add(layout.frames_in(slot), 1);
        let replies = match outcome.error {
            None => layout.replies_ok(),
            Some(code) => {
                let index = self.info.error_codes.iter().position(|c| *c == code.as_str());
                layout.replies_error(index.unwrap_or(self.info.error_codes.len()))
            }
        };
        self.per_frame.add(replies, 1);
        if outcome.error == Some(crate::Code::UNAUTHORIZED) {
            self.per_frame.add(layout.auth_failures(), 1);
        }
        // Each bucket counts its own; a scrape makes them cumulative.
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(BUCKETS.len());
        self.per_frame.add(layout.bucket(slot, bucket), 1);
        self.per_frame.add(layout.sum_micros(slot), u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
    }

    /// One reply was queued for the client.
    pub fn frame_out(&self, operation: Option<usize>) {
        self.per_frame.add(self.layout.frames_out(self.slot(operation)), 1);
    }

    /// One event was queued for the client.
    pub fn event_out(&self) {
        self.per_frame.add(self.layout.events_out(), 1);
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
            self.connections_total.load(Relaxed),
        )?;
        let layout = &self.layout;
        let sum = |counter: usize| self.per_frame.get(counter);
        for (name, help, at) in [
            (
                "specserve_frames_in",
                "Text frames received, by operation.",
                Layout::frames_in as fn(&Layout, usize) -> usize,
            ),
            ("specserve_frames_out", "Reply frames sent, by operation.", Layout::frames_out),
        ] {
            let by_operation: Vec<_> =
                (0..layout.operations).map(|slot| ([("operation", self.label(slot))], sum(at(layout, slot)))).collect();
            counter(&mut encoder, name, help, &by_operation)?;
        }
        let by_worker: Vec<_> = self
            .accepted
            .iter()
            .enumerate()
            .map(|(worker, count)| ([("worker", worker.to_string())], count.load(Relaxed)))
            .collect();
        counter(
            &mut encoder,
            "specserve_accepted",
            "TCP connections accepted, by worker (0 unless --workers runs several).",
            &by_worker,
        )?;
        total(
            &mut encoder,
            "specserve_events_out",
            "Events (server push) queued for clients.",
            sum(layout.events_out()),
        )?;
        let codes = std::iter::once(("ok", sum(layout.replies_ok())))
            .chain(
                self.info
                    .error_codes
                    .iter()
                    .copied()
                    .chain(["other"])
                    .enumerate()
                    .map(|(index, code)| (code, sum(layout.replies_error(index)))),
            )
            .map(|(code, count)| ([("code", code)], count))
            .collect::<Vec<_>>();
        counter(&mut encoder, "specserve_replies", "Replies by outcome: ok or the error code.", &codes)?;
        total(
            &mut encoder,
            "specserve_auth_failures",
            "Secured frames refused as unauthorized.",
            sum(layout.auth_failures()),
        )?;
        let reasons: Vec<_> = Rejection::ALL
            .iter()
            .map(|why| ([("reason", why.label())], self.rejected[*why as usize].load(Relaxed)))
            .collect();
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
        for slot in 0..layout.operations {
            let mut buckets: Vec<(f64, u64)> =
                BUCKETS.iter().enumerate().map(|(bucket, bound)| (*bound, sum(layout.bucket(slot, bucket)))).collect();
            buckets.push((f64::MAX, sum(layout.bucket(slot, BUCKETS.len()))));
            let count = buckets.iter().map(|(_, own)| own).sum();
            let seconds = sum(layout.sum_micros(slot)) as f64 / 1e6;
            latency
                .encode_family(&[("operation", self.label(slot))])?
                .encode_histogram::<NoLabelSet>(seconds, count, &buckets, None)?;
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
    series: &[(L, u64)],
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in series {
        family.encode_family(labels)?.encode_counter::<NoLabelSet, _, u64>(value, None)?;
    }
    Ok(())
}

/// A counter without labels.
fn total(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> std::fmt::Result {
    encoder.encode_descriptor(name, help, None, MetricType::Counter)?.encode_counter::<NoLabelSet, _, u64>(&value, None)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    static INFO: ServiceInfo = ServiceInfo {
        title: "t",
        version: "1",
        operations: &["a", "b"],
        error_codes: &["bad_request", "unauthorized"],
        close_codes: &[],
        credentials: &[],
        paths: &[],
    };

    /// Counts made on many threads (more than there are stripes) are all in
    /// the scrape, and the latency histogram reads cumulatively.
    #[test]
    fn counts_from_every_thread_add_up() {
        let metrics = Arc::new(Metrics::new(&INFO, 1));
        let threads: Vec<_> = (0..80)
            .map(|_| {
                let metrics = Arc::clone(&metrics);
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        let ok = Outcome { operation: Some(1), error: None, text: String::new() };
                        metrics.dispatched(&ok, Duration::from_micros(700));
                        metrics.frame_out(Some(1));
                    }
                    let refused = Outcome { operation: None, error: Some(Code::UNAUTHORIZED), text: String::new() };
                    metrics.dispatched(&refused, Duration::from_secs(3));
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let text = metrics.render();
        for line in [
            "specserve_frames_in_total{operation=\"b\"} 8000",
            "specserve_frames_in_total{operation=\"unknown\"} 80",
            "specserve_frames_out_total{operation=\"b\"} 8000",
            "specserve_replies_total{code=\"ok\"} 8000",
            "specserve_replies_total{code=\"unauthorized\"} 80",
            "specserve_auth_failures_total 80",
            // 0.7 ms: not in the 0.5 ms bucket, in the 1 ms one and every one above.
            "specserve_dispatch_seconds_bucket{le=\"0.0005\",operation=\"b\"} 0",
            "specserve_dispatch_seconds_bucket{le=\"0.001\",operation=\"b\"} 8000",
            "specserve_dispatch_seconds_bucket{le=\"2.5\",operation=\"b\"} 8000",
            "specserve_dispatch_seconds_bucket{le=\"2.5\",operation=\"unknown\"} 0",
            "specserve_dispatch_seconds_bucket{le=\"+Inf\",operation=\"unknown\"} 80",
            "specserve_dispatch_seconds_count{operation=\"b\"} 8000",
            "specserve_dispatch_seconds_sum{operation=\"b\"} 5.6",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
