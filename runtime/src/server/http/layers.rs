//! The cross-cutting concerns of the HTTP side that are ours rather than
//! tower-http's: refusing pages of origins the operator did not allow, and a
//! deadline for a whole request body (tower-http's body timeout restarts at
//! every chunk, so a body that trickles in would never hit it).

use std::future::{Future, Ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::Either;
use http_body_util::Full;
use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::header;
use hyper::{Request, Response, StatusCode};
use tower::{Layer, Service};

use super::super::metrics::{Metrics, Rejection};

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
