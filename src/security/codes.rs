//! Email verification codes: 6 digits drawn uniformly from the OS. The store
//! keeps only an HMAC-SHA256 over the account's email and the code, keyed by
//! the server secret (`--secret-file`), which is not in the database: a copy
//! of the database cannot be searched for the codes (a plain hash of 10^6
//! candidates falls in a second), and the same digits differ per account.

use rand::TryRng;
use ring::hmac;

use super::secret::Secret;

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
pub fn hash(secret: &Secret, email: &str, code: &str) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose());
    let mut context = hmac::Context::with_key(&key);
    context.update(email.to_lowercase().as_bytes());
    context.update(b"\0");
    context.update(code.as_bytes());
    let mut mac = [0u8; 32];
    mac.copy_from_slice(context.sign().as_ref());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hashes_bind_them_to_the_account_and_the_secret() {
        let codes: Vec<String> = (0..200).map(|_| generate().unwrap()).collect();
        assert!(codes.iter().all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())), "{codes:?}");
        let distinct: std::collections::HashSet<&String> = codes.iter().collect();
        assert!(distinct.len() > 190, "random codes rarely repeat: {}", distinct.len());
        let secret = Secret::generate().unwrap();
        assert_eq!(hash(&secret, "Alice@Example.com", "042917"), hash(&secret, "alice@example.com", "042917"));
        assert_ne!(hash(&secret, "alice@example.com", "042917"), hash(&secret, "bob@example.com", "042917"));
        assert_ne!(hash(&secret, "alice@example.com", "042917"), hash(&secret, "alice@example.com", "042918"));
        let other = Secret::generate().unwrap();
        assert_ne!(hash(&secret, "alice@example.com", "042917"), hash(&other, "alice@example.com", "042917"));
        // Not the plain SHA-256 a database copy could be searched with.
        let plain: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"alice@example.com\x00042917".as_slice()).into();
        assert_ne!(hash(&secret, "alice@example.com", "042917"), plain);
    }
}
