//! Guild timezones. Periods and buckets are computed on *local* time: a period's key is the
//! local wall-clock start of the period expressed as milliseconds since the local epoch, so
//! "today" of a Paris guild is keyed by Paris midnight whatever the DST offset.

use chrono::{Offset, TimeZone};
use guildflow_model::{Bucket, Period};
use std::fmt;
use std::str::FromStr;

/// A guild's timezone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Timezone {
    /// UTC (the default).
    #[default]
    Utc,
    /// A fixed offset east of UTC, in minutes.
    Fixed(i32),
    /// An IANA zone (DST-aware).
    Named(chrono_tz::Tz),
}

/// A timezone name that is neither `UTC`, `+HH:MM`/`-HH:MM` nor an IANA zone.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown timezone {0:?} (expected an IANA name such as Europe/Paris, or +HH:MM)")]
pub struct UnknownTimezone(pub String);

impl FromStr for Timezone {
    type Err = UnknownTimezone;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(Timezone::Utc);
        }
        if let Some(rest) = s.strip_prefix(['+', '-']) {
            let sign = if s.starts_with('-') { -1 } else { 1 };
            let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
            let (Ok(h), Ok(m)) = (h.parse::<i32>(), m.parse::<i32>()) else {
                return Err(UnknownTimezone(s.to_owned()));
            };
            if h > 14 || m > 59 {
                return Err(UnknownTimezone(s.to_owned()));
            }
            return Ok(Timezone::Fixed(sign * (h * 60 + m)));
        }
        s.parse::<chrono_tz::Tz>()
            .map(Timezone::Named)
            .map_err(|_| UnknownTimezone(s.to_owned()))
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timezone::Utc => f.write_str("UTC"),
            Timezone::Fixed(m) => {
                let sign = if *m < 0 { '-' } else { '+' };
                write!(f, "{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60)
            }
            Timezone::Named(tz) => f.write_str(tz.name()),
        }
    }
}

impl Timezone {
    /// Offset east of UTC at the UTC instant `at`, in milliseconds.
    pub fn offset_ms(self, at: i64) -> i64 {
        match self {
            Timezone::Utc => 0,
            Timezone::Fixed(minutes) => i64::from(minutes) * 60_000,
            Timezone::Named(tz) => match chrono::DateTime::from_timestamp_millis(at) {
                Some(utc) => {
                    let secs = tz
                        .offset_from_utc_datetime(&utc.naive_utc())
                        .fix()
                        .local_minus_utc();
                    i64::from(secs) * 1000
                }
                None => 0,
            },
        }
    }

    /// Local wall-clock time of `at`, as milliseconds since the local epoch.
    pub fn local(self, at: i64) -> i64 {
        at.saturating_add(self.offset_ms(at))
    }

    /// Key of the period containing `at`: its local start (0 for `all`).
    pub fn period_key(self, period: Period, at: i64) -> i64 {
        match period {
            Period::All => 0,
            _ => period.range(self.local(at)).0,
        }
    }

    /// Key of the bucket containing `at`: its local start.
    pub fn bucket_key(self, bucket: Bucket, at: i64) -> i64 {
        bucket.start(self.local(at))
    }

    /// The UTC instant where the local span `[local_start, local_end)` containing `at` ends,
    /// assuming the offset at `at` holds until then (DST changes land on hour boundaries, so
    /// minute and hour spans are exact; a day span containing a change is off by the shift).
    pub fn utc_end(self, at: i64, local_end: i64) -> i64 {
        local_end - self.offset_ms(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW_YEAR: i64 = 1_767_225_600_000; // 2026-01-01T00:00Z

    #[test]
    fn parses_and_prints() {
        assert_eq!("UTC".parse::<Timezone>(), Ok(Timezone::Utc));
        assert_eq!("+05:30".parse::<Timezone>(), Ok(Timezone::Fixed(330)));
        assert_eq!("-03:00".parse::<Timezone>().unwrap().to_string(), "-03:00");
        assert_eq!(
            "Europe/Paris".parse::<Timezone>().unwrap().to_string(),
            "Europe/Paris"
        );
        assert!("Mars/Olympus".parse::<Timezone>().is_err());
        assert!("+25:00".parse::<Timezone>().is_err());
    }

    #[test]
    fn local_days_follow_the_zone() {
        let paris: Timezone = "Europe/Paris".parse().unwrap();
        // 23:30 UTC on Dec 31 is already Jan 1 in Paris (UTC+1 in winter).
        let at = NEW_YEAR - 30 * 60_000;
        assert_eq!(paris.period_key(Period::Day, at), NEW_YEAR);
        assert_eq!(
            Timezone::Utc.period_key(Period::Day, at),
            NEW_YEAR - 86_400_000
        );
        // Summer: UTC+2.
        let july = 1_782_864_000_000; // 2026-07-01T00:00Z
        assert_eq!(paris.offset_ms(july), 2 * 3_600_000);
        assert_eq!(paris.period_key(Period::All, at), 0);
    }
}
