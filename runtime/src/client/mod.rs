//! The connection behind generated client methods: one WebSocket; requests
//! carry a fresh correlation id and replies are matched back by it, so many
//! calls can be in flight at once (pipelining). Frames that answer no call
//! (events, or replies to calls that timed out) go to [`Connection::next_unmatched`].
//!
//! Generated code wraps this in a typed `Client` with one method per operation;
//! the layout of its messages (where correlation ids live) comes from the spec.

mod pinning;

pub use pinning::{pinned_config, web_roots_config};

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::encode::{self, Echo, Shape};
use crate::error::ErrorBody;
use crate::frame::{self, Correlation, IdRule, Part};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Frames kept for [`Connection::next_unmatched`] before the oldest are dropped.
const UNMATCHED_BUFFER: usize = 1024;

/// Why a call failed. `E` is the spec's error body type.
#[derive(Debug, thiserror::Error)]
pub enum ClientError<E: std::fmt::Debug = ErrorBody> {
    /// The server answered with an error reply.
    #[error("server error: {0:?}")]
    Api(E),
    /// Connecting or the WebSocket itself failed.
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The connection closed before the reply arrived.
    #[error("connection closed")]
    Closed,
    /// No reply within the configured timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The reply does not match the contract.
    #[error("unexpected reply: {0}")]
    Protocol(String),
}

/// One receive operation's message as a generated client sends it: a row
/// of the client's call table, which [`Connection::request`] serves.
#[derive(Debug)]
pub struct Call {
    /// The request's layout.
    pub shape: &'static Shape,
    /// The payload property the request goes under (`payload` of the seed
    /// API's `{"payload": ..}`); `None`: the request is the whole payload.
    pub under: Option<&'static str>,
    /// Where its correlation id goes and how ids are made, when the message has one.
    pub correlation: Option<Correlation>,
    /// Whether the connection's token goes into the frame (the credential property).
    pub credential: bool,
    /// Whether the operation replies.
    pub replies: bool,
    /// The error message's layout and where its body is (`/error`); `None`:
    /// the runtime's own error frame, `{"error": {"code", ..}}`.
    pub error: Option<(&'static Shape, &'static str)>,
    /// Frames are `{"headers", "payload"}`.
    pub enveloped: bool,
}

impl Call {
    /// A request in `shape` with no correlation id, no credential and the
    /// runtime's own error frame, that expects a reply: the row the
    /// generated table overrides field by field.
    pub const fn new(shape: &'static Shape) -> Call {
        Call { shape, under: None, correlation: None, credential: false, replies: true, error: None, enveloped: false }
    }

    /// A call with nothing declared and no layout yet: where a generated
    /// table's shared fields start (`Call { correlation, ..Call::SHARED }`).
    pub const SHARED: Call = Call::new(&Shape::flat(&[]));

    /// This call in `shape`: what lets a generated table write what its
    /// calls share once (`SHARED.shaped(&SHAPE_3)`).
    pub const fn shaped(self, shape: &'static Shape) -> Call {
        Call { shape, ..self }
    }

    /// This call with the connection's token in the frame.
    pub const fn with_credential(self) -> Call {
        Call { credential: true, ..self }
    }

    /// This call, expecting no reply.
    pub const fn without_reply(self) -> Call {
        Call { replies: false, ..self }
    }
}

/// `{"<property>": body}` without building a `Value` first.
struct Under<'a, B: ?Sized> {
    property: &'static str,
    body: &'a B,
}

impl<B: serde::Serialize + ?Sized> serde::Serialize for Under<'_, B> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.property, self.body)?;
        map.end()
    }
}

/// A reply's payload as `T`.
pub fn decode<T: serde::de::DeserializeOwned, E: std::fmt::Debug>(reply: Value) -> Result<T, ClientError<E>> {
    serde_json::from_value(reply).map_err(|e| ClientError::Protocol(e.to_string()))
}

/// How to connect.
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// TLS settings for `wss://` URLs (for example trusting a self-signed certificate).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Sent once as `Authorization: Bearer` on the upgrade.
    pub bearer_token: Option<String>,
    /// Per-request reply timeout; none by default.
    pub timeout: Option<Duration>,
}

impl ClientOptions {
    /// Options that trust only the server certificate with this SHA-256
    /// fingerprint, as `specserve serve` logs it for its self-signed certificate.
    pub fn pinned(fingerprint: &str) -> Self {
        ClientOptions { tls: Some(pinned_config(fingerprint)), ..ClientOptions::default() }
    }
}

/// Where the replies of a path keep their correlation ids (from the spec).
#[derive(Debug, Clone, Copy)]
pub struct Replies {
    /// The distinct correlation locations of the path's reply messages.
    pub correlations: &'static [(Part, &'static str)],
    /// Frames on the path are `{"headers", "payload"}` objects.
    pub enveloped: bool,
}

#[derive(Default)]
struct Waiting {
    by_id: HashMap<String, oneshot::Sender<Value>>,
    /// Calls whose messages carry no correlation id: answered in order by
    /// frames that carry none.
    in_order: VecDeque<oneshot::Sender<Value>>,
}

/// A connection to a server. Cheap to share: every method takes `&self`.
pub struct Connection {
    sink: tokio::sync::Mutex<SplitSink<Socket, Message>>,
    waiting: Arc<Mutex<Waiting>>,
    unmatched: tokio::sync::Mutex<mpsc::Receiver<Value>>,
    next_id: AtomicU64,
    token: Mutex<Option<String>>,
    timeout: Option<Duration>,
    reader: tokio::task::JoinHandle<()>,
}

impl Connection {
    /// Connects to `url` (`ws://` or `wss://`).
    pub async fn connect<E: std::fmt::Debug>(
        url: &str,
        options: ClientOptions,
        replies: Replies,
    ) -> Result<Connection, ClientError<E>> {
        let mut request = url.into_client_request()?;
        if let Some(token) = &options.bearer_token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| ClientError::Protocol("token is not a valid header value".into()))?;
            request.headers_mut().insert("authorization", value);
        }
        let connector = options.tls.map(Connector::Rustls);
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(crate::websocket::config()),
            false,
            connector,
        )
        .await?;
        Ok(Connection::from_socket(socket, options.timeout, replies))
    }

    fn from_socket(socket: Socket, timeout: Option<Duration>, replies: Replies) -> Connection {
        let (sink, mut stream) = socket.split();
        let waiting: Arc<Mutex<Waiting>> = Arc::default();
        let routing = Arc::clone(&waiting);
        let (unmatched_tx, unmatched_rx) = mpsc::channel(UNMATCHED_BUFFER);
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else { continue };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
                let waiter = {
                    let mut waiting = lock(&routing);
                    match correlation_of(&frame, replies) {
                        Some(id) => waiting.by_id.remove(&id),
                        None => waiting.in_order.pop_front(),
                    }
                };
                match waiter {
                    Some(waiter) => {
                        let _ = waiter.send(frame);
                    }
                    // Nobody waits for it: an event. A reader that fell far behind loses the newest.
                    None => {
                        let _ = unmatched_tx.try_send(frame);
                    }
                }
            }
            // Dropping the senders wakes every waiting call with `Closed`.
            let mut waiting = lock(&routing);
            waiting.by_id.clear();
            waiting.in_order.clear();
        });
        Connection {
            sink: tokio::sync::Mutex::new(sink),
            waiting,
            unmatched: tokio::sync::Mutex::new(unmatched_rx),
            next_id: AtomicU64::new(1),
            token: Mutex::new(None),
            timeout,
            reader,
        }
    }

    /// Sets (or clears) the credential sent with secured requests.
    pub fn set_token(&self, token: Option<String>) {
        *lock(&self.token) = token;
    }

    /// The credential sent with secured requests.
    pub fn token(&self) -> Option<String> {
        lock(&self.token).clone()
    }

    /// A fresh correlation id of the kind `rule` accepts (`c-17` or 17).
    pub fn next_correlation_id(&self, rule: IdRule) -> Value {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        match rule {
            IdRule::Integer => Value::from(n),
            IdRule::String { .. } | IdRule::Scalar => Value::String(format!("c-{n}")),
        }
    }

    /// Sends `text`, whose correlation id is `id` (none: the reply is the next
    /// frame without one), and waits for the reply.
    pub async fn call<E: std::fmt::Debug>(&self, id: Option<&Value>, text: String) -> Result<Value, ClientError<E>> {
        let (tx, rx) = oneshot::channel();
        let key = id.map(Value::to_string);
        {
            let mut waiting = lock(&self.waiting);
            match &key {
                Some(key) => {
                    waiting.by_id.insert(key.clone(), tx);
                }
                None => waiting.in_order.push_back(tx),
            }
        }
        if let Err(error) = self.sink.lock().await.send(Message::text(text)).await {
            if let Some(key) = &key {
                lock(&self.waiting).by_id.remove(key);
            }
            return Err(error.into());
        }
        let reply = match self.timeout {
            Some(limit) => match tokio::time::timeout(limit, rx).await {
                Ok(reply) => reply,
                Err(_) => {
                    if let Some(key) = &key {
                        lock(&self.waiting).by_id.remove(key);
                    }
                    return Err(ClientError::Timeout(limit));
                }
            },
            None => rx.await,
        };
        reply.map_err(|_| ClientError::Closed)
    }

    /// Sends `text` and expects no reply (a message whose operation has none).
    pub async fn send<E: std::fmt::Debug>(&self, text: String) -> Result<(), ClientError<E>> {
        self.sink.lock().await.send(Message::text(text)).await.map_err(ClientError::from)
    }

    /// Sends `body` as `call` says and returns its reply's payload (`Null`
    /// for an operation without a reply); an error reply is
    /// [`ClientError::Api`] with the spec's error body.
    pub async fn request<E, B>(&self, call: &Call, body: &B) -> Result<Value, ClientError<E>>
    where
        E: std::fmt::Debug + serde::de::DeserializeOwned,
        B: serde::Serialize + ?Sized,
    {
        let id = call.correlation.map(|c| self.next_correlation_id(c.rule));
        let token = if call.credential { self.token() } else { None };
        let echo = Echo { discriminator: None, correlation: id.as_ref(), credential: token.as_deref() };
        let encoded = match call.under {
            Some(property) => encode::encode(call.shape, echo, &Under { property, body }),
            None => encode::encode(call.shape, echo, body),
        };
        let text = encoded.map_err(|e| ClientError::Protocol(e.to_string()))?;
        if !call.replies {
            self.send(text).await?;
            return Ok(Value::Null);
        }
        let reply = self.call(id.as_ref(), text).await?;
        let reply = if call.enveloped { reply.get("payload").cloned().unwrap_or(reply) } else { reply };
        let error = match call.error {
            Some((shape, under)) if encode::has_consts(shape, &reply) => {
                Some(frame::at_pointer(&reply, under).cloned().unwrap_or_default())
            }
            Some(_) => None,
            None => reply.get("error").filter(|e| e.get("code").is_some()).cloned(),
        };
        match error {
            Some(body) => Err(match serde_json::from_value(body) {
                Ok(body) => ClientError::Api(body),
                Err(e) => ClientError::Protocol(e.to_string()),
            }),
            None => Ok(reply),
        }
    }

    /// [`Connection::request`] with the reply's payload decoded as `R`.
    pub async fn call_typed<R, E, B>(&self, call: &Call, body: &B) -> Result<R, ClientError<E>>
    where
        R: serde::de::DeserializeOwned,
        E: std::fmt::Debug + serde::de::DeserializeOwned,
        B: serde::Serialize + ?Sized,
    {
        decode(self.request(call, body).await?)
    }

    /// The next frame that answered no call (an event), or `None` once closed.
    pub async fn next_unmatched(&self) -> Option<Value> {
        self.unmatched.lock().await.recv().await
    }

    /// Every frame that answers no call (the events), decoded by `decode`, as
    /// a stream that ends when the connection closes.
    pub fn events<'a, E>(&'a self, decode: impl Fn(Value) -> E + 'a) -> impl futures_util::Stream<Item = E> + 'a {
        let frames = futures_util::stream::unfold(self, |connection| async move {
            connection.next_unmatched().await.map(|frame| (frame, connection))
        });
        futures_util::StreamExt::map(frames, decode)
    }

    /// Closes the connection politely.
    pub async fn close(self) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.sink.lock().await.close().await?;
        self.reader.abort();
        Ok(())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The correlation id of a received frame, as the waiting table keys it.
fn correlation_of(frame: &Value, replies: Replies) -> Option<String> {
    let (payload, headers) = if replies.enveloped {
        (frame.get("payload").unwrap_or(&Value::Null), frame.get("headers"))
    } else {
        (frame, None)
    };
    replies.correlations.iter().find_map(|(part, pointer)| {
        let part = match part {
            Part::Payload => Some(payload),
            Part::Headers => headers,
        };
        part.and_then(|p| crate::frame::at_pointer(p, pointer)).map(Value::to_string)
    })
}

/// Locks a mutex, recovering the data if another thread panicked holding it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
