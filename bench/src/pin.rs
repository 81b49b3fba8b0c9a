//! CPU affinity: which cores the server child, the load generator and the
//! local database may run on, so that CPU per operation of the server is read
//! with the server on a known number of cores.

use anyhow::{Context, Result};
use specserve_runtime::server::affinity;

/// The cores this process was allowed when first asked (ask before placing
/// anything): the machine the layouts divide.
pub fn allowed() -> Vec<usize> {
    static AT_START: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    AT_START.get_or_init(current).clone()
}

/// The cores this process may run on now (all of them where that cannot be read).
fn current() -> Vec<usize> {
    affinity::allowed().unwrap_or_else(|_| (0..std::thread::available_parallelism().map_or(1, usize::from)).collect())
}

/// Restricts thread or process `tid` (0: the calling thread) to `cores`.
/// Threads created afterwards inherit it; runtimes size themselves by it.
pub fn set(tid: i32, cores: &[usize]) -> Result<()> {
    affinity::restrict(tid, cores).with_context(|| format!("sched_setaffinity({tid}, {cores:?})"))
}

/// Restricts every thread of process `pid` (a running database server) to `cores`.
pub fn set_process(pid: u32, cores: &[usize]) -> Result<()> {
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))?.flatten() {
        if let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) {
            // A thread may end between the listing and the call.
            let _ = set(tid, cores);
        }
    }
    Ok(())
}

/// Parses `0,1` or `2-5` or a mix.
pub fn parse(list: &str) -> Result<Vec<usize>, String> {
    let mut cores = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to): (usize, usize) = (
                    from.parse().map_err(|e| format!("{part}: {e}"))?,
                    to.parse().map_err(|e| format!("{part}: {e}"))?,
                );
                cores.extend(from..=to);
            }
            None => cores.push(part.parse().map_err(|e| format!("{part}: {e}"))?),
        }
    }
    if cores.is_empty() {
        return Err("no cores listed".into());
    }
    Ok(cores)
}

/// Where each party runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Layout {
    /// The server child's cores.
    pub server: Vec<usize>,
    /// The load generator's and the local database's cores.
    pub others: Vec<usize>,
    /// Whether the others are apart from the server (false when the machine
    /// has no core left over).
    pub separated: bool,
}

impl Layout {
    /// The server on the first `n` allowed cores and everything else on the
    /// rest, or on all of them when none are left.
    pub fn server_on(n: usize) -> Layout {
        let all = allowed();
        let n = n.clamp(1, all.len());
        let (server, rest) = all.split_at(n);
        let separated = !rest.is_empty();
        Layout { server: server.to_vec(), others: if separated { rest.to_vec() } else { all.clone() }, separated }
    }

    /// `server 0 / load+db 1` or `server 0,1 / load+db 0,1 (shared)`.
    pub fn describe(&self) -> String {
        let list = |cores: &[usize]| cores.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        format!(
            "server {} / load+db {}{}",
            list(&self.server),
            list(&self.others),
            if self.separated { "" } else { " (shared)" }
        )
    }

    /// The argument that pins a child.
    pub fn server_arg(&self) -> String {
        self.server.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
    }
}
