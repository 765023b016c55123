//! Erasing a member from the PostgreSQL database (`migrations/`), in one transaction.

use crate::postgres::{connect, Result};

/// Rows [`erase_member_postgres`] deleted, per table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PostgresErasure {
    /// `events`: the member's raw events (same rule as the data directory).
    pub events: u64,
    /// `member_stats`: their aggregates, every period.
    pub member_stats: u64,
    /// `warnings` given to them.
    pub warnings: u64,
    /// `moderation_logs` whose target they are (evidence holds their messages).
    pub moderation_logs: u64,
}

impl PostgresErasure {
    /// Rows deleted in all tables.
    pub fn total(&self) -> u64 {
        self.events + self.member_stats + self.warnings + self.moderation_logs
    }
}

/// The member's rows of `events`: theirs (`user_id`), and edits and deletions of messages they
/// wrote. The subquery sees the table as the statement started, before its own deletions.
const DELETE_EVENTS: &str = "DELETE FROM events
    WHERE guild_id = $1
      AND (user_id = $2
           OR (kind IN ('message_update', 'message_delete')
               AND message_id IN (SELECT message_id FROM events
                                  WHERE guild_id = $1 AND user_id = $2
                                    AND kind = 'message_create' AND message_id IS NOT NULL)))";
const DELETE_MEMBER_STATS: &str = "DELETE FROM member_stats WHERE guild_id = $1 AND user_id = $2";
const DELETE_WARNINGS: &str = "DELETE FROM warnings WHERE guild_id = $1 AND user_id = $2";
const DELETE_MODERATION_LOGS: &str =
    "DELETE FROM moderation_logs WHERE guild_id = $1 AND target_user_id = $2";

/// Deletes member `user` of guild `guild` from the database at `url` in one transaction:
/// their `events` rows (the rule of [`erase_member`](super::erase_member)), `member_stats`,
/// `warnings` and the `moderation_logs` targeting them. Kept: `stats_opt_outs` (so the
/// opt-out outlives the erasure), `audit_logs` (append-only record of admins' actions),
/// `guild_grants`, `api_tokens` and `sessions` (dashboard accounts, not guild members' data).
///
/// Run it while no sink writes this guild, after [`erase_member`](super::erase_member) on
/// the data directory: a sink catching up from a log that still holds the member's frames
/// would insert them again.
pub async fn erase_member_postgres(url: &str, guild: u64, user: u64) -> Result<PostgresErasure> {
    // The sink rejects ids above i64::MAX, so no row can hold them.
    let (Ok(guild), Ok(user)) = (i64::try_from(guild), i64::try_from(user)) else {
        return Ok(PostgresErasure::default());
    };
    let (mut client, driver) = connect(url).await?;
    let tx = client.transaction().await?;
    let erasure = PostgresErasure {
        events: tx.execute(DELETE_EVENTS, &[&guild, &user]).await?,
        member_stats: tx.execute(DELETE_MEMBER_STATS, &[&guild, &user]).await?,
        warnings: tx.execute(DELETE_WARNINGS, &[&guild, &user]).await?,
        moderation_logs: tx.execute(DELETE_MODERATION_LOGS, &[&guild, &user]).await?,
    };
    tx.commit().await?;
    drop(client);
    // The connection task ends once the client is gone.
    let _ = driver.await;
    Ok(erasure)
}
