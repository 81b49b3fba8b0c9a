//! Presence, in one place: who is online, and who hears when that changes.
//!
//! Who is online comes from two sources, which answer the one question
//! [`Online`] asks: this node's hub (a user is online while a connection is
//! bound to them) and, in a cluster, the other nodes' word
//! ([`crate::cluster::presence`]). Who hears a change is the user's contacts:
//! the users who share a room with them where both joined
//! (`Store::peers_of`). The sessions (a user's first connection bound, the
//! last one gone), the chat (an invitation accepted, a user deleted) and the
//! cluster's events (a user online elsewhere, a node lost) all go through
//! [`Presence`].
//!
//! In a cluster every node tells its own users: this one when no other node
//! has the user online (else nothing changed for them), the others when they
//! hear it ([`Presence::changed_elsewhere`]), so two nodes letting go at once
//! still leave the user offline everywhere.

use specserve_runtime::ApiError;
use specserve_runtime::hub::{Audience, Hub};

use crate::api::{PresenceChanged, Publisher};
use crate::cluster::{Cluster, Nodes};
use crate::store::Database;

/// A source of who is online: this node's hub, or the cluster's word for
/// the other nodes.
pub trait Online {
    /// Whether `principal` is online as far as this source knows.
    fn is_online(&self, principal: &str) -> bool;
}

impl Online for Hub {
    fn is_online(&self, principal: &str) -> bool {
        Hub::is_online(self, principal)
    }
}

impl Online for Cluster {
    fn is_online(&self, principal: &str) -> bool {
        self.online_elsewhere(principal)
    }
}

/// Presence over the hub, the cluster (if any) and the store's contacts.
#[derive(Debug, Clone)]
pub struct Presence {
    store: Database,
    publisher: Publisher,
    nodes: Nodes,
}

impl Presence {
    /// Presence of the users bound in `publisher`'s hub, told to contacts
    /// `store` knows, across `nodes` once this node joins a cluster.
    pub fn new(store: Database, publisher: Publisher, nodes: Nodes) -> Self {
        Presence { store, publisher, nodes }
    }

    /// Whether `user` is online on this node or, in a cluster, on another.
    pub fn is_online(&self, user: i64) -> bool {
        let principal = user.to_string();
        let here: &dyn Online = self.publisher.hub();
        here.is_online(&principal) || self.elsewhere().is_some_and(|nodes| nodes.is_online(&principal))
    }

    /// `user` came online (their first bound connection) or went offline
    /// (their last one gone) on this node: their contacts hear it.
    pub async fn changed_here(&self, user: i64, online: bool) {
        if let Some(cluster) = self.nodes.cluster() {
            let principal = user.to_string();
            cluster.presence_changed(&principal, online);
            if !cluster.online_elsewhere(&principal) {
                self.tell_contacts(user, online, true).await;
            }
            return;
        }
        self.tell_contacts(user, online, false).await;
    }

    /// `principal` came online or went offline on the other nodes: this
    /// node's users hear it unless the user is online here (then nothing
    /// changed for them).
    pub async fn changed_elsewhere(&self, principal: &str, online: bool) {
        if let Ok(user) = principal.parse::<i64>()
            && !self.publisher.hub().is_online(principal)
        {
            self.tell_contacts(user, online, true).await;
        }
    }

    /// Another node was lost with `online` on it: those no longer online
    /// anywhere go offline for this node's users (every node tells its own).
    pub async fn lost_elsewhere(&self, online: Vec<String>) {
        for user in online.iter().filter_map(|principal| principal.parse::<i64>().ok()) {
            if !self.is_online(user) {
                self.tell_contacts(user, false, true).await;
            }
        }
    }

    /// Tells `audience` (user ids) on every node that `user` is online or
    /// not: for a change the contacts alone do not cover (an invitation
    /// accepted, a deleted user whose rooms are gone).
    pub fn tell(&self, user: i64, online: bool, audience: &[i64]) -> Result<(), ApiError> {
        let principals: Vec<String> = audience.iter().map(i64::to_string).collect();
        let event = PresenceChanged { user_id: user, online };
        self.publisher.presence_changed(Audience::principals(&principals), &event)?;
        Ok(())
    }

    /// The other nodes' word, when clustered.
    fn elsewhere(&self) -> Option<&dyn Online> {
        self.nodes.cluster().map(|cluster| &**cluster as &dyn Online)
    }

    /// Pushes `presence/changed` to the users who share a room with `user`:
    /// on every node, or on this one only (`here_only`).
    async fn tell_contacts(&self, user: i64, online: bool, here_only: bool) {
        match self.store.peers_of(user).await {
            Ok(peers) => {
                let peers: Vec<String> = peers.iter().map(i64::to_string).collect();
                let event = PresenceChanged { user_id: user, online };
                let audience = Audience::principals(&peers);
                let audience = if here_only { audience.here_only() } else { audience };
                if let Err(error) = self.publisher.presence_changed(audience, &event) {
                    tracing::error!(%error, "presence event not sent");
                }
            }
            Err(error) => tracing::warn!(%error, user, "presence not announced"),
        }
    }
}
