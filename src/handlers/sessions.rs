//! Sessions: whose a token is (the cache in front of the store), which
//! connections are bound to whom, and ending sessions on every node.

use specserve_runtime::context::CredentialSource;
use specserve_runtime::hub::{Audience, Hub};
use specserve_runtime::{ApiError, ConnectionInfo, Credential};
use time::PrimitiveDateTime;

use super::{STALE_READS, cookies, store_error};
use crate::api::{BoundSession, ConnectionLimits, Publisher, Scope, SessionWelcome};
use crate::cluster::{Nodes, Notice};
use crate::presence::Presence;
use crate::security::Identity;
use crate::security::tokens::{self, TokenCache};
use crate::store::{Database, TokenRecord, now_utc};

/// The sessions part of the application.
#[derive(Debug)]
pub struct Sessions {
    store: Database,
    tokens: TokenCache,
    hub: Hub,
    presence: Presence,
    nodes: Nodes,
}

impl Sessions {
    pub(super) fn new(store: Database, tokens: TokenCache, hub: Hub, presence: Presence, nodes: Nodes) -> Self {
        Sessions { store, tokens, hub, presence, nodes }
    }

    /// The identity a token stands for, from the cache or the store; binds
    /// `connection` to its user, whose contacts hear if they came online.
    pub(super) async fn authenticate(
        &self,
        credential: Credential<'_>,
        connection: &ConnectionInfo,
    ) -> Result<Identity, ApiError> {
        let hash = tokens::hash(credential.value);
        let now = now_utc();
        let bind = |identity: &Identity| self.bind(connection, identity);
        if let Some((identity, came_online)) = self.tokens.get(&hash, now, bind) {
            if came_online {
                self.presence.changed_here(identity.user_id, true).await;
            }
            return Ok(identity);
        }
        // A revocation committing during the read makes it stale: read again.
        for _ in 0..STALE_READS {
            let ticket = self.tokens.begin_load();
            let Some(record) = self.live_token(hash, now).await? else {
                return Err(ApiError::unauthorized());
            };
            // Scopes the spec no longer has grant nothing.
            let scopes = record.scopes.map(|names| names.iter().filter_map(|n| Scope::from_wire(n)).collect());
            let identity = Identity { user_id: record.user_id, role: record.role, token_id: record.id, scopes };
            let Some(came_online) = self.tokens.insert(ticket, hash, identity.clone(), record.expires_at, bind) else {
                continue;
            };
            if came_online {
                self.presence.changed_here(identity.user_id, true).await;
            }
            // Best effort: a failed bookkeeping write must not fail the request.
            if let Err(error) = self.store.touch_token(record.id, now).await {
                tracing::debug!(%error, "could not record token use");
            }
            return Ok(identity);
        }
        Err(ApiError::unavailable("token reads kept racing revocations"))
    }

    /// A token on the upgrade binds the connection at once, so it gets the
    /// user's events before it sends anything. Where several are presented,
    /// seed 001's order: the session cookie (from an allowed page), then a
    /// query parameter (`?token=`), then `Authorization: Bearer`.
    pub(super) async fn connected(&self, connection: &ConnectionInfo) {
        let rank = |source: CredentialSource| match source {
            CredentialSource::Cookie(name) if name == cookies::SESSION_COOKIE => 0,
            CredentialSource::Query(_) => 1,
            CredentialSource::Bearer => 2,
            _ => 3,
        };
        let presented = connection.credentials().filter(|(source, _)| rank(*source) < 3);
        let upgrade_token = presented.min_by_key(|(source, _)| rank(*source)).map(|(_, token)| token);
        if let Some(token) = upgrade_token {
            let credential = Credential { scheme: "apiToken", value: token };
            match self.authenticate(credential, connection).await {
                // Its first frame says who the server believes it is (seed 002's `authentication`).
                Ok(identity) if !identity.is_client() => {
                    let welcome = SessionWelcome { session: self.session_of(&identity, connection) };
                    let publisher = Publisher::new(self.hub.clone());
                    if let Err(error) = publisher.session_welcome(Audience::connection(connection.id()), &welcome) {
                        tracing::error!(%error, "welcome not sent");
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::debug!(code = %error.code(), "upgrade token not accepted; frames will say why"),
            }
        }
    }

    /// Who `identity` is on `connection`, and the limits the server enforces
    /// there: what `auth/bind` answers and `session/welcome` tells.
    pub(super) fn session_of(&self, identity: &Identity, connection: &ConnectionInfo) -> BoundSession {
        let limits = connection.limits();
        BoundSession {
            user_id: identity.user_id,
            role: identity.role,
            token_id: identity.token_id,
            limits: ConnectionLimits {
                max_message_bytes: i64::try_from(limits.max_message_bytes).unwrap_or(i64::MAX),
                frames_per_second: limits.frames_per_second,
                frame_burst: limits.frame_burst,
                event_queue: i64::try_from(limits.event_queue).unwrap_or(i64::MAX),
            },
        }
    }

    /// The stored token with this hash if it is neither revoked nor expired at `now`.
    pub(super) async fn live_token(
        &self,
        hash: [u8; 32],
        now: PrimitiveDateTime,
    ) -> Result<Option<TokenRecord>, ApiError> {
        let record = self.store.token_by_hash(hash).await.map_err(store_error)?;
        Ok(record.filter(|r| r.revoked_at.is_none() && r.expires_at > now))
    }

    /// Binds `connection` to the user `identity` authenticated (once per
    /// token per connection); returns whether the user came online with it.
    /// Client tokens are programs acting for their admin: they bind nothing.
    /// Called under the token cache's lock (`TokenCache::get`), so a
    /// revocation (which unbinds or closes the user's connections) is either
    /// before it and refused it, or after it and undoes it.
    fn bind(&self, connection: &ConnectionInfo, identity: &Identity) -> bool {
        if identity.is_client() {
            return false;
        }
        let principal = identity.user_id.to_string();
        let session = identity.token_id.unsigned_abs();
        !self.hub.is_bound(connection.id(), &principal, session) && self.hub.bind(connection.id(), &principal, session)
    }

    /// After token `token_id` of `user_id` was revoked in the store: the cache
    /// forgets it (after the write committed, so no concurrent load can cache it
    /// again), and connections bound through it get no more of the user's events.
    pub(super) async fn end_session(&self, user_id: i64, token_id: i64) {
        self.tokens.revoke_token(token_id);
        self.nodes.announce(Notice::SessionEnded { user: user_id, token: token_id });
        if self.hub.unbind_session(&user_id.to_string(), token_id.unsigned_abs()) {
            self.presence.changed_here(user_id, false).await;
        }
    }

    /// After every token of `user_id` but `keep` was revoked in the store (a
    /// password change): as [`Sessions::end_session`] for each, on every node.
    pub(super) async fn end_user_sessions(&self, user_id: i64, keep: Option<i64>) {
        self.tokens.revoke_user(user_id, keep);
        self.nodes.announce(Notice::SessionsEnded { user: user_id, keep });
        if self.hub.unbind_principal(&user_id.to_string(), keep.map(i64::unsigned_abs)) {
            self.presence.changed_here(user_id, false).await;
        }
    }

    /// After a user's role changed: cached identities are stale on every node.
    pub(super) fn forget_user(&self, user_id: i64) {
        self.tokens.revoke_user(user_id, None);
        self.nodes.announce(Notice::UserChanged { user: user_id });
    }

    /// After a user was deleted: its tokens are forgotten and its connections
    /// close, on every node; `peers` (its contacts, read before the delete
    /// took it out of their rooms) hear it went offline. How many closed here.
    pub(super) fn remove_user(&self, user_id: i64, peers: &[i64]) -> usize {
        self.tokens.revoke_user(user_id, None);
        self.nodes.announce(Notice::UserDeleted { user: user_id });
        let closed = self.hub.close_principal(&user_id.to_string(), None);
        if closed > 0
            && let Err(error) = self.presence.tell(user_id, false, peers)
        {
            tracing::error!(%error, "presence event not sent");
        }
        closed
    }

    /// Repeats another node's revocation for this node's cache and
    /// connections; a user it takes offline here is announced as any
    /// offline is, so their peers hear it once the last node lets go.
    pub(super) async fn apply(&self, notice: Notice) {
        let offline = match notice {
            Notice::SessionEnded { user, token } => {
                self.tokens.revoke_token(token);
                self.hub.unbind_session(&user.to_string(), token.unsigned_abs()).then_some(user)
            }
            Notice::SessionsEnded { user, keep } => {
                self.tokens.revoke_user(user, keep);
                self.hub.unbind_principal(&user.to_string(), keep.map(i64::unsigned_abs)).then_some(user)
            }
            Notice::UserChanged { user } => {
                self.tokens.revoke_user(user, None);
                None
            }
            Notice::UserDeleted { user } => {
                // Its connections close, and it is offline here from now on.
                self.tokens.revoke_user(user, None);
                (self.hub.close_principal(&user.to_string(), None) > 0).then_some(user)
            }
        };
        if let Some(user) = offline {
            self.presence.changed_here(user, false).await;
        }
    }
}
