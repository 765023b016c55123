//! Read queries over the published state: leaderboards, member and guild stats.

use super::Published;
use crate::keys::{Counter, SeriesMetric};
use crate::timezone::Timezone;
use guildflow_model::{Bucket, Metric, Period, UserId};
use serde::Serialize;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// One leaderboard row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeaderboardEntry {
    /// 1-based rank.
    pub rank: usize,
    /// Member.
    pub user_id: UserId,
    /// Value (voice in seconds).
    pub value: i64,
}

/// A page of a leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeaderboardPage {
    /// Members listed (value > 0).
    pub total: usize,
    /// The page.
    pub entries: Vec<LeaderboardEntry>,
    /// Watermark of the state read.
    pub watermark: Option<i64>,
}

/// A member's totals in one period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemberPeriodStats {
    /// Period.
    pub period: String,
    /// Counted messages.
    pub messages: i64,
    /// Counted reactions.
    pub reactions: i64,
    /// Voice seconds.
    pub voice_seconds: i64,
    /// Score.
    pub score: i64,
    /// XP awarded in the period.
    pub xp: i64,
}

/// Messages in a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChannelCount {
    /// Channel id.
    pub channel_id: String,
    /// Messages.
    pub messages: i64,
}

/// A point of a series (`start` is the local bucket start, as Unix ms of local wall time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeriesPoint {
    /// Local start.
    pub start: i64,
    /// Value.
    pub value: i64,
}

/// Member stats (SPEC §5).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemberStats {
    /// Per period.
    pub periods: Vec<MemberPeriodStats>,
    /// XP total.
    pub xp: i64,
    /// Level.
    pub level: u32,
    /// Rank per metric for period `all` (None when not listed).
    pub ranks: Vec<(Metric, Option<usize>)>,
    /// Top channels by messages.
    pub top_channels: Vec<ChannelCount>,
    /// Daily [messages, reactions, voice seconds] over the last 30 days, oldest first.
    pub daily: Vec<(i64, [i64; 3])>,
    /// Watermark.
    pub watermark: Option<i64>,
}

/// Guild stats (SPEC §5).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuildStats {
    /// Member count.
    pub member_count: Option<i64>,
    /// Messages today (local day).
    pub messages_today: i64,
    /// Messages over the last 7 × 24 h.
    pub messages_7d: i64,
    /// Messages over the last 30 × 24 h.
    pub messages_30d: i64,
    /// Voice seconds today.
    pub voice_seconds_today: i64,
    /// Daily messages, 30 days.
    pub messages_daily: Vec<SeriesPoint>,
    /// Daily voice seconds, 30 days.
    pub voice_daily: Vec<SeriesPoint>,
    /// Daily reactions, 30 days.
    pub reactions_daily: Vec<SeriesPoint>,
    /// Top channels this month.
    pub top_channels: Vec<ChannelCount>,
    /// Members active in the last 1, 7, 30 local days.
    pub active_members: [usize; 3],
    /// Joins minus leaves this ISO week and last.
    pub growth_this_week: i64,
    /// Joins minus leaves last week.
    pub growth_last_week: i64,
    /// Watermark.
    pub watermark: Option<i64>,
}

impl Published {
    fn tz(&self, guild: u64) -> Timezone {
        self.settings
            .get(&guild)
            .map_or(Timezone::Utc, |s| s.timezone)
    }

    fn current_start(&self, guild: u64, period: Period) -> Option<i64> {
        Some(self.tz(guild).period_key(period, self.watermark?))
    }

    /// A page of the leaderboard of `guild` × `metric` × `period` (the current period).
    pub fn leaderboard(
        &self,
        guild: u64,
        metric: Metric,
        period: Period,
        offset: usize,
        limit: usize,
    ) -> LeaderboardPage {
        let empty = LeaderboardPage {
            total: 0,
            entries: Vec::new(),
            watermark: self.watermark,
        };
        let (Some(board), Some(current)) = (
            self.boards.get(&guild).map(|b| b.get(metric, period)),
            self.current_start(guild, period),
        ) else {
            return empty;
        };
        if board.start != current {
            return empty;
        }
        LeaderboardPage {
            total: board.set.len(),
            entries: board
                .set
                .page(offset, limit)
                .into_iter()
                .enumerate()
                .map(|(i, (user_id, value))| LeaderboardEntry {
                    rank: offset + i + 1,
                    user_id,
                    value,
                })
                .collect(),
            watermark: self.watermark,
        }
    }

    /// Rank of a member (None when not listed).
    pub fn rank(&self, guild: u64, metric: Metric, period: Period, user: u64) -> Option<usize> {
        let board = self.boards.get(&guild)?.get(metric, period);
        if Some(board.start) != self.current_start(guild, period) {
            return None;
        }
        let value = self
            .members
            .get(&(guild, user))?
            .board_value(metric, period, board.start);
        board.set.rank_of(UserId(user), value)
    }

    /// Stats of a member.
    pub fn member_stats(&self, guild: u64, user: u64) -> MemberStats {
        let tz = self.tz(guild);
        let member = self.members.get(&(guild, user));
        let periods = Period::ALL
            .iter()
            .map(|&period| {
                let mut stats = MemberPeriodStats {
                    period: period.as_str().to_owned(),
                    ..MemberPeriodStats::default()
                };
                if let (Some(m), Some(start)) = (member, self.current_start(guild, period)) {
                    stats.messages = m.value(Counter::Messages, period, start);
                    stats.reactions = m.value(Counter::Reactions, period, start);
                    stats.voice_seconds = m.value(Counter::VoiceMs, period, start) / 1000;
                    stats.score = m.score(period, start);
                    stats.xp = m.value(Counter::Xp, period, start);
                }
                stats
            })
            .collect::<Vec<_>>();
        let xp = member.map_or(0, |m| m.value(Counter::Xp, Period::All, 0));
        let curve = self
            .settings
            .get(&guild)
            .map(|s| s.level_curve)
            .unwrap_or_default();
        let mut top_channels: Vec<ChannelCount> = self
            .member_channels
            .get(&(guild, user))
            .map(|c| {
                c.iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(id, n)| ChannelCount {
                        channel_id: id.to_string(),
                        messages: *n,
                    })
                    .collect()
            })
            .unwrap_or_default();
        top_channels.sort_by(|a, b| {
            b.messages
                .cmp(&a.messages)
                .then(a.channel_id.cmp(&b.channel_id))
        });
        top_channels.truncate(10);
        let daily = match (member, self.watermark) {
            (Some(m), Some(w)) => {
                let today = tz.period_key(Period::Day, w);
                (0..30)
                    .rev()
                    .map(|back| {
                        let day = today - back * DAY_MS;
                        let [msgs, reacts, voice] = m.day(day);
                        (day, [msgs, reacts, voice / 1000])
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        MemberStats {
            periods,
            xp,
            level: curve.level(xp),
            ranks: Metric::ALL
                .iter()
                .map(|&m| (m, self.rank(guild, m, Period::All, user)))
                .collect(),
            top_channels,
            daily,
            watermark: self.watermark,
        }
    }

    /// Sum of a series over the local window `[local_wm - span, local_wm]` at minute precision
    /// (whole hours from the hour series, the partial first hour from minutes).
    fn window_sum(&self, guild: u64, metric: SeriesMetric, span_ms: i64) -> i64 {
        let Some(w) = self.watermark else { return 0 };
        let local = self.tz(guild).local(w);
        let from = local - span_ms;
        let first_full_hour = Bucket::Hour.start(from) + HOUR_MS;
        let minutes = self
            .series
            .get(&(guild, metric, Bucket::Minute))
            .map_or(0, |s| {
                s.range(Bucket::Minute.start(from) + 60_000..first_full_hour)
                    .map(|(_, v)| v)
                    .sum::<i64>()
            });
        let hours = self
            .series
            .get(&(guild, metric, Bucket::Hour))
            .map_or(0, |s| {
                s.range(first_full_hour..=local)
                    .map(|(_, v)| v)
                    .sum::<i64>()
            });
        minutes + hours
    }

    fn daily(&self, guild: u64, metric: SeriesMetric, divide: i64) -> Vec<SeriesPoint> {
        let Some(w) = self.watermark else {
            return Vec::new();
        };
        let today = self.tz(guild).period_key(Period::Day, w);
        let series = self.series.get(&(guild, metric, Bucket::Day));
        (0..30)
            .rev()
            .map(|back| {
                let start = today - back * DAY_MS;
                let value = series.and_then(|s| s.get(&start)).copied().unwrap_or(0) / divide;
                SeriesPoint { start, value }
            })
            .collect()
    }

    fn day_value(&self, guild: u64, metric: SeriesMetric, day: i64) -> i64 {
        self.series
            .get(&(guild, metric, Bucket::Day))
            .and_then(|s| s.get(&day))
            .copied()
            .unwrap_or(0)
    }

    /// Stats of a guild.
    pub fn guild_stats(&self, guild: u64) -> GuildStats {
        let tz = self.tz(guild);
        let today = self.watermark.map(|w| tz.period_key(Period::Day, w));
        let messages_today = today.map_or(0, |d| self.day_value(guild, SeriesMetric::Messages, d));
        let voice_today =
            today.map_or(0, |d| self.day_value(guild, SeriesMetric::VoiceMs, d)) / 1000;
        let mut top_channels: Vec<ChannelCount> = match (
            self.channels.get(&(guild, Period::Month)),
            self.current_start(guild, Period::Month),
        ) {
            (Some((start, counts)), Some(current)) if *start == current => counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(id, n)| ChannelCount {
                    channel_id: id.to_string(),
                    messages: *n,
                })
                .collect(),
            _ => Vec::new(),
        };
        top_channels.sort_by(|a, b| {
            b.messages
                .cmp(&a.messages)
                .then(a.channel_id.cmp(&b.channel_id))
        });
        top_channels.truncate(10);
        let mut active = [0usize; 3];
        if let Some(today) = today {
            for ((g, _), member) in &self.members {
                if *g != guild {
                    continue;
                }
                if let Some(day) = member.last_active_day() {
                    for (slot, days) in active.iter_mut().zip([1, 7, 30]) {
                        if day > today - days * DAY_MS {
                            *slot += 1;
                        }
                    }
                }
            }
        }
        let week = self.current_start(guild, Period::Week);
        let growth = |from: i64| -> i64 {
            (0..7)
                .map(|d| {
                    let day = from + d * DAY_MS;
                    self.day_value(guild, SeriesMetric::Joins, day)
                        - self.day_value(guild, SeriesMetric::Leaves, day)
                })
                .sum()
        };
        GuildStats {
            member_count: self.member_counts.get(&guild).copied(),
            messages_today,
            messages_7d: self.window_sum(guild, SeriesMetric::Messages, 7 * DAY_MS),
            messages_30d: self.window_sum(guild, SeriesMetric::Messages, 30 * DAY_MS),
            voice_seconds_today: voice_today,
            messages_daily: self.daily(guild, SeriesMetric::Messages, 1),
            voice_daily: self.daily(guild, SeriesMetric::VoiceMs, 1000),
            reactions_daily: self.daily(guild, SeriesMetric::Reactions, 1),
            top_channels,
            active_members: active,
            growth_this_week: week.map_or(0, growth),
            growth_last_week: week.map_or(0, |w| growth(w - 7 * DAY_MS)),
            watermark: self.watermark,
        }
    }

    /// Series points of a guild metric at a bucket width.
    pub fn series(&self, guild: u64, metric: SeriesMetric, bucket: Bucket) -> Vec<SeriesPoint> {
        self.series
            .get(&(guild, metric, bucket))
            .map(|s| {
                s.iter()
                    .map(|(start, value)| SeriesPoint {
                        start: *start,
                        value: *value,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Members with state (any counter in any period).
    pub fn member_count_tracked(&self) -> usize {
        self.members.len()
    }

    /// Level-up signals seen.
    pub fn level_ups(&self) -> u64 {
        self.level_ups
    }

    /// Guilds with state.
    pub fn guilds(&self) -> Vec<u64> {
        let mut guilds: Vec<u64> = self.member_counts.keys().copied().collect();
        guilds.extend(self.boards.keys().copied());
        guilds.sort_unstable();
        guilds.dedup();
        guilds
    }
}
