//! Why a connection ends, and the close code each reason puts on the wire:
//! what the connection loop decides, the stop signals report and the
//! metrics count (apart from all three, so none of them imports another).

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent a close frame (with this code, which the server echoes,
    /// RFC 6455 section 5.5.1) or the socket ended without one (`None`).
    ClientClosed(Option<u16>),
    /// The server is shutting down.
    Shutdown,
    /// No pong after a ping.
    PingTimeout,
    /// A message or frame over the size limit.
    TooLarge,
    /// A text frame with invalid UTF-8.
    InvalidUtf8,
    /// Too many refused frames within the rate-limit window.
    RateLimited,
    /// The client did not read its replies for `send_timeout`.
    SlowConsumer,
    /// The connection's user was deleted.
    Revoked,
    /// Any other WebSocket protocol error.
    ProtocolError,
}

impl CloseReason {
    /// The close code the server sends for a close it starts; `None` when the
    /// client started it (the server then echoes the client's code).
    pub fn server_code(self) -> Option<CloseCode> {
        Some(match self {
            CloseReason::ClientClosed(_) => return None,
            CloseReason::Shutdown | CloseReason::PingTimeout => CloseCode::Away,
            CloseReason::TooLarge => CloseCode::Size,
            CloseReason::InvalidUtf8 => CloseCode::Invalid,
            CloseReason::RateLimited | CloseReason::SlowConsumer | CloseReason::Revoked => CloseCode::Policy,
            CloseReason::ProtocolError => CloseCode::Protocol,
        })
    }

    /// The code on the wire: the server's, or the client's echoed back.
    pub fn code_on_the_wire(self) -> Option<u16> {
        match self {
            CloseReason::ClientClosed(code) => code,
            other => other.server_code().map(u16::from),
        }
    }

    /// The close frame's reason text, also logged.
    pub fn text(self) -> &'static str {
        match self {
            CloseReason::ClientClosed(_) => "client closed",
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

/// Every close code the server starts a close with, and 1000 (the code a
/// client's own close usually carries and gets back). A spec's
/// `x-specserve-close-codes` should list exactly these.
pub const SERVER_CLOSE_CODES: [u16; 6] = [1000, 1001, 1002, 1007, 1008, 1009];
