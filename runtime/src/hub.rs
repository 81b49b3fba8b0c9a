//! Server push: which connections receive the events of which channel.
//!
//! Every connection registers at upgrade under the topics of its binding (a
//! channel and its parameters, so `/v1/marketdata/btcusd` and `.../ethusd` are
//! different topics) with its outbound lane: a bounded queue its connection
//! loop drains into the same ordered writes as replies. Publishing never
//! waits on a slow member: a lane that is full drops the event and asks its
//! connection to close as a slow consumer (1008), so a client either sees
//! every event or reconnects and catches up (from history, where the API keeps
//! one). That is the documented policy; its size is `--event-queue`.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A channel (by its index in the spec) and its parameters, joined (`btcusd`).
pub type Topic = (u16, Box<str>);

/// The sending end of one connection's outbound lane.
#[derive(Debug, Clone)]
pub struct Lane {
    connection: u64,
    sender: mpsc::Sender<Arc<str>>,
    overflow: CancellationToken,
}

impl Lane {
    /// A lane for connection `connection` holding `capacity` events, and its
    /// receiving end; `overflow` is cancelled when an event had to be dropped.
    pub fn new(connection: u64, capacity: usize) -> (Lane, mpsc::Receiver<Arc<str>>, CancellationToken) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let overflow = CancellationToken::new();
        (Lane { connection, sender, overflow: overflow.clone() }, receiver, overflow)
    }

    fn offer(&self, frame: &Arc<str>) -> bool {
        match self.sender.try_send(Arc::clone(frame)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflow.cancel();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// How a publish went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Connections whose lane took the event.
    pub delivered: usize,
    /// Connections whose lane was full (they are being closed).
    pub dropped: usize,
}

/// Connections by topic. Cheap to clone: clones share the registry.
#[derive(Debug, Clone, Default)]
pub struct Hub {
    topics: Arc<RwLock<HashMap<Topic, Vec<Lane>>>>,
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Hub {
        Hub::default()
    }

    /// Registers `lane` under `topics` until the returned registration drops.
    pub fn register(&self, topics: Vec<Topic>, lane: Lane) -> Registration {
        let mut map = self.topics.write().unwrap_or_else(PoisonError::into_inner);
        for topic in &topics {
            map.entry(topic.clone()).or_default().push(lane.clone());
        }
        Registration { hub: self.clone(), connection: lane.connection, topics }
    }

    /// Hands `frame` to every connection on `topic` except `except`.
    pub fn publish(&self, topic: &Topic, frame: Arc<str>, except: Option<u64>) -> Delivery {
        let map = self.topics.read().unwrap_or_else(PoisonError::into_inner);
        let mut delivery = Delivery::default();
        for lane in map.get(topic).into_iter().flatten().filter(|l| Some(l.connection) != except) {
            if lane.offer(&frame) {
                delivery.delivered += 1;
            } else {
                delivery.dropped += 1;
            }
        }
        delivery
    }

    /// Connections registered under `topic`.
    pub fn subscribers(&self, topic: &Topic) -> usize {
        self.topics.read().unwrap_or_else(PoisonError::into_inner).get(topic).map_or(0, Vec::len)
    }
}

/// A connection's place in the hub; dropping it removes the connection.
#[derive(Debug)]
pub struct Registration {
    hub: Hub,
    connection: u64,
    topics: Vec<Topic>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut map = self.hub.topics.write().unwrap_or_else(PoisonError::into_inner);
        for topic in &self.topics {
            if let Some(lanes) = map.get_mut(topic) {
                lanes.retain(|lane| lane.connection != self.connection);
                if lanes.is_empty() {
                    map.remove(topic);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(params: &str) -> Topic {
        (0, params.into())
    }

    #[tokio::test]
    async fn events_reach_the_connections_of_their_topic_only() {
        let hub = Hub::new();
        let (a, mut a_events, _) = Lane::new(1, 4);
        let (b, mut b_events, _) = Lane::new(2, 4);
        let _a = hub.register(vec![topic("btcusd")], a);
        let _b = hub.register(vec![topic("ethusd")], b);
        let delivery = hub.publish(&topic("btcusd"), "tick".into(), None);
        assert_eq!(delivery, Delivery { delivered: 1, dropped: 0 });
        assert_eq!(a_events.recv().await.as_deref(), Some("tick"));
        assert!(b_events.try_recv().is_err());
    }

    #[test]
    fn a_full_lane_drops_and_signals_its_connection_and_a_registration_cleans_up() {
        let hub = Hub::new();
        let (lane, _events, overflow) = Lane::new(7, 1);
        let registration = hub.register(vec![topic("x")], lane);
        assert_eq!(hub.publish(&topic("x"), "1".into(), None).delivered, 1);
        assert_eq!(hub.publish(&topic("x"), "2".into(), None).dropped, 1);
        assert!(overflow.is_cancelled());
        assert_eq!(hub.publish(&topic("x"), "3".into(), Some(7)), Delivery::default(), "except skips it");
        drop(registration);
        assert_eq!(hub.subscribers(&topic("x")), 0);
    }
}
