//! The server's TLS stream, on rustls's unbuffered API, so that an idle
//! connection holds no TLS buffer.
//!
//! tokio-rustls drives rustls's buffered connection, which keeps a 4 KiB
//! receive buffer per connection for as long as the connection lives: a third
//! of an idle TLS socket's memory (#33 item 4). Here the socket is read into
//! one buffer per thread, records are decrypted there, and a connection keeps
//! only what it could not finish: a partial record, plaintext its reader has
//! not taken yet, ciphertext the socket has not taken yet. Each is freed once
//! empty.
//!
//! Writes are encrypted as they come and go to the socket on flush (or once
//! [`OUTGOING_LIMIT`] bytes wait), so the frames a connection writes in one
//! wake leave in one system call. The errors are tokio-rustls's: a TLS error
//! is `InvalidData` (after the alert is sent if the socket takes it), a socket
//! that ends without `close_notify` is `UnexpectedEof`.

use std::cell::RefCell;
use std::io;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The per-thread receive buffer's size: two records of the largest size
/// rustls accepts (16 KiB of plaintext plus TLS 1.2's allowance).
const SCRATCH_BYTES: usize = 2 * MAX_RECORD_BYTES;

/// The largest TLS record on the wire rustls accepts.
const MAX_RECORD_BYTES: usize = 16 * 1024 + 2048 + 5;

/// The most received bytes one connection may hold unprocessed: a handshake
/// message may span records up to 64 KiB (rustls's own limit), plus a record.
const MAX_INCOMING_BYTES: usize = 64 * 1024 + MAX_RECORD_BYTES;

/// Encrypted bytes waiting for the socket beyond which a write first sends
/// them, and accepts no more until the socket takes some.
const OUTGOING_LIMIT: usize = 64 * 1024;

thread_local! {
    /// Where this thread's connections read the socket and decrypt: shared,
    /// because a connection needs it only while it is being polled.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Completes the server side of a TLS handshake on `io`, including the
/// session tickets rustls sends after it.
pub async fn accept<IO>(io: IO, config: Arc<rustls::ServerConfig>) -> io::Result<TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let conn = UnbufferedServerConnection::new(config).map_err(invalid_data)?;
    let mut stream = TlsStream {
        io,
        conn,
        incoming: Vec::new(),
        plaintext: Vec::new(),
        plaintext_taken: 0,
        outgoing: Vec::new(),
        outgoing_sent: 0,
        read_closed: false,
        write_closed: false,
    };
    std::future::poll_fn(|cx| stream.poll_handshake(cx)).await?;
    Ok(stream)
}

/// A TLS connection over `IO` after its handshake (see [`accept`]).
pub struct TlsStream<IO> {
    io: IO,
    conn: UnbufferedServerConnection,
    /// Received bytes rustls could not process yet: part of a record.
    incoming: Vec<u8>,
    /// Decrypted bytes the reader has not taken, from `plaintext_taken`.
    plaintext: Vec<u8>,
    plaintext_taken: usize,
    /// Encrypted bytes the socket has not taken, from `outgoing_sent`.
    outgoing: Vec<u8>,
    outgoing_sent: usize,
    /// The peer sent `close_notify` or the socket ended: reads return end of file.
    read_closed: bool,
    /// Our `close_notify` is queued: writes fail.
    write_closed: bool,
}

/// Where the TLS state machine stopped after consuming what it could.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rest {
    /// It needs more bytes from the peer to finish the handshake.
    Handshaking,
    /// Application data may flow (the handshake may still await the client's
    /// Finished: see `is_handshaking`).
    Traffic,
    /// Both sides sent `close_notify`.
    Closed,
}

/// What to do once the state machine allows application data.
#[derive(Clone, Copy)]
enum Intent<'a> {
    Nothing,
    Encrypt(&'a [u8]),
    CloseNotify,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> TlsStream<IO> {
    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = self.with_incoming(|this, incoming| {
            loop {
                let rest = this.advance(incoming, &mut ReadBuf::new(&mut []), Intent::Nothing)?;
                let sending = this.poll_send(cx)?;
                // Done: what the socket did not take yet (session tickets) goes
                // with the next write, as with tokio-rustls.
                if !this.conn.is_handshaking() && rest != Rest::Handshaking {
                    return Poll::Ready(Ok(()));
                }
                // Our flight goes out before we wait for theirs.
                ready!(sending);
                let ended = rest == Rest::Closed || this.read_closed;
                if ended || ready!(poll_fill(&mut this.io, cx, incoming))? == 0 {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof")));
                }
            }
        });
        self.send_alert_on_error(cx, result)
    }

    fn poll_read_inner(&mut self, cx: &mut Context<'_>, dst: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.take_plaintext(dst) || dst.remaining() == 0 || self.read_closed {
            return Poll::Ready(Ok(()));
        }
        self.with_incoming(|this, incoming| {
            loop {
                let before = dst.filled().len();
                let rest = this.advance(incoming, dst, Intent::Nothing)?;
                // Whatever the records asked us to send (a key update, an alert).
                if let Poll::Ready(Err(error)) = this.poll_send(cx) {
                    return Poll::Ready(Err(error));
                }
                if dst.filled().len() > before || rest == Rest::Closed || this.read_closed {
                    return Poll::Ready(Ok(()));
                }
                if ready!(poll_fill(&mut this.io, cx, incoming))? == 0 {
                    this.read_closed = true;
                    let why = if incoming.filled == 0 {
                        "peer closed connection without sending TLS close_notify"
                    } else {
                        "peer closed connection in the middle of a TLS record"
                    };
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::UnexpectedEof, why)));
                }
            }
        })
    }

    /// Encrypts what the caller writes into `outgoing`; sends only when
    /// enough waits, so a flush sends a wake's frames together.
    fn poll_write_inner(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.write_closed {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, "TLS close_notify already sent")));
        }
        if self.outgoing.len() - self.outgoing_sent >= OUTGOING_LIMIT {
            ready!(self.poll_send(cx))?;
        }
        let accepted = &buf[..buf.len().min(OUTGOING_LIMIT)];
        match self.advance_without_input(Intent::Encrypt(accepted))? {
            Rest::Traffic => Poll::Ready(Ok(accepted.len())),
            Rest::Handshaking => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::NotConnected, "TLS handshake not complete")))
            }
            Rest::Closed => Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, "TLS connection closed"))),
        }
    }

    fn poll_shutdown_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.write_closed {
            self.advance_without_input(Intent::CloseNotify)?;
            self.write_closed = true;
        }
        ready!(self.poll_send(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    /// Hands `outgoing` to the socket until it is empty, then frees it.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.outgoing_sent < self.outgoing.len() {
            // writev, as tokio-rustls's writes are: the same cost as send(2),
            // and counted where the bench counts writes (`/proc/<pid>/io` syscw).
            let unsent = [io::IoSlice::new(&self.outgoing[self.outgoing_sent..])];
            match ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &unsent))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                sent => self.outgoing_sent += sent,
            }
        }
        self.outgoing = Vec::new();
        self.outgoing_sent = 0;
        Poll::Ready(Ok(()))
    }

    /// A TLS error leaves an alert queued for the peer: it is sent if the
    /// socket takes it now (as tokio-rustls does), and the error returned.
    fn send_alert_on_error<T>(&mut self, cx: &mut Context<'_>, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(_)) = &result {
            let _ = self.advance_without_input(Intent::Nothing);
            let _ = self.poll_send(cx);
        }
        result
    }
}

impl<IO> TlsStream<IO> {
    /// Moves plaintext a reader has not taken yet into `dst`; whether it had any.
    fn take_plaintext(&mut self, dst: &mut ReadBuf<'_>) -> bool {
        let waiting = &self.plaintext[self.plaintext_taken..];
        if waiting.is_empty() {
            return false;
        }
        let taken = waiting.len().min(dst.remaining());
        dst.put_slice(&waiting[..taken]);
        self.plaintext_taken += taken;
        if self.plaintext_taken == self.plaintext.len() {
            self.plaintext = Vec::new();
            self.plaintext_taken = 0;
        }
        true
    }

    /// [`advance`](Self::advance) for what needs no received bytes (writes,
    /// close_notify, a queued alert): no buffer is lent, no plaintext taken.
    fn advance_without_input(&mut self, intent: Intent<'_>) -> io::Result<Rest> {
        let mut nothing_received = Incoming { buf: &mut Vec::new(), filled: 0 };
        self.advance(&mut nothing_received, &mut ReadBuf::new(&mut []), intent)
    }

    /// Runs rustls over the received bytes until it rests: decrypted records
    /// go to `dst` and what does not fit to `plaintext`; handshake messages,
    /// alerts and what `intent` asks for are encoded into `outgoing`.
    fn advance(&mut self, incoming: &mut Incoming<'_>, dst: &mut ReadBuf<'_>, intent: Intent<'_>) -> io::Result<Rest> {
        let Self { conn, plaintext, outgoing, read_closed, .. } = self;
        loop {
            let UnbufferedStatus { mut discard, state } = conn.process_tls_records(incoming.filled_mut());
            let rest = match state.map_err(invalid_data)? {
                ConnectionState::ReadTraffic(mut traffic) => {
                    while let Some(record) = traffic.next_record() {
                        let record = record.map_err(invalid_data)?;
                        discard += record.discard;
                        let direct = record.payload.len().min(dst.remaining());
                        dst.put_slice(&record.payload[..direct]);
                        plaintext.extend_from_slice(&record.payload[direct..]);
                    }
                    None
                }
                ConnectionState::EncodeTlsData(mut handshake) => {
                    append(outgoing, 1024, |out| {
                        handshake.encode(out).map_err(|error| match error {
                            EncodeError::InsufficientSize(size) => Some(size.required_size),
                            EncodeError::AlreadyEncoded => None,
                        })
                    })?;
                    None
                }
                // Encoded bytes wait in `outgoing`, which goes out in order
                // before anything encoded later: rustls may count them as sent.
                ConnectionState::TransmitTlsData(transmit) => {
                    transmit.done();
                    None
                }
                ConnectionState::PeerClosed => {
                    *read_closed = true;
                    None
                }
                ConnectionState::Closed => {
                    *read_closed = true;
                    Some(Rest::Closed)
                }
                ConnectionState::BlockedHandshake => Some(Rest::Handshaking),
                ConnectionState::WriteTraffic(mut traffic) => {
                    match intent {
                        Intent::Nothing => {}
                        Intent::Encrypt(data) => {
                            // A record adds at most 5 + 8 + 16 + 1 bytes (TLS 1.2's explicit nonce).
                            let records = data.len().div_ceil(16 * 1024).max(1);
                            append(outgoing, data.len() + 32 * records, |out| {
                                traffic.encrypt(data, out).map_err(encrypt_retry)
                            })?;
                        }
                        Intent::CloseNotify => {
                            append(outgoing, 64, |out| traffic.queue_close_notify(out).map_err(encrypt_retry))?;
                        }
                    }
                    Some(Rest::Traffic)
                }
                // 0-RTT is off (rustls's default `max_early_data_size` of 0).
                other => return Err(invalid_data(format!("unexpected TLS state {other:?}"))),
            };
            incoming.discard(discard);
            if let Some(rest) = rest {
                return Ok(rest);
            }
        }
    }

    /// Lends `f` this thread's receive buffer holding the bytes this
    /// connection kept from earlier reads; afterwards it keeps what rustls
    /// could not process, and nothing when all was.
    fn with_incoming<R>(&mut self, f: impl FnOnce(&mut Self, &mut Incoming<'_>) -> R) -> R {
        let kept = mem::take(&mut self.incoming);
        SCRATCH.with(|scratch| {
            // Only a TLS stream polled inside another's poll would find it
            // lent; it then reads into its own buffer.
            let mut own = Vec::new();
            let mut lent = scratch.try_borrow_mut().ok();
            let buf = lent.as_deref_mut().unwrap_or(&mut own);
            let size = SCRATCH_BYTES.max(kept.len() + MAX_RECORD_BYTES);
            if buf.len() < size {
                buf.resize(size, 0);
            }
            buf[..kept.len()].copy_from_slice(&kept);
            let mut incoming = Incoming { buf, filled: kept.len() };
            drop(kept);
            let result = f(self, &mut incoming);
            self.incoming = incoming.buf[..incoming.filled].to_vec();
            // A long handshake message grew it: give the memory back.
            if incoming.buf.len() > SCRATCH_BYTES {
                incoming.buf.truncate(SCRATCH_BYTES);
                incoming.buf.shrink_to_fit();
            }
            result
        })
    }
}

/// Received bytes lent to one poll: `buf[..filled]` awaits processing.
struct Incoming<'a> {
    buf: &'a mut Vec<u8>,
    filled: usize,
}

impl Incoming<'_> {
    fn filled_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.filled]
    }

    /// Drops the first `count` bytes, which rustls has processed.
    fn discard(&mut self, count: usize) {
        if count > 0 {
            self.buf.copy_within(count..self.filled, 0);
            self.filled -= count;
        }
    }
}

/// Reads from `io` after the bytes `incoming` holds; 0 at end of file.
fn poll_fill<IO: AsyncRead + Unpin>(
    io: &mut IO,
    cx: &mut Context<'_>,
    incoming: &mut Incoming<'_>,
) -> Poll<io::Result<usize>> {
    if incoming.filled >= MAX_INCOMING_BYTES {
        return Poll::Ready(Err(invalid_data("TLS message too large")));
    }
    if incoming.buf.len() < incoming.filled + MAX_RECORD_BYTES {
        incoming.buf.resize(incoming.filled + MAX_RECORD_BYTES, 0);
    }
    let mut room = ReadBuf::new(&mut incoming.buf[incoming.filled..]);
    ready!(Pin::new(io).poll_read(cx, &mut room))?;
    let read = room.filled().len();
    incoming.filled += read;
    Poll::Ready(Ok(read))
}

/// Appends what `write` puts in a slice, trying `guess` bytes of room first
/// and the size it asks for (`Err(Some(size))`) after.
fn append(
    out: &mut Vec<u8>,
    guess: usize,
    mut write: impl FnMut(&mut [u8]) -> Result<usize, Option<usize>>,
) -> io::Result<()> {
    let start = out.len();
    out.resize(start + guess, 0);
    let written = match write(&mut out[start..]) {
        Ok(written) => Ok(written),
        Err(Some(required)) => {
            out.resize(start + required, 0);
            write(&mut out[start..])
        }
        Err(None) => Err(None),
    };
    match written {
        Ok(written) => {
            out.truncate(start + written);
            Ok(())
        }
        Err(_) => {
            out.truncate(start);
            Err(invalid_data("TLS record could not be encoded"))
        }
    }
}

fn encrypt_retry(error: EncryptError) -> Option<usize> {
    match error {
        EncryptError::InsufficientSize(size) => Some(size.required_size),
        // The sequence numbers ran out: the connection cannot send again.
        EncryptError::EncryptExhausted => None,
    }
}

fn invalid_data(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, dst: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = this.poll_read_inner(cx, dst);
        this.send_alert_on_error(cx, result)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = this.poll_write_inner(cx, buf);
        this.send_alert_on_error(cx, result)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_shutdown_inner(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::pki_types::ServerName;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
    use tokio_rustls::TlsConnector;
    use tokio_rustls::client::TlsStream as ClientStream;

    use super::{TlsStream, accept};

    /// A server and a tokio-rustls client over an in-memory pipe that holds
    /// `pipe_bytes` at most, so small pipes split records across reads.
    async fn pair(pipe_bytes: usize) -> (TlsStream<DuplexStream>, ClientStream<DuplexStream>) {
        let (server_end, client_end) = duplex(pipe_bytes);
        let (config, fingerprint) = server_config();
        let connector = TlsConnector::from(crate::client::pinned_config(&fingerprint));
        let name = ServerName::try_from("localhost").expect("name");
        let (server, client) = tokio::join!(accept(server_end, config), connector.connect(name, client_end));
        (server.expect("server handshake"), client.expect("client handshake"))
    }

    /// A server configuration with a new self-signed certificate, and its fingerprint.
    fn server_config() -> (Arc<rustls::ServerConfig>, String) {
        let (certificate, key) = super::super::self_signed().expect("self-signed certificate");
        let fingerprint = super::super::fingerprint(&certificate);
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![certificate], key)
            .expect("server config");
        (Arc::new(config), fingerprint)
    }

    /// Bytes that show where a slip would put them.
    fn counting(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    /// What a server reads `step` bytes at a time until `len` arrived.
    async fn read_in_steps(server: &mut TlsStream<DuplexStream>, len: usize, step: usize) -> Vec<u8> {
        let mut received = Vec::new();
        let mut chunk = vec![0; step];
        while received.len() < len {
            let read = server.read(&mut chunk).await.expect("server read");
            assert_ne!(read, 0, "ended after {} of {len} bytes", received.len());
            received.extend_from_slice(&chunk[..read]);
        }
        received
    }

    #[tokio::test]
    async fn bytes_cross_both_ways_whatever_the_pipe_and_read_sizes() {
        for (pipe, step) in [(64 * 1024, 64 * 1024), (7, 1024), (100, 1), (16 * 1024, 5000)] {
            let (mut server, mut client) = pair(pipe).await;
            let upstream = counting(100_000);
            let (_, received) = tokio::join!(
                async {
                    client.write_all(&upstream).await.expect("client write");
                    client.flush().await.expect("client flush");
                },
                read_in_steps(&mut server, upstream.len(), step),
            );
            assert!(received == upstream, "pipe {pipe}, reads of {step}: client -> server");

            let downstream = counting(70_000);
            let mut echoed = vec![0; downstream.len()];
            let (_, read) = tokio::join!(
                async {
                    for part in downstream.chunks(3000) {
                        server.write_all(part).await.expect("server write");
                    }
                    server.flush().await.expect("server flush");
                },
                client.read_exact(&mut echoed),
            );
            read.expect("client read");
            assert!(echoed == downstream, "pipe {pipe}: server -> client");
        }
    }

    #[tokio::test]
    async fn an_idle_connection_keeps_no_buffer() {
        let (mut server, mut client) = pair(7).await;
        let (_, received) = tokio::join!(
            async {
                client.write_all(&counting(40_000)).await.expect("client write");
                client.flush().await.expect("client flush");
            },
            read_in_steps(&mut server, 40_000, 333),
        );
        assert_eq!(received.len(), 40_000);
        let mut reply = vec![0; 20_000];
        let (_, read) = tokio::join!(
            async {
                server.write_all(&counting(20_000)).await.expect("server write");
                server.flush().await.expect("server flush");
            },
            client.read_exact(&mut reply),
        );
        read.expect("client read");
        let held = [server.incoming.capacity(), server.plaintext.capacity(), server.outgoing.capacity()];
        assert_eq!(held, [0, 0, 0], "incoming, plaintext, outgoing");
    }

    #[tokio::test]
    async fn writes_wait_for_a_flush_and_go_out_together() {
        let (mut server, mut client) = pair(64 * 1024).await;
        server.write_all(b"one ").await.expect("write");
        server.write_all(b"two").await.expect("write");
        assert!(!server.outgoing.is_empty(), "nothing is sent before the flush");
        server.flush().await.expect("flush");
        let mut received = [0; 7];
        client.read_exact(&mut received).await.expect("client read");
        assert_eq!(&received, b"one two");
    }

    #[tokio::test]
    async fn close_notify_ends_reads_cleanly_both_ways() {
        let (mut server, mut client) = pair(1024).await;
        client.write_all(b"last words").await.expect("client write");
        client.shutdown().await.expect("client close_notify");
        let mut received = Vec::new();
        server.read_to_end(&mut received).await.expect("the server reads to a clean end");
        assert_eq!(received, b"last words");

        server.write_all(b"reply after their close").await.expect("a half-closed peer may still be written to");
        server.shutdown().await.expect("server close_notify");
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.expect("the client reads to a clean end");
        assert_eq!(reply, b"reply after their close");
        let error = server.write_all(b"more").await.expect_err("nothing is written after close_notify");
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe);
    }

    #[tokio::test]
    async fn a_socket_that_ends_without_close_notify_is_an_unexpected_eof() {
        let (mut server, client) = pair(1024).await;
        let (mut raw, _) = client.into_inner();
        raw.write_all(&[23, 3, 3, 0, 40, 1, 2, 3]).await.expect("half a record");
        drop(raw);
        let error = server.read(&mut [0; 64]).await.expect_err("truncated");
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
        assert!(error.to_string().contains("middle of a TLS record"), "{error}");

        let (mut server, client) = pair(1024).await;
        drop(client);
        let error = server.read(&mut [0; 64]).await.expect_err("no close_notify");
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn a_forged_record_is_refused_with_an_alert() {
        let (mut server, client) = pair(1024).await;
        let (mut raw, _) = client.into_inner();
        let mut forged = vec![23, 3, 3, 0, 40];
        forged.extend([0xAB; 40]);
        raw.write_all(&forged).await.expect("forged record");
        let error = server.read(&mut [0; 64]).await.expect_err("forged");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        let mut alert = [0; 5];
        raw.read_exact(&mut alert).await.expect("the alert reaches the peer");
        assert_eq!(alert[0], 23, "an encrypted record (TLS 1.3 alerts are wrapped)");
    }

    #[tokio::test]
    async fn a_handshake_that_is_not_tls_fails_with_an_alert() {
        let (server_end, mut client_end) = duplex(1024);
        client_end.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("plain HTTP");
        let error = accept(server_end, server_config().0).await.err().expect("not TLS");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        let mut alert = [0; 7];
        client_end.read_exact(&mut alert).await.expect("the alert reaches the peer");
        assert_eq!(alert[0], 21, "a plaintext alert record");
    }
}
