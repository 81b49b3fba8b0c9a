//! Turning SIGTERM and ctrl-c into the server's graceful shutdown.

use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGTERM or ctrl-c. The handlers are
/// registered before this returns, so a signal sent as soon as the caller
/// says it listens drains the server instead of ending the process with the
/// signal's default action.
pub fn on_signal(token: CancellationToken) {
    let signals = Signals::register();
    tokio::spawn(async move {
        signals.first().await;
        tracing::info!("shutdown requested: no new connections, answering in-flight frames");
        token.cancel();
    });
}

/// SIGTERM and SIGINT, registered.
#[cfg(unix)]
struct Signals {
    term: std::io::Result<tokio::signal::unix::Signal>,
    interrupt: std::io::Result<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    fn register() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals { term: signal(SignalKind::terminate()), interrupt: signal(SignalKind::interrupt()) }
    }

    async fn first(self) {
        match (self.term, self.interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            (Ok(mut term), Err(_)) => {
                term.recv().await;
            }
            (Err(_), Ok(mut interrupt)) => {
                interrupt.recv().await;
            }
            (Err(_), Err(_)) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Ctrl-c, where there are no Unix signals.
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn register() -> Signals {
        Signals
    }

    async fn first(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
