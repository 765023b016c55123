//! The admin plane of guildflow: what admins configure and what moderation did.
//!
//! - [`AdminPlane`]: per guild, the settings ([`GuildConfig`]), automod rules and escalation,
//!   warnings, the moderation log, the audit log (who changed what, before/after) and stats
//!   opt-outs. Every change is validated, made durable in a [`Journal`] (the embedded
//!   [`FileJournal`], or PostgreSQL's admin tables), audited, then applied to the running
//!   dataflow through [`PipelineControl`] without a restart.
//! - [`ActionExecutor`]: executes automod actions through Discord REST (twilight-http) with
//!   bounded retries, logging each outcome once; history replayed at start is never acted on.
//!
//! It never reads events or serves HTTP: the binary feeds it automod actions, the api crate
//! exposes it.

mod control;
mod erase;
mod error;
mod executor;
mod journal;
mod moderation;
mod plane;
mod postgres;
mod records;
mod rules;
mod settings;

pub use control::DataflowControl;
pub use erase::{EraseRequest, ERASE_TIMEOUT};
pub use error::AdminError;
pub use executor::{ActionExecutor, ExecutorConfig, ExecutorStats};
pub use journal::{Change, FileJournal, Journal};
pub use moderation::{action_name, Admission, ModerationFilter, MAX_REASON_CHARS};
pub use plane::{AdminPlane, ModerationListener, PipelineControl, SettingsView};
pub use postgres::PostgresJournal;
pub use records::{
    now_ms, rfc3339, ActionSource, ActionStatus, AuditEntry, ModerationEntry, Page, PageRequest,
    Warning, DEFAULT_PAGE, MAX_PAGE,
};
pub use rules::{presets, run_test, Preset, RuleTest, SampleResult};
pub use settings::{
    Exclusions, GuildConfig, LevelReward, Modules, SettingsPatch, XpSettings, LANGUAGES,
};
