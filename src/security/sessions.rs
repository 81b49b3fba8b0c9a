//! Live connections per user, so deleting a user closes its open sockets.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use specserve_runtime::ConnectionInfo;

/// Which connections have authenticated as which user.
#[derive(Debug, Default)]
pub struct Sessions {
    by_user: Mutex<HashMap<i64, Vec<(u64, CancellationToken)>>>,
}

impl Sessions {
    /// Notes that `connection` acts as `user_id`.
    pub fn register(&self, user_id: i64, connection: &ConnectionInfo) {
        let mut by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        let connections = by_user.entry(user_id).or_default();
        connections.retain(|(_, signal)| !signal.is_cancelled());
        if !connections.iter().any(|(id, _)| *id == connection.id()) {
            connections.push((connection.id(), connection.close_signal().clone()));
        }
    }

    /// Closes every live connection of `user_id`; returns how many.
    pub fn close_user(&self, user_id: i64) -> usize {
        let connections =
            self.by_user.lock().unwrap_or_else(PoisonError::into_inner).remove(&user_id).unwrap_or_default();
        connections.iter().filter(|(_, signal)| !signal.is_cancelled()).map(|(_, signal)| signal.cancel()).count()
    }
}
