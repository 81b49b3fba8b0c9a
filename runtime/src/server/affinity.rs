//! Which cores a process may run on, and keeping a thread on some of them
//! (`sched_getaffinity` / `sched_setaffinity`): how pinned per-core workers
//! ([`Workers::PerCore`](super::Workers::PerCore)) stay on their cores, and
//! how the bench places a server apart from its load.

use std::io;

/// The cores this process may run on now (its affinity mask, which
/// `taskset` and cgroup cpusets set), in ascending order.
#[cfg(target_os = "linux")]
pub fn allowed() -> io::Result<Vec<usize>> {
    // SAFETY: `set` is a plain bitmask that sched_getaffinity fills in.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((0..libc::CPU_SETSIZE as usize).filter(|core| libc::CPU_ISSET(*core, &set)).collect())
    }
}

/// No affinity on this OS.
#[cfg(not(target_os = "linux"))]
pub fn allowed() -> io::Result<Vec<usize>> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Restricts thread `tid` (0: the calling thread) to `cores`. Threads it
/// starts afterwards inherit the restriction.
#[cfg(target_os = "linux")]
pub fn restrict(tid: i32, cores: &[usize]) -> io::Result<()> {
    // SAFETY: as above; CPU_SET only writes bits of `set` below CPU_SETSIZE.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for core in cores.iter().filter(|core| **core < libc::CPU_SETSIZE as usize) {
            libc::CPU_SET(*core, &mut set);
        }
        libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// No affinity on this OS.
#[cfg(not(target_os = "linux"))]
pub fn restrict(_tid: i32, _cores: &[usize]) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}
