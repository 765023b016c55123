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
    /// Distinct active members ([`ViewKey::ActiveCount`], counted by the engine).
    ActiveMembers,
}

impl SeriesMetric {
    /// Every series metric.
    pub const ALL: [SeriesMetric; 6] = [
        SeriesMetric::Messages,
        SeriesMetric::Reactions,
        SeriesMetric::VoiceMs,
        SeriesMetric::Joins,
        SeriesMetric::Leaves,
        SeriesMetric::ActiveMembers,
    ];

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
/// is emitted — member and channel counters per local day, guild series per local minute — and
/// the read side rolls day deltas up into weeks, months and all time, minutes into hours and
/// days: every event makes a handful of updates, not one per period and bucket. A member's
/// keys go to the read side as deltas ([`ViewKey::summed_by_reader`]); the guild-level ones
/// (channels, series, active members, member counts) through differential.
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
    /// Distinct active members of a bucket (hour or day): the engine adds 1 for each member
    /// new to the bucket (`engine::activity`).
    ActiveCount {
        /// Guild.
        guild: u64,
        /// Bucket width.
        bucket: Bucket,
        /// Local bucket start.
        start: i64,
    },
}

/// How long a day, minute or activity key stays in differential after its bucket started.
pub const RETENTION_MS: i64 = 2 * 86_400_000;

/// Minimum life of a key after its last update, so a late update still finds its total.
pub const GRACE_MS: u64 = 3_600_000;

impl ViewKey {
    /// When (dataflow time) an update made at `time` retires from differential's state, or
    /// None for keys kept forever (member counts, favourite channels). Counters only grow, so
    /// the read side recognises a retirement as a decrease and ignores it; without this, state
    /// would grow by a key per member, day, minute and active hour forever.
    pub fn expiry(&self, time: u64) -> Option<u64> {
        let start = match self {
            ViewKey::Member { day, .. } | ViewKey::Channel { day, .. } => *day,
            ViewKey::Series { start, .. } | ViewKey::ActiveCount { start, .. } => *start,
            ViewKey::MemberChannel { .. } | ViewKey::Members { .. } => return None,
        };
        // Local starts are within ±14 h of UTC; the retention dwarfs that.
        let by_bucket = u64::try_from(start.saturating_add(RETENTION_MS)).unwrap_or(0);
        Some(by_bucket.max(time.saturating_add(GRACE_MS)))
    }

    /// Whether the read side sums this key's deltas itself instead of differential keeping
    /// its total: a member's counters per day and messages per channel. The read side rolls a
    /// member's day deltas into its periods and keeps its last 31 days and its channels
    /// anyway, so differential only recomputed totals it held already, at a cost: on the 1M
    /// bench corpus these keys were 84 % of the arrangement's keys, three quarters of the
    /// pending retirements and 70–75 % of the updates through the batcher and `count_total`.
    /// Their deltas go to the read side at their dataflow time like differential's output, so
    /// a read still sees whole times.
    pub const fn summed_by_reader(&self) -> bool {
        matches!(self, ViewKey::Member { .. } | ViewKey::MemberChannel { .. })
    }

    /// The guild of the key (the exchange key of the dataflow).
    pub const fn guild(&self) -> u64 {
        match self {
            ViewKey::Member { guild, .. }
            | ViewKey::Channel { guild, .. }
            | ViewKey::MemberChannel { guild, .. }
            | ViewKey::Series { guild, .. }
            | ViewKey::Members { guild }
            | ViewKey::ActiveCount { guild, .. } => *guild,
        }
    }
}
