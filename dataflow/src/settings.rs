//! Per-guild settings the dataflow applies: timezone of periods, XP rules, level curve.
//! They travel through the dataflow input like events, so a change applies in order, live.

use crate::timezone::Timezone;
use serde::{Deserialize, Serialize};

/// How XP maps to levels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelCurve {
    /// SPEC: level = floor(sqrt(xp / 100)).
    #[default]
    Sqrt,
    /// MEE6: going from level l to l+1 takes 5·l² + 50·l + 100 XP.
    Mee6,
}

impl LevelCurve {
    /// The level reached with `xp` points.
    pub fn level(self, xp: i64) -> u32 {
        let xp = xp.max(0);
        match self {
            LevelCurve::Sqrt => {
                // Largest l with 100·l² ≤ xp.
                let mut l = ((xp as f64 / 100.0).sqrt()) as i64;
                while 100 * (l + 1) * (l + 1) <= xp {
                    l += 1;
                }
                while l > 0 && 100 * l * l > xp {
                    l -= 1;
                }
                u32::try_from(l).unwrap_or(u32::MAX)
            }
            LevelCurve::Mee6 => {
                let mut level = 0i64;
                let mut need = 0i64;
                loop {
                    need += 5 * level * level + 50 * level + 100;
                    if need > xp {
                        return u32::try_from(level).unwrap_or(u32::MAX);
                    }
                    level += 1;
                }
            }
        }
    }

    /// Total XP needed to reach `level`.
    pub fn xp_for_level(self, level: u32) -> i64 {
        let l = i64::from(level);
        match self {
            LevelCurve::Sqrt => 100 * l * l,
            LevelCurve::Mee6 => (0..l).map(|k| 5 * k * k + 50 * k + 100).sum(),
        }
    }
}

/// Settings of one guild.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuildSettings {
    /// Timezone of periods and buckets.
    #[serde(with = "timezone_string")]
    pub timezone: Timezone,
    /// Level curve.
    pub level_curve: LevelCurve,
    /// Minimum event time between two XP awards of a member, ms (SPEC: 60 s).
    pub xp_cooldown_ms: i64,
    /// XP multiplier in percent (100 = SPEC's 15 + id mod 11).
    pub xp_rate_percent: u32,
    /// Statistics module: off, nothing is counted (automod still runs).
    #[serde(default = "default_true")]
    pub stats_enabled: bool,
    /// Levels module: off, no XP is awarded.
    #[serde(default = "default_true")]
    pub levels_enabled: bool,
    /// Channels whose activity is not counted (messages, reactions, voice), sorted.
    #[serde(default)]
    pub excluded_channels: Vec<u64>,
    /// Members holding any of these roles are not counted (messages), sorted.
    #[serde(default)]
    pub excluded_roles: Vec<u64>,
    /// Members who opted out of statistics: nothing of theirs is counted, sorted.
    #[serde(default)]
    pub opted_out: Vec<u64>,
}

fn default_true() -> bool {
    true
}

impl GuildSettings {
    /// Sorts and de-duplicates the id lists, which are searched by bisection.
    pub fn normalized(mut self) -> Self {
        for list in [
            &mut self.excluded_channels,
            &mut self.excluded_roles,
            &mut self.opted_out,
        ] {
            list.sort_unstable();
            list.dedup();
        }
        self
    }

    /// Whether activity of `user` in `channel` counts (module on, neither excluded nor opted
    /// out). Role exclusions are checked by the caller, which knows the member's roles.
    pub fn counts(&self, user: u64, channel: Option<u64>) -> bool {
        self.stats_enabled
            && self.opted_out.binary_search(&user).is_err()
            && channel.is_none_or(|c| self.excluded_channels.binary_search(&c).is_err())
    }

    /// Whether any of `roles` is excluded from statistics.
    pub fn excludes_roles(&self, roles: impl IntoIterator<Item = u64>) -> bool {
        !self.excluded_roles.is_empty()
            && roles
                .into_iter()
                .any(|r| self.excluded_roles.binary_search(&r).is_ok())
    }
}

impl Default for GuildSettings {
    fn default() -> Self {
        GuildSettings {
            timezone: Timezone::Utc,
            level_curve: LevelCurve::Sqrt,
            xp_cooldown_ms: 60_000,
            xp_rate_percent: 100,
            stats_enabled: true,
            levels_enabled: true,
            excluded_channels: Vec::new(),
            excluded_roles: Vec::new(),
            opted_out: Vec::new(),
        }
    }
}

mod timezone_string {
    use crate::timezone::Timezone;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tz: &Timezone, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(tz)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timezone, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqrt_curve_matches_spec() {
        for xp in 0..200_000 {
            let expected = ((xp as f64) / 100.0).sqrt().floor() as u32;
            assert_eq!(LevelCurve::Sqrt.level(xp), expected, "xp {xp}");
        }
    }

    #[test]
    fn mee6_curve_matches_its_table() {
        // MEE6: level 1 at 100 XP, 2 at 255, 3 at 475, 4 at 770.
        assert_eq!(LevelCurve::Mee6.level(99), 0);
        assert_eq!(LevelCurve::Mee6.level(100), 1);
        assert_eq!(LevelCurve::Mee6.level(254), 1);
        assert_eq!(LevelCurve::Mee6.level(255), 2);
        assert_eq!(LevelCurve::Mee6.level(475), 3);
        assert_eq!(LevelCurve::Mee6.level(770), 4);
        assert_eq!(LevelCurve::Mee6.xp_for_level(4), 770);
    }
}
