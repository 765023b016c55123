//! Per-guild automod: a pure, deterministic rule engine the dataflow calls for every counted
//! message, in event-time order per guild.
//!
//! - [`AutomodConfig`] (serde, stored by the API) is validated and compiled once per change
//!   into a [`CompiledAutomod`]: regexes, banned-word alternations and domain sets are built
//!   there, bounded by [`limits`].
//! - [`AutomodState::on_message`] evaluates the enabled rules on a message and returns
//!   [`AutomodAction`]s with [`Evidence`]; `warn` actions feed the escalation steps.
//!   Per-member windows live in [`AutomodState`] and are pruned in event time.
//! - [`test_rule`] dry-runs one rule on sample texts.
//!
//! Bots and webhook messages are never evaluated. Executing actions (Discord REST) is the
//! caller's job. See `docs/AUTOMOD.md` for the behaviour contract and examples.

mod action;
mod compile;
mod config;
mod error;
mod escalation;
pub mod limits;
mod presets;
mod state;
mod tester;
mod text;
mod triggers;
mod validate;

pub use action::{ActionKind, AutomodAction, Evidence};
pub use compile::CompiledAutomod;
pub use config::{AutomodConfig, AutomodRule, EscalationStep, LinkMode, Trigger};
pub use error::AutomodError;
pub use presets::PRESET_NAMES;
pub use state::AutomodState;
pub use tester::test_rule;
pub use triggers::links::COMMON_TLDS;
