//! The application's HTTP endpoints: the spec's HTTP operations (their
//! `http` bindings, served through the pipeline by `Service::serve_http`)
//! and its own JSON `POST`s (`Context::http_post`); and CORS for them:
//! tower-http's layer grants the preflight, and lets the page read the
//! answer, for the `--allowed-origin` pages only (another origin of the
//! same site, such as `app.example.com` calling `api.example.com`). Without
//! an allowlist the endpoints stay same-origin and preflights are refused.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::super::Shared;
use super::super::metrics::Rejection;
use super::layers::BodyTimedOut;
use super::request::{client_ip, connection_info};
use super::{Body, Reply, not_found, text};
use crate::context::HttpPost;
use crate::service::{HttpMatch, HttpRequest, Service};

/// The CORS layer of the endpoints for `allowed` origins: JSON requests
/// with credentials (a cookie, or a bearer token), by `POST` (the
/// application's own endpoints) and the `methods` of the spec's HTTP
/// operations; `None` without an allowlist.
pub(in crate::server) fn cors(allowed: &[String], methods: &[&str]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = allowed.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let mut offered = vec![Method::POST];
    for method in methods.iter().filter_map(|m| Method::from_bytes(m.as_bytes()).ok()) {
        if !offered.contains(&method) {
            offered.push(method);
        }
    }
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods(offered)
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
            .allow_credentials(true)
            .max_age(Duration::from_secs(600))
    })
}

/// A request (or its preflight) for the application; `matched` is what the
/// spec's HTTP operations make of its method and path.
pub(super) async fn serve<S: Service>(
    request: Request<Body>,
    shared: Arc<Shared<S>>,
    peer: SocketAddr,
    matched: HttpMatch,
) -> Reply {
    let Some(cors) = shared.cors.clone() else {
        if request.method() == Method::OPTIONS {
            return text(StatusCode::FORBIDDEN, "text/plain", "cross-origin requests need --allowed-origin\n");
        }
        return answer(request, &shared, peer, matched).await;
    };
    let endpoint = tower::service_fn(move |request| {
        let (shared, matched) = (Arc::clone(&shared), matched.clone());
        async move { Ok::<_, std::convert::Infallible>(answer(request, &shared, peer, matched).await) }
    });
    match cors.layer(endpoint).oneshot(request).await {
        Ok(reply) => reply,
        Err(never) => match never {},
    }
}

/// A request for the application: an HTTP operation of the spec, else a
/// `POST` for [`Context::http_post`](crate::Context::http_post); JSON,
/// small, in time; 404 when the application serves no such path.
async fn answer<S: Service>(
    request: Request<Body>,
    shared: &Arc<Shared<S>>,
    peer: SocketAddr,
    matched: HttpMatch,
) -> Reply {
    let target = match matched {
        HttpMatch::Found(target) => Some(target),
        HttpMatch::MethodNotAllowed(methods) => {
            let mut reply = text(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "method not allowed here\n");
            if let Ok(allow) = HeaderValue::from_str(&methods.join(", ")) {
                reply.headers_mut().insert(header::ALLOW, allow);
            }
            return reply;
        }
        HttpMatch::NotFound if request.method() == Method::POST => None,
        HttpMatch::NotFound => return not_found(),
    };
    let client_ip = client_ip(peer.ip(), request.headers(), &shared.trusted_proxies);
    let info = connection_info(shared, &request, client_ip);
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let body = match read_json(request, shared, client_ip).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    if let Some(target) = target {
        let started = std::time::Instant::now();
        let request = HttpRequest { target, query, body: body.to_vec() };
        let outcome = shared.service.serve_http(&Arc::new(info), request).await;
        shared.metrics.dispatched(&outcome, started.elapsed());
        let status = match outcome.error {
            Some(code) => StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            None if outcome.text.is_empty() => StatusCode::NO_CONTENT,
            None => StatusCode::OK,
        };
        let mut reply = text(status, "application/json", outcome.text);
        reply.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return reply;
    }
    let post = HttpPost { path: &path, body: &body, connection: &info };
    let Some(answer) = shared.service.http_post(post).await else {
        return not_found();
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
    reply
}

/// The request's body: JSON by its `Content-Type`, or none at all (no
/// type, no length), small, in time; else the refusal.
async fn read_json<S: Service>(request: Request<Body>, shared: &Shared<S>, client_ip: IpAddr) -> Result<Bytes, Reply> {
    // Also what keeps other sites out: a cross-site JSON request needs a
    // CORS preflight, which this server grants to `--allowed-origin` pages only.
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    // No body and no type: nothing to read (a browser's form always names a type).
    let headers = request.headers();
    let bodiless = !headers.contains_key(header::CONTENT_TYPE)
        && !headers.contains_key(header::TRANSFER_ENCODING)
        && headers.get(header::CONTENT_LENGTH).is_none_or(|length| length == "0");
    if !json && !bodiless {
        return Err(text(StatusCode::UNSUPPORTED_MEDIA_TYPE, "text/plain", "Content-Type must be application/json\n"));
    }
    match request.into_body().collect().await {
        Ok(body) => Ok(body.to_bytes()),
        Err(error) if error.is::<BodyTimedOut>() => {
            shared.metrics.rejected(Rejection::SlowBody);
            tracing::info!(ip = %client_ip, "request refused: its body came too slowly");
            let mut refused = text(StatusCode::REQUEST_TIMEOUT, "text/plain", "request body too slow\n");
            refused.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(refused)
        }
        Err(_) => Err(text(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", "request body too large\n")),
    }
}
