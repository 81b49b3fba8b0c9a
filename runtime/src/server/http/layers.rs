//! The cross-cutting concerns of the HTTP side that are ours rather than
//! tower-http's: the access log (one line per request, without its query,
//! which may hold a token), refusing pages of origins the operator did not
//! allow, and a deadline for a whole request body (tower-http's body timeout
//! restarts at every chunk, so a body that trickles in would never hit it).

use std::future::{Future, Ready};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::Either;
use http_body_util::Full;
use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::header;
use hyper::{Request, Response, StatusCode};
use tower::{Layer, Service};

use super::super::metrics::{Metrics, Rejection};

/// The longest path an access log line shows, in bytes: a hostile client's
/// 16 KiB path would otherwise be 16 KiB of log per request.
const LOGGED_PATH_BYTES: usize = 256;

/// Logs every request once answered, at `info` with the target
/// `specserve::access` (`RUST_LOG=specserve::access=off` silences it): the
/// client's address (behind `--trusted-proxy`, the one it forwarded), the
/// method, the path without its query, the status and the milliseconds to
/// the response's head. The query is never logged: seed 001's room sockets
/// carry their token there.
#[derive(Clone)]
pub struct AccessLogLayer {
    peer: IpAddr,
    trusted_proxies: Arc<[IpAddr]>,
}

impl AccessLogLayer {
    /// The layer for a connection from `peer`.
    pub fn new(peer: IpAddr, trusted_proxies: Arc<[IpAddr]>) -> Self {
        AccessLogLayer { peer, trusted_proxies }
    }
}

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> AccessLog<S> {
        AccessLog { inner, layer: self.clone() }
    }
}

/// See [`AccessLogLayer`].
#[derive(Clone)]
pub struct AccessLog<S> {
    inner: S,
    layer: AccessLogLayer,
}

impl<S, B, R> Service<Request<B>> for AccessLog<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let ip = super::request::client_ip(self.layer.peer, request.headers(), &self.layer.trusted_proxies);
        let method = request.method().clone();
        let path = logged_path(request.uri().path()).to_owned();
        let started = Instant::now();
        let answered = self.inner.call(request);
        Box::pin(async move {
            let answered = answered.await;
            if let Ok(response) = &answered {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                let status = response.status().as_u16();
                tracing::info!(target: "specserve::access", %ip, %method, %path, status, ms, "http");
            }
            answered
        })
    }
}

/// `path` cut to [`LOGGED_PATH_BYTES`] at a character boundary.
fn logged_path(path: &str) -> &str {
    if path.len() <= LOGGED_PATH_BYTES {
        return path;
    }
    let mut end = LOGGED_PATH_BYTES;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

/// Refuses, with 403, any request whose `Origin` is not one of
/// `--allowed-origin` when the operator listed some: a browser sends its
/// cookies with any site's WebSocket or form request (cross-site WebSocket
/// hijacking), so pages of other sites get nothing here.
#[derive(Clone)]
pub struct ForeignOriginsLayer {
    allowed: Arc<[String]>,
    metrics: Arc<Metrics>,
    peer: SocketAddr,
}

impl ForeignOriginsLayer {
    /// The layer for a connection from `peer`.
    pub fn new(allowed: Arc<[String]>, metrics: Arc<Metrics>, peer: SocketAddr) -> Self {
        ForeignOriginsLayer { allowed, metrics, peer }
    }
}

impl<S> Layer<S> for ForeignOriginsLayer {
    type Service = ForeignOrigins<S>;

    fn layer(&self, inner: S) -> ForeignOrigins<S> {
        ForeignOrigins { inner, layer: self.clone() }
    }
}

/// See [`ForeignOriginsLayer`].
#[derive(Clone)]
pub struct ForeignOrigins<S> {
    inner: S,
    layer: ForeignOriginsLayer,
}

impl<S, B> Service<Request<B>> for ForeignOrigins<S>
where
    S: Service<Request<B>, Response = Response<Full<Bytes>>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Self::Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let foreign = match request.headers().get(header::ORIGIN) {
            Some(origin) if !self.layer.allowed.is_empty() => {
                (!self.layer.allowed.iter().any(|allowed| origin.as_bytes() == allowed.as_bytes())).then_some(origin)
            }
            _ => None,
        };
        if let Some(origin) = foreign {
            self.layer.metrics.rejected(Rejection::Origin);
            tracing::info!(ip = %self.layer.peer.ip(), origin = ?origin, "request refused: origin not allowed");
            let refused = super::text(StatusCode::FORBIDDEN, "text/plain", "origin not allowed\n");
            return Either::Left(std::future::ready(Ok(refused)));
        }
        Either::Right(self.inner.call(request))
    }
}

/// Gives every request body `limit` in all to arrive, from when the
/// request's head was read; reading past it fails with [`BodyTimedOut`].
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadlineLayer {
    limit: Duration,
}

impl BodyDeadlineLayer {
    /// Bodies get `limit` each.
    pub fn new(limit: Duration) -> Self {
        BodyDeadlineLayer { limit }
    }
}

impl<S> Layer<S> for BodyDeadlineLayer {
    type Service = BodyDeadlineService<S>;

    fn layer(&self, inner: S) -> BodyDeadlineService<S> {
        BodyDeadlineService { inner, limit: self.limit }
    }
}

/// See [`BodyDeadlineLayer`].
#[derive(Debug, Clone)]
pub struct BodyDeadlineService<S> {
    inner: S,
    limit: Duration,
}

impl<S, B> Service<Request<B>> for BodyDeadlineService<S>
where
    S: Service<Request<Deadline<B>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> S::Future {
        let deadline = tokio::time::Instant::now() + self.limit;
        self.inner.call(request.map(|body| Deadline { body, sleep: Box::pin(tokio::time::sleep_until(deadline)) }))
    }
}

/// A body that fails once its deadline passes ([`BodyDeadlineLayer`]).
pub struct Deadline<B> {
    body: B,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

/// A request body that did not arrive within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

impl<B> Body for Deadline<B>
where
    B: Body + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = B::Data;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, Self::Error>>> {
        if self.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Pin::new(&mut self.body).poll_frame(cx).map(|frame| frame.map(|f| f.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
