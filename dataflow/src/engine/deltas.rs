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
    /// Activity marks (guild, user, hour or day, local start), resolved against the guild's
    /// [`super::activity::ActiveMarks`] by the engine into `ActiveCount` updates.
    marks: Vec<ActiveMark>,
}

/// A member was active in a bucket (see [`super::activity`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveMark {
    /// Guild.
    pub guild: u64,
    /// Member.
    pub user: u64,
    /// Hour or day.
    pub bucket: Bucket,
    /// Local bucket start.
    pub start: i64,
}

impl Deltas {
    /// Adds `amount` to `key`.
    pub fn add(&mut self, key: ViewKey, amount: i64) {
        if amount != 0 {
            *self.sums.entry(key).or_insert(0) += amount;
        }
    }

    /// Takes the non-zero sums, leaving the buffer empty (its capacity is kept, up to a
    /// bound: see [`Deltas::trim`]). Activity marks are not in them: the engine resolves those
    /// first ([`Deltas::take_marks`]).
    pub fn drain(&mut self) -> impl Iterator<Item = (ViewKey, i64)> + '_ {
        self.sums.drain().filter(|(_, v)| *v != 0)
    }

    /// Gives back the memory of a burst: a backlog processed in one activation can size the
    /// buffers for millions of keys, which steady batches never need again.
    pub fn trim(&mut self) {
        const KEEP: usize = 1 << 16;
        if self.sums.is_empty() && self.sums.capacity() > KEEP {
            self.sums.shrink_to(KEEP);
        }
        if self.marks.is_empty() && self.marks.capacity() > KEEP {
            self.marks.shrink_to(KEEP);
        }
    }

    /// Takes the pending activity marks (the caller hands the vector back with
    /// [`Deltas::return_marks`] to keep its capacity).
    pub fn take_marks(&mut self) -> Vec<ActiveMark> {
        std::mem::take(&mut self.marks)
    }

    /// Gives back an emptied mark vector.
    pub fn return_marks(&mut self, mut marks: Vec<ActiveMark>) {
        marks.clear();
        if self.marks.is_empty() {
            self.marks = marks;
        }
    }

    /// Number of distinct keys touched.
    pub fn len(&self) -> usize {
        self.sums.len()
    }

    /// Whether nothing was touched (no sums and no marks).
    pub fn is_empty(&self) -> bool {
        self.sums.is_empty() && self.marks.is_empty()
    }

    fn active(&mut self, tz: Timezone, guild: u64, user: u64, at: i64) {
        for bucket in [Bucket::Hour, Bucket::Day] {
            let start = tz.bucket_key(bucket, at);
            self.marks.push(ActiveMark {
                guild,
                user,
                bucket,
                start,
            });
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
        self.minute_point(tz, guild, metric, at, amount);
        self.active(tz, guild, user, at);
    }

    /// A guild event (join, leave) in the series.
    pub fn guild_event(&mut self, tz: Timezone, guild: u64, metric: SeriesMetric, at: i64) {
        self.minute_point(tz, guild, metric, at, 1);
    }

    /// Adds to the guild's series point of the local minute containing `at`.
    fn minute_point(
        &mut self,
        tz: Timezone,
        guild: u64,
        metric: SeriesMetric,
        at: i64,
        amount: i64,
    ) {
        let start = tz.bucket_key(Bucket::Minute, at);
        let bucket = Bucket::Minute;
        self.add(
            ViewKey::Series {
                guild,
                metric,
                bucket,
                start,
            },
            amount,
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
    /// Parts older than two days before `to` go in hour steps, older than 35 days in day steps:
    /// the read side keeps minutes for two days and hours for 35, and a session opened long
    /// ago (or a bogus old timestamp) must not cost one key per minute since.
    ///
    /// `resumed`: the session's time just before `from` was accrued already, so the member
    /// is marked active in that hour; an open session accrues at every voice tick, and
    /// marking its hour again each time would cost a mark per session per second.
    pub fn voice(
        &mut self,
        tz: Timezone,
        guild: u64,
        user: u64,
        from: i64,
        to: i64,
        resumed: bool,
    ) {
        const TWO_DAYS: i64 = 2 * 86_400_000;
        const FIVE_WEEKS: i64 = 35 * 86_400_000;
        let mut cur = from;
        let mut day_ms: Option<(i64, i64)> = None;
        let mut last_hour = resumed.then(|| Bucket::Hour.start(tz.local(from - 1)));
        while cur < to {
            let bucket = match to - cur {
                left if left > FIVE_WEEKS => Bucket::Day,
                left if left > TWO_DAYS => Bucket::Hour,
                _ => Bucket::Minute,
            };
            let local = tz.local(cur);
            let start = bucket.start(local);
            let next = tz
                .utc_end(cur, start + bucket.width_ms())
                .clamp(cur + 1, to);
            let ms = next - cur;
            let metric = SeriesMetric::VoiceMs;
            self.add(
                ViewKey::Series {
                    guild,
                    metric,
                    bucket,
                    start,
                },
                ms,
            );
            let day = Bucket::Day.start(local);
            day_ms = match day_ms {
                Some((d, total)) if d == day => Some((d, total + ms)),
                Some((d, total)) => {
                    let counter = Counter::VoiceMs;
                    self.add(
                        ViewKey::Member {
                            guild,
                            user,
                            counter,
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
            let counter = Counter::VoiceMs;
            self.add(
                ViewKey::Member {
                    guild,
                    user,
                    counter,
                    day,
                },
                total,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice_totals(deltas: &mut Deltas) -> (i64, i64, usize) {
        let (mut member, mut series, mut keys) = (0, 0, 0);
        for (key, amount) in deltas.drain() {
            keys += 1;
            match key {
                ViewKey::Member { .. } => member += amount,
                ViewKey::Series { .. } => series += amount,
                _ => {}
            }
        }
        (member, series, keys)
    }

    #[test]
    fn voice_splits_exactly_and_stays_bounded_over_years() {
        let paris: Timezone = "Europe/Paris".parse().unwrap();
        for tz in [Timezone::Utc, paris] {
            let mut deltas = Deltas::default();
            let (from, to) = (1_000, 1_767_225_600_000 + 123_456);
            deltas.voice(tz, 1, 2, from, to, false);
            let (member, series, keys) = voice_totals(&mut deltas);
            assert_eq!(member, to - from);
            assert_eq!(series, to - from);
            // Minutes for two days, hours for 35, days before: far from one key per minute.
            assert!(keys < 200_000, "{keys} keys");
        }
    }

    #[test]
    fn short_voice_lands_in_minutes() {
        let mut deltas = Deltas::default();
        deltas.voice(Timezone::Utc, 1, 2, 30_000, 150_000, false);
        let mut minutes: Vec<(i64, i64)> = deltas
            .drain()
            .filter_map(|(k, v)| match k {
                ViewKey::Series {
                    bucket: Bucket::Minute,
                    start,
                    ..
                } => Some((start, v)),
                _ => None,
            })
            .collect();
        minutes.sort();
        assert_eq!(
            minutes,
            vec![(0, 30_000), (60_000, 60_000), (120_000, 30_000)]
        );
    }
}
