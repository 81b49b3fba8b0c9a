//! CPU affinity: which cores the server child, the load generator and the
//! local database may run on, so that CPU per operation of the server is read
//! with the server on a known number of cores.

use anyhow::{Result, bail};

/// The cores this process was allowed when first asked (ask before placing
/// anything): the machine the layouts divide.
pub fn allowed() -> Vec<usize> {
    static AT_START: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    AT_START.get_or_init(current).clone()
}

/// The cores this process may run on now.
fn current() -> Vec<usize> {
    // SAFETY: `set` is a plain bitmask that sched_getaffinity fills in.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..std::thread::available_parallelism().map_or(1, usize::from)).collect();
        }
        (0..libc::CPU_SETSIZE as usize).filter(|core| libc::CPU_ISSET(*core, &set)).collect()
    }
}

/// Restricts thread or process `tid` (0: the calling thread) to `cores`.
/// Threads created afterwards inherit it; runtimes size themselves by it.
pub fn set(tid: libc::pid_t, cores: &[usize]) -> Result<()> {
    // SAFETY: as above; CPU_SET only writes bits of `set` below CPU_SETSIZE.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for core in cores.iter().filter(|c| **c < libc::CPU_SETSIZE as usize) {
            libc::CPU_SET(*core, &mut set);
        }
        libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result != 0 {
        bail!("sched_setaffinity({tid}, {cores:?}): {}", std::io::Error::last_os_error());
    }
    Ok(())
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
