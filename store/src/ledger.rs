//! Which frames the store already holds, by (shard, session, seq) (SPEC §2), so a frame that
//! arrives again — a gateway replaying after a resume from older progress, a capture replayed
//! into a data directory that holds part of it — is stored and counted once.
//!
//! Unlike the dataflow's own de-duplication, which only remembers each shard's current
//! session, the ledger remembers every session it has seen (the most recent
//! [`MAX_SESSIONS`]), because a replayed capture goes back through old sessions. A restart
//! takes it from the latest snapshot (`crate::snapshot`) and the rows stored after it, or
//! rebuilds it from every stored row when there is no snapshot.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};

/// Sequences this far below a session's highest are taken as stored without a lookup.
const SEQ_WINDOW: u64 = 1 << 16;
/// Sessions remembered; the oldest is forgotten first.
pub const MAX_SESSIONS: usize = 4096;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SessionFrames {
    highest: u64,
    seen: HashSet<u64>,
}

/// Stored frames by shard session.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FrameLedger {
    sessions: HashMap<(u32, Box<str>), SessionFrames>,
    order: VecDeque<(u32, Box<str>)>,
    current: HashMap<u32, Box<str>>,
    /// Repeats refused by this process (not carried over by a snapshot).
    #[serde(skip)]
    repeats: u64,
}

impl FrameLedger {
    /// A READY of `shard`: its later frames belong to `session`. Returns whether this READY
    /// itself is new (a READY seen before, e.g. in a replayed capture, is a repeat).
    pub fn start_session(&mut self, shard: u32, session: &str, seq: u64) -> bool {
        self.current.insert(shard, Box::from(session));
        self.admit(shard, seq)
    }

    /// The session frames of `shard` currently belong to ("" before its first READY).
    pub fn session(&self, shard: u32) -> &str {
        self.current.get(&shard).map_or("", |s| s)
    }

    /// Whether frame `seq` of `shard`'s current session is new; records it.
    pub fn admit(&mut self, shard: u32, seq: u64) -> bool {
        let session: Box<str> = Box::from(self.session(shard));
        self.admit_key((shard, session), seq)
    }

    /// As [`FrameLedger::admit`] for a frame whose session is known (a stored row); it also
    /// becomes the shard's current session.
    pub fn admit_in(&mut self, shard: u32, session: &str, seq: u64) -> bool {
        if self.session(shard) != session {
            self.current.insert(shard, Box::from(session));
        }
        self.admit_key((shard, Box::from(session)), seq)
    }

    fn admit_key(&mut self, key: (u32, Box<str>), seq: u64) -> bool {
        if !self.sessions.contains_key(&key) {
            if self.order.len() >= MAX_SESSIONS {
                if let Some(oldest) = self.order.pop_front() {
                    self.sessions.remove(&oldest);
                }
            }
            self.order.push_back(key.clone());
        }
        let frames = self.sessions.entry(key).or_default();
        let fresh = seq + SEQ_WINDOW > frames.highest && frames.seen.insert(seq);
        if fresh && seq > frames.highest {
            frames.highest = seq;
            if frames.seen.len() > 2 * SEQ_WINDOW as usize {
                let floor = frames.highest.saturating_sub(SEQ_WINDOW);
                frames.seen.retain(|s| *s > floor);
            }
        }
        if !fresh {
            self.repeats += 1;
        }
        fresh
    }

    /// Frames refused as already stored.
    pub fn repeats(&self) -> u64 {
        self.repeats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_admitted_once_per_session() {
        let mut ledger = FrameLedger::default();
        assert!(
            ledger.admit(0, 1),
            "frames before any READY have the empty session"
        );
        assert!(!ledger.admit(0, 1));
        assert!(ledger.start_session(0, "a", 1));
        assert!(ledger.admit(0, 2));
        assert!(ledger.admit(0, 4), "out of order within a session is fine");
        assert!(ledger.admit(0, 3));
        assert!(!ledger.admit(0, 3));
        assert!(ledger.start_session(0, "b", 1));
        assert!(ledger.admit(0, 2), "same seq, other session");
        // A capture replayed from the start goes back through session a.
        assert!(!ledger.start_session(0, "a", 1));
        assert!(!ledger.admit(0, 2));
        assert!(ledger.admit(0, 5));
        assert!(ledger.admit(1, 2), "shards are independent");
        assert_eq!(ledger.repeats(), 4);
    }

    #[test]
    fn oldest_sessions_are_forgotten() {
        let mut ledger = FrameLedger::default();
        for s in 0..=MAX_SESSIONS {
            ledger.start_session(0, &s.to_string(), 1);
        }
        assert!(
            ledger.start_session(0, "0", 1),
            "session 0 was forgotten, so it is new again"
        );
        assert!(!ledger.start_session(0, &MAX_SESSIONS.to_string(), 1));
    }
}
