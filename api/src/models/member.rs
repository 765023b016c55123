//! `GET /api/guilds/{guild}/members/{user}/stats`: the response.

use super::local_date;
use guildflow_dataflow::state::{ChannelCount, MemberPeriodStats, MemberStats};
use guildflow_model::{GuildId, Metric, UserId};
use serde::Serialize;

/// A member's totals in the current period.
#[derive(Debug, Default, Serialize)]
pub struct PeriodTotals {
    /// Counted messages.
    pub messages: i64,
    /// Counted reactions.
    pub reactions: i64,
    /// Voice seconds.
    pub voice_seconds: i64,
    /// messages + reactions + 2 × floor(voice_seconds / 60).
    pub score: i64,
    /// XP earned in the period.
    pub xp: i64,
}

/// Totals of the current day, week, month and all time.
#[derive(Debug, Default, Serialize)]
pub struct Periods {
    /// Today (the guild's local day).
    pub day: PeriodTotals,
    /// This ISO week.
    pub week: PeriodTotals,
    /// This month.
    pub month: PeriodTotals,
    /// All time.
    pub all: PeriodTotals,
}

/// Rank per metric for period `all` (null when not listed, i.e. value 0).
#[derive(Debug, Default, Serialize)]
pub struct Ranks {
    /// Messages rank.
    pub messages: Option<usize>,
    /// Reactions rank.
    pub reactions: Option<usize>,
    /// Voice rank.
    pub voice: Option<usize>,
    /// Score rank.
    pub score: Option<usize>,
    /// XP rank.
    pub xp: Option<usize>,
}

/// One local day of a member's activity.
#[derive(Debug, Serialize)]
pub struct DailyActivity {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// Messages.
    pub messages: i64,
    /// Reactions.
    pub reactions: i64,
    /// Voice seconds.
    pub voice_seconds: i64,
}

/// The member stats body.
#[derive(Debug, Serialize)]
pub struct MemberStatsResponse {
    /// Guild.
    pub guild_id: GuildId,
    /// Member.
    pub user_id: UserId,
    /// Current-period totals.
    pub periods: Periods,
    /// XP total.
    pub xp: i64,
    /// Level (the guild's level curve).
    pub level: u32,
    /// Ranks for period `all`.
    pub ranks: Ranks,
    /// Channels by messages (all time), at most 10.
    pub top_channels: Vec<ChannelCount>,
    /// The last 30 local days, oldest first.
    pub daily: Vec<DailyActivity>,
    /// Watermark (Unix ms) of the state read.
    pub watermark: Option<i64>,
}

fn totals(stats: &MemberPeriodStats) -> PeriodTotals {
    PeriodTotals {
        messages: stats.messages,
        reactions: stats.reactions,
        voice_seconds: stats.voice_seconds,
        score: stats.score,
        xp: stats.xp,
    }
}

impl MemberStatsResponse {
    /// Shapes the dataflow's member stats.
    pub fn new(guild: u64, user: u64, stats: MemberStats) -> Self {
        let mut periods = Periods::default();
        for p in &stats.periods {
            let slot = match p.period.as_str() {
                "day" => &mut periods.day,
                "week" => &mut periods.week,
                "month" => &mut periods.month,
                _ => &mut periods.all,
            };
            *slot = totals(p);
        }
        let mut ranks = Ranks::default();
        for (metric, rank) in stats.ranks {
            let slot = match metric {
                Metric::Messages => &mut ranks.messages,
                Metric::Reactions => &mut ranks.reactions,
                Metric::Voice => &mut ranks.voice,
                Metric::Score => &mut ranks.score,
                Metric::Xp => &mut ranks.xp,
            };
            *slot = rank;
        }
        MemberStatsResponse {
            guild_id: GuildId(guild),
            user_id: UserId(user),
            periods,
            xp: stats.xp,
            level: stats.level,
            ranks,
            top_channels: stats.top_channels,
            daily: stats
                .daily
                .into_iter()
                .map(
                    |(day, [messages, reactions, voice_seconds])| DailyActivity {
                        date: local_date(day),
                        messages,
                        reactions,
                        voice_seconds,
                    },
                )
                .collect(),
            watermark: stats.watermark,
        }
    }
}
