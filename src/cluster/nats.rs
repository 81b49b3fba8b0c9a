//! How a node reaches NATS: the servers, the credentials and TLS, as the
//! operator gives them (flags naming files, environment variables, the
//! URL's `user:password@`), never a secret on the command line.
//!
//! A server that refuses the credentials, or whose certificate does not
//! verify, stops the node at start with the reason: that is a
//! misconfiguration, not an outage. A server that is down at start is an
//! outage: the node serves and connects when it can. Credentials refused
//! later (the NATS configuration changed under a running node) are logged
//! once and reported by `/readyz` until a connection succeeds again.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::{ClientError, ConnectErrorKind, ConnectOptions, Event, ServerAddr, ServerError};

use super::ClusterError;

/// How the node proves who it is to NATS.
#[derive(Clone, Default)]
pub enum NatsAuth {
    /// Nothing (a NATS server without authorization).
    #[default]
    None,
    /// A user and password (`--cluster-user` and `--cluster-password-file`,
    /// or the URL's `user:password@`).
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// A token (`--cluster-token-file`, or a URL's user part alone).
    Token(String),
    /// An NKey seed (`--cluster-nkey-file`): the server knows the public key.
    NKey(String),
    /// A credentials file's contents (`--cluster-creds-file`): a user JWT and
    /// its NKey seed, for a NATS server in operator (decentralized) mode.
    Credentials(String),
}

impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl NatsAuth {
    /// What kind of credential it is, for logs (never the secret).
    pub fn kind(&self) -> &'static str {
        match self {
            NatsAuth::None => "none",
            NatsAuth::UserPassword { .. } => "user and password",
            NatsAuth::Token(_) => "token",
            NatsAuth::NKey(_) => "nkey",
            NatsAuth::Credentials(_) => "credentials file",
        }
    }
}

/// TLS to NATS.
#[derive(Debug, Clone, Default)]
pub struct NatsTls {
    /// Refuse a server that does not speak TLS (implied by a `tls://` URL, a CA or a client certificate).
    pub required: bool,
    /// The CA that signed the server's certificate (PEM), besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// A client certificate and its key (PEM), for servers that verify clients (mTLS).
    pub client: Option<(PathBuf, PathBuf)>,
}

/// Where NATS is and how to reach it.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// The servers, without credentials.
    pub servers: Vec<ServerAddr>,
    /// The credential.
    pub auth: NatsAuth,
    /// TLS settings.
    pub tls: NatsTls,
}

impl NatsConfig {
    /// The servers in `urls` (comma-separated), and the credential one of them
    /// carries as `user:password@` (or `token@`), taken out of the URL so it is
    /// never logged. Servers that disagree on it are refused.
    pub fn parse_servers(urls: &str) -> Result<(Vec<ServerAddr>, NatsAuth), ClusterError> {
        let mut servers = Vec::new();
        let mut auth = NatsAuth::None;
        for url in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            let address: ServerAddr = url.parse().map_err(|e| ClusterError::Url(format!("{e}")))?;
            let in_url = match (address.username(), address.password()) {
                (Some(user), Some(password)) => {
                    NatsAuth::UserPassword { user: decode(user), password: decode(password) }
                }
                (Some(token), None) => NatsAuth::Token(decode(token)),
                _ => NatsAuth::None,
            };
            match (&auth, &in_url) {
                (_, NatsAuth::None) => {}
                (NatsAuth::None, _) => auth = in_url,
                (NatsAuth::UserPassword { user: a, password: p }, NatsAuth::UserPassword { user: b, password: q })
                    if a == b && p == q => {}
                (NatsAuth::Token(a), NatsAuth::Token(b)) if a == b => {}
                _ => return Err(ClusterError::Url("the servers' URLs carry different credentials".into())),
            }
            let mut bare = address.into_inner();
            // Only URLs with a host can carry credentials, so these cannot fail.
            let _ = bare.set_username("");
            let _ = bare.set_password(None);
            servers.push(ServerAddr::from_url(bare).map_err(|e| ClusterError::Url(e.to_string()))?);
        }
        if servers.is_empty() || servers.iter().any(|s| s.host().is_empty()) {
            return Err(ClusterError::Url("needs a NATS server (nats://host:4222)".into()));
        }
        Ok((servers, auth))
    }

    /// The client options for these settings, reporting connection changes to `link`.
    fn options(&self, name: String, link: Arc<LinkState>) -> ConnectOptions {
        let options = match &self.auth {
            NatsAuth::None => ConnectOptions::new(),
            NatsAuth::UserPassword { user, password } => {
                ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            NatsAuth::Token(token) => ConnectOptions::with_token(token.clone()),
            NatsAuth::NKey(seed) => ConnectOptions::with_nkey(seed.clone()),
            // Checked when the file was read (`check`).
            NatsAuth::Credentials(creds) => ConnectOptions::with_credentials(creds).unwrap_or_default(),
        };
        let mut options = options
            .name(name)
            // A node has no use for its own publishes: without this NATS
            // sends each one back too, doubling the bus's deliveries.
            .no_echo()
            .max_reconnects(None)
            // Quick to come back after a NATS restart, never a tight loop.
            .reconnect_delay_callback(|attempts| Duration::from_millis((100 * attempts as u64).min(1_000)))
            .event_callback(move |event| {
                let link = Arc::clone(&link);
                async move { link.heard(event) }
            });
        if self.tls.required {
            options = options.require_tls(true);
        }
        if let Some(ca) = &self.tls.ca_file {
            options = options.add_root_certificates(ca.clone());
        }
        if let Some((cert, key)) = &self.tls.client {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        options
    }

    /// Refuses settings that cannot work before anything connects: a
    /// credentials file that is not one, TLS files that are missing.
    pub fn check(&self) -> Result<(), ClusterError> {
        if let NatsAuth::Credentials(creds) = &self.auth {
            ConnectOptions::with_credentials(creds)
                .map_err(|e| ClusterError::Config(format!("--cluster-creds-file: {e}")))?;
        }
        if let NatsAuth::NKey(seed) = &self.auth
            && !seed.trim().starts_with("SU")
        {
            return Err(ClusterError::Config("--cluster-nkey-file: not a user NKey seed (it starts with SU)".into()));
        }
        let files = self.tls.ca_file.iter().chain(self.tls.client.iter().flat_map(|(c, k)| [c, k]));
        for file in files {
            if !file.is_file() {
                return Err(ClusterError::Config(format!("{}: no such file", file.display())));
            }
        }
        Ok(())
    }

    /// Connects. A server that answers and refuses this node (credentials,
    /// TLS) is an error now; servers that do not answer are tried again in
    /// the background while the node serves.
    pub async fn connect(&self, name: String, link: Arc<LinkState>) -> Result<async_nats::Client, ClusterError> {
        match self.options(name.clone(), Arc::clone(&link)).connect(self.servers.clone()).await {
            Ok(client) => Ok(client),
            Err(error) => match error.kind() {
                ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => {
                    Err(ClusterError::Refused(format!(
                        "NATS refused this node's credentials ({}): check --cluster-user/--cluster-password-file, \
                         --cluster-token-file, --cluster-nkey-file or --cluster-creds-file",
                        self.auth.kind()
                    )))
                }
                _ if tls_failure(&error).is_some() || error.kind() == ConnectErrorKind::Tls => {
                    let why = tls_failure(&error).map_or_else(|| error.to_string(), |e| e.to_string());
                    Err(ClusterError::Refused(format!(
                        "TLS to NATS failed ({why}): check --cluster-tls-ca-file and --cluster-tls-cert-file"
                    )))
                }
                _ => {
                    tracing::warn!(%error, "NATS is unreachable at start: serving, and joining the cluster when it answers");
                    self.options(name, link)
                        .retry_on_initial_connect()
                        .connect(self.servers.clone())
                        .await
                        .map_err(|e| ClusterError::Url(e.to_string()))
                }
            },
        }
    }
}

/// The TLS error under a connection error, if TLS is what failed (the
/// client reports it as I/O): a certificate nobody vouches for, or a server
/// that did not take ours.
fn tls_failure<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cause = error.source();
    while let Some(error) = cause {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = error.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        cause = match inner {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

/// A URL's user or password part, percent-decoded.
fn decode(part: &str) -> String {
    percent_encoding::percent_decode_str(part).decode_utf8_lossy().into_owned()
}

/// What the NATS client said last about its connection: whether NATS
/// refuses this node's credentials now. Each change is logged once.
#[derive(Debug, Default)]
pub struct LinkState {
    refused: AtomicBool,
    disconnected: AtomicBool,
}

impl LinkState {
    /// Whether NATS refused this node's credentials since it last connected.
    pub fn refused(&self) -> bool {
        self.refused.load(Ordering::Relaxed)
    }

    /// NATS refuses the node's credentials: logged once, until a connection succeeds.
    fn refusing(&self) {
        if !self.refused.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "NATS refuses this node's credentials: the node is cut off from the cluster until they are fixed"
            );
        }
    }

    fn heard(&self, event: Event) {
        match event {
            Event::Connected => {
                self.refused.store(false, Ordering::Relaxed);
                if self.disconnected.swap(false, Ordering::Relaxed) {
                    tracing::info!("cluster bus reconnected");
                }
            }
            Event::Disconnected if !self.disconnected.swap(true, Ordering::Relaxed) => {
                tracing::warn!("cluster bus disconnected: events reach this node's connections only until it is back");
            }
            // A live connection's violation comes as a server error; a
            // reconnect's as the client's error with the kind's text.
            Event::ServerError(ServerError::AuthorizationViolation) => self.refusing(),
            Event::ClientError(ClientError::Other(kind))
                if kind == ConnectErrorKind::AuthorizationViolation.to_string()
                    || kind == ConnectErrorKind::Authentication.to_string() =>
            {
                self.refusing()
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_taken_out_and_must_agree() {
        let (servers, auth) =
            NatsConfig::parse_servers("nats://node:p%40ss@127.0.0.1:4222, nats://node:p%40ss@127.0.0.1:4223").unwrap();
        assert_eq!(servers.len(), 2);
        assert!(servers.iter().all(|s| !s.has_user_pass() && !s.as_url_str().contains("p%40ss")), "{servers:?}");
        assert!(
            matches!(&auth, NatsAuth::UserPassword { user, password } if user == "node" && password == "p@ss"),
            "{auth:?}"
        );
        let (_, token) = NatsConfig::parse_servers("nats://s3cr3t@127.0.0.1:4222").unwrap();
        assert!(matches!(&token, NatsAuth::Token(t) if t == "s3cr3t"));
        assert_eq!(format!("{token:?}"), "token", "Debug names the kind, never the secret");
        let error = NatsConfig::parse_servers("nats://a:b@h:1,nats://a:c@h:2").unwrap_err();
        assert!(error.to_string().contains("different credentials"), "{error}");
        for bad in ["", " , ", "nats://", "http://127.0.0.1:4222"] {
            assert!(NatsConfig::parse_servers(bad).is_err(), "{bad:?}");
        }
    }
}
