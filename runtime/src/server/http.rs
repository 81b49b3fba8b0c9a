//! The HTTP side of the one port: probes, metrics, the spec, docs, the
//! WebSocket upgrade at every channel address of the spec, where the path is
//! bound to its channels, and Origin, connection limits, credentials and the
//! client's address are settled; and JSON `POST`s for the application's own
//! endpoints (`Context::http_post`).
//!
//! Cookies authenticate only from an allowed `Origin`: a browser sends its
//! cookies with any site's WebSocket or form request (cross-site WebSocket
//! hijacking), so without `--allowed-origin` no cookie credential is captured.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_util::sync::CancellationToken;

use super::limits::Refusal;
use super::metrics::Rejection;
use super::{Shared, connection};
use crate::context::HttpPost;
use crate::context::{ConnectionInfo, CredentialSource};
use crate::error::Code;
use crate::service::{BindError, Binding as _, Service, UpgradeRefused};

type Reply = Response<Full<Bytes>>;

/// Answers one HTTP request on a connection from `peer`.
pub async fn route<S: Service>(
    request: Request<Incoming>,
    shared: Arc<Shared<S>>,
    peer: SocketAddr,
    shutdown: CancellationToken,
) -> Result<Reply, Infallible> {
    let path = request.uri().path();
    let not_found = || text(StatusCode::NOT_FOUND, "text/plain", "not found\n");
    let reply = match (request.method(), path) {
        (&Method::GET, "/healthz") => text(StatusCode::OK, "text/plain", "ok\n"),
        (&Method::GET, "/readyz") => {
            let bus = shared.hub.bus_status();
            if !shared.service.ready().await {
                text(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "not ready: a dependency is unreachable\n")
            } else if bus.is_some_and(|bus| bus.refused) {
                // Not an outage that heals by itself: the operator must act.
                text(StatusCode::OK, "text/plain", "ready, degraded: the cluster bus refuses this node's credentials\n")
            } else if bus.is_some_and(|bus| !bus.connected) {
                // Still serving: this node's connections get every event, the
                // other nodes' do not until the bus is back.
                text(StatusCode::OK, "text/plain", "ready, degraded: the cluster bus is unreachable\n")
            } else {
                text(StatusCode::OK, "text/plain", "ready\n")
            }
        }
        (&Method::GET, "/metrics") => {
            let mut body = shared.metrics.render();
            if let Some(bus) = shared.hub.bus_status() {
                body.push_str(&render_bus(bus));
            }
            text(StatusCode::OK, "text/plain; version=0.0.4", body)
        }
        (&Method::GET, "/asyncapi.yaml") => match shared.assets.spec_yaml {
            Some(yaml) => text(StatusCode::OK, "application/yaml", yaml),
            None => not_found(),
        },
        (&Method::GET, "/docs") => match shared.assets.docs_html {
            Some(html) => {
                let mut page = text(StatusCode::OK, "text/html; charset=utf-8", html);
                if let Ok(policy) = HeaderValue::from_str(&shared.docs_policy) {
                    page.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
                }
                page
            }
            None => not_found(),
        },
        (&Method::GET, _) => match shared.service.bind(path, request.uri().query()) {
            Ok(binding) if is_upgrade(request.headers()) => upgrade(request, binding, shared, peer, shutdown).await,
            // A person who opened the URL in a browser: say where to read instead.
            Ok(_) => {
                let mut refused = text(StatusCode::UPGRADE_REQUIRED, "text/plain", upgrade_required(&shared.assets));
                refused.headers_mut().insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                refused
            }
            Err(BindError::NotFound) => not_found(),
            Err(BindError::Invalid(why)) => {
                shared.metrics.rejected(Rejection::BadUpgrade);
                text(StatusCode::BAD_REQUEST, "text/plain", format!("{why}\n"))
            }
        },
        // A WebSocket path's handshake is a GET (RFC 6455), whatever a `ws`
        // binding's `method` says (the loader warns about that).
        (_, _) if !matches!(shared.service.bind(path, None), Err(BindError::NotFound)) => {
            let mut reply = text(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "a WebSocket upgrade is a GET\n");
            reply.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
            reply
        }
        (&Method::POST, _) => post(request, &shared, peer).await,
        (&Method::OPTIONS, _) => preflight(request.headers(), &shared, peer),
        _ => not_found(),
    };
    Ok(with_security_headers(reply))
}

/// Headers every response carries: browsers take no content type but the
/// one given, and send no referrer from the docs' links.
fn with_security_headers(mut reply: Reply) -> Reply {
    let headers = reply.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    reply
}

/// The docs page's Content-Security-Policy: nothing may load or run but its
/// own inline styles (allowed by their hashes), no framing, no forms.
pub(super) fn docs_policy(html: &str) -> String {
    use base64::Engine;
    let mut styles = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<style>") {
        let after = &rest[start + "<style>".len()..];
        let Some(end) = after.find("</style>") else { break };
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&after.as_bytes()[..end]);
        styles.push_str(&format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest)));
        rest = &after[end..];
    }
    let styles = if styles.is_empty() { " 'none'".to_owned() } else { styles };
    format!(
        "default-src 'none'; style-src{styles}; img-src data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

/// The cluster bus as Prometheus text.
fn render_bus(bus: crate::hub::BusStatus) -> String {
    let mut body = format!(
        "# HELP specserve_cluster_bus_connected Whether the cluster bus reaches the other nodes.\n\
         # TYPE specserve_cluster_bus_connected gauge\n\
         specserve_cluster_bus_connected {}\n\
         # HELP specserve_cluster_bus_refused Whether the cluster bus refuses this node's credentials.\n\
         # TYPE specserve_cluster_bus_refused gauge\n\
         specserve_cluster_bus_refused {}\n\
         # HELP specserve_cluster_messages_total Cluster bus messages: sent, dropped (queue full), received, \
         late (behind their stream, dropped), forged (not sealed with the cluster key), replayed (seen \
         before, or too old), unconfirmed (a stream position the database does not have).\n\
         # TYPE specserve_cluster_messages_total counter\n",
        u8::from(bus.connected),
        u8::from(bus.refused),
    );
    let outcomes = [
        ("sent", bus.sent),
        ("dropped", bus.dropped),
        ("received", bus.received),
        ("late", bus.late),
        ("forged", bus.forged),
        ("replayed", bus.replayed),
        ("unconfirmed", bus.unconfirmed),
    ];
    for (outcome, count) in outcomes {
        body.push_str(&format!("specserve_cluster_messages_total{{outcome=\"{outcome}\"}} {count}\n"));
    }
    body
}

fn text(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut reply = Response::new(Full::new(body.into()));
    *reply.status_mut() = status;
    reply.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    reply
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|part| part.trim().eq_ignore_ascii_case(token)))
    };
    has_token(header::CONNECTION, "upgrade") && has_token(header::UPGRADE, "websocket")
}

async fn upgrade<S: Service>(
    request: Request<Incoming>,
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
    if let Some(refused) = refuse_foreign_origin(&shared, headers, peer) {
        return refused;
    }
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
    let tracker = shared.tracker.clone();
    tracker.spawn(async move {
        let upgraded = match hyper::upgrade::on(request).await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, "upgrade failed after 101");
                return;
            }
        };
        let config = crate::websocket::config()
            .max_message_size(Some(shared.limits.max_message_bytes))
            .max_frame_size(Some(shared.limits.max_message_bytes))
            .max_write_buffer_size(shared.limits.max_message_bytes * 2);
        let socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
        shared.metrics.connection_opened();
        let opened = std::time::Instant::now();
        tracing::info!(conn = id, ip = %client_ip, "connection opened");
        // Boxed: the service's hooks (presence announcements, store calls) are
        // large futures that would otherwise live in every connection's task
        // for its whole life; boxed, an idle connection's task is 2.1 KiB, not 5.6.
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

/// A CORS preflight for a `POST` endpoint, from an `--allowed-origin` page
/// (another origin of the same site, such as `app.example.com` calling
/// `api.example.com`): granted for JSON POSTs with credentials. Any other
/// origin, or none configured, is refused: the endpoints stay same-origin.
fn preflight<S>(headers: &HeaderMap, shared: &Shared<S>, peer: SocketAddr) -> Reply {
    let Some(origin) = allowed_origin(shared, headers) else {
        if let Some(refused) = refuse_foreign_origin(shared, headers, peer) {
            return refused;
        }
        return text(StatusCode::FORBIDDEN, "text/plain", "cross-origin requests need --allowed-origin\n");
    };
    let asks_post = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .is_some_and(|method| method.as_bytes().eq_ignore_ascii_case(b"POST"));
    if !asks_post {
        return text(StatusCode::FORBIDDEN, "text/plain", "only POST is offered across origins\n");
    }
    let mut reply = text(StatusCode::NO_CONTENT, "text/plain", "");
    let granted = reply.headers_mut();
    with_cors(granted, origin);
    granted.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
    granted.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
    granted.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    reply
}

/// The request's `Origin` when it is one of `--allowed-origin`.
fn allowed_origin<'h, S>(shared: &Shared<S>, headers: &'h HeaderMap) -> Option<&'h HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    shared.allowed_origins.iter().any(|allowed| origin.as_bytes() == allowed.as_bytes()).then_some(origin)
}

/// Lets the page at `origin` read the answer, with its cookies.
fn with_cors(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

/// A `POST` for the application: same-origin (when origins are configured),
/// JSON, small; 404 when the application serves no such path.
async fn post<S: Service>(request: Request<Incoming>, shared: &Shared<S>, peer: SocketAddr) -> Reply {
    let headers = request.headers();
    if let Some(refused) = refuse_foreign_origin(shared, headers, peer) {
        return refused;
    }
    // Also what keeps other sites out: a cross-site JSON POST needs a CORS
    // preflight, which this server grants to `--allowed-origin` pages only.
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, "text/plain", "Content-Type must be application/json\n");
    }
    let client_ip = client_ip(peer.ip(), headers, &shared.trusted_proxies);
    let cors = allowed_origin(shared, headers).cloned();
    let info = connection_info(shared, &request, client_ip);
    let path = request.uri().path().to_owned();
    let reading = Limited::new(request.into_body(), HttpPost::MAX_BODY_BYTES).collect();
    let body = match tokio::time::timeout(shared.limits.http_body_timeout, reading).await {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(_)) => return text(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", "request body too large\n"),
        Err(_) => {
            shared.metrics.rejected(Rejection::SlowBody);
            tracing::info!(ip = %client_ip, "request refused: its body came too slowly");
            let mut refused = text(StatusCode::REQUEST_TIMEOUT, "text/plain", "request body too slow\n");
            refused.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            return refused;
        }
    };
    let post = HttpPost { path: &path, body: &body, connection: &info };
    let Some(answer) = shared.service.http_post(post).await else {
        return text(StatusCode::NOT_FOUND, "text/plain", "not found\n");
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut reply = text(status, "application/json", answer.body);
    let headers = reply.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in answer.set_cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    if let Some(origin) = &cors {
        with_cors(headers, origin);
    }
    reply
}

/// 403 when origins are configured and the request's `Origin` is not one of them.
fn refuse_foreign_origin<S>(shared: &Shared<S>, headers: &HeaderMap, peer: SocketAddr) -> Option<Reply> {
    match headers.get(header::ORIGIN) {
        Some(origin) if !shared.allowed_origins.is_empty() && allowed_origin(shared, headers).is_none() => {
            shared.metrics.rejected(Rejection::Origin);
            tracing::info!(ip = %peer.ip(), origin = ?origin, "request refused: origin not allowed");
            Some(text(StatusCode::FORBIDDEN, "text/plain", "origin not allowed\n"))
        }
        _ => None,
    }
}

/// The facts of a request for the application: a new connection id, the
/// client's address and user agent, and the credentials of the spec's schemes
/// it presents. Cookies count only from an `Origin` on a configured allowlist.
fn connection_info<S: Service, B>(shared: &Shared<S>, request: &Request<B>, client_ip: IpAddr) -> ConnectionInfo {
    let headers = request.headers();
    let id = shared.next_connection_id.fetch_add(1, Ordering::Relaxed);
    let mut info = ConnectionInfo::new(id, request.uri().path()).with_client_ip(client_ip);
    if let Some(agent) = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()) {
        info = info.with_user_agent(agent);
    }
    // `refuse_foreign_origin` let only allowed origins this far.
    let cookies_trusted = !shared.allowed_origins.is_empty() && headers.contains_key(header::ORIGIN);
    for source in shared.service.info().credentials {
        if matches!(source, CredentialSource::Cookie(_)) && !cookies_trusted {
            continue;
        }
        if let Some(value) = credential(*source, headers, request.uri().query()) {
            info = info.with_credential(*source, value);
        }
    }
    info
}

/// The credential the upgrade presents at `source`, if any.
fn credential(source: CredentialSource, headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let value = match source {
        CredentialSource::Bearer => header(header::AUTHORIZATION.as_str())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|v| v.trim().to_owned()),
        CredentialSource::Basic => header(header::AUTHORIZATION.as_str()).and_then(basic_credential),
        CredentialSource::Header(name) => header(name).map(str::to_owned),
        CredentialSource::Query(name) => {
            crate::path::query_pairs(query).into_iter().find(|(key, _)| key == name).map(|(_, value)| value)
        }
        CredentialSource::Cookie(name) => headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
            .map(str::to_owned),
    };
    value.filter(|v| !v.is_empty())
}

/// `user:password` from an `Authorization: Basic` value (RFC 7617), if it
/// is one: the scheme name in any case, base64 of UTF-8 with a `:`.
fn basic_credential(value: &str) -> Option<String> {
    use base64::Engine as _;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    String::from_utf8(decoded).ok().filter(|pair| pair.contains(':'))
}

/// The body of a 426 at a WebSocket path: what it is, and where the API is
/// described when this server serves its docs.
fn upgrade_required(assets: &super::config::Assets) -> String {
    let mut body = String::from("This is a WebSocket endpoint: connect with a WebSocket client.\n");
    if assets.docs_html.is_some() {
        body.push_str("The API is described at /docs (and /asyncapi.yaml).\n");
    }
    body
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

/// The client's address: the peer, unless the peer is a trusted proxy, in which
/// case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.7, 10.0.0.9"));
        assert_eq!(client_ip(proxy, &headers, &[proxy]), "203.0.113.7".parse::<IpAddr>().unwrap());
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(stranger, &headers, &[proxy]), stranger);
    }
}
