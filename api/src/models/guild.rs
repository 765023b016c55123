//! `GET /api/guilds/{guild}/stats`: the response.

use super::local_date;
use guildflow_dataflow::state::{ChannelCount, GuildStats, SeriesPoint};
use guildflow_model::GuildId;
use serde::Serialize;

/// One local day of a series.
#[derive(Debug, Serialize)]
pub struct DayValue {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// Value.
    pub value: i64,
}

/// The 30-day daily series, oldest first.
#[derive(Debug, Serialize)]
pub struct DailySeries {
    /// Counted messages per day.
    pub messages: Vec<DayValue>,
    /// Voice seconds per day.
    pub voice_seconds: Vec<DayValue>,
    /// Counted reactions per day.
    pub reactions: Vec<DayValue>,
}

/// Members active (a counted message, reaction or voice time) within the last N local days.
#[derive(Debug, Serialize)]
pub struct ActiveMembers {
    /// Today.
    #[serde(rename = "1d")]
    pub day: usize,
    /// The last 7 days.
    #[serde(rename = "7d")]
    pub week: usize,
    /// The last 30 days.
    #[serde(rename = "30d")]
    pub month: usize,
}

/// Joins minus leaves.
#[derive(Debug, Serialize)]
pub struct Growth {
    /// This ISO week so far.
    pub this_week: i64,
    /// Last ISO week.
    pub last_week: i64,
}

/// The guild stats body.
#[derive(Debug, Serialize)]
pub struct GuildStatsResponse {
    /// Guild.
    pub guild_id: GuildId,
    /// Member count (null before any GUILD_CREATE).
    pub member_count: Option<i64>,
    /// Messages today (local day).
    pub messages_today: i64,
    /// Messages over the last 7 × 24 h.
    pub messages_7d: i64,
    /// Messages over the last 30 × 24 h.
    pub messages_30d: i64,
    /// Voice seconds today.
    pub voice_seconds_today: i64,
    /// 30-day series.
    pub daily: DailySeries,
    /// Channels by messages this month, at most 10.
    pub top_channels: Vec<ChannelCount>,
    /// Active members.
    pub active_members: ActiveMembers,
    /// Growth.
    pub growth: Growth,
    /// Watermark (Unix ms) of the state read.
    pub watermark: Option<i64>,
}

fn days(points: Vec<SeriesPoint>) -> Vec<DayValue> {
    points
        .into_iter()
        .map(|p| DayValue {
            date: local_date(p.start),
            value: p.value,
        })
        .collect()
}

impl GuildStatsResponse {
    /// Shapes the dataflow's guild stats.
    pub fn new(guild: u64, stats: GuildStats) -> Self {
        let [day, week, month] = stats.active_members;
        GuildStatsResponse {
            guild_id: GuildId(guild),
            member_count: stats.member_count,
            messages_today: stats.messages_today,
            messages_7d: stats.messages_7d,
            messages_30d: stats.messages_30d,
            voice_seconds_today: stats.voice_seconds_today,
            daily: DailySeries {
                messages: days(stats.messages_daily),
                voice_seconds: days(stats.voice_daily),
                reactions: days(stats.reactions_daily),
            },
            top_channels: stats.top_channels,
            active_members: ActiveMembers { day, week, month },
            growth: Growth {
                this_week: stats.growth_this_week,
                last_week: stats.growth_last_week,
            },
            watermark: stats.watermark,
        }
    }
}
