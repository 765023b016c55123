//! Per-batch pre-aggregation: every event adds to several views, so updates are summed per key
//! within an activation and only the sums enter differential (a diff carries the count).

use crate::keys::{Counter, SeriesMetric, ViewKey};
use crate::timezone::Timezone;
use foldhash::HashMap;
use guildflow_model::{Bucket, Period};

/// Summed view updates of one activation.
#[derive(Debug, Default)]
pub struct Deltas {
    sums: HashMap<ViewKey, i64>,
}

impl Deltas {
    /// Adds `amount` to `key`.
    pub fn add(&mut self, key: ViewKey, amount: i64) {
        if amount != 0 {
            *self.sums.entry(key).or_insert(0) += amount;
        }
    }

    /// Takes the non-zero sums, leaving the buffer empty (its capacity is kept).
    pub fn drain(&mut self) -> impl Iterator<Item = (ViewKey, i64)> + '_ {
        self.sums.drain().filter(|(_, v)| *v != 0)
    }

    /// Number of distinct keys touched.
    pub fn len(&self) -> usize {
        self.sums.len()
    }

    /// Whether nothing was touched.
    pub fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }

    fn active(&mut self, tz: Timezone, guild: u64, user: u64, at: i64) {
        for bucket in [Bucket::Hour, Bucket::Day] {
            let start = tz.bucket_key(bucket, at);
            self.add(
                ViewKey::Active {
                    guild,
                    bucket,
                    start,
                    user,
                },
                1,
            );
        }
    }

    /// A point activity (message, reaction, XP) of `user` at `at`: the member's day counter,
    /// and for messages and reactions the guild's minute series and the active marks.
    pub fn activity(
        &mut self,
        tz: Timezone,
        guild: u64,
        user: u64,
        counter: Counter,
        at: i64,
        amount: i64,
    ) {
        let day = tz.period_key(Period::Day, at);
        self.add(
            ViewKey::Member {
                guild,
                user,
                counter,
                day,
            },
            amount,
        );
        let metric = match counter {
            Counter::Messages => SeriesMetric::Messages,
            Counter::Reactions => SeriesMetric::Reactions,
            Counter::VoiceMs | Counter::Xp => return,
        };
        let minute = tz.bucket_key(Bucket::Minute, at);
        self.add(
            ViewKey::Series {
                guild,
                metric,
                minute,
            },
            amount,
        );
        self.active(tz, guild, user, at);
    }

    /// A guild event (join, leave) in the series.
    pub fn guild_event(&mut self, tz: Timezone, guild: u64, metric: SeriesMetric, at: i64) {
        let minute = tz.bucket_key(Bucket::Minute, at);
        self.add(
            ViewKey::Series {
                guild,
                metric,
                minute,
            },
            1,
        );
    }

    /// Messages per channel.
    pub fn channel_message(&mut self, tz: Timezone, guild: u64, user: u64, channel: u64, at: i64) {
        let day = tz.period_key(Period::Day, at);
        self.add(
            ViewKey::Channel {
                guild,
                channel,
                day,
            },
            1,
        );
        self.add(
            ViewKey::MemberChannel {
                guild,
                user,
                channel,
            },
            1,
        );
    }

    /// Voice time `[from, to)` of `user`, split at every local minute (the finest bucket;
    /// days, hours and periods are unions of minutes in every whole-minute-offset timezone).
    pub fn voice(&mut self, tz: Timezone, guild: u64, user: u64, from: i64, to: i64) {
        let mut cur = from;
        let mut day_ms: Option<(i64, i64)> = None;
        let mut last_hour = None;
        while cur < to {
            let local = tz.local(cur);
            let minute = Bucket::Minute.start(local);
            let next = tz
                .utc_end(cur, minute + Bucket::Minute.width_ms())
                .clamp(cur + 1, to);
            let ms = next - cur;
            self.add(
                ViewKey::Series {
                    guild,
                    metric: SeriesMetric::VoiceMs,
                    minute,
                },
                ms,
            );
            let day = Bucket::Day.start(local);
            day_ms = match day_ms {
                Some((d, total)) if d == day => Some((d, total + ms)),
                Some((d, total)) => {
                    self.add(
                        ViewKey::Member {
                            guild,
                            user,
                            counter: Counter::VoiceMs,
                            day: d,
                        },
                        total,
                    );
                    Some((day, ms))
                }
                None => Some((day, ms)),
            };
            let hour = Bucket::Hour.start(local);
            if last_hour != Some(hour) {
                last_hour = Some(hour);
                self.active(tz, guild, user, cur);
            }
            cur = next;
        }
        if let Some((day, total)) = day_ms {
            self.add(
                ViewKey::Member {
                    guild,
                    user,
                    counter: Counter::VoiceMs,
                    day,
                },
                total,
            );
        }
    }
}
