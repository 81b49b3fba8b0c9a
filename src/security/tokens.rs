//! API tokens: 32 random bytes from the OS, base64url; the store keeps only their
//! SHA-256. Checked tokens are cached so steady traffic costs no database round
//! trip, while every revocation made through this process (logout, password or
//! role change, deletion) drops the cache entries once the store write has
//! committed, and no load that raced with it can put them back. Expiry is
//! checked on every frame. Changes made by another process (the CLI) are seen
//! within the cache's time to live.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng;
use sha2::{Digest, Sha256};
use time::PrimitiveDateTime;

use super::Identity;

/// A new token and its hash.
pub fn generate() -> Result<(String, [u8; 32]), rand::rngs::SysError> {
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes)?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    Ok((token, hash))
}

/// SHA-256 of a presented token: the only form that is stored or cached.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[derive(Debug, Clone)]
struct Cached {
    identity: Identity,
    expires_at: PrimitiveDateTime,
    loaded: Instant,
}

/// Valid tokens recently checked against the store.
///
/// Revocations race with loads: a frame may read a token's row just before a
/// logout commits and cache it just after. Every revocation therefore bumps an
/// epoch, and a load may only cache what it read if no revocation happened
/// since it started ([`TokenCache::begin_load`] then [`TokenCache::insert`]).
/// Revokers call the `revoke_*` methods after their store write commits.
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<[u8; 32], Cached>,
    /// Revocations so far; a load started at an older epoch caches nothing.
    epoch: u64,
}

/// Proof of when a store read started, for [`TokenCache::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadTicket(u64);

/// Entries kept at most; past it the cache starts over.
const MAX_ENTRIES: usize = 100_000;

impl TokenCache {
    /// A cache whose entries are re-checked against the store after `ttl`.
    pub fn new(ttl: Duration) -> Self {
        TokenCache { ttl, state: Mutex::default() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The identity for `hash`, if cached, fresh and unexpired at `now`, and
    /// what `then` made of it. `then` runs under the cache's lock, so no
    /// revocation comes between the check and what it does (binding the
    /// connection to the identity's user, which a revocation undoes).
    pub fn get<T>(
        &self,
        hash: &[u8; 32],
        now: PrimitiveDateTime,
        then: impl FnOnce(&Identity) -> T,
    ) -> Option<(Identity, T)> {
        let mut state = self.state();
        let entry = state.entries.get(hash)?;
        if entry.expires_at <= now || entry.loaded.elapsed() > self.ttl {
            state.entries.remove(hash);
            return None;
        }
        let identity = entry.identity.clone();
        let made = then(&identity);
        Some((identity, made))
    }

    /// Call before reading a token from the store.
    pub fn begin_load(&self) -> LoadTicket {
        LoadTicket(self.state().epoch)
    }

    /// Remembers a token read from the store since `ticket` and returns what
    /// `then` made of it (run under the lock, as in [`get`](Self::get)),
    /// unless a revocation happened meanwhile: then nothing is cached, `then`
    /// does not run, and the caller reads the store again.
    pub fn insert<T>(
        &self,
        ticket: LoadTicket,
        hash: [u8; 32],
        identity: Identity,
        expires_at: PrimitiveDateTime,
        then: impl FnOnce(&Identity) -> T,
    ) -> Option<T> {
        let mut state = self.state();
        if state.epoch != ticket.0 {
            return None;
        }
        if state.entries.len() >= MAX_ENTRIES {
            state.entries.clear();
        }
        let made = then(&identity);
        state.entries.insert(hash, Cached { identity, expires_at, loaded: Instant::now() });
        Some(made)
    }

    /// A token was revoked (logout).
    pub fn revoke_token(&self, token_id: i64) {
        self.revoke(|identity| identity.token_id == token_id);
    }

    /// A user's tokens were revoked or changed (password or role change, deletion),
    /// optionally except one.
    pub fn revoke_user(&self, user_id: i64, keep: Option<i64>) {
        self.revoke(|identity| identity.user_id == user_id && Some(identity.token_id) != keep);
    }

    fn revoke(&self, affected: impl Fn(&Identity) -> bool) {
        let mut state = self.state();
        state.epoch += 1;
        state.entries.retain(|_, e| !affected(&e.identity));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Role;

    #[test]
    fn tokens_are_32_random_bytes_base64url_and_hash_deterministically() {
        let (a, hash_a) = generate().unwrap();
        let (b, _) = generate().unwrap();
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash_a);
    }

    fn cached(cache: &TokenCache, hash: [u8; 32], now: PrimitiveDateTime) -> Option<Identity> {
        cache.get(&hash, now, |_| ()).map(|(identity, ())| identity)
    }

    #[test]
    fn cache_drops_expired_and_forgotten_tokens() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let now = crate::store::now_utc();
        let identity = Identity { user_id: 7, role: Role::User, token_id: 1, scopes: None };
        let ticket = cache.begin_load();
        cache.insert(ticket, [1; 32], identity.clone(), now + time::Duration::hours(1), |_| ());
        cache.insert(
            ticket,
            [2; 32],
            Identity { token_id: 2, ..identity.clone() },
            now - time::Duration::seconds(1),
            |_| (),
        );
        assert_eq!(cached(&cache, [1; 32], now), Some(identity));
        assert_eq!(cached(&cache, [2; 32], now), None, "expired");
        cache.revoke_user(7, None);
        assert_eq!(cached(&cache, [1; 32], now), None);
    }

    #[test]
    fn a_load_that_started_before_a_revocation_caches_nothing() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let now = crate::store::now_utc();
        let identity = Identity { user_id: 7, role: Role::User, token_id: 1, scopes: None };
        // A frame reads the still-valid row; meanwhile a logout commits and revokes.
        let ticket = cache.begin_load();
        cache.revoke_token(1);
        let bound = cache.insert(ticket, [1; 32], identity.clone(), now + time::Duration::hours(1), |_| "bound");
        assert_eq!(bound, None, "what follows a stale read (binding its connection) must not run");
        assert_eq!(cached(&cache, [1; 32], now), None, "the stale read must not be cached");
        // A load that starts after the revocation caches as usual.
        let ticket = cache.begin_load();
        let bound = cache.insert(ticket, [1; 32], identity.clone(), now + time::Duration::hours(1), |_| "bound");
        assert_eq!(bound, Some("bound"));
        assert_eq!(cached(&cache, [1; 32], now), Some(identity));
    }
}
