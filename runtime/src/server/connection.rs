//! One WebSocket connection, driven by one task that owns the socket.
//!
//! Frames are read and dispatched pipelined (up to `max_in_flight` at once) and
//! answered in request order through a bounded queue of replies. The queue
//! pushes back instead of dropping: while it is full the connection stops
//! reading, so a client may pipeline any burst and read at its own pace. Only
//! a client whose socket accepts nothing for `send_timeout` while replies wait
//! is a slow consumer; it gets a close frame (1008) if its socket still takes
//! one, written past the queue.
//!
//! Every frame the client sends (text, binary, ping) takes a token from the
//! connection's bucket; a frame without one is refused (`rate_limited`, in
//! order) and counts as a strike; more than `rate_limit_strikes` strikes within
//! `rate_limit_window` close the connection with 1008.
//!
//! A frame of an exclusive operation (`x-specserve-exclusive`) runs alone: the
//! frames before it finish first and the frames after it are read after its
//! reply, so a logout takes effect for everything pipelined behind it. A frame
//! of an ordered operation (`x-specserve-ordered`) starts once the previous
//! ordered frame of the connection finished, so pipelined chat messages are
//! stored in the order sent, while other frames keep running beside them.
//!
//! Events (server push) arrive through the connection's lane in the hub and
//! join the same ordered writes as replies; a lane that overflows closes the
//! connection as a slow consumer.
//!
//! Every way a connection ends has its [`CloseReason`]; specs publish the
//! close codes (`x-specserve-close-codes`), and [`super::close::SERVER_CLOSE_CODES`] lists
//! the ones the server starts, for specs to be checked against.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::time::Sleep;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::close::CloseReason;
use super::config::Limits;
use super::in_flight::{InFlight, Pending};
use super::signals::{Signal, Signals};
use super::wake_flag::WakeFlag;
use crate::context::ConnectionInfo;
use crate::error::ApiError;
use crate::hub::{Hub, Lane, Registration, Topic};
use crate::rate_limit::TokenBucket;
use crate::service::{Outcome, Scheduling, Service};

/// Serves one upgraded socket until it closes, then returns why, and the
/// principals it was the last bound connection of (they went offline).
///
/// Not an `async fn`: its arguments would be kept in the future beside the
/// [`Connection`] made of them (~0.45 KiB of every idle connection's task).
pub(crate) fn run<Svc, S>(
    socket: WebSocketStream<S>,
    shared: Arc<Shared<Svc>>,
    binding: Svc::Binding,
    info: Arc<ConnectionInfo>,
    membership: Membership,
    shutdown: CancellationToken,
) -> impl Future<Output = (CloseReason, Vec<Box<str>>)> + Send
where
    Svc: Service,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut connection = Connection::new(socket, shared, binding, info, membership);
    async move {
        // In a block, so that the signals' futures are not kept beside `finish`'s
        // in the task: an idle connection is ~0.3 KiB smaller.
        let reason = {
            let shutdown = shutdown.cancelled_owned();
            let revoked = connection.info.close_signal().clone().cancelled_owned();
            let overflow = connection.overflow.clone().cancelled_owned();
            tokio::pin!(shutdown, revoked, overflow);
            let mut signals = Signals::new(shutdown, revoked, overflow);
            std::future::poll_fn(|cx| connection.poll_serve(cx, &mut signals)).await
        };
        // Boxed: its state is needed once, at the close, not in every idle task.
        Box::pin(connection.finish(reason)).await;
        // Requests still running (a close that does not wait for them) are run to
        // their end, their replies discarded, never dropped: a handler dropped
        // mid-way would abandon its database statement mid-protocol (sqlx reads a
        // reply's header and body in two steps, so the connection handed back
        // would read the rest of an old reply as the next one: a panic, or another
        // statement's rows), and would separate a write from what follows it (a
        // stored message not pushed). The server's tracker holds the task, so a
        // graceful shutdown waits for it.
        let unfinished = std::mem::take(&mut connection.in_flight);
        if !unfinished.is_empty() {
            connection.shared.tracker.spawn(unfinished.for_each(|_| std::future::ready(())));
        }
        connection.info.close_signal().cancel();
        let offline = connection.registration.take().map(Registration::leave).unwrap_or_default();
        (reason, offline)
    }
}

/// A connection's place in the hub. It is taken before the upgrade is
/// answered, so a client whose upgrade succeeded receives every event
/// published from then on (they wait in the lane until the loop runs).
pub(crate) struct Membership {
    registration: Registration,
    events: crate::hub::Events,
    overflow: CancellationToken,
}

impl Membership {
    /// Registers connection `info` under `topics` with a lane of `capacity` events.
    pub(crate) fn join(hub: &Hub, topics: Vec<Topic>, info: &ConnectionInfo, capacity: usize) -> Membership {
        let (lane, events, overflow) = Lane::new(info.id(), capacity);
        let lane = lane.on_worker(super::workers::Worker::current().map(|worker| worker.index));
        Membership { registration: hub.register(topics, lane, info.close_signal().clone()), events, overflow }
    }
}

/// An already-decided reply, queued behind earlier ones to keep the order.
fn ready(outcome: Outcome) -> Pending {
    Box::pin(std::future::ready((outcome, Duration::ZERO)))
}

/// The state of one connection between polls.
struct Connection<Svc: Service, S> {
    socket: WebSocketStream<S>,
    shared: Arc<Shared<Svc>>,
    binding: Arc<Svc::Binding>,
    info: Arc<ConnectionInfo>,
    /// Events published to this connection's topics.
    events: crate::hub::Events,
    /// Cancelled when an event found the lane full.
    overflow: CancellationToken,
    /// Keeps the connection in the hub until it leaves.
    registration: Option<Registration>,
    /// Replies (and pings) waiting for the socket, in order; at most `outbound_queue`.
    outgoing: VecDeque<Message>,
    /// Frames being answered, in the order they were read.
    in_flight: InFlight,
    /// An exclusive frame waiting for the frames before it.
    waiting: Option<Svc::Prepared>,
    /// An exclusive frame is in `in_flight`: read nothing until it is answered.
    exclusive_running: bool,
    /// The last ordered frame started: closed when it finishes, which the
    /// next ordered frame waits for.
    ordered_tail: Option<oneshot::Receiver<()>>,
    /// Why the connection is closing once the replies in flight are written
    /// (the user was deleted, or the client exceeded the rate limit): read
    /// nothing more meanwhile.
    closing: Option<CloseReason>,
    /// Written frames not yet flushed to the socket.
    unflushed: bool,
    frames: TokenBucket,
    strikes: TokenBucket,
    ping: tokio::time::Interval,
    pong_deadline: Option<Pin<Box<Sleep>>>,
    /// Armed while output waits for a socket that accepts nothing.
    stalled: Option<Pin<Box<Sleep>>>,
    /// Up when the event lane or a timer woke the task (or a timer was
    /// armed): only then are they polled, not on every frame's wake.
    sources: WakeFlag,
}

impl<Svc, S> Connection<Svc, S>
where
    Svc: Service,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn new(
        socket: WebSocketStream<S>,
        shared: Arc<Shared<Svc>>,
        binding: Svc::Binding,
        info: Arc<ConnectionInfo>,
        membership: Membership,
    ) -> Self {
        let limits = &shared.limits;
        let Membership { registration, events, overflow } = membership;
        let strikes = f64::from(limits.rate_limit_strikes);
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + limits.ping_interval, limits.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Connection {
            socket,
            binding: Arc::new(binding),
            info,
            events,
            overflow,
            registration: Some(registration),
            outgoing: VecDeque::with_capacity(4),
            in_flight: InFlight::default(),
            waiting: None,
            exclusive_running: false,
            ordered_tail: None,
            closing: None,
            unflushed: false,
            frames: TokenBucket::new(limits.frames_per_second, limits.frame_burst),
            strikes: TokenBucket::new(strikes / limits.rate_limit_window.as_secs_f64().max(0.001), strikes),
            ping,
            pong_deadline: None,
            stalled: None,
            sources: WakeFlag::new(),
            shared,
        }
    }

    fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// Serves until the connection must end; returns why.
    fn poll_serve(&mut self, cx: &mut Context<'_>, signals: &mut Signals<'_>) -> Poll<CloseReason> {
        signals.register(cx);
        self.sources.register(cx);
        // The socket said "nothing to read" in this poll: its waker is set,
        // and asking again before the task sleeps finds nothing new (it was
        // the third read poll of every frame, #33 item 1).
        let mut read_waits = false;
        loop {
            if let Err(reason) = self.poll_write(cx) {
                return Poll::Ready(reason);
            }
            let sources_due = self.sources.take();
            let mut progress = self.collect_replies(cx) | (sources_due && self.collect_events());
            // After collecting: a handler that deleted the user has just fired
            // its signal, and no frame behind it may be read.
            if let Some(signal) = signals.check() {
                match signal {
                    Signal::Stop(reason) => return Poll::Ready(reason),
                    // Read nothing more; close once the frames in flight are answered,
                    // so the frame that deleted the user gets its reply first.
                    Signal::Revoked if self.closing.is_none() => {
                        self.closing = Some(CloseReason::Revoked);
                        self.waiting = None;
                    }
                    Signal::Revoked => {}
                }
            }
            if let Some(reason) = self.closing
                && self.in_flight.is_empty()
            {
                return Poll::Ready(reason);
            }
            if self.in_flight.is_empty()
                && let Some(prepared) = self.waiting.take()
            {
                self.start(prepared);
                progress = true;
            }
            if !read_waits && self.may_read() {
                match self.socket.poll_next_unpin(cx) {
                    Poll::Ready(message) => {
                        match self.receive(message) {
                            // The frames before the last strike are answered first.
                            Err(CloseReason::RateLimited) => {
                                self.closing = Some(CloseReason::RateLimited);
                                self.waiting = None;
                            }
                            Err(reason) => return Poll::Ready(reason),
                            Ok(()) => {}
                        }
                        progress = true;
                    }
                    Poll::Pending => read_waits = true,
                }
            }
            match self.poll_timers(sources_due) {
                Ok(queued_ping) => progress |= queued_ping,
                Err(reason) => return Poll::Ready(reason),
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// Whether to read the next frame: room for its reply and no exclusive frame pending.
    fn may_read(&self) -> bool {
        self.closing.is_none()
            && self.waiting.is_none()
            && !self.exclusive_running
            && self.in_flight.len() < self.limits().max_in_flight
            && self.outgoing.len() < self.limits().outbound_queue
    }

    /// Hands queued messages to the socket and flushes. While output waits,
    /// the stalled-socket deadline runs; every write the socket takes restarts it.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Result<(), CloseReason> {
        let mut wrote = false;
        while !self.outgoing.is_empty() {
            match self.socket.poll_ready_unpin(cx) {
                Poll::Ready(Ok(())) => {
                    let message = self.outgoing.pop_front().expect("checked non-empty");
                    self.socket.start_send_unpin(message).map_err(close_reason)?;
                    self.unflushed = true;
                    wrote = true;
                }
                Poll::Ready(Err(error)) => return Err(close_reason(error)),
                Poll::Pending => break,
            }
        }
        if self.unflushed {
            match self.socket.poll_flush_unpin(cx) {
                Poll::Ready(Ok(())) => {
                    self.unflushed = false;
                    wrote = true;
                }
                Poll::Ready(Err(error)) => return Err(close_reason(error)),
                Poll::Pending => {}
            }
        }
        let blocked = self.unflushed || !self.outgoing.is_empty();
        if !blocked {
            self.stalled = None;
        } else if wrote || self.stalled.is_none() {
            self.stalled = Some(Box::pin(tokio::time::sleep(self.limits().send_timeout)));
            self.sources.raise();
        }
        Ok(())
    }

    /// Moves finished replies into the outgoing queue, in order, while it has room.
    fn collect_replies(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        while self.outgoing.len() < self.limits().outbound_queue {
            let Poll::Ready(Some((outcome, elapsed))) = self.in_flight.poll_next_unpin(cx) else { break };
            self.queue_reply(outcome, elapsed);
            if self.in_flight.is_empty() {
                self.exclusive_running = false;
            }
            progress = true;
        }
        progress
    }

    /// Counts an answered frame and queues its reply (a message without reply has none).
    fn queue_reply(&mut self, outcome: Outcome, elapsed: Duration) {
        self.shared.metrics.dispatched(&outcome, elapsed);
        if !outcome.text.is_empty() {
            self.shared.metrics.frame_out(outcome.operation);
            self.outgoing.push_back(Message::text(outcome.text));
        }
    }

    /// Moves published events into the outgoing queue while it has room;
    /// called when the `sources` flag was up.
    fn collect_events(&mut self) -> bool {
        let waker = self.sources.waker();
        let mut cx = Context::from_waker(&waker);
        let mut progress = false;
        loop {
            if self.outgoing.len() >= self.limits().outbound_queue {
                // Events may be waiting in the lane: look again once there is room.
                self.sources.raise();
                break;
            }
            let Poll::Ready(Some(frame)) = self.events.poll_recv(&mut cx) else { break };
            self.shared.metrics.event_out();
            self.outgoing.push_back(Message::Text(frame));
            progress = true;
        }
        progress
    }

    /// Handles one message read from the client.
    fn receive(&mut self, message: Option<Result<Message, WsError>>) -> Result<(), CloseReason> {
        // Any frame shows the peer is alive.
        self.pong_deadline = None;
        let message = match message {
            None => return Err(CloseReason::ClientClosed(None)),
            Some(Ok(Message::Close(frame))) => return Err(CloseReason::ClientClosed(frame.map(|f| u16::from(f.code)))),
            Some(Ok(message)) => message,
            Some(Err(error)) => return Err(close_reason(error)),
        };
        if matches!(message, Message::Pong(_) | Message::Frame(_)) {
            return Ok(());
        }
        // Text, binary and ping frames all cost a token: a ping flood is a flood.
        if !self.frames.try_take() {
            if !self.strikes.try_take() {
                return Err(CloseReason::RateLimited);
            }
            let service = &self.shared.service;
            let refused = match &message {
                Message::Text(text) => {
                    let prepared = service.prepare(&self.binding, text).ok();
                    Some(service.refuse(&self.binding, prepared, ApiError::rate_limited()))
                }
                Message::Binary(_) => Some(service.refuse(&self.binding, None, ApiError::rate_limited())),
                _ => None, // a refused ping gets no reply of its own
            };
            if let Some(refused) = refused {
                self.decided(refused);
            }
            return Ok(());
        }
        match message {
            Message::Text(text) => match self.shared.service.prepare(&self.binding, &text) {
                Ok(prepared)
                    if self.shared.service.scheduling(&prepared) == Scheduling::Exclusive
                        && !self.in_flight.is_empty() =>
                {
                    self.waiting = Some(prepared);
                }
                Ok(prepared) => self.start(prepared),
                Err(outcome) => self.decided(outcome),
            },
            Message::Binary(_) => {
                let error = ApiError::bad_request("binary frames are not supported; send JSON text");
                self.decided(self.shared.service.refuse(&self.binding, None, error));
            }
            _ => {} // pings are answered by the WebSocket layer
        }
        Ok(())
    }

    /// Answers a frame whose reply was decided without a handler (not JSON,
    /// no such message, rate limited): queued at once when nothing is in
    /// flight, else behind the frames read before it. `receive` runs only
    /// while the reply queue has room, so there is room for it.
    fn decided(&mut self, outcome: Outcome) {
        if self.in_flight.is_empty() {
            self.queue_reply(outcome, Duration::ZERO);
        } else {
            self.in_flight.push(ready(outcome));
        }
    }

    /// Starts answering a routed frame.
    fn start(&mut self, prepared: Svc::Prepared) {
        let scheduling = self.shared.service.scheduling(&prepared);
        self.exclusive_running = scheduling == Scheduling::Exclusive;
        let running = self.shared.service.run(&self.binding, &self.info, prepared);
        if scheduling != Scheduling::Ordered {
            self.in_flight.push(Box::pin(async move {
                let started = Instant::now();
                let outcome = running.await;
                (outcome, started.elapsed())
            }));
            return;
        }
        let (done, tail) = oneshot::channel::<()>();
        let previous = self.ordered_tail.replace(tail);
        self.in_flight.push(Box::pin(async move {
            if let Some(previous) = previous {
                // Closed (an error) when the previous one's `done` is dropped.
                let _ = previous.await;
            }
            let started = Instant::now();
            let outcome = running.await;
            drop(done);
            (outcome, started.elapsed())
        }));
    }

    /// Pings, pong deadlines and the stalled-socket deadline, when `due`
    /// (the `sources` flag was up); `true` when a ping was queued. A timer
    /// that fired or was armed raises the flag again, so that the next check
    /// polls it: that poll is what registers it.
    fn poll_timers(&mut self, due: bool) -> Result<bool, CloseReason> {
        if !due {
            return Ok(false);
        }
        let (reading, pong_timeout) = (self.may_read(), self.limits().pong_timeout);
        let waker = self.sources.waker();
        let mut cx = Context::from_waker(&waker);
        if let Some(stalled) = &mut self.stalled
            && stalled.as_mut().poll(&mut cx).is_ready()
        {
            return Err(CloseReason::SlowConsumer);
        }
        if let Some(deadline) = &mut self.pong_deadline
            && deadline.as_mut().poll(&mut cx).is_ready()
        {
            if reading {
                return Err(CloseReason::PingTimeout);
            }
            // We are not reading (the client's replies or ours are backed up), so
            // its pong may be sitting unread: the stalled-socket deadline decides.
            deadline.as_mut().reset(tokio::time::Instant::now() + pong_timeout);
            self.sources.raise();
        }
        if self.ping.poll_tick(&mut cx).is_ready() {
            self.sources.raise();
            if self.pong_deadline.is_none() {
                self.outgoing.push_back(Message::Ping(Default::default()));
                self.pong_deadline = Some(Box::pin(tokio::time::sleep(pong_timeout)));
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Ends the connection: on shutdown, answers what was already read; then
    /// sends the close frame (a slow consumer's past its queue) and drives the
    /// close handshake for at most `close_timeout`.
    async fn finish(&mut self, reason: CloseReason) {
        self.shared.metrics.connection_closing(reason);
        if reason == CloseReason::Shutdown {
            if let Some(prepared) = self.waiting.take() {
                let refused = self.shared.service.refuse(
                    &self.binding,
                    Some(prepared),
                    ApiError::unavailable("server shutting down"),
                );
                self.in_flight.push(ready(refused));
            }
            while let Some((outcome, elapsed)) = self.in_flight.next().await {
                self.queue_reply(outcome, elapsed);
            }
        }
        let deadline = tokio::time::Instant::now() + self.limits().close_timeout;
        let close = async {
            match reason {
                // The echo of the client's close frame is queued by the WebSocket
                // layer, which writes it and ends (an error) without flushing the
                // transport, where TLS sends. A socket that just ended takes nothing.
                CloseReason::ClientClosed(_) => {
                    let _ = self.socket.flush().await;
                    let _ = self.socket.get_mut().flush().await;
                    return;
                }
                // Its queue is what it does not read: skip it, the close frame goes first.
                CloseReason::SlowConsumer => self.outgoing.clear(),
                _ => {}
            }
            for message in self.outgoing.drain(..) {
                if self.socket.feed(message).await.is_err() {
                    return;
                }
            }
            let code = reason.server_code().unwrap_or(CloseCode::Normal);
            let frame = CloseFrame { code, reason: reason.text().into() };
            if self.socket.send(Message::Close(Some(frame))).await.is_err() {
                return;
            }
            // Wait for the client's close reply (the WebSocket layer then ends the socket).
            while self.socket.next().await.is_some() {}
        };
        let _ = tokio::time::timeout_at(deadline, close).await;
    }
}

/// How a WebSocket error ends the connection.
fn close_reason(error: WsError) -> CloseReason {
    match error {
        WsError::Capacity(_) => CloseReason::TooLarge,
        WsError::Utf8(_) => CloseReason::InvalidUtf8,
        // A client that dropped the TCP connection without a close frame (a
        // phone losing its network, a killed tab) went away; it broke no rule.
        WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Io(_)
        | WsError::Protocol(tokio_tungstenite::tungstenite::error::ProtocolError::ResetWithoutClosingHandshake) => {
            CloseReason::ClientClosed(None)
        }
        _ => CloseReason::ProtocolError,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::CloseReason::{self, *};

    /// Every reason the server starts, by an exhaustive match: a new variant
    /// fails to compile here.
    fn every_server_reason() -> Vec<CloseReason> {
        let all = vec![Shutdown, PingTimeout, TooLarge, InvalidUtf8, RateLimited, SlowConsumer, Revoked, ProtocolError];
        for reason in &all {
            match reason {
                ClientClosed(_) | Shutdown | PingTimeout | TooLarge | InvalidUtf8 | RateLimited | SlowConsumer
                | Revoked | ProtocolError => {}
            }
        }
        all
    }

    #[test]
    fn a_client_that_vanishes_closed_its_connection_and_a_broken_frame_is_a_protocol_error() {
        use tokio_tungstenite::tungstenite::error::{Error, ProtocolError as Broken};
        assert_eq!(super::close_reason(Error::Protocol(Broken::ResetWithoutClosingHandshake)), ClientClosed(None));
        assert_eq!(super::close_reason(Error::Protocol(Broken::UnmaskedFrameFromClient)), ProtocolError);
    }

    #[test]
    fn server_close_codes_lists_every_code_the_server_starts_a_close_with() {
        let mut sent: BTreeSet<u16> =
            every_server_reason().into_iter().filter_map(|r| r.server_code()).map(u16::from).collect();
        // A client's close is answered with its own code; 1000 is the normal one.
        sent.insert(1000);
        assert_eq!(sent, crate::server::close::SERVER_CLOSE_CODES.into_iter().collect());
    }
}
