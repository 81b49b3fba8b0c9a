//! Password hashing with argon2id (the crate's defaults are OWASP's parameters:
//! 19 MiB, 2 passes, 1 lane). Hashing runs on the blocking pool behind a
//! semaphore sized to the cores, so a login storm queues instead of starving
//! the connections' tasks.

use std::sync::Arc;

use argon2::password_hash::PasswordVerifier;
use argon2::{Argon2, PasswordHasher};
use tokio::sync::Semaphore;

use crate::wire::ApiError;

/// Hashes and verifies passwords off the async threads.
#[derive(Debug, Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// At most `concurrency` hashes at once (use the number of cores).
    pub fn new(concurrency: usize) -> Result<Self, ApiError> {
        // Verified against when the email is unknown, so both paths cost one hash.
        let dummy_hash = hash_now("specserve dummy password, never valid")?;
        Ok(Passwords { permits: Arc::new(Semaphore::new(concurrency.max(1))), dummy_hash: dummy_hash.into() })
    }

    /// An argon2id PHC string for `password`.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.blocking(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `hash`. With no hash (unknown email, or an
    /// account without a password) a dummy hash is checked, for equal work, and
    /// the answer is `false`.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = self
            .blocking(move || Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok())
            .await?;
        Ok(real && matches)
    }

    async fn blocking<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)
    }
}

fn hash_now(password: &str) -> Result<String, ApiError> {
    let hash = Argon2::default().hash_password(password.as_bytes()).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_do() {
        let passwords = Passwords::new(2).unwrap();
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(passwords.verify("correct horse".into(), Some(hash.clone())).await.unwrap());
        assert!(!passwords.verify("wrong horse".into(), Some(hash)).await.unwrap());
        assert!(!passwords.verify("specserve dummy password, never valid".into(), None).await.unwrap());
    }
}
