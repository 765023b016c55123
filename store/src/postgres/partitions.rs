//! Daily partitions of `events` on the native path: created ahead of the data and dropped by
//! the retention job. Under TimescaleDB the SQL functions called here are no-ops (chunks
//! appear by themselves and a retention policy drops them), so callers need not care which
//! path a database took.

use super::migrate::Partitioning;
use super::{Result, DAY_MS};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio_postgres::Client;

/// How `events` is partitioned, or None when it does not exist (not migrated).
pub async fn partitioning(client: &Client) -> Result<Option<Partitioning>> {
    let row = client
        .query_one(
            "SELECT to_regclass('events') IS NOT NULL,
                    EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('events'))",
            &[],
        )
        .await?;
    let (exists, native): (bool, bool) = (row.get(0), row.get(1));
    Ok(match (exists, native) {
        (false, _) => None,
        (true, true) => Some(Partitioning::Native),
        // Migration 0001 makes a plain `events` only as a hypertable.
        (true, false) => Some(Partitioning::Timescale),
    })
}

/// Creates the missing daily partitions for UTC days `from_day..=to_day` (days since the Unix
/// epoch); returns how many it created.
pub async fn ensure_partitions(client: &Client, from_day: i32, to_day: i32) -> Result<i32> {
    let row = client
        .query_one(
            "SELECT guildflow_ensure_partitions(date '1970-01-01' + $1::int, date '1970-01-01' + $2::int)",
            &[&from_day, &to_day],
        )
        .await?;
    Ok(row.get(0))
}

/// Drops the daily partitions of days before `cutoff_day` (days since the Unix epoch); returns
/// how many it dropped.
pub async fn drop_partitions_before(client: &Client, cutoff_day: i32) -> Result<i32> {
    let row = client
        .query_one(
            "SELECT guildflow_drop_partitions_before(date '1970-01-01' + $1::int)",
            &[&cutoff_day],
        )
        .await?;
    Ok(row.get(0))
}

/// The retention job: drops the partitions entirely older than `keep_days` full UTC days
/// before today (wall clock). Returns how many it dropped.
pub async fn run_retention(client: &Client, keep_days: u32) -> Result<i32> {
    let keep = i32::try_from(keep_days).unwrap_or(i32::MAX);
    drop_partitions_before(client, today().saturating_sub(keep)).await
}

/// Today's UTC day number.
pub(crate) fn today() -> i32 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    day_of(ms)
}

/// The UTC day number of a Unix-milliseconds time.
pub(crate) fn day_of(ms: i64) -> i32 {
    i32::try_from(ms.div_euclid(DAY_MS)).unwrap_or(if ms < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_and_floor_negative_times() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(DAY_MS), 1);
        assert_eq!(day_of(-1), -1);
        // 2026-01-01T00:00:00Z
        assert_eq!(day_of(1_767_225_600_000), 20_454);
    }
}
