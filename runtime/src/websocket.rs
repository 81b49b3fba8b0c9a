//! The WebSocket settings every end specserve drives shares: the server's
//! connections, the [`client`](crate::client) generated SDKs use, and the
//! tools built on it (the conformance runner, the bench's load generator).

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// tungstenite's settings with specserve's buffering: a 1 KiB read buffer and
/// no write buffer (each frame is flushed as it is written).
///
/// tungstenite's default read buffer is 128 KiB, zero-filled before every
/// read: under callgrind that `memset` was 176k instructions per received
/// message, 97% of an echo server's work. Frames here are small (a request,
/// a reply, an event), so a small buffer costs at most an extra read for a
/// large one. The server adds its size limits on top.
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(1024).write_buffer_size(0)
}
