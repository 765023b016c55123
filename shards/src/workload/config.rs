//! The workload knobs.

/// Parameters of a synthetic workload. Everything generated is a pure function of these.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of guilds in the world.
    pub guilds: u32,
    /// Number of gateway shards; a guild belongs to shard `(guild_id >> 22) % total_shards`.
    /// 0 is treated as 1.
    pub total_shards: u32,
    /// Event time of the first frame (READY), Unix milliseconds.
    pub start_ms: i64,
    /// Dispatches per second of event time, used to space `at` (exponential inter-arrival).
    /// Not finite or not positive is treated as 1000.
    pub event_rate: f64,
    /// Cap on a guild's member count (at least 2: the owner and our bot).
    pub max_members_per_guild: u32,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            guilds: 1000,
            total_shards: 1,
            start_ms: 1_767_225_600_000,
            event_rate: 1000.0,
            max_members_per_guild: 50_000,
        }
    }
}

impl WorkloadConfig {
    /// `total_shards`, at least 1.
    pub(crate) fn shards(&self) -> u32 {
        self.total_shards.max(1)
    }

    /// `event_rate` made usable.
    pub(crate) fn rate(&self) -> f64 {
        if self.event_rate.is_finite() && self.event_rate > 0.0 {
            self.event_rate
        } else {
            1000.0
        }
    }
}
