//! Rooms: one per guild with connected clients. The dataflow's applier thread calls
//! [`Rooms::dispatch`] (a [`StatsState::listen`] callback) for every change; it forwards into
//! the guild's tokio broadcast channel without blocking, so no thread per room is needed and a
//! lagging client never holds up the applier (it sees `Lagged` and re-reads everything).

use guildflow_dataflow::state::{LeaderboardEntry, LevelUp, StateEvent, StatsState};
use guildflow_model::{Metric, Period};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use tokio::sync::broadcast;

use super::protocol::LeaderboardFrame;

/// Pending events per room before its slowest client lags.
const ROOM_CAPACITY: usize = 1024;

/// What a room's clients hear.
#[derive(Clone, Debug)]
pub(crate) enum RoomEvent {
    /// A leaderboard of the guild changed.
    Changed { metric: Metric, period: Period },
    /// A member levelled up.
    LevelUp(LevelUp),
    /// A moderation log entry, rendered once as its `moderation` frame.
    Moderation(Arc<str>),
}

/// A rendered top list, shared by every client of the room that asks for the same one.
#[derive(Clone, Debug)]
pub(crate) struct Rendered {
    /// (applied times, watermark) of the state it was read from.
    version: (u64, Option<i64>),
    /// The entries (clients compare them with what they last sent).
    pub entries: Arc<Vec<LeaderboardEntry>>,
    /// The `leaderboard` frame.
    pub frame: Arc<str>,
}

type CacheKey = (Metric, Period, usize);

#[derive(Debug)]
pub(crate) struct Room {
    tx: broadcast::Sender<RoomEvent>,
    // Many clients of a busy guild watch the same board: read and serialize it once per
    // state version, not once per client.
    cache: Mutex<HashMap<CacheKey, Rendered>>,
}

/// Every room, by guild.
#[derive(Debug, Default)]
pub(crate) struct Rooms {
    rooms: RwLock<HashMap<u64, Arc<Room>>>,
}

impl Rooms {
    /// Forwards a state event to its guild's room, if anyone is in it. Never blocks long: a
    /// read lock and a broadcast send.
    pub fn dispatch(&self, event: &StateEvent) {
        let rooms = self.rooms.read().unwrap_or_else(PoisonError::into_inner);
        let Some(room) = rooms.get(&event.guild()) else {
            return;
        };
        let event = match event {
            StateEvent::Leaderboard(change) => RoomEvent::Changed {
                metric: change.metric,
                period: change.period,
            },
            StateEvent::LevelUp(level_up) => RoomEvent::LevelUp(level_up.clone()),
            // Rooms hear of automod once the admin plane has executed and logged the action.
            StateEvent::Automod(_) => return,
        };
        // An error only means every receiver just left.
        let _ = room.tx.send(event);
    }

    /// Sends a moderation log entry to its guild's room, if anyone is in it.
    pub fn moderation(&self, guild: u64, frame: Arc<str>) {
        let rooms = self.rooms.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(room) = rooms.get(&guild) {
            let _ = room.tx.send(RoomEvent::Moderation(frame));
        }
    }

    /// Joins the room of `guild` (creating it).
    pub fn join(self: &Arc<Self>, guild: u64) -> Membership {
        let mut rooms = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
        let room = rooms.entry(guild).or_insert_with(|| {
            Arc::new(Room {
                tx: broadcast::channel(ROOM_CAPACITY).0,
                cache: Mutex::new(HashMap::new()),
            })
        });
        Membership {
            rx: Some(room.tx.subscribe()),
            room: Arc::clone(room),
            rooms: Arc::clone(self),
            guild,
        }
    }

    /// Rooms open.
    pub fn len(&self) -> usize {
        self.rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A client's place in a room; leaving (drop) closes the room when it was the last one.
#[derive(Debug)]
pub(crate) struct Membership {
    rx: Option<broadcast::Receiver<RoomEvent>>,
    room: Arc<Room>,
    rooms: Arc<Rooms>,
    guild: u64,
}

impl Membership {
    /// The next event of the room.
    pub async fn recv(&mut self) -> Result<RoomEvent, broadcast::error::RecvError> {
        match self.rx.as_mut() {
            Some(rx) => rx.recv().await,
            None => Err(broadcast::error::RecvError::Closed),
        }
    }

    /// The current top `limit` of `metric` × `period`, from the room's cache when the state
    /// has not moved since it was rendered.
    pub fn render(
        &self,
        state: &StatsState,
        metric: Metric,
        period: Period,
        limit: usize,
    ) -> Rendered {
        let key = (metric, period, limit);
        let published = state.read();
        let version = (published.applied_times, published.watermark);
        if let Some(hit) = self
            .room
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .filter(|r| r.version == version)
        {
            return hit.clone();
        }
        let page = published.leaderboard(self.guild, metric, period, 0, limit);
        drop(published);
        let frame = serde_json::to_string(&LeaderboardFrame {
            kind: "leaderboard",
            metric,
            period,
            watermark: version.1,
            entries: &page.entries,
        })
        .unwrap_or_default();
        let rendered = Rendered {
            version,
            entries: Arc::new(page.entries),
            frame: frame.into(),
        };
        self.room
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, rendered.clone());
        rendered
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        drop(self.rx.take());
        let mut rooms = self
            .rooms
            .rooms
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Joining also takes the write lock, so nobody can be half-way into this room.
        if self.room.tx.receiver_count() == 0
            && rooms
                .get(&self.guild)
                .is_some_and(|room| Arc::ptr_eq(room, &self.room))
        {
            rooms.remove(&self.guild);
        }
    }
}
