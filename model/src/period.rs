//! Calendar periods (SPEC §4) and time-series buckets, as half-open `[start, end)` ranges of
//! Unix milliseconds. Computed here in UTC; a guild timezone shifts `at` by its offset before
//! calling these (the dataflow owns that mapping).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A standard statistics period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Calendar day.
    Day,
    /// ISO week, starting Monday 00:00.
    Week,
    /// Calendar month.
    Month,
    /// Since the beginning.
    All,
}

impl Period {
    /// Every period.
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::All];

    /// Name used in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::All => "all",
        }
    }

    /// The `[start, end)` range of this period containing `at` (UTC milliseconds).
    pub fn range(self, at: i64) -> (i64, i64) {
        match self {
            Period::Day => {
                let start = at.div_euclid(DAY_MS) * DAY_MS;
                (start, start + DAY_MS)
            }
            Period::Week => {
                let day = at.div_euclid(DAY_MS);
                // 1970-01-01 was a Thursday: days since the Monday before it.
                let monday = day - (day + 3).rem_euclid(7);
                (monday * DAY_MS, (monday + 7) * DAY_MS)
            }
            Period::Month => {
                let (y, m, _) = civil_from_days(at.div_euclid(DAY_MS));
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                (
                    days_from_civil(y, m, 1) * DAY_MS,
                    days_from_civil(ny, nm, 1) * DAY_MS,
                )
            }
            Period::All => (i64::MIN, i64::MAX),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown period or bucket name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName(pub String);

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown name {:?}", self.0)
    }
}

impl std::error::Error for UnknownName {}

impl FromStr for Period {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// Width of a time-series bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One (UTC-shifted) day.
    Day,
}

impl Bucket {
    /// Width in milliseconds.
    pub const fn width_ms(self) -> i64 {
        match self {
            Bucket::Minute => MINUTE_MS,
            Bucket::Hour => HOUR_MS,
            Bucket::Day => DAY_MS,
        }
    }

    /// Start of the bucket containing `at`.
    pub const fn start(self, at: i64) -> i64 {
        at.div_euclid(self.width_ms()) * self.width_ms()
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-01-01T00:00:00Z, a Thursday.
    const NEW_YEAR: i64 = 1_767_225_600_000;

    #[test]
    fn civil_round_trip() {
        for day in -800_000..800_000i64 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(days_from_civil(2026, 1, 1) * DAY_MS, NEW_YEAR);
    }

    #[test]
    fn periods_contain_their_instant() {
        let at = NEW_YEAR + 5 * HOUR_MS;
        assert_eq!(Period::Day.range(at), (NEW_YEAR, NEW_YEAR + DAY_MS));
        // ISO week of Thursday 2026-01-01 starts Monday 2025-12-29.
        assert_eq!(Period::Week.range(at).0, NEW_YEAR - 3 * DAY_MS);
        assert_eq!(Period::Month.range(at), (NEW_YEAR, NEW_YEAR + 31 * DAY_MS));
        let before = NEW_YEAR - 1;
        assert_eq!(Period::Month.range(before).0, NEW_YEAR - 31 * DAY_MS);
        assert_eq!(Bucket::Hour.start(at + 59 * MINUTE_MS), at);
    }

    #[test]
    fn period_names_parse() {
        assert_eq!("week".parse::<Period>(), Ok(Period::Week));
        assert!("year".parse::<Period>().is_err());
    }
}
