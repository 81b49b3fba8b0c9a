//! Email verification codes: 6 digits drawn uniformly from the OS. The store
//! keeps only a SHA-256 over the account's email and the code, so a code read
//! from the database is no code, and the same digits hash differently per account.

use rand::TryRng;
use sha2::{Digest, Sha256};

/// How many digits a code has.
pub const DIGITS: u32 = 6;

/// A new code, such as `"042917"`.
pub fn generate() -> Result<String, rand::rngs::SysError> {
    let range = 10u32.pow(DIGITS);
    // Rejection sampling: values past the last whole multiple of `range` would
    // make low codes likelier.
    let limit = u32::MAX - u32::MAX % range;
    loop {
        let mut bytes = [0u8; 4];
        rand::rngs::SysRng.try_fill_bytes(&mut bytes)?;
        let value = u32::from_le_bytes(bytes);
        if value < limit {
            return Ok(format!("{:0width$}", value % range, width = DIGITS as usize));
        }
    }
}

/// What the store keeps for `code` sent to `email` (compared case-insensitively, like emails).
pub fn hash(email: &str, code: &str) -> [u8; 32] {
    let mut digest = Sha256::new();
    digest.update(email.to_lowercase().as_bytes());
    digest.update(b"\0");
    digest.update(code.as_bytes());
    digest.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hashes_bind_them_to_the_account() {
        let codes: Vec<String> = (0..200).map(|_| generate().unwrap()).collect();
        assert!(codes.iter().all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())), "{codes:?}");
        let distinct: std::collections::HashSet<&String> = codes.iter().collect();
        assert!(distinct.len() > 190, "random codes rarely repeat: {}", distinct.len());
        assert_eq!(hash("Alice@Example.com", "042917"), hash("alice@example.com", "042917"));
        assert_ne!(hash("alice@example.com", "042917"), hash("bob@example.com", "042917"));
        assert_ne!(hash("alice@example.com", "042917"), hash("alice@example.com", "042918"));
    }
}
