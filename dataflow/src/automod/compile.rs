//! [`CompiledAutomod`]: a validated configuration with every regex and word set built, made
//! once per configuration change and shared (it is `Clone` and `Send + Sync`).

use super::action::ActionKind;
use super::config::{AutomodConfig, AutomodRule, Trigger};
use super::error::AutomodError;
use super::escalation::CompiledEscalation;
use super::limits::{MAX_BANNED_WORDS_TOTAL, MAX_REGEX_PATTERNS_TOTAL, MAX_RULES};
use super::triggers::CompiledTrigger;
use super::validate::check_rule;
use guildflow_model::{ChannelId, MessageCreate, RoleId};
use std::collections::HashSet;

/// A compiled guild configuration, input of [`AutomodState::on_message`](super::AutomodState::on_message).
#[derive(Clone, Debug)]
pub struct CompiledAutomod {
    /// Enabled rules, in configuration order.
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) escalation: CompiledEscalation,
    /// Longest stateful trigger window, milliseconds.
    pub(crate) trigger_horizon_ms: i64,
}

/// One enabled rule, compiled.
#[derive(Clone, Debug)]
pub(crate) struct CompiledRule {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) actions: Vec<ActionKind>,
    /// Sorted, for binary search.
    exempt_roles: Vec<RoleId>,
    /// Sorted, for binary search.
    exempt_channels: Vec<ChannelId>,
    pub(crate) trigger: CompiledTrigger,
}

impl CompiledRule {
    /// Compiles the trigger and indexes the exemptions (rule-level fields are checked by the
    /// caller).
    pub(crate) fn compile(rule: &AutomodRule) -> Result<CompiledRule, AutomodError> {
        let trigger = CompiledTrigger::compile(rule.id, &rule.trigger)?;
        let mut exempt_roles = rule.exempt_roles.clone();
        exempt_roles.sort_unstable();
        exempt_roles.dedup();
        let mut exempt_channels = rule.exempt_channels.clone();
        exempt_channels.sort_unstable();
        exempt_channels.dedup();
        Ok(CompiledRule {
            id: rule.id,
            name: rule.name.clone(),
            actions: rule.actions.clone(),
            exempt_roles,
            exempt_channels,
            trigger,
        })
    }

    /// Whether the message's channel or one of its author's roles is exempt.
    pub(crate) fn is_exempt(&self, msg: &MessageCreate) -> bool {
        self.exempt_channels.binary_search(&msg.channel).is_ok()
            || (!self.exempt_roles.is_empty()
                && msg
                    .author_roles
                    .iter()
                    .any(|r| self.exempt_roles.binary_search(r).is_ok()))
    }
}

/// Configuration-wide bounds, so that many rules cannot add up to a huge compiled size.
fn check_totals(config: &AutomodConfig) -> Result<(), AutomodError> {
    let (mut patterns, mut words) = (0usize, 0usize);
    for rule in &config.rules {
        match &rule.trigger {
            Trigger::Regex { patterns: p } => patterns += p.len(),
            Trigger::BannedWords { words: w } => words += w.len(),
            _ => {}
        }
    }
    if patterns > MAX_REGEX_PATTERNS_TOTAL {
        return Err(AutomodError::ConfigTooLarge {
            what: "regex patterns",
            count: patterns,
            max: MAX_REGEX_PATTERNS_TOTAL,
        });
    }
    if words > MAX_BANNED_WORDS_TOTAL {
        return Err(AutomodError::ConfigTooLarge {
            what: "banned words",
            count: words,
            max: MAX_BANNED_WORDS_TOTAL,
        });
    }
    Ok(())
}

impl CompiledAutomod {
    /// Validates and compiles `config` (see [`AutomodConfig::compile`]).
    pub(crate) fn new(config: &AutomodConfig) -> Result<CompiledAutomod, AutomodError> {
        if config.rules.len() > MAX_RULES {
            return Err(AutomodError::TooManyRules {
                count: config.rules.len(),
                max: MAX_RULES,
            });
        }
        check_totals(config)?;
        let mut ids = HashSet::with_capacity(config.rules.len());
        let mut rules = Vec::with_capacity(config.rules.len());
        for rule in &config.rules {
            if !ids.insert(rule.id) {
                return Err(AutomodError::DuplicateRuleId { id: rule.id });
            }
            check_rule(rule)?;
            // Disabled rules are compiled too, so that saving one never hides an error.
            let compiled = CompiledRule::compile(rule)?;
            if rule.enabled {
                rules.push(compiled);
            }
        }
        let escalation = CompiledEscalation::compile(&config.escalation)?;
        let trigger_horizon_ms = rules
            .iter()
            .map(|r| r.trigger.window_ms())
            .max()
            .unwrap_or(0);
        Ok(CompiledAutomod {
            rules,
            escalation,
            trigger_horizon_ms,
        })
    }

    /// Number of enabled rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Whether nothing can ever be emitted (no enabled rule and no escalation step).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.escalation.is_empty()
    }

    /// Longest window any state is kept for, in milliseconds (stateful triggers and
    /// escalation); [`AutomodState::prune`](super::AutomodState::prune) drops what is older.
    pub fn horizon_ms(&self) -> i64 {
        self.trigger_horizon_ms.max(self.escalation.window_ms())
    }
}
