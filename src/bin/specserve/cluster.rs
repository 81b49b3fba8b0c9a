//! The cluster's flags (`serve --cluster-*`) and `specserve cluster keygen`.
//!
//! Secrets never come from argv, where every user of the machine can read
//! them: flags name files, and environment variables may hold the values
//! (`SPECSERVE_CLUSTER_KEY`, `SPECSERVE_CLUSTER_PASSWORD`,
//! `SPECSERVE_CLUSTER_TOKEN`). A password in `--cluster-url` works (as NATS
//! URLs allow) but draws a warning unless the URL came from the environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use specserve::cluster::nats::{NatsAuth, NatsConfig, NatsTls};
use specserve::cluster::{ClusterConfig, REPLAY_WINDOW};
use specserve::security::secret::Secret;

use crate::Outcome;

/// How this node joins a cluster.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Cluster (several nodes on NATS)")]
pub struct ClusterArgs {
    /// NATS servers the nodes of a cluster share, comma-separated
    /// (nats://host:4222, tls://host:4222): events and revocations cross
    /// nodes. Without it this process is the whole cluster.
    #[arg(long, env = "SPECSERVE_CLUSTER_URL", hide_env_values = true)]
    pub cluster_url: Option<String>,
    /// Subject prefix on NATS: nodes with the same prefix and key are one cluster.
    #[arg(long, env = "SPECSERVE_CLUSTER_SUBJECT", default_value = "specserve")]
    pub cluster_subject: String,
    /// The cluster key (from `specserve cluster keygen`) every node seals the
    /// bus's messages with; or its value in SPECSERVE_CLUSTER_KEY. Required with --cluster-url.
    #[arg(long, env = "SPECSERVE_CLUSTER_KEY_FILE")]
    pub cluster_key_file: Option<PathBuf>,
    /// How old a bus message may be before it counts as a replay (keep the
    /// nodes' clocks in sync) [default: 30s].
    #[arg(long, env = "SPECSERVE_CLUSTER_REPLAY_WINDOW", value_parser = humantime::parse_duration)]
    pub cluster_replay_window: Option<Duration>,
    /// NATS user; the password comes from --cluster-password-file or SPECSERVE_CLUSTER_PASSWORD.
    #[arg(long, env = "SPECSERVE_CLUSTER_USER")]
    pub cluster_user: Option<String>,
    /// File holding the NATS user's password.
    #[arg(long, env = "SPECSERVE_CLUSTER_PASSWORD_FILE")]
    pub cluster_password_file: Option<PathBuf>,
    /// File holding a NATS token (or its value in SPECSERVE_CLUSTER_TOKEN).
    #[arg(long, env = "SPECSERVE_CLUSTER_TOKEN_FILE")]
    pub cluster_token_file: Option<PathBuf>,
    /// File holding a NATS user NKey seed (SU...).
    #[arg(long, env = "SPECSERVE_CLUSTER_NKEY_FILE")]
    pub cluster_nkey_file: Option<PathBuf>,
    /// NATS credentials file (user JWT and seed, as `nsc` writes), for operator mode.
    #[arg(long, env = "SPECSERVE_CLUSTER_CREDS_FILE")]
    pub cluster_creds_file: Option<PathBuf>,
    /// Require TLS to NATS (implied by tls:// URLs and the TLS files below).
    #[arg(long, env = "SPECSERVE_CLUSTER_TLS")]
    pub cluster_tls: bool,
    /// CA certificate (PEM) that signed the NATS servers' certificates.
    #[arg(long, env = "SPECSERVE_CLUSTER_TLS_CA_FILE")]
    pub cluster_tls_ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for NATS servers that verify clients (mTLS); with --cluster-tls-key-file.
    #[arg(long, env = "SPECSERVE_CLUSTER_TLS_CERT_FILE", requires = "cluster_tls_key_file")]
    pub cluster_tls_cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, env = "SPECSERVE_CLUSTER_TLS_KEY_FILE", requires = "cluster_tls_cert_file")]
    pub cluster_tls_key_file: Option<PathBuf>,
}

impl ClusterArgs {
    /// The cluster this node joins, if any: every setting checked, every
    /// secret read, before anything starts.
    pub fn config(&self) -> anyhow::Result<Option<ClusterConfig>> {
        let Some(urls) = &self.cluster_url else { return Ok(None) };
        if self.cluster_subject.trim().is_empty() {
            bail!("--cluster-subject needs a name");
        }
        let (servers, in_url) = NatsConfig::parse_servers(urls)?;
        if matches!(in_url, NatsAuth::UserPassword { .. })
            && std::env::var("SPECSERVE_CLUSTER_URL").ok().as_deref() != Some(urls.as_str())
        {
            tracing::warn!(
                "--cluster-url carries a password, which every user of this machine can read in the process list: \
                 use --cluster-user with --cluster-password-file, or SPECSERVE_CLUSTER_URL"
            );
        }
        let key = Secret::from_file_or_env(self.cluster_key_file.as_deref(), "SPECSERVE_CLUSTER_KEY")?.ok_or_else(|| {
            anyhow!(
                "--cluster-url needs a cluster key: --cluster-key-file FILE (or SPECSERVE_CLUSTER_KEY), the same on \
                 every node; make one with `specserve cluster keygen --out FILE`"
            )
        })?;
        let auth = self.auth(in_url)?;
        let client = self.cluster_tls_cert_file.clone().zip(self.cluster_tls_key_file.clone());
        let tls = NatsTls {
            required: self.cluster_tls
                || self.cluster_tls_ca_file.is_some()
                || client.is_some()
                || servers.iter().any(|s| s.tls_required()),
            ca_file: self.cluster_tls_ca_file.clone(),
            client,
        };
        let nats = NatsConfig { servers, auth, tls };
        nats.check()?;
        Ok(Some(ClusterConfig {
            nats,
            subject: self.cluster_subject.clone(),
            key,
            replay_window: self.cluster_replay_window.unwrap_or(REPLAY_WINDOW),
        }))
    }

    /// The one credential given (flags, environment, or the URL's).
    fn auth(&self, in_url: NatsAuth) -> anyhow::Result<NatsAuth> {
        let password = secret_text(self.cluster_password_file.as_deref(), "SPECSERVE_CLUSTER_PASSWORD")?;
        let token = secret_text(self.cluster_token_file.as_deref(), "SPECSERVE_CLUSTER_TOKEN")?;
        let nkey = secret_text(self.cluster_nkey_file.as_deref(), "")?;
        // Read whole: the file's own line structure is its format.
        let creds = match &self.cluster_creds_file {
            Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?),
            None => None,
        };
        let mut given = Vec::new();
        match (&self.cluster_user, password) {
            (Some(user), Some(password)) => given.push(NatsAuth::UserPassword { user: user.clone(), password }),
            (Some(_), None) => bail!("--cluster-user needs --cluster-password-file (or SPECSERVE_CLUSTER_PASSWORD)"),
            (None, Some(_)) => bail!("a NATS password needs --cluster-user"),
            (None, None) => {}
        }
        given.extend(token.map(NatsAuth::Token));
        given.extend(nkey.map(|seed| NatsAuth::NKey(seed.trim().to_owned())));
        given.extend(creds.map(NatsAuth::Credentials));
        if !matches!(in_url, NatsAuth::None) {
            given.push(in_url);
        }
        match given.len() {
            0 => Ok(NatsAuth::None),
            1 => Ok(given.remove(0)),
            _ => bail!(
                "give NATS one credential, not {}: {}",
                given.len(),
                given.iter().map(NatsAuth::kind).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// A secret's text from `file`, else from the environment variable `env`.
fn secret_text(file: Option<&Path>, env: &str) -> anyhow::Result<Option<String>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if text.trim().is_empty() {
            bail!("{} is empty", path.display());
        }
        return Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned()));
    }
    Ok(std::env::var(env).ok().filter(|value| !env.is_empty() && !value.is_empty()))
}

/// `specserve cluster ...`.
#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Write a new cluster key (32 random bytes, base64) to a new file only
    /// its owner may read; give the same file to every node (--cluster-key-file).
    Keygen {
        /// The file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs a `cluster` command.
pub fn run(command: ClusterCommand) -> anyhow::Result<Outcome> {
    let ClusterCommand::Keygen { out } = command;
    Secret::generate()?.write_new(&out)?;
    println!("wrote a new cluster key to {} (mode 600); give every node this file: --cluster-key-file", out.display());
    Ok(Outcome::Passed)
}
