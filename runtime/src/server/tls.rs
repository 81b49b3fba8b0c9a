//! TLS for the listener (rustls, ring): a certificate from PEM files, or a
//! self-signed one made at start-up so `specserve serve` is encrypted with zero
//! configuration. Clients can pin the self-signed certificate by its SHA-256
//! fingerprint, which is logged.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use super::config::TlsSetup;

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
}

/// A ready server TLS configuration and the leaf certificate it presents.
#[derive(Clone)]
pub struct ServerTls {
    /// For tokio-rustls.
    pub config: Arc<rustls::ServerConfig>,
    /// The leaf certificate (DER), so tests and tools can trust it.
    pub certificate: CertificateDer<'static>,
}

impl ServerTls {
    /// Builds the TLS configuration for `setup`; `None` for plaintext.
    pub fn from_setup(setup: &TlsSetup) -> Result<Option<ServerTls>, TlsError> {
        let (chain, key) = match setup {
            TlsSetup::Plaintext => return Ok(None),
            TlsSetup::SelfSigned => self_signed()?,
            TlsSetup::Files { cert, key } => {
                let pem_error = |path: &std::path::Path, e: &dyn std::fmt::Display| TlsError::Pem {
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
                (chain, PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, &e))?)
            }
        };
        let certificate = chain[0].clone();
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(ServerTls { config: Arc::new(config), certificate }))
    }

    /// `AB:CD:...`: the SHA-256 fingerprint of the leaf certificate.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.certificate)
    }
}

/// The SHA-256 fingerprint of a DER certificate, as colon-separated hex.
pub fn fingerprint(certificate: &[u8]) -> String {
    Sha256::digest(certificate).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

fn self_signed() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    Ok((vec![certified.cert.der().clone()], key))
}
