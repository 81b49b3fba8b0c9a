//! The audit log: one JSON object per line for every security-relevant event.
//! It records who, on whom, from where, and the outcome; never a password, hash
//! or token. Most lines come from the dispatcher, for the operations the spec
//! marks `x-specserve-audit`; handlers add the few events an operation's
//! outcome does not say (`token_issued`, `token_revoked`).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    event: &'a str,
    actor: Option<i64>,
    target: Option<i64>,
    ip: Option<IpAddr>,
    outcome: &'a str,
}

/// Where audit lines go.
pub struct AuditLog {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

impl AuditLog {
    /// Appends to the file at `path`, or writes to stdout for `-`.
    pub fn open(path: &Path) -> io::Result<AuditLog> {
        if path == Path::new("-") {
            return Ok(AuditLog::to_writer(io::stdout()));
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(AuditLog::to_writer(file))
    }

    /// Writes to any writer (tests capture it).
    pub fn to_writer(writer: impl Write + Send + 'static) -> AuditLog {
        AuditLog { out: Mutex::new(Box::new(writer)) }
    }

    /// Records one event: `event` is the operation's `x-specserve-audit` name
    /// (or one a handler records itself, like `token_issued`), `outcome` is
    /// `success` or the error code the client got.
    pub fn record(&self, event: &str, actor: Option<i64>, target: Option<i64>, ip: Option<IpAddr>, outcome: &str) {
        let time = time::OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
        let line = Line { time, event, actor, target, ip, outcome };
        if let Ok(mut text) = serde_json::to_string(&line) {
            text.push('\n');
            let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
            if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
                tracing::warn!("audit log write failed");
            }
        }
    }
}
