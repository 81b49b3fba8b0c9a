//! Who is online on the other nodes, as they say: each node sends a change
//! the moment it happens and, every [`HEARTBEAT`](super::HEARTBEAT), its whole
//! list. A node not heard from for [`PRESENCE_TTL`] counts for no one.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::envelope::NodeId;

/// How long a node's word on who is online holds without another.
pub const PRESENCE_TTL: Duration = Duration::from_secs(15);

/// A node's presence message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PresenceMessage {
    /// Everyone online on the node now.
    Heartbeat {
        /// Their principals.
        online: Vec<String>,
    },
    /// One principal came online or went offline on the node.
    Changed {
        /// Who.
        principal: String,
        /// Online now.
        online: bool,
    },
}

/// What one node said last.
#[derive(Debug)]
struct NodePresence {
    online: HashSet<String>,
    heard: Instant,
}

/// The other nodes' online users.
#[derive(Debug, Default)]
pub struct Elsewhere {
    nodes: HashMap<NodeId, NodePresence>,
}

impl Elsewhere {
    /// Whether `principal` is online on a node heard from within [`PRESENCE_TTL`].
    pub fn is_online(&self, principal: &str) -> bool {
        self.nodes.values().any(|node| node.heard.elapsed() < PRESENCE_TTL && node.online.contains(principal))
    }

    /// Everyone online on a node heard from within [`PRESENCE_TTL`], each once.
    pub fn online(&self) -> Vec<Box<str>> {
        let live = self.nodes.values().filter(|node| node.heard.elapsed() < PRESENCE_TTL);
        let everyone: HashSet<&String> = live.flat_map(|node| &node.online).collect();
        everyone.into_iter().map(|p| p.as_str().into()).collect()
    }

    /// Records what `node` says; returns the users whose being online on
    /// some other node changed with it (`true`: came online). A heartbeat
    /// counts too: it corrects a change that was lost on the way.
    pub fn hear(&mut self, node: NodeId, message: PresenceMessage) -> Vec<(String, bool)> {
        let entry =
            self.nodes.entry(node).or_insert_with(|| NodePresence { online: HashSet::new(), heard: Instant::now() });
        entry.heard = Instant::now();
        let (came, went): (Vec<String>, Vec<String>) = match message {
            PresenceMessage::Heartbeat { online } => {
                let online: HashSet<String> = online.into_iter().collect();
                let came = online.difference(&entry.online).cloned().collect();
                let went = entry.online.difference(&online).cloned().collect();
                entry.online = online;
                (came, went)
            }
            PresenceMessage::Changed { principal, online: true } => {
                (entry.online.insert(principal.clone()).then_some(principal).into_iter().collect(), Vec::new())
            }
            PresenceMessage::Changed { principal, online: false } => {
                (Vec::new(), entry.online.remove(&principal).then_some(principal).into_iter().collect())
            }
        };
        // What `node` gained or lost changes nothing while a third node has them.
        let on_a_third = |principal: &String| {
            self.nodes.iter().any(|(id, other)| {
                *id != node && other.heard.elapsed() < PRESENCE_TTL && other.online.contains(principal)
            })
        };
        came.into_iter()
            .map(|principal| (principal, true))
            .chain(went.into_iter().map(|principal| (principal, false)))
            .filter(|(principal, _)| !on_a_third(principal))
            .collect()
    }

    /// Forgets the nodes not heard from for [`PRESENCE_TTL`]; who each had online.
    pub fn forget_lost(&mut self) -> Vec<Vec<String>> {
        let lost: Vec<NodeId> =
            self.nodes.iter().filter(|(_, node)| node.heard.elapsed() >= PRESENCE_TTL).map(|(id, _)| *id).collect();
        lost.iter().filter_map(|id| self.nodes.remove(id)).map(|node| node.online.into_iter().collect()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(principal: &str, online: bool) -> PresenceMessage {
        PresenceMessage::Changed { principal: principal.into(), online }
    }

    #[test]
    fn a_user_leaving_two_nodes_at_once_goes_offline_when_the_last_says_so() {
        let (a, b) = (NodeId::random(), NodeId::random());
        let mut elsewhere = Elsewhere::default();
        assert_eq!(elsewhere.hear(a, changed("eve", true)), [("eve".to_owned(), true)]);
        assert_eq!(elsewhere.hear(b, changed("eve", true)), [], "already online on a");
        assert_eq!(elsewhere.hear(a, changed("eve", false)), [], "still online on b");
        assert!(elsewhere.is_online("eve"));
        assert_eq!(elsewhere.hear(b, changed("eve", false)), [("eve".to_owned(), false)]);
        assert!(!elsewhere.is_online("eve"));
        assert_eq!(elsewhere.hear(b, changed("eve", false)), [], "a repeat changes nothing");
    }

    #[test]
    fn a_heartbeat_corrects_a_lost_change_both_ways() {
        let a = NodeId::random();
        let mut elsewhere = Elsewhere::default();
        elsewhere.hear(a, PresenceMessage::Heartbeat { online: vec!["eve".into(), "frank".into()] });
        let mut flips = elsewhere.hear(a, PresenceMessage::Heartbeat { online: vec!["frank".into(), "gus".into()] });
        flips.sort();
        assert_eq!(flips, [("eve".to_owned(), false), ("gus".to_owned(), true)]);
        assert!(elsewhere.is_online("gus") && !elsewhere.is_online("eve"));
    }

    #[test]
    fn the_wire_form_is_tagged_by_kind() {
        let text = serde_json::to_string(&changed("7", false)).unwrap_or_default();
        assert_eq!(text, r#"{"kind":"changed","principal":"7","online":false}"#);
    }
}
