//! Which stored events are a member's: the rule of docs/STORAGE.md, "Erase".
//!
//! In guild G, an event is member U's when U is its actor or subject — a Parquet row whose
//! `user_id` is U (it holds the frame's `author`, `user_id` or `user` as decoded), a log
//! record whose frame names U in `d.author.id`, `d.user_id`, `d.member.user.id` or
//! `d.user.id` — or when it is an edit or a deletion of a message U wrote (such frames may
//! carry no author, yet an edit carries U's content). Frames of other people that mention U
//! (replies, mentions, GUILD_CREATE member lists) are theirs and stay.

use crate::row::EventRow;
use guildflow_model::{EventKind, RawFrame};
use serde_json::Value;
use std::collections::BTreeSet;

/// The member to erase and the ids of the messages they wrote (learnt in a first pass, since
/// an edit may be stored far from its message).
#[derive(Debug)]
pub(crate) struct MemberRule {
    guild: u64,
    user: u64,
    /// The guild id as it appears in frames: a cheap test before parsing one.
    guild_text: String,
    pub(crate) messages: BTreeSet<u64>,
}

/// What a frame says about its guild, kind, own id and subjects.
struct FrameFacts {
    kind: Option<String>,
    id: Option<u64>,
    subjects: [Option<u64>; 4],
}

impl MemberRule {
    pub(crate) fn new(guild: u64, user: u64) -> MemberRule {
        MemberRule {
            guild,
            user,
            guild_text: guild.to_string(),
            messages: BTreeSet::new(),
        }
    }

    /// First pass over a stored row: remembers the message if the member wrote it.
    pub(crate) fn learn_row(&mut self, row: &EventRow) {
        if self.is_member_row(row) && row.kind == EventKind::MessageCreate {
            self.messages.extend(row.message_id);
        }
    }

    /// First pass over a log record: remembers the message if the member wrote it.
    pub(crate) fn learn_frame(&mut self, frame: &RawFrame) {
        if let Some(facts) = self.facts(frame) {
            if facts.kind.as_deref() == Some("MESSAGE_CREATE") && self.names_member(&facts) {
                self.messages.extend(facts.id);
            }
        }
    }

    /// Whether a stored row is the member's.
    pub(crate) fn row_is_theirs(&self, row: &EventRow) -> bool {
        self.is_member_row(row)
            || (row.guild_id == Some(self.guild)
                && matches!(
                    row.kind,
                    EventKind::MessageUpdate | EventKind::MessageDelete
                )
                && row.message_id.is_some_and(|m| self.messages.contains(&m)))
    }

    /// Whether a row may turn out to be the member's once all their messages are known.
    pub(crate) fn may_be_theirs(&self, row: &EventRow) -> bool {
        row.guild_id == Some(self.guild)
            && (row.user_id == Some(self.user)
                || matches!(
                    row.kind,
                    EventKind::MessageUpdate | EventKind::MessageDelete
                ))
    }

    /// Whether a log record's frame is the member's.
    pub(crate) fn frame_is_theirs(&self, frame: &RawFrame) -> bool {
        let Some(facts) = self.facts(frame) else {
            return false;
        };
        self.names_member(&facts)
            || (matches!(
                facts.kind.as_deref(),
                Some("MESSAGE_UPDATE" | "MESSAGE_DELETE")
            ) && facts.id.is_some_and(|m| self.messages.contains(&m)))
    }

    fn is_member_row(&self, row: &EventRow) -> bool {
        row.guild_id == Some(self.guild) && row.user_id == Some(self.user)
    }

    fn names_member(&self, facts: &FrameFacts) -> bool {
        facts.subjects.contains(&Some(self.user))
    }

    /// The facts of a frame of the member's guild; None for any other frame (or one that is
    /// not JSON: it cannot be attributed, so it is kept).
    fn facts(&self, frame: &RawFrame) -> Option<FrameFacts> {
        if !frame.text.contains(&self.guild_text) {
            return None;
        }
        let envelope: Value = serde_json::from_str(&frame.text).ok()?;
        let d = envelope.get("d")?;
        if id(d.get("guild_id")) != Some(self.guild) {
            return None;
        }
        let path = |keys: &[&str]| {
            let mut v = Some(d);
            for key in keys {
                v = v.and_then(|v| v.get(key));
            }
            id(v)
        };
        Some(FrameFacts {
            kind: envelope.get("t").and_then(Value::as_str).map(str::to_owned),
            id: id(d.get("id")),
            subjects: [
                path(&["author", "id"]),
                path(&["user_id"]),
                path(&["member", "user", "id"]),
                path(&["user", "id"]),
            ],
        })
    }
}

/// A snowflake: a decimal string in Discord's JSON, accepted as a number too.
fn id(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> RawFrame {
        RawFrame {
            shard: 0,
            at: 0,
            text: text.to_owned(),
        }
    }

    #[test]
    fn frames_are_attributed_by_guild_and_subject() {
        let mut rule = MemberRule::new(10, 7);
        let own =
            frame(r#"{"t":"MESSAGE_CREATE","d":{"id":"55","guild_id":"10","author":{"id":"7"}}}"#);
        rule.learn_frame(&own);
        assert!(rule.messages.contains(&55));
        assert!(rule.frame_is_theirs(&own));
        for theirs in [
            r#"{"t":"MESSAGE_REACTION_ADD","d":{"guild_id":"10","user_id":"7"}}"#,
            r#"{"t":"VOICE_STATE_UPDATE","d":{"guild_id":10,"member":{"user":{"id":"7"}}}}"#,
            r#"{"t":"GUILD_MEMBER_ADD","d":{"guild_id":"10","user":{"id":"7"}}}"#,
            r#"{"t":"MESSAGE_UPDATE","d":{"id":"55","guild_id":"10","embeds":[]}}"#,
            r#"{"t":"MESSAGE_DELETE","d":{"id":"55","guild_id":"10"}}"#,
        ] {
            assert!(rule.frame_is_theirs(&frame(theirs)), "{theirs}");
        }
        for kept in [
            r#"{"t":"MESSAGE_CREATE","d":{"guild_id":"11","author":{"id":"7"}}}"#,
            r#"{"t":"MESSAGE_CREATE","d":{"guild_id":"10","author":{"id":"8"},"mentions":[{"id":"7"}]}}"#,
            r#"{"t":"MESSAGE_REACTION_ADD","d":{"guild_id":"10","user_id":"8","message_id":"55"}}"#,
            r#"{"t":"MESSAGE_DELETE","d":{"id":"56","guild_id":"10"}}"#,
            r#"{"t":"GUILD_CREATE","d":{"id":"10","members":[{"user":{"id":"7"}}]}}"#,
            r#"not json 10"#,
        ] {
            assert!(!rule.frame_is_theirs(&frame(kept)), "{kept}");
        }
    }
}
