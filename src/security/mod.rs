//! Who is calling and what they may do: passwords, tokens and their cache, rate
//! limits, live sessions and the audit log.

pub mod audit;
pub mod login_throttle;
pub mod passwords;
pub mod rate_limit;
pub mod sessions;
pub mod tokens;

use std::future::Future;

use crate::api::Role;
use crate::wire::{ApiError, RequestContext};

/// The user a valid token belongs to. Wrapped in [`crate::api::Principal`] by
/// the dispatcher, which is the only place a principal is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's id.
    pub user_id: i64,
    /// The user's role.
    pub role: Role,
    /// The token's own id, so logout can revoke exactly it.
    pub token_id: i64,
}

/// The token check: turns a presented token into an [`Identity`] or refuses.
pub trait Authenticate: Send + Sync {
    /// `Ok` for a valid, unexpired, unrevoked token of an existing user;
    /// `unauthorized` otherwise (or `unavailable` when the store is down).
    fn authenticate(
        &self,
        token: &str,
        ctx: &RequestContext,
    ) -> impl Future<Output = Result<Identity, ApiError>> + Send;
}
