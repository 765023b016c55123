//! Warnings, the moderation log and the life of an automod action in it: decided (pending),
//! then done, failed or skipped. An action is logged once by its key, so a rebuild that
//! replays history never executes it again.

use crate::error::AdminError;
use crate::journal::Change;
use crate::plane::{action_key, to_json, AdminPlane, AuditNote};
use crate::records::{
    now_ms, page, rfc3339, ActionSource, ActionStatus, ModerationEntry, Page, PageRequest, Warning,
};
use guildflow_dataflow::automod::{ActionKind, AutomodAction};
use guildflow_model::{GuildId, UserId};

/// Longest warning reason.
pub const MAX_REASON_CHARS: usize = 512;

/// Filters of the moderation log.
#[derive(Clone, Debug, Default)]
pub struct ModerationFilter {
    /// Only this member.
    pub user: Option<u64>,
    /// Only this action (`timeout`, ...).
    pub action: Option<String>,
    /// Only automod or only manual.
    pub source: Option<ActionSource>,
    /// Only entries at or after, Unix ms.
    pub from_ms: Option<i64>,
    /// Only entries before, Unix ms.
    pub to_ms: Option<i64>,
}

/// What the executor should do with a decided action.
#[derive(Debug)]
pub enum Admission {
    /// Execute it; its log entry (pending) is this one.
    Execute(Box<ModerationEntry>),
    /// Already logged (executed before a restart): nothing to do.
    Seen,
    /// Decided too long ago (history replayed at start): neither executed nor logged.
    Stale,
}

/// The log name of an action kind.
pub fn action_name(kind: &ActionKind) -> &'static str {
    match kind {
        ActionKind::Delete => "delete_message",
        other => other.name(),
    }
}

fn ms_of(rfc: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

impl AdminPlane {
    /// Active warnings of a guild (optionally of one member), newest first.
    pub fn warnings(&self, guild: u64, user: Option<u64>, request: PageRequest) -> Page<Warning> {
        let state = self.state();
        let Some(g) = state.guilds.get(&guild) else {
            return page::<Warning>(&[], |w| w.id, |_| true, request);
        };
        page(
            &g.warnings,
            |w| w.id,
            |w| user.is_none_or(|u| w.user_id.get() == u),
            request,
        )
    }

    /// Warns a member: a warning, a moderation log entry, an audit entry; the dataflow counts
    /// it for warning escalation.
    pub fn add_warning(
        &self,
        guild: u64,
        moderator: Option<u64>,
        user: u64,
        reason: &str,
    ) -> Result<Warning, AdminError> {
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(AdminError::Invalid {
                code: "invalid_warning",
                message: format!("the reason is longer than {MAX_REASON_CHARS} characters"),
            });
        }
        if user == 0 {
            return Err(AdminError::Invalid {
                code: "invalid_warning",
                message: "user_id must be a Discord id".into(),
            });
        }
        let control = self.control()?;
        let at = now_ms();
        let mut state = self.state();
        let warning = Warning {
            id: state.id(),
            guild_id: GuildId(guild),
            user_id: UserId(user),
            moderator_id: moderator.map(UserId),
            reason: reason.to_owned(),
            created_at: rfc3339(at),
        };
        self.commit(&mut state, Change::Warning(warning.clone()))?;
        let entry = ModerationEntry {
            id: state.id(),
            guild_id: GuildId(guild),
            at: rfc3339(at),
            user_id: UserId(user),
            channel_id: None,
            message_id: None,
            action: "warn".into(),
            seconds: None,
            source: ActionSource::Manual,
            rule_id: None,
            rule_name: None,
            evidence: None,
            reason: Some(reason.to_owned()),
            moderator_id: moderator.map(UserId),
            status: ActionStatus::Done,
            error: None,
            attempts: 0,
        };
        self.commit(&mut state, Change::Moderation(entry.clone()))?;
        self.audit(
            &mut state,
            AuditNote::new(
                guild,
                moderator,
                "warning.create",
                format!("warning:{}", warning.id),
                serde_json::Value::Null,
                to_json(&warning),
            ),
        )?;
        drop(state);
        self.tell(&entry);
        control.warn(guild, user, 0, at)?;
        Ok(warning)
    }

    /// Withdraws a warning (it no longer counts in lists; escalation already decided stays).
    pub fn revoke_warning(
        &self,
        guild: u64,
        actor: Option<u64>,
        id: u64,
    ) -> Result<(), AdminError> {
        let mut state = self.state();
        let warning = state
            .guilds
            .get(&guild)
            .and_then(|g| g.warnings.iter().find(|w| w.id == id))
            .cloned()
            .ok_or(AdminError::NotFound { what: "warning" })?;
        self.commit(
            &mut state,
            Change::WarningRevoked {
                guild,
                id,
                at: now_ms(),
                by: actor,
            },
        )?;
        self.audit(
            &mut state,
            AuditNote::new(
                guild,
                actor,
                "warning.delete",
                format!("warning:{id}"),
                to_json(&warning),
                serde_json::Value::Null,
            ),
        )
    }

    /// The moderation log of a guild, newest first.
    pub fn moderation_log(
        &self,
        guild: u64,
        filter: &ModerationFilter,
        request: PageRequest,
    ) -> Page<ModerationEntry> {
        let state = self.state();
        let Some(g) = state.guilds.get(&guild) else {
            return page::<ModerationEntry>(&[], |e| e.id, |_| true, request);
        };
        page(
            &g.moderation,
            |e| e.id,
            |e| {
                filter.user.is_none_or(|u| e.user_id.get() == u)
                    && filter.action.as_deref().is_none_or(|a| e.action == a)
                    && filter.source.is_none_or(|s| e.source == s)
                    && filter.from_ms.is_none_or(|f| ms_of(&e.at) >= f)
                    && filter.to_ms.is_none_or(|t| ms_of(&e.at) < t)
            },
            request,
        )
    }

    /// The audit log of a guild, newest first.
    pub fn audit_log(&self, guild: u64, request: PageRequest) -> Page<crate::AuditEntry> {
        let state = self.state();
        let Some(g) = state.guilds.get(&guild) else {
            return page::<crate::AuditEntry>(&[], |e| e.id, |_| true, request);
        };
        page(&g.audit, |e| e.id, |_| true, request)
    }

    /// Logs an automod action as decided. Actions already logged are `Seen`; those decided
    /// more than `stale_ms` before `now` (history replayed at start) are `Stale`.
    pub fn admit_action(
        &self,
        action: &AutomodAction,
        now: i64,
        stale_ms: i64,
    ) -> Result<Admission, AdminError> {
        let guild = action.guild.get();
        let name = action_name(&action.action);
        let key = action_key(
            guild,
            action.user.get(),
            action.rule_id,
            action.message.map(|m| m.get()),
            action.at,
            name,
        );
        let mut state = self.state();
        if state.actions_seen.contains(&key) {
            return Ok(Admission::Seen);
        }
        if now - action.at > stale_ms {
            return Ok(Admission::Stale);
        }
        let entry = ModerationEntry {
            id: state.id(),
            guild_id: action.guild,
            at: rfc3339(action.at),
            user_id: action.user,
            channel_id: (action.channel.get() != 0).then_some(action.channel),
            message_id: action.message,
            action: name.to_owned(),
            seconds: match action.action {
                ActionKind::Timeout { seconds } => Some(seconds),
                _ => None,
            },
            source: ActionSource::Automod,
            rule_id: action.rule_id,
            rule_name: Some(action.rule_name.clone()),
            evidence: Some(action.evidence.clone()),
            reason: None,
            moderator_id: None,
            status: ActionStatus::Pending,
            error: None,
            attempts: 0,
        };
        self.commit(&mut state, Change::Moderation(entry.clone()))?;
        if action.action == ActionKind::Warn {
            let warning = Warning {
                id: state.id(),
                guild_id: action.guild,
                user_id: action.user,
                moderator_id: None,
                reason: format!("automod: {}", action.rule_name),
                created_at: rfc3339(action.at),
            };
            self.commit(&mut state, Change::Warning(warning))?;
        }
        Ok(Admission::Execute(Box::new(entry)))
    }

    /// Records how an admitted action ended.
    pub fn finish_action(
        &self,
        mut entry: ModerationEntry,
        status: ActionStatus,
        error: Option<String>,
        attempts: u32,
    ) -> Result<ModerationEntry, AdminError> {
        entry.status = status;
        entry.error = error;
        entry.attempts = attempts;
        let mut state = self.state();
        self.commit(&mut state, Change::Moderation(entry.clone()))?;
        self.audit(
            &mut state,
            AuditNote::new(
                entry.guild_id.get(),
                None,
                &format!("action.{}", entry.action),
                format!("user:{}", entry.user_id),
                serde_json::Value::Null,
                to_json(&entry),
            ),
        )?;
        drop(state);
        self.tell(&entry);
        Ok(entry)
    }
}
