//! Distinct active members per hour and day, counted in the engine.
//!
//! A member is active in a bucket if one counted message, reaction or voice second of theirs
//! falls in it (SPEC §3). Counting *distinct* members needs to know, for each activity, whether
//! the member was already marked in that bucket. Differential's `distinct_total` did that with
//! one arranged key per member and active hour or day (a trace seek per mark and ~60 bytes per
//! key, two days of hours per member); here each member holds two bit windows instead — the
//! latest marked hour and day, and which of the 63 before them were marked — so a mark is one
//! hash lookup and a member costs 32 bytes whatever their history. Only the per-bucket counts
//! (`ViewKey::ActiveCount`, +1 per new member) enter differential.
//!
//! Activity more than 63 buckets older than a member's latest mark is not counted again: the
//! window cannot tell whether it was seen. Events are applied in event-time order within a
//! quantum and late ones are rare, so this only affects data older than 63 hours (hours) or
//! 63 days (days) behind the member's newest activity.

use foldhash::HashMap;
use guildflow_model::Bucket;
use serde::{Deserialize, Serialize};

/// A member's marked buckets of one width: `latest` (a local bucket start) and, in bit `i` of
/// `seen`, whether the bucket `i` widths before it is marked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketWindow {
    latest: i64,
    seen: u64,
}

impl BucketWindow {
    /// Marks the bucket starting at `start` (`width` ms wide); true if it was not marked.
    fn mark(&mut self, start: i64, width: i64) -> bool {
        if self.seen == 0 {
            *self = BucketWindow {
                latest: start,
                seen: 1,
            };
            return true;
        }
        if start > self.latest {
            // Saturating: a hostile capture's timestamps may be anywhere in i64.
            let shift = start.saturating_sub(self.latest) / width.max(1);
            self.seen = if shift >= 64 {
                1
            } else {
                (self.seen << shift) | 1
            };
            self.latest = start;
            return true;
        }
        let back = self.latest.saturating_sub(start) / width.max(1);
        if back >= 64 {
            return false;
        }
        let bit = 1u64 << back;
        let new = self.seen & bit == 0;
        self.seen |= bit;
        new
    }
}

/// One member's hour and day windows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberActivity {
    hours: BucketWindow,
    days: BucketWindow,
}

/// The activity windows of a guild's members.
#[derive(Clone, Debug, Default)]
pub struct ActiveMarks {
    members: HashMap<u64, MemberActivity>,
}

impl ActiveMarks {
    /// Marks `user` active in the `bucket` (hour or day) starting at `start`; true if the
    /// member is new to that bucket.
    pub fn mark(&mut self, user: u64, bucket: Bucket, start: i64) -> bool {
        let member = self.members.entry(user).or_default();
        let window = match bucket {
            Bucket::Day => &mut member.days,
            Bucket::Hour | Bucket::Minute => &mut member.hours,
        };
        window.mark(start, bucket.width_ms())
    }

    /// Every member's windows, sorted by user (a snapshot's form).
    pub fn checkpoint(&self) -> Vec<(u64, MemberActivity)> {
        let mut all: Vec<_> = self.members.iter().map(|(u, a)| (*u, *a)).collect();
        all.sort_unstable_by_key(|(u, _)| *u);
        all
    }

    /// Replaces the windows with a snapshot's.
    pub fn restore(&mut self, saved: Vec<(u64, MemberActivity)>) {
        self.members = saved.into_iter().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn a_bucket_counts_once_in_any_order() {
        let mut marks = ActiveMarks::default();
        assert!(marks.mark(1, Bucket::Hour, 10 * H));
        assert!(!marks.mark(1, Bucket::Hour, 10 * H));
        assert!(marks.mark(1, Bucket::Hour, 12 * H));
        // Late, inside the window: once.
        assert!(marks.mark(1, Bucket::Hour, 11 * H));
        assert!(!marks.mark(1, Bucket::Hour, 11 * H));
        assert!(!marks.mark(1, Bucket::Hour, 10 * H));
        // Another member, another width: independent.
        assert!(marks.mark(2, Bucket::Hour, 10 * H));
        assert!(marks.mark(1, Bucket::Day, 0));
        assert!(!marks.mark(1, Bucket::Day, 0));
    }

    #[test]
    fn the_window_slides_and_forgets_only_past_63_buckets() {
        let mut marks = ActiveMarks::default();
        assert!(marks.mark(1, Bucket::Hour, 0));
        assert!(marks.mark(1, Bucket::Hour, 63 * H));
        assert!(!marks.mark(1, Bucket::Hour, 0));
        assert!(marks.mark(1, Bucket::Hour, 64 * H));
        // Hour 0 is now 64 back: outside the window, not counted again.
        assert!(!marks.mark(1, Bucket::Hour, 0));
        // A jump past the window starts afresh.
        assert!(marks.mark(1, Bucket::Hour, 1000 * H));
        assert!(!marks.mark(1, Bucket::Hour, 1000 * H));
        assert!(marks.mark(1, Bucket::Hour, 999 * H));
    }

    #[test]
    fn extreme_starts_do_not_overflow() {
        let mut marks = ActiveMarks::default();
        assert!(marks.mark(1, Bucket::Hour, i64::MIN + 1));
        assert!(marks.mark(1, Bucket::Hour, i64::MAX - 1));
        assert!(!marks.mark(1, Bucket::Hour, i64::MIN + 1));
        assert!(marks.mark(2, Bucket::Day, i64::MAX - 1));
        assert!(!marks.mark(2, Bucket::Day, i64::MIN + 1));
    }

    #[test]
    fn negative_starts_work() {
        let mut marks = ActiveMarks::default();
        assert!(marks.mark(1, Bucket::Hour, -5 * H));
        assert!(marks.mark(1, Bucket::Hour, -6 * H));
        assert!(!marks.mark(1, Bucket::Hour, -5 * H));
    }
}
