//! Shard registry: the live state of every shard this process runs, written by the shard tasks
//! and read by the console, `/health` and `/metrics`. Per-frame counters are atomics; the rest
//! changes only on connection events and sits behind a mutex.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// Connection phase of a shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardPhase {
    /// Opening the websocket.
    Connecting,
    /// Connected, IDENTIFY queued or sent.
    Identifying,
    /// Connected, RESUME sent.
    Resuming,
    /// Session active, dispatches flowing.
    Ready,
    /// Connection lost; twilight reconnects.
    Disconnected,
    /// Paused by backpressure: downstream is full, the shard will resume from its last
    /// handed-off sequence once there is room.
    Paused,
    /// Closed with a fatal code (4004, 4010-4014): not reconnecting.
    Fatal,
    /// Stopped on request.
    Stopped,
}

/// A copy of one shard's status.
#[derive(Clone, Debug, Serialize)]
pub struct ShardSnapshot {
    /// Shard id.
    pub id: u32,
    /// Phase.
    pub phase: ShardPhase,
    /// Last heartbeat round trip, milliseconds.
    pub heartbeat_latency_ms: Option<f64>,
    /// Dispatches handed downstream since start.
    pub events: u64,
    /// Guilds announced by the session's GUILD_CREATEs (minus removals).
    pub guilds: u64,
    /// Current session id.
    pub session_id: Option<String>,
    /// Last sequence handed downstream.
    pub sequence: Option<u64>,
    /// READYs received (identifies that succeeded).
    pub identifies: u64,
    /// RESUMEDs received.
    pub resumes: u64,
    /// Backpressure pauses.
    pub pauses: u64,
    /// Last error or close reason.
    pub last_error: Option<String>,
}

#[derive(Debug)]
struct ShardCell {
    events: AtomicU64,
    info: Mutex<ShardSnapshot>,
}

/// Shared, cheaply cloneable registry of shard states.
#[derive(Clone, Debug, Default)]
pub struct ShardRegistry {
    shards: Arc<RwLock<BTreeMap<u32, Arc<ShardCell>>>>,
}

/// A shard task's handle on its own registry entry.
#[derive(Clone, Debug)]
pub struct ShardEntry {
    cell: Arc<ShardCell>,
}

impl ShardRegistry {
    /// Creates an empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers shard `id` (or returns its existing entry).
    pub fn register(&self, id: u32) -> ShardEntry {
        let mut shards = self.shards.write().unwrap_or_else(PoisonError::into_inner);
        let cell = shards.entry(id).or_insert_with(|| {
            Arc::new(ShardCell {
                events: AtomicU64::new(0),
                info: Mutex::new(ShardSnapshot {
                    id,
                    phase: ShardPhase::Connecting,
                    heartbeat_latency_ms: None,
                    events: 0,
                    guilds: 0,
                    session_id: None,
                    sequence: None,
                    identifies: 0,
                    resumes: 0,
                    pauses: 0,
                    last_error: None,
                }),
            })
        });
        ShardEntry {
            cell: Arc::clone(cell),
        }
    }

    /// Status of every shard, by id.
    pub fn snapshot(&self) -> Vec<ShardSnapshot> {
        let shards = self.shards.read().unwrap_or_else(PoisonError::into_inner);
        shards
            .values()
            .map(|cell| {
                let mut snap = cell
                    .info
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                snap.events = cell.events.load(Ordering::Relaxed);
                snap
            })
            .collect()
    }

    /// Shards whose session is active.
    pub fn active(&self) -> usize {
        self.snapshot()
            .iter()
            .filter(|s| s.phase == ShardPhase::Ready)
            .count()
    }
}

impl ShardEntry {
    /// Counts one dispatch handed downstream.
    pub fn count_event(&self) {
        self.cell.events.fetch_add(1, Ordering::Relaxed);
    }

    /// Updates the status under the lock.
    pub fn update(&self, f: impl FnOnce(&mut ShardSnapshot)) {
        f(&mut self
            .cell
            .info
            .lock()
            .unwrap_or_else(PoisonError::into_inner));
    }

    /// Current phase.
    pub fn phase(&self) -> ShardPhase {
        self.cell
            .info
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .phase
    }
}
