//! Envelopes: how one node's message crosses NATS so that only the cluster's
//! nodes can read it, write it, or make it count twice.
//!
//! Every envelope is sealed with AES-256-GCM under a key of the sending node's
//! own, derived by HKDF-SHA256 from the cluster key and the node's random id,
//! so each node's nonces (its message counter) never repeat under one key.
//! The subject, the node id, the counter and the send time are authenticated
//! with the body; the body is encrypted. A reader without the cluster key
//! learns the subject and the message's size, nothing else, and whatever it
//! publishes fails to open. An envelope opens at most once per receiving
//! node: it must be younger than the replay window (either way, for clock
//! skew), and its counter must be new for its node.
//!
//! Wire form: `SSC1` | node id (16 bytes) | counter (u64, big-endian) | send
//! time (ms since the Unix epoch, u64, big-endian) | ciphertext | tag (16 bytes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Salt};

use crate::security::secret::Secret;

const MAGIC: &[u8; 4] = b"SSC1";
/// Bytes before the ciphertext.
const HEADER: usize = MAGIC.len() + 16 + 8 + 8;
const TAG: usize = 16;
const KEY_INFO: &[u8] = b"specserve cluster envelope v1";

/// A node's random id: part of every envelope it sends, and the salt of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId([u8; 16]);

impl NodeId {
    /// A new random id.
    pub fn random() -> NodeId {
        let mut bytes = [0u8; 16];
        // SystemRandom fails only where the OS has no randomness at all.
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
        NodeId(bytes)
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().take(6).try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// Why an envelope was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not an envelope, or it fails authentication: written without the
    /// cluster key, altered, or moved to another subject.
    Forged,
    /// Sent outside the replay window, or its counter was seen already.
    Replayed,
    /// This node's own, sent back (nodes connect with `no_echo`, so only a replay does).
    Own,
}

/// The key a node seals with, derived from the cluster key and its id.
fn node_key(cluster_key: &Secret, node: &NodeId) -> LessSafeKey {
    let prk = Salt::new(HKDF_SHA256, &node.0).extract(cluster_key.expose());
    let mut bytes = [0u8; 32];
    // `expand` and `fill` fail only for lengths HKDF cannot give; 32 it can.
    let _ = prk.expand(&[KEY_INFO], &AES_256_GCM).and_then(|okm| okm.fill(&mut bytes));
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &bytes).expect("32 bytes is AES-256's key length"))
}

fn nonce(counter: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(bytes)
}

/// The authenticated data: the subject, then the header.
fn additional_data(subject: &str, header: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(subject.len() + 1 + header.len());
    aad.extend_from_slice(subject.as_bytes());
    aad.push(0);
    aad.extend_from_slice(header);
    aad
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seals this node's messages. One sealer per node: its counter is the nonce.
pub struct Sealer {
    node: NodeId,
    key: LessSafeKey,
    counter: u64,
}

impl Sealer {
    /// A sealer for a node with a new random id.
    pub fn new(cluster_key: &Secret) -> Sealer {
        let node = NodeId::random();
        Sealer { key: node_key(cluster_key, &node), node, counter: 0 }
    }

    /// This node's id.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// `body` sealed for `subject`, sent now.
    pub fn seal(&mut self, subject: &str, body: &[u8]) -> Vec<u8> {
        self.seal_at(subject, body, now_ms())
    }

    fn seal_at(&mut self, subject: &str, body: &[u8], sent_ms: u64) -> Vec<u8> {
        self.counter += 1;
        let mut envelope = Vec::with_capacity(HEADER + body.len() + TAG);
        envelope.extend_from_slice(MAGIC);
        envelope.extend_from_slice(&self.node.0);
        envelope.extend_from_slice(&self.counter.to_be_bytes());
        envelope.extend_from_slice(&sent_ms.to_be_bytes());
        let aad = additional_data(subject, &envelope);
        envelope.extend_from_slice(body);
        let (_, sealed) = envelope.split_at_mut(HEADER);
        // Sealing fails only past GCM's 64 GiB per message.
        let tag = self.key.seal_in_place_separate_tag(nonce(self.counter), Aad::from(aad), sealed);
        if let Ok(tag) = tag {
            envelope.extend_from_slice(tag.as_ref());
        }
        envelope
    }
}

/// What one sending node's envelopes have shown so far.
struct Sender {
    key: LessSafeKey,
    /// The highest counter opened, and which of the 128 below it were.
    highest: u64,
    below: u128,
    heard_ms: u64,
}

impl Sender {
    /// Marks `counter` opened; `false` if it was already, or is too far behind to tell.
    fn mark(&mut self, counter: u64) -> bool {
        if counter > self.highest {
            // Bit b - 1 stands for `highest - b`: the old highest becomes
            // bit shift - 1, and the older ones move up with it.
            let shift = counter - self.highest;
            self.below = match shift {
                1..=127 => (self.below << shift) | (1 << (shift - 1)),
                128 => 1 << 127,
                _ => 0,
            };
            self.highest = counter;
            return true;
        }
        let behind = self.highest - counter;
        if behind == 0 || behind > 128 {
            return false;
        }
        let bit = 1u128 << (behind - 1);
        if self.below & bit != 0 {
            return false;
        }
        self.below |= bit;
        true
    }
}

/// Opens the other nodes' envelopes, each at most once.
pub struct Opener {
    cluster_key: Secret,
    me: NodeId,
    window_ms: u64,
    senders: Mutex<HashMap<NodeId, Sender>>,
}

impl Opener {
    /// Opens envelopes sealed with `cluster_key` by nodes other than `me`,
    /// sent within `window` of now.
    pub fn new(cluster_key: Secret, me: NodeId, window: Duration) -> Opener {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        Opener { cluster_key, me, window_ms, senders: Mutex::default() }
    }

    /// The body of `envelope` received on `subject`, and who sent it.
    pub fn open(&self, subject: &str, envelope: &[u8]) -> Result<(NodeId, Vec<u8>), Refusal> {
        self.open_at(subject, envelope, now_ms())
    }

    fn open_at(&self, subject: &str, envelope: &[u8], now_ms: u64) -> Result<(NodeId, Vec<u8>), Refusal> {
        if envelope.len() < HEADER + TAG || &envelope[..MAGIC.len()] != MAGIC {
            return Err(Refusal::Forged);
        }
        let field = |at: usize| u64::from_be_bytes(envelope[at..at + 8].try_into().unwrap_or_default());
        let node = NodeId(envelope[4..20].try_into().unwrap_or_default());
        let (counter, sent_ms) = (field(20), field(28));
        if node == self.me {
            return Err(Refusal::Own);
        }
        let mut senders = self.senders.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget nodes silent for two windows: anything they sent is stale by now.
        senders.retain(|_, sender| now_ms.saturating_sub(sender.heard_ms) <= 2 * self.window_ms);
        let aad = additional_data(subject, &envelope[..HEADER]);
        let mut body = envelope[HEADER..].to_vec();
        let opened = match senders.get(&node) {
            Some(sender) => {
                sender.key.open_in_place(nonce(counter), Aad::from(aad), &mut body).map(|plain| plain.len())
            }
            None => node_key(&self.cluster_key, &node)
                .open_in_place(nonce(counter), Aad::from(aad), &mut body)
                .map(|plain| plain.len()),
        };
        let Ok(length) = opened else { return Err(Refusal::Forged) };
        body.truncate(length);
        if sent_ms.abs_diff(now_ms) > self.window_ms {
            return Err(Refusal::Replayed);
        }
        // Only now, authenticated, may it change what this node remembers.
        let sender = senders.entry(node).or_insert_with(|| Sender {
            key: node_key(&self.cluster_key, &node),
            highest: 0,
            below: 0,
            heard_ms: now_ms,
        });
        if !sender.mark(counter) {
            return Err(Refusal::Replayed);
        }
        sender.heard_ms = now_ms;
        Ok((node, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(10);

    fn pair() -> (Sealer, Opener, Secret) {
        let key = Secret::generate().unwrap();
        let sealer = Sealer::new(&key);
        (sealer, Opener::new(key.clone(), NodeId::random(), WINDOW), key)
    }

    #[test]
    fn an_envelope_opens_once_on_its_subject_and_its_body_is_not_in_clear() {
        let (mut sealer, opener, _) = pair();
        let envelope = sealer.seal("specserve.events", b"a direct message");
        assert!(!envelope.windows(6).any(|w| w == b"direct"), "the body is encrypted");
        assert_eq!(opener.open("specserve.events", &envelope), Ok((sealer.node(), b"a direct message".to_vec())));
        assert_eq!(opener.open("specserve.events", &envelope), Err(Refusal::Replayed), "twice is a replay");
        let next = sealer.seal("specserve.events", b"x");
        assert_eq!(opener.open("specserve.notices", &next), Err(Refusal::Forged), "moved to another subject");
    }

    #[test]
    fn without_the_key_nothing_opens_and_any_flipped_bit_is_caught() {
        let (mut sealer, opener, _) = pair();
        let mut stranger = Sealer::new(&Secret::generate().unwrap());
        assert_eq!(opener.open("s", &stranger.seal("s", b"forged")), Err(Refusal::Forged));
        assert_eq!(opener.open("s", b"{\"node\":\"x\",\"body\":{}}"), Err(Refusal::Forged), "the old JSON form");
        let envelope = sealer.seal("s", b"payload");
        for at in [0, 5, 21, 30, HEADER, envelope.len() - 1] {
            let mut altered = envelope.clone();
            altered[at] ^= 1;
            assert_eq!(opener.open("s", &altered), Err(Refusal::Forged), "byte {at}");
        }
        assert!(opener.open("s", &envelope).is_ok(), "the original still opens");
    }

    #[test]
    fn old_envelopes_and_own_ones_are_refused_and_late_ones_within_the_window_open_once() {
        let (mut sealer, opener, key) = pair();
        let now = now_ms();
        let old = sealer.seal_at("s", b"old", now - 11_000);
        assert_eq!(opener.open_at("s", &old, now), Err(Refusal::Replayed));
        let ahead = sealer.seal_at("s", b"skewed", now + 5_000);
        assert!(opener.open_at("s", &ahead, now).is_ok(), "a clock 5 s ahead is within the window");
        let (first, second) = (sealer.seal("s", b"1"), sealer.seal("s", b"2"));
        assert!(opener.open("s", &second).is_ok());
        assert!(opener.open("s", &first).is_ok(), "out of order, within the window");
        assert_eq!(opener.open("s", &first), Err(Refusal::Replayed));
        let mine = Opener::new(key, sealer.node(), WINDOW);
        assert_eq!(mine.open("s", &sealer.seal("s", b"me")), Err(Refusal::Own));
    }

    #[test]
    fn the_replay_window_counts_each_counter_once_across_jumps() {
        let mut sender = Sender {
            key: node_key(&Secret::generate().unwrap(), &NodeId::random()),
            highest: 0,
            below: 0,
            heard_ms: 0,
        };
        for counter in [1, 3, 2, 200, 150, 73, 72, 400] {
            assert!(sender.mark(counter), "{counter} is new");
        }
        for counter in [1, 3, 150, 200, 400, 271] {
            assert!(!sender.mark(counter), "{counter} is seen or too old");
        }
        assert!(sender.mark(399) && sender.mark(273));
    }
}
