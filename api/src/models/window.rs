//! The time span of a leaderboard: a live standard period, or a window over the store
//! (`period=<n>h|<n>d|<n>w|<n>m`, `at=`, `from`/`to`; SPEC §4). Parsing and the arithmetic
//! from parameters to `[from, to)` Unix milliseconds; no state access.

use super::error::Problem;
use super::ids::truncate;
use chrono::{DateTime, Months};
use guildflow_model::Period;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The longest window, in days (ten years; the store keeps 30 days by default): `87840h`,
/// `3660d`, `522w`.
pub const MAX_WINDOW_DAYS: i64 = 3660;
/// The longest window in calendar months.
pub const MAX_WINDOW_MONTHS: i64 = 120;

/// The unit of a rolling window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// `h`: hours.
    Hours,
    /// `d`: days of 24 hours.
    Days,
    /// `w`: weeks of 7 days.
    Weeks,
    /// `m`: calendar months (so `1m` from March 31 starts on February 28/29).
    Months,
}

/// What the leaderboard covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    /// The current standard period, from the live views.
    Live(Period),
    /// A standard period containing a past time (`period=day&at=...`; `all` means everything
    /// up to that time), from the store.
    PeriodAt {
        /// The period.
        period: Period,
        /// Unix ms.
        at: i64,
    },
    /// The `n` units ending at `end` (the watermark when None), from the store.
    Rolling {
        /// How many units.
        n: u32,
        /// The unit.
        unit: Unit,
        /// Unix ms of the window's last instant; None: the watermark.
        end: Option<i64>,
    },
    /// `[from, to)`, from the store; `to` None: up to and including the watermark.
    Range {
        /// Unix ms, inclusive.
        from: i64,
        /// Unix ms, exclusive.
        to: Option<i64>,
    },
}

fn invalid_period(raw: &str) -> Problem {
    Problem::bad_request(
        "invalid_period",
        format!(
            "period must be day, week, month, all, or a rolling window <n>h, <n>d, <n>w or <n>m \
             (calendar months) of at most {MAX_WINDOW_DAYS} days or {MAX_WINDOW_MONTHS} \
             months, not {:?}",
            truncate(raw)
        ),
    )
}

/// Parses an RFC 3339 time (`2026-02-01T23:00:00Z`, `2026-02-02T01:00:00+02:00`) to Unix ms.
pub fn parse_time(name: &str, raw: &str) -> Result<i64, Problem> {
    let code = match name {
        "at" => "invalid_at",
        _ => "invalid_window",
    };
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            Problem::bad_request(
                code,
                format!(
                    "{name} must be an RFC 3339 time such as 2026-02-01T23:00:00Z, not {:?}",
                    truncate(raw)
                ),
            )
        })
}

fn parse_rolling(raw: &str) -> Option<(u32, Unit)> {
    let split = raw.len().checked_sub(1)?;
    let (digits, unit) = raw.split_at(split);
    let unit = match unit {
        "h" => Unit::Hours,
        "d" => Unit::Days,
        "w" => Unit::Weeks,
        "m" => Unit::Months,
        _ => return None,
    };
    if digits.is_empty()
        || digits.len() > 6
        || digits.starts_with('0')
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    let max = match unit {
        Unit::Hours => MAX_WINDOW_DAYS * 24,
        Unit::Days => MAX_WINDOW_DAYS,
        Unit::Weeks => MAX_WINDOW_DAYS / 7,
        Unit::Months => MAX_WINDOW_MONTHS,
    };
    (i64::from(n) <= max).then_some((n, unit))
}

impl Span {
    /// The span of the `period`, `at`, `from` and `to` parameters (each the last occurrence).
    /// A standard period without `at` is live; everything else is a store window. `from`/`to`
    /// replace `period` and `at`.
    pub fn parse(
        period: Option<&str>,
        at: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Span, Problem> {
        if from.is_some() || to.is_some() {
            if period.is_some() || at.is_some() {
                return Err(Problem::bad_request(
                    "invalid_window",
                    "from/to replace period and at: give one or the other",
                ));
            }
            let Some(from) = from else {
                return Err(Problem::bad_request(
                    "invalid_window",
                    "to needs from (from alone runs up to the watermark)",
                ));
            };
            let from = parse_time("from", from)?;
            let to = to.map(|raw| parse_time("to", raw)).transpose()?;
            if let Some(to) = to {
                if to <= from {
                    return Err(Problem::bad_request(
                        "invalid_window",
                        "to must be after from",
                    ));
                }
            }
            return Ok(Span::Range { from, to });
        }
        let at = at.map(|raw| parse_time("at", raw)).transpose()?;
        let raw = period.unwrap_or("all");
        if let Ok(period) = raw.parse::<Period>() {
            return Ok(match at {
                None => Span::Live(period),
                Some(at) => Span::PeriodAt { period, at },
            });
        }
        let (n, unit) = parse_rolling(raw).ok_or_else(|| invalid_period(raw))?;
        Ok(Span::Rolling { n, unit, end: at })
    }

    /// Whether the live views answer it.
    pub fn is_live(&self) -> bool {
        matches!(self, Span::Live(_))
    }

    /// The `period` echoed in the response: the standard name, the rolling window as given
    /// (`7d`), or `custom` for `from`/`to`.
    pub fn label(&self) -> String {
        match self {
            Span::Live(period) | Span::PeriodAt { period, .. } => period.as_str().to_owned(),
            Span::Rolling { n, unit, .. } => {
                let unit = match unit {
                    Unit::Hours => 'h',
                    Unit::Days => 'd',
                    Unit::Weeks => 'w',
                    Unit::Months => 'm',
                };
                format!("{n}{unit}")
            }
            Span::Range { .. } => "custom".to_owned(),
        }
    }

    /// The `[from, to)` Unix ms of a store window, given the watermark (the live views'
    /// latest applied event time). A window "ending at" E includes events at E (the live
    /// views have applied them), so it is `(E - length, E]`. Periods are UTC. None for
    /// [`Span::Live`].
    pub fn resolve(&self, watermark: i64) -> Option<(i64, i64)> {
        // Events before the Unix epoch do not exist (Discord started in 2015); starting
        // there keeps `all` windows clear of i64 extremes.
        let floor = |v: i64| v.max(0);
        let window = match *self {
            Span::Live(_) => return None,
            Span::PeriodAt {
                period: Period::All,
                at,
            } => (0, at.saturating_add(1)),
            Span::PeriodAt { period, at } => period.range(at),
            Span::Rolling { n, unit, end } => {
                let end = end.unwrap_or(watermark);
                let start = match unit {
                    Unit::Hours => end.saturating_sub(i64::from(n) * HOUR_MS),
                    Unit::Days => end.saturating_sub(i64::from(n) * DAY_MS),
                    Unit::Weeks => end.saturating_sub(i64::from(n) * 7 * DAY_MS),
                    Unit::Months => DateTime::from_timestamp_millis(end)
                        .and_then(|t| t.checked_sub_months(Months::new(n)))
                        .map_or(0, |t| t.timestamp_millis()),
                };
                (start.saturating_add(1), end.saturating_add(1))
            }
            Span::Range { from, to } => (from, to.unwrap_or(watermark.saturating_add(1))),
        };
        Some((floor(window.0), floor(window.1)))
    }

    /// [`Span::resolve`], refusing an empty window (it ends before it starts: `from` after
    /// the watermark, or everything before 1970) and a `from`/`to` range over
    /// [`MAX_WINDOW_DAYS`].
    pub fn window(&self, watermark: i64) -> Result<Option<(i64, i64)>, Problem> {
        let Some((from, to)) = self.resolve(watermark) else {
            return Ok(None);
        };
        if from >= to {
            return Err(Problem::bad_request(
                "invalid_window",
                "the window is empty: it must end after it starts (and after 1970)",
            ));
        }
        if matches!(self, Span::Range { .. }) && to - from > MAX_WINDOW_DAYS * DAY_MS {
            return Err(Problem::bad_request(
                "invalid_window",
                format!("a from/to window spans at most {MAX_WINDOW_DAYS} days"),
            ));
        }
        Ok(Some((from, to)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-02-01T23:00:00Z.
    const T: i64 = 1_769_986_800_000;

    fn span(period: Option<&str>, at: Option<&str>) -> Result<Span, Problem> {
        Span::parse(period, at, None, None)
    }

    #[test]
    fn standard_periods_are_live_without_at() {
        assert_eq!(span(None, None).unwrap(), Span::Live(Period::All));
        assert_eq!(span(Some("week"), None).unwrap(), Span::Live(Period::Week));
        let at = span(Some("day"), Some("2026-02-01T23:00:00Z")).unwrap();
        assert_eq!(
            at,
            Span::PeriodAt {
                period: Period::Day,
                at: T
            }
        );
        assert_eq!(at.resolve(0), Some((T - 23 * HOUR_MS, T + HOUR_MS)));
        // `all` at T: everything up to and including T.
        let all = span(None, Some("2026-02-02T01:00:00+02:00")).unwrap();
        assert_eq!(all.resolve(0), Some((0, T + 1)));
        assert_eq!(all.label(), "all");
    }

    #[test]
    fn rolling_windows_end_at_the_watermark_or_at() {
        let w = span(Some("7d"), None).unwrap();
        assert_eq!(w.label(), "7d");
        assert_eq!(w.resolve(T), Some((T - 7 * DAY_MS + 1, T + 1)));
        let h = span(Some("6h"), Some("2026-02-01T23:00:00Z")).unwrap();
        assert_eq!(h.resolve(0), Some((T - 6 * HOUR_MS + 1, T + 1)));
        // 3 calendar months back from 2026-05-31 is 2026-02-28 (clamped).
        let end = DateTime::parse_from_rfc3339("2026-05-31T12:00:00Z")
            .unwrap()
            .timestamp_millis();
        let start = DateTime::parse_from_rfc3339("2026-02-28T12:00:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            span(Some("3m"), None).unwrap().resolve(end),
            Some((start + 1, end + 1))
        );
        assert_eq!(
            span(Some("2w"), None).unwrap().resolve(T),
            Some((T - 14 * DAY_MS + 1, T + 1))
        );
    }

    #[test]
    fn ranges() {
        let r = Span::parse(None, None, Some("2026-02-01T22:00:00Z"), None).unwrap();
        assert_eq!(r.label(), "custom");
        assert_eq!(r.resolve(T), Some((T - HOUR_MS, T + 1)));
        let r = Span::parse(
            None,
            None,
            Some("2026-02-01T22:00:00Z"),
            Some("2026-02-01T23:00:00Z"),
        )
        .unwrap();
        assert_eq!(r.resolve(0), Some((T - HOUR_MS, T)));
    }

    #[test]
    fn bad_input_is_a_400_with_a_code() {
        let code = |p: Option<&str>, at: Option<&str>, from: Option<&str>, to: Option<&str>| {
            Span::parse(p, at, from, to).unwrap_err().code
        };
        for bad in [
            "year", "0d", "07d", "d", "7", "7D", "7y", "-7d", "+7d", "1.5d", "3661d", "523w",
            "121m", "87841h", "9999999d",
        ] {
            assert_eq!(code(Some(bad), None, None, None), "invalid_period", "{bad}");
        }
        assert_eq!(code(None, Some("yesterday"), None, None), "invalid_at");
        assert_eq!(code(None, Some("2026-02-01"), None, None), "invalid_at");
        assert_eq!(code(None, None, Some("x"), None), "invalid_window");
        assert_eq!(
            code(None, None, None, Some("2026-02-01T00:00:00Z")),
            "invalid_window"
        );
        let (a, b) = (Some("2026-02-01T00:00:00Z"), Some("2026-01-01T00:00:00Z"));
        assert_eq!(code(None, None, a, b), "invalid_window");
        assert_eq!(code(None, None, a, a), "invalid_window");
        assert_eq!(code(Some("7d"), None, a, None), "invalid_window");
        assert_eq!(code(None, a, a, None), "invalid_window");
        let window_code = |from: &str, to: Option<&str>, watermark: i64| {
            Span::parse(None, None, Some(from), to)
                .unwrap()
                .window(watermark)
                .unwrap_err()
                .code
        };
        assert_eq!(window_code("2000-01-01T00:00:00Z", a, 0), "invalid_window");
        assert_eq!(
            window_code("2026-02-02T00:00:00Z", None, T),
            "invalid_window"
        );
        assert_eq!(
            window_code("1960-01-01T00:00:00Z", Some("1961-01-01T00:00:00Z"), T),
            "invalid_window"
        );
        assert_eq!(
            span(Some("7d"), None).unwrap().window(T).unwrap(),
            Some((T - 7 * DAY_MS + 1, T + 1))
        );
        assert_eq!(span(Some("day"), None).unwrap().window(T).unwrap(), None);
        assert!(Span::parse(Some("3660d"), None, None, None).is_ok());
        assert!(Span::parse(Some("87840h"), None, None, None).is_ok());
        assert!(Span::parse(Some("522w"), None, None, None).is_ok());
        assert!(Span::parse(Some("120m"), None, None, None).is_ok());
    }
}
