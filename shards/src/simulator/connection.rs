//! One websocket connection of the simulator: the gateway v10 protocol state machine and
//! fault injection.

use super::compress::ZlibStream;
use super::session::ResumeRefusal;
use super::{Fault, Shared};
use crate::workload::ready_payload;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Path prefix of the URL handed out as `resume_gateway_url`.
const RESUME_PATH: &str = "/resume";

/// Commands from the handle to a live connection.
pub enum Control {
    Fault(Fault),
    Shutdown,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    op: u8,
    #[serde(borrow, default)]
    d: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Identify {
    token: String,
    intents: u64,
    #[serde(default)]
    shard: Option<[u32; 2]>,
}

#[derive(Deserialize)]
struct Resume {
    token: String,
    session_id: String,
    seq: u64,
}

struct Conn {
    ws: WebSocketStream<TcpStream>,
    zlib: Option<ZlibStream>,
    shared: Arc<Shared>,
    shard: Option<u32>,
    session: Option<String>,
    zombie: bool,
}

enum Flow {
    Continue,
    /// End the connection (already closed or dropped).
    End,
}

/// Serves one TCP connection until it ends.
pub async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let mut query = String::new();
    let mut resume_path = false;
    let refuse = shared.refuse_resume.load(Ordering::SeqCst);
    // The callback's signature is tungstenite's; its error type is what it is.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        resume_path = req.uri().path().starts_with(RESUME_PATH);
        query = req.uri().query().unwrap_or_default().to_owned();
        if resume_path && refuse {
            let mut refusal = ErrorResponse::new(Some("resume node unavailable".into()));
            *refusal.status_mut() =
                tokio_tungstenite::tungstenite::http::StatusCode::SERVICE_UNAVAILABLE;
            return Err(refusal);
        }
        Ok(resp)
    };
    let ws = match tokio_tungstenite::accept_hdr_async(stream, callback).await {
        Ok(ws) => ws,
        Err(error) => {
            tracing::debug!(%peer, %error, "simulator handshake refused");
            if resume_path && refuse {
                shared.count(u32::MAX, |c| c.refused += 1);
            }
            return;
        }
    };
    let version_ok = query.split('&').any(|kv| kv == "v=10");
    let zlib = query
        .split('&')
        .any(|kv| kv == "compress=zlib-stream")
        .then(ZlibStream::new);
    let mut conn = Conn {
        ws,
        zlib,
        shared,
        shard: None,
        session: None,
        zombie: false,
    };
    if !version_ok {
        conn.close(4012, "invalid API version").await;
        return;
    }
    conn.run().await;
}

impl Conn {
    async fn run(&mut self) {
        let hello = format!(
            "{{\"op\":10,\"d\":{{\"heartbeat_interval\":{}}}}}",
            self.shared.config.heartbeat_interval.as_millis()
        );
        if self.send(&hello).await.is_err() {
            return;
        }
        let (control_tx, mut control_rx) = mpsc::unbounded_channel();
        let mut registered = false;
        let per_shard_rate = self.shared.feeds.rate_per_shard();
        let tick = Duration::from_millis(10);
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut credit = 0.0f64;
        loop {
            let streaming = self.session.is_some() && !self.zombie;
            let unlimited = streaming
                && per_shard_rate.is_none()
                && self.shard.is_some_and(|s| self.shared.feeds.generates(s));
            tokio::select! {
                biased;
                control = control_rx.recv() => match control {
                    Some(Control::Fault(fault)) => {
                        if let Flow::End = self.inject(fault).await { break; }
                    }
                    Some(Control::Shutdown) | None => {
                        self.close(1001, "simulator shutting down").await;
                        break;
                    }
                },
                incoming = self.ws.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        match self.on_text(text.as_str()).await {
                            Flow::Continue => {}
                            Flow::End => break,
                        }
                        // Register for fault injection once identified or resumed.
                        if let (false, Some(shard), Some(_)) = (registered, self.shard, &self.session) {
                            self.shared
                                .controls
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .insert(shard, control_tx.clone());
                            registered = true;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        self.close(4002, "decode error").await;
                        break;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                _ = ticker.tick(), if streaming && !unlimited => {
                    let Some(shard) = self.shard else { continue };
                    let budget = match per_shard_rate {
                        Some(rate) => {
                            credit += rate * tick.as_secs_f64();
                            let whole = credit.floor();
                            credit -= whole;
                            whole as usize
                        }
                        None => 0,
                    };
                    let batch = self.shared.feeds.take(shard, budget, per_shard_rate.is_none());
                    if let Flow::End = self.send_dispatches(batch).await { break; }
                }
                _ = std::future::ready(()), if unlimited => {
                    let Some(shard) = self.shard else { continue };
                    let batch = self.shared.feeds.take(shard, 256, false);
                    if let Flow::End = self.send_dispatches(batch).await { break; }
                    tokio::task::yield_now().await;
                }
            }
            // Pushed dispatches go out promptly whatever the rate.
            if self.session.is_some() && !self.zombie {
                if let Some(shard) = self.shard {
                    if self.shared.feeds.has_pending(shard) {
                        let batch = self.shared.feeds.take(shard, 1024, true);
                        if let Flow::End = self.send_dispatches(batch).await {
                            break;
                        }
                    }
                }
            }
        }
        if let Some(shard) = self.shard {
            let mut controls = self
                .shared
                .controls
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // A newer connection of the shard may have registered meanwhile: keep it.
            if controls
                .get(&shard)
                .is_some_and(|tx| tx.same_channel(&control_tx))
            {
                controls.remove(&shard);
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        let Ok(incoming) = serde_json::from_str::<Incoming<'_>>(text) else {
            self.close(4002, "decode error").await;
            return Flow::End;
        };
        let d = incoming.d.map_or("null", RawValue::get);
        match incoming.op {
            1 => {
                if self.zombie {
                    return Flow::Continue;
                }
                if self.send("{\"op\":11}").await.is_err() {
                    return Flow::End;
                }
                Flow::Continue
            }
            2 => self.on_identify(d).await,
            6 => self.on_resume(d).await,
            3 | 4 | 8 => {
                if self.session.is_none() {
                    self.close(4003, "not authenticated").await;
                    return Flow::End;
                }
                Flow::Continue
            }
            _ => {
                self.close(4001, "unknown opcode").await;
                Flow::End
            }
        }
    }

    async fn on_identify(&mut self, d: &str) -> Flow {
        if self.session.is_some() {
            self.close(4005, "already authenticated").await;
            return Flow::End;
        }
        let Ok(identify) = serde_json::from_str::<Identify>(d) else {
            self.close(4002, "decode error").await;
            return Flow::End;
        };
        if !self.token_ok(&identify.token) {
            self.close(4004, "authentication failed").await;
            return Flow::End;
        }
        let total = self.shared.config.total_shards;
        let [shard, shard_total] = identify.shard.unwrap_or([0, 1]);
        if shard_total != total || shard >= total {
            self.close(4010, "invalid shard").await;
            return Flow::End;
        }
        if identify.intents >= 1 << 26 {
            self.close(4013, "invalid intent(s)").await;
            return Flow::End;
        }
        if identify.intents & self.shared.config.disallowed_intents != 0 {
            self.close(4014, "disallowed intent(s)").await;
            return Flow::End;
        }
        let guilds = self
            .shared
            .world
            .as_ref()
            .map(|w| w.guild_ids_of_shard(shard))
            .unwrap_or_default();
        if guilds.len() > self.shared.config.max_guilds_per_shard {
            self.close(4011, "sharding required").await;
            return Flow::End;
        }
        let n = self.shared.next_session.fetch_add(1, Ordering::Relaxed);
        let session = format!("sim{shard}x{n:08x}");
        self.shared.sessions.create(session.clone(), shard);
        self.shard = Some(shard);
        self.session = Some(session.clone());
        self.shared.count(shard, |c| c.identifies += 1);
        let resume_url = format!("{}{RESUME_PATH}", self.shared.url);
        let ready = ready_payload(&session, &resume_url, [shard, total], &guilds);
        let mut batch = vec![("READY", ready)];
        if let Some(world) = &self.shared.world {
            batch.extend(
                guilds
                    .iter()
                    .filter_map(|g| world.guild_create(*g))
                    .map(|d| ("GUILD_CREATE", d)),
            );
        }
        self.send_dispatches(batch).await
    }

    async fn on_resume(&mut self, d: &str) -> Flow {
        let Ok(resume) = serde_json::from_str::<Resume>(d) else {
            self.close(4002, "decode error").await;
            return Flow::End;
        };
        if !self.token_ok(&resume.token) {
            self.close(4004, "authentication failed").await;
            return Flow::End;
        }
        let shard = session_shard(&resume.session_id);
        let replay = match shard {
            Some(shard) => self
                .shared
                .sessions
                .replay(&resume.session_id, shard, resume.seq),
            None => Err(ResumeRefusal::Unknown),
        };
        match (shard, replay) {
            (Some(shard), Ok(frames)) => {
                self.shard = Some(shard);
                self.session = Some(resume.session_id.clone());
                self.shared.count(shard, |c| {
                    c.resumes += 1;
                    c.dispatches_sent += frames.len() as u64;
                });
                for frame in frames {
                    if self.send(&frame).await.is_err() {
                        return Flow::End;
                    }
                }
                self.send_dispatches(vec![("RESUMED", "{}".to_owned())])
                    .await
            }
            (_, Err(refusal)) => {
                tracing::debug!(?refusal, session = %resume.session_id, "simulator refuses resume");
                // Discord waits 1-5 s before op 9; clients must wait before re-identifying.
                tokio::time::sleep(Duration::from_millis(50)).await;
                if self.send("{\"op\":9,\"d\":false}").await.is_err() {
                    return Flow::End;
                }
                Flow::Continue
            }
            (None, Ok(_)) => Flow::Continue,
        }
    }

    async fn inject(&mut self, fault: Fault) -> Flow {
        tracing::info!(?fault, shard = ?self.shard, "simulator injects fault");
        match fault {
            Fault::DropTcp { unsent } => {
                if let (Some(shard), Some(session)) = (self.shard, self.session.as_deref()) {
                    for (t, d) in self.shared.feeds.take(shard, unsent as usize, false) {
                        let _ = self.shared.sessions.append(session, t, &d);
                    }
                }
                // Dropping the stream resets the TCP connection without a close frame.
                Flow::End
            }
            Fault::Zombie => {
                self.zombie = true;
                Flow::Continue
            }
            Fault::Reconnect => {
                if self.send("{\"op\":7,\"d\":null}").await.is_err() {
                    return Flow::End;
                }
                Flow::Continue
            }
            Fault::InvalidSession { resumable } => {
                if !resumable {
                    if let Some(session) = self.session.take() {
                        self.shared.sessions.invalidate(&session);
                    }
                }
                let frame = format!("{{\"op\":9,\"d\":{resumable}}}");
                if self.send(&frame).await.is_err() {
                    return Flow::End;
                }
                Flow::Continue
            }
            Fault::Close { code } => {
                if matches!(code, 4007 | 4009) {
                    if let Some(session) = self.session.take() {
                        self.shared.sessions.invalidate(&session);
                    }
                }
                self.close(code, "injected").await;
                Flow::End
            }
        }
    }

    fn token_ok(&self, token: &str) -> bool {
        token.strip_prefix("Bot ").unwrap_or(token) == self.shared.config.token
    }

    async fn send_dispatches(&mut self, batch: Vec<(&'static str, String)>) -> Flow {
        let (Some(shard), Some(session)) = (self.shard, self.session.clone()) else {
            return Flow::Continue;
        };
        if batch.is_empty() {
            return Flow::Continue;
        }
        let count = batch.len() as u64;
        {
            let mut overlay = self
                .shared
                .rest
                .overlay
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (t, d) in &batch {
                overlay.observe_dispatch(t, d);
            }
        }
        for (t, d) in batch {
            let Some(frame) = self.shared.sessions.append(&session, t, &d) else {
                return Flow::Continue;
            };
            if self.feed(&frame).await.is_err() {
                return Flow::End;
            }
        }
        if self.ws.flush().await.is_err() {
            return Flow::End;
        }
        self.shared.count(shard, |c| c.dispatches_sent += count);
        Flow::Continue
    }

    /// Queues a message without flushing.
    async fn feed(&mut self, text: &str) -> Result<(), ()> {
        let message = match self.zlib.as_mut() {
            Some(zlib) => Message::Binary(zlib.compress(text.as_bytes()).into()),
            None => Message::text(text),
        };
        self.ws.feed(message).await.map_err(|_| ())
    }

    async fn send(&mut self, text: &str) -> Result<(), ()> {
        self.feed(text).await?;
        self.ws.flush().await.map_err(|_| ())
    }

    async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: WsCloseCode::from(code),
            reason: reason.to_owned().into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }
}

/// Session ids are `sim{shard}x{n}`: the shard is recoverable from the id alone, as Discord
/// binds a session to its shard.
fn session_shard(session: &str) -> Option<u32> {
    session.strip_prefix("sim")?.split('x').next()?.parse().ok()
}
