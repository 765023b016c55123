//! Snowflake ids and Discord's ISO 8601 timestamps.

use guildflow_model::period::civil_from_days;

/// Discord's epoch (2015-01-01T00:00:00Z), Unix milliseconds: a snowflake's timestamp part
/// counts from here.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// The creation time of a snowflake, Unix milliseconds: `(id >> 22) + DISCORD_EPOCH_MS`.
pub const fn snowflake_timestamp_ms(id: u64) -> i64 {
    (id >> 22) as i64 + DISCORD_EPOCH_MS
}

/// The snowflake created at `ms` with the given low 22 bits (worker, process, increment).
pub(crate) const fn snowflake(ms: i64, low: u64) -> u64 {
    let since = ms - DISCORD_EPOCH_MS;
    let since = if since < 0 { 0 } else { since as u64 };
    (since << 22) | (low & 0x3F_FFFF)
}

const MS_PER_DAY: i64 = 86_400_000;

fn push_2(out: &mut String, v: u32) {
    out.push(char::from(b'0' + (v / 10 % 10) as u8));
    out.push(char::from(b'0' + (v % 10) as u8));
}

/// Appends `ms` as a quoted Discord timestamp, `"2026-01-01T00:00:00.123000+00:00"`.
pub(crate) fn push_timestamp(out: &mut String, ms: i64) {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let y = y.clamp(0, 9999) as u32;
    let secs = (in_day / 1000) as u32;
    let millis = (in_day % 1000) as u32;
    out.push('"');
    push_2(out, y / 100);
    push_2(out, y % 100);
    out.push('-');
    push_2(out, m);
    out.push('-');
    push_2(out, d);
    out.push('T');
    push_2(out, secs / 3600);
    out.push(':');
    push_2(out, secs / 60 % 60);
    out.push(':');
    push_2(out, secs % 60);
    out.push('.');
    out.push(char::from(b'0' + (millis / 100) as u8));
    push_2(out, millis % 100);
    out.push_str("000+00:00\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_like_discord() {
        let mut s = String::new();
        push_timestamp(&mut s, 1_767_225_600_123);
        assert_eq!(s, "\"2026-01-01T00:00:00.123000+00:00\"");
        s.clear();
        push_timestamp(&mut s, 1_628_594_197_020);
        assert_eq!(s, "\"2021-08-10T11:16:37.020000+00:00\"");
    }

    #[test]
    fn snowflake_round_trip() {
        let id = snowflake(1_767_225_600_123, 77);
        assert_eq!(snowflake_timestamp_ms(id), 1_767_225_600_123);
        assert_eq!(id & 0x3F_FFFF, 77);
    }
}
