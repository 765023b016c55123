//! Where a row goes: its UTC day and guild bucket, and the paths that name them.

use guildflow_model::period::civil_from_days;
use std::path::PathBuf;

/// Milliseconds in a UTC day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// The UTC day of a Unix-millisecond time, as days since 1970-01-01.
pub fn day_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(MS_PER_DAY)
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (proleptic Gregorian calendar).
pub fn day_string(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The bucket of a guild: `guild % buckets`, or None for rows without a guild.
pub(crate) fn bucket_of(guild: Option<u64>, buckets: u32) -> Option<u32> {
    // `buckets` is checked non-zero when the store opens; max(1) keeps this total anyway.
    guild.map(|g| (g % u64::from(buckets.max(1))) as u32)
}

/// `day=YYYY-MM-DD/bucket=NN` (or `bucket=none`), relative to the events directory.
pub(crate) fn partition_dir(day: i64, bucket: Option<u32>) -> PathBuf {
    let bucket = match bucket {
        Some(b) => format!("bucket={b:02}"),
        None => "bucket=none".to_owned(),
    };
    PathBuf::from(format!("day={}", day_string(day))).join(bucket)
}

/// `part-<first lsn>-<last lsn>.parquet`, zero-padded so names sort in LSN order.
pub(crate) fn part_file_name(first_lsn: u64, last_lsn: u64) -> String {
    format!("part-{first_lsn:020}-{last_lsn:020}.parquet")
}

/// Suffix of files being written; never listed in a manifest, removed on open.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_format_as_utc_dates() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(day_of(1_767_225_600_123)), "2026-01-01");
        assert_eq!(day_string(day_of(1_767_225_599_999)), "2025-12-31");
        assert_eq!(day_string(day_of(951_782_400_000)), "2000-02-29");
        assert_eq!(day_string(day_of(-1)), "1969-12-31");
    }

    #[test]
    fn partitions_and_parts_are_named_for_sorting() {
        assert_eq!(
            partition_dir(day_of(1_767_225_600_000), Some(7)),
            PathBuf::from("day=2026-01-01/bucket=07")
        );
        assert_eq!(
            partition_dir(0, None),
            PathBuf::from("day=1970-01-01/bucket=none")
        );
        assert_eq!(
            part_file_name(5, 42),
            "part-00000000000000000005-00000000000000000042.parquet"
        );
        assert_eq!(bucket_of(Some(35), 16), Some(3));
        assert_eq!(bucket_of(None, 16), None);
    }
}
