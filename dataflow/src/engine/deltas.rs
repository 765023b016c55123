//! Per-batch pre-aggregation: every event adds to many views, so updates are summed per key
//! within a batch and only the sums enter differential (a diff carries the count).

use crate::keys::{Counter, SeriesMetric, ViewKey};
use crate::timezone::Timezone;
use guildflow_model::{Bucket, Period};
use std::collections::HashMap;

const BUCKETS: [Bucket; 3] = [Bucket::Minute, Bucket::Hour, Bucket::Day];

/// Summed view updates of one batch.
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

    /// A point activity (message, reaction, XP) of `user` at `at`: member counters in every
    /// period, and for messages and reactions the guild series and active-member marks.
    pub fn activity(
        &mut self,
        tz: Timezone,
        guild: u64,
        user: u64,
        counter: Counter,
        at: i64,
        amount: i64,
    ) {
        for period in Period::ALL {
            let start = tz.period_key(period, at);
            self.add(
                ViewKey::Member {
                    guild,
                    user,
                    counter,
                    period,
                    start,
                },
                amount,
            );
        }
        let metric = match counter {
            Counter::Messages => SeriesMetric::Messages,
            Counter::Reactions => SeriesMetric::Reactions,
            Counter::VoiceMs | Counter::Xp => return,
        };
        for bucket in BUCKETS {
            let start = tz.bucket_key(bucket, at);
            self.add(
                ViewKey::Series {
                    guild,
                    metric,
                    bucket,
                    start,
                },
                amount,
            );
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

    /// A guild event (join, leave) in the series.
    pub fn guild_event(&mut self, tz: Timezone, guild: u64, metric: SeriesMetric, at: i64) {
        for bucket in BUCKETS {
            let start = tz.bucket_key(bucket, at);
            self.add(
                ViewKey::Series {
                    guild,
                    metric,
                    bucket,
                    start,
                },
                1,
            );
        }
    }

    /// Messages per channel.
    pub fn channel_message(&mut self, tz: Timezone, guild: u64, user: u64, channel: u64, at: i64) {
        for period in Period::ALL {
            let start = tz.period_key(period, at);
            self.add(
                ViewKey::Channel {
                    guild,
                    channel,
                    period,
                    start,
                },
                1,
            );
        }
        self.add(
            ViewKey::MemberChannel {
                guild,
                user,
                channel,
            },
            1,
        );
    }

    /// Voice time `[from, to)` of `user`, split at every minute (the finest bucket; periods
    /// and coarser buckets are unions of minutes in every timezone with whole-minute offsets).
    pub fn voice(&mut self, tz: Timezone, guild: u64, user: u64, from: i64, to: i64) {
        let mut cur = from;
        while cur < to {
            let local = tz.local(cur);
            let minute_end = Bucket::Minute.start(local) + Bucket::Minute.width_ms();
            let next = tz.utc_end(cur, minute_end).clamp(cur + 1, to);
            let ms = next - cur;
            for period in Period::ALL {
                let start = tz.period_key(period, cur);
                self.add(
                    ViewKey::Member {
                        guild,
                        user,
                        counter: Counter::VoiceMs,
                        period,
                        start,
                    },
                    ms,
                );
            }
            for bucket in BUCKETS {
                let start = tz.bucket_key(bucket, cur);
                self.add(
                    ViewKey::Series {
                        guild,
                        metric: SeriesMetric::VoiceMs,
                        bucket,
                        start,
                    },
                    ms,
                );
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
            cur = next;
        }
    }
}
