//! Secrets the operator keeps outside the database and the process list: the
//! cluster key (`--cluster-key-file`) and the server secret that keys stored
//! verification codes (`--secret-file`). Each is 32 random bytes, written as
//! one base64 line to a file only its owner may read, or given in an
//! environment variable. A database copy holds neither, so what they protect
//! cannot be worked out from it.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::TryRng;

/// How many bytes a secret has.
pub const SECRET_BYTES: usize = 32;

/// 32 secret bytes. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; SECRET_BYTES]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Why a secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The text is not the base64 of 32 bytes.
    #[error(
        "{origin} is not a specserve secret (one line: the base64 of 32 bytes, as `specserve cluster keygen` writes)"
    )]
    Malformed {
        /// Where it came from: a file or an environment variable.
        origin: String,
    },
    /// The OS had no randomness to give.
    #[error("no randomness from the OS: {0}")]
    Random(rand::rngs::SysError),
}

impl Secret {
    /// A new secret from the OS's randomness.
    pub fn generate() -> Result<Secret, SecretError> {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(SecretError::Random)?;
        Ok(Secret(bytes))
    }

    /// The secret `text` holds (base64, surrounding whitespace ignored);
    /// `origin` names where it came from in the error.
    pub fn from_base64(text: &str, origin: &str) -> Result<Secret, SecretError> {
        let malformed = || SecretError::Malformed { origin: origin.to_owned() };
        let bytes = STANDARD.decode(text.trim()).map_err(|_| malformed())?;
        Ok(Secret(bytes.try_into().map_err(|_| malformed())?))
    }

    /// The secret in the file at `path`. A file that others may read is
    /// used, with a warning naming the `chmod` that fixes it.
    pub fn read(path: &Path) -> Result<Secret, SecretError> {
        let io = |source| SecretError::Io { path: path.to_owned(), source };
        let text = std::fs::read_to_string(path).map_err(io)?;
        warn_if_shared(path);
        Secret::from_base64(&text, &path.display().to_string())
    }

    /// The secret from `file` if given, else from the environment variable
    /// `env` (its value, base64), else `None`.
    pub fn from_file_or_env(file: Option<&Path>, env: &str) -> Result<Option<Secret>, SecretError> {
        if let Some(path) = file {
            return Secret::read(path).map(Some);
        }
        match std::env::var(env) {
            Ok(value) if !value.trim().is_empty() => Secret::from_base64(&value, env).map(Some),
            _ => Ok(None),
        }
    }

    /// Writes the secret to a new file at `path`, readable by its owner only;
    /// an existing file is never overwritten.
    pub fn write_new(&self, path: &Path) -> Result<(), SecretError> {
        let io = |source| SecretError::Io { path: path.to_owned(), source };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        file.write_all(format!("{}\n", self.to_base64()).as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// The secret in the file at `path`, made there first if there is none;
    /// whether it was made now.
    pub fn read_or_create(path: &Path) -> Result<(Secret, bool), SecretError> {
        match Secret::read(path) {
            Ok(secret) => Ok((secret, false)),
            Err(SecretError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                let secret = Secret::generate()?;
                secret.write_new(path)?;
                Ok((secret, true))
            }
            Err(error) => Err(error),
        }
    }

    /// The bytes, for keying a MAC or a cipher.
    pub fn expose(&self) -> &[u8; SECRET_BYTES] {
        &self.0
    }

    /// The file form: base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

/// Warns when a secret's file may be read by its group or others.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    if let Ok(metadata) = std::fs::metadata(path) {
        let mode = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions());
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "a secret's file is readable by others: chmod 600 it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_survives_its_file_and_is_never_overwritten_or_printed() {
        let dir = std::env::temp_dir().join(format!("specserve-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        let _ = std::fs::remove_file(&path);
        let (made, new) = Secret::read_or_create(&path).unwrap();
        assert!(new);
        let (again, new) = Secret::read_or_create(&path).unwrap();
        assert!(!new);
        assert_eq!(made, again, "the file is read back");
        assert!(Secret::generate().unwrap().write_new(&path).is_err(), "an existing file stays");
        #[cfg(unix)]
        {
            let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(format!("{made:?}"), "Secret(..)");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn anything_but_the_base64_of_32_bytes_is_refused_by_name() {
        for text in ["", "not base64!", &STANDARD.encode([0u8; 16]), &STANDARD.encode([0u8; 33])] {
            let error = Secret::from_base64(text, "SPECSERVE_CLUSTER_KEY").unwrap_err();
            assert!(error.to_string().starts_with("SPECSERVE_CLUSTER_KEY is not a specserve secret"), "{error}");
        }
        let secret = Secret::generate().unwrap();
        assert_eq!(Secret::from_base64(&format!(" {}\n", secret.to_base64()), "x").unwrap(), secret);
    }
}
