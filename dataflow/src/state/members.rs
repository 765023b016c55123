//! A member's current-period totals and last 31 days, as the read side keeps them.

use crate::keys::Counter;
use guildflow_model::Period;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const DAYS_KEPT: usize = 31;

/// Totals of one member.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemberTotals {
    /// [counter][period] -> (local period start, total) of the latest period seen.
    current: [[(i64, i64); 4]; 4],
    /// Local day start -> [messages, reactions, voice ms].
    daily: BTreeMap<i64, [i64; 3]>,
    /// Local start of the latest day with activity.
    pub last_active_day: Option<i64>,
}

impl Default for MemberTotals {
    fn default() -> Self {
        MemberTotals {
            current: [[(i64::MIN, 0); 4]; 4],
            daily: BTreeMap::new(),
            last_active_day: None,
        }
    }
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
    /// Adds `delta` to `counter` in the period starting at `start` and returns the new total;
    /// None when that period is older than the one kept (late data for a past period).
    pub fn add(&mut self, counter: Counter, period: Period, start: i64, delta: i64) -> Option<i64> {
        let slot = &mut self.current[counter_index(counter)][period_index(period)];
        if start < slot.0 {
            return None;
        }
        if start > slot.0 {
            *slot = (start, 0);
        }
        slot.1 += delta;
        Some(slot.1)
    }

    /// Records the day total of `counter` for the 31-day activity series.
    pub fn set_day(&mut self, counter: Counter, day: i64, total: i64) {
        if counter == Counter::Xp {
            return;
        }
        let slot = self.daily.entry(day).or_insert([0; 3]);
        slot[counter_index(counter)] = total;
        if total > 0 && self.last_active_day.is_none_or(|d| d < day) {
            self.last_active_day = Some(day);
        }
        while self.daily.len() > DAYS_KEPT {
            self.daily.pop_first();
        }
    }

    /// Total of `counter` in the period starting at `start` (0 if another period is kept).
    pub fn value(&self, counter: Counter, period: Period, start: i64) -> i64 {
        let (kept, total) = self.current[counter_index(counter)][period_index(period)];
        if kept == start {
            total
        } else {
            0
        }
    }

    /// SPEC score of the period starting at `start`.
    pub fn score(&self, period: Period, start: i64) -> i64 {
        self.value(Counter::Messages, period, start)
            + self.value(Counter::Reactions, period, start)
            + 2 * (self.value(Counter::VoiceMs, period, start) / 1000 / 60)
    }

    /// [messages, reactions, voice ms] of the local day starting at `day`.
    pub fn day(&self, day: i64) -> [i64; 3] {
        self.daily.get(&day).copied().unwrap_or([0; 3])
    }
}
