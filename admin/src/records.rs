//! What the admin plane keeps per guild besides settings and rules: warnings, the moderation
//! log, the audit log; and their paginated listing (newest first, by id cursor).

use guildflow_dataflow::automod::Evidence;
use guildflow_model::{ChannelId, GuildId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// A warning given to a member (by a moderator or an automod `warn` action).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Id, unique in this guildflow.
    pub id: u64,
    /// Guild.
    pub guild_id: GuildId,
    /// Member warned.
    pub user_id: UserId,
    /// Who gave it; None for automod.
    pub moderator_id: Option<UserId>,
    /// Why.
    pub reason: String,
    /// When, RFC 3339.
    pub created_at: String,
}

/// Who decided an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionSource {
    /// An automod rule or warning escalation.
    Automod,
    /// A moderator through the API.
    Manual,
}

/// Where an action stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Queued or being sent to Discord.
    Pending,
    /// Discord accepted it (or, for a warning, it is recorded).
    Done,
    /// Discord refused it or could not be reached after the retries (`error` says why).
    Failed,
}

/// One entry of the moderation log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationEntry {
    /// Id, unique in this guildflow, increasing.
    pub id: u64,
    /// Guild.
    pub guild_id: GuildId,
    /// When the action was decided (the message's time for automod), RFC 3339.
    pub at: String,
    /// Member acted upon.
    pub user_id: UserId,
    /// Channel of the message, if any.
    pub channel_id: Option<ChannelId>,
    /// The offending message, if any.
    pub message_id: Option<MessageId>,
    /// `delete_message`, `warn`, `timeout`, `kick` or `ban`.
    pub action: String,
    /// Timeout length.
    pub seconds: Option<u64>,
    /// Automod or a moderator.
    pub source: ActionSource,
    /// Rule that fired (automod rules only).
    pub rule_id: Option<u64>,
    /// Rule name, or `escalation`.
    pub rule_name: Option<String>,
    /// Why (automod).
    pub evidence: Option<Evidence>,
    /// Reason given by a moderator.
    pub reason: Option<String>,
    /// Moderator (manual actions).
    pub moderator_id: Option<UserId>,
    /// Where it stands.
    pub status: ActionStatus,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// REST attempts made.
    pub attempts: u32,
}

/// One entry of the audit log: who changed what, before and after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Id, unique in this guildflow, increasing.
    pub id: u64,
    /// Guild.
    pub guild_id: GuildId,
    /// When, RFC 3339.
    pub at: String,
    /// Who (None: guildflow itself, e.g. automod).
    pub actor_id: Option<UserId>,
    /// `settings.update`, `automod.rule.create`, `warning.create`, `action.timeout`, ...
    pub action: String,
    /// What was changed, e.g. `rule:3`, `user:123`.
    pub target: String,
    /// State before (null when created).
    pub before: serde_json::Value,
    /// State after (null when deleted).
    pub after: serde_json::Value,
}

/// A page request: at most `limit` entries with ids below `cursor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Entries returned at most (1 to [`MAX_PAGE`]).
    pub limit: usize,
    /// Only ids below this one (the previous page's `next_cursor`).
    pub cursor: Option<u64>,
}

/// Largest page.
pub const MAX_PAGE: usize = 500;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: usize = 50;

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            limit: DEFAULT_PAGE,
            cursor: None,
        }
    }
}

/// One page, newest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    /// Entries.
    pub entries: Vec<T>,
    /// Cursor of the next page, or None at the end.
    pub next_cursor: Option<String>,
}

/// Pages `items` (ascending by id) newest first, keeping those `keep` accepts.
pub(crate) fn page<T: Clone>(
    items: &[T],
    id: impl Fn(&T) -> u64,
    keep: impl Fn(&T) -> bool,
    request: PageRequest,
) -> Page<T> {
    let limit = request.limit.clamp(1, MAX_PAGE);
    let end = match request.cursor {
        Some(cursor) => items.partition_point(|t| id(t) < cursor),
        None => items.len(),
    };
    let mut entries = Vec::with_capacity(limit.min(end));
    let mut more = false;
    for item in items[..end].iter().rev() {
        if !keep(item) {
            continue;
        }
        if entries.len() == limit {
            more = true;
            break;
        }
        entries.push(item.clone());
    }
    let next_cursor = if more {
        entries.last().map(|t| id(t).to_string())
    } else {
        None
    };
    Page {
        entries,
        next_cursor,
    }
}

/// Milliseconds since the epoch as RFC 3339 (UTC, milliseconds).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Now, Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_newest_first_with_cursor_and_filter() {
        let items: Vec<u64> = (1..=10).collect();
        let first = page(
            &items,
            |x| *x,
            |x| x % 2 == 0,
            PageRequest {
                limit: 2,
                cursor: None,
            },
        );
        assert_eq!(first.entries, vec![10, 8]);
        let cursor = first.next_cursor.and_then(|c| c.parse().ok());
        let second = page(
            &items,
            |x| *x,
            |x| x % 2 == 0,
            PageRequest { limit: 2, cursor },
        );
        assert_eq!(second.entries, vec![6, 4]);
        let cursor = second.next_cursor.and_then(|c| c.parse().ok());
        let third = page(
            &items,
            |x| *x,
            |x| x % 2 == 0,
            PageRequest { limit: 2, cursor },
        );
        assert_eq!(third.entries, vec![2]);
        assert_eq!(third.next_cursor, None);
    }
}
