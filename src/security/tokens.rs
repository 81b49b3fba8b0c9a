//! API tokens: 32 random bytes from the OS, base64url; the store keeps only their
//! SHA-256. Checked tokens are cached so steady traffic costs no database round
//! trip, while every revocation made through this process (logout, password
//! change, deletion) drops the cache entry at once, and expiry is checked on
//! every frame. Changes made by another process (the CLI) are seen within the
//! cache's time to live.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng;
use sha2::{Digest, Sha256};
use time::PrimitiveDateTime;

use super::Identity;
use crate::api::Role;

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
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], Cached>>,
}

/// Entries kept at most; past it the cache starts over.
const MAX_ENTRIES: usize = 100_000;

impl TokenCache {
    /// A cache whose entries are re-checked against the store after `ttl`.
    pub fn new(ttl: Duration) -> Self {
        TokenCache { ttl, entries: Mutex::default() }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Cached>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The identity for `hash`, if cached, fresh and unexpired at `now`.
    pub fn get(&self, hash: &[u8; 32], now: PrimitiveDateTime) -> Option<Identity> {
        let mut entries = self.entries();
        let entry = entries.get(hash)?;
        if entry.expires_at <= now || entry.loaded.elapsed() > self.ttl {
            entries.remove(hash);
            return None;
        }
        Some(entry.identity.clone())
    }

    /// Remembers a token just checked against the store.
    pub fn insert(&self, hash: [u8; 32], identity: Identity, expires_at: PrimitiveDateTime) {
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, Cached { identity, expires_at, loaded: Instant::now() });
    }

    /// Forgets one token (logout).
    pub fn forget_token(&self, token_id: i64) {
        self.entries().retain(|_, e| e.identity.token_id != token_id);
    }

    /// Forgets every token of a user, optionally keeping one.
    pub fn forget_user(&self, user_id: i64, keep: Option<i64>) {
        self.entries().retain(|_, e| e.identity.user_id != user_id || Some(e.identity.token_id) == keep);
    }

    /// Updates a user's role in cached identities.
    pub fn set_role(&self, user_id: i64, role: Role) {
        for entry in self.entries().values_mut().filter(|e| e.identity.user_id == user_id) {
            entry.identity.role = role;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_random_bytes_base64url_and_hash_deterministically() {
        let (a, hash_a) = generate().unwrap();
        let (b, _) = generate().unwrap();
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash_a);
    }

    #[test]
    fn cache_drops_expired_and_forgotten_tokens() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let now = crate::store::now_utc();
        let identity = Identity { user_id: 7, role: Role::User, token_id: 1 };
        cache.insert([1; 32], identity.clone(), now + time::Duration::hours(1));
        cache.insert([2; 32], Identity { token_id: 2, ..identity.clone() }, now - time::Duration::seconds(1));
        assert_eq!(cache.get(&[1; 32], now), Some(identity));
        assert_eq!(cache.get(&[2; 32], now), None, "expired");
        cache.forget_user(7, None);
        assert_eq!(cache.get(&[1; 32], now), None);
    }
}
