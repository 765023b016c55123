//! Identify pacing. Discord allows `max_concurrency` IDENTIFYs per 5 s bucket and a daily budget
//! of session starts; twilight's `InMemoryQueue` enforces both. Tests and the simulator use
//! [`IdentifyQueue::Immediate`], since the in-memory queue delays every re-identify by 5 s.

use std::time::Duration;
use tokio::sync::oneshot;
use twilight_gateway::queue::{InMemoryQueue, Queue};

/// The identify queue shared by the shards of a process.
#[derive(Clone, Debug)]
pub enum IdentifyQueue {
    /// Discord's limits.
    Discord(InMemoryQueue),
    /// No pacing (simulator, tests).
    Immediate,
}

impl IdentifyQueue {
    /// Discord's limits: `max_concurrency` per 5 s, `remaining` of `total` daily starts left,
    /// the budget resetting after `reset_after`. Must run inside a tokio runtime.
    pub fn discord(
        max_concurrency: u16,
        remaining: u32,
        total: u32,
        reset_after: Duration,
    ) -> Self {
        IdentifyQueue::Discord(InMemoryQueue::new(
            max_concurrency.max(1),
            remaining.min(total),
            reset_after,
            total,
        ))
    }
}

impl Queue for IdentifyQueue {
    fn enqueue(&self, shard: u32) -> oneshot::Receiver<()> {
        match self {
            IdentifyQueue::Discord(queue) => queue.enqueue(shard),
            IdentifyQueue::Immediate => {
                let (tx, rx) = oneshot::channel();
                let _ = tx.send(());
                rx
            }
        }
    }
}
