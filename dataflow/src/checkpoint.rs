//! Snapshots of the dataflow (issue 4: a restart restores a snapshot and replays only the
//! events after it, instead of every stored event).
//!
//! A snapshot is taken between two batches, with nothing in flight: every worker sends the
//! state of its guilds ([`GuildPart`]: the engine's per-guild state, and differential's keys
//! of the guild with their totals and pending retirements), then the read side is copied as
//! published once every earlier time is applied. Restoring feeds each guild's part back in at
//! the snapshot's dataflow time (exchanged by guild, so the worker count may differ), where
//! the engine takes its state and differential its totals again; the read side is replaced by
//! the snapshot's and ignores the changes of that time, which it already holds. From there,
//! every later event produces exactly the changes it would have produced without the restart.
//!
//! Not in a snapshot: guild settings and automod rules (the admin plane configures them before
//! a restore), subscriptions. Cluster mode (several processes) has no snapshots: each process's
//! store holds other processes' guilds' events, so no process can cut a consistent one alone.

use crate::engine::dedup::FrameDedup;
use crate::engine::guild::GuildCheckpoint;
use crate::keys::ViewKey;
use crate::state::Published;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Format version; a snapshot of another version is refused (the caller replays everything).
/// 3: frame de-duplication keeps a bitmap window per shard session.
pub const CHECKPOINT_VERSION: u32 = 3;

/// Why a snapshot could not be taken or restored.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// Snapshots need every guild in this process.
    #[error("snapshots are not available in cluster mode (several processes)")]
    Cluster,
    /// Restoring needs a dataflow that has not been fed yet.
    #[error("a snapshot can only be restored before the first event")]
    NotFresh,
    /// Fewer workers answered than run (one failed?).
    #[error("{answered} of {workers} workers answered the snapshot request")]
    Incomplete {
        /// Parts received.
        answered: usize,
        /// Local workers.
        workers: usize,
    },
    /// The workers did not answer in time.
    #[error("the dataflow did not complete the snapshot within {0} s")]
    Timeout(u64),
    /// The bytes are not a snapshot this build can read.
    #[error("unreadable snapshot: {0}")]
    Decode(String),
    /// A snapshot of another format version.
    #[error("snapshot format {found}, this build reads {CHECKPOINT_VERSION}")]
    Version {
        /// Version found.
        found: u32,
    },
    /// Serializing failed.
    #[error("cannot serialize the snapshot: {0}")]
    Encode(String),
}

/// One of differential's keys: its total and its pending retirements (due time, amount).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPart {
    pub(crate) key: ViewKey,
    pub(crate) total: i64,
    pub(crate) retire: Vec<(u64, i64)>,
}

/// Everything the dataflow holds about one guild.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuildPart {
    pub(crate) guild: u64,
    pub(crate) state: GuildCheckpoint,
    pub(crate) keys: Vec<KeyPart>,
    /// The engine's watermark when it was taken.
    pub(crate) watermark: i64,
}

/// One worker's answer to a snapshot request.
#[derive(Debug)]
pub struct WorkerPart {
    pub(crate) guilds: Vec<GuildPart>,
}

/// The feeder's state (de-duplication, times) in a snapshot.
#[derive(Serialize, Deserialize)]
pub(crate) struct FeederPart<D> {
    pub(crate) version: u32,
    /// Dataflow time of the snapshot: restored parts enter at it.
    pub(crate) time: u64,
    pub(crate) epoch: u64,
    pub(crate) max_at: i64,
    pub(crate) events: u64,
    pub(crate) dedup: D,
}

/// A snapshot as written: borrowed parts, nothing copied.
#[derive(Serialize)]
pub(crate) struct CheckpointRef<'a> {
    pub(crate) feeder: FeederPart<&'a FrameDedup>,
    pub(crate) guilds: &'a [GuildPart],
    pub(crate) published: &'a Published,
}

/// A snapshot as read (same field order and types as [`CheckpointRef`]).
#[derive(Deserialize)]
pub(crate) struct CheckpointOwned {
    pub(crate) feeder: FeederPart<FrameDedup>,
    pub(crate) guilds: Vec<GuildPart>,
    pub(crate) published: Published,
}

pub(crate) fn encode(checkpoint: &CheckpointRef<'_>) -> Result<Vec<u8>, CheckpointError> {
    bincode::serialize(checkpoint).map_err(|e| CheckpointError::Encode(e.to_string()))
}

pub(crate) fn decode(bytes: &[u8]) -> Result<CheckpointOwned, CheckpointError> {
    // The version leads the bytes: check it before trusting the rest of the layout.
    let version: u32 = bincode::deserialize(bytes.get(..4).unwrap_or_default())
        .map_err(|e| CheckpointError::Decode(e.to_string()))?;
    if version != CHECKPOINT_VERSION {
        return Err(CheckpointError::Version { found: version });
    }
    bincode::deserialize(bytes).map_err(|e| CheckpointError::Decode(e.to_string()))
}

/// Builds a worker's guild parts from its engine and its operator's pending retirements
/// (`retire`: due time → key → amount). Keys that never retire are added from the read side
/// ([`add_lasting_keys`]).
pub(crate) fn worker_part(
    engine: &crate::engine::Engine,
    retire: &std::collections::BTreeMap<u64, foldhash::HashMap<ViewKey, i64>>,
) -> WorkerPart {
    use std::collections::BTreeMap;
    let watermark = engine.watermark();
    // Millions of keys: a hash index into a vector, sorted once, not an ordered map.
    let mut index: foldhash::HashMap<ViewKey, usize> = foldhash::HashMap::default();
    let mut keys: Vec<KeyPart> = Vec::new();
    for (due, amounts) in retire {
        for (key, amount) in amounts {
            if *amount == 0 {
                continue;
            }
            let slot = *index.entry(*key).or_insert_with(|| {
                keys.push(KeyPart {
                    key: *key,
                    total: 0,
                    retire: Vec::new(),
                });
                keys.len() - 1
            });
            let part = &mut keys[slot];
            // Every amount given to differential is retracted at its due time, so the total
            // is what the pending retirements will take away.
            part.total -= amount;
            part.retire.push((*due, *amount));
        }
    }
    drop(index);
    keys.sort_unstable_by_key(|k| (k.key.guild(), k.key));
    let mut guilds: BTreeMap<u64, GuildPart> = engine
        .checkpoint()
        .into_iter()
        .map(|(guild, state)| {
            (
                guild,
                GuildPart {
                    guild,
                    state,
                    keys: Vec::new(),
                    watermark,
                },
            )
        })
        .collect();
    for part in keys {
        let guild = part.key.guild();
        guilds
            .entry(guild)
            .or_insert_with(|| GuildPart {
                guild,
                state: GuildCheckpoint::default(),
                keys: Vec::new(),
                watermark,
            })
            .keys
            .push(part);
    }
    WorkerPart {
        guilds: guilds.into_values().collect(),
    }
}

/// Adds the keys that never retire (a member's messages per channel, a guild's member count)
/// to the guilds' parts. Their totals are exactly what the read side publishes (it sums the
/// first itself, `ViewKey::summed_by_reader`, and keeps the latest total of the second), so
/// they are read from there at the cut rather than tracked per update on the hot path. A
/// restore gives differential only the member counts.
pub(crate) fn add_lasting_keys(guilds: &mut Vec<GuildPart>, published: &Published, watermark: i64) {
    let mut index: foldhash::HashMap<u64, usize> = guilds
        .iter()
        .enumerate()
        .map(|(i, g)| (g.guild, i))
        .collect();
    let mut part_of = |guilds: &mut Vec<GuildPart>, guild: u64| -> usize {
        *index.entry(guild).or_insert_with(|| {
            guilds.push(GuildPart {
                guild,
                state: GuildCheckpoint::default(),
                keys: Vec::new(),
                watermark,
            });
            guilds.len() - 1
        })
    };
    for (&(guild, user), channels) in &published.member_channels {
        let i = part_of(guilds, guild);
        guilds[i].keys.extend(
            channels
                .iter()
                .filter(|(_, t)| *t != 0)
                .map(|&(channel, total)| KeyPart {
                    key: ViewKey::MemberChannel {
                        guild,
                        user,
                        channel,
                    },
                    total,
                    retire: Vec::new(),
                }),
        );
    }
    for (&guild, &count) in &published.member_counts {
        let i = part_of(guilds, guild);
        guilds[i].keys.push(KeyPart {
            key: ViewKey::Members { guild },
            total: count + crate::keys::MEMBER_COUNT_OFFSET,
            retire: Vec::new(),
        });
    }
    for part in guilds.iter_mut() {
        part.keys.sort_unstable_by_key(|k| k.key);
    }
    guilds.sort_unstable_by_key(|g| g.guild);
}
