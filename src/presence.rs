//! Presence, in one place: who is online, who may see whom, and who hears
//! when that changes.
//!
//! Who may see whom is the operator's [`Visibility`] (`--user-visibility`):
//! `contacts` by default, `all` for an open server where everyone sees
//! everyone (seed 002's `user_list`), `none` where users see only
//! themselves. It rules the directory (`user/directory`), the online list
//! (`presence/online`), `presence/list` and who hears `presence/changed`.
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

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::str::FromStr;

use specserve_runtime::ApiError;
use specserve_runtime::hub::{Audience, Hub};

use crate::api::{PresenceChanged, Publisher};
use crate::cluster::{Cluster, Nodes};
use crate::store::{Database, StoreError, Visible};

/// Whom a user may see (in the directory, the online list and presence):
/// besides themselves, always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Every user.
    All,
    /// Their contacts: the users who share a room with them where both joined.
    #[default]
    Contacts,
    /// Nobody else.
    Nobody,
}

impl Visibility {
    /// The flag's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Visibility::All => "all",
            Visibility::Contacts => "contacts",
            Visibility::Nobody => "none",
        }
    }

    /// What a directory search may list under this policy.
    pub fn visible(self) -> Visible {
        match self {
            Visibility::All => Visible::Everyone,
            Visibility::Contacts => Visible::Contacts,
            Visibility::Nobody => Visible::Myself,
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Visibility {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "all" => Ok(Visibility::All),
            "contacts" => Ok(Visibility::Contacts),
            "none" => Ok(Visibility::Nobody),
            other => Err(format!("`{other}` is not a visibility: all, contacts or none")),
        }
    }
}

/// How many users `presence/online` lists at most.
pub const ONLINE_LIST_MAX: usize = 1000;

/// A source of who is online: this node's hub, or the cluster's word for
/// the other nodes.
pub trait Online {
    /// Whether `principal` is online as far as this source knows.
    fn is_online(&self, principal: &str) -> bool;
    /// Everyone online as far as this source knows.
    fn online(&self) -> Vec<Box<str>>;
}

impl Online for Hub {
    fn is_online(&self, principal: &str) -> bool {
        Hub::is_online(self, principal)
    }

    fn online(&self) -> Vec<Box<str>> {
        self.online_principals()
    }
}

impl Online for Cluster {
    fn is_online(&self, principal: &str) -> bool {
        self.online_elsewhere(principal)
    }

    fn online(&self) -> Vec<Box<str>> {
        self.everyone_online_elsewhere()
    }
}

/// Presence over the hub, the cluster (if any) and the store's contacts.
#[derive(Debug, Clone)]
pub struct Presence {
    store: Database,
    publisher: Publisher,
    nodes: Nodes,
    visibility: Visibility,
}

impl Presence {
    /// Presence of the users bound in `publisher`'s hub, told to those
    /// `visibility` lets see them (contacts as `store` knows them), across
    /// `nodes` once this node joins a cluster.
    pub fn new(store: Database, publisher: Publisher, nodes: Nodes, visibility: Visibility) -> Self {
        Presence { store, publisher, nodes, visibility }
    }

    /// The operator's policy.
    pub fn visibility(&self) -> Visibility {
        self.visibility
    }

    /// Which of `users` `viewer` may see (themselves included), in the order given.
    pub async fn visible_to(&self, viewer: i64, users: Vec<i64>) -> Result<Vec<i64>, StoreError> {
        let seen: HashSet<i64> = match self.visibility {
            // Those that are users: an unknown id is left out, as elsewhere.
            Visibility::All => self.store.names_of(&users).await?.into_iter().map(|(id, _)| id).collect(),
            Visibility::Contacts => self.store.peers_of(viewer).await?.into_iter().chain([viewer]).collect(),
            Visibility::Nobody => HashSet::from([viewer]),
        };
        Ok(users.into_iter().filter(|id| seen.contains(id)).collect())
    }

    /// The users `viewer` may see whose name contains `query`, with ids
    /// above `after`, by id, at most `limit`: `(id, name, online)`.
    pub async fn directory(
        &self,
        viewer: i64,
        query: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, String, bool)>, StoreError> {
        let found = self.store.directory(viewer, self.visibility.visible(), query, after, limit).await?;
        Ok(found.into_iter().map(|(id, name)| (id, name, self.is_online(id))).collect())
    }

    /// The users online now whom `viewer` may see, `(id, name)` by id: at
    /// most [`ONLINE_LIST_MAX`], and whether there were more.
    pub async fn online_for(&self, viewer: i64) -> Result<(Vec<(i64, String)>, bool), StoreError> {
        let candidates: BTreeSet<i64> = match self.visibility {
            Visibility::All => {
                let here = self.publisher.hub().online_principals();
                let elsewhere = self.elsewhere().map(|nodes| nodes.online()).unwrap_or_default();
                here.iter().chain(&elsewhere).filter_map(|p| p.parse().ok()).collect()
            }
            Visibility::Contacts => {
                let peers = self.store.peers_of(viewer).await?;
                peers.into_iter().chain([viewer]).filter(|id| self.is_online(*id)).collect()
            }
            Visibility::Nobody => [viewer].into_iter().filter(|id| self.is_online(*id)).collect(),
        };
        let more = candidates.len() > ONLINE_LIST_MAX;
        let listed: Vec<i64> = candidates.into_iter().take(ONLINE_LIST_MAX).collect();
        Ok((self.store.names_of(&listed).await?, more))
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
    /// Under `all` everyone heard already, under `none` nobody may: only
    /// `contacts` tells.
    pub fn tell(&self, user: i64, online: bool, audience: &[i64]) -> Result<(), ApiError> {
        if self.visibility != Visibility::Contacts {
            return Ok(());
        }
        let principals: Vec<String> = audience.iter().map(i64::to_string).collect();
        let event = PresenceChanged { user_id: user, online };
        self.publisher.presence_changed(Audience::principals(&principals), &event)?;
        Ok(())
    }

    /// The other nodes' word, when clustered.
    fn elsewhere(&self) -> Option<&dyn Online> {
        self.nodes.cluster().map(|cluster| &**cluster as &dyn Online)
    }

    /// Pushes `presence/changed` to those who may see `user` (under the
    /// default policy, the users who share a room with them): on every
    /// node, or on this one only (`here_only`).
    async fn tell_contacts(&self, user: i64, online: bool, here_only: bool) {
        let peers: Vec<String> = match self.visibility {
            Visibility::Nobody => return,
            Visibility::All => Vec::new(),
            Visibility::Contacts => match self.store.peers_of(user).await {
                Ok(peers) => peers.iter().map(i64::to_string).collect(),
                Err(error) => {
                    tracing::warn!(%error, user, "presence not announced");
                    return;
                }
            },
        };
        let principal = user.to_string();
        let audience = match self.visibility {
            // Everyone else: a user's own devices are not told of themselves.
            Visibility::All => Audience::bound_except(&principal),
            _ => Audience::principals(&peers),
        };
        let audience = if here_only { audience.here_only() } else { audience };
        let event = PresenceChanged { user_id: user, online };
        if let Err(error) = self.publisher.presence_changed(audience, &event) {
            tracing::error!(%error, "presence event not sent");
        }
    }
}
