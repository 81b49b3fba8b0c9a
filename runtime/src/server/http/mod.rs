//! The HTTP side of the one port, as a tower stack around small routes
//! ([`service`]): probes, metrics, the spec and its docs, the WebSocket
//! upgrade at every channel address of the spec ([`upgrade`]), and the
//! application's endpoints ([`post`]): the spec's HTTP operations and its
//! JSON `POST`s (`Context::http_post`).
//!
//! What every request goes through is a layer: the access log, the security headers
//! (tower-http), a request body's size (tower-http) and its deadline, and
//! the refusal of pages from origins the operator did not allow
//! ([`layers`]); CORS for the `POST` endpoints is tower-http's, for the
//! allowed origins only.

mod layers;
mod post;
mod request;
mod upgrade;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::service::TowerToHyperService;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use super::Shared;
use super::metrics::Rejection;
use crate::context::HttpPost;
use crate::service::{BindError, HttpMatch, Service};

pub(super) use self::post::cors;

/// A request as the routes get it: its body limited in size and in time.
type Body = layers::Deadline<tower_http::body::Limited<Incoming>>;
type Reply = Response<Full<Bytes>>;

/// The HTTP service of one connection from `peer`: the routes, inside the
/// layers every request and response goes through.
pub(super) fn service<S: Service>(
    shared: Arc<Shared<S>>,
    peer: SocketAddr,
    shutdown: CancellationToken,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<impl hyper::body::Body<Data = Bytes, Error = Infallible> + Send + 'static>,
    Error = Infallible,
    Future = impl Send + 'static,
> + Send
+ 'static {
    let origins =
        layers::ForeignOriginsLayer::new(Arc::clone(&shared.allowed_origins), Arc::clone(&shared.metrics), peer);
    let deadline = layers::BodyDeadlineLayer::new(shared.limits.http_body_timeout);
    let access = layers::AccessLogLayer::new(peer.ip(), Arc::clone(&shared.trusted_proxies));
    let routes = tower::service_fn(move |request| route(request, Arc::clone(&shared), peer, shutdown.clone()));
    let stack = ServiceBuilder::new()
        // Outermost: it logs what the client got, refusals of the layers below included.
        .layer(access)
        // Browsers take no content type but the one given, and send no referrer from the docs' links.
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(RequestBodyLimitLayer::new(HttpPost::MAX_BODY_BYTES))
        .layer(origins)
        .layer(deadline)
        .service(routes);
    TowerToHyperService::new(stack)
}

/// Answers one HTTP request on a connection from `peer`.
async fn route<S: Service>(
    request: Request<Body>,
    shared: Arc<Shared<S>>,
    peer: SocketAddr,
    shutdown: CancellationToken,
) -> Result<Reply, Infallible> {
    let path = request.uri().path();
    // The spec's HTTP operations first: their paths are the application's.
    let matched = shared.service.http_route(request.method().as_str(), path);
    if !matches!(matched, HttpMatch::NotFound) {
        return Ok(post::serve(request, shared, peer, matched).await);
    }
    let reply = match (request.method(), path) {
        (&Method::GET, "/healthz") => text(StatusCode::OK, "text/plain", "ok\n"),
        (&Method::GET, "/readyz") => ready(&shared).await,
        (&Method::GET, "/metrics") => {
            let mut body = String::with_capacity(16 * 1024);
            match prometheus_client::encoding::text::encode(&mut body, &shared.registry) {
                Ok(()) => text(StatusCode::OK, "application/openmetrics-text; version=1.0.0; charset=utf-8", body),
                Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "metrics could not be encoded\n"),
            }
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
            Ok(binding) if upgrade::is_upgrade(request.headers()) => {
                upgrade::upgrade(request, binding, shared, peer, shutdown).await
            }
            // A person who opened the URL in a browser: say where to read instead.
            Ok(_) => upgrade::required(&shared.assets),
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
        (&Method::POST | &Method::OPTIONS, _) => post::serve(request, shared, peer, matched).await,
        _ => not_found(),
    };
    Ok(reply)
}

/// `/readyz`: the application's dependencies, and the cluster bus.
async fn ready<S: Service>(shared: &Shared<S>) -> Reply {
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

/// The docs page's Content-Security-Policy: nothing may load or run but its
/// own inline styles and scripts (allowed by their hashes), no framing, no forms.
pub(super) fn docs_policy(html: &str) -> String {
    let hashes = |tag: &str| {
        use base64::Engine;
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let mut hashes = String::new();
        let mut rest = html;
        while let Some(start) = rest.find(&open) {
            let after = &rest[start + open.len()..];
            let Some(end) = after.find(&close) else { break };
            let digest = <sha2::Sha256 as sha2::Digest>::digest(&after.as_bytes()[..end]);
            hashes.push_str(&format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest)));
            rest = &after[end..];
        }
        if hashes.is_empty() { " 'none'".to_owned() } else { hashes }
    };
    format!(
        "default-src 'none'; style-src{}; script-src{}; img-src data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
        hashes("style"),
        hashes("script")
    )
}

fn not_found() -> Reply {
    text(StatusCode::NOT_FOUND, "text/plain", "not found\n")
}

fn text(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut reply = Response::new(Full::new(body.into()));
    *reply.status_mut() = status;
    reply.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    reply
}
