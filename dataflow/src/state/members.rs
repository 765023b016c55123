//! A member's current-period totals and last 31 days, as the read side keeps them.

use crate::keys::Counter;
use guildflow_model::{Metric, Period};
use serde::{Deserialize, Serialize};

const DAYS_KEPT: usize = 31;

const DAY_MS: i64 = 86_400_000;

/// One day of a member's activity series, packed: most members are active on a few days, and
/// an ordered map would cost a ~400-byte node for a single day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct DayTotals {
    /// Local day start / 86 400 000.
    day: i32,
    /// Messages, reactions, voice ms (a day's voice fits: at most 86 400 000 ms).
    totals: [u32; 3],
}

/// Totals of one member: 200 bytes (296 before day numbers), since the read side holds one
/// per member that was ever active (a hash table of them is the largest part of the
/// published state).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemberTotals {
    /// [counter][day, week, month]: day number (the local start / 86 400 000) of the latest
    /// period seen; a later one resets that counter's total of the period.
    starts: [[i32; 3]; 4],
    /// [counter][period] totals of the periods in `starts` (and of all time).
    totals: [[i64; 4]; 4],
    /// The last [`DAYS_KEPT`] days with activity, by day.
    daily: Vec<DayTotals>,
}

impl Default for MemberTotals {
    fn default() -> Self {
        MemberTotals {
            starts: [[i32::MIN; 3]; 4],
            totals: [[0; 4]; 4],
            daily: Vec::new(),
        }
    }
}

fn day_number(day: i64) -> i32 {
    i32::try_from(day.div_euclid(DAY_MS)).unwrap_or(if day < 0 { i32::MIN } else { i32::MAX })
}

const fn counter_index(counter: Counter) -> usize {
    match counter {
        Counter::Messages => 0,
        Counter::Reactions => 1,
        Counter::VoiceMs => 2,
        Counter::Xp => 3,
    }
}

const fn period_index(period: Period) -> usize {
    match period {
        Period::Day => 0,
        Period::Week => 1,
        Period::Month => 2,
        Period::All => 3,
    }
}

impl MemberTotals {
    /// Adds `delta` to `counter` in the period starting at `start` and returns the period's
    /// total before and after; None when that period is older than the one kept (late data
    /// for a past period, which is no longer any view's current period).
    pub fn add(
        &mut self,
        counter: Counter,
        period: Period,
        start: i64,
        delta: i64,
    ) -> Option<(i64, i64)> {
        let (c, p) = (counter_index(counter), period_index(period));
        if let Some(kept) = self.starts[c].get_mut(p) {
            let number = day_number(start);
            if number < *kept {
                return None;
            }
            if number > *kept {
                *kept = number;
                self.totals[c][p] = 0;
            }
        }
        let slot = &mut self.totals[c][p];
        let before = *slot;
        *slot += delta;
        Some((before, *slot))
    }

    /// The member's value on the `metric` leaderboard of the period starting at `start`
    /// (voice in whole seconds); the leaderboards list it without keeping a copy.
    pub fn board_value(&self, metric: Metric, period: Period, start: i64) -> i64 {
        match metric {
            Metric::Messages => self.value(Counter::Messages, period, start),
            Metric::Reactions => self.value(Counter::Reactions, period, start),
            Metric::Voice => self.value(Counter::VoiceMs, period, start) / 1000,
            Metric::Score => self.score(period, start),
            Metric::Xp => self.value(Counter::Xp, period, start),
        }
    }

    /// Adds to the day total of `counter` in the 31-day activity series.
    pub fn add_day(&mut self, counter: Counter, day: i64, delta: i64) {
        if counter == Counter::Xp {
            return;
        }
        let number = day_number(day);
        let at = match self.daily.binary_search_by_key(&number, |d| d.day) {
            Ok(at) => at,
            Err(at) => {
                // Older than every kept day of a full series: it would be dropped at once.
                if at == 0 && self.daily.len() >= DAYS_KEPT {
                    return;
                }
                self.daily.insert(
                    at,
                    DayTotals {
                        day: number,
                        totals: [0; 3],
                    },
                );
                at
            }
        };
        let slot = &mut self.daily[at].totals[counter_index(counter)];
        *slot = u32::try_from((i64::from(*slot) + delta).max(0)).unwrap_or(u32::MAX);
        if self.daily.len() > DAYS_KEPT {
            let extra = self.daily.len() - DAYS_KEPT;
            self.daily.drain(..extra);
        }
    }

    /// Total of `counter` in the period starting at `start` (0 if another period is kept).
    pub fn value(&self, counter: Counter, period: Period, start: i64) -> i64 {
        let (c, p) = (counter_index(counter), period_index(period));
        match self.starts[c].get(p) {
            Some(&kept) if kept != day_number(start) => 0,
            _ => self.totals[c][p],
        }
    }

    /// Local start of the latest day with activity among the kept days (enough for the
    /// rolling windows of at most 30 days).
    pub fn last_active_day(&self) -> Option<i64> {
        self.daily
            .iter()
            .rev()
            .find(|d| d.totals != [0; 3])
            .map(|d| i64::from(d.day) * DAY_MS)
    }

    /// SPEC score of the period starting at `start`.
    pub fn score(&self, period: Period, start: i64) -> i64 {
        self.value(Counter::Messages, period, start)
            + self.value(Counter::Reactions, period, start)
            + 2 * (self.value(Counter::VoiceMs, period, start) / 1000 / 60)
    }

    /// [messages, reactions, voice ms] of the local day starting at `day`.
    pub fn day(&self, day: i64) -> [i64; 3] {
        let number = day_number(day);
        match self.daily.binary_search_by_key(&number, |d| d.day) {
            Ok(at) => self.daily[at].totals.map(i64::from),
            Err(_) => [0; 3],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daily_series_keeps_the_last_31_days_in_any_order() {
        let mut member = MemberTotals::default();
        for d in (0..40).rev() {
            member.add_day(Counter::Messages, d * DAY_MS, d + 1);
        }
        member.add_day(Counter::VoiceMs, 39 * DAY_MS, 5_000);
        member.add_day(Counter::Xp, 39 * DAY_MS, 99);
        assert_eq!(member.day(39 * DAY_MS), [40, 0, 5_000]);
        assert_eq!(member.day(9 * DAY_MS), [10, 0, 0]);
        assert_eq!(member.day(8 * DAY_MS), [0; 3]);
        // Older than the kept window: ignored.
        member.add_day(Counter::Reactions, 2 * DAY_MS, 7);
        assert_eq!(member.day(2 * DAY_MS), [0; 3]);
        assert_eq!(member.last_active_day(), Some(39 * DAY_MS));
        // A new day pushes the oldest out.
        member.add_day(Counter::Reactions, 45 * DAY_MS, 1);
        assert_eq!(member.day(9 * DAY_MS), [0; 3]);
        assert_eq!(member.day(45 * DAY_MS), [0, 1, 0]);
        assert_eq!(member.last_active_day(), Some(45 * DAY_MS));
        // Deltas add up, a late one included.
        member.add_day(Counter::Reactions, 45 * DAY_MS, 2);
        member.add_day(Counter::Messages, 20 * DAY_MS, 3);
        assert_eq!(member.day(45 * DAY_MS), [0, 3, 0]);
        assert_eq!(member.day(20 * DAY_MS), [24, 0, 0]);
    }

    #[test]
    fn a_later_period_resets_that_counter_of_that_period_only() {
        let mut member = MemberTotals::default();
        assert_eq!(member.last_active_day(), None);
        let (d0, d1) = (10 * DAY_MS, 11 * DAY_MS);
        assert_eq!(
            member.add(Counter::Messages, Period::Day, d0, 3),
            Some((0, 3))
        );
        assert_eq!(
            member.add(Counter::Reactions, Period::Day, d0, 2),
            Some((0, 2))
        );
        assert_eq!(
            member.add(Counter::Messages, Period::All, 0, 3),
            Some((0, 3))
        );
        assert_eq!(member.score(Period::Day, d0), 5);
        assert_eq!(
            member.add(Counter::Messages, Period::Day, d1, 1),
            Some((0, 1))
        );
        assert_eq!(member.value(Counter::Reactions, Period::Day, d1), 0);
        assert_eq!(member.value(Counter::Messages, Period::Day, d0), 0);
        // The reactions of the earlier day are still that counter's latest period.
        assert_eq!(
            member.add(Counter::Reactions, Period::Day, d0, 1),
            Some((2, 3))
        );
        assert_eq!(member.add(Counter::Messages, Period::Day, d0, 1), None);
        assert_eq!(member.value(Counter::Messages, Period::All, 0), 3);
        assert_eq!(member.board_value(Metric::Score, Period::Day, d1), 1);
    }
}
