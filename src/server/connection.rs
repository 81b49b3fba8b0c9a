//! One WebSocket connection: frames are read and dispatched pipelined (up to
//! `max_in_flight` at once), replies are written in request order through a
//! bounded queue, and every way a connection can end has its [`CloseReason`].
//! The close codes those map to are published in the spec (the channel's
//! `x-specserve-close-codes`, as `api::CLOSE_CODES`); a test holds the two equal.
//!
//! Binary frames are answered with a `bad_request` error reply; the connection stays open.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesOrdered, SplitSink};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::api::{Handlers, dispatch};
use crate::security::rate_limit::TokenBucket;
use crate::wire::{ApiError, Dispatched, Frame, RequestContext};

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent a close frame or the socket ended.
    ClientClosed,
    /// The server is shutting down.
    Shutdown,
    /// No pong after a ping.
    PingTimeout,
    /// A message or frame over the size limit.
    TooLarge,
    /// A text frame with invalid UTF-8.
    InvalidUtf8,
    /// Too many frames, for too long.
    RateLimited,
    /// The client does not read its replies.
    SlowConsumer,
    /// The connection's user was deleted.
    Revoked,
    /// Any other WebSocket protocol error.
    ProtocolError,
}

impl CloseReason {
    /// The close code sent (and recorded).
    pub fn code(self) -> CloseCode {
        match self {
            CloseReason::ClientClosed => CloseCode::Normal,
            CloseReason::Shutdown | CloseReason::PingTimeout => CloseCode::Away,
            CloseReason::TooLarge => CloseCode::Size,
            CloseReason::InvalidUtf8 => CloseCode::Invalid,
            CloseReason::RateLimited | CloseReason::SlowConsumer | CloseReason::Revoked => CloseCode::Policy,
            CloseReason::ProtocolError => CloseCode::Protocol,
        }
    }

    /// The close frame's reason text, also logged.
    pub fn text(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "client closed",
            CloseReason::Shutdown => "server shutting down",
            CloseReason::PingTimeout => "no pong received",
            CloseReason::TooLarge => "message too large",
            CloseReason::InvalidUtf8 => "invalid UTF-8",
            CloseReason::RateLimited => "rate limit exceeded",
            CloseReason::SlowConsumer => "slow consumer",
            CloseReason::Revoked => "credentials revoked",
            CloseReason::ProtocolError => "protocol error",
        }
    }
}

/// Serves one upgraded socket until it closes, then returns why.
pub async fn run<H, S>(
    socket: WebSocketStream<S>,
    shared: Arc<Shared<H>>,
    ctx: RequestContext,
    shutdown: CancellationToken,
) -> CloseReason
where
    H: Handlers + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = &shared.limits;
    let (sink, mut stream) = socket.split();
    let (outbound, queue) = mpsc::channel(limits.outbound_queue);
    let writer = tokio::spawn(write_replies(sink, queue));
    let ctx = Arc::new(ctx);
    let mut in_flight: FuturesOrdered<Pending> = FuturesOrdered::new();
    let mut bucket = TokenBucket::new(limits.frames_per_second, limits.frame_burst);
    let mut strikes = 0u32;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + limits.ping_interval, limits.ping_interval);
    let mut pong_deadline: Option<tokio::time::Instant> = None;

    let reason = loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break CloseReason::Shutdown,
            Some((outcome, elapsed)) = in_flight.next(), if !in_flight.is_empty() => {
                shared.metrics.dispatched(&outcome, elapsed);
                if outbound.try_send(Message::text(outcome.text)).is_err() {
                    break CloseReason::SlowConsumer;
                }
                shared.metrics.frame_out(outcome.route);
            }
            // After replies, so the frame that deleted a user is answered first.
            () = ctx.close_signal().cancelled() => break CloseReason::Revoked,
            () = sleep_until(pong_deadline), if pong_deadline.is_some() => break CloseReason::PingTimeout,
            _ = ping.tick() => {
                if pong_deadline.is_none() {
                    if outbound.try_send(Message::Ping(Default::default())).is_err() {
                        break CloseReason::SlowConsumer;
                    }
                    pong_deadline = Some(tokio::time::Instant::now() + limits.pong_timeout);
                }
            }
            message = stream.next(), if in_flight.len() < limits.max_in_flight => {
                // Any frame shows the peer is alive.
                pong_deadline = None;
                let text = match message {
                    None | Some(Ok(Message::Close(_))) => break CloseReason::ClientClosed,
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        let error = ApiError::bad_request("binary frames are not supported; send JSON text");
                        in_flight.push_back(ready(Dispatched::failure(None, None, error)));
                        continue;
                    }
                    Some(Ok(_)) => continue, // ping, pong, raw frame
                    Some(Err(WsError::Capacity(_))) => break CloseReason::TooLarge,
                    Some(Err(WsError::Utf8(_))) => break CloseReason::InvalidUtf8,
                    Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed | WsError::Io(_))) => {
                        break CloseReason::ClientClosed;
                    }
                    Some(Err(_)) => break CloseReason::ProtocolError,
                };
                if bucket.try_take() {
                    strikes = 0;
                    let (shared, ctx) = (Arc::clone(&shared), Arc::clone(&ctx));
                    in_flight.push_back(Box::pin(async move {
                        let started = Instant::now();
                        let outcome = dispatch(shared.handlers.as_ref(), &ctx, &text).await;
                        (outcome, started.elapsed())
                    }));
                } else {
                    strikes += 1;
                    if strikes > limits.rate_limit_strikes {
                        break CloseReason::RateLimited;
                    }
                    let request_id = Frame::parse(&text).ok().and_then(|f| f.request_id().map(str::to_owned));
                    in_flight.push_back(ready(Dispatched::failure(None, request_id.as_deref(), ApiError::rate_limited())));
                }
            }
        }
    };

    if reason == CloseReason::Shutdown {
        // Answer what was already read, then say goodbye.
        while let Some((outcome, elapsed)) = in_flight.next().await {
            shared.metrics.dispatched(&outcome, elapsed);
            if outbound.send(Message::text(outcome.text)).await.is_err() {
                break;
            }
            shared.metrics.frame_out(outcome.route);
        }
    }
    if reason == CloseReason::SlowConsumer {
        // The queue is full and the peer is not reading: drop the socket.
        writer.abort();
    } else {
        let frame = CloseFrame { code: reason.code(), reason: reason.text().into() };
        let _ = outbound.try_send(Message::Close(Some(frame)));
        drop(outbound);
        let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    }
    ctx.close_signal().cancel();
    reason
}

type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = (Dispatched, Duration)> + Send>>;

/// An already-decided reply, queued behind earlier ones to keep the order.
fn ready(outcome: Dispatched) -> Pending {
    Box::pin(std::future::ready((outcome, Duration::ZERO)))
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Writes queued messages in order; stops after a close frame or a write error.
async fn write_replies<S>(mut sink: SplitSink<WebSocketStream<S>, Message>, mut queue: mpsc::Receiver<Message>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(message) = queue.recv().await {
        let closing = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::CloseReason::{self, *};

    /// Every reason, by an exhaustive match: a new variant fails to compile here.
    fn every_reason() -> Vec<CloseReason> {
        let all = vec![
            ClientClosed,
            Shutdown,
            PingTimeout,
            TooLarge,
            InvalidUtf8,
            RateLimited,
            SlowConsumer,
            Revoked,
            ProtocolError,
        ];
        for reason in &all {
            match reason {
                ClientClosed | Shutdown | PingTimeout | TooLarge | InvalidUtf8 | RateLimited | SlowConsumer
                | Revoked | ProtocolError => {}
            }
        }
        all
    }

    #[test]
    fn the_close_codes_sent_are_exactly_those_the_spec_publishes() {
        let sent: BTreeSet<u16> = every_reason().into_iter().map(|r| u16::from(r.code())).collect();
        let published: BTreeSet<u16> = crate::api::CLOSE_CODES.iter().map(|(code, _)| *code).collect();
        assert_eq!(sent, published, "update x-specserve-close-codes in asyncapi.yaml");
    }
}
