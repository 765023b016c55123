//! Change subscriptions (the websocket's source). Two kinds, neither of which can block the
//! applier:
//!
//! - per-guild bounded channels ([`super::StatsState::subscribe`]): a subscriber that falls
//!   behind loses notifications;
//! - listeners ([`super::StatsState::listen`]): a callback run on the applier thread for every
//!   change of every guild, which must return at once (typically a non-blocking send into an
//!   async channel). This is what lets an async server fan changes out without a bridge thread
//!   per guild.

use guildflow_model::{Metric, Period};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// A leaderboard of the guild changed as of `watermark`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderboardChange {
    /// Guild.
    pub guild: u64,
    /// Metric.
    pub metric: Metric,
    /// Period.
    pub period: Period,
    /// Watermark of the state that holds the change.
    pub watermark: i64,
}

/// A member reached a new level (from the engine's level-up signal; it may arrive slightly
/// before the leaderboards that reflect it are published).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelUp {
    /// Guild.
    pub guild: u64,
    /// Member.
    pub user: u64,
    /// New level.
    pub level: u32,
    /// XP total.
    pub xp: i64,
    /// Event time of the message that earned it.
    pub at: i64,
}

/// What a listener hears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateEvent {
    /// A leaderboard changed.
    Leaderboard(LeaderboardChange),
    /// A member levelled up.
    LevelUp(LevelUp),
    /// An automod rule or warning escalation decided an action.
    Automod(crate::automod::AutomodAction),
}

impl StateEvent {
    /// The guild concerned.
    pub fn guild(&self) -> u64 {
        match self {
            StateEvent::Leaderboard(change) => change.guild,
            StateEvent::LevelUp(level_up) => level_up.guild,
            StateEvent::Automod(action) => action.guild.get(),
        }
    }
}

/// A listener callback.
type Listener = Arc<dyn Fn(&StateEvent) + Send + Sync>;

const QUEUE: usize = 256;

#[derive(Clone, Default)]
pub(crate) struct Subscribers {
    by_guild: Arc<Mutex<HashMap<u64, Vec<SyncSender<LeaderboardChange>>>>>,
    listeners: Arc<RwLock<Vec<(u64, Listener)>>>,
    next_listener: Arc<AtomicU64>,
}

impl std::fmt::Debug for Subscribers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscribers").finish_non_exhaustive()
    }
}

/// Registration of a listener; dropping it removes the listener.
pub struct Listening {
    id: u64,
    listeners: std::sync::Weak<RwLock<Vec<(u64, Listener)>>>,
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening").field("id", &self.id).finish()
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(listeners) = self.listeners.upgrade() {
            listeners
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|(id, _)| *id != self.id);
        }
    }
}

impl Subscribers {
    pub fn subscribe(&self, guild: u64) -> Receiver<LeaderboardChange> {
        let (tx, rx) = sync_channel(QUEUE);
        self.by_guild
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(guild)
            .or_default()
            .push(tx);
        rx
    }

    pub fn listen(&self, listener: Listener) -> Listening {
        let id = self.next_listener.fetch_add(1, Ordering::Relaxed);
        self.listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((id, listener));
        Listening {
            id,
            listeners: Arc::downgrade(&self.listeners),
        }
    }

    fn tell(&self, events: impl IntoIterator<Item = StateEvent>) {
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if listeners.is_empty() {
            return;
        }
        for event in events {
            for (_, listener) in listeners.iter() {
                listener(&event);
            }
        }
    }

    pub fn level_ups(&self, level_ups: Vec<LevelUp>) {
        self.tell(level_ups.into_iter().map(StateEvent::LevelUp));
    }

    pub fn automod(&self, actions: &[crate::automod::AutomodAction]) {
        self.tell(actions.iter().cloned().map(StateEvent::Automod));
    }

    pub fn notify(&self, changes: impl IntoIterator<Item = LeaderboardChange>) {
        let changes: Vec<LeaderboardChange> = changes.into_iter().collect();
        self.tell(changes.iter().cloned().map(StateEvent::Leaderboard));
        let mut by_guild = self.by_guild.lock().unwrap_or_else(PoisonError::into_inner);
        if by_guild.is_empty() {
            return;
        }
        for change in changes {
            if let Some(senders) = by_guild.get_mut(&change.guild) {
                senders.retain(|tx| {
                    !matches!(
                        tx.try_send(change.clone()),
                        Err(TrySendError::Disconnected(_))
                    )
                });
            }
        }
        by_guild.retain(|_, senders| !senders.is_empty());
    }
}
