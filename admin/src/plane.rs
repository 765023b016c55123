//! [`AdminPlane`]: the admin state of every guild in memory, every change journaled first,
//! then applied to the running dataflow ([`PipelineControl`]).

use crate::error::AdminError;
use crate::journal::{Change, Journal};
use crate::records::{now_ms, rfc3339, AuditEntry, ModerationEntry, Warning};
use crate::settings::{GuildConfig, SettingsPatch};
use guildflow_dataflow::automod::AutomodConfig;
use guildflow_dataflow::settings::GuildSettings;
use guildflow_model::{GuildId, UserId};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

/// How the admin plane reaches the running dataflow. Implemented by the binary over its
/// `Dataflow`; every call applies in order with the events, without a restart.
pub trait PipelineControl: Send + Sync {
    /// New settings for a guild.
    fn configure(&self, guild: u64, settings: GuildSettings) -> Result<(), AdminError>;
    /// New automod rules for a guild (already validated).
    fn configure_automod(&self, guild: u64, config: AutomodConfig) -> Result<(), AdminError>;
    /// A manual warning, for warning escalation.
    fn warn(&self, guild: u64, user: u64, channel: u64, at: i64) -> Result<(), AdminError>;
}

/// A listener of finished moderation entries (the websocket rooms).
pub type ModerationListener = Arc<dyn Fn(&ModerationEntry) + Send + Sync>;

/// What an audit entry records (its id and time are given when it is journaled).
pub(crate) struct AuditNote {
    pub guild: u64,
    pub actor: Option<u64>,
    pub action: String,
    pub target: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

impl AuditNote {
    pub fn new(
        guild: u64,
        actor: Option<u64>,
        action: &str,
        target: String,
        before: serde_json::Value,
        after: serde_json::Value,
    ) -> Self {
        AuditNote {
            guild,
            actor,
            action: action.to_owned(),
            target,
            before,
            after,
        }
    }
}

/// Per-guild admin state.
#[derive(Debug, Default)]
pub(crate) struct GuildAdmin {
    pub config: GuildConfig,
    pub updated_at: Option<i64>,
    pub updated_by: Option<u64>,
    pub automod: AutomodConfig,
    /// Active warnings, ascending id.
    pub warnings: Vec<Warning>,
    /// Moderation log, ascending id.
    pub moderation: Vec<ModerationEntry>,
    /// Audit log, ascending id.
    pub audit: Vec<AuditEntry>,
    pub opted_out: BTreeSet<u64>,
}

#[derive(Default)]
pub(crate) struct State {
    pub guilds: HashMap<u64, GuildAdmin>,
    /// Next id of any warning, rule, log entry.
    pub next_id: u64,
    /// Automod actions already logged (never executed twice, e.g. after a rebuild).
    pub actions_seen: HashSet<String>,
}

impl State {
    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn guild(&mut self, guild: u64) -> &mut GuildAdmin {
        self.guilds.entry(guild).or_default()
    }

    /// Applies a journaled change to memory (at load and after each append).
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::Settings {
                guild,
                config,
                at,
                by,
            } => {
                let g = self.guild(guild);
                g.config = config;
                g.updated_at = Some(at);
                g.updated_by = by;
            }
            Change::Automod { guild, config } => {
                let top = config.rules.iter().map(|r| r.id).max().unwrap_or(0);
                self.next_id = self.next_id.max(top);
                self.guild(guild).automod = config;
            }
            Change::Warning(w) => {
                self.next_id = self.next_id.max(w.id);
                let g = self.guild(w.guild_id.get());
                let at = g.warnings.partition_point(|x| x.id < w.id);
                g.warnings.insert(at, w);
            }
            Change::WarningRevoked { guild, id, .. } => {
                self.guild(guild).warnings.retain(|w| w.id != id);
            }
            Change::Moderation(entry) => {
                self.next_id = self.next_id.max(entry.id);
                self.actions_seen.insert(action_key_of_entry(&entry));
                let g = self.guild(entry.guild_id.get());
                match g.moderation.binary_search_by_key(&entry.id, |e| e.id) {
                    Ok(i) => g.moderation[i] = entry,
                    Err(i) => g.moderation.insert(i, entry),
                }
            }
            Change::Audit(entry) => {
                self.next_id = self.next_id.max(entry.id);
                let g = self.guild(entry.guild_id.get());
                let at = g.audit.partition_point(|x| x.id < entry.id);
                g.audit.insert(at, entry);
            }
            Change::MemberErased { guild, user } => {
                let g = self.guild(guild);
                g.warnings.retain(|w| w.user_id.get() != user);
                g.moderation.retain(|e| e.user_id.get() != user);
            }
            Change::OptOut {
                guild,
                user,
                opted_out,
            } => {
                let g = self.guild(guild);
                if opted_out {
                    g.opted_out.insert(user);
                } else {
                    g.opted_out.remove(&user);
                }
            }
        }
    }
}

/// The key that makes an automod action execute once: the rule, the message (or the time
/// for escalations) and the action.
pub(crate) fn action_key(
    guild: u64,
    user: u64,
    rule: Option<u64>,
    message: Option<u64>,
    at_ms: i64,
    action: &str,
) -> String {
    match (rule, message) {
        (Some(rule), Some(message)) => format!("{guild}/r{rule}/m{message}/{action}"),
        _ => format!("{guild}/u{user}/t{at_ms}/{action}"),
    }
}

fn action_key_of_entry(e: &ModerationEntry) -> String {
    let at = chrono::DateTime::parse_from_rfc3339(&e.at)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0);
    action_key(
        e.guild_id.get(),
        e.user_id.get(),
        e.rule_id,
        e.message_id.map(|m| m.get()),
        at,
        &e.action,
    )
}

pub(crate) struct PlaneInner {
    pub state: Mutex<State>,
    pub journal: Box<dyn Journal>,
    pub control: RwLock<Option<Arc<dyn PipelineControl>>>,
    pub listeners: RwLock<Vec<ModerationListener>>,
    pub eraser: Mutex<Option<tokio::sync::mpsc::Sender<crate::erase::EraseRequest>>>,
    pub executor_stats: Arc<crate::executor::ExecutorStats>,
    /// Held across an automod read-edit-save, so concurrent edits never overwrite each other.
    pub automod_writes: Mutex<()>,
    /// An erasure is running (one at a time: it pauses ingestion).
    pub erasing: std::sync::atomic::AtomicBool,
}

/// The admin plane: settings, automod rules, warnings, moderation and audit logs, opt-outs
/// of every guild. Cheap to clone (shared).
#[derive(Clone)]
pub struct AdminPlane {
    pub(crate) inner: Arc<PlaneInner>,
}

impl std::fmt::Debug for AdminPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminPlane").finish_non_exhaustive()
    }
}

/// `GET /settings`: the configuration with its guild and last change.
#[derive(Clone, Debug, Serialize)]
pub struct SettingsView {
    /// Guild.
    pub guild_id: GuildId,
    /// Settings.
    #[serde(flatten)]
    pub config: GuildConfig,
    /// Last change, RFC 3339 (None: never changed).
    pub updated_at: Option<String>,
    /// Who made it.
    pub updated_by: Option<UserId>,
}

impl AdminPlane {
    /// Loads every change `journal` holds. Attach the pipeline with [`Self::attach`].
    pub fn open(journal: Box<dyn Journal>) -> Result<AdminPlane, AdminError> {
        let mut state = State::default();
        for change in journal.load()? {
            state.apply(change);
        }
        Ok(AdminPlane {
            inner: Arc::new(PlaneInner {
                state: Mutex::new(state),
                journal,
                control: RwLock::new(None),
                listeners: RwLock::new(Vec::new()),
                eraser: Mutex::new(None),
                executor_stats: Arc::default(),
                automod_writes: Mutex::new(()),
                erasing: std::sync::atomic::AtomicBool::new(false),
            }),
        })
        .and_then(|plane| {
            plane.fail_interrupted()?;
            Ok(plane)
        })
    }

    /// Actions left `pending` by a crash were not executed and never will be (actions run at
    /// most once): they are marked failed.
    fn fail_interrupted(&self) -> Result<(), AdminError> {
        let mut state = self.state();
        let pending: Vec<ModerationEntry> = state
            .guilds
            .values()
            .flat_map(|g| g.moderation.iter())
            .filter(|e| e.status == crate::records::ActionStatus::Pending)
            .cloned()
            .collect();
        for mut entry in pending {
            entry.status = crate::records::ActionStatus::Failed;
            entry.error = Some("interrupted by a restart before Discord answered".into());
            self.commit(&mut state, Change::Moderation(entry))?;
        }
        Ok(())
    }

    /// Connects the running dataflow and gives it every guild's settings and rules (call it
    /// before feeding events, so a rebuild already follows them).
    pub fn attach(&self, control: Arc<dyn PipelineControl>) -> Result<(), AdminError> {
        *self
            .inner
            .control
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&control));
        let state = self.state();
        let now = now_ms();
        for (guild, g) in &state.guilds {
            control.configure(*guild, dataflow_settings(g))?;
            control.configure_automod(*guild, effective_automod(g))?;
            // Manual warnings still inside an escalation window count again (automod's own
            // come back with the rebuilt history).
            let window_ms = g
                .automod
                .escalation
                .iter()
                .map(|s| i64::try_from(s.within_seconds).unwrap_or(i64::MAX / 1000) * 1000)
                .max()
                .unwrap_or(0);
            for w in g.warnings.iter().filter(|w| w.moderator_id.is_some()) {
                let at = chrono::DateTime::parse_from_rfc3339(&w.created_at)
                    .map_or(0, |t| t.timestamp_millis());
                if now - at <= window_ms {
                    control.warn(*guild, w.user_id.get(), 0, at)?;
                }
            }
        }
        Ok(())
    }

    /// Outcomes of the automod actions executed for this plane (for `/metrics`).
    pub fn executor_stats(&self) -> Arc<crate::executor::ExecutorStats> {
        Arc::clone(&self.inner.executor_stats)
    }

    /// Disconnects the dataflow (it is finishing); later changes are refused.
    pub fn detach(&self) {
        *self
            .inner
            .control
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Calls `listener` with every moderation entry once it is finished (done or failed) or
    /// created by a moderator.
    pub fn on_moderation(&self, listener: ModerationListener) {
        self.inner
            .listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn control(&self) -> Result<Arc<dyn PipelineControl>, AdminError> {
        self.inner
            .control
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(AdminError::PipelineStopped)
    }

    /// Journals `change`, then applies it to `state`.
    pub(crate) fn commit(&self, state: &mut State, change: Change) -> Result<(), AdminError> {
        self.inner.journal.append(&change)?;
        state.apply(change);
        Ok(())
    }

    /// Journals an audit entry.
    pub(crate) fn audit(&self, state: &mut State, note: AuditNote) -> Result<(), AdminError> {
        let entry = AuditEntry {
            id: state.id(),
            guild_id: GuildId(note.guild),
            at: rfc3339(now_ms()),
            actor_id: note.actor.map(UserId),
            action: note.action,
            target: note.target,
            before: note.before,
            after: note.after,
        };
        self.commit(state, Change::Audit(entry))
    }

    pub(crate) fn tell(&self, entry: &ModerationEntry) {
        let listeners = self
            .inner
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for listener in listeners.iter() {
            listener(entry);
        }
    }

    /// A guild's settings.
    pub fn settings(&self, guild: u64) -> SettingsView {
        let state = self.state();
        let g = state.guilds.get(&guild);
        SettingsView {
            guild_id: GuildId(guild),
            config: g.map(|g| g.config.clone()).unwrap_or_default(),
            updated_at: g.and_then(|g| g.updated_at).map(rfc3339),
            updated_by: g.and_then(|g| g.updated_by).map(UserId),
        }
    }

    /// Changes a guild's settings; the dataflow applies them to events from now on.
    pub fn update_settings(
        &self,
        guild: u64,
        actor: Option<u64>,
        patch: SettingsPatch,
    ) -> Result<SettingsView, AdminError> {
        let control = self.control()?;
        let mut state = self.state();
        let before = state
            .guilds
            .get(&guild)
            .map(|g| g.config.clone())
            .unwrap_or_default();
        let after = before.patched(patch)?;
        if after == before {
            // Nothing new to store; the dataflow gets the settings again (a retry after a
            // change whose application failed half-way must still take effect).
            control.configure(guild, dataflow_settings(state.guild(guild)))?;
        } else {
            let at = now_ms();
            self.commit(
                &mut state,
                Change::Settings {
                    guild,
                    config: after.clone(),
                    at,
                    by: actor,
                },
            )?;
            self.audit(
                &mut state,
                AuditNote::new(
                    guild,
                    actor,
                    "settings.update",
                    "settings".into(),
                    to_json(&before),
                    to_json(&after),
                ),
            )?;
            let g = state.guild(guild);
            let automod_switched = before.modules.automod != after.modules.automod;
            control.configure(guild, dataflow_settings(g))?;
            if automod_switched {
                control.configure_automod(guild, effective_automod(g))?;
            }
        }
        drop(state);
        Ok(self.settings(guild))
    }

    /// Members of `guild` who opted out of statistics, ascending.
    pub fn opted_out(&self, guild: u64) -> Vec<UserId> {
        self.state()
            .guilds
            .get(&guild)
            .map(|g| g.opted_out.iter().copied().map(UserId).collect())
            .unwrap_or_default()
    }

    /// Opts `user` out of statistics (or back in): from now on nothing of theirs is counted.
    /// What was counted stays until `erase`.
    pub fn set_opt_out(
        &self,
        guild: u64,
        actor: Option<u64>,
        user: u64,
        opted_out: bool,
    ) -> Result<(), AdminError> {
        let control = self.control()?;
        let mut state = self.state();
        let was = state
            .guilds
            .get(&guild)
            .is_some_and(|g| g.opted_out.contains(&user));
        if was == opted_out {
            // Stored already; apply again (a retry after a half-failed change).
            return control.configure(guild, dataflow_settings(state.guild(guild)));
        }
        self.commit(
            &mut state,
            Change::OptOut {
                guild,
                user,
                opted_out,
            },
        )?;
        self.audit(
            &mut state,
            AuditNote::new(
                guild,
                actor,
                if opted_out {
                    "member.opt_out"
                } else {
                    "member.opt_in"
                },
                format!("user:{user}"),
                serde_json::json!({ "opted_out": was }),
                serde_json::json!({ "opted_out": opted_out }),
            ),
        )?;
        control.configure(guild, dataflow_settings(state.guild(guild)))
    }

    /// The role a guild gives at `level`, if any.
    pub fn level_reward(&self, guild: u64, level: u32) -> Option<guildflow_model::RoleId> {
        let state = self.state();
        let g = state.guilds.get(&guild)?;
        if !g.config.modules.levels {
            return None;
        }
        g.config
            .level_rewards
            .iter()
            .find(|r| r.level == level)
            .map(|r| r.role_id)
    }

    /// Audits a level reward given (or refused by Discord: `error`).
    pub fn audit_reward(
        &self,
        level_up: &guildflow_dataflow::state::LevelUp,
        role: guildflow_model::RoleId,
        error: Option<&str>,
    ) -> Result<(), AdminError> {
        let mut state = self.state();
        self.audit(
            &mut state,
            AuditNote::new(
                level_up.guild,
                None,
                "level.reward",
                format!("user:{}", level_up.user),
                serde_json::Value::Null,
                serde_json::json!({
                    "level": level_up.level,
                    "role_id": role,
                    "status": if error.is_none() { "done" } else { "failed" },
                    "error": error,
                }),
            ),
        )
    }

    /// Records that `user`'s stored events were erased (the erase itself is the store's).
    pub fn audit_erase(
        &self,
        guild: u64,
        actor: Option<u64>,
        user: u64,
        detail: serde_json::Value,
    ) -> Result<(), AdminError> {
        let mut state = self.state();
        self.audit(
            &mut state,
            AuditNote::new(
                guild,
                actor,
                "member.erase",
                format!("user:{user}"),
                serde_json::Value::Null,
                detail,
            ),
        )
    }
}

/// The dataflow's view of a guild's settings.
pub(crate) fn dataflow_settings(g: &GuildAdmin) -> GuildSettings {
    g.config.to_dataflow(g.opted_out.iter().copied().collect())
}

/// The rules the dataflow runs: none while the automod module is off.
pub(crate) fn effective_automod(g: &GuildAdmin) -> AutomodConfig {
    if g.config.modules.automod {
        g.automod.clone()
    } else {
        AutomodConfig::default()
    }
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
