//! Rate limits: a token bucket, and a keyed set of them (per IP, per account,
//! per creator) for the auth and create routes.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// A token bucket: `rate` tokens per second up to `burst`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> Self {
        TokenBucket { rate, burst, tokens: burst, last: Instant::now() }
    }

    /// Whether the bucket has refilled completely (its key can be forgotten).
    pub fn is_full(&mut self) -> bool {
        self.refill();
        self.tokens >= self.burst
    }

    fn refill(&mut self) {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
    }

    /// Whether a token is available, without taking it.
    pub fn has_token(&mut self) -> bool {
        self.refill();
        self.tokens >= 1.0
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self) -> bool {
        self.refill();
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One token bucket per key, e.g. per client IP.
#[derive(Debug)]
pub struct KeyedLimiter<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

/// Past this many keys, idle (full) buckets are dropped.
const MAX_KEYS: usize = 100_000;

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// `per_minute` sustained with bursts of `burst`.
    pub fn per_minute(per_minute: f64, burst: f64) -> Self {
        KeyedLimiter { rate: per_minute / 60.0, burst, buckets: Mutex::default() }
    }

    /// `per_minute` sustained with bursts of a third of it (at least one): the
    /// shape of every per-key limit the server configures.
    pub fn per_minute_with_third_burst(per_minute: f64) -> Self {
        Self::per_minute(per_minute, (per_minute / 3.0).max(1.0))
    }

    /// Takes one token from `key`'s bucket.
    pub fn try_take(&self, key: &K) -> bool {
        self.with_bucket(key, TokenBucket::try_take)
    }

    /// Whether `key`'s bucket has a token, without taking it.
    pub fn has_token(&self, key: &K) -> bool {
        self.with_bucket(key, TokenBucket::has_token)
    }

    /// Forgets `key`: its next request starts from a full bucket.
    pub fn reset(&self, key: &K) {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    fn with_bucket(&self, key: &K, f: impl FnOnce(&mut TokenBucket) -> bool) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.retain(|_, bucket| !bucket.is_full());
        }
        f(buckets.entry(key.clone()).or_insert_with(|| TokenBucket::new(self.rate, self.burst)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_the_burst_then_refuses() {
        let mut bucket = TokenBucket::new(0.0, 3.0);
        assert_eq!((0..5).filter(|_| bucket.try_take()).count(), 3);
    }

    #[test]
    fn keys_have_separate_buckets() {
        let limiter = KeyedLimiter::per_minute(0.0, 2.0);
        assert!(limiter.try_take(&"a") && limiter.try_take(&"a"));
        assert!(!limiter.try_take(&"a"));
        assert!(limiter.try_take(&"b"));
    }
}
