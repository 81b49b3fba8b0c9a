//! A chat client as tests drive one: [`Device`], a bound connection whose
//! reader task keeps events in arrival order and matches replies by
//! `requestId`, and helpers for the usual steps (users, rooms, history).
//!
//! "Did not arrive" is never a wait: a later event published to the same
//! connection is the marker (a connection's events arrive in the order they
//! were published), so a missing event is an event that the marker overtook.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use specserve::api::Role;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::app::Running;
use super::frames::{Conn, code, frame, seeded_row};
use super::net;

/// A hang guard, not a timing assertion: a frame that should come and does not
/// fails the test with a message instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// What a device's reader saw.
pub enum Incoming {
    Frame(Value),
    /// The server closed (its close code, if it sent a close frame).
    Closed(Option<CloseCode>),
}

/// One of a user's connections, bound to them. A task reads it all the time,
/// as a real client does (so pings are answered); replies are matched by
/// `requestId`, events are kept in arrival order.
pub struct Device {
    pub sink: SplitSink<net::Socket, Message>,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    reader: tokio::task::JoinHandle<()>,
    pub token: String,
    requests: u64,
    events: VecDeque<Value>,
}

impl Drop for Device {
    /// Drops the socket without a close frame, as a client that goes away does.
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Device {
    /// A connection for `token`, bound with `auth/bind`.
    pub async fn open(running: &Running, token: &str) -> Device {
        Device::bind(net::raw(&running.server, "/", &[]).await.expect("upgrade"), token).await
    }

    pub async fn bind(socket: net::Socket, token: &str) -> Device {
        let (sink, mut stream) = socket.split();
        let (sender, incoming) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let seen = match message {
                    Message::Text(text) => Incoming::Frame(serde_json::from_str(&text).expect("JSON frame")),
                    Message::Close(frame) => Incoming::Closed(frame.map(|f| f.code)),
                    _ => continue,
                };
                let _ = sender.send(seen);
            }
            let _ = sender.send(Incoming::Closed(None));
        });
        let mut device =
            Device { sink, incoming, reader, token: token.to_owned(), requests: 0, events: VecDeque::new() };
        device.ok("auth/bind", json!({})).await;
        device
    }

    /// Sends a request and returns its reply; events read meanwhile are kept.
    pub async fn call(&mut self, channel: &str, payload: Value) -> Value {
        self.requests += 1;
        let id = format!("q{}", self.requests);
        let mut request = frame(channel, Some(&self.token), payload);
        request["requestId"] = json!(id);
        self.sink.send(Message::text(request.to_string())).await.expect("send");
        loop {
            let frame = self.read().await.unwrap_or_else(|| panic!("closed while waiting for the {channel} reply"));
            if frame["requestId"] == json!(id) {
                return frame;
            }
            assert!(frame.get("requestId").is_none(), "a reply to nothing asked: {frame}");
            self.events.push_back(frame);
        }
    }

    /// A request that must succeed.
    pub async fn ok(&mut self, channel: &str, payload: Value) -> Value {
        let reply = self.call(channel, payload).await;
        assert_eq!(code(&reply), "ok", "{channel}: {reply}");
        reply
    }

    /// Sends `text` to `room`; returns the new message's id.
    pub async fn say(&mut self, room: i64, text: &str) -> i64 {
        let reply = self.ok("message/send", json!({"roomId": room, "text": text})).await;
        reply["messageId"].as_i64().expect("messageId")
    }

    pub async fn incoming(&mut self) -> Incoming {
        let next = tokio::time::timeout(PATIENCE, self.incoming.recv()).await.expect("a frame in time");
        next.unwrap_or(Incoming::Closed(None))
    }

    /// The next text frame, or `None` once the server closed.
    pub async fn read(&mut self) -> Option<Value> {
        match self.incoming().await {
            Incoming::Frame(frame) => Some(frame),
            Incoming::Closed(_) => None,
        }
    }

    /// The next event, whatever its channel.
    pub async fn event(&mut self) -> Value {
        match self.events.pop_front() {
            Some(event) => event,
            None => self.read().await.expect("an event before the connection closed"),
        }
    }

    /// The next event on `channel`; events on other channels are skipped.
    pub async fn next(&mut self, channel: &str) -> Value {
        loop {
            let event = self.event().await;
            if event["channel"] == channel {
                return event;
            }
        }
    }

    /// The next event on any of `channels`.
    pub async fn next_of(&mut self, channels: &[&str]) -> Value {
        loop {
            let event = self.event().await;
            if channels.iter().any(|channel| event["channel"] == *channel) {
                return event;
            }
        }
    }

    /// Reads until the server closes the connection; its close code.
    pub async fn close_code(&mut self) -> Option<CloseCode> {
        loop {
            if let Incoming::Closed(code) = self.incoming().await {
                return code;
            }
        }
    }

    /// Closes cleanly (a close frame, then the server's answer).
    pub async fn close(mut self) {
        self.sink.send(Message::Close(None)).await.expect("close frame");
        self.close_code().await;
    }
}

/// A user made in the store and logged in: (id, token).
pub async fn user(running: &Running, name: &str) -> (i64, String) {
    let email = format!("{name}@example.com");
    let id = seeded_row(running, &email, Role::User, None).await;
    (id, Conn::open(running).await.login(&email, "Password123").await)
}

/// `count` users, each with one bound device.
pub async fn users(running: &Running, names: &[&str]) -> Vec<(i64, Device)> {
    let mut made = Vec::new();
    for name in names {
        let (id, token) = user(running, name).await;
        made.push((id, Device::open(running, &token).await));
    }
    made
}

pub async fn direct_room(device: &mut Device, other: i64) -> i64 {
    let reply = device.ok("room/create", json!({"otherUserId": other})).await;
    reply["room"]["id"].as_i64().expect("room id")
}

/// Accepts the invitation to `room` (`room/join`).
pub async fn accept(device: &mut Device, room: i64) {
    device.ok("room/join", json!({"roomId": room})).await;
}

pub async fn group_room(device: &mut Device, name: &str, members: &[i64]) -> i64 {
    let reply = device.ok("room/create", json!({"name": name, "memberIds": members})).await;
    assert_eq!(reply["room"]["kind"], "group");
    reply["room"]["id"].as_i64().expect("room id")
}

/// A room's whole history, paged newest first with `limit`.
pub async fn full_history(device: &mut Device, room: i64, limit: u32) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut before = Value::Null;
    loop {
        let mut request = json!({"roomId": room, "limit": limit});
        if !before.is_null() {
            request["before"] = before.clone();
        }
        let page = device.ok("message/history", request).await;
        messages.extend(page["messages"].as_array().expect("messages").iter().cloned());
        before = page.get("nextCursor").cloned().unwrap_or(Value::Null);
        if before.is_null() {
            return messages;
        }
    }
}

pub fn ids(messages: &[Value]) -> Vec<i64> {
    messages.iter().map(|m| m["id"].as_i64().expect("id")).collect()
}
