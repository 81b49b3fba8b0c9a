//! nats-server processes of a test's own, on ports of their own: open (as
//! anyone reaching NATS sees it), secured as README's "Securing the cluster"
//! says (`deploy/nats/cluster.conf`: TLS with client certificates, users
//! limited to the cluster's subjects), with a token, or in operator (JWT) mode.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// The README's nats-server configuration, as the tests run it.
pub const CLUSTER_CONF: &str = include_str!("../../deploy/nats/cluster.conf");

/// A nats-server of a test's own.
pub struct Nats {
    child: Child,
    /// Its port.
    pub port: u16,
    config: Option<PathBuf>,
    env: Vec<(String, String)>,
}

impl Nats {
    /// An open server (no authorization) on `port`; `None` when nats-server
    /// is not installed.
    pub fn start(port: u16) -> Option<Nats> {
        Nats::start_with(port, None, &[])
    }

    /// A server on `port` reading the configuration `config` (written to a
    /// file of its own) with `env` in its environment.
    pub fn start_with(port: u16, config: Option<&str>, env: &[(&str, &str)]) -> Option<Nats> {
        let config = config.map(|text| {
            let path = scratch_dir().join(format!("nats-{port}.conf"));
            std::fs::write(&path, text).unwrap();
            path
        });
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Nats::spawn(port, config, env)
    }

    fn spawn(port: u16, config: Option<PathBuf>, env: Vec<(String, String)>) -> Option<Nats> {
        let mut command = Command::new("nats-server");
        if let Some(path) = &config {
            command.arg("-c").arg(path);
        }
        command.args(["-a", "127.0.0.1", "-p", &port.to_string()]).envs(env.iter().cloned());
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().ok()?;
        let mut nats = Nats { child, port, config, env };
        // Ready when it accepts connections; a configuration it refuses ends it.
        for _ in 0..500 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(nats);
            }
            if let Ok(Some(status)) = nats.child.try_wait() {
                panic!("nats-server refused its configuration ({status}): {:?}", nats.config);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("nats-server did not listen on {port}");
    }

    /// A free port for a server.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it; the same server can be started again with [`Nats::restart`].
    pub fn stop(mut self) -> Stopped {
        let _ = self.child.kill();
        let _ = self.child.wait();
        Stopped { port: self.port, config: self.config.take(), env: std::mem::take(&mut self.env) }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stopped server, to start again on its port.
pub struct Stopped {
    port: u16,
    config: Option<PathBuf>,
    env: Vec<(String, String)>,
}

impl Stopped {
    /// Starts it again on the same port with the same configuration.
    pub fn restart(self) -> Nats {
        Nats::spawn(self.port, self.config, self.env).expect("nats-server restarts")
    }

    /// Starts it again on the same port, with `changed` in its environment
    /// (a password the operator changed, say).
    pub fn restart_with(mut self, changed: &[(&str, &str)]) -> Nats {
        for (key, value) in changed {
            self.env.retain(|(k, _)| k != key);
            self.env.push(((*key).to_owned(), (*value).to_owned()));
        }
        self.restart()
    }
}

/// A directory of this test process's own for configurations, keys and certificates.
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("specserve-nats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `text` to a new file in the scratch directory, owner-only; its path.
pub fn secret_file(name: &str, text: &str) -> String {
    let path = scratch_dir().join(name);
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path.to_string_lossy().into_owned()
}

/// A CA, a server certificate for 127.0.0.1 signed by it, and a client
/// certificate signed by it: what TLS with client certificates needs.
pub struct Pki {
    /// The CA's certificate.
    pub ca: String,
    /// The server's certificate and key.
    pub server: (String, String),
    /// A node's client certificate and key.
    pub client: (String, String),
}

impl Pki {
    /// New certificates in the scratch directory, named after `name`.
    pub fn new(name: &str) -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let dir = scratch_dir();
        let write = |file: &str, text: String| {
            let path = dir.join(format!("{name}-{file}"));
            std::fs::write(&path, text).unwrap();
            path.to_string_lossy().into_owned()
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |names: Vec<String>, purpose: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(names).unwrap();
            params.extended_key_usages = vec![purpose];
            let cert = params.signed_by(&key, &issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) =
            leaf(vec!["127.0.0.1".into(), "localhost".into()], ExtendedKeyUsagePurpose::ServerAuth);
        let (client_cert, client_key) = leaf(vec!["specserve-node".into()], ExtendedKeyUsagePurpose::ClientAuth);
        Pki {
            ca: write("ca.pem", ca_cert.pem()),
            server: (write("server.pem", server_cert), write("server-key.pem", server_key)),
            client: (write("client.pem", client_cert), write("client-key.pem", client_key)),
        }
    }
}

/// A NATS server in operator (decentralized JWT) mode: its configuration,
/// and a user's credentials file (what `nsc` would write).
pub struct OperatorMode {
    /// The server's configuration.
    pub config: String,
    /// The path of a user's `.creds` file.
    pub creds_file: String,
}

impl OperatorMode {
    /// An operator, an account it signs, and a user of that account.
    pub fn new() -> OperatorMode {
        let operator = nkeys::KeyPair::new_operator();
        let account = nkeys::KeyPair::new_account();
        let user = nkeys::KeyPair::new_user();
        let operator_jwt = jwt(&operator, &operator.public_key(), json!({"type": "operator", "version": 2}));
        let unlimited = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                               "wildcards": true, "conn": -1, "leaf": -1});
        let account_jwt =
            jwt(&operator, &account.public_key(), json!({"type": "account", "version": 2, "limits": unlimited}));
        let user_jwt = jwt(
            &account,
            &user.public_key(),
            json!({"type": "user", "version": 2, "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}),
        );
        let config = format!(
            "operator: {operator_jwt}\nresolver: MEMORY\nresolver_preload: {{\n  {}: {account_jwt}\n}}\n",
            account.public_key()
        );
        let creds = format!(
            "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
            user.seed().unwrap()
        );
        OperatorMode { config, creds_file: secret_file("user.creds", &creds) }
    }
}

/// A NATS JWT: `claims.nats` = `nats`, issued by `issuer` for `subject`.
fn jwt(issuer: &nkeys::KeyPair, subject: &str, nats: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": "ed25519-nkey"}).to_string());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({"jti": format!("T{now}{}", subject.len()), "iat": now, "iss": issuer.public_key(),
                        "name": "specserve-test", "sub": subject, "nats": nats});
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = issuer.sign(format!("{header}.{body}").as_bytes()).unwrap();
    format!("{header}.{body}.{}", URL_SAFE_NO_PAD.encode(signature))
}
