//! The WebSocket upgrade at a channel's address: the RFC 6455 checks, the
//! connection caps, the channels' `ws` binding headers and the servers'
//! `security`, then the connection's task; and what a path that is only a
//! WebSocket endpoint says to anything else.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_util::sync::CancellationToken;

use super::super::limits::Refusal;
use super::super::metrics::Rejection;
use super::super::{Shared, connection};
use super::request::{client_ip, connection_info};
use super::{Reply, text};
use crate::error::Code;
use crate::service::{Binding as _, Service, UpgradeRefused};

/// Whether the request asks for a WebSocket.
pub(super) fn is_upgrade(headers: &HeaderMap) -> bool {
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|part| part.trim().eq_ignore_ascii_case(token)))
    };
    has_token(header::CONNECTION, "upgrade") && has_token(header::UPGRADE, "websocket")
}

/// Upgrades a request for `binding`'s channels, or says why not.
pub(super) async fn upgrade<S: Service, B>(
    request: Request<B>,
    binding: S::Binding,
    shared: Arc<Shared<S>>,
    peer: SocketAddr,
    shutdown: CancellationToken,
) -> Reply {
    let headers = request.headers();
    let key = match check_handshake(request.version(), headers) {
        Ok(key) => key,
        Err(bad) => {
            shared.metrics.rejected(Rejection::BadUpgrade);
            return bad.reply();
        }
    };
    let client_ip = client_ip(peer.ip(), headers, &shared.trusted_proxies);
    let permit = match shared.limiter.admit(client_ip) {
        Ok(permit) => permit,
        Err(refusal) => {
            let (why, message) = match refusal {
                Refusal::ServerFull => (Rejection::ServerFull, "server at connection limit\n"),
                Refusal::IpFull => (Rejection::IpFull, "too many connections from this address\n"),
            };
            shared.metrics.rejected(why);
            tracing::info!(ip = %client_ip, reason = why.label(), "upgrade refused: connection limit");
            return text(StatusCode::SERVICE_UNAVAILABLE, "text/plain", message);
        }
    };
    let accept = derive_accept_key(key.as_bytes());
    let info = Arc::new(connection_info(&shared, &request, client_ip));
    // The binding's headers and the servers' `security`, before anything is
    // registered for the connection.
    let header_pairs: Vec<(&str, &str)> =
        headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))).collect();
    match Box::pin(shared.service.admit(&binding, &info, &header_pairs)).await {
        Ok(()) => {}
        Err(UpgradeRefused::Headers(why)) => {
            shared.metrics.rejected(Rejection::BadUpgrade);
            return text(StatusCode::BAD_REQUEST, "text/plain", format!("{why}\n"));
        }
        Err(UpgradeRefused::Security(error)) => {
            shared.metrics.rejected(Rejection::Unauthorized);
            tracing::info!(ip = %client_ip, code = error.code().as_str(), "upgrade refused: server security");
            return text(admission_status(error.code()), "text/plain", format!("{}\n", error.message()));
        }
    }
    let id = info.id();
    let membership = connection::Membership::join(&shared.hub, binding.topics(), &info, shared.limits.event_queue);
    let upgraded = hyper::upgrade::on(request);
    let tracker = shared.tracker.clone();
    tracker.spawn(async move {
        let upgraded = match upgraded.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, "upgrade failed after 101");
                return;
            }
        };
        let socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(shared.websocket)).await;
        shared.metrics.connection_opened();
        let opened = std::time::Instant::now();
        tracing::info!(conn = id, ip = %client_ip, "connection opened");
        // Boxed: the service's hooks (presence announcements, store calls) are
        // large futures that would otherwise live in every connection's task
        // for its whole life (boxed, an idle connection's task was 2.1 KiB, not 5.6;
        // 1.5 KiB since `connection::run` is no `async fn`).
        Box::pin(shared.service.connected(&info)).await;
        let (reason, offline) =
            connection::run(socket, Arc::clone(&shared), binding, Arc::clone(&info), membership, shutdown).await;
        Box::pin(shared.service.disconnected(&info, &offline)).await;
        shared.metrics.connection_closed();
        tracing::info!(
            conn = id,
            ip = %client_ip,
            code = reason.code_on_the_wire(),
            reason = reason.text(),
            seconds = opened.elapsed().as_secs_f64(),
            "connection closed"
        );
        drop(permit);
    });

    let mut reply = Response::new(Full::new(Bytes::new()));
    *reply.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = reply.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    reply
}

/// The HTTP status of an upgrade the servers' `security` refused.
fn admission_status(code: Code) -> StatusCode {
    match code {
        Code::FORBIDDEN => StatusCode::FORBIDDEN,
        Code::RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
        Code::UNAVAILABLE | Code::INTERNAL => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// 426 at a WebSocket path asked for without an upgrade: what it is, and
/// where the API is described when this server serves its docs.
pub(super) fn required(assets: &super::super::config::Assets) -> Reply {
    let mut body = String::from("This is a WebSocket endpoint: connect with a WebSocket client.\n");
    if assets.docs_html.is_some() {
        body.push_str("The API is described at /docs (and /asyncapi.yaml).\n");
    }
    let mut refused = text(StatusCode::UPGRADE_REQUIRED, "text/plain", body);
    refused.headers_mut().insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    refused
}

/// Why an opening handshake is refused (RFC 6455 section 4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadHandshake {
    /// HTTP/1.0 or older.
    OldHttp,
    /// A `Sec-WebSocket-Version` other than 13, or none.
    Version,
    /// A `Sec-WebSocket-Key` that is not the base64 of 16 bytes.
    Key,
}

impl BadHandshake {
    /// 400, or 426 naming the version we speak (section 4.2.2).
    fn reply(self) -> Reply {
        match self {
            BadHandshake::OldHttp => {
                text(StatusCode::BAD_REQUEST, "text/plain", "a WebSocket upgrade needs HTTP/1.1\n")
            }
            BadHandshake::Version => {
                let mut refused = text(StatusCode::UPGRADE_REQUIRED, "text/plain", "WebSocket version 13 only\n");
                refused.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
                refused
            }
            BadHandshake::Key => {
                text(StatusCode::BAD_REQUEST, "text/plain", "Sec-WebSocket-Key must be base64 of 16 bytes\n")
            }
        }
    }
}

/// The opening handshake's requirements: HTTP/1.1 or later, version 13 and a
/// `Sec-WebSocket-Key` that is the base64 of 16 bytes. Returns the key.
fn check_handshake(version: hyper::Version, headers: &HeaderMap) -> Result<&HeaderValue, BadHandshake> {
    use base64::Engine;
    if version < hyper::Version::HTTP_11 {
        return Err(BadHandshake::OldHttp);
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v != "13") {
        return Err(BadHandshake::Version);
    }
    let decodes_to_16_bytes = |key: &&HeaderValue| {
        base64::engine::general_purpose::STANDARD.decode(key.as_bytes()).is_ok_and(|b| b.len() == 16)
    };
    headers.get(header::SEC_WEBSOCKET_KEY).filter(decodes_to_16_bytes).ok_or(BadHandshake::Key)
}
