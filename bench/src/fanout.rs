//! The `fanout` scenario: chat messages into a group room whose members are all
//! connected. Senders run closed loops of `message/send` (persist, then push
//! `message/new` to every other member); every member's connection reads the
//! pushes. Measured: messages persisted per second, deliveries per second, and
//! the send -> receive latency of each delivery. The baseline is the part no
//! chat server avoids: the same number of writers doing a raw sqlx INSERT of a
//! message row.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::load::{self, Socket, Stats, Target, Timing, ask};

/// What one run measured.
pub struct Fanout {
    /// Messages persisted (acknowledged by their reply); latency send -> reply.
    pub persisted: Stats,
    /// Messages received by members; latency send -> receipt.
    pub deliveries: Stats,
}

/// One member: its connection, and whether it also sends.
pub struct Member {
    socket: Socket,
    sends: bool,
}

/// Creates a group room owned by `owner` with the other `members`; its id.
pub async fn room(target: &Target, owner: &str, members: &[i64], name: &str) -> Result<i64> {
    let mut socket = target.connect(Some(owner)).await?;
    let request =
        json!({"channel": "room/create", "requestId": "room", "payload": {"name": name, "memberIds": members}});
    let reply = ask(&mut socket, request).await?;
    let id = reply["room"]["id"].as_i64().with_context(|| format!("room/create failed: {reply}"))?;
    let _ = socket.close(None).await;
    Ok(id)
}

/// Connects every member (bound at the upgrade by its bearer token), member
/// `n` to `targets[n % targets.len()]` (the nodes of a cluster); the first
/// `senders` of them will send. Apart from [`run`], so that a caller can
/// leave the connections' cost out of what it measures.
pub async fn connect(targets: &[Target], tokens: &[String], senders: usize) -> Result<Vec<Member>> {
    let mut members = Vec::with_capacity(tokens.len());
    for (n, token) in tokens.iter().enumerate() {
        let target = &targets[n % targets.len()];
        members.push(Member { socket: target.connect(Some(token)).await?, sends: n < senders });
    }
    Ok(members)
}

/// The senders among `members` send into `room` in closed loops while all read.
pub async fn run(members: Vec<Member>, room: i64, timing: Timing) -> Result<Fanout> {
    // Every timestamp is relative to this instant, shared by all tasks.
    let epoch = Instant::now();
    let measure_from = epoch + timing.warmup;
    let end = measure_from + timing.duration;
    let tasks: Vec<_> =
        members.into_iter().map(|member| tokio::spawn(member_loop(member, room, epoch, measure_from, end))).collect();
    let mut persisted = Stats::empty();
    let mut deliveries = Stats::empty();
    for task in tasks {
        let (sent, received) = task.await??;
        persisted.add(&sent);
        deliveries.add(&received);
    }
    persisted.seconds = timing.duration.as_secs_f64();
    deliveries.seconds = timing.duration.as_secs_f64();
    Ok(Fanout { persisted, deliveries })
}

/// A message's way from one node to another (#33 item 3's added p99): the
/// first of `tokens` sends into `room` on a fixed schedule, `rate` messages a
/// second, from `targets[0]`; the others read, alternating between the
/// targets as [`connect`] places them. Latency counts from each message's
/// *scheduled* send, so a send held up is late for every receiver. Returns
/// the deliveries to each target's members: `[0]` never crossed the bus.
pub async fn fixed_rate(
    targets: &[Target],
    tokens: &[String],
    room: i64,
    rate: f64,
    timing: Timing,
) -> Result<Vec<Stats>> {
    // None sends in closed loops: the first sends on its schedule, below.
    let mut members = connect(targets, tokens, 0).await?.into_iter().enumerate();
    let (_, sender) = members.next().context("a room needs a sender")?;
    let epoch = Instant::now();
    let measure_from = epoch + timing.warmup;
    let last_send = measure_from + timing.duration;
    // Receivers read on past the last send, so that the slowest deliveries
    // of the last messages are counted rather than cut off.
    let end = last_send + Duration::from_millis(500);
    let tasks: Vec<_> = members
        .map(|(n, member)| (n % targets.len(), tokio::spawn(member_loop(member, room, epoch, measure_from, end))))
        .collect();
    let (mut sink, mut stream) = sender.socket.split();
    let replies = tokio::spawn(async move {
        while let Some(frame) = stream.next().await {
            if let Message::Text(text) = frame? {
                let frame: Value = serde_json::from_str(&text)?;
                // Replies only: the welcome and pushes have no requestId.
                if frame.get("requestId").is_some() {
                    anyhow::ensure!(frame.get("messageId").is_some(), "message/send failed: {frame}");
                }
            }
        }
        Ok::<_, anyhow::Error>(())
    });
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut scheduled = epoch;
    let mut request = 0u64;
    while scheduled < last_send {
        tokio::time::sleep_until(scheduled.into()).await;
        request += 1;
        let text = scheduled.duration_since(epoch).as_micros().to_string();
        let frame = json!({"channel": "message/send", "requestId": request.to_string(), "payload": {"roomId": room, "text": text}});
        sink.send(Message::text(frame.to_string())).await?;
        scheduled += interval;
    }
    let mut by_node: Vec<Stats> = targets.iter().map(|_| Stats::empty()).collect();
    for (node, task) in tasks {
        let (_, received) = task.await??;
        by_node[node].add(&received);
    }
    for stats in &mut by_node {
        stats.seconds = timing.duration.as_secs_f64();
    }
    let _ = sink.close().await;
    // A failed send shows here; the end of the stream after the close is not one.
    if replies.is_finished() {
        replies.await??;
    } else {
        replies.abort();
    }
    Ok(by_node)
}

/// A member until `end`: sends (if it does) one message at a time, each
/// carrying its send time in µs since `epoch`, and records every push it reads.
async fn member_loop(
    mut member: Member,
    room: i64,
    epoch: Instant,
    measure_from: Instant,
    end: Instant,
) -> Result<(Stats, Stats)> {
    let (mut sent, mut received) = (Stats::empty(), Stats::empty());
    let mut request = 0u64;
    let mut waiting: Option<Instant> = None;
    let end = tokio::time::Instant::from_std(end);
    loop {
        if member.sends && waiting.is_none() && Instant::now() < end.into_std() {
            request += 1;
            let now = Instant::now();
            let text = now.duration_since(epoch).as_micros().to_string();
            let frame = json!({"channel": "message/send", "requestId": request.to_string(), "payload": {"roomId": room, "text": text}});
            member.socket.send(Message::text(frame.to_string())).await?;
            waiting = Some(now);
        }
        let next = match tokio::time::timeout_at(end, member.socket.next()).await {
            Ok(next) => next,
            // Past the end: nothing in flight is counted.
            Err(_) => break,
        };
        let text = match next.transpose()? {
            Some(Message::Text(text)) => text,
            // Which close it was (a slow consumer is 1008 "slow consumer").
            Some(Message::Close(frame)) => {
                let (code, reason) =
                    frame.map_or((None, String::new()), |f| (Some(u16::from(f.code)), f.reason.to_string()));
                anyhow::bail!("the server closed a member's connection: code {code:?}, reason {reason:?}");
            }
            Some(_) => continue,
            None => anyhow::bail!("a member's connection ended without a close frame"),
        };
        let frame: Value = serde_json::from_str(&text)?;
        if frame.get("requestId").is_some() {
            anyhow::ensure!(frame.get("messageId").is_some(), "message/send failed: {frame}");
            if let Some(started) = waiting.take() {
                sent.record(started, measure_from);
            }
        } else if frame["channel"] == "message/new" {
            let micros: u64 = frame["message"]["text"].as_str().and_then(|t| t.parse().ok()).context("bench text")?;
            received.record(epoch + Duration::from_micros(micros), measure_from);
        }
    }
    let _ = member.socket.close(None).await;
    Ok((sent, received))
}

/// The baseline: `writers` closed loops of one raw INSERT of a message row
/// into `room`.
pub async fn sqlx_insert(database_url: &str, room: i64, author: i64, writers: usize, timing: Timing) -> Result<Stats> {
    load::on_native_connection!(database_url, writers, timing, |connection| {
        sqlx::query("INSERT INTO messages (room_id, author_id, text, created_at) VALUES (?, ?, ?, ?)")
            .bind(room)
            .bind(author)
            .bind("baseline")
            .bind("2025-05-22 10:00:00.000000")
            .execute(&mut connection)
            .await
            .map(drop)
    })
}
