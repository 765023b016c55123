//! Ready-made rules for common needs. Each has id 0 (the caller assigns one) and no
//! exemptions.

use super::action::ActionKind;
use super::config::{AutomodRule, LinkMode, Trigger};

/// Names accepted by [`AutomodConfig::preset`](super::AutomodConfig::preset).
pub const PRESET_NAMES: [&str; 4] = ["anti-spam", "anti-caps", "anti-links", "anti-mention-spam"];

/// The preset rule called `name`, if any.
pub(crate) fn preset(name: &str) -> Option<AutomodRule> {
    let (display, trigger, actions) = match name {
        "anti-spam" => (
            "Anti-spam",
            Trigger::MessageRate {
                max_messages: 5,
                per_seconds: 5,
            },
            vec![ActionKind::Delete, ActionKind::Warn],
        ),
        "anti-caps" => (
            "Anti-caps",
            Trigger::Caps {
                min_letters: 10,
                max_ratio_percent: 70,
            },
            vec![ActionKind::Delete],
        ),
        "anti-links" => (
            "Anti-links",
            Trigger::Links {
                mode: LinkMode::BlockAll,
            },
            vec![ActionKind::Delete],
        ),
        "anti-mention-spam" => (
            "Anti-mention-spam",
            Trigger::MentionSpam { max_mentions: 5 },
            vec![
                ActionKind::Delete,
                ActionKind::Warn,
                ActionKind::Timeout { seconds: 600 },
            ],
        ),
        _ => return None,
    };
    Some(AutomodRule {
        id: 0,
        name: display.to_owned(),
        enabled: true,
        trigger,
        actions,
        exempt_roles: Vec::new(),
        exempt_channels: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automod::AutomodConfig;

    #[test]
    fn every_preset_is_valid() {
        for (i, name) in PRESET_NAMES.iter().enumerate() {
            let mut rule = preset(name).unwrap();
            rule.id = i as u64;
            let config = AutomodConfig {
                rules: vec![rule],
                escalation: vec![],
            };
            config.validate().unwrap();
        }
        assert!(preset("anti-everything").is_none());
    }
}
