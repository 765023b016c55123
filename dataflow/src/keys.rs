//! The keys of every maintained view. The stateful stage emits `(ViewKey, amount)` updates,
//! pre-aggregated per batch; differential accumulates them (the amount is the diff).

use guildflow_model::{Bucket, Period};
use serde::{Deserialize, Serialize};

/// Per-member additive counters. Voice is kept in milliseconds so splitting a session across
/// buckets and flush ticks adds up exactly; the API shows whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Counter {
    /// Counted messages.
    Messages,
    /// Counted reactions.
    Reactions,
    /// Voice milliseconds (AFK excluded).
    VoiceMs,
    /// XP awarded.
    Xp,
}

impl Counter {
    /// Every counter.
    pub const ALL: [Counter; 4] = [
        Counter::Messages,
        Counter::Reactions,
        Counter::VoiceMs,
        Counter::Xp,
    ];
}

/// Per-guild time-series metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SeriesMetric {
    /// Counted messages.
    Messages,
    /// Counted reactions.
    Reactions,
    /// Voice milliseconds.
    VoiceMs,
    /// GUILD_MEMBER_ADD.
    Joins,
    /// GUILD_MEMBER_REMOVE.
    Leaves,
    /// Distinct active members (derived by the dataflow from [`ViewKey::Active`]).
    ActiveMembers,
}

impl SeriesMetric {
    /// Name used in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            SeriesMetric::Messages => "messages",
            SeriesMetric::Reactions => "reactions",
            SeriesMetric::VoiceMs => "voice_ms",
            SeriesMetric::Joins => "joins",
            SeriesMetric::Leaves => "leaves",
            SeriesMetric::ActiveMembers => "active_members",
        }
    }
}

/// A key of a maintained view. Times are local period/bucket starts (see `timezone`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ViewKey {
    /// A member's counter in one period.
    Member {
        /// Guild.
        guild: u64,
        /// User.
        user: u64,
        /// Counter.
        counter: Counter,
        /// Period kind.
        period: Period,
        /// Local start of the period (0 for `all`).
        start: i64,
    },
    /// Counted messages of a channel in one period.
    Channel {
        /// Guild.
        guild: u64,
        /// Channel.
        channel: u64,
        /// Period kind.
        period: Period,
        /// Local start.
        start: i64,
    },
    /// A member's messages in a channel over all time (favourite channels).
    MemberChannel {
        /// Guild.
        guild: u64,
        /// User.
        user: u64,
        /// Channel.
        channel: u64,
    },
    /// A guild series point.
    Series {
        /// Guild.
        guild: u64,
        /// Metric.
        metric: SeriesMetric,
        /// Bucket width.
        bucket: Bucket,
        /// Local bucket start.
        start: i64,
    },
    /// The guild's member count (SPEC §3: GUILD_CREATE's count, ±1 per join/leave after).
    Members {
        /// Guild.
        guild: u64,
    },
    /// A member was active in a bucket; the dataflow counts distinct members per bucket.
    Active {
        /// Guild.
        guild: u64,
        /// Bucket width.
        bucket: Bucket,
        /// Local bucket start.
        start: i64,
        /// User.
        user: u64,
    },
}

impl ViewKey {
    /// The guild of the key (the exchange key of the dataflow).
    pub const fn guild(&self) -> u64 {
        match self {
            ViewKey::Member { guild, .. }
            | ViewKey::Channel { guild, .. }
            | ViewKey::MemberChannel { guild, .. }
            | ViewKey::Series { guild, .. }
            | ViewKey::Members { guild }
            | ViewKey::Active { guild, .. } => *guild,
        }
    }
}
