//! The connection behind the generated client methods (`Client::user_read`, ...):
//! one WebSocket, requests tagged with a fresh `requestId`, replies matched back
//! by it, so many calls can be in flight at once (pipelining).

mod pinning;

pub use pinning::{pinned_config, web_roots_config};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::api::{ErrorBody, Route};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with the spec's error reply.
    #[error("server error {}: {}", .0.code, .0.message)]
    Api(ErrorBody),
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

/// A connection to a specserve server. Cheap to share: every method takes `&self`.
pub struct Client {
    sink: tokio::sync::Mutex<SplitSink<Socket, Message>>,
    pending: Pending,
    next_id: AtomicU64,
    token: Mutex<Option<String>>,
    timeout: Option<Duration>,
    reader: tokio::task::JoinHandle<()>,
}

impl Client {
    /// Connects to `url` (`ws://` or `wss://`) with default options.
    pub async fn connect(url: &str) -> Result<Client, ClientError> {
        Client::connect_with(url, ClientOptions::default()).await
    }

    /// Connects to `url` with `options`.
    pub async fn connect_with(url: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let mut request = url.into_client_request()?;
        if let Some(token) = &options.bearer_token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| ClientError::Protocol("token is not a valid header value".into()))?;
            request.headers_mut().insert("authorization", value);
        }
        let connector = options.tls.map(Connector::Rustls);
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector).await?;
        Ok(Client::from_socket(socket, options.timeout))
    }

    fn from_socket(socket: Socket, timeout: Option<Duration>) -> Client {
        let (sink, mut stream) = socket.split();
        let pending: Pending = Arc::default();
        let routing = Arc::clone(&pending);
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else { continue };
                let Ok(reply) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let id = reply.get("requestId").and_then(Value::as_str).map(str::to_owned);
                let waiter = id.and_then(|id| lock(&routing).remove(&id));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(reply);
                }
            }
            // Dropping the senders wakes every waiting call with `Closed`.
            lock(&routing).clear();
        });
        Client {
            sink: tokio::sync::Mutex::new(sink),
            pending,
            next_id: AtomicU64::new(1),
            token: Mutex::new(None),
            timeout,
            reader,
        }
    }

    /// Sets (or clears) the token sent as `apiToken` with every secured request.
    pub fn set_token(&self, token: Option<String>) {
        *lock(&self.token) = token;
    }

    /// Sends one request for `route` and waits for its reply's body.
    pub async fn call<Req: Serialize, Rep: DeserializeOwned>(
        &self,
        route: Route,
        payload: &Req,
    ) -> Result<Rep, ClientError> {
        let id = format!("c-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut frame = Map::new();
        frame.insert("channel".into(), route.channel().into());
        frame.insert("requestId".into(), id.clone().into());
        if route.is_secured()
            && let Some(token) = lock(&self.token).clone()
        {
            frame.insert("apiToken".into(), token.into());
        }
        let payload = serde_json::to_value(payload).map_err(|e| ClientError::Protocol(e.to_string()))?;
        frame.insert("payload".into(), payload);
        let reply = self.round_trip(id, Value::Object(frame).to_string()).await?;
        decode(route, reply)
    }

    /// Sends a raw text frame carrying `requestId` `id` and returns the raw reply.
    /// For tests and tools that need to send what the typed methods cannot.
    pub async fn call_raw(&self, id: &str, text: String) -> Result<Value, ClientError> {
        self.round_trip(id.to_owned(), text).await
    }

    async fn round_trip(&self, id: String, text: String) -> Result<Value, ClientError> {
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id.clone(), tx);
        if let Err(error) = self.sink.lock().await.send(Message::text(text)).await {
            lock(&self.pending).remove(&id);
            return Err(error.into());
        }
        let reply = match self.timeout {
            Some(limit) => match tokio::time::timeout(limit, rx).await {
                Ok(reply) => reply,
                Err(_) => {
                    lock(&self.pending).remove(&id);
                    return Err(ClientError::Timeout(limit));
                }
            },
            None => rx.await,
        };
        reply.map_err(|_| ClientError::Closed)
    }

    /// Closes the connection politely.
    pub async fn close(self) -> Result<(), ClientError> {
        self.sink.lock().await.close().await?;
        self.reader.abort();
        Ok(())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Turns a reply frame into the route's body, or its error into [`ClientError::Api`].
fn decode<Rep: DeserializeOwned>(route: Route, reply: Value) -> Result<Rep, ClientError> {
    let Value::Object(mut frame) = reply else {
        return Err(ClientError::Protocol("reply is not an object".into()));
    };
    if frame.get("success") == Some(&Value::Bool(false)) {
        let error = frame.remove("error").unwrap_or_default();
        return Err(serde_json::from_value(error)
            .map(ClientError::Api)
            .unwrap_or_else(|e| ClientError::Protocol(e.to_string())));
    }
    if frame.get("channel").and_then(Value::as_str) != Some(route.channel()) {
        return Err(ClientError::Protocol(format!("reply is not for `{}`", route.channel())));
    }
    for envelope in ["success", "channel", "requestId"] {
        frame.remove(envelope);
    }
    serde_json::from_value(Value::Object(frame)).map_err(|e| ClientError::Protocol(e.to_string()))
}

/// Locks a mutex, recovering the data if another thread panicked holding it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
