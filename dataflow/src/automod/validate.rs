//! Rule-level validation (name, actions, exemptions); trigger-specific checks live with each
//! trigger's compilation, escalation checks in [`escalation`](super::escalation).

use super::action::ActionKind;
use super::config::AutomodRule;
use super::error::AutomodError;
use super::limits::{MAX_EXEMPTIONS, MAX_RULE_NAME_CHARS, MAX_TIMEOUT_SECONDS};

/// Why an action is invalid wherever it appears, if it is.
pub(crate) fn action_problem(action: &ActionKind) -> Option<String> {
    match action {
        ActionKind::Timeout { seconds } if *seconds == 0 || *seconds > MAX_TIMEOUT_SECONDS => {
            Some(format!(
                "timeout of {seconds} s, it must be between 1 s and {MAX_TIMEOUT_SECONDS} s (28 days)"
            ))
        }
        _ => None,
    }
}

/// Checks everything about a rule except its trigger.
pub(crate) fn check_rule(rule: &AutomodRule) -> Result<(), AutomodError> {
    let invalid = |reason: String| AutomodError::InvalidRule {
        rule: rule.id,
        reason,
    };
    let name_chars = rule.name.trim().chars().count();
    if name_chars == 0 {
        return Err(invalid("the name is empty".to_owned()));
    }
    if rule.name.chars().count() > MAX_RULE_NAME_CHARS {
        return Err(invalid(format!(
            "the name is longer than {MAX_RULE_NAME_CHARS} characters"
        )));
    }
    if rule.actions.is_empty() {
        return Err(invalid("the rule has no actions".to_owned()));
    }
    for (i, action) in rule.actions.iter().enumerate() {
        if let Some(problem) = action_problem(action) {
            return Err(invalid(format!("action {i}: {problem}")));
        }
        if rule.actions[..i].iter().any(|a| a.name() == action.name()) {
            return Err(invalid(format!(
                "action {} appears more than once",
                action.name()
            )));
        }
    }
    if rule.exempt_roles.len() > MAX_EXEMPTIONS || rule.exempt_channels.len() > MAX_EXEMPTIONS {
        return Err(invalid(format!(
            "at most {MAX_EXEMPTIONS} exempt roles and {MAX_EXEMPTIONS} exempt channels"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automod::config::Trigger;

    fn rule(actions: Vec<ActionKind>) -> AutomodRule {
        AutomodRule {
            id: 5,
            name: "r".into(),
            enabled: true,
            trigger: Trigger::MentionSpam { max_mentions: 3 },
            actions,
            exempt_roles: vec![],
            exempt_channels: vec![],
        }
    }

    #[test]
    fn actions_are_checked() {
        assert!(check_rule(&rule(vec![ActionKind::Delete, ActionKind::Warn])).is_ok());
        assert!(check_rule(&rule(vec![])).is_err());
        assert!(check_rule(&rule(vec![ActionKind::Warn, ActionKind::Warn])).is_err());
        assert!(check_rule(&rule(vec![
            ActionKind::Timeout { seconds: 1 },
            ActionKind::Timeout { seconds: 2 }
        ]))
        .is_err());
        assert!(check_rule(&rule(vec![ActionKind::Timeout { seconds: 0 }])).is_err());
        let err = check_rule(&rule(vec![ActionKind::Timeout {
            seconds: MAX_TIMEOUT_SECONDS + 1,
        }]))
        .unwrap_err();
        assert!(
            err.to_string().starts_with("rule 5: action 0: timeout of"),
            "{err}"
        );
    }

    #[test]
    fn names_are_checked() {
        let mut r = rule(vec![ActionKind::Delete]);
        r.name = "  ".into();
        assert!(check_rule(&r).is_err());
        r.name = "x".repeat(101);
        assert!(check_rule(&r).is_err());
    }
}
