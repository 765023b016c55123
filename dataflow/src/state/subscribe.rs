//! Leaderboard change subscriptions (the websocket's source): bounded per subscriber, and a
//! subscriber that falls behind loses notifications, never blocks the applier.

use guildflow_model::{Metric, Period};
use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

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

const QUEUE: usize = 256;

#[derive(Clone, Debug, Default)]
pub(crate) struct Subscribers {
    by_guild: Arc<Mutex<HashMap<u64, Vec<SyncSender<LeaderboardChange>>>>>,
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

    pub fn notify(&self, changes: impl IntoIterator<Item = LeaderboardChange>) {
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
