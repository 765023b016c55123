//! De-duplication (SPEC §2).
//!
//! - [`FrameDedup`]: frames are identified by (shard, session, seq); the session of a frame is
//!   the one announced by the latest READY of its shard. A window of recent sequence numbers
//!   per shard session catches repeats even when frames of a batch arrive out of order.
//! - [`MessageIds`]: MESSAGE_CREATE counts once per message id. Ids are kept for a horizon of
//!   event time (message ids carry their creation time), so memory stays bounded.

use foldhash::{HashMap, HashSet};
use guildflow_model::{Event, EventBody};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Sequence numbers older than this below a shard's highest are treated as already seen.
const SEQ_WINDOW: u64 = 1 << 16;

#[derive(Debug, Default, Serialize, Deserialize)]
struct ShardSession {
    session: Option<Box<str>>,
    highest: u64,
    seen: HashSet<u64>,
}

/// (shard, session, seq) de-duplication of frames, applied where frames enter the dataflow.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct FrameDedup {
    shards: HashMap<u32, ShardSession>,
    /// Dropped by this process (not carried over by a snapshot).
    #[serde(skip)]
    dropped: u64,
}

impl FrameDedup {
    /// Whether `event` is new; records it.
    pub fn admit(&mut self, event: &Event) -> bool {
        let shard = self.shards.entry(event.shard).or_default();
        if let EventBody::Ready { session_id, .. } = &event.body {
            if shard.session.as_deref() != Some(session_id) {
                shard.session = Some(session_id.clone());
                shard.highest = 0;
                shard.seen.clear();
            }
        }
        let seq = event.seq;
        let fresh = seq + SEQ_WINDOW > shard.highest && shard.seen.insert(seq);
        if fresh && seq > shard.highest {
            shard.highest = seq;
            if shard.seen.len() > 2 * SEQ_WINDOW as usize {
                let floor = shard.highest.saturating_sub(SEQ_WINDOW);
                shard.seen.retain(|s| *s > floor);
            }
        }
        if !fresh {
            self.dropped += 1;
        }
        fresh
    }

    /// Frames dropped as repeats.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Creation time (Unix ms) of a snowflake.
pub const fn snowflake_ms(id: u64) -> i64 {
    ((id >> 22) as i64) + 1_420_070_400_000
}

/// Message ids seen within the horizon, for one guild.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageIds {
    ids: HashSet<u64>,
    order: VecDeque<u64>,
}

impl MessageIds {
    /// Whether `id` is new; records it. Ids older than `horizon_ms` before `watermark` are
    /// forgotten first.
    pub fn admit(&mut self, id: u64, watermark: i64, horizon_ms: i64) -> bool {
        while let Some(&oldest) = self.order.front() {
            if snowflake_ms(oldest) >= watermark - horizon_ms {
                break;
            }
            self.order.pop_front();
            self.ids.remove(&oldest);
        }
        if self.ids.insert(id) {
            self.order.push_back(id);
            true
        } else {
            false
        }
    }

    /// Ids retained.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether none are retained.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}
