//! Accepting connections: TCP accept, the TLS handshake under its deadline, then
//! HTTP/1.1 (with upgrades) under the request-head deadline, until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{Shared, http, metrics, tls};
use crate::service::Service;

/// Accepts until shutdown, then waits for connections to drain. Returns whether
/// they drained within the deadline. `worker` is the accepting worker's index
/// (0 on the caller's runtime), for the per-worker accept counter.
pub(super) async fn accept_loop<Svc: Service>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shared: Arc<Shared<Svc>>,
    shutdown: CancellationToken,
    worker: usize,
) -> bool {
    loop {
        let (tcp, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        shared.metrics.accepted(worker);
        let (shared_for_conn, tls, shutdown) = (Arc::clone(&shared), tls.clone(), shutdown.clone());
        shared.tracker.spawn(async move {
            match tls {
                None => serve_http(tcp, peer, shared_for_conn, shutdown).await,
                Some(config) => {
                    let deadline = shared_for_conn.limits.tls_handshake_timeout;
                    match tokio::time::timeout(deadline, tls::stream::accept(tcp, config)).await {
                        Ok(Ok(stream)) => serve_http(stream, peer, shared_for_conn, shutdown).await,
                        Ok(Err(error)) => {
                            shared_for_conn.metrics.rejected(metrics::Rejection::Tls);
                            tracing::debug!(ip = %peer.ip(), %error, "TLS handshake failed");
                        }
                        Err(_) => {
                            shared_for_conn.metrics.rejected(metrics::Rejection::Tls);
                            tracing::debug!(ip = %peer.ip(), "TLS handshake timed out");
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    shared.tracker.close();
    let drained = tokio::time::timeout(shared.limits.shutdown_timeout, shared.tracker.wait()).await.is_ok();
    if !drained {
        tracing::warn!("shutdown deadline passed with connections still open");
    }
    drained
}

/// HTTP/1.1 on one (TLS or plain) stream, with a deadline for the request head.
async fn serve_http<Svc, S>(stream: S, peer: SocketAddr, shared: Arc<Shared<Svc>>, shutdown: CancellationToken)
where
    Svc: Service,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = http::service(Arc::clone(&shared), peer, shutdown.clone());
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(shared.limits.upgrade_timeout).max_buf_size(16 * 1024);
    let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(ip = %peer.ip(), %error, "http connection ended");
            }
        }
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// A listener on `addr`, sharing the port with other listeners when `reuse_port`.
pub(super) fn bind(addr: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    // What std's bind does too, so a restarted server gets its port back at once.
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(reuse_port)?;
    #[cfg(not(unix))]
    let _ = reuse_port;
    socket.bind(addr)?;
    socket.listen(1024)
}
