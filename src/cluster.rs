//! Several nodes on one NATS (`--cluster-url`): the events a node publishes
//! reach the other nodes' connections, and the sessions a node ends stop
//! working on every node. NATS is the only thing the nodes share besides the
//! database; there is no cluster protocol of our own.
//!
//! Three subjects: `<prefix>.events` carries the hub's events
//! ([`specserve_runtime::hub::RemoteEvent`]), `<prefix>.notices` the app's
//! [`Notice`]s, `<prefix>.presence` who is online where. All are plain NATS
//! publishes: at most once, like the events of one node. A node skips what it
//! sent itself. While NATS is unreachable, events reach this node's
//! connections only; the client reconnects by itself and the subscriptions
//! come back with it.
//!
//! Presence: every node says at once when a user comes online or goes offline
//! on it, and every [`HEARTBEAT`] lists all its online users. Each node keeps
//! the others' lists; a node not heard from for [`PRESENCE_TTL`] (it died
//! without saying goodbye, or NATS is gone) counts for no one, and the app
//! hears who it had online ([`ClusterEvent::NodeLost`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use specserve_runtime::hub::{Bus, BusStatus, Hub, RemoteEvent};
use tokio::sync::mpsc;

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
}

/// Why joining the cluster failed at start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The URL is not a NATS server address.
    #[error("--cluster-url: {0}")]
    Url(String),
    /// Subscribing failed.
    #[error("cluster subscription: {0}")]
    Subscribe(String),
    /// This app (or its hub) is in a cluster already.
    #[error("already joined a cluster")]
    AlreadyJoined,
}

/// How often a node lists its online users.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long a node's list counts without a heartbeat.
pub const PRESENCE_TTL: Duration = Duration::from_secs(15);

/// A node's presence message.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
enum PresenceMessage {
    /// Everyone online on the node now.
    Heartbeat { online: Vec<String> },
    /// One principal came online or went offline on the node.
    Changed { principal: String, online: bool },
}

/// What this node knows of another's presence.
#[derive(Debug)]
struct NodePresence {
    online: std::collections::HashSet<String>,
    heard: std::time::Instant,
}

type Presence = Arc<std::sync::Mutex<std::collections::HashMap<String, NodePresence>>>;

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope<T> {
    node: String,
    body: T,
}

/// Messages queued for NATS at most; past it events are dropped (and counted).
const OUTBOUND_QUEUE: usize = 65_536;

/// This node's link to the others.
pub struct Cluster {
    client: async_nats::Client,
    node: String,
    events_subject: String,
    notices_subject: String,
    presence_subject: String,
    presence: Presence,
    outbound: mpsc::Sender<(String, Bytes)>,
    forwarded: AtomicU64,
    dropped: AtomicU64,
    received: Arc<AtomicU64>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("node", &self.node).field("subject", &self.events_subject).finish()
    }
}

impl Cluster {
    /// Connects to NATS at `url` (retrying in the background if it is down),
    /// delivers the other nodes' events into `hub`, and returns the link and
    /// the other nodes' notices, for the app to apply.
    pub async fn join(
        url: &str,
        prefix: &str,
        hub: Hub,
    ) -> Result<(Arc<Cluster>, mpsc::Receiver<ClusterEvent>), ClusterError> {
        let node = node_id();
        let client = async_nats::ConnectOptions::new()
            .name(format!("specserve {node}"))
            .retry_on_initial_connect()
            .max_reconnects(None)
            // Quick to come back after a NATS restart, never a tight loop.
            .reconnect_delay_callback(|attempts| Duration::from_millis((100 * attempts as u64).min(1_000)))
            .connect(url)
            .await
            .map_err(|e| ClusterError::Url(e.to_string()))?;
        let events_subject = format!("{prefix}.events");
        let notices_subject = format!("{prefix}.notices");
        let mut events =
            client.subscribe(events_subject.clone()).await.map_err(|e| ClusterError::Subscribe(e.to_string()))?;
        let mut notices =
            client.subscribe(notices_subject.clone()).await.map_err(|e| ClusterError::Subscribe(e.to_string()))?;
        let presence_subject = format!("{prefix}.presence");
        let mut presence_messages =
            client.subscribe(presence_subject.clone()).await.map_err(|e| ClusterError::Subscribe(e.to_string()))?;
        let presence = Presence::default();
        let (me, nodes) = (node.clone(), Arc::clone(&presence));
        tokio::spawn(async move {
            while let Some(message) = presence_messages.next().await {
                let Ok(envelope) = serde_json::from_slice::<Envelope<PresenceMessage>>(&message.payload) else {
                    tracing::warn!("cluster presence message not understood");
                    continue;
                };
                if envelope.node == me {
                    continue;
                }
                let mut nodes = nodes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let entry = nodes.entry(envelope.node).or_insert_with(|| NodePresence {
                    online: std::collections::HashSet::new(),
                    heard: std::time::Instant::now(),
                });
                entry.heard = std::time::Instant::now();
                match envelope.body {
                    PresenceMessage::Heartbeat { online } => entry.online = online.into_iter().collect(),
                    PresenceMessage::Changed { principal, online: true } => {
                        entry.online.insert(principal);
                    }
                    PresenceMessage::Changed { principal, online: false } => {
                        entry.online.remove(&principal);
                    }
                }
            }
        });
        let received = Arc::new(AtomicU64::new(0));

        let hub_for_heartbeat = hub.clone();
        let me = node.clone();
        let counter = Arc::clone(&received);
        tokio::spawn(async move {
            while let Some(message) = events.next().await {
                match serde_json::from_slice::<Envelope<RemoteEvent>>(&message.payload) {
                    Ok(envelope) if envelope.node != me => {
                        counter.fetch_add(1, Ordering::Relaxed);
                        hub.deliver_remote(envelope.body);
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "cluster event not understood"),
                }
            }
        });
        let (notice_sender, notice_receiver) = mpsc::channel(1024);
        let lost_sender = notice_sender.clone();
        let me = node.clone();
        tokio::spawn(async move {
            while let Some(message) = notices.next().await {
                match serde_json::from_slice::<Envelope<Notice>>(&message.payload) {
                    Ok(envelope) if envelope.node != me => {
                        if notice_sender.send(ClusterEvent::Notice(envelope.body)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "cluster notice not understood"),
                }
            }
        });
        // One task publishes, in the order things happened on this node.
        let (outbound, mut queue) = mpsc::channel::<(String, Bytes)>(OUTBOUND_QUEUE);
        let publisher = client.clone();
        tokio::spawn(async move {
            while let Some((subject, payload)) = queue.recv().await {
                if let Err(error) = publisher.publish(subject, payload).await {
                    tracing::debug!(%error, "cluster publish failed");
                }
            }
        });
        tracing::info!(node = %node, subject = %events_subject, "joined the cluster");
        let cluster = Cluster {
            client,
            node,
            events_subject,
            notices_subject,
            presence_subject,
            presence,
            outbound,
            forwarded: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            received,
        };
        let cluster = Arc::new(cluster);
        // The heartbeat, and the check for lost nodes, for as long as the link lives.
        let (link, heartbeat_hub) = (Arc::downgrade(&cluster), hub_for_heartbeat);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(HEARTBEAT);
            loop {
                ticks.tick().await;
                let Some(cluster) = link.upgrade() else { return };
                let online = heartbeat_hub.online_principals().into_iter().map(String::from).collect();
                cluster.send(cluster.presence_subject.clone(), &PresenceMessage::Heartbeat { online });
                for online in cluster.forget_lost_nodes() {
                    if lost_sender.send(ClusterEvent::NodeLost { online }).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok((cluster, notice_receiver))
    }

    /// Tells the other nodes that `principal` came online or went offline here.
    pub fn presence_changed(&self, principal: &str, online: bool) {
        let message = PresenceMessage::Changed { principal: principal.to_owned(), online };
        self.send(self.presence_subject.clone(), &message);
    }

    /// Whether `principal` is online on another node that was heard from
    /// within [`PRESENCE_TTL`].
    pub fn online_elsewhere(&self, principal: &str) -> bool {
        let nodes = self.presence.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        nodes.values().any(|node| node.heard.elapsed() < PRESENCE_TTL && node.online.contains(principal))
    }

    /// Forgets the nodes not heard from for [`PRESENCE_TTL`]; who each had online.
    fn forget_lost_nodes(&self) -> Vec<Vec<String>> {
        let mut nodes = self.presence.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let lost: Vec<String> =
            nodes.iter().filter(|(_, node)| node.heard.elapsed() >= PRESENCE_TTL).map(|(id, _)| id.clone()).collect();
        lost.iter().filter_map(|id| nodes.remove(id)).map(|node| node.online.into_iter().collect()).collect()
    }

    /// Tells the other nodes what this one did.
    pub fn announce(&self, notice: Notice) {
        self.send(self.notices_subject.clone(), &notice);
    }

    fn send<T: serde::Serialize>(&self, subject: String, body: &T) {
        let envelope = Envelope { node: self.node.clone(), body };
        let Ok(payload) = serde_json::to_vec(&envelope) else { return };
        if self.outbound.try_send((subject, payload.into())).is_ok() {
            self.forwarded.fetch_add(1, Ordering::Relaxed);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Bus for Cluster {
    fn forward(&self, event: RemoteEvent) {
        self.send(self.events_subject.clone(), &event);
    }

    fn status(&self) -> BusStatus {
        BusStatus {
            connected: self.client.connection_state() == async_nats::connection::State::Connected,
            sent: self.forwarded.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            // The hub counts its own.
            late: 0,
        }
    }
}

/// A random id for this process, so a node skips its own messages.
fn node_id() -> String {
    let (token, _) = crate::security::tokens::generate().unwrap_or_else(|_| (std::process::id().to_string(), [0; 32]));
    token.chars().take(12).collect()
}
