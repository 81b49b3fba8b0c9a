//! TLS for the listener (rustls, ring): a certificate from PEM files, or a
//! self-signed one so `specserve serve` is encrypted with zero configuration.
//! The self-signed certificate is written to a folder on first start and
//! reused after, so clients can trust the file; or pin it by its SHA-256
//! fingerprint, which is logged.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

use super::config::TlsSetup;

pub mod stream;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate or key file could not be read or parsed.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// rustls refused the certificate/key pair.
    #[error("certificate and key do not work together: {0}")]
    Rustls(#[from] rustls::Error),
    /// The self-signed certificate could not be generated.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The self-signed certificate could not be kept in its folder.
    #[error("{path}: {reason} (it keeps the self-signed TLS certificate; choose another with --self-signed-dir)")]
    Keep {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// A ready server TLS configuration and the certificate it presents, which
/// [`reload`](ServerTls::reload) replaces without a restart (SIGHUP, when a
/// certificate is renewed): handshakes after it present the new one,
/// connections already open keep theirs.
#[derive(Clone)]
pub struct ServerTls {
    /// For tokio-rustls.
    pub config: Arc<rustls::ServerConfig>,
    /// Where a self-signed certificate is kept (PEM), for clients to trust.
    pub file: Option<PathBuf>,
    current: Arc<Current>,
    setup: TlsSetup,
}

/// The certificate and key every new handshake is given.
#[derive(Debug)]
struct Current(std::sync::RwLock<Arc<CertifiedKey>>);

impl Current {
    fn get(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

impl ServerTls {
    /// Builds the TLS configuration for `setup`; `None` for plaintext.
    pub fn from_setup(setup: &TlsSetup) -> Result<Option<ServerTls>, TlsError> {
        let Some((certified, file)) = certified(setup)? else { return Ok(None) };
        let current = Arc::new(Current(std::sync::RwLock::new(Arc::new(certified))));
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(ServerTls { config: Arc::new(config), file, current, setup: setup.clone() }))
    }

    /// The leaf certificate presented now (DER), so tests and tools can trust it.
    pub fn certificate(&self) -> CertificateDer<'static> {
        self.current.get().cert[0].clone()
    }

    /// Reads the certificate and key again (`--tls-cert`/`--tls-key`, or the
    /// kept self-signed pair) and presents them from the next handshake on;
    /// returns the new fingerprint. A pair that does not load, or whose key
    /// is not the certificate's, is refused and the current one stays.
    pub fn reload(&self) -> Result<String, TlsError> {
        if let Some((certified, _)) = certified(&self.setup)? {
            *self.current.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(certified);
        }
        Ok(self.fingerprint())
    }

    /// `AB:CD:...`: the SHA-256 fingerprint of the leaf certificate.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.certificate())
    }
}

/// The certificate and key `setup` names (made, for a self-signed one), and
/// where a kept self-signed certificate is; `None` for plaintext.
fn certified(setup: &TlsSetup) -> Result<Option<(CertifiedKey, Option<PathBuf>)>, TlsError> {
    let (chain, key, file) = match setup {
        TlsSetup::Plaintext => return Ok(None),
        TlsSetup::SelfSigned => {
            let (cert, key) = self_signed()?;
            (vec![cert], key, None)
        }
        TlsSetup::SelfSignedIn(dir) => {
            let (chain, key) = kept_self_signed(dir)?;
            (chain, key, Some(dir.join(CERT_FILE)))
        }
        TlsSetup::Files { cert, key } => {
            let (chain, key) = read_pem(cert, key)?;
            (chain, key, None)
        }
    };
    let certified = CertifiedKey::from_der(chain, key, &rustls::crypto::ring::default_provider())?;
    Ok(Some((certified, file)))
}

/// The SHA-256 fingerprint of a DER certificate, as colon-separated hex.
pub fn fingerprint(certificate: &[u8]) -> String {
    Sha256::digest(certificate).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// The certificate and key files of a kept self-signed certificate.
const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";

/// A certificate chain and its key from PEM files.
fn read_pem(cert: &Path, key: &Path) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let pem_error = |path: &Path, e: &dyn std::fmt::Display| TlsError::Pem {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| pem_error(cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert, &e))?;
    if chain.is_empty() {
        return Err(pem_error(cert, &"no CERTIFICATE block"));
    }
    Ok((chain, PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, &e))?))
}

/// The self-signed certificate kept in `dir`: read when it is there, else
/// made and written (the key readable by its owner only). Several processes
/// starting at once agree on one pair: the key is claimed with a hard link,
/// which only one can make, and the certificate appears last, so a reader
/// that sees it sees its key.
fn kept_self_signed(dir: &Path) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    let keep_error =
        |path: &Path, e: std::io::Error| TlsError::Keep { path: path.display().to_string(), reason: e.to_string() };
    if !cert_path.exists() && !key_path.exists() {
        let certified = rcgen::generate_simple_self_signed(self_signed_names())?;
        std::fs::create_dir_all(dir).map_err(|e| keep_error(dir, e))?;
        static ATTEMPT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let attempt = ATTEMPT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let unique = format!("{}-{attempt}", std::process::id());
        let (key_new, cert_new) = (dir.join(format!(".key-{unique}")), dir.join(format!(".cert-{unique}")));
        write_private(&key_new, certified.signing_key.serialize_pem().as_bytes())
            .map_err(|e| keep_error(&key_new, e))?;
        std::fs::write(&cert_new, certified.cert.pem()).map_err(|e| keep_error(&cert_new, e))?;
        let claimed = std::fs::hard_link(&key_new, &key_path);
        if claimed.is_ok() {
            std::fs::rename(&cert_new, &cert_path).map_err(|e| keep_error(&cert_path, e))?;
        }
        let _ = std::fs::remove_file(&key_new);
        let _ = std::fs::remove_file(&cert_new);
        match claimed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(keep_error(&key_path, e)),
        }
    }
    // Another process may be between claiming the key and writing the certificate.
    for _ in 0..50 {
        if cert_path.exists() {
            return read_pem(&cert_path, &key_path);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(TlsError::Keep {
        path: dir.display().to_string(),
        reason: format!("has {KEY_FILE} but no {CERT_FILE}; remove {KEY_FILE} to make a new pair"),
    })
}

/// Writes `contents` to a new file only its owner may read.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

/// The names a self-signed certificate is for: this machine.
fn self_signed_names() -> Vec<String> {
    vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()]
}

fn self_signed() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let certified = rcgen::generate_simple_self_signed(self_signed_names())?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    Ok((certified.cert.der().clone(), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint_in(dir: &Path) -> String {
        ServerTls::from_setup(&TlsSetup::SelfSignedIn(dir.to_owned())).unwrap().unwrap().fingerprint()
    }

    #[test]
    fn processes_starting_at_once_agree_on_one_kept_certificate() {
        let dir = std::env::temp_dir().join(format!("specserve-tls-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || fingerprint_in(&dir))
            })
            .collect();
        let fingerprints: Vec<String> = starts.into_iter().map(|s| s.join().unwrap()).collect();
        assert!(fingerprints.iter().all(|f| *f == fingerprints[0]), "{fingerprints:?}");
        assert_eq!(fingerprint_in(&dir), fingerprints[0], "reused after");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "no temporary files stay: {left:?}");
        std::fs::remove_file(dir.join(CERT_FILE)).unwrap();
        let Err(refused) = ServerTls::from_setup(&TlsSetup::SelfSignedIn(dir.clone())) else {
            panic!("a key without its certificate is not replaced silently")
        };
        assert!(refused.to_string().contains("no cert.pem"), "{refused}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
