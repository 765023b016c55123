//! What the engine emits: an [`AutomodAction`] per action of a fired rule (or escalation step),
//! each carrying the [`Evidence`] a moderator sees in the log.

use super::limits::EVIDENCE_CHARS;
use super::text::truncate_chars;
use guildflow_model::{ChannelId, GuildId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// One moderation action. Executing it (Discord REST calls) is the caller's business.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionKind {
    /// Delete the offending message.
    Delete,
    /// Warn the member; counts towards escalation.
    Warn,
    /// Time the member out.
    Timeout {
        /// Duration, 1 s to 28 days.
        seconds: u64,
    },
    /// Kick the member.
    Kick,
    /// Ban the member.
    Ban,
}

impl ActionKind {
    /// Stable snake_case name, as in the JSON `type`.
    pub const fn name(&self) -> &'static str {
        match self {
            ActionKind::Delete => "delete",
            ActionKind::Warn => "warn",
            ActionKind::Timeout { .. } => "timeout",
            ActionKind::Kick => "kick",
            ActionKind::Ban => "ban",
        }
    }

    /// Severity order: delete < warn < timeout (longer is more severe) < kick < ban.
    pub const fn severity(&self) -> (u8, u64) {
        match self {
            ActionKind::Delete => (0, 0),
            ActionKind::Warn => (1, 0),
            ActionKind::Timeout { seconds } => (2, *seconds),
            ActionKind::Kick => (3, 0),
            ActionKind::Ban => (4, 0),
        }
    }
}

/// An action the engine decided on, with its context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomodAction {
    /// Guild.
    pub guild: GuildId,
    /// The member acted upon.
    pub user: UserId,
    /// Channel of the message (or where a manual warning was given).
    pub channel: ChannelId,
    /// The offending message; None for escalations caused by a manual warning.
    pub message: Option<MessageId>,
    /// Event time of the message or warning, Unix milliseconds.
    pub at: i64,
    /// The rule that fired; None for an escalation step.
    pub rule_id: Option<u64>,
    /// The rule name, or `"escalation"`.
    pub rule_name: String,
    /// What to do.
    pub action: ActionKind,
    /// Why.
    pub evidence: Evidence,
}

/// Why a rule fired, for the moderation log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Trigger name, e.g. `"message_rate"`, or `"escalation"`.
    pub trigger: String,
    /// Human explanation, e.g. `"6 messages in 5 s (limit 5)"`.
    pub detail: String,
    /// The matched word, link, invite or regex span (at most 200 characters), if any.
    pub matched: Option<String>,
    /// The first 200 characters of the message ("" for manual warnings).
    pub content_excerpt: String,
}

impl Evidence {
    /// Builds evidence, truncating `matched` and the excerpt to 200 characters.
    pub(crate) fn new(
        trigger: &str,
        detail: String,
        matched: Option<&str>,
        content: &str,
    ) -> Evidence {
        Evidence {
            trigger: trigger.to_owned(),
            detail,
            matched: matched.map(|m| truncate_chars(m, EVIDENCE_CHARS).to_owned()),
            content_excerpt: truncate_chars(content, EVIDENCE_CHARS).to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_serialize_tagged_snake_case() {
        let json = serde_json::to_string(&ActionKind::Timeout { seconds: 60 }).unwrap();
        assert_eq!(json, r#"{"type":"timeout","seconds":60}"#);
        let back: ActionKind = serde_json::from_str(r#"{"type":"ban"}"#).unwrap();
        assert_eq!(back, ActionKind::Ban);
        assert!(serde_json::from_str::<ActionKind>(r#"{"type":"mute"}"#).is_err());
    }

    #[test]
    fn severity_orders_actions() {
        assert!(ActionKind::Warn.severity() < ActionKind::Timeout { seconds: 1 }.severity());
        assert!(
            ActionKind::Timeout { seconds: 60 }.severity()
                < ActionKind::Timeout { seconds: 600 }.severity()
        );
        assert!(ActionKind::Kick.severity() < ActionKind::Ban.severity());
    }

    #[test]
    fn evidence_truncates_to_200_chars() {
        let long = "é".repeat(500);
        let ev = Evidence::new("caps", String::new(), Some(&long), &long);
        assert_eq!(ev.content_excerpt.chars().count(), 200);
        assert_eq!(ev.matched.unwrap().chars().count(), 200);
    }
}
