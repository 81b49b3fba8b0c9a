//! Several nodes on one NATS (`--cluster-url`): the events a node publishes
//! reach the other nodes' connections, and the sessions a node ends stop
//! working on every node. NATS is the only thing the nodes share besides the
//! database; what crosses it is sealed under the cluster key
//! ([`envelope`]), so a NATS user without the key can neither read it nor
//! write anything a node accepts, and nothing counts twice.
//!
//! Three subjects: `<prefix>.events` carries the hub's events
//! ([`specserve_runtime::hub::RemoteEvent`]), `<prefix>.notices` the app's
//! [`Notice`]s, `<prefix>.presence` who is online where. All are plain NATS
//! publishes: at most once, like the events of one node. While NATS is
//! unreachable, events reach this node's connections only; the client
//! reconnects by itself and the subscription comes back with it. An event's
//! place in its room's order ([`Position`]) is believed only once the
//! database has the message it names ([`PositionCheck`]), so not even a
//! node's bug can make a room's real messages late.
//!
//! Presence ([`presence`]): every node says at once when a user comes
//! online or goes offline on it, and every [`HEARTBEAT`] lists all its online
//! users. Each node keeps the others' lists and tells its own connections
//! when a user's being online anywhere changes
//! ([`ClusterEvent::PresenceElsewhere`]); a node not heard from for
//! [`PRESENCE_TTL`] (it died without saying goodbye, or NATS is gone) counts
//! for no one, and the app hears who it had online ([`ClusterEvent::NodeLost`]).

pub mod envelope;
pub mod nats;
pub mod presence;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use specserve_runtime::hub::{Bus, BusStatus, Hub, Position, RemoteEvent};
use tokio::sync::mpsc;

use self::envelope::{NodeId, Opener, Refusal, Sealer};
use self::nats::{LinkState, NatsConfig};
pub use self::presence::PRESENCE_TTL;
use self::presence::{Elsewhere, PresenceMessage};
use crate::security::secret::Secret;

/// Something a node did that the others must repeat for their own
/// connections and caches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Notice {
    /// A token was revoked (logout, token/revoke, a replayed refresh token).
    SessionEnded {
        /// Its user.
        user: i64,
        /// The token's id.
        token: i64,
    },
    /// Every token of a user but `keep` was revoked (a password change).
    SessionsEnded {
        /// The user.
        user: i64,
        /// The token that stays, if any.
        keep: Option<i64>,
    },
    /// A user's role changed: cached identities are stale.
    UserChanged {
        /// The user.
        user: i64,
    },
    /// A user was deleted: its connections close.
    UserDeleted {
        /// The user.
        user: i64,
    },
}

/// What the app hears from the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterEvent {
    /// Another node did something this node must repeat.
    Notice(Notice),
    /// A node was not heard from for [`PRESENCE_TTL`] (it died without a
    /// goodbye, or is cut off): the users it had online no longer count there.
    NodeLost {
        /// Who was online on it.
        online: Vec<String>,
    },
    /// Whether a user is online on some other node changed: this node tells
    /// its own connections, when the user is not online here.
    PresenceElsewhere {
        /// The user.
        principal: String,
        /// Online on another node now.
        online: bool,
    },
}

/// Why joining the cluster failed at start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The URL is not a NATS server address.
    #[error("--cluster-url: {0}")]
    Url(String),
    /// Settings that cannot work (a credentials file that is not one, a missing TLS file).
    #[error("{0}")]
    Config(String),
    /// NATS answered and refused this node: its credentials or its TLS.
    #[error("{0}")]
    Refused(String),
    /// Subscribing failed.
    #[error("cluster subscription: {0}")]
    Subscribe(String),
    /// This app (or its hub) is in a cluster already.
    #[error("already joined a cluster")]
    AlreadyJoined,
}

/// How often a node lists its online users.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// How old (or, for clock skew, how far ahead) an envelope may be by default.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(30);
/// The most events whose positions one database read checks; also how many
/// the bus's reader hands over before it waits (NATS buffers meanwhile).
const CHECKED_AT_ONCE: usize = 64;

/// Database reads checking positions at once. The events that arrive while
/// they run are checked together by the next one, so under load a read
/// checks many events, and an event alone waits for no one.
const CHECKS_IN_FLIGHT: usize = 2;

/// Everything a node needs to join.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Where NATS is and how to reach it.
    pub nats: NatsConfig,
    /// The subject prefix: nodes with the same one (and the same key) are one cluster.
    pub subject: String,
    /// The cluster key every envelope is sealed with.
    pub key: Secret,
    /// How old an envelope may be before it counts as a replay.
    pub replay_window: Duration,
}

/// For each [`Position`], in order, whether the database has the message it
/// names in its room (the app's store answers, one read for all). An event
/// whose position it does not confirm is dropped, so it cannot move the
/// room's order.
pub type PositionCheck = Arc<dyn Fn(Vec<Position>) -> Pin<Box<dyn Future<Output = Vec<bool>> + Send>> + Send + Sync>;

type Presence = Arc<Mutex<Elsewhere>>;

/// The three kinds of message, each on its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Events,
    Notices,
    Presence,
}

impl Kind {
    fn suffix(self) -> &'static str {
        match self {
            Kind::Events => "events",
            Kind::Notices => "notices",
            Kind::Presence => "presence",
        }
    }
}

/// Messages queued for NATS at most; past it events are dropped (and counted).
const OUTBOUND_QUEUE: usize = 65_536;

/// What crossed the bus, for `/metrics`.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    dropped: AtomicU64,
    received: AtomicU64,
    forged: AtomicU64,
    replayed: AtomicU64,
    unconfirmed: AtomicU64,
}

/// This node's link to the others.
pub struct Cluster {
    client: async_nats::Client,
    link: Arc<LinkState>,
    node: NodeId,
    prefix: String,
    presence: Presence,
    outbound: mpsc::Sender<(Kind, Bytes)>,
    counters: Arc<Counters>,
}

/// This node's cluster, once it joined one (`--cluster-url`): one handle
/// shared by the parts of the app that tell the other nodes something (the
/// sessions' notices, presence), set once by `App::join_cluster`.
#[derive(Debug, Clone, Default)]
pub struct Nodes(Arc<OnceLock<Arc<Cluster>>>);

impl Nodes {
    /// The cluster, if this node is in one.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.0.get()
    }

    /// Records the cluster this node joined; a second is refused.
    pub fn set(&self, cluster: Arc<Cluster>) -> Result<(), ClusterError> {
        self.0.set(cluster).map_err(|_| ClusterError::AlreadyJoined)
    }

    /// Tells the other nodes, if any.
    pub fn announce(&self, notice: Notice) {
        if let Some(cluster) = self.cluster() {
            cluster.announce(notice);
        }
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("node", &self.node.to_string()).field("prefix", &self.prefix).finish()
    }
}

impl Cluster {
    /// Connects to NATS (a server that refuses this node is an error; one
    /// that is down is retried in the background), delivers the other
    /// nodes' events into `hub` once `positions` confirms their place, and
    /// returns the link and the other nodes' notices, for the app to apply.
    pub async fn join(
        config: ClusterConfig,
        hub: Hub,
        positions: PositionCheck,
    ) -> Result<(Arc<Cluster>, mpsc::Receiver<ClusterEvent>), ClusterError> {
        config.nats.check()?;
        let sealer = Sealer::new(&config.key);
        let node = sealer.node();
        let link = Arc::new(LinkState::default());
        let client = config.nats.connect(format!("specserve {node}"), Arc::clone(&link)).await?;
        let prefix = config.subject.clone();
        let subscription =
            client.subscribe(format!("{prefix}.*")).await.map_err(|e| ClusterError::Subscribe(e.to_string()))?;
        let counters = Arc::new(Counters::default());
        let presence = Presence::default();
        let (notices, notice_receiver) = mpsc::channel(1024);
        let (events, event_receiver) = mpsc::channel(CHECKED_AT_ONCE);
        let opener = Opener::new(config.key, node, config.replay_window);
        let reader = Reader {
            opener,
            prefix: prefix.clone(),
            counters: Arc::clone(&counters),
            presence: Arc::clone(&presence),
            notices: notices.clone(),
            events,
            refusals: RefusalLog::default(),
        };
        tokio::spawn(reader.run(subscription));
        tokio::spawn(deliver_in_order(event_receiver, hub.clone(), positions, Arc::clone(&counters)));
        // One task seals and publishes, in the order things happened on this node.
        let (outbound, queue) = mpsc::channel::<(Kind, Bytes)>(OUTBOUND_QUEUE);
        tokio::spawn(publish(client.clone(), sealer, prefix.clone(), queue));
        tracing::info!(node = %node, subject = %prefix, auth = config.nats.auth.kind(), "joined the cluster");
        let cluster = Arc::new(Cluster { client, link, node, prefix, presence, outbound, counters });
        // The heartbeat, and the check for lost nodes, for as long as the link lives.
        let link = Arc::downgrade(&cluster);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(HEARTBEAT);
            loop {
                ticks.tick().await;
                let Some(cluster) = link.upgrade() else { return };
                let online = hub.online_principals().into_iter().map(String::from).collect();
                cluster.send(Kind::Presence, &PresenceMessage::Heartbeat { online });
                for online in cluster.forget_lost_nodes() {
                    if notices.send(ClusterEvent::NodeLost { online }).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok((cluster, notice_receiver))
    }

    /// Tells the other nodes that `principal` came online or went offline here.
    pub fn presence_changed(&self, principal: &str, online: bool) {
        self.send(Kind::Presence, &PresenceMessage::Changed { principal: principal.to_owned(), online });
    }

    /// Whether `principal` is online on another node that was heard from
    /// within [`PRESENCE_TTL`].
    pub fn online_elsewhere(&self, principal: &str) -> bool {
        self.presence.lock().unwrap_or_else(PoisonError::into_inner).is_online(principal)
    }

    /// Everyone online on the other nodes heard from within [`PRESENCE_TTL`].
    pub fn everyone_online_elsewhere(&self) -> Vec<Box<str>> {
        self.presence.lock().unwrap_or_else(PoisonError::into_inner).online()
    }

    /// Forgets the nodes not heard from for [`PRESENCE_TTL`]; who each had online.
    fn forget_lost_nodes(&self) -> Vec<Vec<String>> {
        self.presence.lock().unwrap_or_else(PoisonError::into_inner).forget_lost()
    }

    /// Tells the other nodes what this one did.
    pub fn announce(&self, notice: Notice) {
        self.send(Kind::Notices, &notice);
    }

    fn send<T: serde::Serialize>(&self, kind: Kind, body: &T) {
        let Ok(body) = serde_json::to_vec(body) else { return };
        let counter = match self.outbound.try_send((kind, body.into())) {
            Ok(()) => &self.counters.sent,
            Err(_) => &self.counters.dropped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Bus for Cluster {
    fn forward(&self, event: RemoteEvent) {
        self.send(Kind::Events, &event);
    }

    fn status(&self) -> BusStatus {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        BusStatus {
            connected: self.client.connection_state() == async_nats::connection::State::Connected,
            refused: self.link.refused(),
            sent: count(&self.counters.sent),
            dropped: count(&self.counters.dropped),
            received: count(&self.counters.received),
            forged: count(&self.counters.forged),
            replayed: count(&self.counters.replayed),
            unconfirmed: count(&self.counters.unconfirmed),
            // The hub counts its own.
            late: 0,
        }
    }
}

/// Events sealed into one envelope at most (what waited in the queue while
/// the last envelope went out).
const EVENTS_PER_ENVELOPE: usize = 64;
/// Bytes of one envelope's array of events at most, well under NATS's
/// default 1 MiB payload; a larger event goes alone.
const EVENT_BYTES_PER_ENVELOPE: usize = 256 * 1024;

/// Seals what this node queues and publishes it. Events that queued up
/// together go in one envelope, a JSON array of them, so that a busy node
/// costs NATS and the other nodes one message per wake-up rather than one per
/// event (a chat message is two events here, and a receipt there).
async fn publish(
    client: async_nats::Client,
    mut sealer: Sealer,
    prefix: String,
    mut queue: mpsc::Receiver<(Kind, Bytes)>,
) {
    let mut waiting = Vec::with_capacity(EVENTS_PER_ENVELOPE);
    while queue.recv_many(&mut waiting, EVENTS_PER_ENVELOPE).await > 0 {
        for (kind, body) in envelopes(&mut waiting) {
            let subject = format!("{prefix}.{}", kind.suffix());
            let envelope = sealer.seal(&subject, &body);
            if let Err(error) = client.publish(subject, envelope.into()).await {
                tracing::debug!(%error, "cluster publish failed");
            }
        }
    }
}

/// The bodies of the envelopes that carry `queued` (drained), in order:
/// consecutive events joined into arrays up to the limits above, anything
/// else alone.
fn envelopes(queued: &mut Vec<(Kind, Bytes)>) -> Vec<(Kind, Bytes)> {
    let mut out: Vec<(Kind, Bytes)> = Vec::with_capacity(queued.len());
    // The events of the next envelope, and its size as an array: `[`, then each with its `,` or `]`.
    let mut events: Vec<Bytes> = Vec::new();
    let mut size = 1;
    for (kind, body) in queued.drain(..) {
        // `<`: the event's `,` or `]` takes one byte more.
        let fits = kind == Kind::Events && size + body.len() < EVENT_BYTES_PER_ENVELOPE;
        if !fits {
            out.extend(joined(&mut events).map(|array| (Kind::Events, array)));
            size = 1;
        }
        if kind == Kind::Events {
            size += body.len() + 1;
            events.push(body);
        } else {
            out.push((kind, body));
        }
    }
    out.extend(joined(&mut events).map(|array| (Kind::Events, array)));
    out
}

/// `events` (drained) as one envelope's body: an event alone as it is, several as a JSON array.
fn joined(events: &mut Vec<Bytes>) -> Option<Bytes> {
    if events.len() <= 1 {
        return events.pop();
    }
    let mut array = Vec::with_capacity(events.iter().map(|e| e.len() + 1).sum::<usize>() + 1);
    for (n, event) in events.drain(..).enumerate() {
        array.push(if n == 0 { b'[' } else { b',' });
        array.extend_from_slice(&event);
    }
    array.push(b']');
    Some(array.into())
}

/// Reads the cluster's subjects: opens each envelope (or counts why not)
/// and hands what it holds on.
struct Reader {
    opener: Opener,
    prefix: String,
    counters: Arc<Counters>,
    presence: Presence,
    notices: mpsc::Sender<ClusterEvent>,
    events: mpsc::Sender<RemoteEvent>,
    refusals: RefusalLog,
}

impl Reader {
    async fn run(self, mut subscription: async_nats::Subscriber) {
        while let Some(message) = subscription.next().await {
            let subject = message.subject.as_str();
            let kind = match subject.strip_prefix(self.prefix.as_str()).and_then(|s| s.strip_prefix('.')) {
                Some("events") => Kind::Events,
                Some("notices") => Kind::Notices,
                Some("presence") => Kind::Presence,
                _ => continue,
            };
            let (node, body) = match self.opener.open(subject, &message.payload) {
                Ok(opened) => opened,
                Err(Refusal::Own) => continue,
                Err(refusal) => {
                    let counter = match refusal {
                        Refusal::Forged => &self.counters.forged,
                        _ => &self.counters.replayed,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    self.refusals.note(refusal, subject);
                    continue;
                }
            };
            if !self.hand_on(kind, node, &body).await {
                return;
            }
        }
    }

    /// Hands an opened message on; `false` once the app is gone.
    async fn hand_on(&self, kind: Kind, node: NodeId, body: &[u8]) -> bool {
        match kind {
            // One event, or the events that queued up together on `node` (see [`publish`]).
            Kind::Events => match events_in(body) {
                Ok(events) => {
                    for event in events {
                        self.counters.received.fetch_add(1, Ordering::Relaxed);
                        if self.events.send(event).await.is_err() {
                            return false;
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, %node, "cluster event not understood (another version?)"),
            },
            Kind::Notices => match serde_json::from_slice::<Notice>(body) {
                Ok(notice) => return self.notices.send(ClusterEvent::Notice(notice)).await.is_ok(),
                Err(error) => tracing::warn!(%error, %node, "cluster notice not understood (another version?)"),
            },
            Kind::Presence => match serde_json::from_slice::<PresenceMessage>(body) {
                Ok(message) => {
                    let flips = self.presence.lock().unwrap_or_else(PoisonError::into_inner).hear(node, message);
                    for (principal, online) in flips {
                        let flipped = ClusterEvent::PresenceElsewhere { principal, online };
                        if self.notices.send(flipped).await.is_err() {
                            return false;
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, %node, "cluster presence not understood (another version?)"),
            },
        }
        true
    }
}

/// An envelope's body on the events subject: one event (as nodes before
/// batching sent them), or an array of several in the order they happened.
fn events_in(body: &[u8]) -> serde_json::Result<Vec<RemoteEvent>> {
    match body.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice(body),
        _ => serde_json::from_slice(body).map(|event| vec![event]),
    }
}

/// Hands the other nodes' events to the hub in the order they came, each
/// event with a position once the database confirmed it. The events that
/// wait meanwhile are checked together ([`CHECKS_IN_FLIGHT`] reads at once,
/// delivered in order).
async fn deliver_in_order(
    mut events: mpsc::Receiver<RemoteEvent>,
    hub: Hub,
    positions: PositionCheck,
    counters: Arc<Counters>,
) {
    let mut checking = FuturesOrdered::new();
    loop {
        tokio::select! {
            biased;
            Some(checked) = checking.next(), if !checking.is_empty() => {
                for (event, confirmed) in checked {
                    if confirmed {
                        hub.deliver_remote(event);
                    } else {
                        counters.unconfirmed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("a cluster event names a message the database does not have in its room: dropped");
                    }
                }
            }
            incoming = events.recv(), if checking.len() < CHECKS_IN_FLIGHT => {
                let Some(first) = incoming else { return };
                let mut batch = vec![first];
                while batch.len() < CHECKED_AT_ONCE {
                    let Ok(event) = events.try_recv() else { break };
                    batch.push(event);
                }
                checking.push_back(check_positions(batch, &positions));
            }
        }
    }
}

/// `batch` with whether each event may be delivered: one with a position
/// once the database confirmed it, one without at once.
fn check_positions(
    batch: Vec<RemoteEvent>,
    positions: &PositionCheck,
) -> impl Future<Output = Vec<(RemoteEvent, bool)>> + use<> {
    let asked: Vec<Position> = batch.iter().filter_map(|event| event.position).collect();
    let check = (!asked.is_empty()).then(|| positions(asked));
    async move {
        let mut answers = match check {
            Some(check) => check.await.into_iter(),
            None => Vec::new().into_iter(),
        };
        // An answer missing (a check that said less than it was asked) confirms nothing.
        batch
            .into_iter()
            .map(|event| {
                let confirmed = event.position.is_none() || answers.next().unwrap_or(false);
                (event, confirmed)
            })
            .collect()
    }
}

/// Logs refused envelopes at most once per [`RefusalLog::EVERY`], with how
/// many were refused meanwhile: someone publishing on the cluster's
/// subjects must not flood the log.
#[derive(Default)]
struct RefusalLog {
    last: Mutex<Option<(Instant, u64)>>,
}

impl RefusalLog {
    const EVERY: Duration = Duration::from_secs(10);

    fn note(&self, refusal: Refusal, subject: &str) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *last {
            Some((at, skipped)) if at.elapsed() < Self::EVERY => *skipped += 1,
            _ => {
                let skipped = last.map_or(0, |(_, skipped)| skipped);
                let why = match refusal {
                    Refusal::Forged => {
                        "not sealed with this cluster's key (a NATS user without it, or a node with another key)"
                    }
                    _ => "a replay, or sent too long ago (check the nodes' clocks)",
                };
                tracing::warn!(subject, skipped_since_last = skipped, "cluster message refused: {why}");
                *last = Some((Instant::now(), 0));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use specserve_runtime::hub::{Lane, RemoteAudience};
    use tokio_util::sync::CancellationToken;

    use super::*;

    /// An event for Bob in room 7's order at `id` (after `id - 1`); `0` has no position.
    fn event(id: i64) -> RemoteEvent {
        RemoteEvent {
            topic: (0, String::new()),
            audience: RemoteAudience::Principal("bob".into()),
            frame: id.to_string(),
            position: (id > 0).then_some(Position { stream: 7, id, after: Some(id - 1), after_age_ms: 0 }),
            receipt: None,
            receipt_from: Vec::new(),
        }
    }

    #[tokio::test]
    async fn events_that_waited_are_checked_in_one_read_and_the_unconfirmed_dropped() {
        let hub = Hub::new();
        let (lane, mut bob, _) = Lane::new(1, 16);
        let _registration = hub.register(vec![(0, "".into())], lane, CancellationToken::new());
        assert!(hub.bind(1, "bob", 1));
        let reads = Arc::new(Mutex::new(Vec::new()));
        let asked = Arc::clone(&reads);
        let positions: PositionCheck = Arc::new(move |positions: Vec<Position>| {
            let ids: Vec<i64> = positions.iter().map(|p| p.id).collect();
            asked.lock().unwrap().push(ids.clone());
            // The database has every message but 3.
            Box::pin(async move { ids.iter().map(|id| *id != 3).collect() })
        });
        let (events, receiver) = mpsc::channel(CHECKED_AT_ONCE);
        for id in [1, 2, 3, 0, 4, 5] {
            events.send(event(id)).await.unwrap();
        }
        let counters = Arc::new(Counters::default());
        tokio::spawn(deliver_in_order(receiver, hub, positions, Arc::clone(&counters)));

        let mut frames = Vec::new();
        for _ in 0..5 {
            let frame = bob.recv().await.expect("delivered");
            frames.push(String::from_utf8_lossy(frame.as_ref()).into_owned());
        }
        assert_eq!(frames, ["1", "2", "0", "4", "5"]);
        assert_eq!(*reads.lock().unwrap(), [vec![1, 2, 3, 4, 5]], "one read for the five that waited");
        assert_eq!(counters.unconfirmed.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn events_that_queued_together_cross_in_one_envelope_in_order() {
        let body = |id: i64| Bytes::from(serde_json::to_vec(&event(id)).unwrap());
        let frames = |body: &Bytes| -> Vec<String> { events_in(body).unwrap().into_iter().map(|e| e.frame).collect() };
        let mut queued = vec![
            (Kind::Events, body(1)),
            (Kind::Events, body(2)),
            (Kind::Presence, Bytes::from_static(b"{}")),
            (Kind::Events, body(3)),
            (Kind::Notices, Bytes::from_static(b"{}")),
            (Kind::Events, body(4)),
            (Kind::Events, body(5)),
            (Kind::Events, body(6)),
        ];
        let sent = envelopes(&mut queued);
        assert!(queued.is_empty(), "everything queued is sent");
        let kinds: Vec<Kind> = sent.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, [Kind::Events, Kind::Presence, Kind::Events, Kind::Notices, Kind::Events]);
        assert_eq!(frames(&sent[0].1), ["1", "2"]);
        assert_eq!(frames(&sent[2].1), ["3"]);
        assert!(sent[2].1.starts_with(b"{"), "an event alone goes as before batching, for older nodes");
        assert_eq!(frames(&sent[4].1), ["4", "5", "6"]);
    }

    #[test]
    fn an_envelope_holds_a_bounded_number_of_bytes() {
        let large = |id: i64| {
            let mut large = event(id);
            large.frame = "x".repeat(EVENT_BYTES_PER_ENVELOPE / 2);
            Bytes::from(serde_json::to_vec(&large).unwrap())
        };
        let mut queued = vec![(Kind::Events, large(1)), (Kind::Events, large(2)), (Kind::Events, large(3))];
        let sent = envelopes(&mut queued);
        assert_eq!(sent.len(), 3, "two halves and their JSON do not fit in one envelope");
        assert!(sent.iter().all(|(_, body)| body.len() <= EVENT_BYTES_PER_ENVELOPE));
        assert!(events_in(b"[{]").is_err(), "a broken array is refused whole");
    }
}
