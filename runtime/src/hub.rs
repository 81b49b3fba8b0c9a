//! Server push: which connections receive which events.
//!
//! Every connection registers at upgrade, before its 101 is sent, under the
//! topics of its binding (a channel and its parameters, so
//! `/v1/marketdata/btcusd` and `.../ethusd` are different topics) with its
//! outbound lane: a bounded queue its connection loop drains into the same
//! ordered writes as replies. The application may then *bind* a connection to
//! a principal it authenticated (a user id, say): never to an id the client
//! claims. An event goes to an [`Audience`] (everyone on the topic, a
//! principal's connections, several principals', one connection), minus one
//! connection if asked, and only to connections on the event's topic.
//!
//! Publishing never waits on a slow member: a lane that is full drops the
//! event and asks its connection to close as a slow consumer (1008), so a
//! client either sees every event or reconnects and catches up (from history,
//! where the API keeps one). That is the documented policy; its size is
//! `--event-queue`. Presence follows the bindings: a principal is online while
//! at least one connection is bound to it.
//!
//! Several nodes: with a [`Bus`] attached, every event published here for a
//! topic's or principals' connections is also forwarded to the other nodes,
//! whose bus hands it to their hub ([`Hub::deliver_remote`]). Publishers do not
//! know whether one runs. An event for one connection stays on its node.
//! Events published [`Audience::in_order`] reach every node's connections in
//! their stream's order ([`order`]), and may ask for a receipt
//! ([`Audience::with_receipt`], [`Hub::on_receipt`]).

mod lane;
mod order;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

pub use lane::{Events, Lane};
pub use order::{Position, WAIT as ORDER_WAIT};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A channel (by its index in the spec) and its parameters, joined (`btcusd`).
pub type Topic = (u16, Box<str>);

/// An event's frame: its text, encoded once by the publisher and shared by
/// every lane that carries it. Cloning it counts a reference, and the socket
/// writes it as it is: a room of 1,000 is one encoding and no copy.
pub type Frame = tokio_tungstenite::tungstenite::Utf8Bytes;

/// One worker's share of an event: the frame and the lanes of that
/// worker's connections that take it.
#[derive(Debug)]
struct Handoff {
    frame: Frame,
    lanes: Vec<Lane>,
}

/// Fills the lanes of one per-core worker's connections with the events
/// published anywhere for them ([`Hub::relay_for`]); the worker runs it.
///
/// Why: a connection's task sleeps on its lane, and a publisher on another
/// worker's thread that fills the lane wakes it there, which for a parked
/// worker is a write to its runtime's `eventfd`: one system call and one
/// thread switch per delivery (1,000 members, two workers: ~500 per
/// message, #33 item 2). Handed to the relay, an event wakes each worker
/// once, and the relay's wakes of its own connections are local. Each
/// worker's handoffs queue in publish order, so every connection's events
/// keep theirs.
#[derive(Debug)]
pub struct Relay(mpsc::UnboundedReceiver<Handoff>);

impl Relay {
    /// Runs until its worker's runtime stops (or the hub replaces or drops
    /// this worker's relay).
    pub async fn run(mut self) {
        while let Some(handoff) = self.0.recv().await {
            for lane in &handoff.lanes {
                lane.offer(&handoff.frame);
            }
        }
    }
}

/// How a publish went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Connections whose lane took the event, or whose worker's [`Relay`]
    /// did (it fills the lane, or closes a full one's connection, soon after).
    pub delivered: usize,
    /// Connections whose lane was full (they are being closed).
    pub dropped: usize,
}

/// Who an event is for (always within the event's topic).
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    who: Who<'a>,
    except: Option<u64>,
    position: Option<Position>,
    receipt: Option<(&'a str, &'a [String])>,
    here_only: bool,
}

#[derive(Debug, Clone, Copy)]
enum Who<'a> {
    Everyone,
    Bound,
    BoundExcept(&'a str),
    Principal(&'a str),
    Principals(&'a [String]),
    Connection(u64),
}

impl<'a> Audience<'a> {
    /// Every connection on the topic (a market data feed, say).
    pub fn everyone() -> Self {
        Audience::of(Who::Everyone)
    }

    /// Every connection bound to a principal (every signed-in user's
    /// devices, no anonymous socket): news for all users of an open server.
    pub fn bound() -> Self {
        Audience::of(Who::Bound)
    }

    /// Every connection bound to a principal other than `principal`: news
    /// about a user for every other signed-in user.
    pub fn bound_except(principal: &'a str) -> Self {
        Audience::of(Who::BoundExcept(principal))
    }

    /// Every connection bound to `principal` (all of a user's devices).
    pub fn principal(principal: &'a str) -> Self {
        Audience::of(Who::Principal(principal))
    }

    /// Every connection bound to any of `principals` (a room's members), each once.
    pub fn principals(principals: &'a [String]) -> Self {
        Audience::of(Who::Principals(principals))
    }

    /// One connection.
    pub fn connection(id: u64) -> Self {
        Audience::of(Who::Connection(id))
    }

    fn of(who: Who<'a>) -> Self {
        Audience { who, except: None, position: None, receipt: None, here_only: false }
    }

    /// The same audience without connection `id` (the sender's own, say).
    pub fn except(self, id: u64) -> Self {
        Audience { except: Some(id), ..self }
    }

    /// The event is at `position` in its stream: on every node, the stream's
    /// events reach connections in its order. Within one node the publisher
    /// keeps the order already (it publishes a stream's events one at a
    /// time); across nodes the hub does. Not for one connection's events.
    pub fn in_order(self, position: Position) -> Self {
        Audience { position: Some(position), ..self }
    }

    /// Once the event (which must be [`in_order`](Audience::in_order)) is
    /// handed to a connection bound to one of `witnesses`, the hub's receipt
    /// hook hears of it for `principal` ([`Hub::on_receipt`]): once per node
    /// that did. (A chat message's author hears of joined members only: an
    /// invited one's connections taking it would tell the author they are online.)
    pub fn with_receipt(self, principal: &'a str, witnesses: &'a [String]) -> Self {
        Audience { receipt: Some((principal, witnesses)), ..self }
    }

    /// This node's connections only, never forwarded: for what every node
    /// decides for itself (that another node's users went offline, say).
    pub fn here_only(self) -> Self {
        Audience { here_only: true, ..self }
    }
}

/// An event on its way to other nodes' connections.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteEvent {
    /// The event's topic.
    pub topic: (u16, String),
    /// Who it is for.
    pub audience: RemoteAudience,
    /// The frame, encoded once by the publisher.
    pub frame: String,
    /// Its place in its stream, if it has one ([`Audience::in_order`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// Whose receipt it asks for ([`Audience::with_receipt`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Whose connections taking it make the receipt due.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receipt_from: Vec<String>,
}

/// An [`Audience`] that means the same on every node (connection ids do not).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteAudience {
    /// Every connection on the topic.
    Everyone,
    /// Every connection bound to a principal.
    Bound,
    /// Every connection bound to a principal but this one.
    BoundExcept(String),
    /// One principal's connections.
    Principal(String),
    /// Several principals' connections.
    Principals(Vec<String>),
}

impl RemoteAudience {
    fn as_audience(&self) -> Audience<'_> {
        match self {
            RemoteAudience::Everyone => Audience::everyone(),
            RemoteAudience::Bound => Audience::bound(),
            RemoteAudience::BoundExcept(p) => Audience::bound_except(p),
            RemoteAudience::Principal(p) => Audience::principal(p),
            RemoteAudience::Principals(ps) => Audience::principals(ps),
        }
    }
}

/// Carries events between nodes (NATS, say): [`Hub::attach_bus`].
pub trait Bus: Send + Sync + 'static {
    /// Sends an event published on this node to the others. Never waits:
    /// live events are at most once, history is the source of truth.
    fn forward(&self, event: RemoteEvent);

    /// Whether it reaches the other nodes now, and its counters (`/readyz`, `/metrics`).
    fn status(&self) -> BusStatus;
}

/// A bus's health, as `/readyz` and `/metrics` report it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStatus {
    /// Whether the other nodes are reachable now.
    pub connected: bool,
    /// Whether the bus refuses this node's credentials (it is cut off until
    /// they are fixed, not until a network heals).
    pub refused: bool,
    /// Messages handed to the bus.
    pub sent: u64,
    /// Messages dropped because the bus's queue was full.
    pub dropped: u64,
    /// Events received from other nodes.
    pub received: u64,
    /// Messages refused as not written by a node of this cluster (no key, altered).
    pub forged: u64,
    /// Messages refused as replays, or as sent too long ago.
    pub replayed: u64,
    /// Events dropped because the database did not confirm their stream position.
    pub unconfirmed: u64,
    /// Events dropped because a later event of their stream was handed over
    /// first (their predecessor was lost, or they came after [`ORDER_WAIT`]).
    pub late: u64,
}

/// Hears that an event asking for `principal`'s receipt was handed to another
/// connection of this hub: [`Hub::on_receipt`].
pub type ReceiptHook = Arc<dyn Fn(&Hub, &str, Position) + Send + Sync>;

/// An event waiting for its turn in its stream.
#[derive(Debug)]
struct Sequenced {
    topic: Topic,
    audience: RemoteAudience,
    except: Option<u64>,
    frame: Frame,
    position: Position,
    /// Whose receipt, and whose connections make it due.
    receipt: Option<(Box<str>, Vec<String>)>,
}

/// One registered connection.
#[derive(Debug)]
struct Member {
    lane: Lane,
    topics: Vec<Topic>,
    close: CancellationToken,
    /// (principal, session) pairs it is bound to; a session is what the
    /// application authenticated it with (a token id), so one can be revoked.
    bound: Vec<(Box<str>, u64)>,
}

#[derive(Debug, Default)]
struct State {
    members: HashMap<u64, Member>,
    by_topic: HashMap<Topic, Vec<u64>>,
    by_principal: HashMap<Box<str>, Vec<u64>>,
    /// Each per-core worker's relay, by worker index, once it has one.
    relays: Vec<Option<mpsc::UnboundedSender<Handoff>>>,
}

impl State {
    /// Removes connection `id` from `principal`'s list; whether that was its last.
    fn unlist(&mut self, principal: &str, id: u64) -> bool {
        let Some(ids) = self.by_principal.get_mut(principal) else { return false };
        ids.retain(|c| *c != id);
        if ids.is_empty() {
            self.by_principal.remove(principal);
            return true;
        }
        false
    }
}

/// Connections by topic and by principal. Cheap to clone: clones share it.
#[derive(Clone)]
pub struct Hub {
    state: Arc<RwLock<State>>,
    bus: Arc<OnceLock<Arc<dyn Bus>>>,
    /// Streams' order across nodes: used only with a bus.
    order: Arc<Mutex<order::Sequencer<Sequenced>>>,
    late: Arc<AtomicU64>,
    receipts: Arc<OnceLock<ReceiptHook>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            state: Arc::default(),
            bus: Arc::default(),
            order: Arc::new(Mutex::new(order::Sequencer::new(Instant::now()))),
            late: Arc::default(),
            receipts: Arc::default(),
        }
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("clustered", &self.bus.get().is_some()).finish_non_exhaustive()
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Hub {
        Hub::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The relay of per-core worker `index`, which that worker runs
    /// ([`Relay::run`]): from now on events for the connections whose lane
    /// is [on that worker](Lane::on_worker) go through it. Called by each
    /// worker as it starts, before it accepts a connection.
    pub fn relay_for(&self, index: usize) -> Relay {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut state = self.write();
        if state.relays.len() <= index {
            state.relays.resize_with(index + 1, || None);
        }
        state.relays[index] = Some(sender);
        Relay(receiver)
    }

    /// Registers `lane`'s connection under `topics` until the registration
    /// leaves; `close` is its close signal (for [`Hub::close_principal`]).
    pub fn register(&self, topics: Vec<Topic>, lane: Lane, close: CancellationToken) -> Registration {
        let id = lane.connection;
        let mut state = self.write();
        for topic in &topics {
            state.by_topic.entry(topic.clone()).or_default().push(id);
        }
        state.members.insert(id, Member { lane, topics, close, bound: Vec::new() });
        Registration { hub: self.clone(), connection: id, left: false }
    }

    /// Binds connection `id` to `principal`, authenticated through `session`:
    /// events for the principal reach it from now on. Returns whether the
    /// principal came online (this is its first bound connection). A
    /// connection that is not registered (it closed) is not bound.
    pub fn bind(&self, id: u64, principal: &str, session: u64) -> bool {
        let mut state = self.write();
        let Some(member) = state.members.get_mut(&id) else { return false };
        if member.bound.iter().any(|(p, s)| &**p == principal && *s == session) {
            return false;
        }
        let already = member.bound.iter().any(|(p, _)| &**p == principal);
        member.bound.push((principal.into(), session));
        if already {
            return false;
        }
        let ids = state.by_principal.entry(principal.into()).or_default();
        ids.push(id);
        ids.len() == 1
    }

    /// Whether connection `id` is bound to `principal` through `session`
    /// already (a shared lock only: the check on every authenticated frame).
    pub fn is_bound(&self, id: u64, principal: &str, session: u64) -> bool {
        let state = self.read();
        state.members.get(&id).is_some_and(|m| m.bound.iter().any(|(p, s)| &**p == principal && *s == session))
    }

    /// Unbinds the connections bound to `principal` through `session` (a
    /// logout): they stay open but get no more of its events. Returns whether
    /// the principal went offline.
    pub fn unbind_session(&self, principal: &str, session: u64) -> bool {
        self.unbind(principal, |s| s == session, |_| {})
    }

    /// Unbinds every session of `principal` but `keep` (a password change
    /// revoked the others): those connections stay open, answer the revoked
    /// token `unauthorized`, and get no more of its events. Returns whether the
    /// principal went offline.
    pub fn unbind_principal(&self, principal: &str, keep: Option<u64>) -> bool {
        self.unbind(principal, |s| Some(s) != keep, |_| {})
    }

    /// Drops `principal`'s bindings through the sessions `drop_session`
    /// picks, telling `unbound` each connection that lost one. Returns
    /// whether the principal went offline.
    fn unbind(&self, principal: &str, drop_session: impl Fn(u64) -> bool, mut unbound: impl FnMut(&Member)) -> bool {
        let mut state = self.write();
        let ids: Vec<u64> = state.by_principal.get(principal).cloned().unwrap_or_default();
        let mut offline = false;
        for id in ids {
            let Some(member) = state.members.get_mut(&id) else { continue };
            let before = member.bound.len();
            member.bound.retain(|(p, s)| !(&**p == principal && drop_session(*s)));
            if member.bound.len() < before {
                unbound(member);
            }
            if !member.bound.iter().any(|(p, _)| &**p == principal) {
                offline |= state.unlist(principal, id);
            }
        }
        offline
    }

    /// Closes every connection bound to `principal` (a deleted user), or only
    /// those bound through another session than `keep` (a password change
    /// ends the other devices' sessions). Those connections are unbound at
    /// once, not when their close handshakes end, so the principal is offline
    /// here from this call on (the caller says so to others; their leaving
    /// reports nothing more). Returns how many were asked to close.
    pub fn close_principal(&self, principal: &str, keep: Option<u64>) -> usize {
        let mut closed = 0;
        self.unbind(
            principal,
            |s| Some(s) != keep,
            |member| {
                if !member.close.is_cancelled() {
                    member.close.cancel();
                    closed += 1;
                }
            },
        );
        closed
    }

    /// Whether any connection is bound to `principal`.
    pub fn is_online(&self, principal: &str) -> bool {
        self.read().by_principal.contains_key(principal)
    }

    /// Every principal with a bound connection here (a cluster's presence heartbeat).
    pub fn online_principals(&self) -> Vec<Box<str>> {
        self.read().by_principal.keys().cloned().collect()
    }

    /// How many connections are bound to `principal`.
    pub fn connections_of(&self, principal: &str) -> usize {
        self.read().by_principal.get(principal).map_or(0, Vec::len)
    }

    /// Forwards every event published from now on to the other nodes through
    /// `bus` too. Once per hub: a second bus is refused (returned).
    pub fn attach_bus(&self, bus: Arc<dyn Bus>) -> Result<(), Arc<dyn Bus>> {
        self.bus.set(bus)
    }

    /// Calls `hook` for every receipt an event asks for
    /// ([`Audience::with_receipt`]). Once per hub: a second is refused (returned).
    pub fn on_receipt(&self, hook: ReceiptHook) -> Result<(), ReceiptHook> {
        self.receipts.set(hook)
    }

    /// Hands `frame` to the connections of `audience` that are on `topic`,
    /// here and, with a bus attached, on the other nodes. The returned
    /// [`Delivery`] counts this node's connections that took it now (an
    /// event waiting for its turn in its stream counts none).
    pub fn publish(&self, topic: &Topic, audience: Audience<'_>, frame: Frame) -> Delivery {
        let bus = self.bus.get().filter(|_| !audience.here_only);
        let remote = match audience.who {
            Who::Everyone => Some(RemoteAudience::Everyone),
            Who::Bound => Some(RemoteAudience::Bound),
            Who::BoundExcept(p) => Some(RemoteAudience::BoundExcept(p.to_owned())),
            Who::Principal(p) => Some(RemoteAudience::Principal(p.to_owned())),
            Who::Principals(ps) => Some(RemoteAudience::Principals(ps.to_vec())),
            Who::Connection(_) => None,
        };
        let (Some(bus), Some(remote)) = (bus, remote) else {
            let receipt = audience.position.zip(audience.receipt);
            let witnesses = receipt.map(|(_, (_, witnesses))| witnesses);
            let (delivery, receipted) = self.publish_here(topic, audience, frame, witnesses);
            if let (true, Some((position, (principal, _)))) = (receipted, receipt) {
                self.receipt(principal, position);
            }
            return delivery;
        };
        bus.forward(RemoteEvent {
            topic: (topic.0, topic.1.to_string()),
            audience: remote.clone(),
            frame: frame.as_str().to_owned(),
            position: audience.position,
            receipt: audience.receipt.map(|(principal, _)| principal.to_owned()),
            receipt_from: audience.receipt.map(|(_, witnesses)| witnesses.to_vec()).unwrap_or_default(),
        });
        match audience.position {
            Some(position) => self.sequence(Sequenced {
                topic: topic.clone(),
                audience: remote,
                except: audience.except,
                frame,
                position,
                receipt: audience.receipt.map(|(principal, witnesses)| (principal.into(), witnesses.to_vec())),
            }),
            None => self.publish_here(topic, audience, frame, None).0,
        }
    }

    /// The attached bus's status; `None` on a single node.
    pub fn bus_status(&self) -> Option<BusStatus> {
        let late = self.late.load(Ordering::Relaxed);
        self.bus.get().map(|bus| BusStatus { late, ..bus.status() })
    }

    /// Delivers an event another node published to this node's connections.
    pub fn deliver_remote(&self, event: RemoteEvent) -> Delivery {
        let topic: Topic = (event.topic.0, event.topic.1.into());
        let frame: Frame = event.frame.into();
        match event.position {
            Some(position) => self.sequence(Sequenced {
                topic,
                audience: event.audience,
                except: None,
                frame,
                position,
                receipt: event.receipt.map(|principal| (principal.into(), event.receipt_from)),
            }),
            None => self.publish_here(&topic, event.audience.as_audience(), frame, None).0,
        }
    }

    /// Hands `event` over in its stream's turn: now, with those that waited
    /// for it, or once its predecessor came or [`ORDER_WAIT`] passed.
    fn sequence(&self, event: Sequenced) -> Delivery {
        let wait = self.bus.get().is_some_and(|bus| bus.status().connected);
        let (stream, id) = (event.position.stream, event.position.id);
        let mut order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        let outcome = order.accept(event.position, event, Instant::now(), wait);
        if outcome.late {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(at) = outcome.wake_at {
            self.wake(stream, at);
        }
        // Handed over under the lock, so two threads keep the stream's order.
        let (deliveries, receipts) = self.hand_over(outcome.ready);
        drop(order);
        self.receipts_for(receipts);
        deliveries.into_iter().find(|(position, _)| position.id == id).map(|(_, d)| d).unwrap_or_default()
    }

    /// Wakes `stream` at `at` to release what waited its time.
    fn wake(&self, stream: i64, at: Instant) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let hub = self.clone();
        runtime.spawn(async move {
            let mut at = at;
            loop {
                tokio::time::sleep_until(at.into()).await;
                let mut order = hub.order.lock().unwrap_or_else(PoisonError::into_inner);
                let (ready, next) = order.release_due(stream, Instant::now());
                let (_, receipts) = hub.hand_over(ready);
                drop(order);
                hub.receipts_for(receipts);
                match next {
                    Some(next) => at = next,
                    None => return,
                }
            }
        });
    }

    /// Delivers sequenced events here; their deliveries and the receipts due.
    #[allow(clippy::type_complexity)]
    fn hand_over(&self, ready: Vec<Sequenced>) -> (Vec<(Position, Delivery)>, Vec<(Box<str>, Position)>) {
        let mut deliveries = Vec::with_capacity(ready.len());
        let mut receipts = Vec::new();
        for event in ready {
            let audience = Audience { except: event.except, ..event.audience.as_audience() };
            let witnesses = event.receipt.as_ref().map(|(_, witnesses)| witnesses.as_slice());
            let (delivery, receipted) = self.publish_here(&event.topic, audience, event.frame, witnesses);
            if let (true, Some((principal, _))) = (receipted, event.receipt) {
                receipts.push((principal, event.position));
            }
            deliveries.push((event.position, delivery));
        }
        (deliveries, receipts)
    }

    fn receipts_for(&self, receipts: Vec<(Box<str>, Position)>) {
        for (principal, position) in receipts {
            self.receipt(&principal, position);
        }
    }

    fn receipt(&self, principal: &str, position: Position) {
        if let Some(hook) = self.receipts.get() {
            hook(self, principal, position);
        }
    }

    /// Delivers here; and whether a connection bound to one of `witnesses` took it.
    fn publish_here(
        &self,
        topic: &Topic,
        audience: Audience<'_>,
        frame: Frame,
        witnesses: Option<&[String]>,
    ) -> (Delivery, bool) {
        let state = self.read();
        let on_topic = |id: &u64| state.members.get(id).is_some_and(|m| m.topics.contains(topic));
        let mut chosen: Vec<u64> = match audience.who {
            Who::Everyone => state.by_topic.get(topic).cloned().unwrap_or_default(),
            Who::Bound => state.by_principal.values().flatten().copied().collect(),
            Who::BoundExcept(except) => state
                .by_principal
                .iter()
                .filter(|(principal, _)| &***principal != except)
                .flat_map(|(_, ids)| ids.iter().copied())
                .collect(),
            Who::Principal(p) => state.by_principal.get(p).cloned().unwrap_or_default(),
            Who::Principals(ps) => {
                ps.iter().filter_map(|p| state.by_principal.get(p.as_str())).flatten().copied().collect()
            }
            Who::Connection(id) => vec![id],
        };
        chosen.sort_unstable();
        chosen.dedup();
        let mut delivery = Delivery::default();
        let mut receipted = false;
        // Per worker with a relay: the lanes it fills (see `Relay`).
        let mut handoffs: Vec<Vec<Lane>> = Vec::new();
        for id in chosen.iter().filter(|id| Some(**id) != audience.except && on_topic(id)) {
            let Some(member) = state.members.get(id) else { continue };
            let relay = member.lane.worker.filter(|w| state.relays.get(*w).is_some_and(Option::is_some));
            // A relayed lane counts as taking the event; if it turns out
            // full, the relay closes its connection as a slow consumer.
            let took = match relay {
                Some(worker) => {
                    handoffs.resize_with(handoffs.len().max(worker + 1), Vec::new);
                    handoffs[worker].push(member.lane.clone());
                    true
                }
                None => member.lane.offer(&frame),
            };
            if took {
                delivery.delivered += 1;
                // Once is enough: each check scans every witness (a room's members).
                receipted = receipted
                    || witnesses.is_some_and(|witnesses| {
                        member.bound.iter().any(|(p, _)| witnesses.iter().any(|w| **w == **p))
                    });
            } else {
                delivery.dropped += 1;
            }
        }
        for (worker, lanes) in handoffs.into_iter().enumerate().filter(|(_, lanes)| !lanes.is_empty()) {
            if let Some(Some(relay)) = state.relays.get(worker) {
                // A relay that is gone went with its worker and its connections.
                let _ = relay.send(Handoff { frame: frame.clone(), lanes });
            }
        }
        (delivery, receipted)
    }

    /// Connections registered under `topic`.
    pub fn subscribers(&self, topic: &Topic) -> usize {
        self.read().by_topic.get(topic).map_or(0, Vec::len)
    }
}

/// A connection's place in the hub; [`Registration::leave`] (or dropping it)
/// removes the connection and its bindings.
#[derive(Debug)]
pub struct Registration {
    hub: Hub,
    connection: u64,
    left: bool,
}

impl Registration {
    /// Removes the connection; returns the principals it was the last bound
    /// connection of (they went offline).
    pub fn leave(mut self) -> Vec<Box<str>> {
        self.remove()
    }

    fn remove(&mut self) -> Vec<Box<str>> {
        if std::mem::replace(&mut self.left, true) {
            return Vec::new();
        }
        let mut state = self.hub.write();
        let Some(member) = state.members.remove(&self.connection) else { return Vec::new() };
        for topic in &member.topics {
            if let Some(ids) = state.by_topic.get_mut(topic) {
                ids.retain(|id| *id != self.connection);
                if ids.is_empty() {
                    state.by_topic.remove(topic);
                }
            }
        }
        let mut offline: Vec<Box<str>> = Vec::new();
        for (principal, _) in &member.bound {
            if !offline.contains(principal) && state.unlist(principal, self.connection) {
                offline.push(principal.clone());
            }
        }
        offline
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(params: &str) -> Topic {
        (0, params.into())
    }

    fn member(hub: &Hub, id: u64, topics: &[&str]) -> (Registration, Events, CancellationToken) {
        let (lane, events, _) = Lane::new(id, 4);
        let close = CancellationToken::new();
        (hub.register(topics.iter().map(|t| topic(t)).collect(), lane, close.clone()), events, close)
    }

    #[tokio::test]
    async fn events_reach_the_connections_of_their_topic_only() {
        let hub = Hub::new();
        let (_a, mut a_events, _) = member(&hub, 1, &["btcusd"]);
        let (_b, mut b_events, _) = member(&hub, 2, &["ethusd"]);
        let delivery = hub.publish(&topic("btcusd"), Audience::everyone(), "tick".into());
        assert_eq!(delivery, Delivery { delivered: 1, dropped: 0 });
        assert_eq!(a_events.recv().await.as_deref(), Some("tick"));
        assert!(b_events.try_recv().is_none());
    }

    /// Connections on per-core workers get their events through their
    /// worker's relay: each in publish order, the others' directly, and a
    /// lane the relay finds full is closed as a slow consumer.
    #[tokio::test]
    async fn events_for_a_workers_connections_go_through_its_relay_in_order() {
        let hub = Hub::new();
        let on = |id: u64, worker: Option<usize>, capacity: usize| {
            let (lane, events, overflow) = Lane::new(id, capacity);
            let registration = hub.register(vec![topic("")], lane.on_worker(worker), CancellationToken::new());
            (registration, events, overflow)
        };
        let (_a, mut a, _) = on(1, Some(0), 8);
        let (_b, mut b, b_overflow) = on(2, Some(1), 2);
        let (_c, mut c, _) = on(3, None, 8);
        let relays = [hub.relay_for(0), hub.relay_for(1)];
        for n in 0..3 {
            let delivery = hub.publish(&topic(""), Audience::everyone(), n.to_string().into());
            assert_eq!(delivery, Delivery { delivered: 3, dropped: 0 }, "handed over, to lanes or relays");
        }
        // Nothing reached the relayed lanes yet: their workers have not run.
        assert!(a.try_recv().is_none() && b.try_recv().is_none());
        assert_eq!(c.try_recv().as_deref(), Some("0"), "a connection on no worker takes it at once");
        for relay in relays {
            tokio::spawn(relay.run());
        }
        for n in 0..3 {
            assert_eq!(a.recv().await.as_deref(), Some(n.to_string().as_str()));
        }
        assert_eq!((b.recv().await.as_deref(), b.recv().await.as_deref()), (Some("0"), Some("1")));
        b_overflow.cancelled().await;
        assert!(b.try_recv().is_none(), "the third did not fit: the connection closes as a slow consumer");
    }

    #[test]
    fn principals_get_their_events_on_every_bound_connection_but_the_excepted_one() {
        let hub = Hub::new();
        let (_a1, mut a1, _) = member(&hub, 1, &[""]);
        let (_a2, mut a2, _) = member(&hub, 2, &[""]);
        let (_b, mut b, _) = member(&hub, 3, &[""]);
        let (_unbound, mut unbound, _) = member(&hub, 4, &[""]);
        assert!(hub.bind(1, "alice", 10), "alice came online");
        assert!(!hub.bind(2, "alice", 11), "her second device");
        assert!(hub.bind(3, "bob", 20));
        let everyone = ["alice".to_owned(), "bob".to_owned()];
        let delivery = hub.publish(&topic(""), Audience::principals(&everyone).except(1), "m".into());
        assert_eq!(delivery.delivered, 2);
        assert!(a1.try_recv().is_none(), "the sender's own connection is skipped");
        assert_eq!((a2.try_recv().as_deref(), b.try_recv().as_deref()), (Some("m"), Some("m")));
        assert!(unbound.try_recv().is_none(), "nobody unbound hears a principal's events");
        assert_eq!(hub.publish(&topic("other"), Audience::principal("bob"), "x".into()).delivered, 0, "topic first");
        // Everyone signed in, each connection once (Alice's two sessions on one included).
        assert!(!hub.bind(1, "alice", 12));
        let delivery = hub.publish(&topic(""), Audience::bound().except(3), "all".into());
        assert_eq!(delivery.delivered, 2);
        assert_eq!((a1.try_recv().as_deref(), a2.try_recv().as_deref()), (Some("all"), Some("all")));
        assert!(a1.try_recv().is_none(), "once per connection");
        assert!(unbound.try_recv().is_none() && b.try_recv().is_none(), "nobody anonymous, nor the excepted");
    }

    #[test]
    fn presence_follows_the_last_connection_and_logout_and_close_by_session() {
        let hub = Hub::new();
        let (a1, _, close1) = member(&hub, 1, &[""]);
        let (a2, _, close2) = member(&hub, 2, &[""]);
        hub.bind(1, "alice", 10);
        hub.bind(2, "alice", 11);
        assert_eq!(hub.close_principal("alice", Some(10)), 1, "the other session's connection");
        assert!(!close1.is_cancelled() && close2.is_cancelled());
        assert_eq!(hub.connections_of("alice"), 1, "the closing connection is unbound at once");
        assert!(a2.leave().is_empty(), "alice is still on connection 1");
        assert!(hub.is_online("alice"));
        assert!(hub.unbind_session("alice", 10), "logging out her last session takes her offline");
        assert!(!hub.is_online("alice"));
        hub.bind(1, "alice", 12);
        assert_eq!(a1.leave(), vec![Box::<str>::from("alice")], "closing her last connection too");
        assert!(!hub.bind(1, "alice", 13), "a closed connection cannot be bound");
    }

    #[test]
    fn a_closed_principal_is_offline_before_its_connections_finish_closing() {
        let hub = Hub::new();
        let (a1, _, close1) = member(&hub, 1, &[""]);
        let (a2, _, close2) = member(&hub, 2, &[""]);
        hub.bind(1, "bob", 10);
        hub.bind(2, "bob", 11);
        assert_eq!(hub.close_principal("bob", None), 2);
        assert!(close1.is_cancelled() && close2.is_cancelled());
        assert!(!hub.is_online("bob"), "offline while the sockets still close");
        assert_eq!(hub.publish(&topic(""), Audience::principal("bob"), "x".into()).delivered, 0);
        assert!(a1.leave().is_empty() && a2.leave().is_empty(), "their leaving reports nothing more");
    }

    #[test]
    fn a_full_lane_drops_and_signals_its_connection_and_a_registration_cleans_up() {
        let hub = Hub::new();
        let (lane, _events, overflow) = Lane::new(7, 1);
        let registration = hub.register(vec![topic("x")], lane, CancellationToken::new());
        assert_eq!(hub.publish(&topic("x"), Audience::everyone(), "1".into()).delivered, 1);
        assert_eq!(hub.publish(&topic("x"), Audience::everyone(), "2".into()).dropped, 1);
        assert!(overflow.is_cancelled());
        assert_eq!(hub.publish(&topic("x"), Audience::everyone().except(7), "3".into()), Delivery::default());
        drop(registration);
        assert_eq!(hub.subscribers(&topic("x")), 0);
    }

    /// A bus that records what it was given.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<RemoteEvent>>);

    impl Bus for Recorder {
        fn forward(&self, event: RemoteEvent) {
            self.0.lock().unwrap().push(event);
        }
        fn status(&self) -> BusStatus {
            BusStatus { connected: true, ..BusStatus::default() }
        }
    }

    fn at(id: i64, after: i64) -> Position {
        Position { stream: 1, id, after: Some(after), after_age_ms: 1 }
    }

    #[tokio::test]
    async fn with_a_bus_a_streams_events_wait_for_their_predecessor_from_another_node() {
        let hub = Hub::new();
        let bus = Arc::new(Recorder::default());
        assert!(hub.attach_bus(bus.clone()).is_ok());
        let (_m, mut events, _) = member(&hub, 1, &[""]);
        hub.bind(1, "olga", 1);
        let everyone = ["olga".to_owned()];
        let local = hub.publish(&topic(""), Audience::principals(&everyone).in_order(at(11, 10)), "11".into());
        assert_eq!(local.delivered, 0, "10 is still on its way");
        assert_eq!(bus.0.lock().unwrap()[0].position, Some(at(11, 10)), "forwarded with its position");
        let remote = |id: i64, after, after_age_ms| RemoteEvent {
            topic: (0, String::new()),
            audience: RemoteAudience::Principal("olga".into()),
            frame: id.to_string(),
            position: Some(Position { after_age_ms, ..at(id, after) }),
            receipt: None,
            receipt_from: Vec::new(),
        };
        assert_eq!(hub.deliver_remote(remote(10, 9, 60_000)).delivered, 1, "9 is long past");
        assert_eq!(events.recv().await.as_deref(), Some("10"));
        assert_eq!(events.recv().await.as_deref(), Some("11"));
        hub.deliver_remote(remote(9, 8, 1));
        assert!(events.try_recv().is_none(), "an event behind its stream is dropped");
        assert_eq!(hub.bus_status().map(|s| s.late), Some(1));
        // A gap that never fills is skipped after the wait.
        hub.deliver_remote(remote(13, 12, 1));
        assert_eq!(events.recv().await.as_deref(), Some("13"), "released by the stream's timer");
    }

    #[test]
    fn a_receipt_is_due_when_a_connection_of_a_witness_takes_the_event() {
        let hub = Hub::new();
        let receipts = Arc::new(Mutex::new(Vec::new()));
        let heard = Arc::clone(&receipts);
        let hook: ReceiptHook =
            Arc::new(move |_, principal, position| heard.lock().unwrap().push((principal.to_owned(), position.id)));
        assert!(hub.on_receipt(hook.clone()).is_ok());
        assert!(hub.on_receipt(hook).is_err(), "one hook per hub");
        let (_a1, _a1_events, _) = member(&hub, 1, &[""]);
        let (_a2, _a2_events, _) = member(&hub, 2, &[""]);
        hub.bind(1, "alice", 1);
        hub.bind(2, "alice", 2);
        let everyone = ["alice".to_owned(), "bob".to_owned(), "carol".to_owned()];
        let witnesses = ["bob".to_owned()];
        let audience =
            || Audience::principals(&everyone).except(1).in_order(at(5, 4)).with_receipt("alice", &witnesses);
        assert_eq!(hub.publish(&topic(""), audience(), "m".into()).delivered, 1);
        assert!(receipts.lock().unwrap().is_empty(), "only her own other device took it");
        let (_c, _c_events, _) = member(&hub, 4, &[""]);
        hub.bind(4, "carol", 4);
        assert_eq!(hub.publish(&topic(""), audience(), "m".into()).delivered, 2);
        assert!(receipts.lock().unwrap().is_empty(), "Carol took it, but she is no witness (invited, say)");
        let (_b, _b_events, _) = member(&hub, 3, &[""]);
        hub.bind(3, "bob", 3);
        hub.publish(&topic(""), audience(), "m".into());
        assert_eq!(*receipts.lock().unwrap(), [("alice".to_owned(), 5)]);
    }

    #[test]
    fn here_only_events_are_not_forwarded() {
        let hub = Hub::new();
        let bus = Arc::new(Recorder::default());
        assert!(hub.attach_bus(bus.clone()).is_ok());
        hub.publish(&topic(""), Audience::everyone().here_only(), "x".into());
        hub.publish(&topic(""), Audience::connection(1), "y".into());
        assert!(bus.0.lock().unwrap().is_empty());
        hub.publish(&topic(""), Audience::everyone(), "z".into());
        assert_eq!(bus.0.lock().unwrap().len(), 1);
    }
}
