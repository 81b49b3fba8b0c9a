//! The application's JSON `POST` endpoints (`Context::http_post`), and CORS
//! for them: tower-http's layer grants the preflight, and lets the page read
//! the answer, for the `--allowed-origin` pages only (another origin of the
//! same site, such as `app.example.com` calling `api.example.com`). Without
//! an allowlist the endpoints stay same-origin and preflights are refused.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
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
use crate::service::Service;

/// The CORS layer of the `POST` endpoints for `allowed` origins: JSON
/// `POST`s with credentials; `None` without an allowlist.
pub(in crate::server) fn cors(allowed: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = allowed.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::POST])
            .allow_headers([header::CONTENT_TYPE])
            .allow_credentials(true)
            .max_age(Duration::from_secs(600))
    })
}

/// A `POST` (or its preflight) for the application.
pub(super) async fn serve<S: Service>(request: Request<Body>, shared: Arc<Shared<S>>, peer: SocketAddr) -> Reply {
    let Some(cors) = shared.cors.clone() else {
        if request.method() == Method::OPTIONS {
            return text(StatusCode::FORBIDDEN, "text/plain", "cross-origin requests need --allowed-origin\n");
        }
        return answer(request, &shared, peer).await;
    };
    let endpoint = tower::service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, std::convert::Infallible>(answer(request, &shared, peer).await) }
    });
    match cors.layer(endpoint).oneshot(request).await {
        Ok(reply) => reply,
        Err(never) => match never {},
    }
}

/// A `POST` for the application: JSON, small, in time; 404 when the
/// application serves no such path.
async fn answer<S: Service>(request: Request<Body>, shared: &Shared<S>, peer: SocketAddr) -> Reply {
    if request.method() != Method::POST {
        return not_found();
    }
    // Also what keeps other sites out: a cross-site JSON POST needs a CORS
    // preflight, which this server grants to `--allowed-origin` pages only.
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, "text/plain", "Content-Type must be application/json\n");
    }
    let client_ip = client_ip(peer.ip(), request.headers(), &shared.trusted_proxies);
    let info = connection_info(shared, &request, client_ip);
    let path = request.uri().path().to_owned();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) if error.is::<BodyTimedOut>() => {
            shared.metrics.rejected(Rejection::SlowBody);
            tracing::info!(ip = %client_ip, "request refused: its body came too slowly");
            let mut refused = text(StatusCode::REQUEST_TIMEOUT, "text/plain", "request body too slow\n");
            refused.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            return refused;
        }
        Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", "request body too large\n"),
    };
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
