//! The keys of every maintained view. The stateful stage emits `(ViewKey, amount)` updates,
//! pre-aggregated per batch; differential accumulates them (the amount is the diff).

use guildflow_model::Bucket;
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

/// Added to member counts in [`ViewKey::Members`] so that a count of zero (or below) is still
/// a present key in differential, where a zero total means "no key".
pub const MEMBER_COUNT_OFFSET: i64 = 1 << 40;

/// A key of a maintained view. Times are local starts (see `timezone`). Only the finest grain
/// enters differential — member and channel counters per local day, guild series per local
/// minute — and the read side rolls day deltas up into weeks, months and all time, minutes into
/// hours and days: every event makes a handful of updates, not one per period and bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ViewKey {
    /// A member's counter on one local day.
    Member {
        /// Guild.
        guild: u64,
        /// User.
        user: u64,
        /// Counter.
        counter: Counter,
        /// Local day start.
        day: i64,
    },
    /// Counted messages of a channel on one local day.
    Channel {
        /// Guild.
        guild: u64,
        /// Channel.
        channel: u64,
        /// Local day start.
        day: i64,
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
    /// A guild series point: one local minute as a rule; an hour or a day only for the old
    /// part of a very long voice session, which would otherwise cost one key per minute.
    Series {
        /// Guild.
        guild: u64,
        /// Metric (not `ActiveMembers`, which is [`ViewKey::ActiveCount`]).
        metric: SeriesMetric,
        /// Grain of the point.
        bucket: Bucket,
        /// Local start.
        start: i64,
    },
    /// The guild's member count (SPEC §3: GUILD_CREATE's count, ±1 per join/leave after).
    Members {
        /// Guild.
        guild: u64,
    },
    /// A member was active in an hour or day bucket; the dataflow keeps distinct marks.
    Active {
        /// Guild.
        guild: u64,
        /// Bucket width (hour or day).
        bucket: Bucket,
        /// Local bucket start.
        start: i64,
        /// User.
        user: u64,
    },
    /// Distinct active members of a bucket (derived in the dataflow from `Active`).
    ActiveCount {
        /// Guild.
        guild: u64,
        /// Bucket width.
        bucket: Bucket,
        /// Local bucket start.
        start: i64,
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
            | ViewKey::Active { guild, .. }
            | ViewKey::ActiveCount { guild, .. } => *guild,
        }
    }
}
