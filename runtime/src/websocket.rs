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

/// The read buffer of a server connection over TLS, where [`config`]'s 1 KiB
/// would be most of an idle connection's tungstenite state.
///
/// tungstenite keeps its read buffer for the connection's life (grown to the
/// largest frame, never shrunk). Over TLS the stream beneath it already holds a
/// record's decrypted bytes, so a frame longer than the buffer costs another
/// copy out of memory, not another system call as it would on plain TCP: an
/// idle TLS connection holds 256 B here, at no syscall's price (#33 item 4).
pub const TLS_READ_BUFFER: usize = 256;

/// The settings of the server's connections: [`config`] with the server's
/// size limits, and over TLS the smaller [`TLS_READ_BUFFER`].
pub fn server_config(max_message_bytes: usize, tls: bool) -> WebSocketConfig {
    let config = config()
        .max_message_size(Some(max_message_bytes))
        .max_frame_size(Some(max_message_bytes))
        .max_write_buffer_size(max_message_bytes * 2);
    if tls { config.read_buffer_size(TLS_READ_BUFFER) } else { config }
}
