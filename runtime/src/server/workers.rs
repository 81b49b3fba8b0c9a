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

use std::cell::Cell;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::{Shared, listener};
use crate::service::Service;

/// Which threads serve connections (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Workers {
    /// The runtime that starts the server.
    #[default]
    Caller,
    /// This many threads of their own, each with a single-threaded runtime
    /// and its own listener on the shared port (Unix only).
    PerCore(NonZeroUsize),
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

/// Starts `count` worker threads on `addr` and returns once each one listens.
/// The first binds `addr` (port 0 picks a port); the others bind the port it
/// got. If one cannot start, those already started are stopped.
pub(super) async fn start<S: Service>(
    count: NonZeroUsize,
    addr: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    shared: &Arc<Shared<S>>,
    shutdown: &CancellationToken,
) -> std::io::Result<Vec<Running>> {
    let count = count.get();
    let mut running: Vec<Running> = Vec::with_capacity(count);
    for index in 0..count {
        let addr = running.first().map_or(addr, |first| first.local_addr);
        let worker = Worker { index, count };
        match spawn(worker, addr, acceptor.clone(), Arc::clone(shared), shutdown.clone()).await {
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

/// One worker thread: a single-threaded runtime that binds, reports its
/// address, accepts until shutdown and drains.
async fn spawn<S: Service>(
    worker: Worker,
    addr: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared<S>>,
    shutdown: CancellationToken,
) -> std::io::Result<Running> {
    let (bound_tx, bound_rx) = oneshot::channel::<std::io::Result<SocketAddr>>();
    let (stopped_tx, stopped) = oneshot::channel();
    std::thread::Builder::new().name(format!("specserve-worker-{}", worker.index)).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = bound_tx.send(Err(error));
                return;
            }
        };
        Worker::set_current(Some(worker));
        runtime.block_on(async move {
            let listener = match listener::bind(addr, true) {
                Ok(listener) => listener,
                Err(error) => {
                    let _ = bound_tx.send(Err(error));
                    return;
                }
            };
            let _ = bound_tx.send(listener.local_addr());
            let drained = listener::accept_loop(listener, acceptor, shared, shutdown, worker.index).await;
            let _ = stopped_tx.send(drained);
        });
    })?;
    let local_addr =
        bound_rx.await.map_err(|_| std::io::Error::other("a worker thread ended before it listened"))??;
    Ok(Running { local_addr, stopped })
}
