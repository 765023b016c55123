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

/// Words of a shard session's window bitmap.
const WINDOW_WORDS: usize = (SEQ_WINDOW / 64) as usize;

#[derive(Debug, Default, Serialize, Deserialize)]
struct ShardSession {
    session: Option<Box<str>>,
    highest: u64,
    /// Bit `seq % SEQ_WINDOW` is set when `seq`, within `SEQ_WINDOW` of `highest`, was seen:
    /// a ring of 8 KiB per shard session (allocated at its first frame). A hash set of the
    /// window's sequence numbers took about 2.4 MB per shard and a pass over it every 65,536
    /// frames to forget the old ones.
    seen: Vec<u64>,
}

impl ShardSession {
    fn bit(seq: u64) -> (usize, u64) {
        let slot = seq % SEQ_WINDOW;
        ((slot / 64) as usize, 1 << (slot % 64))
    }

    /// Records `seq`; whether it is new.
    fn admit(&mut self, seq: u64) -> bool {
        if seq.saturating_add(SEQ_WINDOW) <= self.highest {
            return false;
        }
        if self.seen.len() != WINDOW_WORDS {
            self.seen = vec![0; WINDOW_WORDS];
        }
        if seq > self.highest {
            // The slots of (highest, seq] now stand for these sequence numbers: forget what
            // they held.
            if seq - self.highest >= SEQ_WINDOW {
                self.seen.fill(0);
            } else {
                for old in self.highest + 1..=seq {
                    let (word, mask) = Self::bit(old);
                    self.seen[word] &= !mask;
                }
            }
            self.highest = seq;
        }
        let (word, mask) = Self::bit(seq);
        let fresh = self.seen[word] & mask == 0;
        self.seen[word] |= mask;
        fresh
    }
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
                shard.seen.fill(0);
            }
        }
        let fresh = shard.admit(event.seq);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The rule, written plainly: new unless seen before or older than the window below the
    /// highest sequence number seen.
    struct Reference {
        seen: BTreeSet<u64>,
        highest: u64,
    }

    impl Reference {
        fn admit(&mut self, seq: u64) -> bool {
            let fresh = seq.saturating_add(SEQ_WINDOW) > self.highest && self.seen.insert(seq);
            if fresh {
                self.highest = self.highest.max(seq);
            }
            fresh
        }
    }

    #[test]
    fn the_ring_window_agrees_with_the_plain_rule() {
        // A deterministic mix: in order, repeats, reordering within the window, jumps past it,
        // and stragglers from before the window.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut ring = ShardSession::default();
        let mut reference = Reference {
            seen: BTreeSet::new(),
            highest: 0,
        };
        let mut seq = 1u64;
        for _ in 0..400_000 {
            let r = next();
            let candidate = match r % 100 {
                0..=69 => {
                    seq += 1;
                    seq
                }
                70..=84 => seq.saturating_sub(r % 50),
                85..=94 => seq.saturating_sub((r >> 8) % (2 * SEQ_WINDOW)),
                95..=97 => {
                    seq += (r >> 8) % (3 * SEQ_WINDOW);
                    seq
                }
                _ => seq + (r >> 8) % 100,
            };
            assert_eq!(
                ring.admit(candidate),
                reference.admit(candidate),
                "seq {candidate}, highest {}",
                reference.highest
            );
        }
    }

    #[test]
    fn a_new_session_starts_afresh_and_repeats_are_counted() {
        let frame = |seq: u64, ready: Option<&str>| Event {
            at: 0,
            shard: 3,
            seq,
            body: match ready {
                Some(session) => EventBody::Ready {
                    session_id: session.into(),
                    resume_gateway_url: "wss://x".into(),
                    guilds: Vec::new().into_boxed_slice(),
                },
                None => EventBody::Resumed,
            },
        };
        let mut dedup = FrameDedup::default();
        assert!(dedup.admit(&frame(1, Some("a"))));
        assert!(dedup.admit(&frame(2, None)));
        assert!(!dedup.admit(&frame(2, None)));
        // Another session: its sequence numbers start again.
        assert!(dedup.admit(&frame(1, Some("b"))));
        assert!(dedup.admit(&frame(2, None)));
        assert_eq!(dedup.dropped(), 1);
    }
}
