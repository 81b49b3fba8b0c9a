//! The `broadcast` scenario (#33 item 2): fan-out per core. One publisher
//! sends `message/send` into a group room whose members (1,000 by default)
//! are all connected over TLS; every member reads the pushed `message/new`,
//! whose text is 128 bytes. One server, three phases:
//!
//! - `max`: the publisher in a closed loop (send, wait for the reply): the
//!   highest message rate, and deliveries per server CPU-second;
//! - `half`: the publisher on a fixed schedule at half that rate, each
//!   delivery's latency counted from the message's *scheduled* send time, so
//!   a send the server held up is late for every receiver (no coordinated
//!   omission);
//! - `10/s`: ten messages a second (each member receives ten a second):
//!   write system calls per delivery, from the server's `/proc/<pid>/io`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::child::{Process, Usage};
use crate::load::{Socket, Stats, Target, ask};

/// The phases, in the order they run; a message's text starts with its index.
pub const PHASES: [&str; 3] = ["max", "half", "10/s"];

/// The text of every message: its phase, its send time (µs since the run's
/// epoch), then padding to 128 bytes.
const TEXT_BYTES: usize = 128;

/// What one phase measured.
pub struct Phase {
    /// Messages the publisher sent per second (acknowledged, for `max`).
    pub messages_per_second: f64,
    /// Deliveries: their rate and their latency (from the scheduled send).
    pub deliveries: Stats,
    /// The server's CPU and write calls before and after.
    pub usage: (Usage, Usage),
    /// How long the phase ran, seconds.
    pub seconds: f64,
}

impl Phase {
    /// Deliveries per second of server CPU.
    pub fn deliveries_per_cpu_second(&self) -> f64 {
        let cpu = self.usage.1.cpu_seconds - self.usage.0.cpu_seconds;
        if cpu > 0.0 { self.deliveries.ops as f64 / cpu } else { 0.0 }
    }

    /// Write system calls per delivery.
    pub fn writes_per_delivery(&self) -> f64 {
        let writes = self.usage.1.write_syscalls.saturating_sub(self.usage.0.write_syscalls);
        if self.deliveries.ops > 0 { writes as f64 / self.deliveries.ops as f64 } else { 0.0 }
    }
}

/// Adds `members` to the group room `room` of the owner (`owner`'s token).
pub async fn add_members(target: &Target, owner: &str, room: i64, members: &[i64]) -> Result<()> {
    let mut socket = target.connect(Some(owner)).await?;
    for member in members {
        let request =
            json!({"channel": "room/addMember", "requestId": "add", "payload": {"roomId": room, "userId": member}});
        let reply = ask(&mut socket, request).await?;
        anyhow::ensure!(reply["success"] == true, "room/addMember failed: {reply}");
    }
    let _ = socket.close(None).await;
    Ok(())
}

/// Runs the three phases: `publisher` sends into `room`, whose other members
/// are `members` (already connected); each phase lasts `duration`.
pub async fn run(
    server: &Process,
    mut publisher: Socket,
    members: Vec<Socket>,
    room: i64,
    duration: Duration,
) -> Result<Vec<Phase>> {
    let epoch = Instant::now();
    let (phase_tx, phase_rx) = watch::channel(None::<usize>);
    let readers: Vec<_> =
        members.into_iter().map(|socket| tokio::spawn(member(socket, epoch, phase_rx.clone()))).collect();
    let mut phases = Vec::new();
    let mut request = 0u64;
    // A short warm-up, not counted (phase index past the last).
    closed_loop(&mut publisher, room, epoch, PHASES.len(), Duration::from_millis(300), &mut request).await?;
    // max: closed loop.
    let before = server.usage();
    let _ = phase_tx.send(Some(0));
    let started = Instant::now();
    let sent = closed_loop(&mut publisher, room, epoch, 0, duration, &mut request).await?;
    let seconds = started.elapsed().as_secs_f64();
    phases.push(Phase {
        messages_per_second: sent as f64 / seconds,
        deliveries: Stats::empty(),
        usage: (before, server.usage()),
        seconds,
    });
    // half and 10/s: fixed schedules on a split socket, replies drained beside.
    let (mut sink, mut stream) = publisher.split();
    let drain = tokio::spawn(async move {
        while let Some(frame) = stream.next().await {
            if let Message::Text(text) = frame? {
                anyhow::ensure!(text.contains("\"success\":true"), "message/send failed: {text}");
            }
        }
        Ok::<_, anyhow::Error>(())
    });
    let half = phases[0].messages_per_second / 2.0;
    for (index, rate) in [(1, half), (2, 10.0)] {
        let before = server.usage();
        let _ = phase_tx.send(Some(index));
        let started = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / rate);
        let count = (duration.as_secs_f64() * rate).ceil().max(1.0) as u64;
        for n in 0..count {
            let scheduled = started + interval.mul_f64(n as f64);
            tokio::time::sleep_until(scheduled.into()).await;
            request += 1;
            sink.send(Message::text(send_frame(room, epoch, index, scheduled, request))).await?;
        }
        let seconds = started.elapsed().as_secs_f64();
        // Let the last deliveries land before the CPU is read.
        tokio::time::sleep(Duration::from_millis(200)).await;
        phases.push(Phase {
            messages_per_second: count as f64 / seconds,
            deliveries: Stats::empty(),
            usage: (before, server.usage()),
            seconds,
        });
    }
    let _ = phase_tx.send(None);
    let mut counted = [Stats::empty(), Stats::empty(), Stats::empty()];
    for reader in readers {
        let stats = reader.await??;
        for (total, part) in counted.iter_mut().zip(&stats) {
            total.add(part);
        }
    }
    let _ = sink.close().await;
    drain.abort();
    for (phase, mut stats) in phases.iter_mut().zip(counted) {
        stats.seconds = phase.seconds;
        phase.deliveries = stats;
    }
    Ok(phases)
}

/// Sends one message at a time for `duration`, each after the previous
/// reply; how many were sent.
async fn closed_loop(
    publisher: &mut Socket,
    room: i64,
    epoch: Instant,
    phase: usize,
    duration: Duration,
    request: &mut u64,
) -> Result<u64> {
    let end = Instant::now() + duration;
    let mut sent = 0;
    while Instant::now() < end {
        *request += 1;
        publisher.send(Message::text(send_frame(room, epoch, phase, Instant::now(), *request))).await?;
        loop {
            match publisher.next().await.context("the publisher's connection ended")?? {
                Message::Text(text) if text.contains("\"requestId\"") => {
                    anyhow::ensure!(text.contains("\"success\":true"), "message/send failed: {text}");
                    break;
                }
                _ => continue,
            }
        }
        sent += 1;
    }
    Ok(sent)
}

/// A `message/send` frame whose text is `phase`, `at` (µs since `epoch`),
/// padded to [`TEXT_BYTES`].
fn send_frame(room: i64, epoch: Instant, phase: usize, at: Instant, request: u64) -> String {
    let stamp = format!("{phase}:{:020}:", at.duration_since(epoch).as_micros());
    let text = format!("{stamp}{}", "x".repeat(TEXT_BYTES - stamp.len()));
    json!({"channel": "message/send", "requestId": request.to_string(), "payload": {"roomId": room, "text": text}})
        .to_string()
}

/// A member: reads pushes until the phases end, counting each delivery in
/// its phase with its latency from the scheduled send.
async fn member(mut socket: Socket, epoch: Instant, mut phase: watch::Receiver<Option<usize>>) -> Result<[Stats; 3]> {
    let mut stats = [Stats::empty(), Stats::empty(), Stats::empty()];
    let mut started = false;
    loop {
        tokio::select! {
            changed = phase.changed() => {
                started |= phase.borrow().is_some();
                if changed.is_err() || (started && phase.borrow().is_none()) {
                    break;
                }
            }
            frame = socket.next() => {
                let text = match frame.context("a member's connection ended")?? {
                    Message::Text(text) => text,
                    Message::Close(frame) => anyhow::bail!("the server closed a member's connection: {frame:?}"),
                    _ => continue,
                };
                // "text":"<phase>:<µs>:xxx..." — read without parsing the frame.
                let Some(at) = text.find("\"text\":\"").map(|at| at + 8) else { continue };
                let Some((index, micros)) = text[at..].split_once(':').and_then(|(p, rest)| {
                    Some((p.parse::<usize>().ok()?, rest.get(..20)?.parse::<u64>().ok()?))
                }) else {
                    continue;
                };
                if let Some(stats) = stats.get_mut(index) {
                    // Every delivery of a phase counts: its messages are sent within it.
                    stats.record(epoch + Duration::from_micros(micros), epoch);
                }
            }
        }
    }
    let _ = socket.close(None).await;
    Ok(stats)
}
