//! The stateful triggers, `message_rate` and `duplicate_content`: sliding windows in event
//! time over a member's recent messages. A window ending at a message at `t` is
//! `(t - per_seconds, t]`: a message exactly `per_seconds` older is outside.
//!
//! Histories stay bounded: a rate history keeps at most `max_messages + 1` times (enough to
//! know whether the limit is exceeded), a duplicate history at most
//! [`DUPLICATE_HISTORY`](crate::automod::limits::DUPLICATE_HISTORY) entries, and both drop
//! entries that left the window.

use crate::automod::action::Evidence;
use crate::automod::error::AutomodError;
use crate::automod::limits::{
    DUPLICATE_HISTORY, MAX_DUPLICATE_REPEATS, MAX_RATE_MESSAGES, MAX_TRIGGER_WINDOW_SECONDS,
};
use crate::automod::text::{normalized, normalized_hash};
use std::collections::VecDeque;

fn check_window(rule: u64, per_seconds: u32) -> Result<i64, AutomodError> {
    if per_seconds == 0 {
        return Err(AutomodError::ZeroWindow {
            rule,
            field: "per_seconds",
        });
    }
    if per_seconds > MAX_TRIGGER_WINDOW_SECONDS {
        return Err(AutomodError::InvalidRule {
            rule,
            reason: format!(
                "per_seconds is {per_seconds}, at most {MAX_TRIGGER_WINDOW_SECONDS} (1 hour) is allowed"
            ),
        });
    }
    Ok(i64::from(per_seconds) * 1000)
}

fn check_limit(rule: u64, field: &str, value: u32, max: u32) -> Result<(), AutomodError> {
    if value == 0 || value > max {
        return Err(AutomodError::InvalidRule {
            rule,
            reason: format!("{field} is {value}, it must be between 1 and {max}"),
        });
    }
    Ok(())
}

/// Inserts `item` keeping `history` sorted by time (events normally arrive in order, so this
/// is a push at the back), after dropping the entries at or before `cutoff`.
fn insert_sorted<T>(history: &mut VecDeque<T>, item: T, cutoff: i64, time: impl Fn(&T) -> i64) {
    while history.front().is_some_and(|e| time(e) <= cutoff) {
        history.pop_front();
    }
    let at = time(&item);
    if history.back().is_none_or(|e| time(e) <= at) {
        history.push_back(item);
    } else {
        let pos = history.partition_point(|e| time(e) <= at);
        history.insert(pos, item);
    }
}

/// Compiled `message_rate` trigger.
#[derive(Clone, Debug)]
pub(crate) struct RateTrigger {
    max_messages: u32,
    per_seconds: u32,
    window_ms: i64,
}

impl RateTrigger {
    /// Validates `max_messages` (1..=1000) and the window (1..=3600 s).
    pub(crate) fn compile(
        rule: u64,
        max_messages: u32,
        per_seconds: u32,
    ) -> Result<RateTrigger, AutomodError> {
        check_limit(rule, "max_messages", max_messages, MAX_RATE_MESSAGES)?;
        let window_ms = check_window(rule, per_seconds)?;
        Ok(RateTrigger {
            max_messages,
            per_seconds,
            window_ms,
        })
    }

    /// Window length in milliseconds.
    pub(crate) fn window_ms(&self) -> i64 {
        self.window_ms
    }

    /// Records a message at `at` and fires when the window ending at it holds more than
    /// `max_messages` messages.
    pub(crate) fn observe(
        &self,
        times: &mut VecDeque<i64>,
        at: i64,
        content: &str,
    ) -> Option<Evidence> {
        let cutoff = at.saturating_sub(self.window_ms);
        insert_sorted(times, at, cutoff, |t| *t);
        let cap = self.max_messages as usize + 1;
        while times.len() > cap {
            times.pop_front();
        }
        let upto = times.partition_point(|t| *t <= at);
        let from = times.partition_point(|t| *t <= cutoff);
        let count = upto.saturating_sub(from);
        if count <= self.max_messages as usize {
            return None;
        }
        Some(Evidence::new(
            "message_rate",
            format!(
                "{count} messages in {} s (limit {})",
                self.per_seconds, self.max_messages
            ),
            None,
            content,
        ))
    }
}

/// Compiled `duplicate_content` trigger.
#[derive(Clone, Debug)]
pub(crate) struct DuplicateTrigger {
    max_repeats: u32,
    per_seconds: u32,
    window_ms: i64,
}

impl DuplicateTrigger {
    /// Validates `max_repeats` (1..=50) and the window (1..=3600 s).
    pub(crate) fn compile(
        rule: u64,
        max_repeats: u32,
        per_seconds: u32,
    ) -> Result<DuplicateTrigger, AutomodError> {
        check_limit(rule, "max_repeats", max_repeats, MAX_DUPLICATE_REPEATS)?;
        let window_ms = check_window(rule, per_seconds)?;
        Ok(DuplicateTrigger {
            max_repeats,
            per_seconds,
            window_ms,
        })
    }

    /// Window length in milliseconds.
    pub(crate) fn window_ms(&self) -> i64 {
        self.window_ms
    }

    /// Records the message's normalized-content hash and fires when the same content appears
    /// more than `max_repeats` times in the window. Empty content is neither recorded nor
    /// compared.
    pub(crate) fn observe(
        &self,
        history: &mut VecDeque<(i64, u64)>,
        at: i64,
        content: &str,
    ) -> Option<Evidence> {
        let hash = normalized_hash(content)?;
        let cutoff = at.saturating_sub(self.window_ms);
        insert_sorted(history, (at, hash), cutoff, |e| e.0);
        while history.len() > DUPLICATE_HISTORY {
            history.pop_front();
        }
        let count = history
            .iter()
            .filter(|(t, h)| *h == hash && *t > cutoff && *t <= at)
            .count();
        if count <= self.max_repeats as usize {
            return None;
        }
        let same = normalized(content);
        Some(Evidence::new(
            "duplicate_content",
            format!(
                "same message {count} times in {} s (limit {})",
                self.per_seconds, self.max_repeats
            ),
            Some(&same),
            content,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counts_the_half_open_window() {
        let t = RateTrigger::compile(1, 2, 10).unwrap();
        let mut h = VecDeque::new();
        assert!(t.observe(&mut h, 0, "").is_none());
        assert!(t.observe(&mut h, 5_000, "").is_none());
        let ev = t.observe(&mut h, 9_999, "x").unwrap();
        assert_eq!(ev.detail, "3 messages in 10 s (limit 2)");
        // At 10 000 the message at 0 left the window: 5 000, 9 999, 10 000 -> still 3.
        assert!(t.observe(&mut h, 10_000, "").is_some());
        // At 19 999 only 10 000 and 19 999 remain.
        assert!(t.observe(&mut h, 19_999, "").is_none());
        assert!(h.len() <= 3);
    }

    #[test]
    fn rate_rejects_zero_and_huge_values() {
        assert_eq!(
            RateTrigger::compile(7, 5, 0).unwrap_err(),
            AutomodError::ZeroWindow {
                rule: 7,
                field: "per_seconds"
            }
        );
        assert!(RateTrigger::compile(7, 0, 5).is_err());
        assert!(RateTrigger::compile(7, 5, 3_601).is_err());
    }

    #[test]
    fn duplicates_compare_normalized_content() {
        let t = DuplicateTrigger::compile(1, 2, 30).unwrap();
        let mut h = VecDeque::new();
        assert!(t.observe(&mut h, 0, "Buy  NOW").is_none());
        assert!(t.observe(&mut h, 1_000, "something else").is_none());
        assert!(t.observe(&mut h, 2_000, " buy now ").is_none());
        let ev = t.observe(&mut h, 3_000, "BUY NOW").unwrap();
        assert_eq!(ev.matched.as_deref(), Some("buy now"));
        assert_eq!(ev.detail, "same message 3 times in 30 s (limit 2)");
        // 30 s after the first one, it has left the window.
        assert!(t.observe(&mut h, 30_000, "buy now").is_some());
        assert!(t.observe(&mut h, 70_000, "buy now").is_none());
        // Empty content is ignored.
        for i in 0..5 {
            assert!(t.observe(&mut h, 80_000 + i, "  ").is_none());
        }
    }

    #[test]
    fn out_of_order_times_stay_sorted() {
        let mut h = VecDeque::new();
        insert_sorted(&mut h, 10, i64::MIN, |t| *t);
        insert_sorted(&mut h, 30, i64::MIN, |t| *t);
        insert_sorted(&mut h, 20, i64::MIN, |t| *t);
        assert_eq!(h, [10, 20, 30]);
    }
}
