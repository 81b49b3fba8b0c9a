//! Which threads serve connections.
//!
//! By default the runtime that calls [`Server::start`](super::Server::start)
//! does: with tokio's multi-threaded runtime, a work-stealing pool where a
//! connection's task may run on any worker, and a socket's readiness, a
//! database reply or a pushed event often wakes it on another thread than the
//! one that last ran it. [`Workers::PerCore`] is the other shape: one
//! single-threaded runtime per worker thread, each accepting on a listener of
//! its own bound to the same port with `SO_REUSEPORT` (the kernel spreads
//! connections over them), so that a connection, its requests and the
//! database connections they use stay on one thread. That is how actix-web
//! and the fastest TechEmpower entries serve; what it saves here is measured
//! by the bench's `sharded` scenario. Server push still reaches every
//! connection: the hub is shared, and an event for another worker's
//! connection wakes that worker.
//!
//! Pinned ([`Workers::PerCore`] with `pinned`), each worker thread runs on one
//! core of those the process may use (its affinity mask at start, so
//! `taskset` and cgroup cpusets choose which), and threads it starts inherit
//! that core: notably sqlx's SQLite connection threads, so that handing a
//! statement to one and its rows back stays on the core. Opt-in, because two
//! pinned servers on one machine would pin to the same cores unless each is
//! given its own with `taskset`.

use std::cell::Cell;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::{Shared, affinity, listener};
use crate::service::Service;

/// Which threads serve connections (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Workers {
    /// The runtime that starts the server.
    #[default]
    Caller,
    /// `count` threads of their own, each with a single-threaded runtime
    /// and its own listener on the shared port (Unix only); if `pinned`,
    /// each on a core of its own (Linux only; at most one worker per core).
    PerCore {
        /// How many worker threads.
        count: NonZeroUsize,
        /// Whether each stays on one core.
        pinned: bool,
    },
}

impl Workers {
    /// How many accept loops serve: the per-core workers, or 1 on the caller's runtime.
    pub fn accept_loops(self) -> usize {
        match self {
            Workers::Caller => 1,
            Workers::PerCore { count, .. } => count.get(),
        }
    }
}

/// Why per-core workers could not be pinned.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// More pinned workers than cores the process may run on.
    #[error("{workers} pinned workers need a core each, but this process may run on {} ({cores:?})", cores.len())]
    TooFewCores {
        /// Workers asked for.
        workers: usize,
        /// The cores the process may run on.
        cores: Vec<usize>,
    },
    /// The OS would not say which cores the process may run on.
    #[error("cannot read which cores this process may run on: {0}")]
    Cores(std::io::Error),
    /// The OS refused to keep a worker on its core.
    #[error("cannot pin worker {worker} to core {core}: {source}")]
    Affinity {
        /// The worker.
        worker: usize,
        /// The core it was to run on.
        core: usize,
        /// The OS error.
        source: std::io::Error,
    },
    /// No thread affinity on this OS.
    #[error("pinning workers to cores is supported on Linux only")]
    Unsupported,
}

/// One of a per-core server's worker threads: resources kept per worker (the
/// store's database connections, whose sockets belong to the runtime that
/// opened them) are chosen by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Worker {
    /// This worker, from 0.
    pub index: usize,
    /// How many workers the server runs.
    pub count: usize,
}

thread_local! {
    static CURRENT: Cell<Option<Worker>> = const { Cell::new(None) };
}

impl Worker {
    /// The worker this thread is; `None` on any thread a per-core server did
    /// not start (the caller's runtime, blocking threads, tests).
    pub fn current() -> Option<Worker> {
        CURRENT.with(Cell::get)
    }

    /// Marks this thread as `worker` (or as none). The server does it on its
    /// worker threads; tests and benchmarks that build their own runtimes may too.
    pub fn set_current(worker: Option<Worker>) {
        CURRENT.with(|current| current.set(worker));
    }
}

/// A worker that is serving: its listener is bound, and `stopped` reports
/// whether its connections drained in time once it stops.
pub(super) struct Running {
    pub local_addr: SocketAddr,
    pub stopped: oneshot::Receiver<bool>,
}

/// Why a worker could not start.
#[derive(Debug)]
pub(super) enum WorkerError {
    /// Its listener (or its thread or runtime).
    Io(std::io::Error),
    /// Its core.
    Pin(PinError),
}

/// Starts `count` worker threads on `addr` and returns once each one listens.
/// The first binds `addr` (port 0 picks a port); the others bind the port it
/// got. If one cannot start, those already started are stopped.
pub(super) async fn start<S: Service>(
    count: NonZeroUsize,
    pinned: bool,
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    shared: &Arc<Shared<S>>,
    shutdown: &CancellationToken,
) -> Result<Vec<Running>, WorkerError> {
    let count = count.get();
    let cores = if pinned { Some(cores_for(count).map_err(WorkerError::Pin)?) } else { None };
    let mut running: Vec<Running> = Vec::with_capacity(count);
    for index in 0..count {
        let addr = running.first().map_or(addr, |first| first.local_addr);
        let worker = Worker { index, count };
        let core = cores.as_ref().map(|cores| cores[index]);
        match spawn(worker, core, addr, tls.clone(), Arc::clone(shared), shutdown.clone()).await {
            Ok(worker) => running.push(worker),
            Err(error) => {
                shutdown.cancel();
                for worker in running {
                    let _ = worker.stopped.await;
                }
                return Err(error);
            }
        }
    }
    Ok(running)
}

/// One worker thread, on `core` if given: a single-threaded runtime that
/// binds, reports its address, accepts until shutdown and drains.
async fn spawn<S: Service>(
    worker: Worker,
    core: Option<usize>,
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    shared: Arc<Shared<S>>,
    shutdown: CancellationToken,
) -> Result<Running, WorkerError> {
    let (bound_tx, bound_rx) = oneshot::channel::<Result<SocketAddr, WorkerError>>();
    let (stopped_tx, stopped) = oneshot::channel();
    let thread = std::thread::Builder::new().name(format!("specserve-worker-{}", worker.index)).spawn(move || {
        // First, so that every thread started from here on inherits the core.
        if let Some(core) = core
            && let Err(source) = affinity::restrict(0, &[core])
        {
            let _ = bound_tx.send(Err(WorkerError::Pin(PinError::Affinity { worker: worker.index, core, source })));
            return;
        }
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = bound_tx.send(Err(WorkerError::Io(error)));
                return;
            }
        };
        Worker::set_current(Some(worker));
        runtime.block_on(async move {
            // Before the first accept: every connection here has its relay.
            tokio::spawn(shared.hub.relay_for(worker.index).run());
            let listener = match listener::bind(addr, true) {
                Ok(listener) => listener,
                Err(error) => {
                    let _ = bound_tx.send(Err(WorkerError::Io(error)));
                    return;
                }
            };
            let _ = bound_tx.send(listener.local_addr().map_err(WorkerError::Io));
            let drained = listener::accept_loop(listener, tls, shared, shutdown, worker.index).await;
            let _ = stopped_tx.send(drained);
        });
    });
    thread.map_err(WorkerError::Io)?;
    let ended = || WorkerError::Io(std::io::Error::other("a worker thread ended before it listened"));
    let local_addr = bound_rx.await.map_err(|_| ended())??;
    Ok(Running { local_addr, stopped })
}

/// The first `count` cores of those this process may run on.
fn cores_for(count: usize) -> Result<Vec<usize>, PinError> {
    let cores = affinity::allowed().map_err(|error| match error.kind() {
        std::io::ErrorKind::Unsupported => PinError::Unsupported,
        _ => PinError::Cores(error),
    })?;
    if cores.len() < count {
        return Err(PinError::TooFewCores { workers: count, cores });
    }
    Ok(cores[..count].to_vec())
}
