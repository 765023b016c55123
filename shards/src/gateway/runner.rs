//! One shard's task: connect through twilight, hand frames off, keep the registry current,
//! pause and resume under sustained backpressure.

use super::{GatewayConfig, ResumePoint};
use crate::registry::{ShardEntry, ShardPhase};
use crate::RawFrame;
use futures_util::StreamExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use twilight_gateway::{CloseFrame, ConfigBuilder, Message, Session, Shard, ShardId, ShardState};
use twilight_model::gateway::event::GatewayEventDeserializer;
use twilight_model::gateway::CloseCode;

/// How a shard task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardExit {
    /// Stopped on request; the session can be resumed from here.
    Stopped(Option<ResumePoint>),
    /// Closed by the gateway with a fatal code, or the pipeline went away.
    Fatal(String),
}

pub(super) struct ShardTask {
    pub id: u32,
    pub config: Arc<GatewayConfig>,
    pub entry: ShardEntry,
    pub frames: mpsc::Sender<RawFrame>,
    pub shutdown: watch::Receiver<bool>,
}

/// Why one twilight `Shard` instance was given up.
enum Leg {
    Exit(ShardExit),
    /// Downstream stayed full: resume from here once the overflow is flushed.
    Pause(Option<ResumePoint>, VecDeque<RawFrame>),
}

impl ShardTask {
    pub async fn run(mut self) -> ShardExit {
        let mut resume = self.config.resume.get(&self.id).cloned();
        loop {
            let shard = self.build_shard(resume.take());
            match self.drive(shard).await {
                Leg::Exit(exit) => {
                    self.entry.update(|s| {
                        s.phase = match exit {
                            ShardExit::Stopped(_) => ShardPhase::Stopped,
                            ShardExit::Fatal(_) => ShardPhase::Fatal,
                        };
                        if let ShardExit::Fatal(reason) = &exit {
                            s.last_error = Some(reason.clone());
                        }
                    });
                    return exit;
                }
                Leg::Pause(point, overflow) => {
                    self.entry.update(|s| {
                        s.phase = ShardPhase::Paused;
                        s.pauses += 1;
                    });
                    tracing::warn!(
                        shard = self.id,
                        buffered = overflow.len(),
                        "downstream full: shard paused, will resume"
                    );
                    for frame in overflow {
                        if self.frames.send(frame).await.is_err() {
                            return ShardExit::Fatal("pipeline closed".into());
                        }
                        self.entry.count_event();
                    }
                    resume = point;
                }
            }
        }
    }

    fn build_shard(&self, resume: Option<ResumePoint>) -> Shard<super::IdentifyQueue> {
        let cfg = &self.config;
        let mut builder =
            ConfigBuilder::new(cfg.token.clone(), cfg.intents).queue(cfg.queue.clone());
        if let Some(url) = &cfg.gateway_url {
            builder = builder.proxy_url(url.trim_end_matches('/').to_owned());
        }
        if let Some(point) = resume {
            tracing::info!(shard = self.id, session = %point.session_id, seq = point.sequence, "resuming session");
            builder = builder.session(Session::new(point.sequence, point.session_id));
            if let Some(url) = point.resume_url {
                builder = builder.resume_url(url);
            }
        }
        self.entry.update(|s| s.phase = ShardPhase::Connecting);
        Shard::with_config(ShardId::new(self.id, cfg.total_shards), builder.build())
    }

    async fn drive(&mut self, mut shard: Shard<super::IdentifyQueue>) -> Leg {
        let mut overflow: VecDeque<RawFrame> = VecDeque::new();
        let mut last_close: Option<String> = None;
        loop {
            tokio::select! {
                changed = self.shutdown.changed() => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        // A resumable close keeps the session alive for a restart.
                        shard.close(CloseFrame::RESUME);
                        let point = resume_point(&shard);
                        for frame in overflow.drain(..) {
                            if self.frames.send(frame).await.is_err() { break; }
                            self.entry.count_event();
                        }
                        return Leg::Exit(ShardExit::Stopped(point));
                    }
                }
                permit = self.frames.reserve(), if !overflow.is_empty() => {
                    let Ok(permit) = permit else {
                        return Leg::Exit(ShardExit::Fatal("pipeline closed".into()));
                    };
                    if let Some(frame) = overflow.pop_front() {
                        permit.send(frame);
                        self.entry.count_event();
                    }
                }
                message = shard.next() => {
                    let Some(message) = message else {
                        let reason = last_close.take().unwrap_or_else(|| "gateway closed the session fatally".into());
                        tracing::error!(shard = self.id, %reason, "shard closed fatally; not reconnecting");
                        return Leg::Exit(ShardExit::Fatal(reason));
                    };
                    match message {
                        Ok(Message::Text(text)) => {
                            // One envelope scan per frame serves both the registry and the
                            // dispatch test.
                            let (op, _, t) = GatewayEventDeserializer::from_json(&text)
                                .map_or((u8::MAX, None, None), |d| d.into_parts());
                            self.observe(&shard, t.as_deref());
                            if op != 0 {
                                continue;
                            }
                            let frame = RawFrame { shard: self.id, at: now_ms(), text };
                            if overflow.is_empty() {
                                match self.frames.try_send(frame) {
                                    Ok(()) => { self.entry.count_event(); }
                                    Err(mpsc::error::TrySendError::Full(frame)) => overflow.push_back(frame),
                                    Err(mpsc::error::TrySendError::Closed(_)) => {
                                        return Leg::Exit(ShardExit::Fatal("pipeline closed".into()));
                                    }
                                }
                            } else {
                                overflow.push_back(frame);
                                if overflow.len() > self.config.overflow_capacity {
                                    // The session sequence equals the last frame now in the
                                    // overflow, which will be flushed before resuming.
                                    let point = resume_point(&shard);
                                    drop(shard);
                                    return Leg::Pause(point, overflow);
                                }
                            }
                        }
                        Ok(Message::Close(frame)) => {
                            let (code, reason) = frame.map_or((None, String::new()), |f| (Some(f.code), f.reason.into_owned()));
                            let described = describe_close(code, &reason);
                            tracing::info!(shard = self.id, close = %described, "gateway connection closed");
                            last_close = Some(described.clone());
                            self.entry.update(|s| {
                                s.phase = phase_of(shard.state());
                                s.last_error = Some(described);
                            });
                        }
                        Err(error) => {
                            tracing::warn!(shard = self.id, %error, "shard receive error");
                            self.entry.update(|s| {
                                s.phase = phase_of(shard.state());
                                s.last_error = Some(error.to_string());
                            });
                        }
                    }
                }
            }
        }
    }

    /// Registry bookkeeping for a received text message.
    fn observe(&self, shard: &Shard<super::IdentifyQueue>, t: Option<&str>) {
        let latency = shard
            .latency()
            .recent()
            .first()
            .map(|d| d.as_secs_f64() * 1000.0);
        let session = shard.session();
        self.entry.update(|s| {
            s.phase = phase_of(shard.state());
            if latency.is_some() {
                s.heartbeat_latency_ms = latency;
            }
            match t {
                Some("READY") => {
                    s.identifies += 1;
                    s.guilds = 0;
                }
                Some("RESUMED") => s.resumes += 1,
                Some("GUILD_CREATE") => s.guilds += 1,
                Some("GUILD_DELETE") => s.guilds = s.guilds.saturating_sub(1),
                _ => {}
            }
            if let Some(session) = session {
                // Allocates only when the session changes, not per frame.
                if s.session_id.as_deref() != Some(session.id()) {
                    s.session_id = Some(session.id().to_owned());
                }
                s.sequence = Some(session.sequence());
            }
        });
    }
}

fn resume_point(shard: &Shard<super::IdentifyQueue>) -> Option<ResumePoint> {
    shard.session().map(|s| ResumePoint {
        session_id: s.id().to_owned(),
        sequence: s.sequence(),
        resume_url: shard.resume_url().map(str::to_owned),
    })
}

fn phase_of(state: ShardState) -> ShardPhase {
    match state {
        ShardState::Active => ShardPhase::Ready,
        ShardState::Identifying => ShardPhase::Identifying,
        ShardState::Resuming => ShardPhase::Resuming,
        ShardState::Disconnected { .. } => ShardPhase::Disconnected,
        ShardState::FatallyClosed => ShardPhase::Fatal,
    }
}

fn describe_close(code: Option<u16>, reason: &str) -> String {
    match code {
        Some(code) => {
            let name = CloseCode::try_from(code)
                .map(|c| c.to_string())
                .unwrap_or_else(|_| "non-Discord code".into());
            if reason.is_empty() {
                format!("close {code} ({name})")
            } else {
                format!("close {code} ({name}): {reason}")
            }
        }
        None => "connection closed without a close frame".into(),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
