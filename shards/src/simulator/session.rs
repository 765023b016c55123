//! Gateway sessions: they outlive connections, number dispatches and keep a bounded log of
//! them for RESUME.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

struct Session {
    shard: u32,
    seq: u64,
    log: VecDeque<(u64, Arc<str>)>,
}

/// Why a RESUME is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ResumeRefusal {
    /// Unknown, invalidated or other shard's session.
    Unknown,
    /// The sequence is older than the retained log, or ahead of the session.
    OutOfRange,
}

/// All sessions of the simulator.
pub struct Sessions {
    capacity: usize,
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub fn new(capacity: usize) -> Self {
        Sessions {
            capacity: capacity.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn create(&self, id: String, shard: u32) {
        self.lock().insert(
            id,
            Session {
                shard,
                seq: 0,
                log: VecDeque::new(),
            },
        );
    }

    /// Numbers a dispatch and logs its frame; None if the session is gone.
    pub fn append(&self, id: &str, t: &str, d: &str) -> Option<Arc<str>> {
        let mut map = self.lock();
        let session = map.get_mut(id)?;
        session.seq += 1;
        let frame: Arc<str> =
            format!("{{\"op\":0,\"s\":{},\"t\":\"{t}\",\"d\":{d}}}", session.seq).into();
        if session.log.len() == self.capacity {
            session.log.pop_front();
        }
        session.log.push_back((session.seq, Arc::clone(&frame)));
        Some(frame)
    }

    /// The frames after `after`, for a RESUME of `shard`; the caller then sends RESUMED with
    /// the returned next sequence.
    pub fn replay(&self, id: &str, shard: u32, after: u64) -> Result<Vec<Arc<str>>, ResumeRefusal> {
        let map = self.lock();
        let session = map.get(id).ok_or(ResumeRefusal::Unknown)?;
        if session.shard != shard {
            return Err(ResumeRefusal::Unknown);
        }
        let oldest = session.log.front().map_or(session.seq + 1, |(s, _)| *s);
        if after > session.seq || after + 1 < oldest {
            return Err(ResumeRefusal::OutOfRange);
        }
        Ok(session
            .log
            .iter()
            .filter(|(s, _)| *s > after)
            .map(|(_, f)| Arc::clone(f))
            .collect())
    }

    pub fn invalidate(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Forgets every session (their gateway node died).
    pub fn clear(&self) {
        self.lock().clear();
    }
}
