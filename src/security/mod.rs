//! Who is calling and what they may do: passwords, tokens and their cache,
//! email verification codes, log-in throttling and the audit log.

pub mod audit;
pub mod codes;
pub mod login_throttle;
pub mod passwords;
pub mod secret;
pub mod tokens;

use std::sync::Arc;

use crate::api::{Role, Scope};

/// The user a valid token belongs to: the principal of every secured operation
/// (`rq.principal()`), made only by the application's `Context::authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's id (for a client token: the admin who made it).
    pub user_id: i64,
    /// The user's role.
    pub role: Role,
    /// The token's own id, so logout can revoke exactly it.
    pub token_id: i64,
    /// A client token's scopes: it may call only operations whose security
    /// lists a scheme it holds every scope of. `None`: a user's own token.
    pub scopes: Option<Arc<[Scope]>>,
}

impl Identity {
    /// Whether this is a client (service) token rather than a person's login.
    pub fn is_client(&self) -> bool {
        self.scopes.is_some()
    }

    /// Whether the token satisfies a security scheme that needs `required`:
    /// a login satisfies only schemes without scopes, a client token only
    /// schemes whose every scope it holds.
    pub fn satisfies(&self, required: &[&str]) -> bool {
        match &self.scopes {
            None => required.is_empty(),
            Some(held) => !required.is_empty() && required.iter().all(|r| held.iter().any(|h| h.as_str() == *r)),
        }
    }
}
