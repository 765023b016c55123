//! The stored configuration of a guild's automod: rules (a trigger, actions, exemptions) and
//! escalation steps. Plain serde types, JSON field names in snake_case, enums tagged by `"type"`;
//! unknown fields are rejected so a typo in the API is an error rather than a silent default.

use super::action::ActionKind;
use super::compile::CompiledAutomod;
use super::error::AutomodError;
use guildflow_model::{ChannelId, RoleId};
use serde::{Deserialize, Serialize};

/// A guild's automod configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomodConfig {
    /// Rules, evaluated in this order on every counted message.
    pub rules: Vec<AutomodRule>,
    /// Warning-count thresholds that trigger further actions.
    #[serde(default)]
    pub escalation: Vec<EscalationStep>,
}

/// One rule: when `trigger` fires on a message, `actions` are emitted in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomodRule {
    /// Unique id within the guild (assigned by the API).
    pub id: u64,
    /// Human name, shown in action logs (1 to 100 characters).
    pub name: String,
    /// Disabled rules are validated but never evaluated.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// What the rule looks for.
    pub trigger: Trigger,
    /// What happens when it fires (at least one, each kind at most once).
    pub actions: Vec<ActionKind>,
    /// Members with any of these roles are not checked by this rule.
    #[serde(default)]
    pub exempt_roles: Vec<RoleId>,
    /// Messages in these channels (or threads) are not checked by this rule.
    #[serde(default)]
    pub exempt_channels: Vec<ChannelId>,
}

fn default_true() -> bool {
    true
}

fn default_min_letters() -> u32 {
    6
}

/// What a rule detects. Windows are in event time and end at (and include) the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// More than `max_messages` counted messages by the member within `per_seconds`.
    MessageRate {
        /// Messages allowed in the window (1 to 1000).
        max_messages: u32,
        /// Window length (1 to 3600 s).
        per_seconds: u32,
    },
    /// The same normalized content (trimmed, lowercased, whitespace collapsed) posted more
    /// than `max_repeats` times by the member within `per_seconds`.
    DuplicateContent {
        /// Repeats allowed in the window (1 to 50).
        max_repeats: u32,
        /// Window length (1 to 3600 s).
        per_seconds: u32,
    },
    /// A message with at least `min_letters` cased letters, more than `max_ratio_percent` of
    /// them uppercase.
    Caps {
        /// Shorter messages are ignored (default 6).
        #[serde(default = "default_min_letters")]
        min_letters: u32,
        /// Allowed uppercase share, 0 to 100.
        max_ratio_percent: u32,
    },
    /// Links (`http(s)://` URLs and bare domains such as `example.com/path`).
    Links {
        /// Which links are refused.
        mode: LinkMode,
    },
    /// Discord invites: `discord.gg/X`, `discord.com/invite/X`, `discordapp.com/invite/X`.
    Invites {
        /// Codes that may be posted (case-insensitive); a full invite URL is accepted too.
        #[serde(default)]
        allowed_codes: Vec<String>,
    },
    /// Whole words, case-insensitive; `*` at the start and/or end of an entry is a wildcard
    /// (`bad*`, `*bad`, `*bad*`); an entry of several words matches them in sequence.
    BannedWords {
        /// The entries (1 to 1000, up to 100 characters each).
        words: Vec<String>,
    },
    /// Regular expressions (Rust `regex` syntax, linear-time), matched on the raw content.
    Regex {
        /// 1 to 10 patterns of up to 1000 characters.
        patterns: Vec<String>,
    },
    /// Unique user mentions + unique role mentions (+1 for `@everyone`/`@here`) above the limit.
    MentionSpam {
        /// Mentions allowed in one message.
        max_mentions: u32,
    },
}

impl Trigger {
    /// Stable snake_case name, as in the JSON `type` and in [`Evidence::trigger`](super::Evidence::trigger).
    pub const fn name(&self) -> &'static str {
        match self {
            Trigger::MessageRate { .. } => "message_rate",
            Trigger::DuplicateContent { .. } => "duplicate_content",
            Trigger::Caps { .. } => "caps",
            Trigger::Links { .. } => "links",
            Trigger::Invites { .. } => "invites",
            Trigger::BannedWords { .. } => "banned_words",
            Trigger::Regex { .. } => "regex",
            Trigger::MentionSpam { .. } => "mention_spam",
        }
    }

    /// Whether the trigger depends on the member's earlier messages (rate, duplicates).
    pub const fn is_stateful(&self) -> bool {
        matches!(
            self,
            Trigger::MessageRate { .. } | Trigger::DuplicateContent { .. }
        )
    }
}

/// Which links a [`Trigger::Links`] rule refuses. Domains match themselves and their
/// subdomains, case-insensitively; a leading `*.` is accepted and ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LinkMode {
    /// Every link.
    BlockAll,
    /// Every link whose host is not one of (or under one of) `domains`.
    AllowList {
        /// Allowed domains.
        domains: Vec<String>,
    },
    /// Links whose host is one of (or under one of) `domains`.
    DenyList {
        /// Refused domains (at least one).
        domains: Vec<String>,
    },
}

/// "`warnings` warnings within `within_seconds` -> `action`". After each new warning, the
/// matching step with the most warnings wins (ties: the most severe action).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    /// Warnings needed (1 to 100), counting the new one.
    pub warnings: u32,
    /// Window, ending at the new warning (1 s to 30 days).
    pub within_seconds: u64,
    /// `timeout`, `kick` or `ban`.
    pub action: ActionKind,
}

impl AutomodConfig {
    /// Compiles the configuration (validating it first): regexes and word sets are built
    /// once here, so evaluation per message only runs them.
    pub fn compile(&self) -> Result<CompiledAutomod, AutomodError> {
        CompiledAutomod::new(self)
    }

    /// Checks every bound and compiles every pattern, without keeping the result.
    pub fn validate(&self) -> Result<(), AutomodError> {
        self.compile().map(|_| ())
    }

    /// A ready-made rule: `anti-spam`, `anti-caps`, `anti-links` or `anti-mention-spam`.
    /// Its id is 0: the caller assigns a unique one before saving.
    pub fn preset(name: &str) -> Option<AutomodRule> {
        super::presets::preset(name)
    }
}
