//! `mention_spam`: too many distinct mentions in one message.

use crate::automod::action::Evidence;
use guildflow_model::MessageCreate;

/// Compiled `mention_spam` trigger.
#[derive(Clone, Debug)]
pub(crate) struct MentionTrigger {
    max_mentions: u32,
}

impl MentionTrigger {
    /// Any limit is valid (0 refuses every mention).
    pub(crate) fn compile(max_mentions: u32) -> MentionTrigger {
        MentionTrigger { max_mentions }
    }

    /// Fires when unique users + unique roles (+1 for `@everyone`/`@here`) exceed the limit.
    pub(crate) fn check(&self, msg: &MessageCreate) -> Option<Evidence> {
        let everyone = u32::from(msg.mention_everyone);
        let total = msg
            .mention_users
            .saturating_add(msg.mention_roles)
            .saturating_add(everyone);
        if total <= self.max_mentions {
            return None;
        }
        let mut detail = format!(
            "{total} mentions ({} users, {} roles",
            msg.mention_users, msg.mention_roles
        );
        if msg.mention_everyone {
            detail.push_str(", @everyone");
        }
        detail.push_str(&format!(") (limit {})", self.max_mentions));
        Some(Evidence::new("mention_spam", detail, None, &msg.content))
    }
}
