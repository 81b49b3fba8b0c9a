//! Who is calling and what they may do: passwords, tokens and their cache,
//! log-in throttling and the audit log.

pub mod audit;
pub mod login_throttle;
pub mod passwords;
pub mod tokens;

use crate::api::Role;

/// The user a valid token belongs to: the principal of every secured operation
/// (`rq.principal()`), made only by the application's `Context::authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's id.
    pub user_id: i64,
    /// The user's role.
    pub role: Role,
    /// The token's own id, so logout can revoke exactly it.
    pub token_id: i64,
}
