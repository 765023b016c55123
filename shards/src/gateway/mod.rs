//! Real Discord shards on twilight-gateway.
//!
//! Each shard runs in its own task and hands every dispatch frame, as raw text, to one bounded
//! queue shared with the pipeline. We read the shard's text messages rather than
//! `next_event`, which would silently skip event types twilight does not know.
//!
//! Backpressure: the receive loop never waits on downstream while connected, so heartbeats keep
//! going. When the queue is full, frames go to a small per-shard overflow buffer that drains as
//! room appears. If the overflow fills too (sustained overload), the shard drops its
//! connection, flushes the overflow (now waiting is harmless: no heartbeat is owed), then
//! RESUMEs from the last handed-off sequence; Discord replays what was missed. Memory stays
//! bounded and nothing is lost.

mod queue;
mod runner;

pub use queue::IdentifyQueue;
pub use runner::ShardExit;

use crate::registry::ShardRegistry;
use crate::RawFrame;
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
pub use twilight_gateway::Intents;

/// Errors of starting shards.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// The shard range does not fit in the total.
    #[error("shard range {start}-{end} is outside 0..{total}")]
    BadRange {
        /// First shard.
        start: u32,
        /// Last shard.
        end: u32,
        /// Total shards.
        total: u32,
    },
    /// No token.
    #[error("a bot token is required (--token or DISCORD_TOKEN)")]
    MissingToken,
}

/// Where a shard resumes from, given by the caller (the store persists the last durably
/// stored sequence, which lags twilight's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumePoint {
    /// Gateway session id from READY.
    pub session_id: String,
    /// Last sequence the caller has; the gateway replays everything after it.
    pub sequence: u64,
    /// READY's `resume_gateway_url`.
    pub resume_url: Option<String>,
}

/// How to run this process's shards.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// Bot token (with or without the `Bot ` prefix).
    pub token: String,
    /// Total shards of the bot.
    pub total_shards: u32,
    /// The shards this process runs.
    pub shard_ids: RangeInclusive<u32>,
    /// Gateway intents.
    pub intents: Intents,
    /// Gateway base URL (`ws://host:port`, no trailing slash); None for Discord's.
    pub gateway_url: Option<String>,
    /// Identify pacing: max_concurrency buckets and the daily session-start budget.
    pub queue: IdentifyQueue,
    /// Frames a shard buffers while the hand-off queue is full before pausing.
    pub overflow_capacity: usize,
    /// Sessions to resume, by shard id.
    pub resume: HashMap<u32, ResumePoint>,
}

impl GatewayConfig {
    /// The intents guildflow needs: guilds, members, messages (+ content), reactions, voice.
    pub fn default_intents() -> Intents {
        Intents::GUILDS
            | Intents::GUILD_MEMBERS
            | Intents::GUILD_MESSAGES
            | Intents::MESSAGE_CONTENT
            | Intents::GUILD_MESSAGE_REACTIONS
            | Intents::GUILD_VOICE_STATES
    }
}

/// The running shards of this process.
#[derive(Debug)]
pub struct ShardSet {
    tasks: Vec<(u32, JoinHandle<ShardExit>)>,
    shutdown: watch::Sender<bool>,
}

impl ShardSet {
    /// Starts one task per shard in the range. Must run inside a tokio runtime.
    pub fn start(
        config: GatewayConfig,
        registry: ShardRegistry,
        frames: mpsc::Sender<RawFrame>,
    ) -> Result<ShardSet, GatewayError> {
        let (start, end) = (*config.shard_ids.start(), *config.shard_ids.end());
        if start > end || end >= config.total_shards {
            return Err(GatewayError::BadRange {
                start,
                end,
                total: config.total_shards,
            });
        }
        if config.token.trim().is_empty() {
            return Err(GatewayError::MissingToken);
        }
        install_crypto_provider();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let config = Arc::new(config);
        let tasks = config
            .shard_ids
            .clone()
            .map(|id| {
                let task = runner::ShardTask {
                    id,
                    config: Arc::clone(&config),
                    entry: registry.register(id),
                    frames: frames.clone(),
                    shutdown: shutdown_rx.clone(),
                };
                (id, tokio::spawn(task.run()))
            })
            .collect();
        Ok(ShardSet { tasks, shutdown })
    }

    /// Asks every shard to stop (closing with a resumable code, so the session survives for a
    /// restart) and waits for them.
    pub async fn stop(self) -> Vec<(u32, ShardExit)> {
        let _ = self.shutdown.send(true);
        self.join().await
    }

    /// Waits until every shard has ended (fatal close or stop).
    pub async fn join(self) -> Vec<(u32, ShardExit)> {
        let mut exits = Vec::new();
        for (id, task) in self.tasks {
            let exit = task
                .await
                .unwrap_or_else(|e| ShardExit::Fatal(format!("shard task failed: {e}")));
            exits.push((id, exit));
        }
        exits
    }
}

/// twilight builds a rustls config even for `ws://` URLs, and rustls needs a process-wide
/// crypto provider; installing one twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
