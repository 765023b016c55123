//! A guild's settings as admins edit them ([`GuildConfig`]), their partial update
//! ([`SettingsPatch`]) and validation, and what the dataflow applies of them.

use crate::error::AdminError;
use guildflow_dataflow::settings::{GuildSettings, LevelCurve};
use guildflow_dataflow::timezone::Timezone;
use guildflow_model::{ChannelId, RoleId};
use serde::{Deserialize, Serialize};

/// Most channels or roles one exclusion list may hold.
pub const MAX_EXCLUSIONS: usize = 500;
/// Most level role rewards.
pub const MAX_LEVEL_REWARDS: usize = 100;
/// Languages the dashboard and bot messages exist in.
pub const LANGUAGES: [&str; 6] = ["en", "fr", "de", "es", "pt-BR", "ja"];

/// Modules a guild can turn off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modules {
    /// Statistics and leaderboards.
    pub stats: bool,
    /// XP and levels.
    pub levels: bool,
    /// Automod rules and escalation.
    pub automod: bool,
}

/// What statistics ignore.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusions {
    /// Channels whose activity is not counted.
    pub channels: Vec<ChannelId>,
    /// Members with any of these roles are not counted.
    pub roles: Vec<RoleId>,
}

/// XP rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XpSettings {
    /// Multiplier in percent of SPEC's 15-25 XP per message (0 to 1000).
    pub rate_percent: u32,
    /// Seconds between two XP awards of a member (0 to 3600; SPEC: 60).
    pub cooldown_seconds: u32,
    /// Level curve.
    pub curve: LevelCurve,
}

/// A role given at a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelReward {
    /// Level (1 to 1000).
    pub level: u32,
    /// Role given.
    pub role_id: RoleId,
}

/// Everything an admin sets for a guild.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuildConfig {
    /// Modules on or off.
    pub modules: Modules,
    /// IANA name, `UTC`, or a fixed offset like `+02:00`; periods and buckets follow it.
    pub timezone: String,
    /// Language of the dashboard and of bot messages.
    pub language: String,
    /// What statistics ignore.
    pub stats_exclusions: Exclusions,
    /// XP rules.
    pub xp: XpSettings,
    /// Roles given at levels, by level.
    pub level_rewards: Vec<LevelReward>,
    /// Whether the leaderboard may be shown to non-admins (private by default).
    pub leaderboard_public: bool,
}

impl Default for GuildConfig {
    fn default() -> Self {
        GuildConfig {
            modules: Modules {
                stats: true,
                levels: true,
                automod: true,
            },
            timezone: "UTC".to_owned(),
            language: "en".to_owned(),
            stats_exclusions: Exclusions::default(),
            xp: XpSettings {
                rate_percent: 100,
                cooldown_seconds: 60,
                curve: LevelCurve::Sqrt,
            },
            level_rewards: Vec::new(),
            leaderboard_public: false,
        }
    }
}

/// `PATCH /settings`: every field optional; `modules` and `xp` merge field by field, the
/// others replace.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// Modules to switch.
    pub modules: Option<ModulesPatch>,
    /// New timezone.
    pub timezone: Option<String>,
    /// New language.
    pub language: Option<String>,
    /// New exclusions (replaced whole).
    pub stats_exclusions: Option<Exclusions>,
    /// XP fields to change.
    pub xp: Option<XpPatch>,
    /// New rewards (replaced whole).
    pub level_rewards: Option<Vec<LevelReward>>,
    /// New visibility.
    pub leaderboard_public: Option<bool>,
}

/// Part of [`Modules`].
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModulesPatch {
    /// Statistics.
    pub stats: Option<bool>,
    /// Levels.
    pub levels: Option<bool>,
    /// Automod.
    pub automod: Option<bool>,
}

/// Part of [`XpSettings`].
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XpPatch {
    /// Rate.
    pub rate_percent: Option<u32>,
    /// Cooldown.
    pub cooldown_seconds: Option<u32>,
    /// Curve.
    pub curve: Option<LevelCurve>,
}

fn invalid(message: impl Into<String>) -> AdminError {
    AdminError::Invalid {
        code: "invalid_settings",
        message: message.into(),
    }
}

impl GuildConfig {
    /// This configuration with `patch` applied, validated.
    pub fn patched(&self, patch: SettingsPatch) -> Result<GuildConfig, AdminError> {
        let mut next = self.clone();
        if let Some(m) = patch.modules {
            next.modules.stats = m.stats.unwrap_or(next.modules.stats);
            next.modules.levels = m.levels.unwrap_or(next.modules.levels);
            next.modules.automod = m.automod.unwrap_or(next.modules.automod);
        }
        if let Some(tz) = patch.timezone {
            next.timezone = tz;
        }
        if let Some(language) = patch.language {
            next.language = language;
        }
        if let Some(exclusions) = patch.stats_exclusions {
            next.stats_exclusions = exclusions;
        }
        if let Some(xp) = patch.xp {
            next.xp.rate_percent = xp.rate_percent.unwrap_or(next.xp.rate_percent);
            next.xp.cooldown_seconds = xp.cooldown_seconds.unwrap_or(next.xp.cooldown_seconds);
            next.xp.curve = xp.curve.unwrap_or(next.xp.curve);
        }
        if let Some(rewards) = patch.level_rewards {
            next.level_rewards = rewards;
        }
        if let Some(public) = patch.leaderboard_public {
            next.leaderboard_public = public;
        }
        next.validate()?;
        next.stats_exclusions.channels.sort_unstable();
        next.stats_exclusions.channels.dedup();
        next.stats_exclusions.roles.sort_unstable();
        next.stats_exclusions.roles.dedup();
        next.level_rewards.sort_by_key(|r| r.level);
        Ok(next)
    }

    /// Checks every bound.
    pub fn validate(&self) -> Result<(), AdminError> {
        self.timezone
            .parse::<Timezone>()
            .map_err(|e| invalid(format!("timezone {:?}: {e}", self.timezone)))?;
        if !LANGUAGES.contains(&self.language.as_str()) {
            return Err(invalid(format!(
                "language {:?} is not one of {}",
                self.language,
                LANGUAGES.join(", ")
            )));
        }
        for (name, len) in [
            (
                "stats_exclusions.channels",
                self.stats_exclusions.channels.len(),
            ),
            ("stats_exclusions.roles", self.stats_exclusions.roles.len()),
        ] {
            if len > MAX_EXCLUSIONS {
                return Err(invalid(format!(
                    "{name} has {len} entries, at most {MAX_EXCLUSIONS} are allowed"
                )));
            }
        }
        if self.xp.rate_percent > 1000 {
            return Err(invalid("xp.rate_percent must be between 0 and 1000"));
        }
        if self.xp.cooldown_seconds > 3600 {
            return Err(invalid("xp.cooldown_seconds must be between 0 and 3600"));
        }
        if self.level_rewards.len() > MAX_LEVEL_REWARDS {
            return Err(invalid(format!(
                "at most {MAX_LEVEL_REWARDS} level rewards are allowed"
            )));
        }
        let mut levels: Vec<u32> = self.level_rewards.iter().map(|r| r.level).collect();
        if levels.iter().any(|l| !(1..=1000).contains(l)) {
            return Err(invalid("reward levels must be between 1 and 1000"));
        }
        levels.sort_unstable();
        if levels.windows(2).any(|w| w[0] == w[1]) {
            return Err(invalid("two rewards for the same level"));
        }
        Ok(())
    }

    /// What the dataflow applies: periods, XP, modules, exclusions and `opted_out`.
    pub fn to_dataflow(&self, opted_out: Vec<u64>) -> GuildSettings {
        GuildSettings {
            // Validated on every write; UTC should a stored name ever stop parsing.
            timezone: self.timezone.parse().unwrap_or(Timezone::Utc),
            level_curve: self.xp.curve,
            xp_cooldown_ms: i64::from(self.xp.cooldown_seconds) * 1000,
            xp_rate_percent: self.xp.rate_percent,
            stats_enabled: self.modules.stats,
            levels_enabled: self.modules.levels,
            excluded_channels: self
                .stats_exclusions
                .channels
                .iter()
                .map(|c| c.get())
                .collect(),
            excluded_roles: self
                .stats_exclusions
                .roles
                .iter()
                .map(|r| r.get())
                .collect(),
            opted_out,
        }
        .normalized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(json: &str) -> SettingsPatch {
        serde_json::from_str(json).expect("valid patch json")
    }

    #[test]
    fn defaults_match_the_dataflow_defaults() {
        assert_eq!(
            GuildConfig::default().to_dataflow(Vec::new()),
            GuildSettings::default()
        );
    }

    #[test]
    fn patch_merges_modules_and_xp() {
        let next = GuildConfig::default()
            .patched(patch(
                r#"{"modules":{"levels":false},"xp":{"curve":"mee6"},"timezone":"Europe/Paris"}"#,
            ))
            .expect("valid");
        assert!(next.modules.stats && !next.modules.levels && next.modules.automod);
        assert_eq!(next.xp.curve, LevelCurve::Mee6);
        assert_eq!(next.xp.cooldown_seconds, 60);
        let df = next.to_dataflow(vec![3, 1, 3]);
        assert_eq!(df.opted_out, vec![1, 3]);
        assert!(!df.levels_enabled);
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            r#"{"timezone":"Mars/Olympus"}"#,
            r#"{"language":"xx"}"#,
            r#"{"xp":{"rate_percent":5000}}"#,
            r#"{"xp":{"cooldown_seconds":99999}}"#,
            r#"{"level_rewards":[{"level":0,"role_id":"1"}]}"#,
            r#"{"level_rewards":[{"level":5,"role_id":"1"},{"level":5,"role_id":"2"}]}"#,
        ] {
            let err = GuildConfig::default().patched(patch(bad)).unwrap_err();
            assert!(matches!(err, AdminError::Invalid { .. }), "{bad}: {err}");
        }
        assert!(serde_json::from_str::<SettingsPatch>(r#"{"colour":"red"}"#).is_err());
    }
}
