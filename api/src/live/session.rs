//! One websocket connection: reads requests, watches its guild's room, coalesces changes into
//! at most one flush per `ws_coalesce`, and hands frames to a writer task through a bounded
//! queue. A client whose queue fills up (it does not read) is closed, never waited for.

use super::limiter::TokenBucket;
use super::protocol::{self, ActivityEvent, ActivityFrame, Request};
use super::rooms::{Membership, RoomEvent};
use crate::auth::LiveAccess;
use crate::metrics::WsDrop;
use crate::models::error::Problem;
use crate::shared::Shared;
use futures_util::stream::{SplitSink, StreamExt};
use futures_util::SinkExt;
use guildflow_dataflow::state::LeaderboardEntry;
use guildflow_model::{Metric, Period, UserId};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use warp::ws::{Message, WebSocket};

/// Close codes (RFC 6455 §7.4.1).
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

/// Time given to a close frame before the connection is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Rate-limited messages tolerated (each answered with an error frame) before the close.
const RATE_STRIKES: u32 = 20;

struct Subscription {
    metric: Metric,
    period: Period,
    limit: usize,
    dirty: bool,
    last: Option<Arc<Vec<LeaderboardEntry>>>,
}

/// How the session ended.
enum End {
    /// The client closed or vanished (or the writer gave up on it).
    Gone,
    /// We close with this code and reason.
    Close(u16, &'static str, Option<WsDrop>),
}

/// What the writer does last.
struct CloseRequest {
    code: u16,
    reason: &'static str,
    /// Send what is queued first (a polite close), or not (a client that is not reading).
    flush: bool,
}

/// Why a frame could not be queued.
enum Full {
    Slow,
    Gone,
}

struct Session {
    shared: Arc<Shared>,
    room: Membership,
    queue: mpsc::Sender<Message>,
    subscriptions: Vec<Subscription>,
    activity: VecDeque<ActivityEvent>,
    missed: u64,
    next_flush: Option<Instant>,
    last_flush: Option<Instant>,
}

/// Runs a connection to the end.
///
/// `access` (with authentication) closes the connection with 1008 once the credential is
/// revoked or expires, or the user no longer administers the guild.
pub(crate) async fn run(
    socket: WebSocket,
    guild: u64,
    shared: Arc<Shared>,
    mut access: Option<LiveAccess>,
) {
    shared.metrics.ws_connected();
    let _connected = Connected(Arc::clone(&shared));
    let config = shared.ctx.config.clone();
    let (sink, mut incoming) = socket.split();
    let (queue, frames) = mpsc::channel(config.ws_queue.max(1));
    let (close_tx, close_rx) = oneshot::channel();
    let writer = tokio::spawn(write(
        sink,
        frames,
        close_rx,
        config.ws_send_timeout,
        Arc::clone(&shared),
    ));
    let mut session = Session {
        room: shared.rooms.join(guild),
        shared: Arc::clone(&shared),
        queue,
        subscriptions: Vec::new(),
        activity: VecDeque::new(),
        missed: 0,
        next_flush: None,
        last_flush: None,
    };
    let mut limiter = TokenBucket::new(config.ws_messages_per_second, config.ws_message_burst);
    let mut strikes = 0u32;
    let mut shutdown = shared.shutdown.subscribe();

    let end = loop {
        let flush_at = session.next_flush;
        tokio::select! {
            message = incoming.next() => match message {
                None => break End::Gone,
                Some(Err(error)) => {
                    // tungstenite refuses a message over `max_message_size` with a capacity
                    // error; anything else means the connection is broken.
                    if error.to_string().to_ascii_lowercase().contains("size") {
                        break End::Close(CLOSE_TOO_BIG, "message too large", Some(WsDrop::MessageTooLarge));
                    }
                    break End::Gone;
                }
                Some(Ok(message)) => {
                    if message.is_close() {
                        break End::Close(CLOSE_NORMAL, "bye", None);
                    }
                    if message.is_ping() || message.is_pong() {
                        continue;
                    }
                    if !limiter.allow(Instant::now().into_std()) {
                        strikes += 1;
                        if strikes > RATE_STRIKES {
                            break End::Close(CLOSE_POLICY, "rate limit exceeded", Some(WsDrop::RateLimited));
                        }
                        let problem = Problem::new(
                            warp::http::StatusCode::TOO_MANY_REQUESTS,
                            "rate_limited",
                            "too many messages: the message was ignored",
                        );
                        if let Err(full) = session.send_error(&problem) {
                            break full.into_end();
                        }
                        continue;
                    }
                    let outcome = match message.to_str() {
                        Ok(text) => match protocol::parse(text) {
                            Ok(request) => session.handle(request),
                            Err(problem) => session.send_error(&problem),
                        },
                        Err(()) => session.send_error(&Problem::bad_request(
                            "bad_message",
                            "messages must be JSON text frames",
                        )),
                    };
                    if let Err(full) = outcome {
                        break full.into_end();
                    }
                }
            },
            event = session.room.recv() => {
                match event {
                    Ok(RoomEvent::Changed { metric, period }) => {
                        for sub in &mut session.subscriptions {
                            if sub.metric == metric && sub.period == period {
                                sub.dirty = true;
                            }
                        }
                    }
                    Ok(RoomEvent::LevelUp(level_up)) => {
                        if session.activity.len() >= config.ws_activity_buffer.max(1) {
                            session.activity.pop_front();
                            session.missed += 1;
                        }
                        session.activity.push_back(ActivityEvent {
                            kind: "level_up",
                            user_id: UserId(level_up.user),
                            level: level_up.level,
                            xp: level_up.xp,
                            at: level_up.at,
                        });
                    }
                    Ok(RoomEvent::Moderation(frame)) => {
                        if let Err(full) = session.enqueue(Message::text(&*frame), "moderation") {
                            break full.into_end();
                        }
                    }
                    // Missed changes: whatever they were, re-reading every board covers them.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        for sub in &mut session.subscriptions {
                            sub.dirty = true;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break End::Gone,
                }
                session.schedule(config.ws_coalesce);
            },
            () = sleep_until(flush_at) => {
                session.next_flush = None;
                session.last_flush = Some(Instant::now());
                if let Err(full) = session.flush() {
                    break full.into_end();
                }
            },
            () = access_lost(&mut access) => {
                break End::Close(CLOSE_POLICY, "access revoked", None);
            },
            changed = shutdown.changed() => {
                // The sender lives in `shared`, which this task holds: Err cannot happen, but
                // must not spin if it did.
                if changed.is_err() || *shutdown.borrow() {
                    break End::Close(CLOSE_GOING_AWAY, "server shutting down", None);
                }
            },
        }
    };

    let request = match end {
        End::Gone => None,
        End::Close(code, reason, drop) => {
            if let Some(drop) = drop {
                shared.metrics.ws_dropped(drop);
            }
            Some(CloseRequest {
                code,
                reason,
                flush: drop.is_none(),
            })
        }
    };
    // Dropping the session releases the room and the queue's sender.
    drop(session);
    if let Some(request) = request {
        let _ = close_tx.send(request);
    } else {
        drop(close_tx);
    }
    let mut writer = writer;
    // A client that does not read can hold the writer in a send: give the close frame a
    // moment, then cut the connection.
    if tokio::time::timeout(2 * CLOSE_TIMEOUT, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    drop(incoming);
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Full {
    fn into_end(self) -> End {
        match self {
            Full::Slow => End::Close(CLOSE_POLICY, "client too slow", Some(WsDrop::SlowClient)),
            Full::Gone => End::Gone,
        }
    }
}

impl Session {
    fn handle(&mut self, request: Request) -> Result<(), Full> {
        match request {
            Request::Subscribe {
                metric,
                period,
                limit,
            } => {
                let index = match self
                    .subscriptions
                    .iter()
                    .position(|s| s.metric == metric && s.period == period)
                {
                    Some(i) => i,
                    None => {
                        self.subscriptions.push(Subscription {
                            metric,
                            period,
                            limit,
                            dirty: false,
                            last: None,
                        });
                        self.subscriptions.len() - 1
                    }
                };
                if let Some(sub) = self.subscriptions.get_mut(index) {
                    sub.limit = limit;
                    sub.dirty = false;
                    // The snapshot goes out at once, whatever was sent before.
                    let rendered =
                        self.room
                            .render(&self.shared.ctx.state, metric, period, sub.limit);
                    sub.last = Some(rendered.entries);
                    let frame = Message::text(rendered.frame.as_ref());
                    return self.enqueue(frame, "leaderboard");
                }
                Ok(())
            }
            Request::Unsubscribe { metric, period } => {
                self.subscriptions
                    .retain(|s| !(s.metric == metric && s.period == period));
                Ok(())
            }
        }
    }

    /// Plans a flush no sooner than `coalesce` after the previous one.
    fn schedule(&mut self, coalesce: Duration) {
        let pending = self.subscriptions.iter().any(|s| s.dirty) || !self.activity.is_empty();
        if pending && self.next_flush.is_none() {
            let now = Instant::now();
            let earliest = self.last_flush.map_or(now, |last| last + coalesce);
            self.next_flush = Some(earliest.max(now));
        }
    }

    fn flush(&mut self) -> Result<(), Full> {
        let mut frames = Vec::new();
        for sub in &mut self.subscriptions {
            if !sub.dirty {
                continue;
            }
            sub.dirty = false;
            let rendered =
                self.room
                    .render(&self.shared.ctx.state, sub.metric, sub.period, sub.limit);
            // A change elsewhere in the board (below the top `limit`) sends nothing.
            if sub.last.as_deref() != Some(&*rendered.entries) {
                sub.last = Some(rendered.entries);
                frames.push((Message::text(rendered.frame.as_ref()), "leaderboard"));
            }
        }
        if !self.activity.is_empty() {
            let events: Vec<ActivityEvent> = self.activity.drain(..).collect();
            let frame = serde_json::to_string(&ActivityFrame {
                kind: "activity",
                events: &events,
                missed: std::mem::take(&mut self.missed),
            })
            .unwrap_or_default();
            frames.push((Message::text(frame), "activity"));
        }
        for (frame, kind) in frames {
            self.enqueue(frame, kind)?;
        }
        Ok(())
    }

    fn send_error(&mut self, problem: &Problem) -> Result<(), Full> {
        self.enqueue(Message::text(protocol::error_frame(problem)), "error")
    }

    fn enqueue(&mut self, frame: Message, kind: &str) -> Result<(), Full> {
        match self.queue.try_send(frame) {
            Ok(()) => {
                self.shared.metrics.ws_frame(kind);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(Full::Slow),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Full::Gone),
        }
    }
}

/// Writes queued frames; on a close request, sends the close frame (after the queue, when
/// polite) and ends. A frame that takes longer than `send_timeout` ends the connection.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut frames: mpsc::Receiver<Message>,
    mut close: oneshot::Receiver<CloseRequest>,
    send_timeout: Duration,
    shared: Arc<Shared>,
) {
    let mut close_open = true;
    loop {
        tokio::select! {
            biased;
            request = &mut close, if close_open => {
                close_open = false;
                let Ok(request) = request else {
                    // The session ended without a close to send: finish the queue, then stop.
                    continue;
                };
                if request.flush {
                    while let Ok(frame) = frames.try_recv() {
                        if !matches!(tokio::time::timeout(CLOSE_TIMEOUT, sink.send(frame)).await, Ok(Ok(()))) {
                            return;
                        }
                    }
                }
                let frame = Message::close_with(request.code, request.reason);
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(frame)).await;
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
                return;
            }
            frame = frames.recv() => match frame {
                Some(frame) => {
                    match tokio::time::timeout(send_timeout, sink.send(frame)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return,
                        Err(_) => {
                            shared.metrics.ws_dropped(WsDrop::SendTimeout);
                            return;
                        }
                    }
                }
                None if close_open => {
                    // The queue closed first; the close request (if any) is about to come.
                    match (&mut close).await {
                        Ok(request) => {
                            let frame = Message::close_with(request.code, request.reason);
                            let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(frame)).await;
                            let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
                        }
                        Err(_) => {
                            let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
                        }
                    }
                    return;
                }
                None => {
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
                    return;
                }
            },
        }
    }
}

/// Counts the client out however the session ends.
struct Connected(Arc<Shared>);

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.metrics.ws_disconnected();
    }
}

/// Resolves when the connection's access ends; never without authentication.
async fn access_lost(access: &mut Option<LiveAccess>) {
    match access {
        Some(access) => access.lost().await,
        None => std::future::pending().await,
    }
}
